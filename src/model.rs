//! Model metadata: labels and preprocessing, read from the JSON that ships beside the ONNX file.
//!
//! ```json
//! { "name": "EfficientNet-Lite0",
//!   "input": { "name": "input", "shape": [1, 3, 224, 224], "layout": "NCHW" },
//!   "preprocess": { "resize": "crop", "resize_shorter": 256, "mean": [127, 127, 127],
//!                   "std": [128, 128, 128], "channels": "RGB" },
//!   "labels": ["tench", ...],
//!   "source": "...", "license": "Apache-2.0" }
//! ```
//!
//! Every field may be left out; [`ModelMetadata::resolve`] fills what is missing from the ONNX
//! file and the conventions of torchvision's ImageNet classifiers:
//!
//! | field | default |
//! |---|---|
//! | `name` | the file's graph name, else `ONNX model` |
//! | `input.name` | the file's one run-time input |
//! | `input.shape` | the file's dims, batch 1, open height/width 224 (or `preprocess.crop`) |
//! | `input.layout` | `NHWC` for a `[1, H, W, 3]` (or `1`) input, else `NCHW` |
//! | `preprocess.resize` | `crop` |
//! | `preprocess.resize_shorter` | `round(min(H, W) * 256 / 224)` |
//! | `preprocess.mean`, `std` | ImageNet's `[123.675, 116.28, 103.53]`, `[58.395, 57.12, 57.375]` |
//! | `preprocess.channels` | `RGB` |
//! | `labels` | `class 0` .. `class N-1`, N the output's size ([`default_labels`]) |

use crate::onnx::FileDescription;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// How the image is brought to the input's height and width.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resize {
    /// Aspect kept: scaled to cover the input box enlarged to `resize_shorter` on its shorter
    /// side, then the centred H x W cut (torchvision's Resize + CenterCrop).
    #[default]
    Crop,
    /// Straight to H x W, aspect not kept.
    Stretch,
}

/// The order of the input's colour channels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channels {
    /// Red, green, blue (PyTorch, Keras).
    #[default]
    #[serde(rename = "RGB")]
    Rgb,
    /// Blue, green, red (Caffe, OpenCV).
    #[serde(rename = "BGR")]
    Bgr,
}

/// ImageNet's per-channel mean of 0..255 pixels (RGB), torchvision's normalisation.
pub const IMAGENET_MEAN: [f32; 3] = [123.675, 116.28, 103.53];
/// ImageNet's per-channel standard deviation of 0..255 pixels (RGB).
pub const IMAGENET_STD: [f32; 3] = [58.395, 57.12, 57.375];

/// How an RGB image becomes the model's input tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    /// Centre crop (aspect kept) or stretch.
    #[serde(default)]
    pub resize: Resize,
    /// `crop`: the shorter side of the input box is scaled to this before the centre cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize_shorter: Option<u32>,
    /// The older square form: the input's height and width (must match `input.shape`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crop: Option<u32>,
    /// Per-channel value subtracted from the 0..255 pixel, in the input's channel order.
    #[serde(default = "imagenet_mean", serialize_with = "as_written")]
    pub mean: [f32; 3],
    /// Per-channel divisor applied after the mean (a scale `s` is `std` = 1/s, `mean` = 0).
    #[serde(default = "imagenet_std", serialize_with = "as_written")]
    pub std: [f32; 3],
    /// Channel order of the input tensor.
    #[serde(default)]
    pub channels: Channels,
}

/// f32 values as the shortest decimals that read back to them (116.28, not the f64
/// 116.27999877929688 a widening gives), so that JSON and JavaScript show what was written.
fn as_written<S: serde::Serializer>(v: &[f32; 3], s: S) -> std::result::Result<S::Ok, S::Error> {
    let short = |x: f32| x.to_string().parse::<f64>().unwrap_or(f64::from(x));
    [short(v[0]), short(v[1]), short(v[2])].serialize(s)
}

fn imagenet_mean() -> [f32; 3] {
    IMAGENET_MEAN
}

fn imagenet_std() -> [f32; 3] {
    IMAGENET_STD
}

impl Default for Preprocess {
    fn default() -> Self {
        Preprocess {
            resize: Resize::Crop,
            resize_shorter: None,
            crop: None,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
            channels: Channels::Rgb,
        }
    }
}

impl Preprocess {
    /// The shorter side the input box is scaled to before the centre cut (`resize_shorter`,
    /// else the torchvision ratio 256/224 of the box's shorter side).
    pub fn shorter_side(&self, height: u32, width: u32) -> u32 {
        let short = height.min(width);
        self.resize_shorter
            .unwrap_or_else(|| (f64::from(short) * 256.0 / 224.0).round() as u32)
            .max(short)
    }
}

/// The model's input tensor as the metadata describes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// ONNX input name (default: the file's one run-time input).
    #[serde(default)]
    pub name: String,
    /// Shape in `layout` order, e.g. `[1, 3, 224, 224]`; 1 or 3 channels.
    #[serde(default)]
    pub shape: Vec<usize>,
    /// Axis order of the file's input, `NCHW` or `NHWC`.
    #[serde(default)]
    pub layout: String,
}

/// Everything about a model that is not in the ONNX graph.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelMetadata {
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Input description.
    #[serde(default)]
    pub input: InputSpec,
    /// Preprocessing.
    #[serde(default)]
    pub preprocess: Preprocess,
    /// Class names, index = output position.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Where the weights come from.
    #[serde(default)]
    pub source: String,
    /// Licence of the weights.
    #[serde(default)]
    pub license: String,
}

/// Largest `preprocess.resize_shorter` (and input side) accepted: far above any classifier's
/// input, and low enough that the resized image stays a reasonable allocation.
pub const MAX_RESIZE: u32 = 4096;

/// Height and width used when the file leaves them open and the metadata does not say.
pub const DEFAULT_SIDE: usize = 224;

/// Input layouts the classifier understands.
const LAYOUTS: &[&str] = &["NCHW", "NHWC"];

/// `class 0` .. `class n-1`: the labels of a model whose metadata names none.
pub fn default_labels(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("class {i}")).collect()
}

fn bad<T>(field: &str, what: String) -> Result<T> {
    Err(Error::Metadata(format!("field `{field}`: {what}")))
}

impl ModelMetadata {
    /// Parses and checks the metadata JSON; every error names the field at fault, e.g.
    /// ``field `preprocess.mean`: expected 3 numbers, got 2``. Fields left out are filled
    /// later by [`ModelMetadata::resolve`].
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

    /// The rules JSON types cannot express, on the fields that are given.
    fn check(&self) -> Result<()> {
        let shape = &self.input.shape;
        if !shape.is_empty() {
            let image = |c: Option<&usize>| matches!(c, Some(1 | 3));
            let channels_ok = match self.input.layout.as_str() {
                "NHWC" => image(shape.get(3)),
                "NCHW" => image(shape.get(1)),
                _ => image(shape.get(1)) || image(shape.get(3)),
            };
            if shape.len() != 4
                || shape[0] != 1
                || !channels_ok
                || shape.contains(&0)
                || shape.iter().any(|&d| d > MAX_RESIZE as usize)
            {
                return bad(
                    "input.shape",
                    format!(
                        "expected one image [1, C, H, W] (or [1, H, W, C] with layout NHWC), \
                         C = 1 or 3, sides up to {MAX_RESIZE}; got {}",
                        crate::error::shape_text(shape)
                    ),
                );
            }
        }
        if !self.input.layout.is_empty() && !LAYOUTS.contains(&self.input.layout.as_str()) {
            return bad(
                "input.layout",
                format!(
                    "{:?} is not supported: expected one of {LAYOUTS:?}",
                    self.input.layout
                ),
            );
        }
        let p = &self.preprocess;
        for (field, value) in [("resize_shorter", p.resize_shorter), ("crop", p.crop)] {
            match value {
                Some(0) => return bad(&format!("preprocess.{field}"), "must be positive".into()),
                Some(v) if v > MAX_RESIZE => {
                    return bad(
                        &format!("preprocess.{field}"),
                        format!("{v} is above the limit of {MAX_RESIZE}"),
                    )
                }
                _ => {}
            }
        }
        if let (Some(crop), Some(short)) = (p.crop, p.resize_shorter) {
            if crop > short {
                return bad(
                    "preprocess.crop",
                    format!("{crop} must be no larger than `preprocess.resize_shorter` ({short})"),
                );
            }
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

    /// This metadata with every field the file can give filled from it (see the module's
    /// table): the input's name, shape and layout, the resize and the name. Labels need the
    /// output's size: [`crate::classifier::Classifier::new`] fills them after import.
    pub fn resolve(mut self, file: &FileDescription) -> Result<ModelMetadata> {
        let names = || {
            file.inputs
                .iter()
                .map(|i| format!("'{}' {}", i.name, dims_text(&i.dims)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let input = if self.input.name.is_empty() {
            match file.inputs.as_slice() {
                [one] => one,
                _ => {
                    return Err(Error::Metadata(format!(
                        "the model takes {} inputs ({}), not one image: name the image in \
                         field `input.name`",
                        file.inputs.len(),
                        names()
                    )))
                }
            }
        } else {
            match file.inputs.iter().find(|i| i.name == self.input.name) {
                Some(i) => i,
                None => {
                    return bad(
                        "input.name",
                        format!(
                            "the model has no input '{}' (its inputs: {})",
                            self.input.name,
                            names()
                        ),
                    )
                }
            }
        };
        self.input.name = input.name.clone();
        if self.input.layout.is_empty() {
            let dims: Vec<Option<usize>> = if self.input.shape.is_empty() {
                input.dims.clone()
            } else {
                self.input.shape.iter().map(|&d| Some(d)).collect()
            };
            let channels_last =
                matches!(dims.as_slice(), [_, h, _, Some(1 | 3)] if !matches!(h, Some(1 | 3)));
            self.input.layout = if channels_last { "NHWC" } else { "NCHW" }.into();
        }
        let nhwc = self.input.layout == "NHWC";
        if self.input.shape.is_empty() {
            if input.dims.len() != 4 {
                return Err(Error::Metadata(format!(
                    "the model's input '{}' {} is not one image [1, C, H, W] or [1, H, W, C]: \
                     give field `input.shape`",
                    input.name,
                    dims_text(&input.dims)
                )));
            }
            let side = self.preprocess.crop.map_or(DEFAULT_SIDE, |c| c as usize);
            let (c, h, w) = if nhwc { (3, 1, 2) } else { (1, 2, 3) };
            let mut shape = vec![1; 4];
            shape[c] = input.dims[c].unwrap_or(3);
            shape[h] = input.dims[h].unwrap_or(side);
            shape[w] = input.dims[w].unwrap_or(side);
            self.input.shape = shape;
            self.check()?;
        }
        let (h, w) = self.input_size();
        if let Some(crop) = self.preprocess.crop {
            if (crop, crop) != (h, w) {
                return bad(
                    "preprocess.crop",
                    format!(
                        "{crop} does not match the input's {h} x {w} (leave it out: the input \
                         shape gives the size)"
                    ),
                );
            }
        }
        self.preprocess.crop = None;
        self.preprocess.resize_shorter = match self.preprocess.resize {
            Resize::Crop => Some(self.preprocess.shorter_side(h, w)),
            Resize::Stretch => None,
        };
        if self.name.is_empty() {
            self.name = if file.graph_name.trim().is_empty() {
                "ONNX model".into()
            } else {
                file.graph_name.trim().into()
            };
        }
        Ok(self)
    }

    /// The input's (height, width); meaningful once resolved.
    pub fn input_size(&self) -> (u32, u32) {
        let s = &self.input.shape;
        let (h, w) = match (self.input.layout.as_str(), s.as_slice()) {
            ("NHWC", [_, h, w, _]) | (_, [_, _, h, w]) => (*h, *w),
            _ => (0, 0),
        };
        (h as u32, w as u32)
    }

    /// The input's number of channels (1 or 3); meaningful once resolved.
    pub fn input_channels(&self) -> usize {
        let s = &self.input.shape;
        match (self.input.layout.as_str(), s.as_slice()) {
            ("NHWC", [_, _, _, c]) | (_, [_, c, _, _]) => *c,
            _ => 3,
        }
    }
}

fn dims_text(dims: &[Option<usize>]) -> String {
    if dims.is_empty() {
        return "(no shape)".into();
    }
    crate::error::partial_shape_text(dims.iter().copied())
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
