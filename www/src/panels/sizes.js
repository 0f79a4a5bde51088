// Size and trade-off: the weights' bytes as each variant stores them (packed codes, scales,
// codebooks, biases), raw and deflate-compressed (model.sizes()), for fp32, fp16, a list of
// specs and the compare panel's columns, and latency against agreement with fp32 for the
// variants of the compare panel (its 'compared' events).
import * as Plot from '@observablehq/plot';
import { chartWidth, observeWidth } from './charts.js';
import { el, formatBytes } from './dom.js';
import { selectedVariants } from './compare.js';

/** The specs measured besides fp32 and fp16; the compare panel's columns are added. */
const SIZE_SPECS = ['w8a8', 'w8a8-tensor', 'w4a8', 'w4a8-kmeans', 'w2a8', 'w2a8-pow2'];


const MB = 1e6;
const METRICS = {
  kl: { label: 'KL from fp32 (nats), lower is closer', axis: '↑ KL divergence from fp32 (nats)', value: (r) => r.kl },
  overlap: { label: 'top-5 classes shared with fp32', axis: '↑ top-5 classes shared with fp32', value: (r) => r.top5Overlap },
};

export function mount(section, app) {
  const sizeChart = el('div', { class: 'chart', id: 'sizes-chart' });
  const table = el('table', { class: 'data-table', id: 'sizes-table' });
  const sizeNote = el('p', { class: 'note', id: 'sizes-note', text: 'Waiting for the model…' });
  const metric = el('select', { id: 'tradeoff-metric' });
  for (const [key, m] of Object.entries(METRICS)) metric.append(el('option', { value: key, text: m.label }));
  const tradeoffChart = el('div', { class: 'chart', id: 'tradeoff-chart' });
  const tradeoffNote = el('p', { class: 'note', id: 'tradeoff-note' });
  let rows = []; // the compare panel's latest rows, for the image on show
  let lastImage = null;

  section.append(
    el('h2', { text: 'Size and speed' }),
    el('p', {
      class: 'lead',
      text:
        'Fewer bits per weight means a smaller download: fp16 halves fp32, w8a8 quarters it, and 4- and 2-bit codes ' +
        'are packed two and four to a byte. Each variant is counted as stored: the codes, a scale per channel, a ' +
        'codebook of 2^b levels per channel for k-means and powers of two, and the 32-bit biases, which weigh more ' +
        'and more as the codes shrink. The darker part of each bar is the size after deflate compression: trained ' +
        'float weights look like noise to a compressor, integer codes crowd around 0 and squeeze a little. The ' +
        'second chart puts each variant’s speed on this image against how close it stays to fp32.',
    }),
    el('h3', { text: 'Bytes of the weights' }),
    sizeChart,
    el('div', { class: 'table-scroll' }, table),
    sizeNote,
    el('h3', { text: 'Latency against agreement' }),
    el('div', { class: 'row' }, el('label', { for: 'tradeoff-metric', text: 'Agreement:' }), metric),
    tradeoffChart,
    tradeoffNote,
  );

  // ---- sizes ----
  let sizes = null;
  function drawSizes() {
    if (!sizes) return;
    // Megabytes, or kilobytes for a model whose fp32 weights stay under 1 MB.
    const unit = sizes.variants.some((v) => v.raw_bytes >= MB) ? { div: MB, name: 'megabytes' } : { div: 1e3, name: 'kilobytes' };
    const data = sizes.variants.map((v) => ({ ...v, raw: v.raw_bytes / unit.div, deflate: v.deflate_bytes / unit.div }));
    const chart = Plot.plot({
      width: chartWidth(sizeChart),
      height: 40 + 24 * data.length,
      marginLeft: 96,
      style: { fontSize: '12px' },
      marginRight: 70,
      x: { label: unit.name, grid: true, nice: true },
      y: { label: null, domain: data.map((d) => d.name) },
      marks: [
        Plot.barX(data, { y: 'name', x: 'raw', fill: 'var(--accent-soft)', stroke: 'var(--accent)', className: 'raw-bars', ariaLabel: 'raw size' }),
        Plot.barX(data, { y: 'name', x: 'deflate', fill: 'var(--accent)', insetTop: 6, insetBottom: 6, className: 'deflate-bars', ariaLabel: 'deflate size' }),
        Plot.text(data, { y: 'name', x: 'raw', text: (d) => formatBytes(d.raw_bytes), textAnchor: 'start', dx: 6, fill: 'currentColor' }),
        Plot.ruleX([0]),
      ],
    });
    sizeChart.replaceChildren(chart);
  }

  function fillTable() {
    table.replaceChildren(
      el('caption', { class: 'visually-hidden', text: 'Bytes of the weights per variant' }),
      el('thead', {}, el('tr', {}, ...['Variant', 'Bits per code', 'Codes', 'Scales + codebooks', 'Biases', 'Raw', 'Deflate', 'Ratio']
        .map((t) => el('th', { scope: 'col', text: t })))),
      el(
        'tbody',
        {},
        ...sizes.variants.map((v) => {
          const tr = el(
            'tr',
            {},
            el('th', { scope: 'row', text: v.name }),
            el('td', { text: String(v.code_bits) }),
            el('td', { text: formatBytes(v.parts.codes, 2) }),
            el('td', { text: `${((v.parts.scales + v.parts.zero_points + v.parts.codebooks) / 1e3).toFixed(1)} kB` }),
            el('td', { text: `${(v.parts.biases / 1e3).toFixed(1)} kB` }),
            el('td', { text: formatBytes(v.raw_bytes, 2) }),
            el('td', { text: formatBytes(v.deflate_bytes, 2) }),
            el('td', { text: `${(v.raw_bytes / v.deflate_bytes).toFixed(2)}×` }),
          );
          tr.dataset.variant = v.name;
          tr.dataset.rawBytes = String(v.raw_bytes);
          tr.dataset.deflateBytes = String(v.deflate_bytes);
          return tr;
        }),
      ),
    );
    sizeNote.textContent =
      `${sizes.model ? `${sizes.model}: ` : ''}${(sizes.weights / 1e6).toFixed(2)} M weights and ${(sizes.biases / 1e3).toFixed(1)} k biases ` +
      `(biases stay 32-bit in every integer variant); deflate level ${sizes.deflate_level}. ` +
      'At 2 bits the codes shrink to a sixteenth of fp32, but scales, codebooks and biases do not shrink with them.';
  }

  // Measured once per model for the list, and again when the compare panel shows a spec not
  // measured yet.
  let model = null;
  let measuring = null;
  let tried = '';
  function measure() {
    const m = model;
    if (!m || !started) return;
    const wanted = [...new Set([...SIZE_SPECS, ...selectedVariants(app.state)])];
    const have = new Set((sizes?.variants ?? []).map((v) => v.name));
    if (sizes && wanted.every((v) => have.has(v))) return;
    if (measuring || tried === wanted.join(',')) return;
    tried = wanted.join(',');
    const name = app.modelInfo?.name;
    measuring = m
      .sizes(wanted)
      .catch(() => m.sizes(SIZE_SPECS)) // a bad spec in the link: the list alone
      .then((s) => {
        if (m !== model) return; // the model changed meanwhile
        sizes = { ...s, model: name };
        fillTable();
        drawSizes();
      })
      .catch((e) => {
        if (m === model) sizeNote.textContent = `Could not measure the sizes: ${e.message}`;
      })
      .finally(() => {
        measuring = null;
        if (m !== model) measure(); // the model on show now
      });
  }
  // Quantizing every layer under eight schemes takes the worker several seconds: started once
  // the side-by-side columns have had their turn (or at once when the page opens on this panel),
  // for each model on show.
  let started = false;
  let timer = 0;
  const start = () => {
    if (started) return;
    started = true;
    clearTimeout(timer);
    measure();
  };
  app.on('state', (s) => (s.panel === 'sizes' ? start() : measure()));
  app.on('compared', ({ rows: done }) => {
    if (done.length >= selectedVariants(app.state).length) start();
  });
  app.onModel((m) => {
    model = m;
    sizes = null;
    tried = '';
    started = false;
    rows = [];
    sizeChart.replaceChildren();
    table.replaceChildren();
    sizeNote.textContent = 'Measured once the side-by-side columns are done…';
    drawTradeoff();
    clearTimeout(timer);
    timer = setTimeout(start, 60_000);
    if (app.state.panel === 'sizes' || selectedVariants(app.state).length === 0) start();
  });

  // ---- latency vs agreement ----
  function drawTradeoff() {
    const m = METRICS[metric.value];
    const data = rows.filter((r) => Number.isFinite(m.value(r)));
    if (data.length === 0) {
      tradeoffChart.replaceChildren();
      tradeoffNote.textContent = 'Appears once the side-by-side panel has classified an image.';
      return;
    }
    const chart = Plot.plot({
      width: chartWidth(tradeoffChart),
      height: 260,
      inset: 16,
      style: { fontSize: '12px' },
      x: { label: 'latency on this image (ms) →', nice: true, zero: true },
      y: metric.value === 'overlap' ? { label: m.axis, domain: [0, 5], ticks: 6 } : { label: m.axis, nice: true, zero: true },
      color: { legend: true, domain: rows.map((r) => r.name), scheme: 'observable10' },
      symbol: { domain: [true, false], range: ['circle', 'times'] },
      marks: [
        Plot.ruleY([0]),
        Plot.dot(data, {
          x: 'ms',
          y: m.value,
          r: 7,
          fill: 'name',
          stroke: 'name',
          strokeWidth: 2.5,
          symbol: 'sameTop1',
          className: 'tradeoff-dots',
          ariaLabel: 'variants',
          channels: { variant: 'title', 'top-5 shared': 'top5Overlap', KL: 'kl' },
          tip: true,
        }),
      ],
    });
    tradeoffChart.replaceChildren(chart);
    const image = lastImage?.name ? ` on “${lastImage.name}”` : '';
    tradeoffNote.textContent =
      `${data.length} variant${data.length === 1 ? '' : 's'}${image}, each timed after one warm-up run; ` +
      '× marks a variant whose top-1 differs from fp32.';
  }

  app.on('compared', ({ image, rows: next }) => {
    lastImage = image;
    rows = next;
    drawTradeoff();
  });
  metric.addEventListener('change', drawTradeoff);
  observeWidth(section, () => {
    drawSizes();
    drawTradeoff();
  });
  drawTradeoff();
}
