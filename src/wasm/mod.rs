//! The JavaScript API of the wasm builds (wasm-bindgen). The npm package's worker calls these;
//! every failure is a rejected `Error` whose message names the problem, never a trap.

use crate::classifier::{Classifier, Prediction, QuantizeOptions, Variant};
use crate::exec::calibrate::Ranges;
use crate::ir::summary::summarize;
use crate::ir::Tensor;
use crate::model::ModelMetadata;
use crate::quant::observer::ObserverKind;
use crate::{image, Error};
use serde::Serialize;
use wasm_bindgen::prelude::*;

mod data;
mod export;
mod qat;
mod threads;
mod train;
mod visual;
pub use data::*;
pub use qat::*;
pub use threads::*;

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`, present in windows and workers.
    #[wasm_bindgen(js_namespace = performance)]
    fn now() -> f64;
}

fn js_error(e: Error) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&format!("cannot convert the result to JavaScript: {e}")))
}

/// What this build of the engine can do.
#[derive(Serialize)]
struct BuildInfo {
    simd: bool,
    threads: bool,
    /// Whether this is the relaxed-SIMD build (fused multiply-adds in the f32 kernels).
    relaxed: bool,
    /// Whether `*Encoded` entry points decode image files (else only pixels are accepted).
    decoders: bool,
    /// The largest image accepted, in pixels.
    max_pixels: u64,
    version: &'static str,
}

/// `{ simd, threads, relaxed, decoders, max_pixels, version }` of this wasm build.
#[wasm_bindgen(js_name = buildInfo)]
pub fn build_info() -> Result<JsValue, JsError> {
    to_js(&BuildInfo {
        simd: cfg!(target_feature = "simd128"),
        threads: cfg!(feature = "threads"),
        relaxed: cfg!(target_feature = "relaxed-simd"),
        decoders: cfg!(feature = "decoders"),
        max_pixels: crate::image::MAX_PIXELS,
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// EfficientNet-Lite0's depthwise layers `(channels, input size, k, stride, count)`: the shapes
/// [`kernel_bench`] and the kernel tests' benchmark time.
pub const LITE0_DEPTHWISE_LAYERS: &[(usize, usize, usize, usize, usize)] = &[
    (32, 112, 3, 1, 1),
    (96, 112, 3, 2, 1),
    (144, 56, 3, 1, 1),
    (144, 56, 5, 2, 1),
    (240, 28, 5, 1, 1),
    (240, 28, 3, 2, 1),
    (480, 14, 3, 1, 2),
    (480, 14, 5, 1, 1),
    (672, 14, 5, 1, 2),
    (672, 14, 5, 2, 1),
    (1152, 7, 5, 1, 3),
    (1152, 7, 3, 1, 1),
];

/// `{ ukernel, output_stage, peak_op, peak_gops, gemm: [{ m, k, n, gops }], gemm_f32: [...],
/// dwconv_ms }`: the int8 GEMM kernel's speed on EfficientNet-Lite0 shapes beside the
/// machine's int8 ceiling (a register-only loop of the kernel's dot instruction, `peak_op`),
/// with the requantization form its rows got (`output_stage`), and the f32 GEMM's (ReLU6
/// epilogue) on the same shapes, in GOP/s (2 ops per multiply-add), best of at least 5 calls
/// and 20 ms; and the int8 depthwise kernel's time over Lite0's 16 depthwise layers (each
/// alone, in cache, its rows in the float form a model's get), ms.
#[wasm_bindgen(js_name = kernelBench)]
pub fn kernel_bench() -> Result<JsValue, JsError> {
    use crate::kernels::f32_gemm::{f32_gemm, PackedA};
    use crate::kernels::qs8_gemm::{qs8_gemm, PackedQA, QGemmUkernel};
    use crate::kernels::qs8_peak::qs8_best_peak;
    use crate::kernels::qs8_requant::{FloatForms, Requant};
    use crate::quant::f32_requant::F32Requant;
    use crate::quant::Multiplier;

    #[derive(Serialize)]
    struct Gemm {
        m: usize,
        k: usize,
        n: usize,
        gops: f64,
    }
    #[derive(Serialize)]
    struct KernelBench {
        ukernel: String,
        output_stage: &'static str,
        peak_op: &'static str,
        peak_gops: f64,
        gemm: Vec<Gemm>,
        gemm_f32: Vec<Gemm>,
        dwconv_ms: f64,
    }
    // The best of at least 5 calls and 20 ms: a team's helper, parked between teams, can join
    // milliseconds after the team starts (measured in Chromium: the first 1-3 ms of calls ran
    // on the leader alone), and this measures the kernel, not that wake-up.
    let best = |f: &mut dyn FnMut() -> u64| {
        let (start, mut best, mut calls) = (now(), 0.0f64, 0);
        while calls < 5 || (now() - start < 20.0 && calls < 1000) {
            let t0 = now();
            let ops = f() as f64 * 2.0;
            best = best.max(ops / ((now() - t0).max(1e-3) * 1e6));
            calls += 1;
        }
        best
    };
    let peak_gops = best(&mut || qs8_best_peak(1 << 20).0);
    let peak_op = qs8_best_peak(0).1;
    let mult = Multiplier::from_f64(1e-3).ok_or_else(|| JsError::new("multiplier 1e-3"))?;
    let mut gemm = Vec::new();
    let mut output_stage = "";
    let mut gemm_f32 = Vec::new();
    // Pointwise convolutions of EfficientNet-Lite0: late (wide, small image), early (narrow, large).
    for (m, k, n) in [(1152, 192, 49), (144, 24, 3136), (96, 16, 12544)] {
        let a: Vec<i8> = (0..m * k).map(|i| (i * 7 % 255) as i8).collect();
        let b: Vec<i8> = (0..k * n).map(|i| (i * 13 % 255) as i8).collect();
        let packed = PackedQA::pack(&a, m, k);
        let bias = vec![0; m];
        let mult = vec![mult; m];
        // The forms a model's layer would get (`exec`'s output stage).
        let float_forms = F32Requant::for_weight_rows(&mult, (&a, k), &bias, 0, i8::MIN, i8::MAX);
        let req = Requant {
            bias: &bias,
            multiplier: &mult,
            zero_point: 0,
            min: i8::MIN,
            max: i8::MAX,
            float_forms: FloatForms::checked(&float_forms, &mult, 0, i8::MIN, i8::MAX),
        };
        output_stage = match float_forms[0] {
            Some(f) if f.is_fused() => "fused float (f32x4.relaxed_madd)",
            Some(_) => "float",
            None => "integer",
        };
        let mut c = vec![0i8; m * n];
        // In a team, as inside a model run (its helpers spin between the timed products).
        let gops = crate::kernels::parallel::team(|| {
            best(&mut || {
                qs8_gemm(&packed, &b, n, &mut c, &req);
                (m * k * n) as u64
            })
        });
        gemm.push(Gemm { m, k, n, gops });
        let a: Vec<f32> = a.iter().map(|&v| f32::from(v) / 128.0).collect();
        let b: Vec<f32> = b.iter().map(|&v| f32::from(v) / 128.0).collect();
        let packed = PackedA::pack(&a, m, k);
        let bias = vec![0.0f32; m];
        let relu6 = crate::kernels::Epilogue {
            bias: Some(&bias),
            min: 0.0,
            max: 6.0,
        };
        let mut c = vec![0f32; m * n];
        let gops = crate::kernels::parallel::team(|| {
            best(&mut || {
                f32_gemm(&packed, &b, n, &mut c, &relu6);
                (m * k * n) as u64
            })
        });
        gemm_f32.push(Gemm { m, k, n, gops });
    }
    // Lite0's depthwise layers, SAME padding.
    let mut dwconv_ms = 0.0;
    for &(c, hw, k, s, count) in LITE0_DEPTHWISE_LAYERS {
        use crate::kernels::qs8_dwconv::{qs8_dwconv_prepared, Qs8DwFilters};
        use crate::kernels::ConvGeometry;
        let out = hw.div_ceil(s);
        let pad = ((out - 1) * s + k).saturating_sub(hw) / 2;
        let g = ConvGeometry {
            channels: c,
            in_h: hw,
            in_w: hw,
            out_h: out,
            out_w: out,
            kh: k,
            kw: k,
            stride: [s, s],
            dilation: [1, 1],
            pad: [pad, pad],
        };
        let x: Vec<i8> = (0..c * hw * hw).map(|i| (i * 13 % 255) as i8).collect();
        let w: Vec<i8> = (0..c * k * k).map(|i| (i * 7 % 255) as i8).collect();
        let bias = vec![0; c];
        let mult = vec![mult; c];
        let float_forms = F32Requant::for_weight_rows(&mult, (&w, k * k), &bias, 0, 0, i8::MAX);
        let req = Requant {
            bias: &bias,
            multiplier: &mult,
            zero_point: 0,
            min: 0,
            max: i8::MAX,
            float_forms: FloatForms::checked(&float_forms, &mult, 0, 0, i8::MAX),
        };
        let mut y = vec![0i8; c * out * out];
        let macs = c * out * out * k * k;
        // Prepared once, as a model's layer is.
        let filters = Qs8DwFilters::new(&g, &w);
        let gops = crate::kernels::parallel::team(|| {
            best(&mut || {
                qs8_dwconv_prepared(&g, &x, 0, &filters, &req, &mut y);
                macs as u64
            })
        });
        dwconv_ms += count as f64 * 2.0 * macs as f64 / gops / 1e6;
    }
    to_js(&KernelBench {
        dwconv_ms,
        ukernel: format!("{:?}", QGemmUkernel::best()),
        output_stage,
        peak_op,
        peak_gops,
        gemm,
        gemm_f32,
    })
}

/// The result of one classification.
#[derive(Serialize)]
struct Classification {
    top5: Vec<Prediction>,
    /// Softmax probability of every class (for KL and agreement between variants).
    probs: Vec<f32>,
    /// Model time in milliseconds (decoding and preprocessing excluded).
    ms: f64,
    /// Decoding and preprocessing time in milliseconds.
    preprocess_ms: f64,
}

/// A loaded float model.
#[wasm_bindgen]
pub struct Model {
    classifier: Classifier,
}

#[wasm_bindgen]
impl Model {
    /// Imports ONNX bytes with their metadata JSON (labels, preprocessing, input shape; any
    /// field left out is filled from the file, `{}` is valid).
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: &[u8], metadata_json: &str) -> Result<Model, JsError> {
        let meta = ModelMetadata::from_json(metadata_json).map_err(js_error)?;
        let classifier = Classifier::new(onnx, meta).map_err(js_error)?;
        Ok(Model { classifier })
    }

    /// `{ name, labels, variant, per_channel, weight_bytes, kernel_weight_bytes, metadata,
    /// file_input: { name, dims }, float_nodes: [{ name, op, reason }], layers: [{ name, op,
    /// input, output, parameters, bytes }], input, output, parameters, bytes }`: `metadata` is
    /// the metadata with every default filled in (valid input for the same file), `dims` the
    /// file's own input dims (`null` where it leaves one open), `float_nodes` the nodes an
    /// int8 variant runs in float.
    pub fn info(&self) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct Info<'a> {
            name: &'a str,
            labels: usize,
            variant: String,
            per_channel: bool,
            weight_bytes: usize,
            kernel_weight_bytes: Option<usize>,
            metadata: &'a ModelMetadata,
            file_input: &'a crate::onnx::FileInput,
            float_nodes: Vec<crate::quant::lower::FloatNode>,
            #[serde(flatten)]
            summary: crate::ir::summary::ModelSummary,
        }
        let c = &self.classifier;
        to_js(&Info {
            name: &c.metadata().name,
            labels: c.metadata().labels.len(),
            variant: c.variant().to_string(),
            per_channel: c.per_channel(),
            weight_bytes: c.weight_bytes(),
            kernel_weight_bytes: c.kernel_weight_bytes(),
            metadata: c.metadata(),
            file_input: c.file_input(),
            float_nodes: c
                .int8_executor()
                .map(|e| e.quantized().float_nodes())
                .unwrap_or_default(),
            summary: summarize(c.graph()),
        })
    }

    /// Classifies an encoded image (JPEG, PNG, WebP, GIF, BMP): `{ top5, probs, ms,
    /// preprocess_ms }`.
    #[wasm_bindgen(js_name = classifyEncoded)]
    pub fn classify_encoded(&self, bytes: &[u8]) -> Result<JsValue, JsError> {
        let start = now();
        let img = image::decode(bytes).map_err(js_error)?;
        self.classify_image(&img, start)
    }

    /// Classifies raw RGBA pixels (canvas `ImageData`): `{ top5, probs, ms, preprocess_ms }`.
    #[wasm_bindgen(js_name = classifyRgba)]
    pub fn classify_rgba(
        &self,
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    ) -> Result<JsValue, JsError> {
        let start = now();
        let img = image::from_rgba(width, height, rgba).map_err(js_error)?;
        self.classify_image(&img, start)
    }

    /// The canonical spec: `"fp32"`, `"fp16"`, `"w8a8"`, `"w8a8-dynamic"`, `"w4a8-kmeans"`, ...
    pub fn variant(&self) -> String {
        self.classifier.variant().to_string()
    }

    /// Bytes of the weights as this variant stores them.
    #[wasm_bindgen(js_name = weightBytes)]
    pub fn weight_bytes(&self) -> usize {
        self.classifier.weight_bytes()
    }

    /// A quantized twin of this fp32 model. `options`: `{ variant: "w8a8" (default) | "w4a8" |
    /// "w4a8-kmeans" | ... | "fp16" | "fp32" (any spec, see `quant::scheme`), observer:
    /// "minmax" (default) | "percentile[:P]" | "entropy" | "mse", layers: { name: spec }
    /// (per-layer schemes) }`; the older `mode` ("static", "dynamic" or a variant name) and
    /// `perChannel: false` (the suffix -tensor) are still accepted. Static variants calibrate on
    /// `calibration` and call `onProgress(done, total)` after each image.
    pub fn quantize(
        &self,
        options: JsValue,
        calibration: &CalibrationSet,
        on_progress: Option<js_sys::Function>,
    ) -> Result<Model, JsError> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct Options {
            variant: Option<String>,
            mode: Option<String>,
            observer: Option<String>,
            per_channel: Option<bool>,
            layers: Option<std::collections::BTreeMap<String, String>>,
        }
        let o: Options = if options.is_undefined() || options.is_null() {
            Options {
                variant: None,
                mode: None,
                observer: None,
                per_channel: None,
                layers: None,
            }
        } else {
            serde_wasm_bindgen::from_value(options)
                .map_err(|e| JsError::new(&format!("quantize options: {e}")))?
        };
        let spec = match (o.variant.as_deref(), o.mode.as_deref()) {
            (Some(v), _) => v,
            (None, None | Some("static")) => "w8a8",
            (None, Some("dynamic")) => "w8a8-dynamic",
            (None, Some(m)) => m,
        };
        let mut variant = Variant::parse(spec).map_err(js_error)?;
        if o.per_channel == Some(false) {
            variant = variant.per_tensor();
        }
        let mut overrides = std::collections::BTreeMap::new();
        for (name, spec) in o.layers.unwrap_or_default() {
            match Variant::parse(&spec).map_err(js_error)? {
                Variant::Static(s) => overrides.insert(name, s),
                _ => {
                    return Err(JsError::new(&format!(
                    "layers['{name}']: a layer takes a static scheme (w<b>a<b>...), not '{spec}'"
                )))
                }
            };
        }
        let opts = QuantizeOptions {
            variant,
            observer: match &o.observer {
                Some(s) => ObserverKind::parse(s).map_err(js_error)?,
                None => ObserverKind::MinMax,
            },
            overrides,
        };
        let mut progress = |done: usize, total: usize| {
            if let Some(f) = &on_progress {
                // A throwing callback must not abort calibration.
                let _ = f.call2(
                    &JsValue::NULL,
                    &(done as f64).into(),
                    &(total as f64).into(),
                );
            }
        };
        let classifier = self
            .classifier
            .quantize(&opts, &calibration.inputs, &mut progress)
            .map_err(js_error)?;
        Ok(Model { classifier })
    }

    /// The calibrated activation ranges of a static int8 model, as JSON (else `undefined`).
    pub fn ranges(&self) -> Result<Option<String>, JsError> {
        self.classifier
            .ranges()
            .map(|r| serde_json::to_string(r).map_err(|e| JsError::new(&e.to_string())))
            .transpose()
    }

    /// The static twin `spec` (`"w8a8"`, `"w4a8-kmeans"`, ...) of this fp32 model for saved
    /// ranges (JSON from [`ranges`](Self::ranges) or `quantscope quantize --ranges-out`): no
    /// calibration, and the same integers on every machine.
    #[wasm_bindgen(js_name = withRanges)]
    pub fn with_ranges(&self, ranges_json: &str, spec: &str) -> Result<Model, JsError> {
        let ranges: Ranges = serde_json::from_str(ranges_json)
            .map_err(|e| JsError::new(&format!("ranges JSON: {e}")))?;
        let Variant::Static(scheme) = Variant::parse(spec).map_err(js_error)? else {
            return Err(JsError::new(&format!(
                "withRanges builds a static variant (w<b>a<b>...), not '{spec}'"
            )));
        };
        let classifier = self
            .classifier
            .with_ranges(&ranges, &scheme.into())
            .map_err(js_error)?;
        Ok(Model { classifier })
    }

    /// Time per node for one run on an encoded image: `[{ name, op, ms }]`, in execution order.
    #[wasm_bindgen(js_name = profileEncoded)]
    pub fn profile_encoded(&self, bytes: &[u8]) -> Result<JsValue, JsError> {
        let img = image::decode(bytes).map_err(js_error)?;
        self.profile_image(&img)
    }

    /// [`profile_encoded`](Self::profile_encoded) for raw RGBA pixels (canvas `ImageData`).
    #[wasm_bindgen(js_name = profileRgba)]
    pub fn profile_rgba(&self, width: u32, height: u32, rgba: Vec<u8>) -> Result<JsValue, JsError> {
        let img = image::from_rgba(width, height, rgba).map_err(js_error)?;
        self.profile_image(&img)
    }

    /// Raw logits for an already preprocessed input (NCHW f32, the model's input shape).
    pub fn logits(&self, input: Vec<f32>) -> Result<Vec<f32>, JsError> {
        let shape = self.classifier.metadata().input.shape.clone();
        let tensor = Tensor::from_shape_vec(shape.clone(), input).map_err(|_| {
            JsError::new(&format!(
                "input does not have the shape {}",
                crate::error::shape_text(&shape)
            ))
        })?;
        self.classifier.logits(&tensor).map_err(js_error)
    }
}

/// Calibration images, decoded and preprocessed for one model as they are added.
#[wasm_bindgen]
#[derive(Default)]
pub struct CalibrationSet {
    inputs: Vec<Tensor>,
}

#[wasm_bindgen]
impl CalibrationSet {
    /// An empty set.
    #[wasm_bindgen(constructor)]
    pub fn new() -> CalibrationSet {
        CalibrationSet::default()
    }

    /// Adds an encoded image (JPEG, PNG, WebP, GIF, BMP), preprocessed for `model`.
    #[wasm_bindgen(js_name = addEncoded)]
    pub fn add_encoded(&mut self, model: &Model, bytes: &[u8]) -> Result<(), JsError> {
        let img = image::decode(bytes).map_err(js_error)?;
        self.inputs.push(model.classifier.input_tensor(&img));
        Ok(())
    }

    /// Adds raw RGBA pixels, preprocessed for `model`.
    #[wasm_bindgen(js_name = addRgba)]
    pub fn add_rgba(
        &mut self,
        model: &Model,
        width: u32,
        height: u32,
        rgba: Vec<u8>,
    ) -> Result<(), JsError> {
        let img = image::from_rgba(width, height, rgba).map_err(js_error)?;
        self.inputs.push(model.classifier.input_tensor(&img));
        Ok(())
    }

    /// Number of images.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.inputs.len()
    }
}

impl Model {
    fn profile_image(&self, img: &::image::RgbImage) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct NodeMs {
            name: String,
            op: &'static str,
            ms: f64,
        }
        let input = self.classifier.input_tensor(img);
        let (_, times) = self
            .classifier
            .logits_profiled(&input, now)
            .map_err(js_error)?;
        let rows: Vec<NodeMs> = times
            .into_iter()
            .map(|(name, op, ms)| NodeMs { name, op, ms })
            .collect();
        to_js(&rows)
    }

    fn classify_image(&self, img: &::image::RgbImage, start: f64) -> Result<JsValue, JsError> {
        let input = self.classifier.input_tensor(img);
        let t0 = now();
        let logits = self.classifier.logits(&input).map_err(js_error)?;
        let ms = now() - t0;
        let top5 = self.classifier.predictions(&logits, 5);
        to_js(&Classification {
            top5,
            probs: crate::classifier::softmax(&logits),
            ms,
            preprocess_ms: t0 - start,
        })
    }
}
