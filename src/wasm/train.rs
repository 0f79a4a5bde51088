//! Training from JavaScript: the Fashion-MNIST CNN ([`Sequential::fashion_mnist_cnn`]) trained
//! step by step by [`Trainer`] on grey images and labels handed over once. A thin layer: every
//! step is the native trainer's, so what it computes is tested natively (`tests/train.rs`).
//!
//! ```js
//! const t = new CnnTrainer(pixels, labels, { seed: 1, batch: 64, lr: 1e-3, schedule: 'constant' });
//! const p = t.train(10);   // { epoch, step, stepsPerEpoch, images, loss, accuracy, lr } or null
//! ```

use super::{js_error, to_js};
use crate::data::idx::Images;
use crate::data::{Dataset, FASHION_MNIST_CLASSES};
use crate::train::{CnnWidths, OptimizerKind, Schedule, Sequential, TrainConfig, Trainer};
use crate::Error;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

/// Side of a Fashion-MNIST image.
const SIDE: usize = 28;

/// `new CnnTrainer(...)`'s options; a missing field takes [`TrainConfig::default`]'s value
/// (widths: [`CnnWidths::DEFAULT`]; `epochs` bounds how many steps `train` will run).
#[derive(Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
struct Options {
    seed: u64,
    conv1: usize,
    conv2: usize,
    hidden: usize,
    epochs: usize,
    batch: usize,
    /// `adam` or `sgd` (momentum 0.9).
    optimizer: String,
    lr: f32,
    weight_decay: f32,
    /// `cosine` or `constant`.
    schedule: String,
    flip: bool,
}

impl Default for Options {
    fn default() -> Self {
        let c = TrainConfig::default();
        let w = CnnWidths::DEFAULT;
        Options {
            seed: c.seed,
            conv1: w.conv1,
            conv2: w.conv2,
            hidden: w.hidden,
            epochs: c.epochs,
            batch: c.batch,
            optimizer: "adam".into(),
            lr: c.lr,
            weight_decay: c.weight_decay,
            schedule: "cosine".into(),
            flip: c.flip,
        }
    }
}

/// Where the run is after `train(n)` (the trainer's `Progress`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StepReport {
    epoch: usize,
    step: usize,
    steps_per_epoch: usize,
    images: usize,
    /// Mean loss over this epoch's steps so far.
    loss: f32,
    /// Training accuracy over this epoch's images so far.
    accuracy: f32,
    lr: f32,
}

/// A training run of the Fashion-MNIST CNN on a set held in wasm memory.
#[wasm_bindgen]
pub struct CnnTrainer {
    trainer: Trainer,
    data: Dataset,
}

#[wasm_bindgen]
impl CnnTrainer {
    /// `new CnnTrainer(pixels, labels, options?)`: `pixels` is `labels.length` 28x28 grey
    /// images (0..255, row-major, image after image), `labels` their classes 0..9.
    #[wasm_bindgen(constructor)]
    pub fn new(pixels: &[u8], labels: &[u8], options: JsValue) -> Result<CnnTrainer, JsError> {
        let o: Options = if options.is_undefined() || options.is_null() {
            Options::default()
        } else {
            serde_wasm_bindgen::from_value(options)
                .map_err(|e| JsError::new(&format!("CnnTrainer options: {e}")))?
        };
        let count = labels.len();
        if pixels.len() != count * SIDE * SIDE {
            return Err(js_error(Error::Input(format!(
                "{} pixels for {count} labels: expected {count} x {SIDE} x {SIDE}",
                pixels.len()
            ))));
        }
        let images = Images {
            count,
            rows: SIDE,
            cols: SIDE,
            pixels: pixels.to_vec(),
        };
        let names = FASHION_MNIST_CLASSES
            .iter()
            .map(|s| s.to_string())
            .collect();
        let data = Dataset::new(images, labels.to_vec(), names).map_err(js_error)?;
        let optimizer = match o.optimizer.as_str() {
            "adam" => OptimizerKind::ADAM,
            "sgd" => OptimizerKind::SGD,
            other => {
                return Err(JsError::new(&format!(
                    "CnnTrainer optimizer {other:?}: expected \"adam\" or \"sgd\""
                )))
            }
        };
        let schedule = match o.schedule.as_str() {
            "cosine" => Schedule::Cosine,
            "constant" => Schedule::Constant,
            other => {
                return Err(JsError::new(&format!(
                    "CnnTrainer schedule {other:?}: expected \"cosine\" or \"constant\""
                )))
            }
        };
        let config = TrainConfig {
            epochs: o.epochs,
            batch: o.batch,
            optimizer,
            lr: o.lr,
            weight_decay: o.weight_decay,
            schedule,
            flip: o.flip,
            seed: o.seed,
        };
        let widths = CnnWidths {
            conv1: o.conv1,
            conv2: o.conv2,
            hidden: o.hidden,
        };
        let net = Sequential::fashion_mnist_cnn(widths, o.seed);
        let trainer = Trainer::new(net, config, data.len()).map_err(js_error)?;
        Ok(CnnTrainer { trainer, data })
    }

    /// Trainable values of the network.
    #[wasm_bindgen(js_name = parameterCount)]
    pub fn parameter_count(&self) -> usize {
        self.trainer.net.parameter_count()
    }

    /// Runs up to `steps` optimizer steps; the progress after the last one, or `null` when
    /// the run was already over.
    pub fn train(&mut self, steps: u32) -> Result<JsValue, JsError> {
        let mut last = None;
        for _ in 0..steps {
            match self.trainer.step(&self.data).map_err(js_error)? {
                Some(p) => last = Some(p),
                None => break,
            }
        }
        match last {
            None => Ok(JsValue::NULL),
            Some(p) => to_js(&StepReport {
                epoch: p.epoch,
                step: p.step,
                steps_per_epoch: p.steps_per_epoch,
                images: p.images,
                loss: p.loss,
                accuracy: p.accuracy,
                lr: p.lr,
            }),
        }
    }
}
