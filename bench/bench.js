// quantscope browser benchmark: loads the npm package straight from ../pkg/index.js (no bundler),
// classifies one image `warmup` times, then `runs` times, and reports the median model time.
// The result is in window.__quantscopeBench and #out; body[data-state] is 'done' or 'error'.
import { createQuantscope } from '../pkg/index.js';

const params = new URLSearchParams(location.search);
const threads = Number(params.get('threads') ?? 1);
const runs = Number(params.get('runs') ?? 20);
const warmup = Number(params.get('warmup') ?? 3);
const modelBase = params.get('model') ?? '../models/efficientnet-lite0';
const imageUrl = params.get('image') ?? '../samples/coffee.png';
const out = document.getElementById('out');

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function fetchOk(url, kind) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return kind === 'json' ? res.text() : new Uint8Array(await res.arrayBuffer());
}

async function main() {
  const [qs, onnx, meta, image] = await Promise.all([
    createQuantscope({ threads }),
    fetchOk(`${modelBase}.onnx`),
    fetchOk(`${modelBase}.json`, 'json'),
    fetchOk(imageUrl),
  ]);
  const model = await qs.loadModel(onnx, meta);
  // Classify a copy each time: the package may transfer the buffer it is given.
  const first = await model.classify(image.slice());
  const firstPredictionMs = performance.now(); // since navigation start
  for (let i = 0; i < warmup; i++) await model.classify(image.slice());
  const modelMs = [];
  const wallMs = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await model.classify(image.slice());
    wallMs.push(performance.now() - t0);
    modelMs.push(r.ms);
  }
  return {
    engine: 'quantscope',
    variant: 'fp32',
    threads: qs.threads,
    requested_threads: threads,
    build: qs.build,
    fallback_reason: qs.fallbackReason ?? null,
    cross_origin_isolated: globalThis.crossOriginIsolated === true,
    median_ms: median(modelMs),
    median_wall_ms: median(wallMs),
    min_ms: Math.min(...modelMs),
    runs,
    warmup,
    time_to_first_prediction_ms: firstPredictionMs,
    top1: first.top5[0],
    user_agent: navigator.userAgent,
  };
}

main().then(
  (result) => {
    window.__quantscopeBench = result;
    out.textContent = JSON.stringify(result, null, 2);
    document.body.dataset.state = 'done';
  },
  (e) => {
    window.__quantscopeBench = { error: String(e?.stack ?? e) };
    out.textContent = `error: ${e?.stack ?? e}`;
    document.body.dataset.state = 'error';
  },
);
