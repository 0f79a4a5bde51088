// quantscope: the messages between the main-thread wrapper (index.js) and the engine worker
// (worker.js), declared once. Both import this module; no request name is spelled anywhere else.
//
// Every request is `{ id, type, ...payload }` (posted by index.js, `id` a positive integer unique
// per worker) and gets exactly one final reply (see Reply below); a calibration may send
// progress reports before it. Requests on a model carry `model`: the id index.js gave it at
// load time. Payload fields and what is transferred (moved, not copied) are listed per type.

/**
 * Request types (main thread -> worker).
 * @readonly
 */
export const Req = Object.freeze({
  /**
   * Starts the engine: imports build `build` ('st' | 'st-relaxed' | 'mt' | 'mt-relaxed') and, for 'mt', starts
   * a pool of `threads` threads. Payload `{ build: 'st' | 'st-relaxed' | 'mt' | 'mt-relaxed', threads: number }`.
   * Result {@link InitResult}.
   */
  INIT: 'init',
  /**
   * Imports an ONNX model under id `model`. Payload `{ model: number, onnx: Uint8Array,
   * metadata: string }` (`metadata`: JSON text, `'{}'` for the defaults). Not transferred: the
   * wrapper keeps the bytes to reload the model after a crash. Result: the model's info().
   */
  LOAD: 'load',
  /**
   * Builds a quantized twin of `model` under id `target`. Payload `{ model, target,
   * options: { variant: string, observer?: string, perChannel?: boolean, layers?: { [layer]:
   * spec } }, calibration: ImageMessage[] | { dataset: number, start: number, count: number }
   * }` (images, or pictures of a loaded dataset). Not transferred (kept for a rebuild). Sends
   * {@link ProgressReport}s, then result `{ variant: string, weightBytes: number }`.
   */
  QUANTIZE: 'quantize',
  /**
   * The static twin of `model` under id `target` for saved activation ranges. Payload
   * `{ model, target, ranges: string (JSON), variant: string }`. Result as QUANTIZE.
   */
  WITH_RANGES: 'with-ranges',
  /** The ONNX QDQ export of `model`. Payload `{ model }`. Result `Uint8Array` (transferred). */
  EXPORT_ONNX: 'export-onnx',
  /** The canonical form of a variant spec. Payload `{ spec: string }`. Result `string`. */
  PARSE_VARIANT: 'parse-variant',
  /** The grammar of variant specs. No payload. Result `string`. */
  SPEC_GRAMMAR: 'spec-grammar',
  /** The activation ranges of `model`. Payload `{ model }`. Result `string | null` (JSON). */
  RANGES: 'ranges',
  /** The int8 GEMM kernel's speed. No payload. Result `{ peak_gops, gemm: [{ m, k, n, gops }] }`. */
  KERNEL_BENCH: 'kernel-bench',
  /** Payload `{ model }`. Result: the model's info() (ModelInfo in index.d.ts). */
  INFO: 'info',
  /**
   * Top-5 classes of an image. Payload `{ model, image: ImageMessage }` (an encoded image's
   * bytes or a bitmap are transferred; see imageMessage() in index.js). Result
   * `{ top5, probs, ms, preprocess_ms }`.
   */
  CLASSIFY: 'classify',
  /**
   * Time per node of one run on an image. Payload `{ model, image: ImageMessage }` (transferred
   * as for CLASSIFY). Result `[{ name, op, ms }]` in execution order.
   */
  PROFILE: 'profile',
  /** The Conv/Gemm layers. Payload `{ model }`. Result `WeightLayer[]`. */
  LAYERS: 'layers',
  /** Payload `{ model, layer: string, spec: string, bins: number }`. Result `LayerView`. */
  LAYER_VIEW: 'layer-view',
  /**
   * Payload `{ model, layer: string, spec: string, points: number, value?: number }`.
   * Result `Staircase`.
   */
  STAIRCASE: 'staircase',
  /** Payload `{ model, specs: string[] | null }`. Result `WeightSizes`. */
  SIZES: 'sizes',
  /**
   * Payload `{ model, image: ImageMessage, maxSide: number }` (image transferred as for
   * CLASSIFY). Result `BitDepthSeries` (every entry's `pixels` buffer transferred).
   */
  BIT_DEPTH: 'bit-depth',
  /**
   * Raw logits. Payload `{ model, input: Float32Array }` (copied). Result `Float32Array`
   * (transferred).
   */
  LOGITS: 'logits',
  /**
   * Decodes a labelled dataset (an IDX image file and an IDX label file, gzipped or not) under
   * id `dataset`. Payload `{ dataset: number, images: Uint8Array | string, labels: Uint8Array |
   * string, classNames?: string[] }`: bytes (not transferred: kept for a reload), or an
   * absolute URL of the page's own origin that the worker fetches (any other origin is
   * refused). Result {@link DatasetInfo}.
   */
  LOAD_DATASET: 'load-dataset',
  /**
   * Pictures of `dataset`. Payload `{ dataset, indices: number[] }` (at most 1000). Result
   * `{ width, height, images: [{ index, label, pixels: Uint8ClampedArray (RGBA) }] }` (each
   * `pixels` buffer transferred).
   */
  DATASET_IMAGES: 'dataset-images',
  /** Frees `dataset` (no error if it is already gone). Payload `{ dataset }`. Result `null`. */
  DISPOSE_DATASET: 'dispose-dataset',
  /**
   * `model`'s class for images `start..end` of `dataset`. Payload `{ model, dataset, start,
   * end }`. Result `Uint32Array` (transferred).
   */
  PREDICT: 'predict',
  /**
   * `model`'s accuracy on the first `limit` images of `dataset` (all when `limit` is null),
   * `chunk` images at a time: a {@link ProgressReport} after each chunk, and a CANCEL for this
   * request (or a later one the wrapper sends on an abort signal) stops it between chunks
   * with an `AbortError`. `reference` (a model id, e.g. fp32's, or null) is the model whose
   * answers `agreement` and `changed` compare with. Payload `{ model, dataset, reference,
   * variant: string, limit: number | null, chunk: number }`. Result {@link AccuracyResult}.
   */
  ACCURACY: 'accuracy',
  /**
   * Quantization-aware training of `model` (fp32, a Conv/Relu/MaxPool/Flatten/Gemm chain
   * normalising as the Fashion-MNIST trainer does) on the training set `dataset`, then its
   * integer variant under id `target`. Payload `{ model, target, dataset, options: { variant:
   * string, steps?, batch?, lr?, freezeAt?, seed? }, test: { dataset, limit } | null, evalEvery:
   * number }`. The worker runs steps for at most ~50 ms, sends a {@link ProgressReport} whose
   * `detail` is {@link QatDetail}, and yields to its message loop: a CANCEL stops the run there
   * with an `AbortError` (no variant is made). Every `evalEvery` steps and at the end it
   * measures the fake-quantized network on the first `test.limit` images of `test.dataset`.
   * Result `{ variant: string, weightBytes, onnx: Uint8Array, ranges: string }`: the fine-tuned
   * float model and its activation ranges (kept by the wrapper to rebuild with TUNED_VARIANT).
   */
  QAT: 'qat',
  /**
   * The static variant `variant` of fine-tuned weights (QAT's result) under id `target`:
   * `onnx` read with `model`'s metadata, quantized with `ranges`. Payload `{ model, target,
   * onnx: Uint8Array, ranges: string, variant: string }`. Result as QUANTIZE.
   */
  TUNED_VARIANT: 'tuned-variant',
  /**
   * Stops the running request `request` (an ACCURACY or a QAT) at its next chunk; no effect on one that
   * has finished. Payload `{ request: number }`. Result `null` (the wrapper does not wait
   * for it).
   */
  CANCEL: 'cancel',
  /** Frees `model` (no error if it is already gone). Payload `{ model }`. Result `null`. */
  DISPOSE: 'dispose',
  /**
   * Test hook. Payload `{ how: 'trap' | 'error' }`: a wasm RuntimeError (fatal reply) or an
   * uncaught error that kills the worker (no reply).
   */
  CRASH_FOR_TESTING: 'crash-for-testing',
});

/**
 * The engine builds INIT starts: `'st'` (single-threaded SIMD, `st/`) and `'mt'` (SIMD + threads,
 * `mt/`, needs crossOriginIsolated).
 * @readonly
 */
export const Build = Object.freeze({ ST: 'st', ST_RELAXED: 'st-relaxed', MT: 'mt', MT_RELAXED: 'mt-relaxed' });

/** Every request type, for checks (`REQUEST_TYPES.has(msg.type)`). */
export const REQUEST_TYPES = new Set(Object.values(Req));

/**
 * The forms of an image in a message (`ImageMessage`):
 * - `{ kind: 'encoded', bytes: ArrayBuffer }`: a JPEG/PNG/WebP/GIF/BMP file;
 * - `{ kind: 'rgba', width, height, data: Uint8ClampedArray }`: pixels (ImageData's layout);
 * - `{ kind: 'bitmap', bitmap: ImageBitmap }`: rasterised by the worker (OffscreenCanvas).
 * @readonly
 */
export const ImageKind = Object.freeze({ ENCODED: 'encoded', RGBA: 'rgba', BITMAP: 'bitmap' });

/**
 * @typedef {{ build: 'st' | 'st-relaxed' | 'mt' | 'mt-relaxed', threads: number, simd: boolean, threaded: boolean, relaxed: boolean, version: string }} InitResult
 *   The INIT result: the build started, threads in use, and the engine's buildInfo().
 * @typedef {{ id: number, ok: true, result: any }} OkReply
 *   A request succeeded.
 * @typedef {{ id: number, ok: false, fatal: boolean, error: { name: string, message: string } }} ErrorReply
 *   A request failed; `fatal`: the wasm instance trapped and can no longer be trusted (the
 *   wrapper replaces the worker and reloads the models).
 * @typedef {{ id: number, progress: { done: number, total: number, detail?: QatDetail } }} ProgressReport
 *   A running request's progress (QUANTIZE: after each calibration image; ACCURACY: after each
 *   chunk; QAT: steps, after each slice of steps, with `detail`); not a reply.
 * @typedef {{ losses: { step: number, loss: number }[], accuracy: number | null, frozen: boolean,
 *   test: { step: number, accuracy: number } | null }} QatDetail
 *   A QAT report: the training loss of each step since the last report, the training accuracy
 *   (fake-quantized) after the last one, whether the activation ranges are frozen, and the
 *   test accuracy when this slice ended on a checkpoint.
 * @typedef {{ count: number, classes: number, names: string[], rows: number, cols: number }} DatasetInfo
 *   A LOAD_DATASET result: images, classes and their names, picture size.
 * @typedef {{ variant: string, accuracy: number, agreement: number | null, per_class: number[],
 *   confusion: number[][], images: number, changed: { index: number, label: number,
 *   reference: number, predicted: number }[] }} AccuracyResult
 *   An ACCURACY result: the engine's Accuracy (`confusion[true][answer]`), and the images
 *   whose answer differs from the reference's (empty without a reference).
 * @typedef {OkReply | ErrorReply | ProgressReport} WorkerMessage
 *   Everything the worker posts.
 */

/** @returns {OkReply} */
export function okReply(id, result) {
  return { id, ok: true, result };
}

/** @returns {ErrorReply} */
export function errorReply(id, err) {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    id,
    ok: false,
    fatal: e instanceof WebAssembly.RuntimeError,
    error: { name: e.name, message: e.message || String(err) },
  };
}

/** @returns {ProgressReport} */
export function progressReport(id, done, total, detail) {
  return { id, progress: detail === undefined ? { done, total } : { done, total, detail } };
}
