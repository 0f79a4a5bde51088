//! Percentiles of everything seen, from the streaming histogram.

use super::histogram::Histogram;
use super::Observer;

/// `[P_{100-p}, P_p]`: the `p`-th percentile and its mirror, so that `(100 - p)`% of the values
/// are clipped at each end. An end with no data beyond 0 (non-negative data's lower end,
/// non-positive data's upper end) is the exact min / max instead.
///
/// Percentiles are read off the histogram, interpolating linearly inside the bin that holds the
/// rank, so they are exact to within one bin width (`<= max |x| / 1024`).
#[derive(Clone, Debug)]
pub struct Percentile {
    p: f32,
    hist: Histogram,
}

impl Percentile {
    /// Observer for the `p`-th percentile, `p` in `(50, 100]`.
    pub fn new(p: f32) -> Self {
        Percentile {
            p,
            hist: Histogram::default(),
        }
    }
}

/// The value below which a fraction `q` of the histogram's mass lies.
pub(super) fn quantile(h: &Histogram, q: f64) -> f64 {
    let n = h.used();
    let (edges, counts) = h.signed(n);
    let w = h.width();
    let rank = q * h.count as f64;
    let mut cum = 0.0;
    for (lo, &c) in edges.iter().zip(&counts) {
        let c = c as f64;
        if c > 0.0 && cum + c >= rank {
            return lo + w * ((rank - cum) / c).clamp(0.0, 1.0);
        }
        cum += c;
    }
    h.max as f64
}

impl Observer for Percentile {
    fn observe(&mut self, data: &[f32]) {
        self.hist.add(data);
    }

    fn range(&self) -> (f32, f32) {
        let h = &self.hist;
        if h.count == 0 {
            return (0.0, 0.0);
        }
        let q = self.p as f64 / 100.0;
        let lo = if h.min >= 0.0 {
            h.min
        } else {
            (quantile(h, 1.0 - q) as f32).clamp(h.min, h.max)
        };
        let hi = if h.max <= 0.0 {
            h.max
        } else {
            (quantile(h, q) as f32).clamp(h.min, h.max)
        };
        (lo, hi.max(lo))
    }
}
