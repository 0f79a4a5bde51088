//! RGB pixels -> normalised NCHW tensor, as a model's [`Preprocess`] says.

use crate::ir::Tensor;
use crate::model::Preprocess;
use image::imageops::{self, FilterType};
use image::RgbImage;

/// Longest side kept before resizing, as a multiple of the shorter side. Only the centre of
/// the long side reaches the crop, and a 50 MP image one pixel high would otherwise resize
/// to billions of pixels; photos (aspect up to 8:1) are untouched.
const MAX_ASPECT: u32 = 8;

/// Resizes so the shorter side is `p.resize_shorter` (bilinear, antialiased when shrinking,
/// aspect kept), then takes the centred `p.crop` square. Images longer than 8:1 are first cut
/// to their centred 8:1 part.
pub fn resize_and_crop(img: &RgbImage, p: &Preprocess) -> RgbImage {
    let (w, h) = img.dimensions();
    let (cw, ch) = (
        w.min(h.saturating_mul(MAX_ASPECT)),
        h.min(w.saturating_mul(MAX_ASPECT)),
    );
    if (cw, ch) != (w, h) {
        let centre = imageops::crop_imm(img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image();
        return resize_and_crop(&centre, p);
    }
    let short = w.min(h) as f64;
    let scale = p.resize_shorter as f64 / short;
    let nw = ((w as f64 * scale).round() as u32).max(p.crop);
    let nh = ((h as f64 * scale).round() as u32).max(p.crop);
    let resized = if (nw, nh) == (w, h) {
        img.clone()
    } else {
        imageops::resize(img, nw, nh, FilterType::Triangle)
    };
    let (x, y) = ((nw - p.crop) / 2, (nh - p.crop) / 2);
    imageops::crop_imm(&resized, x, y, p.crop, p.crop).to_image()
}

/// The model input `[1, 3, crop, crop]`: `(pixel - mean[c]) / std[c]` per RGB channel.
pub fn preprocess(img: &RgbImage, p: &Preprocess) -> Tensor {
    let square = resize_and_crop(img, p);
    let s = p.crop as usize;
    let mut data = vec![0f32; 3 * s * s];
    for (i, px) in square.pixels().enumerate() {
        for c in 0..3 {
            data[c * s * s + i] = (px[c] as f32 - p.mean[c]) / p.std[c];
        }
    }
    Tensor::from_shape_vec(vec![1, 3, s, s], data).expect("length matches shape")
}
