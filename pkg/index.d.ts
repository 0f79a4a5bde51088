/**
 * quantscope: image classification in the browser with any ONNX image classifier (a single image
 * input, one score per class out; e.g. EfficientNet-Lite0, MobileNet, ResNet), run by a Rust
 * engine compiled to WebAssembly in a Worker.
 */

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
  /** The class's label: `metadata.labels[index]` (`'class <index>'` by default). */
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
  /** Model name: `metadata.name` (the file's graph name, or `'ONNX model'`, by default). */
  name: string;
  /** Number of labels (classes). */
  labels: number;
  layers: LayerInfo[];
  /** Input shape as the engine runs it, batch 1 (`metadata.input.shape`). */
  input: number[];
  /** Output shape. */
  output: number[];
  /** Total number of parameters. */
  parameters: number;
  /** Total bytes of parameters (as f32). */
  bytes: number;
  /** The model's variant, as a canonical spec (`'fp32'`, `'w8a8'`, `'w8a8-dynamic'`, ...). */
  variant: Variant;
  /** int8 weight scales per output channel. */
  per_channel: boolean;
  /** Bytes of the weights as this variant stores them. */
  weight_bytes: number;
  /** Static variants: bytes of the Conv/Gemm weights as the kernels hold them in memory (`null` otherwise). */
  kernel_weight_bytes?: number | null;
  /**
   * The metadata in use, every default filled in: what loadModel() made of its `metadata`
   * argument and the file. Valid input to {@link Quantscope.loadModel} (save it as the model's
   * `.json`, edit it, pass it back).
   */
  metadata: ResolvedMetadata;
  /** The ONNX file's own image input, before the engine bound it to batch 1. */
  file_input: FileInput;
  /**
   * Quantized variants: the nodes left in float (e.g. an op without an integer kernel), each
   * with the reason; `[]` for float models and fully integer variants.
   */
  float_nodes: FloatNode[];
}

/** The image input as declared in the ONNX file ({@link ModelInfo.file_input}). */
export interface FileInput {
  /** The input's name in the graph. */
  name: string;
  /** Its dimensions; `null` for a symbolic one (`['batch', 3, 224, 224]` gives `[null, 3, 224, 224]`). */
  dims: (number | null)[];
}

/** A node a quantized variant runs in float ({@link ModelInfo.float_nodes}). */
export interface FloatNode {
  /** The node's name in the graph. */
  name: string;
  /** Its ONNX operator, e.g. `'Softmax'`. */
  op: string;
  /** Why it stays in float. */
  reason: string;
}

/** Memory order of the input tensor: channels first (`[1, C, H, W]`) or last (`[1, H, W, C]`). */
export type InputLayout = 'NCHW' | 'NHWC';

/**
 * How a picture is brought to the input's H x W: `'crop'` scales the shorter side of the image
 * to `resize_shorter` (aspect kept) and cuts the centred H x W box; `'stretch'` resizes straight
 * to H x W (aspect not kept).
 */
export type ResizeMode = 'crop' | 'stretch';

/**
 * What {@link Quantscope.loadModel} needs to know beyond the ONNX file (the `.json` next to the
 * `.onnx`). Every field is optional: a missing one takes the default given here, most read from
 * the file. `{}` (or no metadata at all) works for any classifier with one image input; give the
 * fields your model was trained with (normalisation, labels) for right answers.
 * `(await model.info()).metadata` shows the {@link ResolvedMetadata} in use.
 */
export interface ModelMetadata {
  /** Display name. Default: the file's graph name, else `'ONNX model'`. */
  name?: string;
  /** The image input. */
  input?: {
    /** The graph input to feed. Default: the file's single input. */
    name?: string;
    /**
     * `[1, C, H, W]` (NCHW) or `[1, H, W, C]` (NHWC), C = 3 (or 1: the picture's luma). Default:
     * the file input's shape with the batch bound to 1 and an unknown H or W taken as 224 (or
     * `preprocess.crop`).
     */
    shape?: [number, number, number, number];
    /** Default: `'NHWC'` when the file's input is `[1, H, W, 3]` (or `[1, H, W, 1]`), else `'NCHW'`. */
    layout?: InputLayout;
  };
  /** Turning a picture into the input tensor: resize, then `x = (pixel - mean) / std` per channel. */
  preprocess?: {
    /** Default `'crop'`. */
    resize?: ResizeMode;
    /**
     * `'crop'`: the length the shorter side of the H x W box is scaled to before the centred cut
     * (at least `min(H, W)`). Default `round(min(H, W) * 256 / 224)`.
     */
    resize_shorter?: number;
    /** Legacy square form of the input size: must equal H and W when given (not in the resolved form). */
    crop?: number;
    /**
     * Per channel (in `channels` order), on 0..255 pixel values. Default ImageNet's
     * `[123.675, 116.28, 103.53]`.
     */
    mean?: [number, number, number];
    /** Per channel, on 0..255 pixel values. Default ImageNet's `[58.395, 57.12, 57.375]`. */
    std?: [number, number, number];
    /** Channel order the model expects. Default `'RGB'`. */
    channels?: 'RGB' | 'BGR';
  };
  /**
   * One label per output class, in output order; must number as many as the output's size.
   * Default `'class 0'` .. `'class N-1'`.
   */
  labels?: string[];
  /** Where the model comes from (free text, shown, not interpreted). */
  source?: string;
  /** The model's licence (free text). */
  license?: string;
}

/**
 * {@link ModelMetadata} with every default filled in, as {@link ModelInfo.metadata} reports it
 * (valid input to {@link Quantscope.loadModel} for the same file).
 */
export interface ResolvedMetadata {
  name: string;
  input: {
    name: string;
    shape: [number, number, number, number];
    layout: InputLayout;
  };
  preprocess: {
    resize: ResizeMode;
    /** With `resize: 'crop'` only. (A given `crop` is checked against H and W and not repeated.) */
    resize_shorter?: number;
    mean: [number, number, number];
    std: [number, number, number];
    channels: 'RGB' | 'BGR';
  };
  /** One per output class. */
  labels: string[];
  /** `''` when the metadata gave none. */
  source: string;
  /** `''` when the metadata gave none. */
  license: string;
}

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

/**
 * A variant spec: `'fp32'`, `'fp16'`, or `w<bits>a<bits>` with optional suffixes (`-kmeans`,
 * `-kmeans++`, `-pow2`, `-tensor`, `-minmax`, `-mse`, `-wasym`, `-sym`, `-dynamic`), e.g.
 * `'w8a8'`, `'w4a8'`, `'w4a8-kmeans'`, `'w2a8-pow2'`, `'w8a8-tensor'`, `'w8a4'`,
 * `'w8a8-dynamic'`. Aliases: `'int8'` = `'int8-static'` = `'w8a8'`, `'int8-static-tensor'` =
 * `'w8a8-tensor'`, `'int8-dynamic'` = `'w8a8-dynamic'`. Models report the canonical form.
 */
export type Variant = string;

/** Kinds of weight levels. */
export type WeightLevels = 'uniform' | 'kmeans' | 'kmeans++' | 'pow2';

/**
 * The weight scheme of {@link QsModel.layerView} and {@link QsModel.staircase}: `spec` (the
 * weight part matters), or `bits` / `levels` / `perChannel` (the engine's defaults otherwise).
 */
export interface WeightSchemeOptions {
  /** Any variant spec, e.g. `'w4a8-kmeans'`. Wins over the other fields. */
  spec?: Variant;
  /** Weight bits, 1..8 (2..8 for uniform levels). Default 8. */
  bits?: number;
  /** Default `'uniform'`. */
  levels?: WeightLevels;
  /** One scale (and codebook) per output channel (default) or one per tensor. */
  perChannel?: boolean;
}

/** Options of {@link QsModel.quantize}. */
export interface QuantizeOptions {
  /**
   * The variant to build (default `'w8a8'`): any spec. Static variants (not fp32, fp16 or
   * `-dynamic`) are integer-only with activation ranges from `calibration`.
   */
  variant?: Variant;
  /** Per-layer schemes (mixed precision): `{ layerName: spec }`, static specs. */
  layers?: Record<string, Variant>;
  /**
   * Older form of `variant`: `'static'` (= `'w8a8'`), `'dynamic'` (= `'w8a8-dynamic'`),
   * `'fp16'`.
   */
  mode?: 'static' | 'dynamic' | 'fp16';
  /** Range observer for static int8: `'minmax'` (default), `'percentile'` (99.99), `'percentile:P'`, `'entropy'`, `'mse'`. */
  observer?: string;
  /** Older form of the suffix `-tensor`: `false` gives one weight scale per tensor. */
  perChannel?: boolean;
  /**
   * Calibration images (static int8 needs at least one), in any form {@link QsModel.classify}
   * takes, or pictures of a loaded dataset: the whole {@link QsDataset}, or `{ dataset, start,
   * count }` (images `start..start + count`).
   */
  calibration?: ImageInput[] | QsDataset | DatasetRange;
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
  /** The weight scheme, canonical with 8-bit activations (`'w4a8-kmeans'`). */
  spec: Variant;
  /** Weight bits, 1..8: every width the engine executes. */
  bits: number;
  per_channel: boolean;
  levels_kind: WeightLevels;
  /** Range of a uniform grid: `'minmax'` or `'mse'` (least squared error, default below 8 bits). */
  clipping: 'minmax' | 'mse';
  /** The float weights over their `[min, max]`. */
  histogram: Histogram;
  /**
   * The tensor's grid, or per channel the grid of the channel with the widest range; for
   * codebooks the int8 grid the codebook is rounded to.
   */
  grid: Grid;
  grid_channel: number | null;
  /** The real values the drawn channel's codes stand for, ascending (grid levels or the codebook as stored). */
  levels: number[];
  /** Codebooks: the drawn channel's float levels (k-means centroids, powers of two) before rounding; empty for grids. */
  centroids: number[];
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
  /** `10 log10(sum w^2 / sum (w - w')^2)` in dB (`Infinity` when exact). */
  sqnr_db: number;
  /** Codebooks: SQNR of the clustering alone (weights against their float level), dB. */
  clustering_sqnr_db: number | null;
  /** Codebooks: SQNR of rounding the codebook to int8 (float level against stored level), dB. */
  codebook_sqnr_db: number | null;
  /** Bytes of the layer's weights as stored. */
  stored_bytes: { codes: number; scales: number; zero_points: number; codebooks: number };
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
  spec: Variant;
  levels_kind: WeightLevels;
  /** The uniform grid, or the int8 grid a codebook is rounded to. */
  grid: Grid;
  /** The real values the codes stand for, ascending. */
  levels: number[];
  /** Codebooks: the float levels before rounding. */
  centroids: number[];
  /** `[min, max]` of the layer's weights: the sampled range. */
  range: [number, number];
  x: number[];
  code: number[];
  dequantized: number[];
  /** Rounding thresholds between consecutive codes inside `range`. */
  edges: number[];
  clip: [number, number];
  bucket: Bucket | null;
}

/** {@link QsModel.sizes}. */
export interface WeightSizes {
  weights: number;
  biases: number;
  channels: number;
  deflate_level: number;
  variants: {
    /** Canonical spec. */
    name: Variant;
    /** Bits one stored weight code takes (32, 16, 8, 4, 2). */
    code_bits: number;
    raw_bytes: number;
    deflate_bytes: number;
    ratio: number;
    parts: { codes: number; scales: number; zero_points: number; codebooks: number; biases: number };
  }[];
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

/** Images `start..start + count` of a dataset (default: all of them from 0). */
export interface DatasetRange {
  dataset: QsDataset;
  start?: number;
  count?: number;
}

/** Options of {@link Quantscope.loadDataset}: an IDX image file and an IDX label file. */
export interface DatasetFiles {
  /** The IDX image file (`[n, rows, cols]` bytes, gzipped or not): bytes, or a URL of the page's own origin. */
  images: Uint8Array | ArrayBuffer | string | URL;
  /** The IDX label file (`[n]` bytes, gzipped or not): bytes, or a URL of the page's own origin. */
  labels: Uint8Array | ArrayBuffer | string | URL;
  /** The class names by label. Default: Fashion-MNIST's ten classes. */
  classNames?: string[];
}

/** A labelled dataset decoded in the engine ({@link Quantscope.loadDataset}). */
export declare class QsDataset {
  private constructor();
  /** Number of images. */
  readonly count: number;
  /** Number of classes. */
  readonly classes: number;
  /** Class names, by label. */
  readonly names: string[];
  /** Picture height in pixels. */
  readonly rows: number;
  /** Picture width in pixels. */
  readonly cols: number;
  /** Pictures (at most 1000 a call), grey as RGBA, with their labels. */
  images(indices: number[]): Promise<DatasetImages>;
  /** Frees the dataset. Later calls on it reject. */
  dispose(): Promise<void>;
}

/** {@link QsDataset.images}. */
export interface DatasetImages {
  width: number;
  height: number;
  images: { index: number; label: number; pixels: Uint8ClampedArray }[];
}

/** Options of {@link QsModel.accuracy}. */
export interface AccuracyOptions {
  /** The model whose answers `agreement` and `changed` compare with (e.g. the fp32 one). */
  reference?: QsModel | null;
  /** Only the first `limit` images (default: all). */
  limit?: number | null;
  /** Images per chunk: progress is reported, and a cancel takes effect, between chunks. Default 250. */
  chunk?: number;
  /** Called after each chunk. */
  onProgress?: (done: number, total: number) => void;
  /** Aborting it stops the run: the promise rejects with an `AbortError`. */
  signal?: AbortSignal;
}

/** Options of {@link QsModel.qat}. */
export interface QatOptions {
  /** The static variant trained for (default `'w4a4'`): weights and activations fake-quantized. */
  variant?: Variant;
  /** Optimisation steps (default 200). */
  steps?: number;
  /** Images per step (default 32). */
  batch?: number;
  /** Adam's learning rate, constant (default 1e-4). */
  lr?: number;
  /** Share of the steps after which the activation ranges stop moving (default 0.75). */
  freezeAt?: number;
  /** Seed of the shuffles and flips (default 1). */
  seed?: number;
  /** Test images for the live accuracy curve (the fake-quantized network at checkpoints). */
  test?: QsDataset | null;
  /** The first this many test images (default 1000). */
  testLimit?: number;
  /** Steps between checkpoints (default a tenth of the run). */
  evalEvery?: number;
  /** Called after each slice of steps (~50 ms). */
  onProgress?: (step: number, steps: number, detail: QatProgress) => void;
  /** Aborting it stops the run: the promise rejects with an `AbortError`. */
  signal?: AbortSignal;
}

/** What {@link QsModel.qat} reports after a slice of steps. */
export interface QatProgress {
  /** The training loss (mean over the epoch so far) of each step of the slice. */
  losses: { step: number; loss: number }[];
  /** Training accuracy (0..1, fake-quantized forward) after the slice's last step. */
  accuracy: number | null;
  /** Whether the activation ranges are frozen. */
  frozen: boolean;
  /** The test accuracy when the slice ended on a checkpoint. */
  test: { step: number; accuracy: number } | null;
}

/** {@link QsModel.accuracy}: the engine's figures over the images run. */
export interface AccuracyResult {
  /** The variant measured (canonical spec). */
  variant: Variant;
  /** Share of images answered with their label, 0..1. */
  accuracy: number;
  /** Share answered as the reference answers them, 0..1 (`null` without a reference). */
  agreement: number | null;
  /** Each class's accuracy (recall), by label. */
  per_class: number[];
  /** `confusion[trueLabel][answer]`: image counts; the cells add up to `images`. */
  confusion: number[][];
  /** Images counted. */
  images: number;
  /** The images whose answer differs from the reference's (empty without a reference). */
  changed: { index: number; label: number; reference: number; predicted: number }[];
}

/** {@link compareClassifications}. */
export interface Agreement {
  sameTop1: boolean;
  /** Classes shared by the two top-5 lists (0..5). */
  top5Overlap: number;
  /** KL(reference || other) in nats. */
  kl: number;
}

/** True for the specs of calibrated (static) variants: not fp32, fp16 or `-dynamic`. */
export declare function isStaticSpec(spec: Variant): boolean;

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
  /**
   * The static twin `variant` (default `'w8a8'`) of this fp32 model for saved ranges (no
   * calibration). `{ perChannel: false }` is the older form of `'w8a8-tensor'`.
   */
  withRanges(ranges: string, options?: { variant?: Variant; perChannel?: boolean }): Promise<QsModel>;
  /** The ONNX QDQ export of this (static) model as `.onnx` bytes; rejects if it cannot export. */
  exportOnnx(): Promise<Uint8Array>;
  /**
   * Name, layers, shapes, parameter count and bytes; the resolved `metadata` (every default
   * filled in), the file's own input (`file_input`) and the nodes a quantized variant left in
   * float (`float_nodes`).
   */
  info(): Promise<ModelInfo>;
  /** Top-5 classes of an image. Rejects with a readable `Error` for a bad image. */
  classify(image: ImageInput): Promise<Classification>;
  /**
   * Where one classification spends its time: one entry per graph node, in execution order
   * (decoding and preprocessing excluded). Rejects with a readable `Error` for a bad image.
   */
  profile(image: ImageInput): Promise<{ name: string; op: string; ms: number }[]>;
  /** Every Conv and Gemm layer, in graph order. */
  layers(): Promise<WeightLayer[]>;
  /** One layer's weights quantized under a scheme, with the real levels. */
  layerView(layer: string, options?: WeightSchemeOptions & { bins?: number }): Promise<LayerView>;
  /** The staircase of the channel layerView() draws, and the bucket of `value` if given. */
  staircase(layer: string, options?: WeightSchemeOptions & { points?: number; value?: number }): Promise<Staircase>;
  /**
   * Bytes of the weights as stored, raw and deflate-compressed, for fp32, fp16 and `specs`
   * (default w8a8, w8a8-tensor, w4a8, w4a8-kmeans, w2a8, w2a8-pow2).
   */
  sizes(specs?: Variant[]): Promise<WeightSizes>;
  /** The image at fewer bits per pixel, each classified by this model. */
  bitDepth(image: ImageInput, options?: { maxSide?: number }): Promise<BitDepthSeries>;
  /** Raw logits for a preprocessed input (float32 of the model's input shape, in its layout). */
  logits(input: Float32Array): Promise<Float32Array>;
  /**
   * This model's class for images `start..end` (default: all) of a dataset. Rejects, saying
   * what the model takes, unless its input is the dataset's grey picture size.
   */
  predict(dataset: QsDataset, range?: { start?: number; end?: number }): Promise<Uint32Array>;
  /** Accuracy on a dataset, in chunks, with progress and cancel (`signal`). */
  accuracy(dataset: QsDataset, options?: AccuracyOptions): Promise<AccuracyResult>;
  /**
   * Quantization-aware training of this fp32 model on `train`, then the integer variant of the
   * fine-tuned weights (its `variant` is `'<spec>-qat'`, e.g. `'w4a4-qat'`). Steps run in the
   * worker in ~50 ms slices: progress and cancel (`signal`) between them.
   */
  qat(train: QsDataset, options?: QatOptions): Promise<QsModel>;
  /** Frees the model. Later calls on it reject. */
  dispose(): Promise<void>;
}

/** The engine: one dedicated Worker running one WebAssembly build. */
export declare class Quantscope {
  private constructor();
  /**
   * `'simd'` (single-threaded) or `'simd-threads'`, or their relaxed-SIMD twins
   * `'simd-relaxed'` and `'simd-relaxed-threads'` (fused multiply-adds in the f32 kernels;
   * where the browser has relaxed SIMD).
   */
  readonly build: 'simd' | 'simd-relaxed' | 'simd-threads' | 'simd-relaxed-threads';
  /** Number of threads actually used (1 for `'simd'`). */
  readonly threads: number;
  /** Engine version. */
  readonly version: string;
  /** Why the threaded build was not used although it was wanted, if it failed to start. */
  readonly fallbackReason?: string;
  /** How many times the worker was restarted after a crash (its models are reloaded). */
  readonly restarts: number;
  /**
   * Loads an ONNX image classifier. `metadata` (a {@link ModelMetadata} object, its JSON text,
   * or omitted = `{}`) overrides what is read from the file; every field is optional and
   * defaults as documented there. The bytes are copied and kept so that the model can be
   * reloaded if the worker has to be restarted. Rejects with a `TypeError` if `metadata` is not
   * an object, a JSON object string or omitted, and with a readable `Error` for a model that
   * cannot be imported or a metadata field that does not fit it (the message names the field);
   * other models keep working.
   */
  loadModel(onnxBytes: Uint8Array | ArrayBuffer, metadata?: ModelMetadata | string): Promise<QsModel>;
  /**
   * Decodes a labelled dataset (IDX files, e.g. Fashion-MNIST's) in the engine; a URL must be
   * of the page's own origin (the worker fetches it). Rejects naming the file that is wrong.
   */
  loadDataset(files: DatasetFiles): Promise<QsDataset>;
  /**
   * The int8 GEMM kernel's speed on fixed layer shapes (EfficientNet-Lite0's) beside the machine's int8 ceiling
   * (a register-only loop of the microkernel's dot instruction, `peak_op`), and the f32 GEMM's on the same
   * shapes, in GOP/s; and the int8 depthwise kernel's time over Lite0's depthwise layers. For benchmarks;
   * takes ~2 s.
   */
  kernelBench(): Promise<{
    /** The int8 microkernel this engine runs (e.g. `UsdotRelaxed4x8`, `Simd128x4x8`). */
    ukernel: string;
    /** The rows' requantization: `fused float (f32x4.relaxed_madd)`, `float` or `integer`. */
    output_stage: string;
    /** The instruction of the peak loop. */
    peak_op: string;
    peak_gops: number;
    gemm: { m: number; k: number; n: number; gops: number }[];
    gemm_f32: { m: number; k: number; n: number; gops: number }[];
    /** ms of the int8 depthwise kernel over Lite0's 16 depthwise layers (each alone, in cache). */
    dwconv_ms: number;
  }>;
  /** The canonical spec of a variant; rejects with the grammar for a bad one. */
  parseVariant(spec: string): Promise<Variant>;
  /** The grammar of variant specs. */
  specGrammar(): Promise<string>;
  /** Stops the worker. Pending and later calls reject. */
  terminate(): void;
}

/**
 * Starts the engine in a dedicated module Worker: the threaded build when the page is
 * `crossOriginIsolated` and more than one thread is wanted (falling back to the
 * single-threaded build if it fails to start), else the single-threaded SIMD build.
 */
/** Whether this browser runs relaxed-SIMD modules (createQuantscope() then picks that build). */
export declare function relaxedSimd(): boolean;
export declare function createQuantscope(options?: QuantscopeOptions): Promise<Quantscope>;

export default createQuantscope;
