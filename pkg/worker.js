// quantscope engine worker: owns the wasm module and the loaded models. Spawned by index.js as
// a module Worker. The requests and replies are declared in protocol.js: every request
// `{ id, type, ... }` gets exactly one reply, okReply() or errorReply(); a fatal error (a trap)
// means the wasm instance can no longer be trusted: the wrapper replaces this worker and reloads
// the models.

import { Build, ImageKind, Req, errorReply, okReply, progressReport } from './protocol.js';

/** @type {any} the wasm-bindgen module (st or mt) */
let engine = null;
/** @type {Map<number, any>} model id -> wasm Model */
const models = new Map();

// One static import expression per build so that bundlers (Vite, webpack, Rollup) see and
// split both; a missing build (no mt/ directory) only fails when it is asked for.
async function importBuild(build) {
  if (build === Build.MT) return import('./mt/quantscope.js');
  return import('./st/quantscope.js');
}

async function init({ build, threads }) {
  const mod = await importBuild(build);
  await mod.default();
  let used = 1;
  if (build === Build.MT) {
    if (typeof mod.initThreadPool !== 'function') {
      throw new Error('the threaded build does not export initThreadPool');
    }
    await mod.initThreadPool(threads);
    used = typeof mod.threadCount === 'function' ? mod.threadCount() : threads;
  }
  engine = mod;
  const info = mod.buildInfo();
  return { build, threads: used, simd: info.simd, threaded: info.threads, version: info.version };
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
 * Hands an image message to the engine's twin entry points: `encoded(bytes)` for encoded
 * files, `rgba(width, height, pixels)` for pixels (a bitmap is rasterised first).
 */
function withImage(image, encoded, rgba) {
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

/** Keeps model `m` under `id`, freeing the one that was there; returns `m`. */
function store(id, m) {
  models.get(id)?.free();
  models.set(id, m);
  return m;
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
        msg.calibration.forEach((image, i) => {
          try {
            addCalibrationImage(set, parent, image);
          } catch (e) {
            throw new Error(`calibration image ${i + 1}: ${e?.message ?? e}`);
          }
        });
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
      return { result: classify(model(msg.model), msg.image) };
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
      const result = bitDepth(model(msg.model), msg.image, msg.maxSide);
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
      return { result: null };
    }
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
