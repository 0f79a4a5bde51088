// Size and trade-off: the weights' bytes as fp32, fp16 and int8, raw and deflate-compressed
// (model.sizes()), and latency against agreement with fp32 for the variants of the compare
// panel (its 'compared' events).
import * as Plot from '@observablehq/plot';
import { chartWidth, observeWidth } from './charts.js';
import { el } from './dom.js';


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

  section.append(
    el('h2', { text: 'Size and speed' }),
    el('p', {
      class: 'lead',
      text:
        'Fewer bits per weight means a smaller download: fp16 halves fp32 and int8 quarters it. The darker part of ' +
        'each bar is the size after deflate compression; compare the ratios in the table: trained weights look ' +
        'like noise to a compressor, so the saving comes from the bits, not from zipping. The second chart puts ' +
        'each variant’s speed on this image against how close it stays to fp32.',
    }),
    el('h3', { text: 'Bytes of the weights' }),
    sizeChart,
    table,
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
    const data = sizes.variants.map((v) => ({ ...v, raw: v.raw_bytes / MB, deflate: v.deflate_bytes / MB }));
    const chart = Plot.plot({
      width: chartWidth(sizeChart),
      height: 170,
      marginLeft: 50,
      style: { fontSize: '12px' },
      marginRight: 70,
      x: { label: 'megabytes', grid: true, nice: true },
      y: { label: null, domain: data.map((d) => d.name) },
      marks: [
        Plot.barX(data, { y: 'name', x: 'raw', fill: 'var(--accent-soft)', stroke: 'var(--accent)', className: 'raw-bars', ariaLabel: 'raw size' }),
        Plot.barX(data, { y: 'name', x: 'deflate', fill: 'var(--accent)', insetTop: 6, insetBottom: 6, className: 'deflate-bars', ariaLabel: 'deflate size' }),
        Plot.text(data, { y: 'name', x: 'raw', text: (d) => `${d.raw.toFixed(1)} MB`, textAnchor: 'start', dx: 6, fill: 'currentColor' }),
        Plot.ruleX([0]),
      ],
    });
    sizeChart.replaceChildren(chart);
  }

  function fillTable() {
    table.replaceChildren(
      el('caption', { class: 'visually-hidden', text: 'Bytes of the weights per variant' }),
      el('thead', {}, el('tr', {}, ...['Variant', 'Raw', 'Deflate', 'Ratio'].map((t) => el('th', { scope: 'col', text: t })))),
      el(
        'tbody',
        {},
        ...sizes.variants.map((v) => {
          const tr = el(
            'tr',
            {},
            el('th', { scope: 'row', text: v.name }),
            el('td', { text: `${(v.raw_bytes / MB).toFixed(2)} MB` }),
            el('td', { text: `${(v.deflate_bytes / MB).toFixed(2)} MB` }),
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
      `${(sizes.weights / 1e6).toFixed(2)} M weights and ${(sizes.biases / 1e3).toFixed(1)} k biases ` +
      `(biases stay 32-bit in every variant); deflate level ${sizes.deflate_level}.`;
  }

  app.whenModel.then(async (model) => {
    try {
      sizes = await model.sizes();
      fillTable();
      drawSizes();
    } catch (e) {
      sizeNote.textContent = `Could not measure the sizes: ${e.message}`;
    }
  });

  // ---- latency vs agreement ----
  let rows = [];
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

  let lastImage = null;
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
