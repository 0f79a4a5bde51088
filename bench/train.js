// Training benchmark page: one engine per page load, in a dedicated Worker, trains the small
// Fashion-MNIST CNN (ARCH) with Adam on real training images and measures its steady-state
// throughput:
//   engine=tfjs        TensorFlow.js (train-tfjs-worker.js), backend=cpu | webgl | webgpu | wasm;
//   engine=quantscope  quantscope's wasm Trainer (train-qs-worker.js), pkg/st at 1 thread,
//                      pkg/mt with `threads` pool threads otherwise;
//   engine=qat         quantization-aware training of the trained `model` (default
//                      ../models/fmnist-cnn.onnx) to `variant` (w4a4) as the page's QAT panel runs
//                      it: the npm package (../pkg/index.js, createQuantscope({ threads })) and its
//                      worker, QsModel.qat() on the whole training set, steps in ~50 ms slices with a
//                      progress report after each.
// The page decodes the first `images` training images and their labels (IDX, gzip, through
// DecompressionStream) and hands them to the worker (qat: the package's worker decodes the whole
// set itself); data loading is not timed. Each step takes the next `batch` images in order
// (wrapping around; qat: shuffled). Protocol: one first step, `warmup` more, then `windows` timed
// windows of at least `window_ms` each (whole steps; qat: whole slices, timed at their progress
// reports); images/s of a window = steps x batch / its wall time; the result is the median over
// the windows.
// The result is in window.__quantscopeTrainBench = { rows, skipped } and #out;
// body[data-state] is 'done' or 'error'.

import { median } from './stats.js';

const params = new URLSearchParams(location.search);
const engine = params.get('engine') ?? 'tfjs';
const backend = params.get('backend') ?? 'cpu';
const threads = Number(params.get('threads') ?? 1);
const count = Number(params.get('images') ?? 6400);
const batch = Number(params.get('batch') ?? 64);
const warmup = Number(params.get('warmup') ?? 3);
const windows = Number(params.get('windows') ?? 5);
const windowMs = Number(params.get('window_ms') ?? 2000);
const seed = Number(params.get('seed') ?? 1);
const data = params.get('data') ?? '../.cache/fashion-mnist';
const model = params.get('model') ?? '../models/fmnist-cnn.onnx';
const variant = params.get('variant') ?? 'w4a4';
/** QAT's learning rate (`make accuracy`'s); throughput does not depend on it. */
const qatLr = Number(params.get('lr') ?? 3e-5);
/** Training images of an epoch, and of the page's training subset (www/public/data/train10k). */
const EPOCH_IMAGES = 60000;
const PAGE_SUBSET_IMAGES = 10000;
const out = document.getElementById('out');

/**
 * The network both engines train: src/train's `Sequential::fashion_mnist_cnn(CnnWidths::DEFAULT)`
 * (convolutions with biases, He normal weights; batch norm eps 1e-5; Adam 0.9/0.999, constant
 * learning rate; pixels as `(p - mean) / std`, src/train's FASHION_MNIST_MEAN/STD).
 */
export const ARCH = {
  side: 28, conv1: 32, conv2: 64, hidden: 128, classes: 10, convBias: true, lr: 1e-3,
  mean: 72.94, std: 90.02,
};

async function gunzip(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const stream = res.body.pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** IDX: magic 0x0000 08 NDIM, NDIM big-endian u32 sizes, then u8 data. */
function idx(bytes, url, ndim) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * ndim || view.getUint32(0) !== (0x0800 | ndim)) {
    throw new Error(`${url}: not an IDX u8 file with ${ndim} dimensions`);
  }
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i));
  const body = bytes.subarray(4 + 4 * ndim);
  if (body.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`${url}: truncated (${dims.join('x')})`);
  return { dims, body };
}

async function loadTraining() {
  const [iu, lu] = [`${data}/train-images-idx3-ubyte.gz`, `${data}/train-labels-idx1-ubyte.gz`];
  const [ib, lb] = await Promise.all([gunzip(iu), gunzip(lu)]);
  const im = idx(ib, iu, 3);
  const lab = idx(lb, lu, 1);
  if (im.dims[1] !== ARCH.side || im.dims[2] !== ARCH.side) throw new Error(`${iu}: ${im.dims.join('x')} images`);
  if (im.dims[0] < count || lab.dims[0] < count) throw new Error(`only ${im.dims[0]} images, asked for ${count}`);
  const px = ARCH.side * ARCH.side;
  return { images: im.body.slice(0, count * px), labels: lab.body.slice(0, count) };
}

function worker(url, type) {
  const w = new Worker(new URL(url, import.meta.url), { type, name: url });
  const pending = new Map();
  let next = 1;
  w.onmessage = ({ data: d }) => {
    const p = pending.get(d.id);
    pending.delete(d.id);
    if (d.ok) p.resolve(d.result);
    else p.reject(new Error(d.error));
  };
  w.onerror = (e) => {
    e.preventDefault?.();
    for (const p of pending.values()) p.reject(new Error(`${url} failed: ${e.message}`));
    pending.clear();
  };
  return {
    request(kind, payload = {}, transfer = []) {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        w.postMessage({ id, type: kind, ...payload }, transfer);
      });
    },
    terminate: () => w.terminate(),
  };
}

/**
 * QAT in the page's worker: the run reports after each slice of steps; the protocol's windows
 * are whole slices (a window closes at the first report >= windowMs after it opened), and the
 * run is cancelled once the last one closes.
 */
async function qatBench() {
  const { createQuantscope } = await import('../pkg/index.js');
  const qs = await createQuantscope({ threads });
  try {
    const bytes = async (url) => {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    };
    const meta = model.replace(/\.onnx$/, '.json');
    const [onnx, metadata] = await Promise.all([bytes(model), bytes(meta).then((b) => new TextDecoder().decode(b))]);
    const fp32 = await qs.loadModel(onnx, metadata);
    const train = await qs.loadDataset({ images: `${data}/train-images-idx3-ubyte.gz`, labels: `${data}/train-labels-idx1-ubyte.gz` });
    const stop = new AbortController();
    const windowIps = [];
    const stepMs = [];
    const losses = [];
    let first = null; // { ms, step } of the first report
    let timedFrom = null; // the step where the first window opened
    let open = null; // { t, step } where the current window began
    let last = null; // { t, step } of the last report
    const t0 = performance.now();
    const onProgress = (step, total, detail) => {
      const now = performance.now();
      for (const l of detail?.losses ?? []) losses.push(l.loss);
      if (open && step > last.step) stepMs.push((now - last.t) / (step - last.step));
      last = { t: now, step };
      first ??= { ms: now - t0, step };
      if (windowIps.length === windows) return; // the cancel is on its way
      if (!open) {
        if (step >= 1 + warmup) open = { t: now, step };
        timedFrom ??= open?.step ?? null;
      } else if (now - open.t >= windowMs) {
        windowIps.push(((step - open.step) * batch * 1000) / (now - open.t));
        open = windowIps.length < windows ? { t: now, step } : null;
        if (!open) stop.abort();
      }
    };
    // More steps than the windows need (the run is cancelled after them): the ranges never
    // freeze during the measurement, as in the first three quarters of a real run.
    const steps = 100000;
    try {
      const tuned = await fp32.qat(train, { variant, steps, batch, lr: qatLr, test: null, signal: stop.signal, onProgress });
      await tuned.dispose();
    } catch (e) {
      if (e?.name !== 'AbortError') throw e;
    }
    if (!windowIps.length) throw new Error(`QAT reported no whole window (${last?.step ?? 0} steps)`);
    const ips = median(windowIps);
    return {
      engine: 'quantscope', kind: 'qat', backend: qs.build.endsWith('-threads') ? 'mt' : 'st', threads: qs.threads,
      fallback: qs.fallbackReason ?? null, version: qs.version, variant, lr: qatLr, model,
      images_per_s: ips, window_images_per_s: windowIps, median_step_ms: median(stepMs), timed_steps: last.step - timedFrom,
      first_report_ms: first.ms, first_report_step: first.step,
      epoch_images: EPOCH_IMAGES, epoch_s: EPOCH_IMAGES / ips, page_subset_images: PAGE_SUBSET_IMAGES, page_subset_epoch_s: PAGE_SUBSET_IMAGES / ips,
      first_loss: losses[0] ?? null, last_loss: losses.at(-1) ?? null, loss_kind: 'epoch mean',
    };
  } finally {
    qs.terminate();
  }
}

async function main() {
  const common = {
    date: new Date().toISOString(),
    batch,
    images: count,
    warmup,
    windows,
    window_ms: windowMs,
    requested_threads: threads,
    cross_origin_isolated: globalThis.crossOriginIsolated === true,
    user_agent: navigator.userAgent,
  };
  if (engine === 'qat') return { rows: [{ ...(await qatBench()), ...common, images: null }], skipped: [] };
  const set = await loadTraining();
  const w = engine === 'tfjs'
    ? worker('./train-tfjs-worker.js', 'classic')
    : worker('./train-qs-worker.js', 'module');
  try {
    const info = await w.request('init', { backend, threads, arch: ARCH, seed });
    const r = await w.request('train', {
      images: set.images, labels: set.labels, count, arch: ARCH, batch, warmup, windows, windowMs, seed,
    }, [set.images.buffer, set.labels.buffer]);
    const row = engine === 'tfjs'
      ? { engine: 'tfjs', backend: info.backend, threads, tfjs_version: info.version, ...info }
      : { engine: 'quantscope', backend: info.build, threads: info.threads, ...info };
    return { rows: [{ ...row, arch: ARCH, ...common, ...r }], skipped: [] };
  } finally {
    w.terminate();
  }
}

main().then(
  (result) => {
    window.__quantscopeTrainBench = result;
    out.textContent = JSON.stringify(result, null, 2);
    document.body.dataset.state = 'done';
  },
  (e) => {
    window.__quantscopeTrainBench = { error: String(e?.stack ?? e) };
    out.textContent = `error: ${e?.stack ?? e}`;
    document.body.dataset.state = 'error';
  },
);
