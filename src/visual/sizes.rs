//! How big the weights are as each variant stores them, raw and deflate-compressed.
//!
//! ```text
//! fp32      4 bytes per weight and bias (f32 little endian)
//! fp16      2 bytes per weight and bias (IEEE binary16, little endian)
//! w<b>a<a>  the codes packed 2, 4 or 8 bits each (QuantizedWeights::packed_codes)
//!           + an f32 scale per channel (or per tensor) + an int8 zero point per scale
//!           (asymmetric weights) + 2^b int8 codebook entries per scale (k-means, pow2)
//!           + 4 bytes per bias
//! ```
//!
//! The bytes are laid out layer after layer (every Conv and Gemm: codes, scales, zero points,
//! codebooks, then the bias). A float's low mantissa bits are close to random, so deflate finds
//! little to squeeze; integer codes cluster around 0 and compress better. Deflate runs at
//! [`DEFLATE_LEVEL`] (fast), raw deflate without a zlib or gzip header. The weights are
//! quantized as the engine quantizes them ([`QuantizedWeights::quantize_scheme`]), before its
//! floor on near-zero scales (which changes no byte count). Activation bits do not change the
//! weights: `w4a8` and `w4a4` store the same bytes.

use super::layers::all_layer_weights;
use crate::ir::Graph;
use crate::quant::lower::{QLayer, QuantizedGraph};
use crate::quant::scheme::VariantSpec;
use crate::quant::weights::QuantizedWeights;
use crate::Result;
use half::f16;
use serde::Serialize;

/// The miniz compression level used (1 = fastest, 10 = best).
pub const DEFLATE_LEVEL: u8 = 1;

/// The variants [`variant_sizes`] measures unless told otherwise (fp32 and fp16 always come
/// first).
pub const DEFAULT_SIZE_SPECS: &[&str] = &[
    "w8a8",
    "w8a8-tensor",
    "w4a8",
    "w4a8-kmeans",
    "w2a8",
    "w2a8-pow2",
];

/// Bytes of `bytes` after raw deflate at [`DEFLATE_LEVEL`].
pub fn deflate_size(bytes: &[u8]) -> usize {
    miniz_oxide::deflate::compress_to_vec(bytes, DEFLATE_LEVEL).len()
}

/// Raw bytes of one variant's Conv/Gemm parameters, by part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SizeParts {
    /// Weights: packed codes (or the floats, for fp32 and fp16).
    pub codes: usize,
    /// f32 scales.
    pub scales: usize,
    /// int8 zero points (asymmetric weights).
    pub zero_points: usize,
    /// int8 codebook entries (k-means, powers of two).
    pub codebooks: usize,
    /// Biases (4 bytes each; 2 in fp16).
    pub biases: usize,
}

/// One storage format of the weights.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VariantSize {
    /// The canonical spec: `fp32`, `fp16`, `w8a8`, `w4a8-kmeans`, ...
    pub name: String,
    /// Bits one weight code takes as stored (32, 16, 8, 4 or 2).
    pub code_bits: u8,
    /// Uncompressed bytes.
    pub raw_bytes: usize,
    /// Bytes after deflate.
    pub deflate_bytes: usize,
    /// `raw_bytes / deflate_bytes`.
    pub ratio: f64,
    /// `raw_bytes` by part.
    pub parts: SizeParts,
}

impl VariantSize {
    fn of(name: String, code_bits: u8, bytes: &[u8], parts: SizeParts) -> VariantSize {
        let deflate_bytes = deflate_size(bytes);
        VariantSize {
            name,
            code_bits,
            raw_bytes: bytes.len(),
            deflate_bytes,
            ratio: bytes.len() as f64 / deflate_bytes.max(1) as f64,
            parts,
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
    /// Output channels (one scale each, per channel).
    pub channels: usize,
    /// The deflate level used.
    pub deflate_level: u8,
    /// `fp32`, `fp16`, then the asked specs in order (duplicates left out).
    pub variants: Vec<VariantSize>,
}

/// Appends one quantized layer as stored: packed codes, scales, zero points, codebooks.
fn push_quantized(q: &QuantizedWeights, bytes: &mut Vec<u8>, parts: &mut SizeParts) {
    let stored = q.stored_bytes();
    let codes = q.packed_codes();
    debug_assert_eq!(codes.len(), stored.codes);
    bytes.extend_from_slice(&codes);
    for s in &q.scales {
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    if stored.zero_points > 0 {
        bytes.extend(q.zero_points.iter().map(|&z| z as i8 as u8));
    }
    if stored.codebooks > 0 {
        // One table per scale: every row (per channel) or the first (per tensor).
        let groups = q.scales.len();
        for g in 0..groups {
            bytes.extend(q.table(g).iter().map(|&e| e as u8));
        }
    }
    parts.codes += stored.codes;
    parts.scales += stored.scales;
    parts.zero_points += stored.zero_points;
    parts.codebooks += stored.codebooks;
}

/// Raw and deflated bytes of the Conv/Gemm weights and biases of `graph` as fp32, fp16 and
/// each of `specs` (any spec [`VariantSpec::parse`] takes; `Error::Input` naming a bad one).
pub fn variant_sizes(graph: &Graph, specs: &[&str]) -> Result<Sizes> {
    let mut names = vec!["fp32".to_string(), "fp16".to_string()];
    let mut schemes = Vec::new();
    for spec in specs {
        let v = VariantSpec::parse(spec)?;
        let name = v.to_string();
        if names.contains(&name) {
            continue;
        }
        names.push(name.clone());
        if let Some(s) = v.scheme() {
            schemes.push((name, *s));
        }
    }
    let (mut fp32, mut fp16) = (Vec::new(), Vec::new());
    let mut quantized: Vec<(Vec<u8>, SizeParts)> = vec![Default::default(); schemes.len()];
    let (mut weights, mut biases, mut channels) = (0, 0, 0);
    for lw in all_layer_weights(graph) {
        if lw.rows == 0 || lw.weights.len() % lw.rows != 0 {
            continue;
        }
        weights += lw.weights.len();
        biases += lw.bias.len();
        channels += lw.rows;
        for &x in lw.weights.iter().chain(&lw.bias) {
            fp32.extend_from_slice(&x.to_le_bytes());
            fp16.extend_from_slice(&f16::from_f32(x).to_le_bytes());
        }
        for ((_, scheme), (bytes, parts)) in schemes.iter().zip(quantized.iter_mut()) {
            let q = QuantizedWeights::quantize_scheme(&lw.weights, lw.rows, scheme, &[]);
            push_quantized(&q, bytes, parts);
            for &b in &lw.bias {
                bytes.extend_from_slice(&b.to_le_bytes());
            }
            parts.biases += 4 * lw.bias.len();
        }
    }
    let float_parts = |per: usize| SizeParts {
        codes: per * weights,
        biases: per * biases,
        ..Default::default()
    };
    let mut variants = vec![
        VariantSize::of("fp32".into(), 32, &fp32, float_parts(4)),
        VariantSize::of("fp16".into(), 16, &fp16, float_parts(2)),
    ];
    for ((name, scheme), (bytes, parts)) in schemes.iter().zip(quantized) {
        variants.push(VariantSize::of(
            name.clone(),
            scheme.container_bits(),
            &bytes,
            parts,
        ));
    }
    // fp32 / fp16 asked again keep their first place; order otherwise as asked.
    Ok(Sizes {
        weights,
        biases,
        channels,
        deflate_level: DEFLATE_LEVEL,
        variants,
    })
}

/// Raw and deflated bytes of what a static model stores for its Conv/Gemm layers: packed
/// codes, scales, zero points, codebooks and the int32 bias, named by its default scheme.
pub fn quantized_sizes(q: &QuantizedGraph) -> VariantSize {
    let mut bytes = Vec::new();
    let mut parts = SizeParts::default();
    let mut name = None;
    let mut bits = 8;
    for layer in &q.layers {
        let QLayer::Linear(lin) = layer else { continue };
        name.get_or_insert_with(|| VariantSpec::Static(lin.weights.scheme).to_string());
        bits = lin.weights.code_bits();
        push_quantized(&lin.weights, &mut bytes, &mut parts);
        for &b in &lin.bias {
            bytes.extend_from_slice(&b.to_le_bytes());
        }
        parts.biases += 4 * lin.bias.len();
    }
    VariantSize::of(name.unwrap_or_else(|| "w8a8".into()), bits, &bytes, parts)
}
