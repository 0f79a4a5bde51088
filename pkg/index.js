// quantscope: image classification in the browser with any ONNX image classifier (e.g.
// EfficientNet-Lite0, MobileNet, ResNet). The Rust engine (WebAssembly, SIMD128, optionally
// threads) runs in a dedicated module Worker; this module is the small main-thread wrapper around
// it. The messages between the two are declared in protocol.js. Works from Vite/webpack and from
// a plain <script type="module"> (no bundler).

import { Build, ImageKind, Req } from './protocol.js';
import { DATASET_KEY, QsDataset, abortError, datasetArg, datasetCalibration, datasetSource } from './dataset.js';

export { QsDataset };

const KEEP_ALIVE = Symbol('quantscope.internal');
const MT_INIT_TIMEOUT_MS = 15000;

function hardwareThreads() {
  const n = globalThis.navigator?.hardwareConcurrency;
  return Number.isInteger(n) && n > 0 ? n : 1;
}

function toError(e) {
  if (e instanceof Error) return e;
  const err = new Error(e?.message ?? String(e));
  if (e?.name) err.name = e.name;
  return err;
}

function spawnWorker() {
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'quantscope' });
}

/**
 * One worker plus its request bookkeeping. Replaced as a whole when the worker dies.
 */
class Channel {
  constructor(onCrash) {
    this.pending = new Map();
    this.nextId = 1;
    this.dead = false;
    this.worker = spawnWorker();
    this.worker.onmessage = (event) => {
      // A WorkerMessage of protocol.js: OkReply, ErrorReply or ProgressReport.
      const { id, ok, result, error, fatal, progress } = event.data;
      const p = this.pending.get(id);
      if (!p) return;
      if (progress) {
        // A progress report of a running request (calibration); the reply comes later.
        try {
          p.onProgress?.(progress.done, progress.total, progress.detail);
        } catch {
          // The caller's callback must not break the channel.
        }
        return;
      }
      this.pending.delete(id);
      if (ok) p.resolve(result);
      else {
        const err = new Error(error?.message ?? 'unknown error in the quantscope worker');
        if (error?.name && error.name !== 'Error') err.name = error.name;
        p.reject(err);
        if (fatal) onCrash(this, err);
      }
    };
    this.worker.onerror = (event) => {
      event.preventDefault?.();
      const err = new Error(
        `the quantscope worker failed: ${event.message || 'worker script error (failed to load?)'}`,
      );
      this.fail(err);
      onCrash(this, err);
    };
    this.worker.onmessageerror = () => {
      const err = new Error('the quantscope worker sent a message that could not be read');
      this.fail(err);
      onCrash(this, err);
    };
  }

  request(type, payload = {}, transfer = [], onProgress = null, signal = null) {
    if (this.dead) return Promise.reject(new Error('the quantscope worker is not running'));
    if (signal?.aborted) return Promise.reject(abortError());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        // The worker stops at its next chunk; the caller hears at once.
        if (!this.pending.delete(id)) return;
        reject(abortError());
        if (!this.dead) this.worker.postMessage({ id: this.nextId++, type: Req.CANCEL, request: id });
      };
      const done = (f) => (value) => {
        signal?.removeEventListener('abort', onAbort);
        f(value);
      };
      this.pending.set(id, { resolve: done(resolve), reject: done(reject), onProgress });
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        this.worker.postMessage({ id, type, ...payload }, transfer);
      } catch (e) {
        this.pending.delete(id);
        signal?.removeEventListener('abort', onAbort);
        reject(toError(e));
      }
    });
  }

  /** Rejects every pending request and stops the worker. */
  fail(err) {
    this.dead = true;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.worker.terminate();
  }
}

/** Reads the argument of classify() into a message for the worker (+ transfer list). */
async function imageMessage(image) {
  if (image == null) throw new Error('classify() needs an image');
  if (typeof Blob !== 'undefined' && image instanceof Blob) {
    const bytes = await image.arrayBuffer();
    return [{ kind: ImageKind.ENCODED, bytes }, [bytes]];
  }
  if (image instanceof ArrayBuffer) {
    // A copy: the caller's buffer stays usable.
    return [{ kind: ImageKind.ENCODED, bytes: image }, []];
  }
  if (ArrayBuffer.isView(image)) {
    const bytes = new Uint8Array(image.buffer, image.byteOffset, image.byteLength).slice().buffer;
    return [{ kind: ImageKind.ENCODED, bytes }, [bytes]];
  }
  if (typeof ImageData !== 'undefined' && image instanceof ImageData) {
    return [{ kind: ImageKind.RGBA, width: image.width, height: image.height, data: image.data }, []];
  }
  if (typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap) {
    return [{ kind: ImageKind.BITMAP, bitmap: image }, [image]];
  }
  if (typeof createImageBitmap === 'function') {
    // <img>, <canvas>, OffscreenCanvas, VideoFrame, <video>: let the browser rasterise it.
    const bitmap = await createImageBitmap(image);
    return [{ kind: ImageKind.BITMAP, bitmap }, [bitmap]];
  }
  throw new Error(
    'classify() takes a File, Blob, ArrayBuffer or Uint8Array (encoded image), ImageData or ImageBitmap',
  );
}

/** Spec suffix of each kind of weight levels. */
const LEVEL_SUFFIX = { uniform: '', kmeans: '-kmeans', 'kmeans++': '-kmeans++', pow2: '-pow2' };

/**
 * The weight scheme of layerView()/staircase() options: `spec` as given (any variant spec,
 * e.g. 'w4a8-kmeans'; the weight part matters), else `w<bits>a8` with the `levels` suffix and
 * `-tensor` when `perChannel` is false.
 */
function weightSpecOf({ spec, variant, bits = 8, levels = 'uniform', perChannel = true }) {
  const given = spec ?? variant;
  if (given != null) return String(given);
  if (!(levels in LEVEL_SUFFIX)) {
    throw new Error(`levels must be one of ${Object.keys(LEVEL_SUFFIX).join(', ')}, not ${levels}`);
  }
  return `w${intArg(bits, 'bits')}a8${LEVEL_SUFFIX[levels]}${perChannel === false ? '-tensor' : ''}`;
}

/** True for the specs of calibrated (static) variants: not fp32, fp16 or *-dynamic. */
export function isStaticSpec(spec) {
  const s = String(spec).trim().toLowerCase();
  return !['fp32', 'fp16', 'int8-dynamic'].includes(s) && !s.endsWith('-dynamic');
}

function intArg(value, name) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not ${value}`);
  return n;
}

/**
 * How far `other` is from `reference`, two classify() results of the same image: `{ sameTop1,
 * top5Overlap (0..5), kl }`, `kl` = KL(reference || other) in nats over every class.
 */
export function compareClassifications(reference, other) {
  const a = reference?.top5;
  const b = other?.top5;
  if (!Array.isArray(a) || !Array.isArray(b)) throw new Error('compareClassifications() needs two classify() results');
  const mine = new Set(b.map((p) => p.index));
  let kl = NaN;
  const p = reference.probs;
  const q = other.probs;
  if (p && q && p.length === q.length) {
    kl = 0;
    for (let i = 0; i < p.length; i++) {
      // q is never 0 after softmax in f32 unless it underflows; keep the sum finite.
      if (p[i] > 0) kl += p[i] * Math.log(p[i] / Math.max(q[i], 1e-38));
    }
    kl = Math.max(kl, 0);
  }
  return {
    sameTop1: a.length > 0 && b.length > 0 && a[0].index === b[0].index,
    top5Overlap: a.filter((x) => mine.has(x.index)).length,
    kl,
  };
}

/**
 * The metadata argument of loadModel() as JSON text for the engine: an object, a JSON string, or
 * nothing (`undefined` / `null`: every field from its default, `'{}'`). Only the argument's type
 * is checked here; the engine checks the fields and names the one it rejects.
 */
function metadataJson(metadata) {
  if (metadata == null) return '{}';
  if (typeof metadata === 'string') {
    let parsed;
    try {
      parsed = JSON.parse(metadata);
    } catch (e) {
      throw new TypeError(`loadModel(): the metadata string is not valid JSON (${e.message})`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new TypeError(`loadModel(): the metadata JSON must be an object ({ ... }), not ${jsonKind(parsed)}`);
    }
    return metadata;
  }
  if (typeof metadata === 'object' && !Array.isArray(metadata) && !ArrayBuffer.isView(metadata) && !(metadata instanceof ArrayBuffer)) {
    try {
      return JSON.stringify(metadata);
    } catch (e) {
      throw new TypeError(`loadModel(): the metadata object cannot be written as JSON (${e.message})`);
    }
  }
  throw new TypeError(
    `loadModel(): metadata must be an object, a JSON string or omitted, not ${jsonKind(metadata)}` +
      (ArrayBuffer.isView(metadata) || metadata instanceof ArrayBuffer ? ' (decode the .json file\'s bytes with TextDecoder, or pass response.json())' : ''),
  );
}

function jsonKind(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor?.name ?? 'typed array'}`;
  if (v instanceof ArrayBuffer) return 'an ArrayBuffer';
  return `a ${typeof v}`;
}

function onnxCopy(onnxBytes) {
  if (onnxBytes instanceof ArrayBuffer) return new Uint8Array(onnxBytes.slice(0));
  if (ArrayBuffer.isView(onnxBytes)) {
    return new Uint8Array(onnxBytes.buffer, onnxBytes.byteOffset, onnxBytes.byteLength).slice();
  }
  throw new Error('loadModel() needs the ONNX bytes as a Uint8Array or ArrayBuffer');
}

/** A model loaded in the engine. Every method returns a Promise. */
export class QsModel {
  constructor(key, owner, id) {
    if (key !== KEEP_ALIVE) throw new TypeError('use Quantscope.loadModel()');
    this._owner = owner;
    this._id = id;
    this._disposed = false;
  }

  _call(type, payload, transfer, onProgress) {
    if (this._disposed) return Promise.reject(new Error('this model was disposed'));
    return this._owner._request(type, { model: this._id, ...payload }, transfer, this._id, onProgress);
  }

  /**
   * The canonical spec of this model: `'fp32'` for a loaded model, else what quantize() or
   * withRanges() built (`'fp16'`, `'w8a8'`, `'w8a8-dynamic'`, `'w4a8-kmeans'`, ...).
   */
  get variant() {
    return this._owner._models.get(this._id)?.variant ?? 'fp32';
  }

  /**
   * A quantized twin of this fp32 model, with the same methods. `variant`: any spec
   * (`'w8a8'`, the default; `'w4a8'`, `'w4a8-kmeans'`, `'w2a8-pow2'`, `'w8a8-tensor'`,
   * `'w8a4'`, `'w8a8-dynamic'`, `'fp16'`, ...; old names `'int8'`, `'int8-static'`,
   * `'int8-static-tensor'`, `'int8-dynamic'` are aliases). Static variants (not fp32, fp16 or
   * `-dynamic`) calibrate on `calibration`. `observer` (static): `'minmax'` (default),
   * `'percentile'` (99.99) or `'percentile:P'`, `'entropy'`, `'mse'`. `layers`: `{ name: spec }`
   * per-layer schemes (mixed precision). The older `mode` (`'static'`, `'dynamic'`, `'fp16'`)
   * and `perChannel: false` (the suffix `-tensor`) still work. `onProgress(done, total)` is
   * called after each calibration image.
   */
  async quantize({ variant, mode, observer, perChannel, layers, calibration = [], onProgress } = {}) {
    if (this._disposed) throw new Error('this model was disposed');
    const fromSet = datasetCalibration(calibration);
    if (!fromSet && !Array.isArray(calibration)) {
      throw new Error('quantize(): calibration must be an array of images, a QsDataset or { dataset, start, count }');
    }
    const spec = variant ?? (mode === 'dynamic' ? 'w8a8-dynamic' : mode == null || mode === 'static' ? 'w8a8' : mode);
    if (isStaticSpec(spec) && (fromSet ? fromSet.count === 0 : calibration.length === 0)) {
      throw new Error(`quantize(): the static variant ${spec} needs at least one calibration image`);
    }
    let images = fromSet;
    if (!fromSet) {
      images = [];
      for (const image of calibration) images.push((await imageMessage(image))[0]);
    }
    const options = { variant: String(spec) };
    if (observer != null) options.observer = String(observer);
    if (perChannel != null) options.perChannel = Boolean(perChannel);
    if (layers != null) {
      if (typeof layers !== 'object') throw new Error('quantize(): layers must be an object { layerName: spec }');
      options.layers = Object.fromEntries(Object.entries(layers).map(([k, v]) => [k, String(v)]));
    }
    // Not transferred: the wrapper keeps the images to rebuild the model after a crash.
    return this._derive(Req.QUANTIZE, { options, calibration: images }, onProgress);
  }

  /**
   * A new model built in the worker from this one by request `type` with `payload`; the
   * request is kept and replayed if the worker has to be restarted.
   */
  async _derive(type, payload, onProgress = null) {
    const owner = this._owner;
    const id = owner._nextModel++;
    const result = await this._call(type, { target: id, ...payload }, [], onProgress);
    owner._models.set(id, { parent: this._id, rebuild: { type, payload }, variant: result.variant, broken: null });
    return new QsModel(KEEP_ALIVE, owner, id);
  }

  /**
   * The activation ranges a static int8 model was calibrated with, as a JSON string (`null`
   * for other variants). Feed them to withRanges() to build a twin without calibrating again.
   */
  ranges() {
    return this._call(Req.RANGES);
  }

  /**
   * The static twin `variant` (default `'w8a8'`; any static spec, e.g. `'w4a8-kmeans'`) of
   * this fp32 model for saved activation ranges (from ranges(), or `quantscope quantize
   * --ranges-out`): no calibration, the same integers everywhere. The older `{ perChannel:
   * false }` means `'w8a8-tensor'`.
   */
  async withRanges(ranges, { variant, perChannel } = {}) {
    if (this._disposed) throw new Error('this model was disposed');
    if (typeof ranges !== 'string') throw new Error('withRanges() needs the JSON string ranges() returns');
    const spec = variant != null ? String(variant) : perChannel === false ? 'w8a8-tensor' : 'w8a8';
    return this._derive(Req.WITH_RANGES, { ranges, variant: spec });
  }

  /**
   * The ONNX QDQ export of this model (a static variant): the bytes of an `.onnx` file that
   * onnxruntime runs. Rejects with an `Error` if this variant or this build cannot export.
   */
  exportOnnx() {
    return this._call(Req.EXPORT_ONNX);
  }

  /**
   * Name, number of labels, layers, input/output shapes, parameter count and bytes, the
   * resolved `metadata` (every default filled in; valid input to loadModel()), the file's own
   * input (`file_input: { name, dims }`), and for quantized variants the nodes left in float
   * (`float_nodes: [{ name, op, reason }]`).
   */
  info() {
    return this._call(Req.INFO);
  }

  /**
   * Top-5 classes of an image: `{ top5: [{ index, label, prob }], probs, ms, preprocess_ms }`
   * (`probs`: the softmax probability of every class).
   */
  async classify(image) {
    if (this._disposed) throw new Error('this model was disposed');
    const [msg, transfer] = await imageMessage(image);
    return this._call(Req.CLASSIFY, { image: msg }, transfer);
  }

  /**
   * Where one classification spends its time: `[{ name, op, ms }]`, one entry per graph node in
   * execution order (decoding and preprocessing excluded).
   */
  async profile(image) {
    if (this._disposed) throw new Error('this model was disposed');
    const [msg, transfer] = await imageMessage(image);
    return this._call(Req.PROFILE, { image: msg }, transfer);
  }

  /** Every Conv and Gemm layer: `[{ name, op, weight_shape, parameters, depthwise }]`. */
  layers() {
    return this._call(Req.LAYERS);
  }

  /**
   * One layer's float weights quantized as the engine quantizes them under a scheme: `spec`
   * (any variant spec, the weight part matters: `'w4a8'`, `'w4a8-kmeans'`, `'w2a8-pow2-tensor'`),
   * or `bits` (1..8; 2..8 uniform), `levels` (`'uniform'`, `'kmeans'`, `'kmeans++'`, `'pow2'`)
   * and `perChannel` (the engine's defaults otherwise: MSE clipping below 8 bits). `{ layer,
   * spec, bits, per_channel, levels_kind, clipping, histogram: { lo, hi, counts }, grid: { scale,
   * zero_point, qmin, qmax }, grid_channel, levels, centroids, clip, scales, zero_channels,
   * channel_ranges, error_histogram, max_abs_error, sqnr_db, clustering_sqnr_db,
   * codebook_sqnr_db, stored_bytes }`: `levels` are the real values the drawn channel's codes
   * stand for (uniform grid, or the k-means / power-of-two codebook as stored).
   */
  async layerView(layer, { bins = 64, ...scheme } = {}) {
    return this._call(Req.LAYER_VIEW, {
      layer: String(layer),
      spec: weightSpecOf(scheme),
      bins: intArg(bins, 'bins'),
    });
  }

  /**
   * The float -> integer -> float staircase of the channel layerView() draws (uniform steps,
   * or a codebook's uneven ones), over the layer's weight range: `{ spec, levels_kind, grid,
   * levels, centroids, range, x, code, dequantized, edges, clip, bucket }`; `bucket` (`{ value,
   * code, dequantized, error, bucket_lo, bucket_hi, clipped }`) is where `value` lands, when
   * given. Scheme options as layerView().
   */
  async staircase(layer, { points = 512, value, ...scheme } = {}) {
    const v = value == null ? undefined : Number(value);
    return this._call(Req.STAIRCASE, {
      layer: String(layer),
      spec: weightSpecOf(scheme),
      points: intArg(points, 'points'),
      value: v,
    });
  }

  /**
   * Bytes of the weights as each variant stores them (packed codes, scales, zero points,
   * codebooks, biases), raw and deflate-compressed, for fp32, fp16 and `specs` (default
   * w8a8, w8a8-tensor, w4a8, w4a8-kmeans, w2a8, w2a8-pow2): `{ weights, biases, channels,
   * deflate_level, variants: [{ name, code_bits, raw_bytes, deflate_bytes, ratio, parts: {
   * codes, scales, zero_points, codebooks, biases } }] }`.
   */
  sizes(specs) {
    if (specs != null && !Array.isArray(specs)) return Promise.reject(new Error('sizes() takes an array of specs'));
    return this._call(Req.SIZES, { specs: specs == null ? null : specs.map(String) });
  }

  /**
   * The image at fewer bits: the original (24 bits per pixel), 8 bits per pixel (3-3-2), 5, 4,
   * 3, 2, 1 bits per channel, 1-bit black and white with and without dithering; scaled to at
   * most `maxSide` pixels (16..1024). `{ width, height, source_width, source_height, entries:
   * [{ key, label, bits_per_channel, channels, bits_per_pixel, raw_bytes, psnr_db, top1,
   * pixels }] }`: `pixels` is RGBA for `new ImageData(pixels, width, height)`, `top1` this
   * model's best class on that picture.
   */
  async bitDepth(image, { maxSide = 384 } = {}) {
    if (this._disposed) throw new Error('this model was disposed');
    const [msg, transfer] = await imageMessage(image);
    return this._call(Req.BIT_DEPTH, { image: msg, maxSide: intArg(maxSide, 'maxSide') }, transfer);
  }

  /**
   * This model's class (the index of its largest score) for images `start..end` of
   * `dataset`, through its own preprocessing: a `Uint32Array`. Rejects, naming what the model
   * takes, unless its input is the dataset's grey picture size and it has a score per class.
   */
  predict(dataset, { start = 0, end } = {}) {
    const d = datasetArg(dataset, 'predict()');
    const e = end == null ? d.count : intArg(end, 'end');
    return this._call(Req.PREDICT, { dataset: d._id, start: intArg(start, 'start'), end: e });
  }

  /**
   * This model's accuracy on the first `limit` images of `dataset` (all by default), run
   * `chunk` images at a time in the worker: `onProgress(done, total)` after each chunk; an
   * abort of `signal` stops the run (the promise rejects with an `AbortError` at once, the
   * worker stops at the end of its chunk). `reference` (e.g. the fp32 model) gives
   * `agreement` and `changed`, the images whose answer differs from its answer. Result `{
   * variant, accuracy, agreement, per_class, confusion, images, changed: [{ index, label,
   * reference, predicted }] }` (`confusion[true][answer]`, rates in 0..1).
   */
  accuracy(dataset, { reference = null, limit = null, chunk = 250, onProgress, signal } = {}) {
    if (this._disposed) return Promise.reject(new Error('this model was disposed'));
    const d = datasetArg(dataset, 'accuracy()');
    if (reference != null && !(reference instanceof QsModel)) {
      return Promise.reject(new Error('accuracy(): reference must be a model (e.g. the fp32 one)'));
    }
    if (reference?._disposed) return Promise.reject(new Error('accuracy(): the reference model was disposed'));
    const payload = {
      dataset: d._id,
      reference: reference ? reference._id : null,
      variant: this.variant,
      limit: limit == null ? null : intArg(limit, 'limit'),
      chunk: Math.max(1, intArg(chunk, 'chunk')),
    };
    return this._owner._request(Req.ACCURACY, { model: this._id, ...payload }, [], this._id, onProgress ?? null, signal ?? null);
  }

  /**
   * Quantization-aware training: fine-tunes this fp32 model on `train` (a QsDataset) while its
   * forward pass sees the integer variant `variant` (any static spec, e.g. `'w4a4'`), then
   * builds that variant from the fine-tuned weights, executed by the integer engine. Works on a
   * Conv/Relu/MaxPool/Flatten/Gemm chain normalising as quantscope's Fashion-MNIST trainer does
   * (else rejects naming the problem). `steps` (default 200) mini-batches of `batch` (32) images,
   * Adam at `lr` (1e-4), activation ranges frozen after `freezeAt` (0.75) of the steps, `seed`
   * (1). `test` (a QsDataset) with `testLimit` (1000) and `evalEvery` (steps, default a tenth of
   * the run): the fake-quantized network's test accuracy at those checkpoints.
   * `onProgress(step, steps, { losses: [{ step, loss }], accuracy, frozen, test: { step,
   * accuracy } | null })` after each slice of steps (~50 ms); an abort of `signal` stops the run
   * (the promise rejects with an `AbortError`). Resolves to the new model, whose `variant` is
   * `'<spec>-qat'` (e.g. `'w4a4-qat'`).
   */
  async qat(train, { variant = 'w4a4', steps = 200, batch = 32, lr = 1e-4, freezeAt = 0.75, seed = 1, test = null, testLimit = 1000, evalEvery, onProgress, signal } = {}) {
    if (this._disposed) throw new Error('this model was disposed');
    const d = datasetArg(train, 'qat()');
    const t = test == null ? null : datasetArg(test, 'qat() test');
    const n = Math.max(1, intArg(steps, 'steps'));
    const options = { variant: String(variant), steps: n, batch: Math.max(1, intArg(batch, 'batch')), lr: Number(lr), freezeAt: Number(freezeAt), seed: intArg(seed, 'seed') };
    const owner = this._owner;
    const id = owner._nextModel++;
    const payload = {
      model: this._id,
      target: id,
      dataset: d._id,
      options,
      test: t ? { dataset: t._id, limit: Math.max(1, intArg(testLimit, 'testLimit')) } : null,
      evalEvery: Math.max(1, evalEvery == null ? Math.ceil(n / 10) : intArg(evalEvery, 'evalEvery')),
    };
    let result;
    try {
      result = await owner._request(Req.QAT, payload, [], this._id, onProgress ?? null, signal ?? null);
    } catch (e) {
      // A run that ended just before its cancel arrived left a variant behind: free it.
      owner._request(Req.DISPOSE, { model: id }).catch(() => {});
      throw e;
    }
    const name = `${result.variant}-qat`;
    // Rebuilt after a crash from the fine-tuned weights, without training again.
    const rebuild = { type: Req.TUNED_VARIANT, payload: { onnx: result.onnx, ranges: result.ranges, variant: result.variant } };
    owner._models.set(id, { parent: this._id, rebuild, variant: name, broken: null });
    return new QsModel(KEEP_ALIVE, owner, id);
  }

  /** Raw logits of a preprocessed float input (the model's input shape and layout). */
  logits(input) {
    if (!(input instanceof Float32Array)) {
      return Promise.reject(new Error('logits() needs a Float32Array (the model input shape and layout)'));
    }
    return this._call(Req.LOGITS, { input });
  }

  /** Frees the model in the engine. Further calls reject. */
  async dispose() {
    if (this._disposed) return;
    this._disposed = true;
    this._owner._models.delete(this._id);
    try {
      await this._owner._request(Req.DISPOSE, { model: this._id });
    } catch {
      // The worker is gone or restarting: nothing left to free.
    }
  }
}

/** The engine: one Worker running one wasm build. Create it with createQuantscope(). */
export class Quantscope {
  constructor(key, options) {
    if (key !== KEEP_ALIVE) throw new TypeError('use createQuantscope()');
    this._options = options;
    this._models = new Map(); // id -> { onnx, metadata, broken }
    this._datasets = new Map(); // id -> { payload } (reloaded first after a crash)
    this._nextModel = 1;
    this._terminated = false;
    this._channel = null;
    this._ready = null;
    /** 'simd', 'simd-relaxed', 'simd-threads' or 'simd-relaxed-threads' */
    this.build = 'simd';
    /** Number of threads the engine uses (1 for the single-threaded build). */
    this.threads = 1;
    /** Engine version. */
    this.version = '';
    /** Number of times the worker was restarted after a crash. */
    this.restarts = 0;
  }

  /** Starts a worker on one of the builds (Build); returns the channel once the engine is up. */
  async _start(build) {
    const channel = new Channel((ch, err) => this._crashed(ch, err));
    try {
      let init = channel.request(Req.INIT, { build, threads: this._options.threads });
      if (build === Build.MT || build === Build.MT_RELAXED) {
        // A thread pool whose nested workers cannot start never answers: give up and fall back.
        init = Promise.race([
          init,
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error('the threaded build did not start within 15 s')), MT_INIT_TIMEOUT_MS),
          ),
        ]);
      }
      const info = await init;
      this._channel = channel;
      this.build = `simd${info.relaxed ? '-relaxed' : ''}${info.threaded ? '-threads' : ''}`;
      this.threads = info.threads;
      this.version = info.version;
      this.simd = info.simd;
      return channel;
    } catch (e) {
      channel.fail(toError(e));
      throw e;
    }
  }

  async _boot() {
    const { wantThreads } = this._options;
    const relaxed = relaxedSimd();
    // Each build in order of preference, the next when one fails to start (its error kept).
    const builds = [
      ...(wantThreads ? [...(relaxed ? [Build.MT_RELAXED] : []), Build.MT] : []),
      ...(relaxed ? [Build.ST_RELAXED] : []),
      Build.ST,
    ];
    for (const build of builds.slice(0, -1)) {
      try {
        return await this._start(build);
      } catch (e) {
        this.fallbackReason = toError(e).message;
      }
    }
    return this._start(Build.ST);
  }

  /** Worker crashed (trap or died): start a new one and reload every live model. */
  _crashed(channel, err) {
    if (this._terminated || channel !== this._channel) return;
    this._channel = null;
    channel.fail(err);
    this.restarts++;
    this._ready = (async () => {
      const ch = await this._boot();
      for (const [id, d] of this._datasets) {
        // Before the models: a twin calibrated on a dataset is rebuilt from it.
        await ch.request(Req.LOAD_DATASET, { dataset: id, ...d.payload }).catch(() => {});
      }
      for (const [id, m] of this._models) {
        try {
          if (m.rebuild) {
            await ch.request(m.rebuild.type, { model: m.parent, target: id, ...m.rebuild.payload });
          } else {
            await ch.request(Req.LOAD, { model: id, onnx: m.onnx, metadata: m.metadata });
          }
          m.broken = null;
        } catch (e) {
          m.broken = toError(e);
        }
      }
      return ch;
    })();
    // A failed restart is reported by the next request.
    this._ready.catch(() => {});
  }

  async _request(type, payload, transfer = [], modelId = null, onProgress = null, signal = null) {
    if (this._terminated) throw new Error('this quantscope instance was terminated');
    const channel = await this._ready;
    if (modelId != null && this._models.get(modelId)?.broken) {
      throw new Error(`the model could not be reloaded after a crash: ${this._models.get(modelId).broken.message}`);
    }
    if (channel !== this._channel && this._ready) {
      // Restarted in between: go round again on the new worker.
      return this._request(type, payload, transfer, modelId, onProgress, signal);
    }
    try {
      return await channel.request(type, payload, transfer, onProgress, signal);
    } catch (e) {
      // If this call killed the worker, wait until the models are back before rejecting,
      // so a retry right after the rejection works.
      if (this._channel !== channel) await this._ready?.catch(() => {});
      throw toError(e);
    }
  }

  /**
   * Loads an ONNX image classifier. `metadata` (optional: an object, a JSON string, or nothing)
   * overrides what the engine reads from the file: `{ name, input: { name, shape, layout },
   * preprocess: { resize, resize_shorter, crop, mean, std, channels }, labels, source, license }`,
   * every field optional (defaults in index.d.ts, ModelMetadata; the values used are in
   * `(await model.info()).metadata`). Rejects if the model cannot be imported or a field is
   * wrong (the message names it); other models keep working.
   */
  async loadModel(onnxBytes, metadata) {
    const json = metadataJson(metadata);
    const onnx = onnxCopy(onnxBytes);
    const id = this._nextModel++;
    await this._request(Req.LOAD, { model: id, onnx, metadata: json });
    this._models.set(id, { onnx, metadata: json, variant: 'fp32', broken: null });
    return new QsModel(KEEP_ALIVE, this, id);
  }

  /**
   * Decodes a labelled dataset in the engine: `images` and `labels` are an IDX image file and
   * an IDX label file (gzipped or not, as MNIST and Fashion-MNIST ship them), each as bytes
   * (`Uint8Array`, `ArrayBuffer`) or as a URL of this page's own origin, which the worker
   * fetches (another origin is refused). `classNames` name the labels (Fashion-MNIST's ten
   * classes by default). Rejects with an `Error` naming the file for a truncated or
   * mismatched file.
   */
  async loadDataset({ images, labels, classNames } = {}) {
    const payload = { images: datasetSource(images, 'image'), labels: datasetSource(labels, 'label') };
    if (classNames != null) {
      if (!Array.isArray(classNames)) throw new Error('loadDataset(): classNames must be an array of strings');
      payload.classNames = classNames.map(String);
    }
    const id = this._nextModel++;
    const info = await this._request(Req.LOAD_DATASET, { dataset: id, ...payload });
    this._datasets.set(id, { payload });
    return new QsDataset(DATASET_KEY, this, id, info);
  }

  /**
   * Measures the int8 GEMM kernel on fixed layer shapes (EfficientNet-Lite0's) against the
   * machine's int8 ceiling (a register-only loop of the microkernel's dot instruction), and
   * the f32 GEMM on the same shapes: `{ ukernel, output_stage, peak_op, peak_gops, gemm: [{ m, k, n, gops }],
   * gemm_f32: [{ m, k, n, gops }] }` (for benchmarks; takes ~2 s).
   */
  kernelBench() {
    return this._request(Req.KERNEL_BENCH);
  }

  /**
   * The canonical spec of a variant (`'int8'` -> `'w8a8'`, `'W4A8-KMeans'` -> `'w4a8-kmeans'`);
   * rejects with an `Error` naming the problem and giving the grammar for a bad spec.
   */
  parseVariant(spec) {
    return this._request(Req.PARSE_VARIANT, { spec: String(spec) });
  }

  /** The grammar of variant specs, as a sentence. */
  specGrammar() {
    return this._request(Req.SPEC_GRAMMAR);
  }

  /** Stops the worker; every pending and later call rejects. */
  terminate() {
    if (this._terminated) return;
    this._terminated = true;
    this._models.clear();
    this._datasets.clear();
    this._channel?.fail(new Error('this quantscope instance was terminated'));
    this._channel = null;
  }

  /** @internal Test hook: 'trap' (wasm RuntimeError) or 'error' (worker dies). */
  _crashForTesting(how = 'trap') {
    return this._request(Req.CRASH_FOR_TESTING, { how });
  }
}

/**
 * A module of one function `() -> v128` computing `f32x4.relaxed_madd` of three zero constants:
 * it validates exactly where relaxed SIMD is supported.
 */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // \0asm, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x3d, 0x01, 0x3b, 0x00, // code section: one 59-byte body, no locals
  ...[0, 1, 2].flatMap(() => [0xfd, 0x0c, ...new Array(16).fill(0)]), // v128.const 0 (x3)
  0xfd, 0x85, 0x02, // f32x4.relaxed_madd
  0x0b, // end
]);

/** Whether this browser runs relaxed-SIMD modules (then the f32 kernels fuse multiply-adds). */
export function relaxedSimd() {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_SIMD_PROBE);
  } catch {
    return false;
  }
}

/**
 * Starts the engine in a Worker. Uses the threaded build when the page is crossOriginIsolated,
 * `threads` is not 1 and the threaded files are present (falling back to the single-threaded
 * build if they fail to load); otherwise the single-threaded SIMD build. Where the browser has
 * relaxed SIMD (relaxedSimd()), the relaxed-SIMD twin of either build.
 * @param {{ threads?: number }} [options]
 */
export async function createQuantscope({ threads } = {}) {
  if (typeof Worker === 'undefined') throw new Error('quantscope needs Web Workers');
  const n = threads == null ? hardwareThreads() : Math.floor(Number(threads));
  if (!Number.isFinite(n) || n < 1) throw new Error(`threads must be a positive integer, not ${threads}`);
  const wantThreads = globalThis.crossOriginIsolated === true && n > 1;
  const qs = new Quantscope(KEEP_ALIVE, { threads: n, wantThreads });
  qs._ready = qs._boot();
  await qs._ready;
  return qs;
}

export default createQuantscope;
