//! The running minimum and maximum.

use super::Observer;
use crate::kernels::f32_rminmax::f32_rminmax;

/// `[min x, max x]` over every finite value seen: nothing is clipped, so one outlier sets the
/// step of the whole grid.
#[derive(Clone, Debug)]
pub struct MinMax {
    min: f32,
    max: f32,
}

impl Default for MinMax {
    fn default() -> Self {
        MinMax {
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
        }
    }
}

impl Observer for MinMax {
    fn observe(&mut self, data: &[f32]) {
        // The vectorised scan skips NaN but not infinities: when it finds none, its range is
        // the range of the finite values; otherwise filter them out value by value.
        let (lo, hi) = match f32_rminmax(data) {
            (lo, hi) if lo.is_finite() && hi.is_finite() => (lo, hi),
            _ => data
                .iter()
                .filter(|x| x.is_finite())
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
                    (lo.min(x), hi.max(x))
                }),
        };
        self.min = self.min.min(lo);
        self.max = self.max.max(hi);
    }

    fn range(&self) -> (f32, f32) {
        if self.min > self.max {
            (0.0, 0.0)
        } else {
            (self.min, self.max)
        }
    }
}
