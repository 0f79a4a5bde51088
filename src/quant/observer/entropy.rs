//! KL-divergence calibration (Migacz 2017, "8-bit Inference with TensorRT").
//!
//! For each candidate threshold `T = i w` (histogram bin width `w`), the reference
//! distribution `P` is the histogram restricted to the clipping window with the clipped mass
//! (outliers) added to the end bins, and `Q` is what the int8 grid makes of the window: its
//! bins merged into [`LEVELS`] groups of (nearly) equal width, each group's count spread
//! evenly over the group's nonzero bins of `P`. The chosen threshold minimises
//!
//! ```text
//! KL(P || Q) = sum_k p_k ln(p_k / q_k)       (p, q normalised; q_k floored at EPS)
//! ```
//!
//! Number of levels: the lowering uses asymmetric int8, 256 codes over whatever range it is
//! given. So the window always gets 256 levels:
//!
//! - signed data: a symmetric window `(-T, T)` (2i bins) over 256 levels, i.e. 128 per side,
//!   which is TensorRT's 128-bin search on `|x|`;
//! - non-negative data (post-ReLU): the window `[0, T)` (i bins) over all 256 levels, because
//!   an asymmetric grid with `Z = -128` spends every code on `[0, T]`; searching with 128
//!   (TensorRT's symmetric choice) would model a grid twice as coarse as the one used and
//!   clip too much.
//!
//! The search starts at the first window wide enough for one bin per level. The result is
//! `T` intersected with the observed `[min, max]`.

use super::histogram::Histogram;
use super::Observer;

/// Quantized levels a window is merged into: the 256 codes of int8.
pub const LEVELS: usize = 256;

/// Floor for `q_k` where `p_k > 0` but the merged level is empty (only the end bins that
/// received outliers can be), relative to a normalised distribution.
const EPS: f64 = 1e-7;

/// KL-divergence threshold search over a streaming histogram.
#[derive(Clone, Debug, Default)]
pub struct Entropy {
    hist: Histogram,
}

/// `KL(P || Q)` for one window: `slice` the bins inside, `lo_out` / `hi_out` the counts
/// clipped below and above. `p`, `q` are scratch buffers.
fn kl(slice: &[u64], lo_out: u64, hi_out: u64, p: &mut Vec<f64>, q: &mut Vec<f64>) -> f64 {
    let m = slice.len();
    p.clear();
    p.extend(slice.iter().map(|&c| c as f64));
    p[0] += lo_out as f64;
    p[m - 1] += hi_out as f64;
    q.clear();
    q.resize(m, 0.0);
    for j in 0..LEVELS {
        let (a, b) = (j * m / LEVELS, (j + 1) * m / LEVELS);
        // The level's count comes from the unclipped bins, as in TensorRT: the outliers are
        // what Q does not explain.
        let total: u64 = slice[a..b].iter().sum();
        let nonzero = p[a..b].iter().filter(|&&v| v > 0.0).count();
        if nonzero > 0 {
            let share = total as f64 / nonzero as f64;
            for k in a..b {
                if p[k] > 0.0 {
                    q[k] = share;
                }
            }
        }
    }
    let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
    if sp == 0.0 || sq == 0.0 {
        return f64::INFINITY;
    }
    p.iter()
        .zip(q.iter())
        .filter(|(&pk, _)| pk > 0.0)
        .map(|(&pk, &qk)| {
            let (pk, qk) = (pk / sp, (qk / sq).max(EPS));
            pk * (pk / qk).ln()
        })
        .sum()
}

impl Observer for Entropy {
    fn observe(&mut self, data: &[f32]) {
        self.hist.add(data);
    }

    fn range(&self) -> (f32, f32) {
        let h = &self.hist;
        if h.count == 0 {
            return (0.0, 0.0);
        }
        let n = h.used();
        let one_sided = h.non_negative();
        let first = if one_sided { LEVELS } else { LEVELS / 2 };
        if n <= first {
            return (h.min, h.max);
        }
        let (_, signed) = h.signed(n);
        let (mut p, mut q) = (Vec::new(), Vec::new());
        let (mut best_i, mut best) = (n, f64::INFINITY);
        for i in first..=n {
            let (slice, lo_out, hi_out) = if one_sided {
                (&signed[n..n + i], 0, h.pos[i..n].iter().sum::<u64>())
            } else {
                (
                    &signed[n - i..n + i],
                    h.neg[i..n].iter().sum::<u64>(),
                    h.pos[i..n].iter().sum::<u64>(),
                )
            };
            let d = kl(slice, lo_out, hi_out, &mut p, &mut q);
            if d < best {
                (best_i, best) = (i, d);
            }
        }
        let t = (best_i as f64 * h.width()) as f32;
        let lo = if one_sided { h.min } else { h.min.max(-t) };
        (lo, h.max.min(t).max(lo))
    }
}
