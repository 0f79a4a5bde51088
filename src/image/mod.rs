//! Image decoding and preprocessing into model input tensors.
//!
//! Decoding accepts JPEG, PNG, WebP, GIF (first frame) and BMP, refuses images above
//! [`MAX_PIXELS`] before allocating them, and turns every failure into [`crate::Error::Image`].

mod decode;
mod preprocess;

pub use decode::{decode, decode_at_most, from_rgba, MAX_PIXELS};
pub use preprocess::{preprocess, resize_and_crop};
