// quantscope engine worker: owns the wasm module and the loaded models. Spawned by index.js as
// a module Worker. The requests and replies are declared in protocol.js: every request
// `{ id, type, ... }` gets exactly one reply, okReply() or errorReply(); a fatal error (a trap)
// means the wasm instance can no longer be trusted: the wrapper replaces this worker and reloads
// the models.

import { Build, ImageKind, Req, errorReply, okReply, progressReport } from './protocol.js';

/** @type {any} the wasm-bindgen module (st or mt) */
let engine = null;
/** Its buildInfo(): `{ simd, threads, relaxed, decoders, max_pixels, version }`. */
let engineInfo = null;
/** @type {Map<number, any>} model id -> wasm Model */
const models = new Map();
/** @type {Map<number, any>} dataset id -> wasm LabelledSet */
const datasets = new Map();
/**
 * Answers already computed: `${model}/${dataset}` -> Int32Array over the whole set, -1 where
 * not yet known. fp32's answers serve every variant's run as the reference.
 */
const answers = new Map();
/** Ids of the ACCURACY and QAT requests running, and of those asked to stop. */
const running = new Set();
const cancelled = new Set();
/** At most this many pictures per DATASET_IMAGES request. */
const MAX_IMAGES = 1000;

// One static import expression per build so that bundlers (Vite, webpack, Rollup) see and
// split both; a missing build (no mt/ directory) only fails when it is asked for.
async function importBuild(build) {
  if (build === Build.MT) return import('./mt/quantscope.js');
  if (build === Build.MT_RELAXED) return import('./mt-relaxed/quantscope.js');
  if (build === Build.ST_RELAXED) return import('./st-relaxed/quantscope.js');
  return import('./st/quantscope.js');
}

async function init({ build, threads }) {
  const mod = await importBuild(build);
  await mod.default();
  let used = 1;
  if (build === Build.MT || build === Build.MT_RELAXED) {
    if (typeof mod.initThreadPool !== 'function') {
      throw new Error('the threaded build does not export initThreadPool');
    }
    await mod.initThreadPool(threads);
    used = typeof mod.threadCount === 'function' ? mod.threadCount() : threads;
  }
  engine = mod;
  const info = mod.buildInfo();
  engineInfo = info;
  return { build, threads: used, simd: info.simd, threaded: info.threads, relaxed: info.relaxed, version: info.version };
}

function model(id) {
  const m = models.get(id);
  if (!m) throw new Error(`model ${id} is not loaded (disposed?)`);
  return m;
}

function rgbaOf(image) {
  if (image.kind === ImageKind.BITMAP) {
    const bitmap = image.bitmap;
    const { width, height } = bitmap;
    if (!width || !height) throw new Error('the image is empty (0 pixels)');
    // The engine's limit, checked before the pixels are copied out (the same words as its own).
    const max = engineInfo?.max_pixels ?? Infinity;
    if (width * height > max) {
      bitmap.close();
      throw new Error(`the image is ${width}x${height} = ${(width * height / 1e6).toFixed(1)} MP, above the ${max / 1e6} MP limit`);
    }
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2D context for OffscreenCanvas in this browser');
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    const data = ctx.getImageData(0, 0, width, height).data;
    return { width, height, data };
  }
  return image;
}

/**
 * `image` as the engine takes it. The wasm builds carry no image file decoders (buildInfo()
 * `decoders`: false, 200 KB less to download): an encoded file is decoded here by the
 * browser's own decoders (every format it reads), then handed over as pixels.
 */
async function decodable(image) {
  if (image.kind !== ImageKind.ENCODED || engineInfo?.decoders) return image;
  if (!image.bytes?.byteLength) throw new Error('the file is empty');
  let bitmap;
  try {
    bitmap = await createImageBitmap(new Blob([image.bytes]));
  } catch (e) {
    throw new Error(`not a recognised image: the browser cannot decode it (${e?.message ?? e})`);
  }
  return { kind: ImageKind.BITMAP, bitmap };
}

/**
 * Hands an image message to the engine's twin entry points: `encoded(bytes)` for encoded
 * files the engine decodes itself, `rgba(width, height, pixels)` for pixels (a bitmap is
 * rasterised first, a file the engine cannot decode is decoded by the browser first).
 */
async function withImage(message, encoded, rgba) {
  const image = await decodable(message);
  if (image.kind === ImageKind.ENCODED) return encoded(new Uint8Array(image.bytes));
  const { width, height, data } = rgbaOf(image);
  return rgba(width, height, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

const addCalibrationImage = (set, m, image) =>
  withImage(image, (b) => set.addEncoded(m, b), (w, h, px) => set.addRgba(m, w, h, px));

const bitDepth = (m, image, maxSide) =>
  withImage(image, (b) => m.bitDepthEncoded(b, maxSide), (w, h, px) => m.bitDepthRgba(w, h, px, maxSide));

const classify = (m, image) =>
  withImage(image, (b) => m.classifyEncoded(b), (w, h, px) => m.classifyRgba(w, h, px));

const profile = (m, image) =>
  withImage(image, (b) => m.profileEncoded(b), (w, h, px) => m.profileRgba(w, h, px));

/** Keeps model `m` under `id`, freeing the one that was there; returns `m`. */
function store(id, m) {
  models.get(id)?.free();
  models.set(id, m);
  forgetAnswers((key) => key.startsWith(`${id}/`));
  return m;
}

function forgetAnswers(matches) {
  for (const key of [...answers.keys()]) if (matches(key)) answers.delete(key);
}

function dataset(id) {
  const d = datasets.get(id);
  if (!d) throw new Error(`dataset ${id} is not loaded (disposed?)`);
  return d;
}

/** Bytes given, or fetched from a URL of this worker's own origin (nothing leaves the page). */
async function bytesOf(source, what) {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (typeof source !== 'string') throw new Error(`the ${what} file: give its bytes or its URL`);
  const url = new URL(source, self.location.href);
  if (url.origin !== self.location.origin) {
    throw new Error(`the ${what} file ${url.href} is not on this page's origin (${self.location.origin}): refused`);
  }
  let res;
  try {
    res = await fetch(url, { credentials: 'same-origin' });
  } catch (e) {
    throw new Error(`cannot fetch the ${what} file ${url.pathname}: ${e?.message ?? e}`);
  }
  if (!res.ok) throw new Error(`cannot fetch the ${what} file ${url.pathname}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function loadDataset({ dataset: id, images, labels, classNames }) {
  if (!engine) throw new Error('the engine is not initialised');
  const [img, lab] = await Promise.all([bytesOf(images, 'image'), bytesOf(labels, 'label')]);
  const set = new engine.LabelledSet(img, lab, classNames ?? undefined);
  datasets.get(id)?.free();
  datasets.set(id, set);
  forgetAnswers((key) => key.endsWith(`/${id}`));
  return set.info();
}

function datasetImages(set, indices) {
  if (!Array.isArray(indices) || indices.length > MAX_IMAGES) {
    throw new Error(`indices: an array of at most ${MAX_IMAGES} image numbers`);
  }
  const { rows, cols } = set.info();
  const labels = (i) => set.labels(i, i + 1)[0];
  const images = indices.map((index) => ({
    index,
    label: labels(index),
    pixels: new Uint8ClampedArray(set.imageRgba(index).buffer),
  }));
  return { width: cols, height: rows, images };
}

/** Answers of model `id` on `set` (cached); images `start..end` filled in if missing. */
function answersOf(id, datasetId, set, start, end) {
  const key = `${id}/${datasetId}`;
  let all = answers.get(key);
  if (!all) {
    all = new Int32Array(set.length).fill(-1);
    answers.set(key, all);
  }
  if (all.subarray(start, end).some((a) => a < 0)) all.set(model(id).predict(set, start, end), start);
  return all;
}

const abortError = (message = 'the accuracy run was cancelled') => Object.assign(new Error(message), { name: 'AbortError' });
/** Lets queued messages (a CANCEL, other panels' requests) run between two chunks. */
const breathe = () => new Promise((resolve) => setTimeout(resolve, 0));

async function accuracy(msg) {
  const set = dataset(msg.dataset);
  const m = model(msg.model);
  m.checkDataset(set);
  const ref = msg.reference != null && msg.reference !== msg.model ? msg.reference : null;
  if (ref != null) model(ref).checkDataset(set);
  const total = Math.min(set.length, msg.limit == null ? Infinity : Math.max(0, Math.floor(msg.limit)));
  const chunk = Math.max(1, Math.floor(msg.chunk) || 250);
  const tally = new engine.AccuracyTally(set);
  running.add(msg.id);
  try {
    let mine = null;
    let theirs = null;
    for (let start = 0; start < total; start += chunk) {
      if (cancelled.has(msg.id)) throw abortError();
      const end = Math.min(total, start + chunk);
      // Looked up per chunk: a model disposed meanwhile ends the run with a clear error.
      mine = answersOf(msg.model, msg.dataset, set, start, end);
      theirs = ref != null ? answersOf(ref, msg.dataset, set, start, end) : null;
      tally.add(set, start, new Uint32Array(mine.subarray(start, end)), theirs && new Uint32Array(theirs.subarray(start, end)));
      self.postMessage(progressReport(msg.id, end, total));
      await breathe();
    }
    if (cancelled.has(msg.id)) throw abortError();
    const changed = [];
    if (theirs) {
      const labels = set.labels(0, total);
      for (let i = 0; i < total; i++) {
        if (mine[i] !== theirs[i]) changed.push({ index: i, label: labels[i], reference: theirs[i], predicted: mine[i] });
      }
    }
    return { ...tally.report(msg.variant ?? m.variant()), changed };
  } finally {
    tally.free();
    running.delete(msg.id);
    cancelled.delete(msg.id);
  }
}

/** A QAT run yields to the message loop after at most this many milliseconds of steps. */
const QAT_SLICE_MS = 50;

/**
 * QAT: steps in slices of ~QAT_SLICE_MS (progress, checkpoints and cancel between slices),
 * then the integer variant of the fine-tuned weights under `target`.
 */
async function qat(msg) {
  const parent = model(msg.model);
  const train = dataset(msg.dataset);
  const test = msg.test ? { set: dataset(msg.test.dataset), limit: Math.max(1, Math.floor(msg.test.limit) || 1000) } : null;
  const session = new engine.QatSession(parent, train, msg.options);
  const evalEvery = Math.max(1, Math.floor(msg.evalEvery) || 10);
  running.add(msg.id);
  try {
    let done = false;
    let step = 0;
    let nextEval = evalEvery;
    while (!done) {
      if (cancelled.has(msg.id)) throw abortError('the QAT run was cancelled');
      const t0 = performance.now();
      const losses = [];
      let last = null;
      while (performance.now() - t0 < QAT_SLICE_MS) {
        last = session.step(1);
        for (const loss of last.losses) losses.push({ step: last.step, loss });
        step = last.step;
        done = last.done;
        if (done || step >= nextEval) break;
      }
      let checkpoint = null;
      if (test && (step >= nextEval || done)) {
        checkpoint = { step, accuracy: session.accuracy(test.set, test.limit) };
        while (nextEval <= step) nextEval += evalEvery;
      }
      const detail = { losses, accuracy: last?.accuracy ?? null, frozen: Boolean(last?.frozen), test: checkpoint };
      self.postMessage(progressReport(msg.id, step, last?.steps ?? step, detail));
      await breathe();
    }
    if (cancelled.has(msg.id)) throw abortError('the QAT run was cancelled');
    const { onnx, ranges, variant } = session.finish();
    const result = install(msg.target, parent.withTunedWeights(onnx, ranges, variant));
    return { ...result, onnx, ranges };
  } finally {
    session.free();
    running.delete(msg.id);
    cancelled.delete(msg.id);
  }
}

/** Calibration images: pictures sent along, or a range of a loaded dataset. */
async function addCalibration(set, parent, calibration) {
  if (Array.isArray(calibration)) {
    for (const [i, image] of calibration.entries()) {
      try {
        await addCalibrationImage(set, parent, image);
      } catch (e) {
        throw new Error(`calibration image ${i + 1}: ${e?.message ?? e}`);
      }
    }
    return;
  }
  const { dataset: id, start = 0, count } = calibration ?? {};
  const data = dataset(id);
  const end = Math.min(data.length, start + Math.max(1, Math.floor(count ?? data.length)));
  set.addDataset(parent, data, start, end);
}

/** Keeps a quantized twin under `target`: `{ variant, weightBytes }` for the wrapper. */
function install(target, q) {
  store(target, q);
  return { variant: q.variant(), weightBytes: q.weightBytes() };
}

async function handle(msg) {
  switch (msg.type) {
    case Req.INIT:
      return { result: await init(msg) };
    case Req.LOAD: {
      if (!engine) throw new Error('the engine is not initialised');
      return { result: store(msg.model, new engine.Model(new Uint8Array(msg.onnx), msg.metadata)).info() };
    }
    case Req.QUANTIZE: {
      const parent = model(msg.model);
      const set = new engine.CalibrationSet();
      try {
        await addCalibration(set, parent, msg.calibration);
        const progress = (done, total) => self.postMessage(progressReport(msg.id, done, total));
        return { result: install(msg.target, parent.quantize(msg.options, set, progress)) };
      } finally {
        set.free();
      }
    }
    case Req.WITH_RANGES:
      return { result: install(msg.target, model(msg.model).withRanges(msg.ranges, msg.variant)) };
    case Req.EXPORT_ONNX: {
      const m = model(msg.model);
      if (typeof m.exportOnnx !== 'function') {
        throw new Error('this build of the engine has no ONNX export (exportOnnx): rebuild the package');
      }
      const bytes = m.exportOnnx();
      return { result: bytes, transfer: [bytes.buffer] };
    }
    case Req.PARSE_VARIANT:
      if (!engine) throw new Error('the engine is not initialised');
      return { result: engine.parseVariant(String(msg.spec)) };
    case Req.SPEC_GRAMMAR:
      if (!engine) throw new Error('the engine is not initialised');
      return { result: engine.specGrammar() };
    case Req.RANGES:
      return { result: model(msg.model).ranges() ?? null };
    case Req.KERNEL_BENCH:
      if (!engine) throw new Error('the engine is not initialised');
      return { result: engine.kernelBench() };
    case Req.INFO:
      return { result: model(msg.model).info() };
    case Req.CLASSIFY:
      return { result: await classify(model(msg.model), msg.image) };
    case Req.PROFILE:
      return { result: await profile(model(msg.model), msg.image) };
    case Req.LAYERS:
      return { result: model(msg.model).layers() };
    case Req.LAYER_VIEW: {
      const { layer, spec, bins } = msg;
      return { result: model(msg.model).layerView(layer, spec, bins) };
    }
    case Req.STAIRCASE: {
      const { layer, spec, points, value } = msg;
      return { result: model(msg.model).staircase(layer, spec, points, value) };
    }
    case Req.SIZES:
      return { result: model(msg.model).sizes(msg.specs ?? undefined) };
    case Req.BIT_DEPTH: {
      const result = await bitDepth(model(msg.model), msg.image, msg.maxSide);
      return { result, transfer: result.entries.map((e) => e.pixels.buffer) };
    }
    case Req.LOGITS: {
      const out = model(msg.model).logits(msg.input);
      return { result: out, transfer: [out.buffer] };
    }
    case Req.DISPOSE: {
      const m = models.get(msg.model);
      if (m) {
        models.delete(msg.model);
        m.free();
      }
      forgetAnswers((key) => key.startsWith(`${msg.model}/`));
      return { result: null };
    }
    case Req.LOAD_DATASET:
      return { result: await loadDataset(msg) };
    case Req.DATASET_IMAGES: {
      const result = datasetImages(dataset(msg.dataset), msg.indices);
      return { result, transfer: result.images.map((i) => i.pixels.buffer) };
    }
    case Req.DISPOSE_DATASET: {
      const d = datasets.get(msg.dataset);
      if (d) {
        datasets.delete(msg.dataset);
        d.free();
      }
      forgetAnswers((key) => key.endsWith(`/${msg.dataset}`));
      return { result: null };
    }
    case Req.PREDICT: {
      const out = model(msg.model).predict(dataset(msg.dataset), msg.start, msg.end);
      return { result: out, transfer: [out.buffer] };
    }
    case Req.ACCURACY:
      return { result: await accuracy(msg) };
    case Req.QAT:
      return { result: await qat(msg) };
    case Req.TUNED_VARIANT: {
      const { onnx, ranges, variant } = msg;
      return { result: install(msg.target, model(msg.model).withTunedWeights(new Uint8Array(onnx), ranges, variant)) };
    }
    case Req.CANCEL:
      // The cancelled request answers (with an AbortError) at its next chunk.
      if (running.has(msg.request)) cancelled.add(msg.request);
      return { result: null };
    case Req.CRASH_FOR_TESTING:
      // Simulates the failures the wrapper must survive: a wasm trap or a dead worker.
      if (msg.how === 'error') {
        setTimeout(() => {
          throw new Error('simulated worker crash');
        });
        return new Promise(() => {});
      }
      throw new WebAssembly.RuntimeError('unreachable (simulated trap)');
    default:
      throw new Error(`unknown request type ${msg.type}`);
  }
}

self.onmessage = async (event) => {
  const msg = event.data;
  try {
    const { result, transfer = [] } = await handle(msg);
    self.postMessage(okReply(msg.id, result), transfer);
  } catch (err) {
    self.postMessage(errorReply(msg.id, err));
  }
};
