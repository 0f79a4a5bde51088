//! Model metadata: labels and preprocessing, read from the JSON that ships beside the ONNX file.
//!
//! ```json
//! { "name": "EfficientNet-Lite0",
//!   "input": { "name": "input", "shape": [1, 3, 224, 224], "layout": "NCHW" },
//!   "preprocess": { "resize_shorter": 256, "crop": 224, "mean": [127, 127, 127], "std": [128, 128, 128] },
//!   "labels": ["tench", ...],
//!   "source": "...", "license": "Apache-2.0" }
//! ```

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How an RGB image becomes the model's input tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    /// Resize (aspect kept) so the shorter side has this many pixels.
    pub resize_shorter: u32,
    /// Then take the centre square of this side.
    pub crop: u32,
    /// Per-channel (R, G, B) value subtracted from the 0..255 pixel.
    pub mean: [f32; 3],
    /// Per-channel divisor applied after the mean.
    pub std: [f32; 3],
}

/// The model's input tensor as the metadata describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    /// ONNX input name.
    pub name: String,
    /// Shape, e.g. `[1, 3, 224, 224]`.
    pub shape: Vec<usize>,
    /// Axis order, `NCHW`.
    pub layout: String,
}

/// Everything about a model that is not in the ONNX graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// Display name.
    pub name: String,
    /// Input description.
    pub input: InputSpec,
    /// Preprocessing.
    pub preprocess: Preprocess,
    /// Class names, index = output position.
    pub labels: Vec<String>,
    /// Where the weights come from.
    #[serde(default)]
    pub source: String,
    /// Licence of the weights.
    #[serde(default)]
    pub license: String,
}

impl ModelMetadata {
    /// Parses and checks the metadata JSON.
    pub fn from_json(text: &str) -> Result<Self> {
        let m: ModelMetadata =
            serde_json::from_str(text).map_err(|e| Error::Metadata(e.to_string()))?;
        if m.labels.is_empty() {
            return Err(Error::Metadata("no labels".into()));
        }
        if m.preprocess.crop == 0 || m.preprocess.resize_shorter < m.preprocess.crop {
            return Err(Error::Metadata(format!(
                "crop {} must be positive and no larger than resize_shorter {}",
                m.preprocess.crop, m.preprocess.resize_shorter
            )));
        }
        if m.preprocess.std.contains(&0.0) {
            return Err(Error::Metadata("std must not be zero".into()));
        }
        Ok(m)
    }
}
