//! RGB pixels -> normalised NCHW tensor, as a model's [`Preprocess`] says.

use crate::ir::Tensor;
use crate::model::{Channels, Preprocess, Resize};
use image::imageops::{self, FilterType};
use image::RgbImage;

/// Longest side kept before resizing, as a multiple of the shorter side. Only the centre of
/// the long side reaches the crop, and a 50 MP image one pixel high would otherwise resize
/// to billions of pixels; photos (aspect up to 8:1) are untouched.
const MAX_ASPECT: u32 = 8;

/// The picture the model sees, `height` x `width` pixels. `Resize::Crop`: scaled (bilinear,
/// antialiased when shrinking, aspect kept) until it covers the input box enlarged so its
/// shorter side is [`Preprocess::shorter_side`], then the centred `height` x `width` cut
/// (for a square input: shorter side to `resize_shorter`, centre square). Images longer than
/// 8:1 are first cut to their centred 8:1 part. `Resize::Stretch`: straight to the size.
pub fn resize_and_crop(img: &RgbImage, p: &Preprocess, height: u32, width: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (cw, ch) = (
        w.min(h.saturating_mul(MAX_ASPECT)),
        h.min(w.saturating_mul(MAX_ASPECT)),
    );
    if (cw, ch) != (w, h) {
        let centre = imageops::crop_imm(img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image();
        return resize_and_crop(&centre, p, height, width);
    }
    let resize = |nw, nh| {
        if (nw, nh) == (w, h) {
            img.clone()
        } else {
            imageops::resize(img, nw, nh, FilterType::Triangle)
        }
    };
    if p.resize == Resize::Stretch {
        return resize(width, height);
    }
    // The box: the input's aspect, its shorter side enlarged to `shorter_side` (exactly
    // that side for a square input).
    let (short, side) = (
        f64::from(height.min(width)),
        f64::from(p.shorter_side(height, width)),
    );
    let (box_w, box_h) = (
        side * f64::from(width) / short,
        side * f64::from(height) / short,
    );
    let scale = (box_w / f64::from(w)).max(box_h / f64::from(h));
    let nw = ((f64::from(w) * scale).round() as u32).max(width);
    let nh = ((f64::from(h) * scale).round() as u32).max(height);
    let resized = resize(nw, nh);
    let (x, y) = ((nw - width) / 2, (nh - height) / 2);
    imageops::crop_imm(&resized, x, y, width, height).to_image()
}

/// The model input `[1, C, height, width]`: `(pixel - mean[c]) / std[c]` per input channel
/// `c`, the pixel's channels in `p.channels` order; one channel is the luma
/// `0.299 R + 0.587 G + 0.114 B` (ITU-R BT.601; a grey pixel's own value).
pub fn preprocess(
    img: &RgbImage,
    p: &Preprocess,
    height: u32,
    width: u32,
    channels: usize,
) -> Tensor {
    let picture = resize_and_crop(img, p, height, width);
    let plane = height as usize * width as usize;
    let mut data = vec![0f32; channels * plane];
    let order: [usize; 3] = match p.channels {
        Channels::Rgb => [0, 1, 2],
        Channels::Bgr => [2, 1, 0],
    };
    for (i, px) in picture.pixels().enumerate() {
        if channels == 1 {
            // A grey pixel is its own luma, exactly (the weighted sum can be an ulp off).
            let luma = if px[0] == px[1] && px[1] == px[2] {
                f32::from(px[0])
            } else {
                0.299 * f32::from(px[0]) + 0.587 * f32::from(px[1]) + 0.114 * f32::from(px[2])
            };
            data[i] = (luma - p.mean[0]) / p.std[0];
            continue;
        }
        for (c, &source) in order.iter().enumerate() {
            data[c * plane + i] = (f32::from(px[source]) - p.mean[c]) / p.std[c];
        }
    }
    Tensor::from_shape_vec(vec![1, channels, height as usize, width as usize], data)
        .expect("length matches shape")
}
