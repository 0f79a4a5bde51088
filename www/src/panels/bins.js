// Panel "bins": the float -> integer -> float staircase of the chosen layer's grid
// (model.staircase: a uniform grid, or the uneven steps of a k-means / power-of-two codebook)
// over that layer's weight range, and where one value lands: its bucket, code, dequantized value
// and error. Shares `layer`/`bits`/`levels`/`gran` with the weights panel.
import * as Plot from '@observablehq/plot';
import { chartWidth, observeWidth } from './charts.js';
import { el } from './dom.js';
import {
  debounce, latest, ruleOpacity, markRendered, num, schemeNote, showError,
} from './quant-common.js';
import { quantControls, specOf } from './quant-controls.js';

const POINTS = 512; // staircase samples: enough for 255 steps across a chart's width
const SLIDER_STEPS = 1000;
const PAD = 0.15;
const HIST_BINS = 96; // the value slider reaches this fraction of the range beyond it: clipping

export function mount(section, app) {
  section.classList.add('qsp');
  const heading = el('h2', { id: 'bins-heading', tabindex: '-1', text: 'Quantization bins' });
  if (!section.hasAttribute('aria-labelledby')) section.setAttribute('aria-labelledby', heading.id);
  const lede = el('div', { class: 'lead' },
    el('p', { text: 'Quantizing cuts the real line into buckets of width S (the step): every value inside a bucket becomes the same integer code, and comes back as the bucket’s centre. The staircase shows this round trip for every value the chosen layer’s weights take; the dashed diagonal is a perfect copy.' }),
    el('p', { text: 'Move the value and read its code and error: the error never exceeds half a step, until the value leaves the clipping range. Drop the bits and the stairs get fewer and taller.' }),
    el('p', { text: 'With k-means or powers of two the stairs are uneven: narrow where the weights crowd (near 0), wide in the tails. A value goes to its nearest level, and the level is stored rounded to an int8 code.' }));
  const controls = quantControls('bins', app, () => request(params()));
  const value = el('input', { type: 'range', id: 'bins-value', min: 0, max: SLIDER_STEPS, step: 1, value: SLIDER_STEPS / 2, disabled: true });
  const valueOut = el('output', { for: 'bins-value', id: 'bins-value-out' });
  controls.node.append(el('div', { class: 'qsp-field qsp-value' },
    el('label', { for: value.id, text: 'Value' }), value, valueOut));
  const readout = el('p', { class: 'qsp-readout', id: 'bins-readout', 'aria-live': 'polite' });
  const errorBox = el('p', { class: 'qsp-error', role: 'alert', hidden: true });
  const fig = el('figure', { class: 'qsp-figure qsp-wide', id: 'bins-staircase' });
  section.replaceChildren(heading, lede, controls.node, controls.notice, readout, errorBox, fig);
  section.dataset.qsStatus = 'loading';
  readout.textContent = 'Waiting for the model…';

  let model = null;
  let domain = null; // [lo, hi] the value slider spans, from the layer's weight range
  let shown = null;
  let current = Number.isFinite(Number(app.state.value)) && app.state.value != null ? Number(app.state.value) : null;
  const histograms = new Map(); // layer -> its float weights' histogram
  const ranges = new Map(); // layer -> [min, max] of its weights (independent of bits and scale)

  /** The real value under the slider. */
  const sliderValue = () => domain[0] + (domain[1] - domain[0]) * (Number(value.value) / SLIDER_STEPS);
  const params = () => ({ ...controls.values(), value: current });

  // The hash keeps the value to 4 significant digits; written after the slider rests, as
  // browsers throttle history.replaceState calls.
  const writeValue = debounce((x) => app.setState({ value: Number(x.toPrecision(4)) }), 250);

  value.addEventListener('input', () => {
    if (!domain) return;
    current = sliderValue();
    valueOut.value = num(current, 4);
    request(params());
    writeValue(current);
  });
  app.on('state', (s) => {
    // A value in a pasted link moves the slider; our own (rounded) writes do not.
    const x = Number(s.value);
    if (s.value == null || !Number.isFinite(x) || current == null) return;
    if (Math.abs(x - current) > Math.abs(current) * 1e-3 + 1e-9) {
      current = x;
      request(params());
    }
  });

  const request = latest(async (p, isCurrent) => {
    if (!model || !p.layer) return;
    const m = model;
    const isCurrentModel = isCurrent;
    isCurrent = () => isCurrentModel() && m === model;
    section.setAttribute('aria-busy', 'true');
    try {
      const opts = { spec: specOf(p), points: POINTS };
      // The layer's range comes with its first staircase; a value outside (kept from another
      // layer) restarts two thirds of the way up the range.
      if (!ranges.has(p.layer)) {
        const first = await m.staircase(p.layer, opts);
        if (!isCurrent()) return;
        ranges.set(p.layer, first.range);
      }
      const [lo, hi] = ranges.get(p.layer);
      const pad = (hi - lo) * PAD;
      let x = p.value;
      if (x == null || x < lo - pad || x > hi + pad) x = lo + (hi - lo) * (2 / 3);
      const stair = await m.staircase(p.layer, { ...opts, value: x });
      if (!isCurrent()) return;
      // Where the weights actually lie (one histogram per layer: it does not change with bits).
      if (!histograms.has(p.layer)) {
        const { histogram } = await m.layerView(p.layer, { bins: HIST_BINS });
        if (!isCurrent()) return;
        histograms.set(p.layer, histogram);
      }
      current = stair.bucket.value;
      shown = { stair, layer: p.layer, bits: p.bits, histogram: histograms.get(p.layer) };
      setDomain(stair);
      render();
      showError(errorBox, null);
      markRendered(section);
    } catch (err) {
      if (!isCurrent()) return;
      showError(errorBox, `Cannot draw the staircase of ${p.layer}: ${err.message ?? err}`);
      markRendered(section, 'error');
    } finally {
      if (isCurrent()) section.removeAttribute('aria-busy');
    }
  });

  /** Slider span: the layer's range widened by PAD each side, so clipping can be tried. */
  function setDomain(stair) {
    const [lo, hi] = stair.range;
    const pad = (hi - lo) * PAD;
    domain = [lo - pad, hi + pad];
    const x = stair.bucket.value;
    value.value = String(Math.round(((x - domain[0]) / (domain[1] - domain[0])) * SLIDER_STEPS));
    value.disabled = false;
    value.setAttribute('aria-valuetext', num(x, 4));
    valueOut.value = num(x, 4);
  }

  function render() {
    renderReadout(readout, shown.stair);
    renderStaircase(fig, shown, domain);
  }

  observeWidth(section, () => shown && render());

  // Every model on show: its layers, ranges and histograms from scratch.
  let models = 0;
  app.onModel(async (m) => {
    model = m;
    histograms.clear();
    ranges.clear();
    domain = null;
    shown = null;
    if (models++ > 0) current = null; // a linked value belongs to the first model's layer
    value.disabled = true;
    fig.replaceChildren();
    readout.textContent = 'Reading the model’s layers…';
    showError(errorBox, null);
    try {
      const layers = await controls.load(m);
      if (model !== m || layers.length) return;
      readout.textContent = '';
      showError(errorBox, 'This model has no Conv or Gemm layer with weights: there is no staircase to draw.');
      markRendered(section, 'error');
    } catch (err) {
      if (model !== m) return;
      readout.textContent = '';
      showError(errorBox, `The staircase is not available: ${err.message ?? err}`);
      markRendered(section, 'error');
    }
  });
}

function renderReadout(node, stair) {
  const b = stair.bucket;
  const g = stair.grid;
  const codebook = stair.levels_kind !== 'uniform';
  const where = codebook
    ? ` · level ${b.code + 1} of ${stair.centroids.length} (float ${num(stair.centroids[b.code], 4)}, stored as ${Math.round(b.dequantized / g.scale)} × ${num(g.scale, 4)})`
    : ` · S = ${num(g.scale, 4)}, Z = ${g.zero_point}, codes ${g.qmin}..${g.qmax}`;
  node.replaceChildren(
    el('span', {}, 'value ', el('strong', { text: num(b.value, 4) })),
    el('span', {}, ' → bucket ', el('strong', { text: `[${num(b.bucket_lo, 4)}, ${num(b.bucket_hi, 4)})` })),
    el('span', {}, ' → code ', el('strong', { class: 'qsp-code', text: String(b.code) })),
    el('span', {}, ' → dequantized ', el('strong', { text: num(b.dequantized, 4) })),
    el('span', {}, ' · error ', el('strong', { class: 'qsp-err', text: num(b.error, 3) })),
    b.clipped ? el('span', { class: 'qsp-clipped', text: 'clipped: beyond the grid’s range' }) : '',
    el('span', { class: 'qsp-muted', text: where }),
    ' ', schemeNote(stair.spec));
  Object.assign(node.dataset, {
    value: String(b.value), code: String(b.code), dequantized: String(b.dequantized),
    error: String(b.error), clipped: String(b.clipped), bucketLo: String(b.bucket_lo), bucketHi: String(b.bucket_hi),
    scale: String(g.scale), zeroPoint: String(g.zero_point), qmin: String(g.qmin), qmax: String(g.qmax),
    levelsKind: stair.levels_kind, spec: stair.spec, levels: String(stair.levels.length),
  });
}

function renderStaircase(fig, { stair, layer, histogram }, domain) {
  const b = stair.bucket;
  const pts = stair.x.map((x, i) => ({ x, y: stair.dequantized[i] }));
  const [c0, c1] = stair.clip;
  const y = [Math.min(domain[0], c0), Math.max(domain[1], c1)];
  const width = chartWidth(fig);
  const edgeOpacity = ruleOpacity(stair.edges.length, width - 70, (stair.range[1] - stair.range[0]) / (domain[1] - domain[0]), 0.3) * 0.6;
  const chart = Plot.plot({
    width, height: Math.min(380, Math.max(260, width * 0.45)),
    marginLeft: 56, marginRight: 24, marginBottom: 38,
    x: { label: 'float value (the layer’s weights span the solid staircase)', domain },
    y: { label: 'dequantized S·(q − Z)', domain: y, grid: true },
    marks: [
      // The chosen value's bucket, across the whole height.
      Plot.rect([b], { x1: 'bucket_lo', x2: 'bucket_hi', fill: 'var(--qsp-bucket)', className: 'qsp-bucket' }),
      Plot.ruleX(stair.edges, { stroke: 'var(--qsp-level)', strokeOpacity: edgeOpacity, strokeWidth: 0.6, className: 'qsp-edges' }),
      Plot.ruleX(stair.clip, { stroke: 'var(--qsp-clip)', strokeDasharray: '5,3', strokeWidth: 1.5, className: 'qsp-clip' }),
      Plot.line([[domain[0], domain[0]], [domain[1], domain[1]]], { stroke: 'var(--qsp-muted)', strokeDasharray: '3,4' }),
      Plot.line(pts, { x: 'x', y: 'y', curve: 'step-after', stroke: 'var(--qsp-level)', strokeWidth: 2, className: 'qsp-stairs' }),
      // The error: from the value on the diagonal to where it comes back.
      Plot.link([b], { x1: 'value', y1: 'value', x2: 'value', y2: 'dequantized', stroke: 'var(--qsp-error)', strokeWidth: 2.5 }),
      Plot.dot([b], { x: 'value', y: 'dequantized', r: 5, fill: 'var(--qsp-error)', stroke: 'var(--qsp-card)', className: 'qsp-value-dot' }),
      Plot.dot([b], { x: 'value', y: 'value', r: 4, stroke: 'var(--qsp-error)', fill: 'var(--qsp-card)' }),
    ],
  });
  const w = (histogram.hi - histogram.lo) / histogram.counts.length;
  const density = Plot.plot({
    width, height: 100, marginLeft: 56, marginRight: 24, marginBottom: 10, marginTop: 20,
    x: { domain, axis: null },
    y: { label: 'weights', type: 'sqrt', ticks: 2 },
    marks: [
      Plot.rectY(histogram.counts, { x1: (_, i) => histogram.lo + i * w, x2: (_, i) => histogram.lo + (i + 1) * w, y: (c) => c, fill: 'var(--qsp-bar)' }),
      Plot.ruleX([b.value], { stroke: 'var(--qsp-error)', strokeWidth: 2 }),
      Plot.ruleY([0]),
    ],
  });
  const steps = new Set(stair.code).size;
  fig.dataset.steps = String(steps);
  fig.replaceChildren(chart, density, el('figcaption', {},
    el('strong', { text: `${layer}: ${steps} ${stair.levels_kind === 'uniform' ? 'even' : 'uneven'} steps across its weights ${num(stair.range[0])}..${num(stair.range[1])}. ` }),
    swatch('level'), ' staircase and its rounding thresholds ', swatch('bucket'), ' the value’s bucket ',
    swatch('error'), ' error ', swatch('clip'), ` clipping range ${num(c0)}..${num(c1)}. `,
    swatch('bar'), ' below: how many of the layer’s weights lie at each value (√ scale): most steps serve few weights.'));
}

function swatch(kind) {
  return el('span', { class: `qsp-swatch qsp-swatch-${kind}`, 'aria-hidden': 'true' });
}
