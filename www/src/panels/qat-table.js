// The QAT panel's reference table: Fashion-MNIST test accuracy of the float model, PTQ and QAT
// at each width, measured natively on the full test set by `make accuracy`
// (scripts/accuracy_table.py writes ../accuracy-table.json, committed), beside the figure of
// what QAT wins back. The live run above it is a short one: this is what a full one gives.
import { el } from './dom.js';
import { chartWidth, observeWidth } from './charts.js';
import { recoveryChart } from './qat-charts.js';

const pct = (x) => `${(x * 100).toFixed(2)}%`;
const pts = (x) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(2)}`;
const count = (n) => n.toLocaleString('en-US');

/** What to look at, from the numbers: the width QAT helps most, and w8a8. */
function lookAt(rows) {
  const best = rows.reduce((a, r) => (r.qat - r.ptq > a.qat - a.ptq ? r : a), rows[0]);
  const w8 = rows.find((r) => r.variant === 'w8a8');
  const lost = best.float - best.ptq;
  const won = best.qat - best.ptq;
  return `Look at ${best.variant}: post-training quantization loses ${(lost * 100).toFixed(1)} points there, and QAT wins back ` +
    `${(won * 100).toFixed(1)} of them (${Math.round((100 * won) / Math.max(lost, 1e-9))}%); the fewer the bits, the more QAT is worth.` +
    (w8 ? ` At w8a8 neither costs anything (PTQ ${pts(w8.ptq - w8.float)}, QAT ${pts(w8.qat - w8.float)} points against float).` : '');
}

/** The recipe, under the table. */
function recipeText(t) {
  const { qat, ptq } = t.recipe;
  const frozen = 1 - qat.freeze_at;
  return `QAT: ${count(qat.steps)} steps of ${qat.batch} training images from the float model, ${qat.optimizer} lr ` +
    `${Number(qat.lr).toExponential()}, activation ranges frozen for the last ${frozen === 0.25 ? 'quarter' : `${Math.round(frozen * 100)}%`} ` +
    `of the steps. PTQ: ${ptq.ranges} ranges from ${count(ptq.calibration_images)} training images, ${ptq.weights} weights, ` +
    `${ptq.clipping}. The integer engine runs both. Differences in percentage points` +
    `${t.machine?.cpus ? `; QAT time of the native CLI with threads on ${t.machine.cpus} CPUs` : ''}. Measured ${t.date}.`;
}

function tableOf(t) {
  const head = ['Width', 'float', 'PTQ', 'QAT', 'QAT − PTQ', 'QAT − float', 'QAT time'];
  return el('table', { class: 'data-table', id: 'qat-table' },
    el('caption', { class: 'visually-hidden', text: 'Fashion-MNIST test accuracy per width: float, PTQ and QAT' }),
    el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col', text: h })))),
    el('tbody', {}, ...t.rows.map((r) => {
      const tr = el('tr', {},
        el('th', { scope: 'row', text: r.variant }),
        el('td', { text: pct(r.float) }),
        el('td', { text: pct(r.ptq) }),
        el('td', { text: pct(r.qat) }),
        el('td', { text: pts(r.qat - r.ptq) }),
        el('td', { text: pts(r.qat - r.float) }),
        el('td', { text: `${Math.round(r.qat_seconds)} s` }));
      tr.dataset.variant = r.variant;
      return tr;
    })));
}

/**
 * Appends the measured table `t` (accuracy-table.json: `{ date, machine, test_images, recipe,
 * rows }`) and its figure to `parent`; the figure follows the width. `live`: `{ steps, batch,
 * testImages }`, the panel's own run by default (how much shorter it is).
 */
export function mountMeasured(parent, t, live) {
  const figure = el('figure', { class: 'qsp-figure', id: 'qat-table-chart' });
  const box = el('div', { class: 'qat-measured', id: 'qat-measured' },
    el('h3', { text: `Full runs on all ${count(t.test_images)} test images` }),
    el('p', {}, `${lookAt(t.rows)} These numbers were measured natively by `, el('code', { text: 'make accuracy' }),
      ` on the whole test set. The run above is a short one in your browser (by default ${count(live.steps)} steps of ` +
      `${live.batch} images, the curve on ${count(live.testImages)} test images), so expect it to land below them.`),
    el('div', { class: 'table-scroll' }, tableOf(t)),
    el('p', { class: 'note', id: 'qat-table-recipe', text: recipeText(t) }),
    figure);
  parent.append(box);
  const draw = () => figure.replaceChildren(recoveryChart(t.rows, chartWidth(figure)), el('figcaption', {},
    el('strong', { text: 'What QAT wins back. ' }),
    'Each arrow goes from a width’s PTQ accuracy (orange) to its QAT accuracy (green), labelled with the points won; the dashed line is the float model.'));
  draw();
  observeWidth(box, draw);
}
