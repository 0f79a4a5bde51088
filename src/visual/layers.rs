//! The layers of a graph and one layer's weights under a quantization [`Scheme`], as the engine
//! quantizes them ([`QuantizedWeights::quantize_scheme`]): uniform grids of 2..8 bits (per
//! channel or per tensor, min/max or MSE clipping) and codebooks of 1..8 bits (k-means, powers
//! of two). Every width drawn here is one the engine executes.
//!
//! ```text
//! uniform    w' = S_c (q - Z_c)          q = clamp(round(w / S_c) + Z_c)
//! codebook   w' = S_c e[c, j]            j = nearest level of C[c], e = round(C[c, j] / S_c)
//! SQNR       10 log10(sum w^2 / sum (w - w')^2) dB   (about 6 dB per bit on a uniform grid)
//! ```
//!
//! For codebooks the error has two parts, reported apart: the clustering (`w` against its
//! float level `C`) and the codebook's rounding to int8 (`C` against `S e`).

use super::grid::Grid;
use super::histogram::{check_bins, min_max, Histogram};
use super::staircase::Codebook;
use crate::ir::{Graph, Op};
use crate::quant::scheme::{Clipping, Levels, Scheme, VariantSpec};
use crate::quant::weights::{sqnr_db, QuantizedWeights, WeightBytes};
use crate::quant::QuantParams;
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

/// `w` (row-major, `rows` output channels) quantized under `scheme` as the engine does (before
/// its floor on near-zero scales): [`QuantizedWeights::quantize_scheme`].
pub fn fake_quantize(w: &[f32], rows: usize, scheme: &Scheme) -> Result<QuantizedWeights> {
    let scheme = scheme.checked()?;
    if rows == 0 || w.len() % rows != 0 {
        return Err(Error::Input(format!(
            "{} weights do not split into {rows} output channels",
            w.len()
        )));
    }
    Ok(QuantizedWeights::quantize_scheme(w, rows, &scheme, &[]))
}

/// The weight scheme of a spec (`"w4a8-kmeans"`: the weight part matters); `Error::Input`
/// for `fp32` / `fp16`.
pub fn weight_scheme(spec: &str) -> Result<Scheme> {
    match VariantSpec::parse(spec)? {
        VariantSpec::Static(s) | VariantSpec::Dynamic(s) => Ok(s),
        other => Err(Error::Input(format!(
            "'{other}' has float weights: give an integer scheme such as w8a8, w4a8-kmeans or w2a8-pow2"
        ))),
    }
}

/// The canonical spec of a weight scheme with 8-bit asymmetric activations (`w4a8-kmeans`).
pub fn weight_spec(scheme: &Scheme) -> String {
    VariantSpec::Static(Scheme {
        act_bits: 8,
        act_symmetric: false,
        ..*scheme
    })
    .to_string()
}

/// `"uniform"`, `"kmeans"`, `"kmeans++"` or `"pow2"`.
pub fn levels_name(levels: Levels) -> &'static str {
    match levels {
        Levels::Uniform => "uniform",
        Levels::KMeans { plus_plus: false } => "kmeans",
        Levels::KMeans { plus_plus: true } => "kmeans++",
        Levels::Pow2 => "pow2",
    }
}

/// How the drawn channel (or the tensor) rounds: its uniform grid, or its codebook.
#[derive(Clone, Debug, PartialEq)]
pub enum Rounding {
    /// A uniform grid.
    Grid(Grid),
    /// A codebook rounded to int8.
    Codebook(Codebook),
}

impl Rounding {
    /// Row `row` of `q`: its grid, or its codebook.
    pub fn of_row(q: &QuantizedWeights, row: usize) -> Rounding {
        let group = if q.scheme.per_channel() { row } else { 0 };
        if q.float_levels.is_empty() {
            Rounding::Grid(Grid::from_params(&QuantParams {
                scale: q.scale(row),
                zero_point: q.zero_points.get(group).copied().unwrap_or(0),
                range: q.scheme.weight_range(),
            }))
        } else {
            let k = 1usize << q.scheme.weight_bits;
            Rounding::Codebook(Codebook::new(
                &q.float_levels[row * k..][..k],
                q.table(row),
                q.scale(row),
            ))
        }
    }

    /// The grid drawn: the uniform grid, or the int8 grid a codebook is rounded to.
    pub fn grid(&self) -> Grid {
        match self {
            Rounding::Grid(g) => *g,
            Rounding::Codebook(c) => Grid::from_params(&QuantParams::symmetric(
                c.scale * 127.0,
                crate::quant::QuantRange::NARROW,
            )),
        }
    }

    /// The reals the codes stand for, ascending (uniform: every code; codebook: every level).
    pub fn levels(&self) -> Vec<f32> {
        match self {
            Rounding::Grid(g) => g.level_values(),
            Rounding::Codebook(c) => {
                let mut v = c.values();
                crate::quant::order::sort_total(&mut v);
                v.dedup();
                v
            }
        }
    }

    /// The float levels of a codebook before rounding (empty for a grid).
    pub fn centroids(&self) -> Vec<f32> {
        match self {
            Rounding::Grid(_) => Vec::new(),
            Rounding::Codebook(c) => c.float_levels.clone(),
        }
    }

    /// The quantizer, for [`staircase`](super::staircase()) and [`bucket`](super::bucket()).
    pub fn quantizer(&self) -> &dyn super::staircase::Quantizer {
        match self {
            Rounding::Grid(g) => g,
            Rounding::Codebook(c) => c,
        }
    }
}

/// What the page shows for one layer under one scheme.
#[derive(Clone, Debug, Serialize)]
pub struct LayerView {
    /// The layer.
    pub layer: LayerEntry,
    /// The weight scheme as a canonical spec with 8-bit activations (`w4a8-kmeans`).
    pub spec: String,
    /// Weight bits (1..=8).
    pub bits: u8,
    /// One scale (and codebook) per output channel (else one per tensor).
    pub per_channel: bool,
    /// `uniform`, `kmeans`, `kmeans++` or `pow2`.
    pub levels_kind: &'static str,
    /// Uniform grids: `minmax` or `mse` (the range of least squared error).
    pub clipping: &'static str,
    /// Histogram of the float weights over their `[min, max]`.
    pub histogram: Histogram,
    /// The grid drawn: the tensor's, or per channel the one of the channel with the largest
    /// range (`grid_channel`); for codebooks the int8 grid its levels are rounded to.
    pub grid: Grid,
    /// The channel drawn (per channel only).
    pub grid_channel: Option<usize>,
    /// The reals the drawn channel's codes stand for, ascending: a uniform grid's `S (q - Z)`,
    /// or a codebook's levels as stored (`S e`).
    pub levels: Vec<f32>,
    /// Codebooks: the drawn channel's float levels before rounding to int8 (k-means centroids,
    /// powers of two); empty for uniform grids.
    pub centroids: Vec<f32>,
    /// The smallest and largest reals the drawn channel represents.
    pub clip: (f32, f32),
    /// Scale per output channel (per channel), or the single scale. An all-zero channel keeps
    /// the engine's placeholder scale 1 (see `zero_channels`).
    pub scales: Vec<f32>,
    /// Output channels whose weights are all zero (pruned or dead filters).
    pub zero_channels: Vec<usize>,
    /// `(min, max)` of the float weights per output channel.
    pub channel_ranges: Vec<(f32, f32)>,
    /// Histogram of the error `w - w'` over `[-m, m]`, `m = max |error|`.
    pub error_histogram: Histogram,
    /// Largest `|w - w'|` over the layer.
    pub max_abs_error: f32,
    /// `10 log10(sum w^2 / sum (w - w')^2)`, dB (`inf` when exact).
    pub sqnr_db: f64,
    /// Codebooks: SQNR of the clustering alone (`w` against its float level), dB.
    pub clustering_sqnr_db: Option<f64>,
    /// Codebooks: SQNR of the codebook's rounding to int8 (float level against `S e`), dB.
    pub codebook_sqnr_db: Option<f64>,
    /// Bytes of the layer's weights as stored (packed codes, scales, zero points, codebooks).
    pub stored_bytes: WeightBytes,
}

/// The view of `layer` under the weight part of `scheme`, with `bins` histogram bins
/// (1..=4096).
pub fn layer_view(graph: &Graph, layer: &str, scheme: &Scheme, bins: usize) -> Result<LayerView> {
    check_bins(bins)?;
    let lw = layer_weights(graph, layer)?;
    let q = fake_quantize(&lw.weights, lw.rows, scheme)?;
    let channel_ranges = channel_ranges(&lw);
    let drawn = drawn_channel(&channel_ranges, scheme.per_channel());
    let rounding = Rounding::of_row(&q, drawn.unwrap_or(0));
    let dequantized = q.dequantize();
    let absmax = |c: usize| channel_ranges[c].0.abs().max(channel_ranges[c].1.abs());
    let error: Vec<f32> = lw
        .weights
        .iter()
        .zip(&dequantized)
        .map(|(&w, &d)| w - d)
        .collect();
    let max_abs_error = error.iter().fold(0f32, |m, e| m.max(e.abs()));
    let clustered = q.clustered();
    Ok(LayerView {
        spec: weight_spec(scheme),
        bits: scheme.weight_bits,
        per_channel: scheme.per_channel(),
        levels_kind: levels_name(scheme.levels),
        clipping: match scheme.clipping {
            Clipping::MinMax => "minmax",
            Clipping::Mse => "mse",
        },
        histogram: Histogram::of(&lw.weights, bins)?,
        grid: rounding.grid(),
        grid_channel: drawn,
        levels: rounding.levels(),
        centroids: rounding.centroids(),
        clip: rounding.quantizer().clip_range(),
        scales: q.scales.clone(),
        zero_channels: (0..channel_ranges.len())
            .filter(|&c| absmax(c) == 0.0)
            .collect(),
        channel_ranges,
        error_histogram: Histogram::over(&error, -max_abs_error, max_abs_error, bins)?,
        max_abs_error,
        sqnr_db: sqnr_db(&lw.weights, &dequantized),
        clustering_sqnr_db: clustered.as_ref().map(|c| sqnr_db(&lw.weights, c)),
        codebook_sqnr_db: clustered.as_ref().map(|c| sqnr_db(c, &dequantized)),
        stored_bytes: q.stored_bytes(),
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

/// The channel a layer view draws: per channel the one with the widest range (by range, not
/// by scale: an all-zero channel gets the placeholder scale 1); per tensor none.
fn drawn_channel(channel_ranges: &[(f32, f32)], per_channel: bool) -> Option<usize> {
    let absmax = |c: usize| channel_ranges[c].0.abs().max(channel_ranges[c].1.abs());
    per_channel.then(|| {
        (0..channel_ranges.len())
            .max_by(|&a, &b| absmax(a).total_cmp(&absmax(b)))
            .unwrap_or(0)
    })
}

/// How [`layer_view`] rounds the drawn channel of `layer` (its grid or codebook) and the
/// weights' `(min, max)`, quantizing only that channel (per tensor: the tensor): what the
/// staircase needs, cheap enough for a slider.
pub fn layer_rounding(
    graph: &Graph,
    layer: &str,
    scheme: &Scheme,
) -> Result<(Rounding, (f32, f32))> {
    let scheme = scheme.checked()?;
    let lw = layer_weights(graph, layer)?;
    let ranges = channel_ranges(&lw);
    let rounding = match drawn_channel(&ranges, scheme.per_channel()) {
        Some(c) => {
            let cols = lw.cols();
            let row = &lw.weights[c * cols..][..cols];
            Rounding::of_row(&fake_quantize(row, 1, &scheme)?, 0)
        }
        None => Rounding::of_row(&fake_quantize(&lw.weights, lw.rows, &scheme)?, 0),
    };
    Ok((rounding, min_max(&lw.weights)))
}

/// The grid [`layer_view`] draws for `layer` under `scheme` (see [`layer_rounding`]).
pub fn layer_grid(graph: &Graph, layer: &str, scheme: &Scheme) -> Result<(Grid, (f32, f32))> {
    let (r, range) = layer_rounding(graph, layer, scheme)?;
    Ok((r.grid(), range))
}
