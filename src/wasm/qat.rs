//! Quantization-aware training in the worker ([`crate::train::qat`]): a run made for a loaded
//! fp32 model and a loaded training set, stepped a few mini-batches per call so the worker can
//! answer its messages (progress, cancel) between calls; the fake-quantized network's accuracy
//! on a test subset for the live curve; and at the end the fine-tuned float model with its
//! activation ranges, from which [`Model::with_tuned_weights`] builds the integer variant.

use super::{js_error, to_js, LabelledSet, Model};
use crate::classifier::{Classifier, Variant};
use crate::data::Dataset;
use crate::exec::calibrate::Ranges;
use crate::train::qat::{QatConfig, QatRun};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

/// The options of [`QatSession::new`], as JavaScript gives them (camelCase).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QatOptions {
    variant: String,
    #[serde(default = "default_steps")]
    steps: usize,
    #[serde(default = "default_batch")]
    batch: usize,
    #[serde(default = "default_lr")]
    lr: f32,
    #[serde(default = "default_freeze_at")]
    freeze_at: f32,
    #[serde(default = "default_seed")]
    seed: u64,
}

fn default_steps() -> usize {
    200
}
fn default_batch() -> usize {
    32
}
fn default_lr() -> f32 {
    1e-4
}
fn default_freeze_at() -> f32 {
    0.75
}
fn default_seed() -> u64 {
    1
}

/// Where a run is after a call of [`QatSession::step`].
#[derive(Serialize)]
struct StepReport {
    /// Steps done so far (from 1), and in the whole run.
    step: usize,
    steps: usize,
    /// The training loss of each step this call ran (the mean over the epoch so far, as
    /// [`crate::train::qat::QatProgress`] reports it).
    losses: Vec<f32>,
    /// The training accuracy (fake-quantized) after the last step.
    accuracy: Option<f32>,
    /// Whether the activation ranges are frozen.
    frozen: bool,
    /// True once every step has run.
    done: bool,
}

/// A QAT run in progress ([`QatRun`]) with the training set it was made for.
#[wasm_bindgen]
pub struct QatSession {
    run: QatRun,
    train: Dataset,
    variant: String,
    steps: usize,
    done: usize,
    frozen: bool,
    /// The test subset of the last [`accuracy`](Self::accuracy) call: `(images, subset)`.
    test: Option<(usize, Dataset)>,
}

#[wasm_bindgen]
impl QatSession {
    /// Starts a run fine-tuning `model` (a loaded fp32 model: a Conv/Relu/MaxPool/Flatten/Gemm
    /// chain normalising its grey pixels as Fashion-MNIST's trainer does) on `train`. `options`:
    /// `{ variant: "w4a4" (any static spec), steps = 200, batch = 32, lr = 1e-4, freezeAt = 0.75
    /// (share of the steps after which the activation ranges stop moving), seed = 1 }`. A model
    /// or set QAT cannot use rejects with an `Error` naming the problem.
    #[wasm_bindgen(constructor)]
    pub fn new(
        model: &Model,
        train: &LabelledSet,
        options: JsValue,
    ) -> Result<QatSession, JsError> {
        let o: QatOptions = serde_wasm_bindgen::from_value(options)
            .map_err(|e| JsError::new(&format!("QAT options: {e}")))?;
        let variant = Variant::parse(&o.variant).map_err(js_error)?;
        let Variant::Static(scheme) = variant else {
            return Err(JsError::new(&format!(
                "QAT trains a static integer variant (w<b>a<b>...), not '{variant}'"
            )));
        };
        if model.classifier.variant() != Variant::Fp32 {
            return Err(JsError::new(&format!(
                "QAT fine-tunes the fp32 model, not its {} variant",
                model.classifier.variant()
            )));
        }
        model.check_dataset(train)?;
        if !o.lr.is_finite() || o.lr <= 0.0 {
            return Err(JsError::new(&format!(
                "QAT's learning rate must be positive, not {}",
                o.lr
            )));
        }
        let config = QatConfig {
            scheme,
            steps: o.steps,
            batch: o.batch,
            lr: o.lr,
            freeze_at: o.freeze_at,
            seed: o.seed,
        };
        let c = &model.classifier;
        let train = train.data.clone();
        let run =
            QatRun::new(c.graph(), &c.metadata().preprocess, config, &train).map_err(js_error)?;
        Ok(QatSession {
            run,
            train,
            variant: variant.to_string(),
            steps: o.steps,
            done: 0,
            frozen: false,
            test: None,
        })
    }

    /// Runs at most `k` more steps: `{ step, steps, losses: [per step], accuracy, frozen, done }`.
    pub fn step(&mut self, k: usize) -> Result<JsValue, JsError> {
        let mut losses = Vec::with_capacity(k);
        let mut accuracy = None;
        for _ in 0..k {
            let Some(p) = self.run.step(&self.train).map_err(js_error)? else {
                self.done = self.steps;
                break;
            };
            losses.push(p.loss);
            accuracy = Some(p.accuracy);
            self.done = p.step;
            self.frozen = p.frozen;
        }
        to_js(&StepReport {
            step: self.done,
            steps: self.steps,
            losses,
            accuracy,
            frozen: self.frozen,
            done: self.done >= self.steps,
        })
    }

    /// Steps done.
    #[wasm_bindgen(getter)]
    pub fn done(&self) -> usize {
        self.done
    }

    /// The fake-quantized network's accuracy (0..1) on the first `limit` images of `test`
    /// (what the integer variant will score, up to rounding ties).
    pub fn accuracy(&mut self, test: &LabelledSet, limit: usize) -> Result<f64, JsError> {
        let n = limit.min(test.data.len());
        if n == 0 {
            return Err(JsError::new("QAT accuracy: the test set is empty"));
        }
        if self.test.as_ref().map(|(k, _)| *k) != Some(n) {
            self.test = Some((n, test.data.take(n)));
        }
        let (_, subset) = self.test.as_ref().expect("just set");
        self.run.accuracy(subset).map_err(js_error)
    }

    /// The result so far: `{ onnx: Uint8Array (the fine-tuned float model), ranges: string
    /// (JSON), variant }`, for [`Model::with_tuned_weights`] on the fp32 model.
    pub fn finish(&self) -> Result<js_sys::Object, JsError> {
        let (onnx, ranges) = self.run.finish().map_err(js_error)?;
        let ranges = serde_json::to_string(&ranges)
            .map_err(|e| JsError::new(&format!("QAT ranges: {e}")))?;
        let out = js_sys::Object::new();
        let set = |key: &str, value: JsValue| {
            js_sys::Reflect::set(&out, &key.into(), &value)
                .map(|_| ())
                .map_err(|_| JsError::new("cannot build the QAT result"))
        };
        set("onnx", js_sys::Uint8Array::from(&onnx[..]).into())?;
        set("ranges", ranges.into())?;
        set("variant", self.variant.clone().into())?;
        Ok(out)
    }
}

#[wasm_bindgen]
impl Model {
    /// The static variant `spec` of fine-tuned weights: `onnx` (e.g. QAT's result, the same
    /// network as this fp32 model) read with this model's metadata, then quantized with the
    /// activation ranges `ranges_json` (QAT's tracked ranges), executed by the integer engine.
    #[wasm_bindgen(js_name = withTunedWeights)]
    pub fn with_tuned_weights(
        &self,
        onnx: &[u8],
        ranges_json: &str,
        spec: &str,
    ) -> Result<Model, JsError> {
        let ranges: Ranges = serde_json::from_str(ranges_json)
            .map_err(|e| JsError::new(&format!("ranges JSON: {e}")))?;
        let Variant::Static(scheme) = Variant::parse(spec).map_err(js_error)? else {
            return Err(JsError::new(&format!(
                "withTunedWeights builds a static variant (w<b>a<b>...), not '{spec}'"
            )));
        };
        let tuned = Classifier::new(onnx, self.classifier.metadata().clone()).map_err(js_error)?;
        let classifier = tuned
            .with_ranges(&ranges, &scheme.into())
            .map_err(js_error)?;
        Ok(Model { classifier })
    }
}
