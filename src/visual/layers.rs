//! The layers of a graph and one layer's weights under a symmetric grid of 2 to 8 bits.
//!
//! ```text
//! per tensor    S   = max_{c,i} |w[c, i]| / qmax          qmax = 2^(b-1) - 1
//! per channel   S_c = max_i |w[c, i]| / qmax              q = clamp(round(w / S), -qmax, qmax)
//! error         e = w - S q    (|e| <= S / 2 unless clipped; with max|w| on the grid, none is)
//! SQNR          10 log10(sum w^2 / sum e^2)  dB           (about 6 dB per bit)
//! ```
//!
//! At 8 bits this is exactly [`QuantizedWeights::quantize`](crate::quant::weights::QuantizedWeights::quantize)
//! (the engine's weights, before its floor on near-zero scales); below 8 bits the weights are
//! only fake-quantized here, for teaching: the engine executes 8 bits.

use super::grid::{check_bits, Grid};
use super::histogram::{check_bins, min_max, Histogram};
use crate::ir::{Graph, Op};
use crate::quant::weights::sqnr_db;
use crate::{Error, Result};
use serde::Serialize;

/// One Conv or Gemm of a graph.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerEntry {
    /// Node name (the key of [`layer_view`]).
    pub name: String,
    /// `Conv` or `Gemm`.
    pub op: &'static str,
    /// Weight shape (Conv `[out, in / group, kh, kw]`, Gemm `[N, K]`).
    pub weight_shape: Vec<usize>,
    /// Weights plus bias values.
    pub parameters: usize,
    /// Depthwise convolution (one input channel per output channel).
    pub depthwise: bool,
}

/// A layer's float weights as `[rows, cols]` (rows = output channels), row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerWeights {
    /// The layer's entry.
    pub entry: LayerEntry,
    /// Weights, row-major `[rows, cols]`.
    pub weights: Vec<f32>,
    /// Bias (empty when the Gemm has none).
    pub bias: Vec<f32>,
    /// Output channels.
    pub rows: usize,
}

impl LayerWeights {
    /// Values per output channel.
    pub fn cols(&self) -> usize {
        self.weights.len().checked_div(self.rows).unwrap_or(0)
    }
}

fn weights_of(node: &crate::ir::Node) -> Option<LayerWeights> {
    let (weights, shape, bias, depthwise): (Vec<f32>, Vec<usize>, Vec<f32>, bool) = match &node.op {
        Op::Conv(c) => (
            c.weight.iter().copied().collect(),
            c.weight.shape().to_vec(),
            c.bias.clone(),
            c.is_depthwise(),
        ),
        Op::Gemm(g) => (
            g.weight.iter().copied().collect(),
            g.weight.shape().to_vec(),
            g.bias
                .as_ref()
                .map_or_else(Vec::new, |b| b.iter().copied().collect()),
            false,
        ),
        _ => return None,
    };
    Some(LayerWeights {
        entry: LayerEntry {
            name: node.name.clone(),
            op: node.op.kind(),
            weight_shape: shape.clone(),
            parameters: weights.len() + bias.len(),
            depthwise,
        },
        weights,
        bias,
        rows: shape[0],
    })
}

/// Every Conv and Gemm of `graph`, in execution order.
pub fn layer_list(graph: &Graph) -> Vec<LayerEntry> {
    all_layer_weights(graph).map(|w| w.entry).collect()
}

/// The float weights of every Conv and Gemm of `graph`, in execution order.
pub fn all_layer_weights(graph: &Graph) -> impl Iterator<Item = LayerWeights> + '_ {
    graph.nodes.iter().filter_map(weights_of)
}

/// The float weights of the Conv or Gemm named `layer`; `Error::Input` naming it when there
/// is none.
pub fn layer_weights(graph: &Graph, layer: &str) -> Result<LayerWeights> {
    graph
        .nodes
        .iter()
        .find(|n| n.name == layer && matches!(n.op, Op::Conv(_) | Op::Gemm(_)))
        .and_then(weights_of)
        .ok_or_else(|| {
            Error::Input(format!(
                "no Conv or Gemm layer named '{layer}' (see layer_list for the names)"
            ))
        })
}

/// Weights fake-quantized on symmetric grids.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeQuant {
    /// One grid per output channel, or one for the whole tensor.
    pub grids: Vec<Grid>,
    /// Codes, row-major like the weights.
    pub codes: Vec<i8>,
    /// `S q`, row-major.
    pub dequantized: Vec<f32>,
}

/// Quantizes row-major `w` of `rows` output channels on symmetric narrow grids of `bits`
/// (2..=8), one per channel or one per tensor.
pub fn fake_quantize(w: &[f32], rows: usize, bits: u8, per_channel: bool) -> Result<FakeQuant> {
    check_bits(bits, 2, "weight quantization")?;
    if rows == 0 || w.len() % rows != 0 {
        return Err(Error::Input(format!(
            "{} weights do not split into {rows} output channels",
            w.len()
        )));
    }
    let cols = w.len() / rows;
    let absmax = |xs: &[f32]| xs.iter().fold(0f32, |m, &x| m.max(x.abs()));
    let grids = if per_channel {
        w.chunks_exact(cols.max(1))
            .map(|r| Grid::symmetric(absmax(r), bits))
            .collect::<Result<Vec<_>>>()?
    } else {
        vec![Grid::symmetric(absmax(w), bits)?]
    };
    let grid = |i: usize| &grids[if per_channel { i / cols.max(1) } else { 0 }];
    let codes: Vec<i8> = w
        .iter()
        .enumerate()
        .map(|(i, &x)| grid(i).quantize(x) as i8)
        .collect();
    let dequantized = codes
        .iter()
        .enumerate()
        .map(|(i, &q)| grid(i).dequantize(q as i32))
        .collect();
    Ok(FakeQuant {
        grids,
        codes,
        dequantized,
    })
}

/// What the page shows for one layer at one bit width and granularity.
#[derive(Clone, Debug, Serialize)]
pub struct LayerView {
    /// The layer.
    pub layer: LayerEntry,
    /// Bits of the grid (2..=8).
    pub bits: u8,
    /// One grid per output channel (else one per tensor).
    pub per_channel: bool,
    /// True below 8 bits: fake-quantized here for teaching, not what the engine executes.
    pub simulated: bool,
    /// Histogram of the float weights over their `[min, max]`.
    pub histogram: Histogram,
    /// The grid drawn: the tensor's, or per channel the one of the channel with the largest
    /// range (`grid_channel`).
    pub grid: Grid,
    /// The channel whose grid is `grid` (per channel only).
    pub grid_channel: Option<usize>,
    /// The levels `S q` of `grid` (at most 255, so always present for 2..=8 bits).
    pub levels: Vec<f32>,
    /// The reals `grid` represents, `[-S qmax, S qmax]`.
    pub clip: (f32, f32),
    /// Scale per output channel (per channel), or the single scale. An all-zero channel keeps
    /// the engine's placeholder scale 1 (see `zero_channels`).
    pub scales: Vec<f32>,
    /// Output channels whose weights are all zero (pruned or dead filters).
    pub zero_channels: Vec<usize>,
    /// `(min, max)` of the float weights per output channel.
    pub channel_ranges: Vec<(f32, f32)>,
    /// Histogram of the error `w - S q` over `[-m, m]`, `m = max |error|`.
    pub error_histogram: Histogram,
    /// Largest `|w - S q|` over the layer.
    pub max_abs_error: f32,
    /// `10 log10(sum w^2 / sum (w - S q)^2)`, dB (`inf` when exact).
    pub sqnr_db: f64,
}

/// The view of `layer` at `bits` (2..=8), per channel or per tensor, with `bins` histogram
/// bins (1..=4096).
pub fn layer_view(
    graph: &Graph,
    layer: &str,
    bits: u8,
    per_channel: bool,
    bins: usize,
) -> Result<LayerView> {
    check_bits(bits, 2, "layer_view")?;
    check_bins(bins)?;
    let lw = layer_weights(graph, layer)?;
    let fq = fake_quantize(&lw.weights, lw.rows, bits, per_channel)?;
    let channel_ranges = channel_ranges(&lw);
    let (grid, grid_channel) = drawn_grid(&channel_ranges, bits, per_channel)?;
    let absmax = |c: usize| channel_ranges[c].0.abs().max(channel_ranges[c].1.abs());
    let error: Vec<f32> = lw
        .weights
        .iter()
        .zip(&fq.dequantized)
        .map(|(&w, &d)| w - d)
        .collect();
    let max_abs_error = error.iter().fold(0f32, |m, e| m.max(e.abs()));
    Ok(LayerView {
        bits,
        per_channel,
        simulated: bits != 8,
        histogram: Histogram::of(&lw.weights, bins)?,
        grid,
        grid_channel,
        levels: if grid.levels() <= 255 {
            grid.level_values()
        } else {
            Vec::new()
        },
        clip: grid.clip_range(),
        scales: fq.grids.iter().map(|g| g.scale).collect(),
        zero_channels: (0..channel_ranges.len())
            .filter(|&c| absmax(c) == 0.0)
            .collect(),
        channel_ranges,
        error_histogram: Histogram::over(&error, -max_abs_error, max_abs_error, bins)?,
        max_abs_error,
        sqnr_db: sqnr_db(&lw.weights, &fq.dequantized),
        layer: lw.entry,
    })
}

/// `(min, max)` of the weights of each output channel.
fn channel_ranges(lw: &LayerWeights) -> Vec<(f32, f32)> {
    lw.weights
        .chunks_exact(lw.cols().max(1))
        .map(min_max)
        .collect()
}

/// The grid a layer view draws: the tensor's, or per channel the grid of the channel with the
/// widest range (by range, not by scale: an all-zero channel gets the placeholder scale 1).
/// The same grids [`fake_quantize`] builds, found from the channel ranges alone.
fn drawn_grid(
    channel_ranges: &[(f32, f32)],
    bits: u8,
    per_channel: bool,
) -> Result<(Grid, Option<usize>)> {
    let absmax = |c: usize| channel_ranges[c].0.abs().max(channel_ranges[c].1.abs());
    if per_channel {
        let widest = (0..channel_ranges.len())
            .max_by(|&a, &b| absmax(a).total_cmp(&absmax(b)))
            .unwrap_or(0);
        Ok((Grid::symmetric(absmax(widest), bits)?, Some(widest)))
    } else {
        let all = (0..channel_ranges.len()).fold(0f32, |m, c| m.max(absmax(c)));
        Ok((Grid::symmetric(all, bits)?, None))
    }
}

/// The grid [`layer_view`] draws for `layer` at `bits` (2..=8) and the weights' `(min, max)`,
/// without quantizing every weight: what the staircase needs, cheap enough for a slider.
pub fn layer_grid(
    graph: &Graph,
    layer: &str,
    bits: u8,
    per_channel: bool,
) -> Result<(Grid, (f32, f32))> {
    check_bits(bits, 2, "layer_grid")?;
    let lw = layer_weights(graph, layer)?;
    let (grid, _) = drawn_grid(&channel_ranges(&lw), bits, per_channel)?;
    Ok((grid, min_max(&lw.weights)))
}
