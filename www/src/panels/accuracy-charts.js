// The Accuracy panel's figures, each a pure function of its data and a width (Observable Plot):
// accuracy per variant, the confusion matrix of one variant.
import * as Plot from '@observablehq/plot';

const pct = (x) => `${(x * 100).toFixed(1)}%`;

/**
 * Horizontal bars: each variant's test accuracy, labelled with its agreement with fp32.
 * `results`: [{ variant, accuracy, agreement, images }] in display order.
 */
export function accuracyBars(results, width) {
  const data = results.map((r) => ({ ...r, label: r.variant }));
  const lo = Math.min(...data.map((d) => d.accuracy));
  // The axis starts at 0 unless every bar is high: differences of a point must stay visible.
  const start = lo > 0.5 ? Math.floor(lo * 10 - 1) / 10 : 0;
  return Plot.plot({
    width,
    height: 44 + 30 * data.length,
    marginLeft: 70,
    marginRight: Math.min(190, width / 3),
    style: { fontSize: '12px' },
    x: { label: 'test accuracy →', domain: [Math.max(0, start), 1], tickFormat: '.0%', grid: true },
    y: { label: null, domain: data.map((d) => d.label) },
    marks: [
      Plot.barX(data, {
        y: 'label', x1: Math.max(0, start), x2: 'accuracy', fill: 'var(--qsp-bar-strong)', className: 'acc-bar',
        title: (d) => `${d.variant}: ${pct(d.accuracy)} of ${d.images} images${d.agreement == null ? '' : `, same answer as fp32 on ${pct(d.agreement)}`}`,
      }),
      Plot.text(data, {
        y: 'label', x: 'accuracy', textAnchor: 'start', dx: 6, fill: 'currentColor',
        text: (d) => (d.agreement == null ? pct(d.accuracy) : `${pct(d.accuracy)} · fp32’s answer on ${pct(d.agreement)}`),
      }),
      Plot.ruleX([Math.max(0, start)]),
    ],
  });
}

/**
 * The confusion matrix as a heat map: rows the true class, columns the answer, each cell the
 * number of images (counts written in the cells that have any). `names`: class names by label.
 */
export function confusionMap(confusion, names, width) {
  const cells = [];
  confusion.forEach((row, t) => row.forEach((count, p) => cells.push({ truth: names[t], answer: names[p], count, diagonal: t === p })));
  const size = Math.min(width, 620);
  const wrong = cells.filter((c) => !c.diagonal);
  return Plot.plot({
    width: size,
    height: size * 0.82,
    marginLeft: 92,
    marginBottom: 80,
    padding: 0.04,
    style: { fontSize: '11px' },
    x: { label: 'answer →', domain: names, tickRotate: -40 },
    y: { label: '↑ true class', domain: names },
    // Off the diagonal the counts are small: their own scale, so the mistakes show.
    color: { type: 'sqrt', scheme: 'oranges', legend: true, label: 'wrong answers (images)', domain: [0, Math.max(1, ...wrong.map((c) => c.count))] },
    marks: [
      Plot.cell(cells.filter((c) => c.diagonal), { x: 'answer', y: 'truth', fill: 'var(--qsp-bar)', className: 'acc-cell', title: cellTitle }),
      Plot.cell(wrong, { x: 'answer', y: 'truth', fill: 'count', className: 'acc-cell', title: cellTitle }),
      Plot.text(cells.filter((c) => c.count > 0 && c.diagonal), { x: 'answer', y: 'truth', text: 'count', fill: 'currentColor', fontSize: size < 420 ? 8 : 10 }),
      Plot.text(wrong.filter((c) => c.count > 0), { x: 'answer', y: 'truth', text: 'count', fill: 'black', fontSize: size < 420 ? 8 : 10 }),
    ],
  });
}

const cellTitle = (c) => `true ${c.truth}, answered ${c.answer}: ${c.count} image${c.count === 1 ? '' : 's'}`;
