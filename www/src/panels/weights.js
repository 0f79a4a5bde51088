// Panel "weights": one layer's float weights against the levels the engine quantizes them to
// (model.layerView): uniform grids, k-means centroids or powers of two, drawn over the histogram
// with the clipping range and zero point, the per-channel ranges
// (why per tensor fails on depthwise layers), the error histogram and the SQNR.
import * as Plot from '@observablehq/plot';
import { chartWidth, observeWidth } from './charts.js';
import { el } from './dom.js';
import {
  db, latest, ruleOpacity, markRendered, num, schemeNote, showError,
} from './quant-common.js';
import { quantControls, specOf } from './quant-controls.js';

const BINS = 64;

export function mount(section, app) {
  section.classList.add('qsp');
  const heading = el('h2', { id: 'weights-heading', tabindex: '-1', text: 'Weight histograms' });
  if (!section.hasAttribute('aria-labelledby')) section.setAttribute('aria-labelledby', heading.id);
  const lede = el('div', { class: 'lead' },
    el('p', { text: 'Each bar counts the float weights of one layer; the thin vertical rules are the values the integer grid can represent. Every weight is rounded to its nearest rule, and the rounding error is plotted below it.' }),
    el('p', { text: 'Lower the bits and watch the rules thin out and the SQNR (signal to quantization noise, about 6 dB per bit) drop. Then pick a depthwise layer (if the model has one) and switch to one scale per tensor: a few wide channels set the step for all, so the narrow ones fall into a handful of buckets.' }),
    el('p', { text: 'Switch the levels: at 4 bits k-means puts its 16 levels where the weights are, crowded around 0 where most of them lie, and beats the even grid by several dB; powers of two are fine near 0 and coarse in the tails. Every setting here is one the engine runs.' }));
  const controls = quantControls('weights', app, (v) => request(v));
  const tryLine = el('p', { class: 'qsp-try', hidden: true });
  const stats = el('p', { class: 'qsp-stats', id: 'weights-stats', 'aria-live': 'polite' });
  const errorBox = el('p', { class: 'qsp-error', role: 'alert', hidden: true });
  const figHist = el('figure', { class: 'qsp-figure qsp-wide', id: 'weights-histogram' });
  const figChannels = el('figure', { class: 'qsp-figure', id: 'weights-channels' });
  const figError = el('figure', { class: 'qsp-figure', id: 'weights-error' });
  const charts = el('div', { class: 'qsp-charts' }, figHist, figChannels, figError);
  section.replaceChildren(heading, lede, controls.node, controls.notice, tryLine, stats, errorBox, charts);
  section.dataset.qsStatus = 'loading';
  stats.textContent = 'Waiting for the model…';

  let model = null;
  let shown = null; // { view, other } on screen, redrawn on resize

  const request = latest(async (v, isCurrent) => {
    if (!model) return;
    const m = model;
    const isCurrentRequest = isCurrent;
    isCurrent = () => isCurrentRequest() && m === model; // a reply about a previous model is dropped
    section.setAttribute('aria-busy', 'true');
    try {
      const otherGran = v.gran === 'channel' ? 'tensor' : 'channel';
      // The other granularity only for its SQNR: the comparison is the lesson of this panel.
      const [view, other] = await Promise.all([
        m.layerView(v.layer, { spec: specOf(v), bins: BINS }),
        m.layerView(v.layer, { spec: specOf({ ...v, gran: otherGran }), bins: 8 }),
      ]);
      if (!isCurrent()) return;
      shown = { view, other };
      render();
      showError(errorBox, null);
      markRendered(section);
    } catch (err) {
      if (!isCurrent()) return;
      showError(errorBox, `Cannot show layer ${v.layer}: ${err.message ?? err}`);
      markRendered(section, 'error');
    } finally {
      if (isCurrent()) section.removeAttribute('aria-busy');
    }
  });

  function render() {
    const { view, other } = shown;
    renderStats(stats, view, other);
    renderHistogram(figHist, view);
    renderChannels(figChannels, view);
    renderError(figError, view);
  }

  observeWidth(charts, () => shown && render());

  tryLine.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-layer]');
    if (b) controls.set({ layer: b.dataset.layer, gran: 'tensor' });
  });

  // Every model on show (the built-in one, then maybe the visitor's): its layers, from scratch.
  app.onModel(async (m) => {
    model = m;
    shown = null;
    tryLine.hidden = true;
    for (const fig of [figHist, figChannels, figError]) fig.replaceChildren();
    stats.textContent = 'Reading the model’s layers…';
    showError(errorBox, null);
    try {
      const layers = await controls.load(m);
      if (model !== m) return;
      if (!layers.length) {
        stats.textContent = '';
        showError(errorBox, 'This model has no Conv or Gemm layer with weights: there is nothing to quantize here.');
        markRendered(section, 'error');
        return;
      }
      suggestDepthwise(tryLine, layers);
    } catch (err) {
      if (model !== m) return;
      stats.textContent = '';
      showError(errorBox, `The layer list is not available: ${err.message ?? err}`);
      markRendered(section, 'error');
    }
  });
}

/** Buttons for a few depthwise layers spread through the network, opened per tensor. */
function suggestDepthwise(line, layers) {
  const dw = layers.filter((l) => l.depthwise);
  if (!dw.length) return;
  const picks = [...new Set([dw[1] ?? dw[0], dw[Math.floor(dw.length / 2)], dw[dw.length - 1]])];
  line.replaceChildren('Per tensor versus per channel: try the depthwise layers ',
    ...picks.flatMap((l, i) => [
      i ? (i === picks.length - 1 ? ' or ' : ', ') : '',
      el('button', { type: 'button', class: 'qsp-link', 'data-layer': l.name, text: l.name }),
    ]), ' per tensor, then per channel.');
  line.hidden = false;
}

function renderStats(node, view, other) {
  const mine = view.per_channel ? 'per channel' : 'per tensor';
  const theirs = other.per_channel ? 'per channel' : 'per tensor';
  const g = view.grid;
  const codebook = view.levels_kind !== 'uniform';
  const detail = codebook
    ? ` · ${view.levels.length} levels: clustering ${db(view.clustering_sqnr_db)}, codebook rounded to int8 ${db(view.codebook_sqnr_db)} · max |error| ${num(view.max_abs_error)} `
    : ` · max |error| ${num(view.max_abs_error)} · step S = ${num(g.scale)} · codes ${g.qmin}..${g.qmax}, zero point Z = ${g.zero_point}${view.clipping === 'mse' ? ' · range clipped for least squared error' : ''} `;
  node.replaceChildren(
    el('strong', { class: 'qsp-sqnr', text: `SQNR ${db(view.sqnr_db)}` }), ` ${mine} `,
    el('span', { class: 'qsp-muted', text: `(${db(other.sqnr_db)} ${theirs})` }),
    detail, schemeNote(view.spec));
  Object.assign(node.dataset, {
    layer: view.layer.name, bits: String(view.bits), gran: view.per_channel ? 'channel' : 'tensor',
    sqnr: String(view.sqnr_db ?? Infinity), otherSqnr: String(other.sqnr_db ?? Infinity),
    levels: String(view.levels.length), levelsKind: view.levels_kind, spec: view.spec,
    clusteringSqnr: String(view.clustering_sqnr_db ?? ''), codebookSqnr: String(view.codebook_sqnr_db ?? ''),
  });
}

/** Equal-width histogram bins as rectangles. */
function binsOf(h) {
  const w = (h.hi - h.lo) / h.counts.length;
  return h.counts.map((count, i) => ({ x1: h.lo + i * w, x2: h.lo + (i + 1) * w, count }));
}

function renderHistogram(fig, view) {
  const h = view.histogram;
  const [c0, c1] = view.clip;
  const width = chartWidth(fig);
  const [d0, d1] = [Math.min(h.lo, c0), Math.max(h.hi, c1)];
  const opacity = ruleOpacity(view.levels.length, width - 70, (c1 - c0) / (d1 - d0 || 1));
  const chart = Plot.plot({
    width, height: 260, marginLeft: 52, marginBottom: 36,
    x: { label: 'weight value', domain: [d0, d1], nice: true },
    // Square root: most weights crowd around 0, and the sparse tails are what gets clipped.
    y: { label: 'weights per bin (√ scale)', type: 'sqrt', grid: true },
    marks: [
      Plot.rectY(binsOf(h), { x1: 'x1', x2: 'x2', y: 'count', fill: 'var(--qsp-bar)', insetLeft: 0.5, insetRight: 0.5 }),
      Plot.ruleX(view.levels, { stroke: 'var(--qsp-level)', strokeWidth: 0.8, strokeOpacity: opacity, className: 'qsp-levels' }),
      Plot.ruleX(view.clip, { stroke: 'var(--qsp-clip)', strokeWidth: 2, strokeDasharray: '5,3', className: 'qsp-clip' }),
      Plot.ruleX([0], { // code Z stands for the real 0: S (Z - Z) = 0
         stroke: 'var(--qsp-zero)', strokeWidth: 2, className: 'qsp-zero' }),
      Plot.ruleY([0]),
    ],
  });
  const kind = { uniform: 'evenly spaced', kmeans: 'k-means', 'kmeans++': 'k-means++', pow2: 'power-of-two' }[view.levels_kind];
  const which = view.per_channel
    ? `${kind} levels of channel ${view.grid_channel} (the widest; every channel has its own ${view.levels_kind === 'uniform' ? 'step' : 'codebook'})`
    : `${kind} levels shared by the whole tensor`;
  fig.replaceChildren(chart, el('figcaption', {},
    el('strong', { text: `${view.layer.name}: ${view.histogram.counts.reduce((a, b) => a + b, 0).toLocaleString('en')} weights. ` }),
    swatch('bar'), ' float weights ', swatch('level'), ` ${view.levels.length} ${which} `,
    swatch('clip'), ` clipping range ${num(c0)}..${num(c1)} `,
    swatch('zero'), ` zero point: code ${view.grid.zero_point} = 0.0. `, lookAt(view)));
}

/** One sentence on what to look at for the levels drawn. */
function lookAt(view) {
  switch (view.levels_kind) {
    case 'kmeans':
    case 'kmeans++':
      return `Look at where the ${view.levels.length} k-means levels sit: they crowd where the weights are and leave the sparse tails to a few, which is why they beat the even grid at the same bits.`;
    case 'pow2':
      return 'Powers of two halve towards 0: fine steps for the many small weights, coarse ones for the few large; a multiplication becomes a shift.';
    default:
      return view.clipping === 'mse'
        ? 'Below 8 bits the engine clips the range where the squared error is least: the few weights beyond the dashed lines are clamped so that the many inside get finer steps.'
        : 'Every level is one step S from the next; the tails hold few weights but take as many levels as the crowded centre.';
  }
}

function renderChannels(fig, view) {
  const ranges = view.channel_ranges.map(([min, max], channel) => ({ channel, min, max }));
  const absmax = (r) => Math.max(Math.abs(r.min), Math.abs(r.max));
  const tensorMax = Math.max(...ranges.map(absmax));
  const chart = Plot.plot({
    width: chartWidth(fig), height: 240, marginLeft: 52, marginBottom: 36,
    x: { label: 'output channel', nice: true },
    y: { label: 'weight min..max', grid: true },
    marks: [
      Plot.ruleY([-tensorMax, tensorMax], { stroke: 'var(--qsp-clip)', strokeDasharray: '5,3', strokeWidth: 1.5 }),
      Plot.ruleX(ranges, { x: 'channel', y1: 'min', y2: 'max', stroke: 'var(--qsp-bar-strong)', strokeWidth: ranges.length > 200 ? 1 : 2, className: 'qsp-channel' }),
      Plot.ruleY([0]),
    ],
  });
  // Levels a channel would cover if it shared the tensor's step (S = max|w| / qmax).
  const step = tensorMax / view.grid.qmax;
  const used = ranges.map((r) => (step > 0 ? Math.round((r.max - r.min) / step) + 1 : 1)).sort((a, b) => a - b);
  const median = used[Math.floor(used.length / 2)];
  const shared = view.levels_kind === 'uniform'
    ? `On one shared ${view.bits}-bit grid the median channel would use only ${median} of the ${view.grid.qmax * 2 + 1} levels.`
    : `Per tensor one codebook of ${2 ** view.bits} levels serves every channel; per channel each gets its own.`;
  fig.replaceChildren(chart, el('figcaption', {},
    el('strong', { text: `${ranges.length} output channels${view.layer.depthwise ? ' (depthwise: each channel is its own little filter)' : ''}. ` }),
    `Each rule spans one channel's weights; dashed: the per-tensor range ±${num(tensorMax)}. `,
    shared,
    zeroNote(view.zero_channels.length)));
}

function renderError(fig, view) {
  const h = view.error_histogram;
  const chart = Plot.plot({
    width: chartWidth(fig), height: 240, marginLeft: 52, marginBottom: 36,
    x: { label: 'error: float − dequantized', nice: true },
    y: { label: 'weights per bin', grid: true },
    marks: [
      Plot.rectY(binsOf(h), { x1: 'x1', x2: 'x2', y: 'count', fill: 'var(--qsp-error)', insetLeft: 0.5, insetRight: 0.5 }),
      Plot.ruleY([0]),
    ],
  });
  fig.replaceChildren(chart, el('figcaption', {},
    el('strong', { text: 'Quantization error. ' }),
    view.levels_kind === 'uniform'
      ? `Rounding to the nearest level errs by at most half a step, unless the weight was clipped; the largest error here is ${num(view.max_abs_error)}.`
      : `Each weight goes to its nearest level: the error is at most half the gap between two levels, wide in the tails; the largest here is ${num(view.max_abs_error)}.`));
}

function swatch(kind) {
  return el('span', { class: `qsp-swatch qsp-swatch-${kind}`, 'aria-hidden': 'true' });
}

function zeroNote(n) {
  if (!n) return '';
  return n === 1 ? ' 1 channel is all zero (a dead filter).' : ` ${n} channels are all zero (dead filters).`;
}
