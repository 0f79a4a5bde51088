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
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// ONNX input name.
    pub name: String,
    /// Shape, e.g. `[1, 3, 224, 224]`.
    pub shape: Vec<usize>,
    /// Axis order of the file's input, `NCHW` or `NHWC` (`shape` is in this order).
    pub layout: String,
}

/// Everything about a model that is not in the ONNX graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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

/// Largest `preprocess.resize_shorter` accepted: far above any classifier's input, and low
/// enough that the resized image stays a reasonable allocation.
pub const MAX_RESIZE: u32 = 4096;

/// Input layouts the classifier understands.
const LAYOUTS: &[&str] = &["NCHW", "NHWC"];

impl ModelMetadata {
    /// Parses and checks the metadata JSON; every error names the field at fault, e.g.
    /// ``field `preprocess.mean`: expected 3 numbers, got 2``.
    pub fn from_json(text: &str) -> Result<Self> {
        // serde would read an array as the fields in order, and blame "field `[0]`".
        if text.trim_start().starts_with('[') {
            return Err(Error::Metadata(
                "expected a JSON object { \"name\": ..., \"input\": ... }, got an array".into(),
            ));
        }
        let de = &mut serde_json::Deserializer::from_str(text);
        let m: ModelMetadata = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            Error::Metadata(field_error(&path, &e.into_inner()))
        })?;
        m.check()?;
        Ok(m)
    }

    /// The rules JSON types cannot express.
    fn check(&self) -> Result<()> {
        let bad =
            |field: &str, what: String| Err(Error::Metadata(format!("field `{field}`: {what}")));
        if self.labels.is_empty() {
            return bad(
                "labels",
                "no labels: the list must name every output class".into(),
            );
        }
        let shape = &self.input.shape;
        if shape.len() != 4 || shape.contains(&0) {
            return bad(
                "input.shape",
                format!(
                    "expected 4 positive dimensions [1, 3, H, W], got {}",
                    crate::error::shape_text(shape)
                ),
            );
        }
        if !LAYOUTS.contains(&self.input.layout.as_str()) {
            return bad(
                "input.layout",
                format!(
                    "{:?} is not supported: expected one of {LAYOUTS:?}",
                    self.input.layout
                ),
            );
        }
        let p = &self.preprocess;
        if p.resize_shorter > MAX_RESIZE {
            return bad(
                "preprocess.resize_shorter",
                format!("{} is above the limit of {MAX_RESIZE}", p.resize_shorter),
            );
        }
        if p.crop == 0 || p.crop > p.resize_shorter {
            return bad(
                "preprocess.crop",
                format!(
                    "{} must be positive and no larger than `preprocess.resize_shorter` ({})",
                    p.crop, p.resize_shorter
                ),
            );
        }
        if let Some(m) = p.mean.iter().find(|m| !m.is_finite()) {
            return bad("preprocess.mean", format!("{m} is not a finite number"));
        }
        if let Some(s) = p.std.iter().find(|s| !s.is_finite() || **s == 0.0) {
            return bad(
                "preprocess.std",
                format!("{s} is not a finite non-zero number"),
            );
        }
        Ok(())
    }
}

/// One serde error rephrased for a person: where it is, then what is wrong there.
fn field_error(path: &str, e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = e.to_string();
    // serde appends " at line L column C"; keep the position only for syntax errors.
    let what = match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            return format!("not valid JSON: {what}")
        }
        Category::Data => what
            .rsplit_once(" at line ")
            .map_or(what.as_str(), |(head, _)| head)
            .to_string(),
    };
    let what = rephrase_length(&what).unwrap_or(what);
    if let Some(name) = what
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        return match path {
            "." | "" => format!("missing field `{name}`"),
            _ => format!("missing field `{path}.{name}`"),
        };
    }
    match path {
        "." | "" => what,
        _ => format!("field `{path}`: {what}"),
    }
}

/// serde's "invalid length 2, expected an array of length 3" as "expected 3 numbers, got 2".
fn rephrase_length(what: &str) -> Option<String> {
    let rest = what.strip_prefix("invalid length ")?;
    let (got, rest) = rest.split_once(", expected an array of length ")?;
    Some(format!("expected {rest} numbers, got {got}"))
}
