//! A model plus its metadata: image in, top-k labels out, in any of the variants (float,
//! float16 weights, int8 dynamic range, int8 static).

use crate::exec::calibrate::{calibrate, Ranges};
use crate::exec::float::WeightMode;
use crate::exec::{FloatExecutor, Int8Executor};
use crate::image::preprocess;
use crate::ir::{Graph, Tensor};
use crate::model::ModelMetadata;
use crate::onnx::{load_model, ImportOptions};
use crate::quant::fp16::fp16_weights;
use crate::quant::lower::quantize_static;
use crate::quant::observer::ObserverKind;
use crate::quant::order::{sort_keys, total_order_key};
use crate::quant::scheme::{LayerSchemes, Scheme, VariantSpec};
use crate::{Error, Result};
use image::RgbImage;
use serde::Serialize;
use std::collections::BTreeMap;

/// One ranked class.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prediction {
    /// Output index (ImageNet class id).
    pub index: usize,
    /// Class name.
    pub label: String,
    /// Softmax probability.
    pub prob: f32,
}

/// How a classifier computes: `fp32`, `fp16` or a quantization spec (`w8a8`, `w4a8-kmeans`,
/// ...; see [`crate::quant::scheme`]).
pub type Variant = VariantSpec;

/// How [`Classifier::quantize`] derives a variant.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizeOptions {
    /// The variant to build.
    pub variant: Variant,
    /// Range observer for calibration (static variants only).
    pub observer: ObserverKind,
    /// Schemes of single layers (by node name) instead of the variant's (mixed precision).
    pub overrides: BTreeMap<String, Scheme>,
}

impl Default for QuantizeOptions {
    /// Static int8 (`w8a8`), MinMax ranges.
    fn default() -> Self {
        QuantizeOptions {
            variant: VariantSpec::INT8,
            observer: ObserverKind::MinMax,
            overrides: BTreeMap::new(),
        }
    }
}

impl QuantizeOptions {
    /// Options for `variant` with MinMax ranges.
    pub fn new(variant: Variant) -> QuantizeOptions {
        QuantizeOptions {
            variant,
            ..Default::default()
        }
    }
}

/// The executor behind a classifier.
#[derive(Debug)]
enum Engine {
    Float(FloatExecutor),
    Int8(Int8Executor),
}

/// A classifier ready to run.
pub struct Classifier {
    engine: Engine,
    metadata: ModelMetadata,
    variant: Variant,
    /// Schemes of a static variant's layers.
    schemes: Option<LayerSchemes>,
    /// Calibrated activation ranges (static int8).
    ranges: Option<Ranges>,
    /// Whether the graph reads channels-last input (`[1, H, W, 3]`): an NHWC file whose input
    /// the importer could not turn into NCHW.
    input_nhwc: bool,
    /// The image input as the file declares it (open dimensions as `None`).
    file_input: crate::onnx::FileInput,
}

/// Whether `graph` (one input) reads its image channels last, given the metadata's input
/// size and layout: `[1, C, H, W]` is NCHW (also an NHWC file whose leading Transpose the
/// importer removed), `[1, H, W, C]` with layout `NHWC` is fed channels last; anything else is
/// an error, which says when the problem is the layout.
fn input_layout(graph: &crate::ir::Graph, metadata: &ModelMetadata) -> Result<bool> {
    let shapes = || {
        graph
            .inputs
            .iter()
            .map(|&i| {
                let v = &graph.values[i];
                format!("'{}' {}", v.name, crate::error::shape_text(&v.shape))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let &[i] = graph.inputs.as_slice() else {
        return Err(Error::Metadata(format!(
            "the model takes {} inputs ({}), not one image",
            graph.inputs.len(),
            shapes()
        )));
    };
    let (height, width) = metadata.input_size();
    let hw = (height as usize, width as usize);
    let c = metadata.input_channels();
    let layout = metadata.input.layout.as_str();
    match graph.shape(i) {
        [1, ch, h, w] if *ch == c && (*h, *w) == hw => Ok(false),
        [1, h, w, ch] if *ch == c && (*h, *w) == hw && layout == "NHWC" => Ok(true),
        [1, h, w, ch] if *ch == c && (*h, *w) == hw => Err(Error::Metadata(format!(
            "layout: the model's input {} is channels last, but field `input.layout` says \
             {layout:?}: set it to \"NHWC\"",
            shapes()
        ))),
        _ => Err(Error::Metadata(format!(
            "the model's input ({}) is not one [1, {c}, {height}, {width}] image (or [1, \
             {height}, {width}, {c}] with layout NHWC)",
            shapes()
        ))),
    }
}

impl Classifier {
    /// Imports the ONNX bytes with the input shape the metadata gives and checks that the
    /// graph takes one image tensor and yields one score per label.
    pub fn new(onnx: &[u8], metadata: ModelMetadata) -> Result<Self> {
        let file = crate::onnx::describe(onnx)?;
        let mut metadata = metadata.resolve(&file)?;
        let file_input = file
            .inputs
            .into_iter()
            .find(|i| i.name == metadata.input.name)
            .expect("resolve() names one of the file's inputs");
        let options = ImportOptions {
            input_shapes: vec![(metadata.input.name.clone(), metadata.input.shape.clone())],
            ..Default::default()
        };
        let graph = load_model(onnx, &options)?;
        let input_nhwc = input_layout(&graph, &metadata)?;
        let classes = match graph.outputs.as_slice() {
            [o] => graph.shape(*o).iter().product::<usize>(),
            outputs => {
                return Err(Error::Metadata(format!(
                    "the model has {} outputs, not one score per class",
                    outputs.len()
                )))
            }
        };
        if metadata.labels.is_empty() {
            metadata.labels = crate::model::default_labels(classes);
        } else if metadata.labels.len() != classes {
            return Err(Error::Metadata(format!(
                "field `labels`: {} labels, but the model's output gives {classes} scores",
                metadata.labels.len()
            )));
        }
        Ok(Classifier {
            engine: Engine::Float(FloatExecutor::new(graph)?),
            metadata,
            variant: Variant::Fp32,
            schemes: None,
            ranges: None,
            input_nhwc,
            file_input,
        })
    }

    /// This classifier's variant.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// True when integer weight scales are per output channel.
    pub fn per_channel(&self) -> bool {
        self.variant.scheme().is_some_and(|s| s.per_channel())
    }

    /// The layer schemes of a static variant.
    pub fn schemes(&self) -> Option<&LayerSchemes> {
        self.schemes.as_ref()
    }

    /// The float graph (structure, shapes, float weights; the fp16 variant's are rounded).
    pub fn graph(&self) -> &Graph {
        match &self.engine {
            Engine::Float(e) => e.graph(),
            Engine::Int8(e) => &e.quantized().graph,
        }
    }

    /// The f32 executor (fp32, fp16 and int8-dynamic variants).
    pub fn float_executor(&self) -> Option<&FloatExecutor> {
        match &self.engine {
            Engine::Float(e) => Some(e),
            Engine::Int8(_) => None,
        }
    }

    /// The int8 executor (static int8 variant).
    pub fn int8_executor(&self) -> Option<&Int8Executor> {
        match &self.engine {
            Engine::Int8(e) => Some(e),
            Engine::Float(_) => None,
        }
    }

    /// The calibrated activation ranges (static int8 variant).
    pub fn ranges(&self) -> Option<&Ranges> {
        self.ranges.as_ref()
    }

    /// Bytes of the learned parameters as this variant stores them: 4 per float, 2 per fp16
    /// value, and for int8 one per weight plus an int32 bias and an f32 scale per channel.
    pub fn weight_bytes(&self) -> usize {
        let params = self.graph().parameter_count();
        match (&self.engine, self.variant) {
            (_, Variant::Fp16) => 2 * params,
            (Engine::Int8(e), _) => crate::quant::report::int8_weight_bytes(e.quantized()),
            (Engine::Float(e), Variant::Dynamic(s)) => {
                crate::quant::report::dynamic_bytes(e.graph(), s.per_channel())
            }
            _ => 4 * params,
        }
    }

    /// Bytes of the static variants' Conv/Gemm weights as their kernels hold them in memory
    /// (i16 panels at 5..8 bits, packed codes and tables below; `None` for float executors).
    pub fn kernel_weight_bytes(&self) -> Option<usize> {
        self.int8_executor().map(Int8Executor::kernel_weight_bytes)
    }

    /// A new classifier of the variant `options` asks for, derived from this fp32 one;
    /// `calibration` (preprocessed images) is used by static int8 only, with `progress`
    /// called after each image.
    pub fn quantize(
        &self,
        options: &QuantizeOptions,
        calibration: &[Tensor],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Classifier> {
        let float = match (&self.engine, self.variant) {
            (Engine::Float(e), Variant::Fp32) => e,
            _ => {
                return Err(Error::Input(format!(
                    "quantize from the fp32 model, not from {}",
                    self.variant
                )))
            }
        };
        let graph = float.graph();
        let engine = match options.variant {
            Variant::Fp32 => Engine::Float(FloatExecutor::new(graph.clone())?),
            Variant::Fp16 => Engine::Float(FloatExecutor::new(fp16_weights(graph))?),
            Variant::Dynamic(scheme) => Engine::Float(FloatExecutor::with_weights(
                graph.clone(),
                WeightMode::DynamicInt8 { scheme },
            )?),
            Variant::Static(scheme) => {
                let ranges = calibrate(
                    float,
                    options.observer,
                    calibration.iter().cloned(),
                    progress,
                )?;
                let schemes = LayerSchemes {
                    default: scheme,
                    overrides: options.overrides.clone(),
                };
                return self.with_ranges(&ranges, &schemes);
            }
        };
        Ok(Classifier {
            engine,
            metadata: self.metadata.clone(),
            variant: options.variant,
            schemes: None,
            ranges: None,
            input_nhwc: self.input_nhwc,
            file_input: self.file_input.clone(),
        })
    }

    /// The static (integer-only) classifier for given activation ranges (e.g. a calibration
    /// saved elsewhere: the same ranges give bit-identical results on every target), its
    /// variant named by the default scheme. Activation ranges do not depend on the weights,
    /// so one calibration serves every static variant.
    pub fn with_ranges(&self, ranges: &Ranges, schemes: &LayerSchemes) -> Result<Classifier> {
        let q = quantize_static(self.graph(), &ranges.ranges, schemes)?;
        Ok(Classifier {
            engine: Engine::Int8(Int8Executor::new(q)?),
            metadata: self.metadata.clone(),
            variant: Variant::Static(schemes.default),
            schemes: Some(schemes.clone()),
            ranges: Some(ranges.clone()),
            input_nhwc: self.input_nhwc,
            file_input: self.file_input.clone(),
        })
    }

    /// The metadata the classifier was built with, every default filled in (see
    /// [`ModelMetadata::resolve`]): itself valid metadata for the same file.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// The image input as the ONNX file declares it: its name and dimensions, `None` where
    /// the file leaves one open (what the metadata had to decide).
    pub fn file_input(&self) -> &crate::onnx::FileInput {
        &self.file_input
    }

    /// The preprocessed input tensor for an image.
    pub fn input_tensor(&self, img: &RgbImage) -> Tensor {
        let m = &self.metadata;
        let (height, width) = m.input_size();
        let x = preprocess(img, &m.preprocess, height, width, m.input_channels());
        if self.input_nhwc {
            x.permuted_axes(ndarray::IxDyn(&[0, 2, 3, 1]))
                .as_standard_layout()
                .into_owned()
        } else {
            x
        }
    }

    /// Raw scores for a preprocessed input tensor.
    pub fn logits(&self, input: &Tensor) -> Result<Vec<f32>> {
        let inputs = std::slice::from_ref(input);
        let out = match &self.engine {
            Engine::Float(e) => e.run(inputs)?,
            Engine::Int8(e) => e.run(inputs)?,
        };
        Ok(out
            .into_iter()
            .next()
            .map(|t| t.into_raw_vec_and_offset().0)
            .unwrap_or_default())
    }

    /// Raw scores and the time spent in each node, timed with `clock` (milliseconds).
    pub fn logits_profiled(
        &self,
        input: &Tensor,
        clock: impl FnMut() -> f64,
    ) -> Result<(Vec<f32>, Vec<crate::exec::float::NodeTime>)> {
        let inputs = std::slice::from_ref(input);
        let (out, times) = match &self.engine {
            Engine::Float(e) => e.run_profiled(inputs, clock)?,
            Engine::Int8(e) => e.run_profiled(inputs, clock)?,
        };
        let logits = out
            .into_iter()
            .next()
            .map(|t| t.into_raw_vec_and_offset().0)
            .unwrap_or_default();
        Ok((logits, times))
    }

    /// The `k` most probable labels for an image.
    pub fn classify(&self, img: &RgbImage, k: usize) -> Result<Vec<Prediction>> {
        let logits = self.logits(&self.input_tensor(img))?;
        Ok(self.predictions(&logits, k))
    }

    /// The `k` most probable labels for the model's logits.
    pub fn predictions(&self, logits: &[f32], k: usize) -> Vec<Prediction> {
        top_k(&softmax(logits), k, &self.metadata.labels)
    }
}

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&x| (x - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// The indices of `x`, largest value first, ties by index (top-k and agreement rank alike).
fn ranked(x: &[f32]) -> Vec<usize> {
    // Keys `(!value key, index)`: descending values, ascending indices, in one u64 sort.
    let mut keys: Vec<u64> = (0u32..)
        .zip(x)
        .map(|(i, &v)| u64::from(!total_order_key(v)) << 32 | u64::from(i))
        .collect();
    sort_keys(&mut keys);
    keys.into_iter().map(|k| k as u32 as usize).collect()
}

/// The `k` largest probabilities, best first, with their labels.
pub fn top_k(probs: &[f32], k: usize, labels: &[String]) -> Vec<Prediction> {
    ranked(probs)
        .into_iter()
        .take(k)
        .map(|i| Prediction {
            index: i,
            label: labels
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("class {i}")),
            prob: probs[i],
        })
        .collect()
}

/// How a variant's logits agree with the float model's on one input.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Agreement {
    /// Same most probable class.
    pub same_top1: bool,
    /// Classes shared by the two top-5 lists.
    pub top5_overlap: usize,
    /// `KL(p_float || p_variant)` of the softmax probabilities, nats.
    pub kl: f64,
    /// SQNR of the variant's logits against float's, dB.
    pub logit_sqnr_db: f64,
}

/// The agreement of `other` logits with `reference` (float) logits.
pub fn agreement(reference: &[f32], other: &[f32]) -> Agreement {
    let (p, q) = (softmax(reference), softmax(other));
    let top5 = |x: &[f32]| -> Vec<usize> {
        let mut idx = ranked(x);
        idx.truncate(5);
        idx
    };
    let (tp, tq) = (top5(&p), top5(&q));
    let kl = p
        .iter()
        .zip(&q)
        .filter(|(&a, _)| a > 0.0)
        .map(|(&a, &b)| a as f64 * (a as f64 / (b as f64).max(1e-38)).ln())
        .sum::<f64>()
        .max(0.0);
    Agreement {
        same_top1: tp.first() == tq.first(),
        top5_overlap: tp.iter().filter(|i| tq.contains(i)).count(),
        kl,
        logit_sqnr_db: crate::quant::weights::sqnr_db(reference, other),
    }
}

/// [`Agreement`] over a set of inputs.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AgreementSummary {
    /// Inputs compared.
    pub images: usize,
    /// Inputs with float's top-1.
    pub top1_agree: usize,
    /// Mean KL divergence from float, nats.
    pub mean_kl: f64,
    /// Mean logit SQNR against float, dB.
    pub mean_logit_sqnr_db: f64,
    /// Mean top-5 overlap.
    pub mean_top5_overlap: f64,
}

impl AgreementSummary {
    /// The summary of `all`.
    pub fn of(all: &[Agreement]) -> AgreementSummary {
        let n = all.len().max(1) as f64;
        AgreementSummary {
            images: all.len(),
            top1_agree: all.iter().filter(|a| a.same_top1).count(),
            mean_kl: all.iter().map(|a| a.kl).sum::<f64>() / n,
            mean_logit_sqnr_db: all.iter().map(|a| a.logit_sqnr_db).sum::<f64>() / n,
            mean_top5_overlap: all.iter().map(|a| a.top5_overlap as f64).sum::<f64>() / n,
        }
    }
}
