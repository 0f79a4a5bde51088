//! The clipping range with the least expected quantization error.
//!
//! Candidates scale the observed range down: `[c min, c max]` for `c = k / CANDIDATES`,
//! `k = 1..=CANDIDATES`. Each candidate's grid is [`QuantParams::asymmetric`] (256 codes), and
//! its error is estimated from the histogram, as if each bin's values were spread uniformly
//! (sampled at [`SUBSAMPLES`] points per bin):
//!
//! ```text
//! E(c) = sum_bins n_b * mean_{x in bin b} (x - S (clamp(round(x / S) + Z) - Z))^2
//! ```
//!
//! which counts both the rounding error inside the range (about `S^2 / 12` per value) and the
//! clipping error outside it. The minimising `[c min, c max]` (the widest on ties) is returned,
//! intersected with the observed range.

use super::histogram::Histogram;
use super::Observer;
use crate::quant::{QuantParams, QuantRange};

/// Number of candidate scale factors.
pub const CANDIDATES: usize = 100;

/// Points sampled per histogram bin.
pub const SUBSAMPLES: usize = 4;

/// Minimum-MSE range search over a streaming histogram.
#[derive(Clone, Debug, Default)]
pub struct Mse {
    hist: Histogram,
}

/// Expected squared error of `params` over the histogram's bins.
fn error(edges: &[f64], counts: &[u64], w: f64, params: &QuantParams) -> f64 {
    let mut e = 0.0;
    for (&lo, &c) in edges.iter().zip(counts).filter(|(_, &c)| c > 0) {
        let mut s = 0.0;
        for k in 0..SUBSAMPLES {
            let x = (lo + w * (k as f64 + 0.5) / SUBSAMPLES as f64) as f32;
            let d = (x - params.dequantize(params.quantize(x))) as f64;
            s += d * d;
        }
        e += c as f64 * s / SUBSAMPLES as f64;
    }
    e
}

impl Observer for Mse {
    fn observe(&mut self, data: &[f32]) {
        self.hist.add(data);
    }

    fn range(&self) -> (f32, f32) {
        let h = &self.hist;
        if h.count == 0 {
            return (0.0, 0.0);
        }
        let (edges, counts) = h.signed(h.used());
        let (min, max) = (h.min.min(0.0), h.max.max(0.0));
        let (mut best, mut best_err) = ((min, max), f64::INFINITY);
        for k in (1..=CANDIDATES).rev() {
            let c = k as f32 / CANDIDATES as f32;
            let (lo, hi) = (c * min, c * max);
            let params = QuantParams::asymmetric(lo, hi, QuantRange::FULL);
            let err = error(&edges, &counts, h.width(), &params);
            if err < best_err {
                (best, best_err) = ((lo, hi), err);
            }
        }
        let lo = best.0.max(h.min);
        (lo, best.1.min(h.max).max(lo))
    }
}
