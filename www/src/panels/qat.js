// Panel "qat": quantization-aware training of the Fashion-MNIST CNN in the worker. The visitor
// picks weight and activation bits, steps and a learning rate; the worker fine-tunes the float
// model while its forward pass sees the integer variant (fake quantization, straight-through
// gradients), a slice of steps at a time (progress bar, cancel), and measures the
// fake-quantized network on test images at checkpoints. The result is the integer variant of
// the fine-tuned weights, run by the integer engine, offered to the other panels as
// `<spec>-qat` (app.addVariant). Hash keys: `qat` (the variant, e.g. w4a4), `qatsteps`. The
// URL's `?qattest=N` measures on the first N test images only (quick checks, the page tests).
// Below the run, the table of full runs `make accuracy` measured natively (qat-table.js).
import { el } from './dom.js';
import { chartWidth, observeWidth } from './charts.js';
import { markRendered, showError } from './quant-common.js';
import { accuracyCurve, lossCurve } from './qat-charts.js';
import { mountMeasured } from './qat-table.js';
import measured from '../accuracy-table.json';
import { dataset, inputOf } from '../fmnist.js';
import './accuracy.css';

export const WEIGHT_BITS = [8, 4, 2];
export const ACT_BITS = [8, 4];
export const LEARNING_RATES = ['1e-3', '3e-4', '1e-4', '3e-5'];
const DEFAULT_SPEC = 'w4a4';
const DEFAULT_STEPS = 200;
const DEFAULT_LR = '1e-4';
const BATCH = 32;
/** Test images of the live curve (the fake-quantized network at each checkpoint). */
const CURVE_IMAGES = 1000;
/** Training images the PTQ reference calibrates on (as the accuracy panel's variants). */
const CALIBRATION_IMAGES = 500;

const pct = (x) => `${(x * 100).toFixed(1)}%`;
const count = (n) => n.toLocaleString('en-US');

/** The test images measured: `?qattest=N` in the URL, else `fallback` (null: all). */
function testLimit(fallback) {
  const n = Number(new URLSearchParams(location.search).get('qattest'));
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** `{ wbits, abits, steps }` from the hash (the defaults for anything missing or wrong). */
function settingsOf(state) {
  const m = /^w(\d)a(\d)$/.exec(state.qat ?? '');
  const [wb, ab] = m ? [Number(m[1]), Number(m[2])] : [4, 4];
  const steps = Number(state.qatsteps);
  return {
    wbits: WEIGHT_BITS.includes(wb) ? wb : 4,
    abits: ACT_BITS.includes(ab) ? ab : 4,
    steps: Number.isInteger(steps) && steps > 0 && steps <= 100000 ? steps : DEFAULT_STEPS,
  };
}

function select(id, values, label) {
  const s = el('select', { id });
  for (const v of values) s.append(el('option', { value: String(v), text: label(v) }));
  return s;
}

export function mount(section, app) {
  section.classList.add('qsp', 'acc', 'qat');
  const heading = el('h2', { id: 'qat-heading', tabindex: '-1', text: 'Quantization-aware training' });
  section.setAttribute('aria-labelledby', heading.id);
  const lede = el('div', { class: 'lead' },
    el('p', { text: 'Post-training quantization rounds a finished network; quantization-aware training lets the network adapt to the rounding. Here the Fashion-MNIST CNN is fine-tuned in your browser while every forward pass sees the integer variant’s weights and activations (the gradients pass the rounding straight through).' }),
    el('p', { text: 'Watch the test-accuracy curve climb from the PTQ line (the same bits without training) towards fp32: at w4a4 and below most of the lost points come back within a few hundred steps. The loss curve below it is the training loss per step; the activation ranges freeze for the last quarter.' }));
  const notice = el('p', { class: 'qsp-notice', id: 'qat-notice', hidden: true });
  const wbits = select('qat-wbits', WEIGHT_BITS, (b) => `${b}-bit`);
  const abits = select('qat-abits', ACT_BITS, (b) => `${b}-bit`);
  const steps = el('input', { type: 'number', id: 'qat-steps', min: 1, max: 100000, step: 1, value: DEFAULT_STEPS });
  const lr = select('qat-lr', LEARNING_RATES, (v) => v);
  lr.value = DEFAULT_LR;
  const field = (id, text, input) => el('label', { for: id, class: 'qat-field' }, `${text} `, input);
  const startButton = el('button', { type: 'button', id: 'qat-start', text: 'Start', disabled: true });
  const cancelButton = el('button', { type: 'button', id: 'qat-cancel', text: 'Cancel', disabled: true });
  const progress = el('progress', { id: 'qat-progress', max: 1, value: 0, hidden: true, 'aria-label': 'QAT run' });
  const status = el('p', { class: 'qsp-stats', id: 'qat-status', 'aria-live': 'polite' });
  const errorBox = el('p', { class: 'qsp-error', id: 'qat-error', role: 'alert', hidden: true });
  const curve = el('figure', { class: 'qsp-figure', id: 'qat-curve' });
  const result = el('p', { class: 'qsp-stats', id: 'qat-result' });
  const controls = el('div', { class: 'qsp-controls' },
    field('qat-wbits', 'Weights', wbits), field('qat-abits', 'Activations', abits),
    field('qat-steps', 'Steps', steps), field('qat-lr', 'Learning rate', lr),
    el('div', { class: 'acc-actions' }, startButton, cancelButton, progress));
  section.replaceChildren(heading, lede, notice, controls, status, errorBox, curve, result);
  mountMeasured(section, measured, { steps: DEFAULT_STEPS, batch: BATCH, testImages: CURVE_IMAGES });
  section.dataset.qsStatus = 'loading';

  let model = null; // the fp32 model on show, when it reads 28x28 grey pictures
  let controller = null;
  let refs = new Map(); // spec -> { fp32, ptq } test accuracies of the model on show
  let calibrated = null; // Promise<QsModel>: w8a8 of the model on show, for the PTQ references
  let data = null; // what the chart draws: { spec, steps, losses, checkpoints, fp32, ptq }
  let frame = 0;

  const spec = () => `w${wbits.value}a${abits.value}`;
  const say = (text) => (status.textContent = text);

  function syncControls(state) {
    const s = settingsOf(state);
    wbits.value = String(s.wbits);
    abits.value = String(s.abits);
    if (document.activeElement !== steps) steps.value = String(s.steps);
  }
  syncControls(app.state);
  const writeHash = () => {
    const n = Math.max(1, Math.floor(Number(steps.value)) || DEFAULT_STEPS);
    app.setState({ qat: spec() === DEFAULT_SPEC ? null : spec(), qatsteps: n === DEFAULT_STEPS ? null : n });
  };
  for (const input of [wbits, abits, steps]) input.addEventListener('change', writeHash);
  app.on('state', syncControls);

  function setRunning(on) {
    startButton.disabled = on || !model;
    cancelButton.disabled = !on;
    for (const input of [wbits, abits, steps, lr]) input.disabled = on;
    if (on) section.setAttribute('aria-busy', 'true');
    else section.removeAttribute('aria-busy');
    section.dataset.qatRunning = String(on);
  }

  function draw() {
    frame = 0;
    if (!data) {
      curve.replaceChildren();
      return;
    }
    const width = chartWidth(curve);
    const last = data.checkpoints.at(-1);
    curve.dataset.steps = String(data.losses.length);
    curve.dataset.checkpoints = String(data.checkpoints.length);
    curve.replaceChildren(accuracyCurve(data, width), lossCurve(data, width), el('figcaption', {},
      el('strong', { text: `${data.spec} while it trains. ` }),
      last
        ? `After ${count(last.step)} steps the fake-quantized network gets ${pct(last.accuracy)} of the test images right` +
          (data.ptq != null ? ` (PTQ: ${pct(data.ptq)}; fp32: ${pct(data.fp32)}).` : '.')
        : 'The first checkpoint comes after a tenth of the steps.'));
    markRendered(section, controller ? 'running' : 'ready');
  }
  /** Redraws at the next frame at most (progress comes every ~50 ms). */
  const redraw = () => {
    if (!frame) frame = requestAnimationFrame(draw);
  };
  observeWidth(section, () => data && draw());

  /** fp32's and PTQ's accuracy on the first `limit` test images (cached per spec). */
  async function references(fp32, variant, train, test, limit, signal) {
    const key = `${variant}|${limit}`;
    if (refs.has(key)) return refs.get(key);
    calibrated ??= fp32.quantize({ variant: 'w8a8', calibration: { dataset: train, start: 0, count: CALIBRATION_IMAGES } });
    const base = await calibrated;
    const ptqModel = variant === 'w8a8' ? base : await fp32.withRanges(await base.ranges(), { variant });
    try {
      const [f, p] = [await fp32.accuracy(test, { limit, signal }), await ptqModel.accuracy(test, { limit, signal })];
      const r = { fp32: f.accuracy, ptq: p.accuracy };
      refs.set(key, r);
      return r;
    } finally {
      if (ptqModel !== base) ptqModel.dispose();
    }
  }

  async function start() {
    if (controller || !model) return;
    const fp32 = model;
    const variant = spec();
    const n = Math.max(1, Math.floor(Number(steps.value)) || DEFAULT_STEPS);
    controller = new AbortController();
    const { signal } = controller;
    setRunning(true);
    showError(errorBox, null);
    result.textContent = '';
    progress.hidden = false;
    progress.value = 0;
    const curveImages = testLimit(CURVE_IMAGES);
    const finalImages = testLimit(null);
    data = { spec: variant, steps: n, losses: [], checkpoints: [], fp32: null, ptq: null };
    redraw();
    try {
      say('Loading the Fashion-MNIST training and test images…');
      const [train, test] = await app.busy('QAT: loading the data', Promise.all([dataset(app, 'train'), dataset(app, 'test')]));
      if (fp32 !== model || signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
      const limit = Math.min(curveImages, test.count);
      say(`Measuring fp32 and ${variant} without training (PTQ) on ${count(limit)} test images…`);
      Object.assign(data, await references(fp32, variant, train, test, limit, signal));
      redraw();
      say(`Training ${variant}: step 0 of ${count(n)}…`);
      const t0 = performance.now();
      const tuned = await fp32.qat(train, {
        variant, steps: n, batch: BATCH, lr: Number(lr.value), test, testLimit: limit,
        evalEvery: Math.max(1, Math.ceil(n / 10)), signal,
        onProgress: (step, total, detail) => {
          if (fp32 !== model) return;
          progress.value = step / Math.max(1, total);
          section.dataset.qatStep = String(step);
          for (const l of detail?.losses ?? []) data.losses.push(l);
          if (detail?.test) data.checkpoints.push(detail.test);
          const s = (performance.now() - t0) / 1000;
          say(`Training ${variant}: step ${count(step)} of ${count(total)} (${Math.round((step * BATCH) / Math.max(s, 1e-3))} images/s)${detail?.frozen ? ', ranges frozen' : ''}…`);
          redraw();
        },
      });
      const seconds = (performance.now() - t0) / 1000;
      if (fp32 !== model) {
        tuned.dispose();
        return;
      }
      const name = tuned.variant;
      say(`Measuring the integer ${name} on the test images…`);
      const measured = await tuned.accuracy(test, { limit: finalImages, signal });
      app.addVariant(name, tuned);
      section.dataset.qatVariant = name;
      const images = count(measured.images);
      result.textContent = `${name}, the integer variant of the fine-tuned weights run by the integer engine: ${pct(measured.accuracy)} ` +
        `on ${images} test images (${count(n)} steps in ${seconds.toFixed(1)} s). It is now a variant in the Side by side and Accuracy panels.` +
        (data.ptq != null && limit === measured.images ? ` PTQ ${variant}: ${pct(data.ptq)}; fp32: ${pct(data.fp32)}.` : '');
      say(`Done: ${name}.`);
    } catch (e) {
      if (fp32 !== model) return;
      if (e?.name === 'AbortError') {
        say(`Cancelled after ${count(data.losses.length)} steps; nothing was kept. Start runs again from the float model.`);
        section.dataset.qatCancelled = String(Number(section.dataset.qatCancelled || 0) + 1);
      } else {
        say('');
        showError(errorBox, `QAT failed: ${e?.message ?? e}`);
        markRendered(section, 'error');
      }
    } finally {
      if (controller?.signal === signal) controller = null;
      progress.hidden = true;
      setRunning(false);
      redraw();
    }
  }

  startButton.addEventListener('click', () => start());
  cancelButton.addEventListener('click', () => controller?.abort());

  // ---- the model on show ----
  app.onModel((m, info) => {
    controller?.abort();
    controller = null;
    refs = new Map();
    calibrated?.then((v) => v.dispose(), () => {});
    calibrated = null;
    data = null;
    draw();
    result.textContent = '';
    const input = inputOf(info);
    if (!input.fits) {
      model = null;
      notice.hidden = false;
      const use = el('button', { type: 'button', id: 'qat-use-fmnist', text: 'Use the Fashion-MNIST CNN' });
      use.addEventListener('click', () => app.emit('choose-model', 'fmnist'));
      notice.replaceChildren(`QAT here fine-tunes a network trained on Fashion-MNIST’s 28×28 grey pictures, and ${info?.name ?? 'this model'} takes ${input.channels}×${input.height}×${input.width} ${input.channels === 1 ? 'grey' : 'colour'} pictures. `, use);
      say('');
      setRunning(false);
      section.dataset.qsStatus = 'unsupported';
      return;
    }
    model = m;
    notice.hidden = true;
    setRunning(false);
    say(`Choose the bits, steps and learning rate, and press Start: ${count(BATCH)} training images a step.`);
    section.dataset.qsStatus = 'idle';
  });
}
