//! Per-layer facts of a quantized graph: scales, zero points, weight SQNR and sizes (what
//! `quantscope quantize --report` prints and the page's layer list shows).

use super::lower::{QLayer, QLinear, QuantizedGraph};
use super::scheme::{Clipping, Levels, Scheme};
use super::weights::{sqnr_db, QuantizedWeights, WeightBytes};
use crate::ir::Op;
use serde::Serialize;

/// One Conv or Gemm after quantization.
#[derive(Clone, Debug, Serialize)]
pub struct LayerReport {
    /// Node name.
    pub name: String,
    /// `Conv`, `Gemm`.
    pub op: &'static str,
    /// Weight shape.
    pub weight_shape: Vec<usize>,
    /// Smallest and largest weight scale over the output channels.
    pub weight_scale_range: (f32, f32),
    /// Number of weight scales (output channels when per channel, else 1).
    pub weight_scales: usize,
    /// Input scale and zero point.
    pub input: (f32, i32),
    /// Output scale and zero point.
    pub output: (f32, i32),
    /// Output clamp in codes (a fused ReLU/ReLU6 narrows it).
    pub clamp: (i8, i8),
    /// The layer's scheme, as a spec (`w4a8-kmeans`, ...).
    pub scheme: String,
    /// SQNR of the dequantized weights against the float weights, dB.
    pub weight_sqnr_db: f64,
    /// Uniform grids: the weight SQNR with a min/max range and with the MSE-chosen range
    /// (whichever the scheme uses is `weight_sqnr_db`).
    pub clipping_sqnr_db: Option<(f64, f64)>,
    /// Codebooks: SQNR of the clustering alone (float levels against the weights) and of the
    /// int8 codebook against the float levels (its rounding error).
    pub codebook_sqnr_db: Option<(f64, f64)>,
    /// Stored bytes of the weights, by part.
    pub stored: WeightBytes,
    /// Bytes of the float weights and bias.
    pub fp32_bytes: usize,
    /// Bytes of the int8 weights, int32 bias and per-channel scales.
    pub int8_bytes: usize,
}

/// Bytes of one integer layer as stored: packed codes, scales, zero points, codebooks and an
/// int32 bias per channel (w8a8: a byte per weight, an int32 bias and an f32 scale per channel).
fn int8_bytes(lin: &QLinear) -> usize {
    lin.weights.stored_bytes().total() + 4 * lin.bias.len()
}

/// Bytes of the int8 layers of `q` (what [`LayerReport::int8_bytes`] sums to), without the
/// per-layer SQNR the report computes.
pub fn int8_weight_bytes(q: &QuantizedGraph) -> usize {
    q.layers
        .iter()
        .map(|l| match l {
            QLayer::Linear(lin) => int8_bytes(lin),
            _ => 0,
        })
        .sum()
}

/// The report of every Conv and Gemm of `q`.
pub fn layer_reports(q: &QuantizedGraph) -> Vec<LayerReport> {
    let g = &q.graph;
    let mut out = Vec::new();
    for (node, layer) in g.nodes.iter().zip(&q.layers) {
        let QLayer::Linear(lin) = layer else { continue };
        let (w, shape, bias_len): (Vec<f32>, Vec<usize>, usize) = match &node.op {
            Op::Conv(c) => (
                c.weight.iter().copied().collect(),
                c.weight.shape().to_vec(),
                c.bias.len(),
            ),
            Op::Gemm(gm) => (
                gm.weight.iter().copied().collect(),
                gm.weight.shape().to_vec(),
                gm.bias.as_ref().map_or(0, |b| b.len()),
            ),
            _ => continue,
        };
        let p = |v: usize| q.params[v].map_or((0.0, 0), |p| (p.scale, p.zero_point));
        let scales = &lin.weights.scales;
        let scheme = lin.weights.scheme;
        let sqnr_with = |clipping: Clipping| {
            let s = Scheme { clipping, ..scheme };
            let qw = QuantizedWeights::quantize_scheme(&w, lin.weights.rows, &s, &[]);
            sqnr_db(&w, &qw.dequantize())
        };
        let clipping_sqnr_db = (scheme.levels == Levels::Uniform)
            .then(|| (sqnr_with(Clipping::MinMax), sqnr_with(Clipping::Mse)));
        let codebook_sqnr_db = lin
            .weights
            .clustered()
            .map(|c| (sqnr_db(&w, &c), sqnr_db(&c, &lin.weights.dequantize())));
        let lo = scales.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = scales.iter().copied().fold(0f32, f32::max);
        out.push(LayerReport {
            name: node.name.clone(),
            op: node.op.kind(),
            weight_shape: shape,
            weight_scale_range: (lo, hi),
            weight_scales: scales.len(),
            input: p(node.inputs[0]),
            output: p(node.outputs[0]),
            clamp: (lin.min, lin.max),
            scheme: super::VariantSpec::Static(scheme).to_string(),
            weight_sqnr_db: sqnr_db(&w, &lin.weights.dequantize()),
            clipping_sqnr_db,
            codebook_sqnr_db,
            stored: lin.weights.stored_bytes(),
            fp32_bytes: 4 * (w.len() + bias_len),
            int8_bytes: int8_bytes(lin),
        });
    }
    out
}

/// Bytes of a graph with int8 Conv/Gemm weights (plus an f32 scale per channel, or one per
/// tensor) and everything else in f32: the dynamic-range variant.
pub fn dynamic_bytes(g: &crate::ir::Graph, per_channel: bool) -> usize {
    let mut bytes = 4 * g.constants.iter().map(|(_, t)| t.len()).sum::<usize>();
    for n in &g.nodes {
        let (weights, rows, bias) = match &n.op {
            Op::Conv(c) => (c.weight.len(), c.out_channels(), c.bias.len()),
            Op::Gemm(gm) => (
                gm.weight.len(),
                gm.weight.nrows(),
                gm.bias.as_ref().map_or(0, |b| b.len()),
            ),
            _ => continue,
        };
        bytes += weights + 4 * bias + 4 * if per_channel { rows } else { 1 };
    }
    bytes
}
