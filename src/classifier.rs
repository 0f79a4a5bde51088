//! A model plus its metadata: image in, top-k labels out.

use crate::exec::FloatExecutor;
use crate::image::preprocess;
use crate::ir::Tensor;
use crate::model::ModelMetadata;
use crate::onnx::{load_model, ImportOptions};
use crate::{Error, Result};
use image::RgbImage;
use serde::Serialize;

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

/// A float classifier ready to run.
pub struct Classifier {
    executor: FloatExecutor,
    metadata: ModelMetadata,
}

impl Classifier {
    /// Imports the ONNX bytes with the input shape the metadata gives and checks that the
    /// graph takes one image tensor and yields one score per label.
    pub fn new(onnx: &[u8], metadata: ModelMetadata) -> Result<Self> {
        let options = ImportOptions {
            input_shapes: vec![(metadata.input.name.clone(), metadata.input.shape.clone())],
            ..Default::default()
        };
        let graph = load_model(onnx, &options)?;
        let crop = metadata.preprocess.crop as usize;
        match graph.inputs.as_slice() {
            [i] if graph.shape(*i) == [1, 3, crop, crop] => {}
            _ => {
                return Err(Error::Metadata(format!(
                    "the model's inputs {:?} are not one [1, 3, {crop}, {crop}] image",
                    graph
                        .inputs
                        .iter()
                        .map(|&i| &graph.values[i])
                        .collect::<Vec<_>>()
                )))
            }
        }
        match graph.outputs.as_slice() {
            [o] if graph.shape(*o).iter().product::<usize>() == metadata.labels.len() => {}
            _ => {
                return Err(Error::Metadata(format!(
                    "the model's outputs do not give one score for each of the {} labels",
                    metadata.labels.len()
                )))
            }
        }
        Ok(Classifier {
            executor: FloatExecutor::new(graph)?,
            metadata,
        })
    }

    /// The metadata the classifier was built with.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    /// The executor (graph, per-node profiling).
    pub fn executor(&self) -> &FloatExecutor {
        &self.executor
    }

    /// The preprocessed input tensor for an image.
    pub fn input_tensor(&self, img: &RgbImage) -> Tensor {
        preprocess(img, &self.metadata.preprocess)
    }

    /// Raw scores for a preprocessed input tensor.
    pub fn logits(&self, input: &Tensor) -> Result<Vec<f32>> {
        let out = self.executor.run(std::slice::from_ref(input))?;
        Ok(out
            .into_iter()
            .next()
            .map(|t| t.into_raw_vec_and_offset().0)
            .unwrap_or_default())
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

/// The `k` largest probabilities, best first, with their labels.
pub fn top_k(probs: &[f32], k: usize, labels: &[String]) -> Vec<Prediction> {
    let mut idx: Vec<usize> = (0..probs.len()).collect();
    idx.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    idx.into_iter()
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
