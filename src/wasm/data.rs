//! Labelled datasets in the worker: IDX files the page fetched, decoded here
//! ([`Dataset::from_idx`]), and the pieces of an accuracy run ([`crate::eval`]): one chunk of
//! answers, a running tally, a picture's pixels, calibration images from the set. The worker
//! loops over chunks (progress and cancel between them); every figure is computed natively.

use super::{js_error, to_js, CalibrationSet, Model};
use crate::data::fit::check_input;
use crate::data::{Dataset, FASHION_MNIST_CLASSES};
use crate::eval::{dataset_image, predict, Tally};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// The name errors give the dataset.
const DATASET_NAME: &str = "the dataset";

/// Images with labels (an IDX image file and an IDX label file, gzipped or not).
#[wasm_bindgen]
pub struct LabelledSet {
    pub(super) data: Dataset,
}

#[wasm_bindgen]
impl LabelledSet {
    /// Decodes the bytes of an IDX image file and an IDX label file; `class_names` name the
    /// labels (Fashion-MNIST's ten classes when left out). A truncated or mismatched file
    /// rejects with an `Error` naming the file and the problem.
    #[wasm_bindgen(constructor)]
    pub fn new(
        images: &[u8],
        labels: &[u8],
        class_names: Option<Vec<String>>,
    ) -> Result<LabelledSet, JsError> {
        let names = class_names.unwrap_or_else(|| {
            FASHION_MNIST_CLASSES
                .iter()
                .map(|s| s.to_string())
                .collect()
        });
        let data = Dataset::from_idx(images, labels, names).map_err(js_error)?;
        Ok(LabelledSet { data })
    }

    /// `{ count, classes, names, rows, cols }`.
    pub fn info(&self) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct Info<'a> {
            count: usize,
            classes: usize,
            names: &'a [String],
            rows: usize,
            cols: usize,
        }
        let d = &self.data;
        to_js(&Info {
            count: d.len(),
            classes: d.class_names.len(),
            names: &d.class_names,
            rows: d.images.rows,
            cols: d.images.cols,
        })
    }

    /// Number of images.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.data.len()
    }

    /// The labels of images `start..end`.
    pub fn labels(&self, start: usize, end: usize) -> Result<Vec<u8>, JsError> {
        self.check_range(start, end)?;
        Ok(self.data.labels[start..end].to_vec())
    }

    /// Image `i` as RGBA pixels (`rows * cols * 4` bytes, grey: r = g = b), for `ImageData`.
    #[wasm_bindgen(js_name = imageRgba)]
    pub fn image_rgba(&self, i: usize) -> Result<Vec<u8>, JsError> {
        self.check_range(i, i + 1)?;
        Ok(dataset_image(&self.data, i)
            .pixels()
            .flat_map(|p| [p.0[0], p.0[1], p.0[2], 255])
            .collect())
    }
}

impl LabelledSet {
    fn check_range(&self, start: usize, end: usize) -> Result<(), JsError> {
        if start > end || end > self.data.len() {
            return Err(JsError::new(&format!(
                "images {start}..{end} of a dataset of {}",
                self.data.len()
            )));
        }
        Ok(())
    }
}

#[wasm_bindgen]
impl Model {
    /// Rejects unless this model can be measured on `set`: a grey input of the set's size
    /// and one score per class; the message says what the model takes instead.
    #[wasm_bindgen(js_name = checkDataset)]
    pub fn check_dataset(&self, set: &LabelledSet) -> Result<(), JsError> {
        check_input(&self.classifier.metadata().input, &set.data, DATASET_NAME)
            .and_then(|()| crate::eval::check_classes(&self.classifier, &set.data))
            .map_err(js_error)
    }

    /// This model's class (argmax) for each image of `start..end`, through its own
    /// preprocessing (`Uint32Array`).
    pub fn predict(
        &self,
        set: &LabelledSet,
        start: usize,
        end: usize,
    ) -> Result<Vec<u32>, JsError> {
        self.check_dataset(set)?;
        set.check_range(start, end)?;
        let answers = predict(&self.classifier, &set.data, start..end).map_err(js_error)?;
        Ok(answers.into_iter().map(|a| a as u32).collect())
    }
}

/// The running counts of one accuracy run ([`Tally`]).
#[wasm_bindgen]
pub struct AccuracyTally {
    tally: Tally,
}

#[wasm_bindgen]
impl AccuracyTally {
    /// An empty tally over the classes of `set`.
    #[wasm_bindgen(constructor)]
    pub fn new(set: &LabelledSet) -> AccuracyTally {
        AccuracyTally {
            tally: Tally::new(set.data.class_names.len()),
        }
    }

    /// Counts images `start..start + predicted.length` of `set`: the variant's answers and,
    /// when given, the reference's (fp32's) on the same images.
    pub fn add(
        &mut self,
        set: &LabelledSet,
        start: usize,
        predicted: &[u32],
        reference: Option<Vec<u32>>,
    ) -> Result<(), JsError> {
        let end = start + predicted.len();
        set.check_range(start, end)?;
        if reference
            .as_ref()
            .is_some_and(|r| r.len() != predicted.len())
        {
            return Err(JsError::new("the reference answers do not match the chunk"));
        }
        for (k, &p) in predicted.iter().enumerate() {
            let label = usize::from(set.data.labels[start + k]);
            let r = reference.as_ref().map(|r| r[k] as usize);
            self.tally.add(label, p as usize, r).map_err(js_error)?;
        }
        Ok(())
    }

    /// Images counted.
    #[wasm_bindgen(getter)]
    pub fn images(&self) -> usize {
        self.tally.images()
    }

    /// `{ variant, accuracy, agreement, per_class, confusion, images }` so far
    /// ([`crate::eval::Accuracy`]).
    pub fn report(&self, variant: &str) -> Result<JsValue, JsError> {
        to_js(&self.tally.report(variant))
    }
}

#[wasm_bindgen]
impl CalibrationSet {
    /// Adds images `start..end` of `set`, preprocessed for `model`.
    #[wasm_bindgen(js_name = addDataset)]
    pub fn add_dataset(
        &mut self,
        model: &Model,
        set: &LabelledSet,
        start: usize,
        end: usize,
    ) -> Result<(), JsError> {
        set.check_range(start, end)?;
        for i in start..end {
            let img = dataset_image(&set.data, i);
            self.inputs.push(model.classifier.input_tensor(&img));
        }
        Ok(())
    }
}
