// Panel "bits": the visitor's image at fewer and fewer bits per pixel (model.bitDepth), each
// with its raw size, PSNR and the float model's top-1, so the everyday analogy meets the model:
// where does recognition break? Key `bitsimg` enlarges one entry beside the original.
import * as Plot from '@observablehq/plot';
import { chartWidth, observeWidth } from './charts.js';
import { el } from './dom.js';
import { withDecodeFallback } from '../app.js';
import { db, latest, markRendered, num, showError } from './quant-common.js';

export function mount(section, app) {
  section.classList.add('qsp');
  const heading = el('h2', { id: 'bits-heading', tabindex: '-1', text: 'The bit-depth analogy' });
  if (!section.hasAttribute('aria-labelledby')) section.setAttribute('aria-labelledby', heading.id);
  const lede = el('div', { class: 'lead' },
    el('p', { text: 'A photo stored with fewer bits per pixel is quantized too: each colour channel keeps only 2ᵇ shades. Here is your image from 24 bits per pixel down to 1, with its raw size, how far it drifted from the original (PSNR, higher is closer) and what the float model sees in it.' }),
    el('p', { text: 'Look for the first picture whose top-1 no longer matches the original’s: the model shrugs off a lot of lost detail before it breaks. Choose a picture to compare it, enlarged, with the original. A grey picture (a Fashion-MNIST test image, say) goes from 8 bits of grey down to 1.' }));
  const status = el('p', { class: 'qsp-stats', id: 'bits-status', 'aria-live': 'polite', text: 'Waiting for the model and an image…' });
  const errorBox = el('p', { class: 'qsp-error', role: 'alert', hidden: true });
  const compare = el('div', { class: 'qsp-bits-compare', id: 'bits-compare', hidden: true });
  const grid = el('ul', { class: 'qsp-bits-grid', id: 'bits-series' });
  const figChart = el('div', { class: 'qsp-charts', id: 'bits-chart' },
    el('figure', { class: 'qsp-figure' }), el('figure', { class: 'qsp-figure' }));
  section.replaceChildren(heading, lede, status, errorBox, grid, compare, figChart);
  section.dataset.qsStatus = 'loading';

  let model = null;
  let shown = null; // { result, image, entries (sorted) }

  const request = latest(async (image, isCurrent) => {
    if (!model || !image) return;
    const m = model;
    const isCurrentRequest = isCurrent;
    isCurrent = () => isCurrentRequest() && m === model; // a reply about a previous model is dropped
    section.setAttribute('aria-busy', 'true');
    status.textContent = `Reducing ${image.name ?? 'the image'} and classifying each version…`;
    try {
      const result = await app.busy('Bit depth: classifying the reduced images', withDecodeFallback((img) => m.bitDepth(img), image.blob));
      if (!isCurrent()) return;
      shown = { result, image, entries: sortEntries(result.entries) };
      render();
      showError(errorBox, null);
      markRendered(section);
    } catch (err) {
      if (!isCurrent()) return;
      status.textContent = '';
      showError(errorBox, `Cannot reduce ${image.name ?? 'this image'}: ${err.message ?? err}`);
      markRendered(section, 'error');
    } finally {
      if (isCurrent()) section.removeAttribute('aria-busy');
    }
  }, 0);

  function render() {
    const { result, image, entries } = shown;
    const original = entries[0]; // the most bits: 24-bit colour, or 8-bit grey
    const breaks = entries.find((e) => e.top1.index !== original.top1.index);
    status.replaceChildren(
      `${image.name ?? 'Your image'}, drawn at ${result.width}×${result.height} (from ${result.source_width}×${result.source_height}). `,
      breaks
        ? el('strong', { text: `The model still says “${original.top1.label}” down to ${bpp(lastMatch(entries, original))}; at ${bpp(breaks.bits_per_pixel)}, ${breaks.label}, it says “${breaks.top1.label}”.` })
        : el('strong', { text: `The model says “${original.top1.label}” at every depth, even 1 bit per pixel.` }));
    renderGrid(grid, result, entries, original, breaks, app);
    renderCompare(compare, result, entries, original, app.state.bitsimg);
    renderChart(figChart, entries, original);
  }

  compare.addEventListener('click', (e) => {
    if (!e.target.closest('[data-close]')) return;
    const key = app.state.bitsimg;
    app.setState({ bitsimg: null });
    grid.querySelector(`button[data-key="${key}"]`)?.focus(); // back where the keyboard was
  });
  grid.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-key]');
    if (!b) return;
    const same = app.state.bitsimg === b.dataset.key;
    app.setState({ bitsimg: same ? null : b.dataset.key });
  });
  app.on('state', () => {
    if (!shown) return;
    renderCompare(compare, shown.result, shown.entries, shown.entries[0], app.state.bitsimg);
    for (const b of grid.querySelectorAll('button[data-key]')) {
      b.setAttribute('aria-pressed', String(b.dataset.key === app.state.bitsimg));
    }
  });
  app.on('image', (image) => request(image));
  observeWidth(figChart, () => shown && renderChart(figChart, shown.entries, shown.entries[0]));

  // Every model on show classifies the series again.
  app.onModel((m) => {
    model = m;
    shown = null;
    if (app.image) request(app.image);
    else status.textContent = 'Choose an image above.';
  });
}

/** Most bits per pixel first; the engine's order breaks ties (black and white before dithered). */
function sortEntries(entries) {
  return entries.map((e, i) => ({ e, i }))
    .sort((a, b) => b.e.bits_per_pixel - a.e.bits_per_pixel || a.i - b.i)
    .map(({ e }) => e);
}

function lastMatch(entries, original) {
  let bpp = original.bits_per_pixel;
  for (const e of entries) {
    if (e.top1.index !== original.top1.index) break;
    bpp = e.bits_per_pixel;
  }
  return bpp;
}

function canvasOf(result, entry, label) {
  const canvas = el('canvas', { width: result.width, height: result.height, role: 'img', 'aria-label': label });
  const px = entry.pixels instanceof Uint8ClampedArray ? entry.pixels : new Uint8ClampedArray(entry.pixels);
  canvas.getContext('2d').putImageData(new ImageData(px, result.width, result.height), 0, 0);
  return canvas;
}

const bpp = (n) => `${n} ${n === 1 ? 'bit' : 'bits'} per pixel`;
const kb = (bytes) => `${num(bytes / 1024, 3)} KB`;
const pct = (p) => `${(p * 100).toFixed(p >= 0.995 ? 0 : 1)}%`;

function renderGrid(grid, result, entries, original, breaks, app) {
  grid.replaceChildren(...entries.map((e) => {
    const match = e.top1.index === original.top1.index;
    const item = el('li', {
      class: `qsp-bits-item${match ? '' : ' qsp-breaks'}${e === breaks ? ' qsp-first-break' : ''}`,
      'data-key': e.key, 'data-psnr': String(e.psnr_db ?? Infinity), 'data-bpp': String(e.bits_per_pixel),
      'data-top1': e.top1.label, 'data-match': String(match),
    });
    const button = el('button', {
      type: 'button', class: 'qsp-bits-pick', 'data-key': e.key, 'aria-pressed': String(app.state.bitsimg === e.key),
      'aria-label': `${e.label}: compare with the original`,
    }, canvasOf(result, e, `${e.label} version of the image`));
    item.append(button, el('div', { class: 'qsp-bits-caption' },
      el('strong', { class: 'qsp-bits-label', text: e.label }),
      el('span', { text: `${bpp(e.bits_per_pixel)} · ${kb(e.raw_bytes)}` }),
      el('span', { text: e === original ? 'PSNR ∞ (the original)' : `PSNR ${db(e.psnr_db)}` }),
      el('span', { class: 'qsp-top1' }, match ? '✓ ' : '✗ ', el('span', { class: 'qsp-top1-label', text: e.top1.label }), ` ${pct(e.top1.prob)}`),
      e === breaks ? el('span', { class: 'qsp-break-note', text: 'recognition breaks here' }) : ''));
    return item;
  }));
}

function renderCompare(box, result, entries, original, key) {
  const chosen = entries.find((e) => e.key === key);
  if (!chosen || chosen === original) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const side = (e) => el('figure', { class: 'qsp-bits-big' }, canvasOf(result, e, `${e.label} version, enlarged`),
    el('figcaption', { text: `${e.label} · ${bpp(e.bits_per_pixel)} · top-1 ${e.top1.label} ${pct(e.top1.prob)}` }));
  const close = el('button', { type: 'button', class: 'qsp-bits-close', 'data-close': '', text: 'Close the comparison' });
  box.replaceChildren(side(original), side(chosen), close);
  box.hidden = false;
}

function renderChart(box, entries, original) {
  const same = `top-1 ${original.top1.label}`;
  const data = entries.map((e) => ({
    bpp: e.bits_per_pixel, psnr: e.psnr_db, label: e.label, prob: e.top1.prob, top1: e.top1.label,
    match: e.top1.index === original.top1.index ? same : 'top-1 changed',
  }));
  const top = original.bits_per_pixel; // 24 for colour, 8 for a grey picture
  const ticks = [1, 2, 4, 8, 16, 24].filter((t) => t <= top);
  const x = { type: 'log', base: 2, label: 'bits per pixel', domain: [1, top], ticks, tickFormat: (d) => String(d) };
  const color = { domain: [same, 'top-1 changed'], range: ['var(--qsp-level)', 'var(--qsp-clip)'], legend: true };
  const figs = [...box.children];
  const width = Math.min(chartWidth(figs[0]), 620);
  const common = { width, height: 240, marginLeft: 48, marginBottom: 38, marginRight: 24, x, color };
  // The original's PSNR is infinite: it sits in the second chart only.
  const finite = data.filter((d) => Number.isFinite(d.psnr));
  const psnr = Plot.plot({
    ...common, y: { label: 'PSNR vs the original (dB)', grid: true },
    marks: [
      Plot.dot(finite, { x: 'bpp', y: 'psnr', fill: 'match', r: 5, tip: true, title: (d) => `${d.label}: ${d.psnr.toFixed(1)} dB, ${d.top1}` }),
    ],
  });
  const prob = Plot.plot({
    ...common, y: { label: 'top-1 probability', domain: [0, 1], grid: true, tickFormat: '.0%' },
    marks: [
      Plot.dot(data, { x: 'bpp', y: 'prob', fill: 'match', r: 5, tip: true, title: (d) => `${d.label}: ${d.top1} ${(d.prob * 100).toFixed(1)}%` }),
    ],
  });
  figs[0].replaceChildren(psnr, el('figcaption', {},
    el('strong', { text: 'PSNR against bits per pixel. ' }), 'Each bit taken from every channel costs roughly 6 dB, the same rule as the SQNR of the weights.'));
  figs[1].replaceChildren(prob, el('figcaption', {},
    el('strong', { text: 'The model’s confidence in its top-1. ' }),
    'Coloured by whether that top-1 is still the original’s answer.'));
}
