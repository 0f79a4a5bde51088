//! Weight quantization: symmetric int8 over the narrow range `[-127, 127]`, one scale per
//! output channel (default) or one for the whole tensor.
//!
//! ```text
//! S_w[c] = max_i |w[c, i]| / 127        q[c, i] = round(w[c, i] / S_w[c])      Z_w = 0
//! ```
//!
//! Per channel, a channel of small weights keeps its own fine grid; per tensor, every channel
//! shares the grid of the largest weight, and depthwise filters (a few taps each, magnitudes
//! that vary by orders between channels) lose most of their codes (Krishnamoorthi 2018).

use super::{QuantParams, QuantRange};

/// An int8 weight tensor `[rows, cols]` (rows are output channels), row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedWeights {
    /// Codes, row-major `[rows, cols]`.
    pub data: Vec<i8>,
    /// One scale per row (per channel) or a single scale (per tensor).
    pub scales: Vec<f32>,
    /// Output channels.
    pub rows: usize,
}

impl QuantizedWeights {
    /// Quantizes row-major `w` of `rows` output channels.
    pub fn quantize(w: &[f32], rows: usize, per_channel: bool) -> QuantizedWeights {
        Self::quantize_with_min_scale(w, rows, per_channel, &[])
    }

    /// Like [`quantize`](Self::quantize), with a smallest allowed scale per row (`min_scale`
    /// empty: none). A channel of near-zero weights would otherwise get a scale so fine that
    /// its bias (in units of `S_x S_w`) or its requantization multiplier leaves int32.
    pub fn quantize_with_min_scale(
        w: &[f32],
        rows: usize,
        per_channel: bool,
        min_scale: &[f32],
    ) -> QuantizedWeights {
        let cols = w.len().checked_div(rows).unwrap_or(0);
        let absmax = |xs: &[f32]| xs.iter().fold(0f32, |m, &x| m.max(x.abs()));
        let floor = |p: QuantParams, s: f32| {
            if p.scale < s {
                QuantParams { scale: s, ..p }
            } else {
                p
            }
        };
        let params: Vec<QuantParams> = if per_channel {
            w.chunks_exact(cols.max(1))
                .take(rows)
                .enumerate()
                .map(|(c, r)| {
                    let p = QuantParams::symmetric(absmax(r), QuantRange::Narrow);
                    floor(p, min_scale.get(c).copied().unwrap_or(0.0))
                })
                .collect()
        } else {
            let p = QuantParams::symmetric(absmax(w), QuantRange::Narrow);
            vec![floor(p, min_scale.iter().copied().fold(0.0, f32::max))]
        };
        let data = w
            .iter()
            .enumerate()
            .map(|(i, &x)| params[if per_channel { i / cols.max(1) } else { 0 }].quantize(x))
            .collect();
        QuantizedWeights {
            data,
            scales: params.iter().map(|p| p.scale).collect(),
            rows,
        }
    }

    /// Values per row.
    pub fn cols(&self) -> usize {
        self.data.len().checked_div(self.rows).unwrap_or(0)
    }

    /// True when each row has its own scale.
    pub fn per_channel(&self) -> bool {
        self.scales.len() == self.rows && self.rows > 1
    }

    /// Scale of `row`.
    pub fn scale(&self, row: usize) -> f32 {
        if self.scales.len() == 1 {
            self.scales[0]
        } else {
            self.scales[row]
        }
    }

    /// The real values the codes stand for.
    pub fn dequantize(&self) -> Vec<f32> {
        let cols = self.cols().max(1);
        self.data
            .iter()
            .enumerate()
            .map(|(i, &q)| self.scale(i / cols) * q as f32)
            .collect()
    }

    /// `sum_i q[row, i]` per row: the zero-point term `Z_x * sum_k w[m, k]` of Jacob et al.
    /// (2018) eq. 8, computed once at load.
    pub fn row_sums(&self) -> Vec<i32> {
        self.data
            .chunks_exact(self.cols().max(1))
            .take(self.rows)
            .map(|r| r.iter().map(|&q| q as i32).sum())
            .collect()
    }
}

/// Signal-to-quantization-noise ratio in dB: `10 log10(sum r^2 / sum (r - q)^2)`
/// (`inf` when identical).
pub fn sqnr_db(reference: &[f32], approx: &[f32]) -> f64 {
    let (mut signal, mut noise) = (0f64, 0f64);
    for (&r, &q) in reference.iter().zip(approx) {
        signal += (r as f64) * (r as f64);
        noise += (r as f64 - q as f64).powi(2);
    }
    if noise == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (signal / noise).log10()
    }
}
