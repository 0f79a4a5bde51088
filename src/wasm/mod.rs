//! The JavaScript API of the wasm builds (wasm-bindgen). The npm package's worker calls these;
//! every failure is a rejected `Error` whose message names the problem, never a trap.

use crate::classifier::{Classifier, Prediction};
use crate::ir::summary::summarize;
use crate::ir::Tensor;
use crate::model::ModelMetadata;
use crate::{image, Error};
use serde::Serialize;
use wasm_bindgen::prelude::*;

mod threads;
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
    version: &'static str,
}

/// `{ simd, threads, version }` of this wasm build.
#[wasm_bindgen(js_name = buildInfo)]
pub fn build_info() -> Result<JsValue, JsError> {
    to_js(&BuildInfo {
        simd: cfg!(target_feature = "simd128"),
        threads: cfg!(feature = "threads"),
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// The result of one classification.
#[derive(Serialize)]
struct Classification {
    top5: Vec<Prediction>,
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
    /// Imports ONNX bytes with their metadata JSON (labels, preprocessing, input shape).
    #[wasm_bindgen(constructor)]
    pub fn new(onnx: &[u8], metadata_json: &str) -> Result<Model, JsError> {
        let meta = ModelMetadata::from_json(metadata_json).map_err(js_error)?;
        let classifier = Classifier::new(onnx, meta).map_err(js_error)?;
        Ok(Model { classifier })
    }

    /// `{ name, layers: [{ name, op, input, output, parameters, bytes }], input, output,
    /// parameters, bytes }`.
    pub fn info(&self) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct Info<'a> {
            name: &'a str,
            labels: usize,
            #[serde(flatten)]
            summary: crate::ir::summary::ModelSummary,
        }
        to_js(&Info {
            name: &self.classifier.metadata().name,
            labels: self.classifier.metadata().labels.len(),
            summary: summarize(self.classifier.executor().graph()),
        })
    }

    /// Classifies an encoded image (JPEG, PNG, WebP, GIF, BMP): `{ top5, ms, preprocess_ms }`.
    #[wasm_bindgen(js_name = classifyEncoded)]
    pub fn classify_encoded(&self, bytes: &[u8]) -> Result<JsValue, JsError> {
        let start = now();
        let img = image::decode(bytes).map_err(js_error)?;
        self.classify_image(&img, start)
    }

    /// Classifies raw RGBA pixels (canvas `ImageData`): `{ top5, ms, preprocess_ms }`.
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

    /// Raw logits for an already preprocessed input (NCHW f32, the model's input shape).
    pub fn logits(&self, input: Vec<f32>) -> Result<Vec<f32>, JsError> {
        let shape = self.classifier.metadata().input.shape.clone();
        let tensor = Tensor::from_shape_vec(shape.clone(), input)
            .map_err(|_| JsError::new(&format!("input does not have the shape {shape:?}")))?;
        self.classifier.logits(&tensor).map_err(js_error)
    }
}

impl Model {
    fn classify_image(&self, img: &::image::RgbImage, start: f64) -> Result<JsValue, JsError> {
        let input = self.classifier.input_tensor(img);
        let t0 = now();
        let logits = self.classifier.logits(&input).map_err(js_error)?;
        let ms = now() - t0;
        let top5 = self.classifier.predictions(&logits, 5);
        to_js(&Classification {
            top5,
            ms,
            preprocess_ms: t0 - start,
        })
    }
}
