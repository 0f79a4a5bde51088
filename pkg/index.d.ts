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
  /** Name, layers, shapes, parameter count and bytes. */
  info(): Promise<ModelInfo>;
  /** Top-5 classes of an image. Rejects with a readable `Error` for a bad image. */
  classify(image: ImageInput): Promise<Classification>;
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
