//! The teaching page's data as JavaScript values: layers, a layer's weights under a scheme, the
//! staircase, sizes, the bit-depth series and the variant vocabulary (see [`crate::visual`]). Pure reads of the model;
//! every bad argument is a rejected `Error` naming it.

use super::{js_error, to_js, Model};
use crate::classifier::Prediction;
use crate::image;
use crate::quant::scheme::{VariantSpec, SPEC_GRAMMAR};
use crate::visual::{
    bit_depth_image, bit_depth_series, bucket, layer_list, layer_rounding, layer_view, levels_name,
    staircase, variant_sizes, weight_scheme, weight_spec, BitDepthEntry, Bucket, Grid,
    DEFAULT_SIZE_SPECS,
};
use ::image::imageops::{self, FilterType};
use ::image::RgbImage;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// Largest side of the bit-depth pictures unless the caller asks otherwise.
const DEFAULT_MAX_SIDE: u32 = 384;
/// Bounds of `maxSide`: big enough to see, small enough that nine RGBA copies stay a few MB.
const MAX_SIDE_RANGE: std::ops::RangeInclusive<u32> = 16..=1024;

/// The canonical spec of `spec` (`"int8"` -> `"w8a8"`, `"W4A8-KMeans"` -> `"w4a8-kmeans"`);
/// a bad spec rejects with an `Error` naming the problem and giving the grammar.
#[wasm_bindgen(js_name = parseVariant)]
pub fn parse_variant(spec: &str) -> Result<String, JsError> {
    VariantSpec::parse(spec)
        .map(|v| v.to_string())
        .map_err(js_error)
}

/// The grammar of variant specs, for help texts.
#[wasm_bindgen(js_name = specGrammar)]
pub fn spec_grammar() -> String {
    SPEC_GRAMMAR.to_string()
}

/// The default list of [`Model::sizes`].
#[wasm_bindgen(js_name = defaultSizeSpecs)]
pub fn default_size_specs() -> Vec<String> {
    DEFAULT_SIZE_SPECS.iter().map(|s| s.to_string()).collect()
}

#[wasm_bindgen]
impl Model {
    /// Every Conv and Gemm in graph order: `[{ name, op, weight_shape, parameters, depthwise }]`.
    pub fn layers(&self) -> Result<JsValue, JsError> {
        to_js(&layer_list(self.classifier.graph()))
    }

    /// One layer's float weights quantized as the engine quantizes them under the weight part
    /// of `spec` (`"w4a8"`, `"w4a8-kmeans"`, `"w2a8-pow2-tensor"`, ...): histograms, the real
    /// levels (grid, k-means centroids, powers of two), per-channel ranges, error and SQNR
    /// (for codebooks also the clustering and the codebook's rounding apart)
    /// ([`crate::visual::LayerView`]).
    #[wasm_bindgen(js_name = layerView)]
    pub fn layer_view(&self, layer: &str, spec: &str, bins: u32) -> Result<JsValue, JsError> {
        let scheme = weight_scheme(spec).map_err(js_error)?;
        let view =
            layer_view(self.classifier.graph(), layer, &scheme, bins as usize).map_err(js_error)?;
        to_js(&view)
    }

    /// The float -> int -> float staircase of the channel [`layerView`](Self::layer_view)
    /// draws under `spec` (a uniform grid, or a codebook's uneven steps), sampled at `points`
    /// reals over the layer's weight range, and the bucket of `value` when given.
    pub fn staircase(
        &self,
        layer: &str,
        spec: &str,
        points: u32,
        value: Option<f32>,
    ) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        struct StaircaseView {
            #[serde(flatten)]
            staircase: crate::visual::Staircase,
            /// The weight scheme (`w4a8-kmeans`).
            spec: String,
            /// `uniform`, `kmeans`, `kmeans++` or `pow2`.
            levels_kind: &'static str,
            /// The uniform grid, or the int8 grid a codebook is rounded to.
            grid: Grid,
            /// The reals the codes stand for, ascending.
            levels: Vec<f32>,
            /// Codebooks: the float levels before rounding (empty for a grid).
            centroids: Vec<f32>,
            /// `[min, max]` of the layer's weights: the drawn x range.
            range: (f32, f32),
            bucket: Option<Bucket>,
        }
        let scheme = weight_scheme(spec).map_err(js_error)?;
        // Called on every move of the page's sliders: the drawn channel's rounding and the
        // weights' range only, not a quantized copy of the layer.
        let (rounding, (mut lo, mut hi)) =
            layer_rounding(self.classifier.graph(), layer, &scheme).map_err(js_error)?;
        if lo >= hi {
            let s = rounding.grid().scale;
            (lo, hi) = (lo - s, hi + s);
        }
        if let Some(v) = value {
            if !v.is_finite() {
                return Err(JsError::new(&format!("value must be finite, got {v}")));
            }
        }
        let q = rounding.quantizer();
        to_js(&StaircaseView {
            staircase: staircase(q, lo, hi, points as usize).map_err(js_error)?,
            spec: weight_spec(&scheme),
            levels_kind: levels_name(scheme.levels),
            grid: rounding.grid(),
            levels: rounding.levels(),
            centroids: rounding.centroids(),
            range: (lo, hi),
            bucket: value.map(|v| bucket(q, v)),
        })
    }

    /// Raw and deflate-compressed bytes of all Conv/Gemm weights and biases as each variant
    /// stores them (packed codes, scales, zero points, codebooks, biases): fp32, fp16 and
    /// `specs` (default: w8a8, w8a8-tensor, w4a8, w4a8-kmeans, w2a8, w2a8-pow2)
    /// ([`crate::visual::Sizes`]).
    pub fn sizes(&self, specs: Option<Vec<String>>) -> Result<JsValue, JsError> {
        let specs: Vec<String> = specs.unwrap_or_else(default_size_specs);
        let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
        to_js(&variant_sizes(self.classifier.graph(), &specs).map_err(js_error)?)
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
