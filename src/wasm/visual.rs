//! The teaching page's data as JavaScript values: layers, a layer's weights under a grid, the
//! staircase, sizes and the bit-depth series (see [`crate::visual`]). Pure reads of the model;
//! every bad argument is a rejected `Error` naming it.

use super::{js_error, to_js, Model};
use crate::classifier::Prediction;
use crate::image;
use crate::visual::{
    bit_depth_image, bit_depth_series, bucket, layer_grid, layer_list, layer_view, staircase,
    variant_sizes, BitDepthEntry, Bucket,
};
use ::image::imageops::{self, FilterType};
use ::image::RgbImage;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// Largest side of the bit-depth pictures unless the caller asks otherwise.
const DEFAULT_MAX_SIDE: u32 = 384;
/// Bounds of `maxSide`: big enough to see, small enough that nine RGBA copies stay a few MB.
const MAX_SIDE_RANGE: std::ops::RangeInclusive<u32> = 16..=1024;

fn bits_arg(bits: u32) -> Result<u8, JsError> {
    u8::try_from(bits).map_err(|_| JsError::new(&format!("bits must be 2..=8, got {bits}")))
}

#[wasm_bindgen]
impl Model {
    /// Every Conv and Gemm in graph order: `[{ name, op, weight_shape, parameters, depthwise }]`.
    pub fn layers(&self) -> Result<JsValue, JsError> {
        to_js(&layer_list(self.classifier.graph()))
    }

    /// One layer's float weights under a symmetric grid of `bits` (2..=8), per output channel
    /// or per tensor: histograms, levels, per-channel ranges, error and SQNR
    /// ([`crate::visual::LayerView`]).
    #[wasm_bindgen(js_name = layerView)]
    pub fn layer_view(
        &self,
        layer: &str,
        bits: u32,
        per_channel: bool,
        bins: u32,
    ) -> Result<JsValue, JsError> {
        let view = layer_view(
            self.classifier.graph(),
            layer,
            bits_arg(bits)?,
            per_channel,
            bins as usize,
        )
        .map_err(js_error)?;
        to_js(&view)
    }

    /// The float -> int -> float staircase of the grid [`layerView`](Self::layer_view) draws,
    /// sampled at `points` reals over the layer's weight range, and the bucket of `value`
    /// when given.
    pub fn staircase(
        &self,
        layer: &str,
        bits: u32,
        per_channel: bool,
        points: u32,
        value: Option<f32>,
    ) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct StaircaseView {
            #[serde(flatten)]
            staircase: crate::visual::Staircase,
            /// `[min, max]` of the layer's weights: the drawn x range.
            range: (f32, f32),
            simulated: bool,
            bucket: Option<Bucket>,
        }
        let bits = bits_arg(bits)?;
        // Called on every move of the page's sliders: the grid and the weights' range only,
        // not a quantized copy of the layer.
        let (grid, (mut lo, mut hi)) =
            layer_grid(self.classifier.graph(), layer, bits, per_channel).map_err(js_error)?;
        if lo >= hi {
            (lo, hi) = (lo - grid.scale, hi + grid.scale);
        }
        if let Some(v) = value {
            if !v.is_finite() {
                return Err(JsError::new(&format!("value must be finite, got {v}")));
            }
        }
        to_js(&StaircaseView {
            staircase: staircase(&grid, lo, hi, points as usize).map_err(js_error)?,
            range: (lo, hi),
            simulated: bits != 8,
            bucket: value.map(|v| bucket(&grid, v)),
        })
    }

    /// Raw and deflate-compressed bytes of all Conv/Gemm weights and biases as fp32, fp16 and
    /// int8 (per-channel codes + int32 bias + f32 scales) ([`crate::visual::Sizes`]).
    pub fn sizes(&self) -> Result<JsValue, JsError> {
        to_js(&variant_sizes(self.classifier.graph()))
    }

    /// The bit-depth series of an encoded image, scaled to at most `max_side` pixels
    /// (16..=1024, default 384), each reduced picture classified by this model: `{ width,
    /// height, source_width, source_height, entries: [{ key, label, bits_per_channel, channels,
    /// bits_per_pixel, raw_bytes, psnr_db, top1, pixels }] }`, `pixels` RGBA
    /// (`Uint8ClampedArray`, ready for `new ImageData`).
    #[wasm_bindgen(js_name = bitDepthEncoded)]
    pub fn bit_depth_encoded(
        &self,
        bytes: &[u8],
        max_side: Option<u32>,
    ) -> Result<JsValue, JsError> {
        let img = image::decode(bytes).map_err(js_error)?;
        self.bit_depth_of(&img, max_side)
    }

    /// As [`bitDepthEncoded`](Self::bit_depth_encoded) for raw RGBA pixels.
    #[wasm_bindgen(js_name = bitDepthRgba)]
    pub fn bit_depth_rgba(
        &self,
        width: u32,
        height: u32,
        rgba: Vec<u8>,
        max_side: Option<u32>,
    ) -> Result<JsValue, JsError> {
        let img = image::from_rgba(width, height, rgba).map_err(js_error)?;
        self.bit_depth_of(&img, max_side)
    }
}

impl Model {
    /// The series of [`bitDepthEncoded`](Self::bit_depth_encoded) for a decoded image.
    fn bit_depth_of(&self, img: &RgbImage, max_side: Option<u32>) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct Entry {
            #[serde(flatten)]
            entry: BitDepthEntry,
            top1: Prediction,
        }
        #[derive(Serialize)]
        struct Series {
            width: u32,
            height: u32,
            source_width: u32,
            source_height: u32,
            entries: Vec<Entry>,
        }
        let max_side = max_side.unwrap_or(DEFAULT_MAX_SIDE);
        if !MAX_SIDE_RANGE.contains(&max_side) {
            return Err(JsError::new(&format!(
                "maxSide must be {}..={}, got {max_side}",
                MAX_SIDE_RANGE.start(),
                MAX_SIDE_RANGE.end()
            )));
        }
        let small = fit(img, max_side);
        let mut entries = Vec::new();
        let mut pictures = Vec::new();
        for entry in bit_depth_series(&small) {
            let reduced = bit_depth_image(&small, entry.key).map_err(js_error)?;
            let top1 = self
                .classifier
                .classify(&reduced, 1)
                .map_err(js_error)?
                .into_iter()
                .next()
                .ok_or_else(|| JsError::new("the model returned no class"))?;
            entries.push(Entry { entry, top1 });
            pictures.push(reduced);
        }
        let out = to_js(&Series {
            width: small.width(),
            height: small.height(),
            source_width: img.width(),
            source_height: img.height(),
            entries,
        })?;
        let list = js_sys::Reflect::get(&out, &"entries".into())
            .map_err(|_| JsError::new("bit-depth result has no entries"))?;
        for (i, picture) in pictures.iter().enumerate() {
            let rgba: Vec<u8> = picture
                .pixels()
                .flat_map(|p| [p.0[0], p.0[1], p.0[2], 255])
                .collect();
            let pixels = js_sys::Uint8ClampedArray::from(rgba.as_slice());
            let item = js_sys::Reflect::get_u32(&list, i as u32)
                .map_err(|_| JsError::new("bit-depth entry missing"))?;
            js_sys::Reflect::set(&item, &"pixels".into(), &pixels)
                .map_err(|_| JsError::new("cannot attach the pixels"))?;
        }
        Ok(out)
    }
}

/// `img` scaled down (never up) so that its longer side is at most `max_side`.
fn fit(img: &RgbImage, max_side: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let long = w.max(h);
    if long <= max_side {
        return img.clone();
    }
    let scale = max_side as f64 / long as f64;
    let nw = ((w as f64 * scale).round() as u32).max(1);
    let nh = ((h as f64 * scale).round() as u32).max(1);
    imageops::resize(img, nw, nh, FilterType::Triangle)
}
