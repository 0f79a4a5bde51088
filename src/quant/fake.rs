//! Fake quantization, for quantization-aware training (QAT): the forward pass computes in f32
//! on exactly the values the integer engine represents, and the backward pass carries
//! gradients straight through (the straight-through estimator, STE; Bengio et al. 2013, Jacob
//! et al. 2018 section 3).
//!
//! ```text
//! weights      w' = dequantize(quantize_scheme(w))          the engine's own codes and levels
//! bias         b' = S_x S_w round(b / (S_x S_w))              the engine's int32 bias
//! activations  x' = S (clamp(round(x / S) + Z, qmin, qmax) - Z)
//! STE          dL/dx = dL/dx'  where x lies in [S (qmin - Z), S (qmax - Z)],  0 outside
//! ```
//!
//! Weights go through [`QuantizedWeights::quantize_scheme`], the function the lowering uses,
//! so the fake-quantized weights are the integer variant's weights, at any bit width and level
//! kind (uniform, k-means, powers of two). Codebooks cover every weight (no clipping), so their
//! STE passes every gradient.
//!
//! Activation ranges are tracked as an exponential moving average of each batch's min and max
//! ([`RangeTracker`]), then frozen for the last steps so the network adapts to a fixed grid.

use super::scheme::{Levels, Scheme};
use super::weights::QuantizedWeights;
use super::QuantParams;

/// Weights as the integer variant represents them, and where their gradient passes.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeWeights {
    /// `w'`, row-major as `w`.
    pub values: Vec<f32>,
    /// True where `w` lies inside its channel's grid (the STE passes the gradient).
    pub pass: Vec<bool>,
    /// The weight scale of each row (`S_w`; one value per tensor when not per channel).
    pub scales: Vec<f32>,
    /// The grid itself, to round moved weights on without searching it again.
    pub grid: WeightGrid,
}

/// The levels a weight tensor's quantization chose, per group (row, or the whole tensor).
#[derive(Clone, Debug, PartialEq)]
pub struct WeightGrid {
    /// `S_w` of each group.
    pub scales: Vec<f32>,
    /// Uniform grids: each group's parameters (empty for codebooks).
    pub uniform: Vec<QuantParams>,
    /// Codebooks: each group's effective levels `S_w e`, ascending (empty for uniform grids).
    pub levels: Vec<Vec<f32>>,
}

/// Fake-quantizes row-major `w` with `rows` output channels under `scheme`'s weight grid:
/// the grid is chosen anew (clipping search, k-means), exactly as the lowering chooses it.
pub fn fake_quant_weights(w: &[f32], rows: usize, scheme: &Scheme) -> FakeWeights {
    let q = QuantizedWeights::quantize_scheme(w, rows, scheme, &[]);
    let k = 1usize << scheme.weight_bits;
    let grid = match scheme.levels {
        Levels::Uniform => WeightGrid {
            scales: q.scales.clone(),
            levels: Vec::new(),
            uniform: q
                .scales
                .iter()
                .enumerate()
                .map(|(g, &scale)| QuantParams {
                    scale,
                    zero_point: q.zero_points.get(g).copied().unwrap_or(0),
                    range: scheme.weight_range(),
                })
                .collect(),
        },
        Levels::KMeans { .. } | Levels::Pow2 => WeightGrid {
            scales: q.scales.clone(),
            uniform: Vec::new(),
            levels: (0..q.scales.len())
                .map(|g| {
                    let mut levels: Vec<f32> = q.tables[g * k..(g + 1) * k]
                        .iter()
                        .map(|&e| q.scales[g] * f32::from(e))
                        .collect();
                    super::order::sort_total(&mut levels);
                    levels.dedup();
                    levels
                })
                .collect(),
        },
    };
    let mut fake = fake_quant_weights_on(&grid, w, rows);
    fake.values = q.dequantize();
    fake
}

/// Rounds `w` to a grid chosen earlier (QAT re-chooses the grid every few steps only: the
/// clipping search and k-means are the costly part, and the weights move little per step).
pub fn fake_quant_weights_on(grid: &WeightGrid, w: &[f32], rows: usize) -> FakeWeights {
    let cols = w.len().checked_div(rows).unwrap_or(0).max(1);
    let group = |i: usize| if grid.scales.len() == 1 { 0 } else { i / cols };
    let (values, pass) = if grid.levels.is_empty() {
        w.iter()
            .enumerate()
            .map(|(i, &x)| {
                let p = &grid.uniform[group(i)];
                let (lo, hi) = (
                    p.scale * (p.range.qmin() - p.zero_point) as f32,
                    p.scale * (p.range.qmax() - p.zero_point) as f32,
                );
                (p.dequantize(p.quantize(x)), (lo..=hi).contains(&x))
            })
            .unzip()
    } else {
        // Codebooks cover every weight: the STE passes every gradient.
        let values = w
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let levels = &grid.levels[group(i)];
                let (codes, _) = super::codebook::assign(levels, std::slice::from_ref(&x));
                levels[usize::from(codes[0])]
            })
            .collect();
        (values, vec![true; w.len()])
    };
    FakeWeights {
        values,
        pass,
        scales: grid.scales.clone(),
        grid: grid.clone(),
    }
}

/// The bias as the engine adds it: an int32 in units of `S_x S_w[o]` (the accumulator's
/// scale), `b' = S_x S_w[o] round(b / (S_x S_w[o]))`, computed in f64 as the lowering does.
pub fn fake_quant_bias(bias: &[f32], input_scale: f32, weight_scales: &[f32]) -> Vec<f32> {
    bias.iter()
        .enumerate()
        .map(|(o, &b)| {
            let s_w = weight_scales[if weight_scales.len() == 1 { 0 } else { o }];
            let s_acc = f64::from(input_scale) * f64::from(s_w);
            ((f64::from(b) / s_acc).round() * s_acc) as f32
        })
        .collect()
}

/// Replaces `x` by `x'` on `p`'s grid and records in `pass` where the STE passes the
/// gradient (inside the grid's range).
pub fn fake_quant_activations(x: &mut [f32], p: &QuantParams, pass: &mut Vec<bool>) {
    let (lo, hi) = (
        p.scale * (p.range.qmin() - p.zero_point) as f32,
        p.scale * (p.range.qmax() - p.zero_point) as f32,
    );
    pass.clear();
    pass.extend(x.iter().map(|v| (lo..=hi).contains(v)));
    for v in x.iter_mut() {
        *v = p.dequantize(p.quantize(*v));
    }
}

/// Zeroes the gradient where the STE blocks it.
pub fn straight_through(grad: &mut [f32], pass: &[bool]) {
    for (g, &p) in grad.iter_mut().zip(pass) {
        if !p {
            *g = 0.0;
        }
    }
}

/// An activation's range during QAT: the moving average of each batch's `[min, max]`
/// (`r <- m r + (1 - m) r_batch`, the first batch taken as is), frozen on request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RangeTracker {
    /// The averaged `(min, max)`; `None` before the first batch.
    pub range: Option<(f32, f32)>,
    /// The average's momentum `m`.
    pub momentum: f32,
    /// When frozen, batches no longer move the range.
    pub frozen: bool,
}

impl RangeTracker {
    /// A tracker with momentum `m` (e.g. 0.99), not yet frozen.
    pub fn new(momentum: f32) -> RangeTracker {
        RangeTracker {
            range: None,
            momentum,
            frozen: false,
        }
    }

    /// A tracker frozen at `(min, max)` (e.g. a calibrated range).
    pub fn fixed(min: f32, max: f32) -> RangeTracker {
        RangeTracker {
            range: Some((min, max)),
            momentum: 1.0,
            frozen: true,
        }
    }

    /// Lets the batch's finite values move the range (unless frozen).
    pub fn observe(&mut self, x: &[f32]) {
        if self.frozen {
            return;
        }
        let (lo, hi) = x
            .iter()
            .filter(|v| v.is_finite())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        if lo > hi {
            return;
        }
        let m = self.momentum;
        self.range = Some(match self.range {
            None => (lo, hi),
            Some((a, b)) => (m * a + (1.0 - m) * lo, m * b + (1.0 - m) * hi),
        });
    }

    /// The grid `scheme` puts on the range (`None` before the first batch).
    pub fn params(&self, scheme: &Scheme) -> Option<QuantParams> {
        self.range.map(|(lo, hi)| scheme.act_params(lo, hi))
    }
}
