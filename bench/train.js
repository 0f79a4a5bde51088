// Training benchmark page: one engine per page load, in a dedicated Worker, trains the small
// Fashion-MNIST CNN (ARCH) with Adam on real training images and measures its steady-state
// throughput:
//   engine=tfjs        TensorFlow.js (train-tfjs-worker.js), backend=cpu | webgl | webgpu | wasm;
//   engine=quantscope  quantscope's wasm Trainer (train-qs-worker.js), pkg/st at 1 thread,
//                      pkg/mt with `threads` pool threads otherwise.
// The page decodes the first `images` training images and their labels (IDX, gzip, through
// DecompressionStream) and hands them to the worker; data loading is not timed. Each step takes
// the next `batch` images in order (wrapping around). Protocol: one first step, `warmup` more,
// then `windows` timed windows of at least `window_ms` each (whole steps); images/s of a window
// = steps x batch / its wall time; the result is the median over the windows.
// The result is in window.__quantscopeTrainBench = { rows, skipped } and #out;
// body[data-state] is 'done' or 'error'.

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

async function main() {
  const set = await loadTraining();
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
