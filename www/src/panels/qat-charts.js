// The QAT panel's figures, each a pure function of its data and a width (Observable Plot): test
// accuracy at the checkpoints against fp32 and post-training quantization, the training loss per
// step, and what QAT wins back over PTQ at each width (the table `make accuracy` measured).
import * as Plot from '@observablehq/plot';

const pct = (x) => `${(x * 100).toFixed(1)}%`;

/**
 * Test accuracy of the fake-quantized network at each checkpoint (`checkpoints: [{ step,
 * accuracy }]`), over `steps`, with horizontal references: `fp32` (the float model) and `ptq`
 * (the same variant by post-training quantization), either may be null. `spec` names the
 * variant.
 */
export function accuracyCurve({ checkpoints, steps, fp32, ptq, spec }, width) {
  const refs = [
    fp32 == null ? null : { name: 'fp32', accuracy: fp32 },
    ptq == null ? null : { name: `${spec} PTQ`, accuracy: ptq },
  ].filter(Boolean);
  const all = [...checkpoints.map((c) => c.accuracy), ...refs.map((r) => r.accuracy)];
  const lo = all.length ? Math.min(...all) : 0;
  const hi = all.length ? Math.max(...all) : 1;
  // Differences of a point must stay visible: the axis spans the data, not 0..100%.
  const pad = Math.max(0.01, (hi - lo) * 0.15);
  return Plot.plot({
    width,
    height: 240,
    marginRight: Math.min(110, width / 4),
    style: { fontSize: '12px' },
    x: { label: 'step →', domain: [0, Math.max(1, steps)], grid: true },
    y: { label: '↑ test accuracy', domain: [Math.max(0, lo - pad), Math.min(1, hi + pad)], tickFormat: '.0%', grid: true },
    marks: [
      Plot.ruleY(refs, { y: 'accuracy', stroke: (d) => (d.name === 'fp32' ? 'var(--qsp-bar-strong)' : '#c2410c'), strokeDasharray: '5,4', className: 'qat-ref' }),
      // The higher reference's label above its line, the lower one's below: close lines stay legible.
      ...refs.map((r) => Plot.text([r], {
        x: Math.max(1, steps), y: 'accuracy', text: (d) => `${d.name} ${pct(d.accuracy)}`, textAnchor: 'start', dx: 6,
        dy: refs.every((o) => o.accuracy <= r.accuracy) ? -7 : 7, fill: 'currentColor',
      })),
      Plot.line(checkpoints, { x: 'step', y: 'accuracy', stroke: 'currentColor', strokeWidth: 2 }),
      Plot.dot(checkpoints, { x: 'step', y: 'accuracy', fill: 'currentColor', r: 3.5, className: 'qat-checkpoint', title: (d) => `step ${d.step}: ${pct(d.accuracy)}` }),
    ],
  });
}

/** The training loss of every step (`losses: [{ step, loss }]`) over `steps`. */
export function lossCurve({ losses, steps }, width) {
  return Plot.plot({
    width,
    height: 150,
    marginRight: Math.min(110, width / 4),
    style: { fontSize: '12px' },
    x: { label: 'step →', domain: [0, Math.max(1, steps)], grid: true },
    y: { label: '↑ training loss', zero: true, grid: true },
    marks: [Plot.line(losses, { x: 'step', y: 'loss', stroke: 'var(--qsp-bar-strong)', className: 'qat-loss' })],
  });
}

/**
 * Per width (`rows: [{ variant, float, ptq, qat }]`, accuracies 0..1, in display order): an
 * arrow from PTQ's test accuracy (orange) to QAT's (green), labelled with the points won back, against the float
 * model's accuracy (dashed).
 */
export function recoveryChart(rows, width) {
  const pts = (x) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)} pts`;
  const all = rows.flatMap((r) => [r.float, r.ptq, r.qat]);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const pad = Math.max(0.01, (hi - lo) * 0.05);
  const float = rows[0]?.float;
  return Plot.plot({
    width,
    height: 56 + 34 * rows.length,
    marginLeft: 52,
    marginRight: Math.min(90, width / 5),
    marginTop: 26,
    style: { fontSize: '12px' },
    x: { label: 'test accuracy →', domain: [Math.max(0, lo - pad), Math.min(1, hi + pad)], tickFormat: '.0%', grid: true },
    y: { label: null, domain: rows.map((r) => r.variant) },
    marks: [
      float == null ? null : Plot.ruleX([float], { stroke: 'var(--qsp-bar-strong)', strokeDasharray: '5,4', className: 'qat-table-float' }),
      float == null ? null : Plot.text([float], { x: (d) => d, frameAnchor: 'top', dy: -16, text: (d) => `fp32 ${pct(d)}`, fill: 'currentColor' }),
      Plot.arrow(rows.filter((r) => Math.abs(r.qat - r.ptq) >= 0.002), {
        y: 'variant', x1: 'ptq', x2: 'qat', stroke: 'currentColor', strokeWidth: 1.5, headLength: 7, inset: 4,
      }),
      Plot.dot(rows, { y: 'variant', x: 'ptq', fill: 'var(--qsp-clip)', r: 4.5, className: 'qat-table-ptq', title: (r) => `${r.variant} PTQ: ${pct(r.ptq)}` }),
      Plot.dot(rows, { y: 'variant', x: 'qat', fill: 'var(--qsp-zero)', r: 4.5, className: 'qat-table-qat', title: (r) => `${r.variant} QAT: ${pct(r.qat)}` }),
      Plot.text(rows, { y: 'variant', x: (r) => Math.max(r.float, r.ptq, r.qat), text: (r) => pts(r.qat - r.ptq), textAnchor: 'start', dx: 10, fill: 'currentColor' }),
    ],
  });
}
