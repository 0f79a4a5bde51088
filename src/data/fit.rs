//! Whether a model can be measured on a dataset: its input must be the dataset's picture (one
//! grey channel of `rows x cols`), not a photo size the pictures would be stretched to.

use super::Dataset;
use crate::model::InputSpec;
use crate::{Error, Result};

/// `(channels, height, width)` of a model input in `NCHW` or `NHWC` layout; `None` unless
/// the shape has four axes.
pub fn input_chw(input: &InputSpec) -> Option<(usize, usize, usize)> {
    match (input.layout.as_str(), input.shape.as_slice()) {
        ("NHWC", &[_, h, w, c]) => Some((c, h, w)),
        (_, &[_, c, h, w]) => Some((c, h, w)),
        _ => None,
    }
}

/// Checks that `input` takes the pictures of `data` as they are: one channel, `rows x cols`.
/// The error says what the model takes instead, e.g. "this model takes 3x224x224 (colour)
/// pictures; Fashion-MNIST's are 1x28x28 grey: accuracy on this dataset needs a model trained
/// on it".
pub fn check_input(input: &InputSpec, data: &Dataset, dataset_name: &str) -> Result<()> {
    let (rows, cols) = (data.images.rows, data.images.cols);
    match input_chw(input) {
        Some((1, h, w)) if (h, w) == (rows, cols) => Ok(()),
        found => {
            let takes = match found {
                Some((c, h, w)) => format!(
                    "{c}x{h}x{w} ({}) pictures",
                    if c == 1 { "grey" } else { "colour" }
                ),
                None => format!("an input of shape {:?}", input.shape),
            };
            Err(Error::Input(format!(
                "this model takes {takes}; {dataset_name}'s are 1x{rows}x{cols} grey: accuracy \
                 on this dataset needs a model trained on it"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::Images;

    fn spec(shape: &[usize], layout: &str) -> InputSpec {
        InputSpec {
            name: "image".into(),
            shape: shape.to_vec(),
            layout: layout.into(),
        }
    }

    fn data() -> Dataset {
        let images = Images {
            count: 1,
            rows: 28,
            cols: 28,
            pixels: vec![0; 784],
        };
        Dataset::new(images, vec![0], vec!["a".into()]).unwrap()
    }

    #[test]
    fn grey_28x28_fits_in_either_layout() {
        assert!(check_input(&spec(&[1, 1, 28, 28], "NCHW"), &data(), "X").is_ok());
        assert!(check_input(&spec(&[1, 28, 28, 1], "NHWC"), &data(), "X").is_ok());
    }

    #[test]
    fn a_photo_model_is_named() {
        let e = check_input(&spec(&[1, 3, 224, 224], "NCHW"), &data(), "Fashion-MNIST")
            .unwrap_err()
            .to_string();
        assert!(e.contains("3x224x224 (colour)"), "{e}");
        assert!(e.contains("Fashion-MNIST's are 1x28x28 grey"), "{e}");
        let e = check_input(&spec(&[1, 1, 32, 32], "NCHW"), &data(), "X").unwrap_err();
        assert!(e.to_string().contains("1x32x32 (grey)"), "{e}");
        let e = check_input(&spec(&[1, 784], "NCHW"), &data(), "X").unwrap_err();
        assert!(e.to_string().contains("[1, 784]"), "{e}");
    }
}
