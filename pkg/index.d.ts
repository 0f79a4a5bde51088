/** quantscope: EfficientNet-Lite0 image classification in the browser (WebAssembly in a Worker). */

/** Options of {@link createQuantscope}. */
export interface QuantscopeOptions {
  /**
   * Number of threads. Default: `navigator.hardwareConcurrency`. `1` forces the
   * single-threaded build. More than 1 is used only when the page is `crossOriginIsolated`
   * (served with COOP `same-origin` and COEP `require-corp`) and the threaded build is present.
   */
  threads?: number;
}

/** One of the five most probable classes. */
export interface Prediction {
  /** Class index in the model's output. */
  index: number;
  /** Human-readable label from the metadata. */
  label: string;
  /** Softmax probability in [0, 1]. */
  prob: number;
}

/** The result of {@link QsModel.classify}. */
export interface Classification {
  /** The five most probable classes, most probable first. */
  top5: Prediction[];
  /** Softmax probability of every class (for KL between variants). */
  probs: number[];
  /** Model time in milliseconds (decoding and preprocessing excluded). */
  ms: number;
  /** Decoding, resizing and normalising time in milliseconds. */
  preprocess_ms: number;
}

/** One layer (graph node) of a loaded model. */
export interface LayerInfo {
  name: string;
  /** ONNX operator, e.g. `"Conv"`. */
  op: string;
  /** Input shape. */
  input: number[];
  /** Output shape. */
  output: number[];
  /** Number of parameters (weights and biases). */
  parameters: number;
  /** Bytes of parameters. */
  bytes: number;
}

/** The result of {@link QsModel.info}. */
export interface ModelInfo {
  /** Model name from the metadata. */
  name: string;
  /** Number of labels (classes). */
  labels: number;
  layers: LayerInfo[];
  /** Input shape (NCHW). */
  input: number[];
  /** Output shape. */
  output: number[];
  /** Total number of parameters. */
  parameters: number;
  /** Total bytes of parameters (as f32). */
  bytes: number;
  /** The model's variant. */
  variant: Variant;
  /** int8 weight scales per output channel. */
  per_channel: boolean;
  /** Bytes of the weights as this variant stores them. */
  weight_bytes: number;
}

/** Model metadata: labels, preprocessing and input shape (the `.json` next to the `.onnx`). */
export type ModelMetadata = Record<string, unknown>;

/**
 * An image for {@link QsModel.classify}:
 * - encoded image bytes (JPEG, PNG, WebP, GIF, BMP) as a `File`, `Blob`, `ArrayBuffer` or
 *   `Uint8Array` (copied; a Blob's bytes are transferred to the worker);
 * - raw pixels as `ImageData` (copied);
 * - an `ImageBitmap`, which is **transferred** (detached after the call);
 * - anything `createImageBitmap()` accepts (`<img>`, `<canvas>`, `OffscreenCanvas`, `VideoFrame`).
 */
export type ImageInput =
  | Blob
  | ArrayBuffer
  | Uint8Array
  | ImageData
  | ImageBitmap
  | ImageBitmapSource;

/** How a model computes. */
export type Variant = 'fp32' | 'fp16' | 'int8-dynamic' | 'int8';

/** Options of {@link QsModel.quantize}. */
export interface QuantizeOptions {
  /**
   * `'static'` (default): full-integer int8, activation ranges from `calibration`;
   * `'dynamic'`: int8 weights, each Conv/Gemm input quantized per run from its own range;
   * `'fp16'`: float16 weights, f32 compute.
   */
  mode?: 'static' | 'dynamic' | 'fp16';
  /** Range observer for static int8: `'minmax'` (default), `'percentile'` (99.99), `'percentile:P'`, `'entropy'`, `'mse'`. */
  observer?: string;
  /** One weight scale per output channel (default `true`) or one per tensor. */
  perChannel?: boolean;
  /** Calibration images (static int8 needs at least one), in any form {@link QsModel.classify} takes. */
  calibration?: ImageInput[];
  /** Called after each calibration image. */
  onProgress?: (done: number, total: number) => void;
}

/** A Conv or Gemm layer with weights ({@link QsModel.layers}). */
export interface WeightLayer {
  name: string;
  op: 'Conv' | 'Gemm';
  /** Conv `[out, in / group, kh, kw]`, Gemm `[N, K]`. */
  weight_shape: number[];
  /** Weights plus bias values. */
  parameters: number;
  /** One input channel per output channel. */
  depthwise: boolean;
}

/** `counts[i]` values in bin `i` of equal-width bins from `lo` to `hi`. */
export interface Histogram {
  lo: number;
  hi: number;
  counts: number[];
}

/** `r = scale (q - zero_point)`, `q` in `[qmin, qmax]`. */
export interface Grid {
  scale: number;
  zero_point: number;
  qmin: number;
  qmax: number;
}

/** {@link QsModel.layerView}: one layer's weights under a grid. */
export interface LayerView {
  layer: WeightLayer;
  bits: number;
  per_channel: boolean;
  /** True below 8 bits: fake-quantized for teaching; the engine executes 8 bits. */
  simulated: boolean;
  /** The float weights over their `[min, max]`. */
  histogram: Histogram;
  /** The tensor's grid, or per channel the grid of the channel with the widest range. */
  grid: Grid;
  grid_channel: number | null;
  /** The values `S q` of `grid`. */
  levels: number[];
  /** The reals the grid represents. */
  clip: [number, number];
  /** Scale per output channel (per channel) or the single scale. */
  scales: number[];
  /** Output channels whose weights are all zero. */
  zero_channels: number[];
  /** `[min, max]` of the float weights per output channel. */
  channel_ranges: [number, number][];
  /** The error `w - S q`. */
  error_histogram: Histogram;
  max_abs_error: number;
  /** `10 log10(sum w^2 / sum (w - S q)^2)` in dB (`Infinity` when exact). */
  sqnr_db: number;
}

/** Where one real lands on a grid. */
export interface Bucket {
  value: number;
  code: number;
  dequantized: number;
  error: number;
  bucket_lo: number;
  bucket_hi: number;
  /** The value lay beyond the grid's range and was clamped. */
  clipped: boolean;
}

/** {@link QsModel.staircase}: samples of `x -> S (q(x) - Z)`. */
export interface Staircase {
  grid: Grid;
  /** `[min, max]` of the layer's weights: the sampled range. */
  range: [number, number];
  x: number[];
  code: number[];
  dequantized: number[];
  /** Rounding thresholds between consecutive codes inside `range`. */
  edges: number[];
  clip: [number, number];
  simulated: boolean;
  bucket: Bucket | null;
}

/** {@link QsModel.sizes}. */
export interface WeightSizes {
  weights: number;
  biases: number;
  channels: number;
  deflate_level: number;
  variants: { name: 'fp32' | 'fp16' | 'int8'; raw_bytes: number; deflate_bytes: number; ratio: number }[];
}

/** One picture of {@link QsModel.bitDepth}. */
export interface BitDepthEntry {
  key: 'rgb8' | 'rgb5' | 'rgb4' | 'rgb3' | 'rgb332' | 'rgb2' | 'rgb1' | 'bw' | 'bw-dither';
  label: string;
  bits_per_channel: number;
  channels: number;
  bits_per_pixel: number;
  /** Uncompressed bytes at this depth. */
  raw_bytes: number;
  /** Against the original, dB (`Infinity` for the original). */
  psnr_db: number;
  /** The model's best class on this picture. */
  top1: Prediction;
  /** RGBA, `width * height * 4`. */
  pixels: Uint8ClampedArray;
}

/** {@link QsModel.bitDepth}. */
export interface BitDepthSeries {
  width: number;
  height: number;
  source_width: number;
  source_height: number;
  entries: BitDepthEntry[];
}

/** {@link compareClassifications}. */
export interface Agreement {
  sameTop1: boolean;
  /** Classes shared by the two top-5 lists (0..5). */
  top5Overlap: number;
  /** KL(reference || other) in nats. */
  kl: number;
}

/** How far `other` is from `reference`: two classify() results of the same image. */
export declare function compareClassifications(reference: Classification, other: Classification): Agreement;

/** A model loaded in the engine. Every method returns a Promise. */
export declare class QsModel {
  private constructor();
  /** This model's variant (`'fp32'` for a loaded model). */
  readonly variant: Variant;
  /**
   * A quantized twin of this fp32 model with the same methods. The wrapper keeps the
   * calibration images so the twin is rebuilt if the worker has to be restarted.
   */
  quantize(options?: QuantizeOptions): Promise<QsModel>;
  /** The activation ranges of a static int8 model as JSON (`null` for other variants). */
  ranges(): Promise<string | null>;
  /** The static int8 twin of this fp32 model for saved ranges (no calibration). */
  withRanges(ranges: string, options?: { perChannel?: boolean }): Promise<QsModel>;
  /** Name, layers, shapes, parameter count and bytes. */
  info(): Promise<ModelInfo>;
  /** Top-5 classes of an image. Rejects with a readable `Error` for a bad image. */
  classify(image: ImageInput): Promise<Classification>;
  /** Every Conv and Gemm layer, in graph order. */
  layers(): Promise<WeightLayer[]>;
  /** One layer's weights at `bits` (2..8), per channel (default) or per tensor. */
  layerView(layer: string, options?: { bits?: number; perChannel?: boolean; bins?: number }): Promise<LayerView>;
  /** The staircase of the grid layerView() draws, and the bucket of `value` if given. */
  staircase(
    layer: string,
    options?: { bits?: number; perChannel?: boolean; points?: number; value?: number },
  ): Promise<Staircase>;
  /** Raw and deflate-compressed bytes of the weights as fp32, fp16 and int8. */
  sizes(): Promise<WeightSizes>;
  /** The image at fewer bits per pixel, each classified by this model. */
  bitDepth(image: ImageInput, options?: { maxSide?: number }): Promise<BitDepthSeries>;
  /** Raw logits for a preprocessed input (NCHW float32 of the model's input shape). */
  logits(input: Float32Array): Promise<Float32Array>;
  /** Frees the model. Later calls on it reject. */
  dispose(): Promise<void>;
}

/** The engine: one dedicated Worker running one WebAssembly build. */
export declare class Quantscope {
  private constructor();
  /** `'simd'` (single-threaded) or `'simd-threads'`. */
  readonly build: 'simd' | 'simd-threads';
  /** Number of threads actually used (1 for `'simd'`). */
  readonly threads: number;
  /** Engine version. */
  readonly version: string;
  /** Why the threaded build was not used although it was wanted, if it failed to start. */
  readonly fallbackReason?: string;
  /** How many times the worker was restarted after a crash (its models are reloaded). */
  readonly restarts: number;
  /**
   * Loads an ONNX model with its metadata (object or JSON string). The bytes are copied and
   * kept so that the model can be reloaded if the worker has to be restarted.
   * Rejects with a readable `Error` for a bad model; other models keep working.
   */
  loadModel(onnxBytes: Uint8Array | ArrayBuffer, metadata: ModelMetadata | string): Promise<QsModel>;
  /**
   * The int8 GEMM kernel's speed on EfficientNet-Lite0 shapes beside the machine's int8 ceiling
   * (a register-only loop of `i32x4.dot_i16x8_s`), in GOP/s. For benchmarks; takes ~1 s.
   */
  kernelBench(): Promise<{ peak_gops: number; gemm: { m: number; k: number; n: number; gops: number }[] }>;
  /** Stops the worker. Pending and later calls reject. */
  terminate(): void;
}

/**
 * Starts the engine in a dedicated module Worker: the threaded build when the page is
 * `crossOriginIsolated` and more than one thread is wanted (falling back to the
 * single-threaded build if it fails to start), else the single-threaded SIMD build.
 */
export declare function createQuantscope(options?: QuantscopeOptions): Promise<Quantscope>;

export default createQuantscope;
