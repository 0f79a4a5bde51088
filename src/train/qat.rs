//! Quantization-aware training (QAT): fine-tune a trained float network while its forward pass
//! sees the integer variant's weights and activations, then hand the result to the integer
//! engine.
//!
//! 1. [`prepare`]: batch norms folded into the convolutions (the engine sees no batch norm
//!    either), every convolution and dense layer fake-quantizes its weights under the scheme
//!    ([`WeightQuant`]), and an [`ActQuant`] follows every value the integer engine quantizes:
//!    the input, each ReLU's output (the engine fuses ReLU into the layer before it and
//!    quantizes the fused output), and the logits (on the 8-bit output grid,
//!    [`Scheme::output_grid`]). Max pool and flatten keep their input's grid
//!    in the engine, so they need none.
//! 2. Training runs as usual ([`super::Trainer`]); the straight-through estimator carries the
//!    gradients. Activation ranges follow a moving average, and [`freeze_ranges`] fixes them
//!    for the last steps.
//! 3. [`float_network`] (the latent float weights, no fake quantization) is exported as ONNX,
//!    and [`ranges`] are the activation ranges by that model's value names: together they
//!    build the integer variant (`Classifier::with_ranges`), which quantizes the weights with
//!    the same function the fake quantization used, so the engine runs the codes QAT trained.

use super::export::{onnx_bytes, value_name};
use super::layers::{ActQuant, Layer, WeightQuant};
use super::net::Sequential;
use super::optim::OptimizerKind;
use super::trainer::{Schedule, TrainConfig, Trainer};
use super::{FASHION_MNIST_MEAN, FASHION_MNIST_STD};
use crate::data::Dataset;
use crate::exec::calibrate::Ranges;
use crate::ir::Graph;
use crate::model::Preprocess;
use crate::quant::Scheme;
use crate::{Error, Result};

/// Momentum of the activation ranges' moving average (TF-MOT's default is 0.999 over many
/// more steps; QAT here runs a few hundred to a few thousand steps).
pub const RANGE_MOMENTUM: f32 = 0.99;

/// The network of `trained` made ready for QAT under `scheme` (see the module's step 1).
pub fn prepare(trained: &Sequential, scheme: Scheme) -> Result<Sequential> {
    let folded = trained.fold_batchnorm()?;
    let last = folded.layers.len().saturating_sub(1);
    let mut layers = Vec::with_capacity(folded.layers.len() * 2);
    layers.push(Layer::ActQuant(ActQuant::new(
        super::export::INPUT_NAME,
        scheme,
        RANGE_MOMENTUM,
    )));
    for (i, mut layer) in folded.layers.into_iter().enumerate() {
        match &mut layer {
            Layer::Conv2d(c) => c.weight_quant = Some(WeightQuant::new(scheme)),
            Layer::Dense(d) => d.weight_quant = Some(WeightQuant::new(scheme)),
            _ => {}
        }
        let quantized_output = matches!(layer, Layer::Relu(_)) || i == last;
        let kind = layer.kind();
        layers.push(layer);
        if quantized_output {
            let value = value_name(kind, i, last);
            // The logits take the engine's output grid.
            let grid = if i == last {
                scheme.output_grid()
            } else {
                scheme
            };
            layers.push(Layer::ActQuant(ActQuant::new(value, grid, RANGE_MOMENTUM)));
        }
    }
    Ok(Sequential {
        input: folded.input,
        layers,
    })
}

/// Tells every convolution and dense layer the scale of its input's grid (the last activation
/// quantizer before it: ReLU, max pool and flatten keep a grid), so its bias is rounded as the
/// engine rounds it. Called before every pass, since the ranges move until frozen.
pub fn sync_input_scales(net: &mut Sequential) {
    let mut scale = None;
    for layer in &mut net.layers {
        match layer {
            Layer::ActQuant(a) => scale = a.tracker.params(&a.scheme).map(|p| p.scale),
            Layer::Conv2d(c) => {
                if let Some(q) = &mut c.weight_quant {
                    q.input_scale = scale;
                }
                scale = None;
            }
            Layer::Dense(d) => {
                if let Some(q) = &mut d.weight_quant {
                    q.input_scale = scale;
                }
                scale = None;
            }
            _ => {}
        }
    }
}

/// Stops every activation range from moving (the last steps train on fixed grids).
pub fn freeze_ranges(net: &mut Sequential) {
    for layer in &mut net.layers {
        if let Layer::ActQuant(a) = layer {
            a.tracker.frozen = true;
        }
    }
}

/// The network without fake quantization: the latent float weights the optimizer trained,
/// layer for layer as [`prepare`] received them (batch norms folded).
pub fn float_network(net: &Sequential) -> Sequential {
    let layers = net
        .layers
        .iter()
        .filter(|l| !matches!(l, Layer::ActQuant(_)))
        .cloned()
        .map(|mut l| {
            match &mut l {
                Layer::Conv2d(c) => c.weight_quant = None,
                Layer::Dense(d) => d.weight_quant = None,
                _ => {}
            }
            l
        })
        .collect();
    Sequential {
        input: net.input,
        layers,
    }
}

/// The tracked activation ranges by the exported model's value names, for
/// `Classifier::with_ranges` (`images`: how many training images moved them).
pub fn ranges(net: &Sequential, images: usize) -> Ranges {
    // Inserted, not collected: `collect` into a map is a stable sort of its own.
    let mut ranges = std::collections::BTreeMap::new();
    for l in &net.layers {
        if let Layer::ActQuant(a) = l {
            if let Some(r) = a.tracker.range {
                ranges.insert(a.value.clone(), r);
            }
        }
    }
    Ranges {
        observer: "qat-ema".into(),
        images,
        ranges,
    }
}

/// A QAT run's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QatConfig {
    /// The integer variant trained for (weights and activations).
    pub scheme: Scheme,
    /// Optimisation steps.
    pub steps: usize,
    /// Images per step.
    pub batch: usize,
    /// Adam's learning rate, constant.
    pub lr: f32,
    /// Share of the steps after which the activation ranges are frozen (0..=1).
    pub freeze_at: f32,
    /// Seed of the shuffles and flips.
    pub seed: u64,
}

/// Where a QAT run is after a step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QatProgress {
    /// Steps done, from 1.
    pub step: usize,
    /// Steps in the run.
    pub steps: usize,
    /// Mean training loss of the current epoch so far.
    pub loss: f32,
    /// Training accuracy of the current epoch so far (fake-quantized forward).
    pub accuracy: f32,
    /// Whether the activation ranges are frozen.
    pub frozen: bool,
}

/// A QAT run in progress, one step per call (the page's worker interleaves steps with its
/// messages; the CLI loops).
#[derive(Clone, Debug)]
pub struct QatRun {
    trainer: Trainer,
    config: QatConfig,
    step: usize,
    images: usize,
}

impl QatRun {
    /// Prepares `graph` (a trained float model; see [`Sequential::from_graph`]) for QAT on the
    /// training images `train`, which the model reads through `preprocess` (it must
    /// normalise as the trainer does: Fashion-MNIST's mean and standard deviation).
    pub fn new(
        graph: &Graph,
        preprocess: &Preprocess,
        config: QatConfig,
        train: &Dataset,
    ) -> Result<QatRun> {
        let (mean, std) = (preprocess.mean[0], preprocess.std[0]);
        if (mean - FASHION_MNIST_MEAN).abs() > 1e-3 || (std - FASHION_MNIST_STD).abs() > 1e-3 {
            return Err(Error::Input(format!(
                "QAT trains on pixels normalised as (p - {FASHION_MNIST_MEAN}) / \
                 {FASHION_MNIST_STD}; this model's metadata normalises with mean {mean} and \
                 std {std}"
            )));
        }
        if config.steps == 0 || config.batch == 0 || train.is_empty() {
            return Err(Error::Input(format!(
                "QAT needs steps, a batch and training images: {} steps of {} from {} images",
                config.steps,
                config.batch,
                train.len()
            )));
        }
        let net = prepare(&Sequential::from_graph(graph)?, config.scheme)?;
        let epochs = (config.steps * config.batch).div_ceil(train.len());
        let train_config = TrainConfig {
            epochs,
            batch: config.batch,
            optimizer: OptimizerKind::ADAM,
            lr: config.lr,
            weight_decay: 0.0,
            schedule: Schedule::Constant,
            flip: true,
            seed: config.seed,
        };
        Ok(QatRun {
            trainer: Trainer::new(net, train_config, train.len())?,
            config,
            step: 0,
            images: 0,
        })
    }

    /// One step on the next mini-batch of `train` (the set the run was made for); `None` once
    /// every step has run.
    pub fn step(&mut self, train: &Dataset) -> Result<Option<QatProgress>> {
        if self.step == self.config.steps {
            return Ok(None);
        }
        let freeze_step =
            (self.config.freeze_at.clamp(0.0, 1.0) * self.config.steps as f32) as usize;
        if self.step == freeze_step {
            freeze_ranges(&mut self.trainer.net);
        }
        sync_input_scales(&mut self.trainer.net);
        let Some(p) = self.trainer.step(train)? else {
            return Ok(None);
        };
        self.step += 1;
        self.images += self.config.batch.min(train.len());
        Ok(Some(QatProgress {
            step: self.step,
            steps: self.config.steps,
            loss: p.loss,
            accuracy: p.accuracy,
            frozen: self.step > freeze_step,
        }))
    }

    /// The network with its fake quantization (evaluation-mode forward = the fake-quantized
    /// model), its biases on the current input grids.
    pub fn network(&mut self) -> &mut Sequential {
        sync_input_scales(&mut self.trainer.net);
        &mut self.trainer.net
    }

    /// Accuracy of the fake-quantized network on `data` (what the integer variant will score,
    /// up to rounding ties; the page's live test-accuracy curve).
    pub fn accuracy(&mut self, data: &Dataset) -> Result<f64> {
        super::trainer::accuracy(self.network(), data, 256)
    }

    /// The result: the ONNX model of the latent float weights and the activation ranges by
    /// its value names (for `Classifier::with_ranges`).
    pub fn finish(&self) -> Result<(Vec<u8>, Ranges)> {
        let onnx = onnx_bytes(&float_network(&self.trainer.net), "qat")?;
        Ok((onnx, ranges(&self.trainer.net, self.images)))
    }
}
