// quantscope browser benchmark page. One engine per page load, all its variants in sequence:
//   engine=quantscope       loads the npm package straight from ../pkg/index.js (no bundler):
//                           variant fp32 (the float model), then int8 (model.quantize(), static
//                           MinMax per-channel, calibrated on the sample photos);
//   engine=onnxruntime-web  onnxruntime-web (wasm backend) in a module Worker (ort-worker.js):
//                           variant fp32 (the float ONNX), then int8 (the QDQ model of
//                           scripts/ort_quantize.py), fed the tensor scripts/preprocess_tensor.py
//                           made from the same image;
//   engine=litert.js        LiteRT.js (@litertjs/core, wasm/XNNPACK) in a classic Worker
//                           (litert-worker.js): fp32 and int8 .tflite of scripts/make_tflite.py,
//                           fed the same tensor transposed to NHWC. Its threaded build at threads > 1.
// Each variant: one first prediction, `warmup` more, then `runs` timed ones; medians of the
// engine-reported model time (`ms`) and of the wall time around each call (`wall_ms`).
// The result is in window.__quantscopeBench = { rows, skipped, kernel_bench } and #out;
// body[data-state] is 'done' or 'error'.
import { createQuantscope } from '../pkg/index.js';
import { median } from './stats.js';

const params = new URLSearchParams(location.search);
const engine = params.get('engine') ?? 'quantscope';
const threads = Number(params.get('threads') ?? 1);
const runs = Number(params.get('runs') ?? 20);
const warmup = Number(params.get('warmup') ?? 3);
// quantscope: fp32, int8 (= w8a8) and any static spec (w4a8, w4a8-kmeans, w2a8, ...);
// onnxruntime-web: fp32 and int8 only.
const variants = (params.get('variants') ?? 'fp32,int8,fp16,w4a8,w4a8-kmeans,w2a8').split(',').filter(Boolean);
const modelBase = params.get('model') ?? '../models/efficientnet-lite0';
const int8Model = params.get('int8model') ?? '../models/efficientnet-lite0-int8-qdq.onnx';
const tfliteBase = params.get('tflite') ?? '../models/efficientnet-lite0'; // .tflite, -int8.tflite
const imageUrl = params.get('image') ?? '../samples/coffee.png';
const inputUrl = params.get('input') ?? './.cache/coffee.nchw.f32';
const calibUrls = (params.get('calib') ?? '').split(',').filter(Boolean);
// kernels=0: no qs.kernelBench() (run.mjs reports the first round's).
const out = document.getElementById('out');
const INPUT_SHAPE = [1, 3, 224, 224];

async function fetchOk(url, kind) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  if (kind === 'text') return res.text();
  return new Uint8Array(await res.arrayBuffer());
}

/** The weights' bytes as stored and as the kernels hold them in wasm memory (from `info()`). */
async function weightBytes(model) {
  const info = await model.info();
  return { weight_bytes: info.weight_bytes, kernel_weight_bytes: info.kernel_weight_bytes };
}

/** Runs `once()` (-> { ms, top5 }) 1 + warmup + runs times; medians of the timed runs. */
async function measure(once) {
  const t0 = performance.now();
  const first = await once();
  const firstMs = performance.now() - t0;
  const firstAt = performance.now(); // since navigation start
  for (let i = 0; i < warmup; i++) await once();
  const modelMs = [];
  const wallMs = [];
  const extra = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = await once();
    wallMs.push(performance.now() - t);
    modelMs.push(r.ms);
    if (r.preprocess_ms != null) extra.push(r.preprocess_ms);
  }
  return {
    median_ms: median(modelMs),
    median_wall_ms: median(wallMs),
    min_ms: Math.min(...modelMs),
    median_preprocess_ms: extra.length ? median(extra) : null,
    // Every timed run, so that run.mjs can pool the rounds of one engine.
    samples_ms: modelMs,
    wall_samples_ms: wallMs,
    first_call_ms: firstMs,
    time_to_first_prediction_ms: firstAt,
    runs,
    warmup,
    top1: first.top5[0],
  };
}

function common() {
  return {
    date: new Date().toISOString(),
    requested_threads: threads,
    cross_origin_isolated: globalThis.crossOriginIsolated === true,
    user_agent: navigator.userAgent,
  };
}

/**
 * Where one classification of `model` spends its time: each node's median over `PROFILE_RUNS`
 * calls of model.profile() (`[{ name, op, ms }]`, execution order); null for packages without it.
 */
const PROFILE_RUNS = 5;
async function profileOf(model, image) {
  if (typeof model.profile !== 'function') return null;
  const runs = [];
  for (let i = 0; i < PROFILE_RUNS; i++) runs.push(await model.profile(image.slice()));
  return runs[0].map((node, i) => ({ ...node, ms: median(runs.map((r) => r[i].ms)) }));
}

async function benchQuantscope() {
  const rows = [];
  const skipped = [];
  const [qs, onnx, meta, image] = await Promise.all([
    createQuantscope({ threads }),
    fetchOk(`${modelBase}.onnx`),
    fetchOk(`${modelBase}.json`, 'text'),
    fetchOk(imageUrl),
  ]);
  const base = () => ({
    engine: 'quantscope',
    threads: qs.threads,
    build: qs.build,
    fallback_reason: qs.fallbackReason ?? null,
    ...common(),
  });
  const model = await qs.loadModel(onnx, meta);
  // Classify a copy each time: the package may transfer the buffer it is given.
  if (variants.includes('fp32')) {
    const m = await measure(() => model.classify(image.slice()));
    rows.push({ ...base(), variant: 'fp32', ...m, profile: await profileOf(model, image) });
  }
  if (variants.includes('int8')) {
    if (typeof model.quantize !== 'function') {
      skipped.push({ engine: 'quantscope', variant: 'int8', threads: qs.threads,
        reason: 'model.quantize is not a function (this build of pkg/ has no int8 API)' });
    } else {
      const calibration = await Promise.all(calibUrls.map((u) => fetchOk(u)));
      if (!calibration.length) throw new Error('no calibration images (?calib=url,url,...)');
      let progress = null;
      const t0 = performance.now();
      const q = await model.quantize({
        mode: 'static',
        observer: 'minmax',
        perChannel: true,
        calibration: calibration.map((b) => b.slice()),
        onProgress: (done, total) => { progress = { done, total }; },
      });
      const quantizeMs = performance.now() - t0;
      const m = await measure(() => q.classify(image.slice()));
      rows.push({ ...base(), variant: 'int8', ...m, ...(await weightBytes(q)), quantize_ms: quantizeMs,
        profile: await profileOf(q, image),
        calibration_images: calibration.length, last_progress: progress });
    }
  }
  // fp16 (weights rounded through binary16, computed in f32) and weights below 8 bits (the same
  // calibration photos), one variant each.
  for (const spec of variants.filter((v) => v === 'fp16' || /^w\d+a\d+/.test(v))) {
    const calibration = await Promise.all(calibUrls.map((u) => fetchOk(u)));
    const t0 = performance.now();
    // `mode` for packages that predate `variant` (both name the spec).
    const q = await model.quantize({ variant: spec, mode: spec, observer: 'minmax', calibration });
    const quantizeMs = performance.now() - t0;
    const m = await measure(() => q.classify(image.slice()));
    rows.push({ ...base(), variant: spec, ...m, ...(await weightBytes(q)), quantize_ms: quantizeMs });
    q.dispose?.();
  }
  let kernelBench = null;
  if (params.get('kernels') !== '0' && typeof qs.kernelBench === 'function') {
    kernelBench = { threads: qs.threads, ...(await qs.kernelBench()) };
  }
  qs.terminate();
  if (kernelBench) kernelBench.stage_ceiling = await stageCeiling(kernelBench);
  return { rows, skipped, kernel_bench: kernelBench };
}

/**
 * The output stage's ceiling for each GEMM shape of `kb` (a `qs.kernelBench()` result), as a
 * share of the peak: bench/ceiling's register-only loops of the kernel's dot instruction, alone
 * and with the output stage's arithmetic for the shape's k, each the best of at least 5 calls
 * and 20 ms (as kernelBench). `{ k: share }`, or null where the module does not run (no
 * relaxed SIMD) or the kernel is neither of its two.
 */
async function stageCeiling(kb) {
  const usdot = /relaxed_dot/.test(kb.peak_op ?? '') ? 1 : 0;
  if (!usdot && !/dot_i16x8/.test(kb.peak_op ?? '')) return null;
  let probe;
  try {
    probe = (await WebAssembly.instantiate(await fetchOk('./.cache/ceiling.wasm'), {})).instance.exports;
  } catch (e) {
    console.warn(`stage ceiling: ${e.message}`);
    return null;
  }
  const fused = /fused/.test(kb.output_stage ?? '') ? 1 : 0;
  const best = (f) => {
    const start = performance.now();
    let top = 0;
    for (let calls = 0; calls < 5 || (performance.now() - start < 20 && calls < 1000); calls++) {
      const t0 = performance.now();
      const macs = f();
      top = Math.max(top, macs / Math.max(performance.now() - t0, 1e-3));
    }
    return top;
  };
  const peak = best(() => probe.peak(1 << 18, usdot));
  return Object.fromEntries((kb.gemm ?? []).map((g) => {
    const c = best(() => probe.ceiling(1 << 18, g.k, usdot, fused));
    return [g.k, c > 0 ? c / peak : null];
  }));
}

/** A peer engine's worker (ort-worker.js, litert-worker.js): request(type, payload) -> result. */
function engineWorker(url, type, name) {
  const worker = new Worker(new URL(url, import.meta.url), { type, name });
  const pending = new Map();
  let next = 1;
  worker.onmessage = ({ data }) => {
    const p = pending.get(data.id);
    pending.delete(data.id);
    if (data.ok) p.resolve(data.result);
    else p.reject(new Error(data.error));
  };
  worker.onerror = (e) => {
    e.preventDefault?.();
    for (const p of pending.values()) p.reject(new Error(`${name} worker failed: ${e.message}`));
    pending.clear();
  };
  return {
    request(kind, payload = {}, transfer = []) {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, type: kind, ...payload }, transfer);
      });
    },
    terminate: () => worker.terminate(),
  };
}

function top5(logits, labels) {
  const idx = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]).slice(0, 5);
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  return idx.map((i) => ({ index: i, prob: Math.exp(logits[i] - max) / sum, label: labels[i] ?? String(i) }));
}

/** NCHW -> NHWC (batch 1), for the engines whose model takes channels last. */
function toNhwc(x, [, c, h, w]) {
  const y = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < h * w; i++) y[i * c + ch] = x[ch * h * w + i];
  }
  return y;
}

// The peers, each in its own worker fed the tensor scripts/preprocess_tensor.py made: the model
// file of each variant, and the row fields from the worker's `init` answer.
const PEERS = {
  'onnxruntime-web': {
    worker: ['./ort-worker.js', 'module'],
    models: { fp32: `${modelBase}.onnx`, int8: int8Model },
    missing: 'run scripts/ort_quantize.py quantize',
    fields: (info) => ({ ort_version: info.version, ort_num_threads: info.num_threads }),
  },
  'litert.js': {
    worker: ['./litert-worker.js', 'classic'],
    models: { fp32: `${tfliteBase}.tflite`, int8: `${tfliteBase}-int8.tflite` },
    missing: 'run scripts/make_tflite.py',
    fields: (info) => ({ litert_version: info.version, litert_build: info.build, litert_num_threads: info.num_threads }),
  },
};

async function benchPeer(name) {
  const peer = PEERS[name];
  const rows = [];
  const skipped = [];
  const [metaText, inputBytes] = await Promise.all([fetchOk(`${modelBase}.json`, 'text'), fetchOk(inputUrl)]);
  const labels = JSON.parse(metaText).labels ?? [];
  const nchw = new Float32Array(inputBytes.buffer, 0, inputBytes.byteLength / 4);
  if (nchw.length !== INPUT_SHAPE.reduce((a, b) => a * b)) {
    throw new Error(`${inputUrl}: ${nchw.length} floats, expected ${INPUT_SHAPE.join('x')}`);
  }
  const w = engineWorker(...peer.worker, name);
  try {
    const info = await w.request('init', { threads });
    for (const variant of variants.filter((v) => v in peer.models)) {
      let model;
      try {
        model = await fetchOk(peer.models[variant]);
      } catch (e) {
        skipped.push({ engine: name, variant, threads, reason: `${e.message} (${peer.missing})` });
        continue;
      }
      const loaded = await w.request('load', { model, threads }, [model.buffer]);
      // The model says its layout: NHWC (TFLite) gets the same pixels transposed, once.
      const nhwc = loaded.input_shape?.length === 4 && loaded.input_shape[3] === INPUT_SHAPE[1];
      const shape = nhwc ? [INPUT_SHAPE[0], INPUT_SHAPE[2], INPUT_SHAPE[3], INPUT_SHAPE[1]] : INPUT_SHAPE;
      const input = nhwc ? toNhwc(nchw, INPUT_SHAPE) : nchw;
      let first = true;
      const m = await measure(async () => {
        // A copy each call, like quantscope gets a copy of the image; the logits of the first call only.
        const r = await w.request('run', { input: input.slice(), shape, logits: first });
        first = false;
        return { ms: r.ms, top5: r.logits ? top5(r.logits, labels) : null };
      });
      rows.push({
        engine: name,
        variant,
        threads,
        ...peer.fields(info),
        worker_cross_origin_isolated: info.cross_origin_isolated,
        model: peer.models[variant],
        input_shape: shape,
        load_ms: loaded.load_ms,
        input: inputUrl,
        ...common(),
        ...m,
      });
      await w.request('release');
    }
  } finally {
    w.terminate();
  }
  return { rows, skipped, kernel_bench: null };
}

async function main() {
  if (engine === 'quantscope') return benchQuantscope();
  if (engine in PEERS) return benchPeer(engine);
  throw new Error(`unknown engine ${engine}`);
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
