//! How big the weights are, raw and deflate-compressed, as fp32, fp16 and int8.
//!
//! ```text
//! fp32   4 bytes per weight and bias (f32 little endian)
//! fp16   2 bytes per weight and bias (IEEE binary16, little endian)
//! int8   1 byte per weight (per-channel code) + 4 per bias + 4 per channel scale (f32)
//! ```
//!
//! The bytes are laid out layer after layer (every Conv and Gemm, weights row-major, then the
//! bias, then the scales). A float's low mantissa bits are close to random, so deflate finds
//! little to squeeze; int8 codes cluster around 0 and compress better. Deflate runs at
//! [`DEFLATE_LEVEL`] (fast: the 4.6 M weights of EfficientNet-Lite0 in well under a second
//! natively), raw deflate without a zlib or gzip header.

use super::layers::{all_layer_weights, fake_quantize};
use crate::ir::Graph;
use crate::quant::lower::{QLayer, QuantizedGraph};
use half::f16;
use serde::Serialize;

/// The miniz compression level used (1 = fastest, 10 = best).
pub const DEFLATE_LEVEL: u8 = 1;

/// Bytes of `bytes` after raw deflate at [`DEFLATE_LEVEL`].
pub fn deflate_size(bytes: &[u8]) -> usize {
    miniz_oxide::deflate::compress_to_vec(bytes, DEFLATE_LEVEL).len()
}

/// One storage format of the weights.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VariantSize {
    /// `fp32`, `fp16`, `int8` (codes, f32 bias, f32 scales: the dynamic-range layout) or
    /// `int8-static` (codes, int32 bias, f32 scales: the calibrated model).
    pub name: &'static str,
    /// Uncompressed bytes.
    pub raw_bytes: usize,
    /// Bytes after deflate.
    pub deflate_bytes: usize,
    /// `raw_bytes / deflate_bytes`.
    pub ratio: f64,
}

impl VariantSize {
    fn of(name: &'static str, bytes: &[u8]) -> VariantSize {
        let deflate_bytes = deflate_size(bytes);
        VariantSize {
            name,
            raw_bytes: bytes.len(),
            deflate_bytes,
            ratio: bytes.len() as f64 / deflate_bytes.max(1) as f64,
        }
    }
}

/// The weights of a graph in every format.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sizes {
    /// Weights of every Conv and Gemm.
    pub weights: usize,
    /// Bias values.
    pub biases: usize,
    /// Output channels (one int8 scale each).
    pub channels: usize,
    /// The deflate level used.
    pub deflate_level: u8,
    /// `fp32`, `fp16`, `int8`.
    pub variants: Vec<VariantSize>,
}

/// Raw and deflated bytes of the Conv/Gemm weights and biases of `graph` as fp32, fp16 and
/// int8 per channel (with the f32 bias of the dynamic-range variant: the static variant's
/// int32 bias needs calibrated input scales, see [`quantized_sizes`]; both take 4 bytes).
pub fn variant_sizes(graph: &Graph) -> Sizes {
    let (mut fp32, mut fp16, mut int8) = (Vec::new(), Vec::new(), Vec::new());
    let (mut weights, mut biases, mut channels) = (0, 0, 0);
    for lw in all_layer_weights(graph) {
        // Only a layer without output channels fails to quantize: it has no weights either.
        let Ok(fq) = fake_quantize(&lw.weights, lw.rows, 8, true) else {
            continue;
        };
        weights += lw.weights.len();
        biases += lw.bias.len();
        channels += lw.rows;
        for &x in lw.weights.iter().chain(&lw.bias) {
            fp32.extend_from_slice(&x.to_le_bytes());
            fp16.extend_from_slice(&f16::from_f32(x).to_le_bytes());
        }
        int8.extend(fq.codes.iter().map(|&q| q as u8));
        for &b in &lw.bias {
            int8.extend_from_slice(&b.to_le_bytes());
        }
        for g in &fq.grids {
            int8.extend_from_slice(&g.scale.to_le_bytes());
        }
    }
    Sizes {
        weights,
        biases,
        channels,
        deflate_level: DEFLATE_LEVEL,
        variants: vec![
            VariantSize::of("fp32", &fp32),
            VariantSize::of("fp16", &fp16),
            VariantSize::of("int8", &int8),
        ],
    }
}

/// Raw and deflated bytes of what the static int8 engine stores for its Conv/Gemm layers:
/// codes, int32 bias and f32 scales (one per channel, or one per tensor).
pub fn quantized_sizes(q: &QuantizedGraph) -> VariantSize {
    let mut bytes = Vec::new();
    for layer in &q.layers {
        let QLayer::Linear(lin) = layer else { continue };
        bytes.extend(lin.weights.data.iter().map(|&c| c as u8));
        for &b in &lin.bias {
            bytes.extend_from_slice(&b.to_le_bytes());
        }
        for &s in &lin.weights.scales {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
    }
    VariantSize::of("int8-static", &bytes)
}
