//! The running minimum and maximum.

use super::Observer;

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
        for &x in data.iter().filter(|x| x.is_finite()) {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
    }

    fn range(&self) -> (f32, f32) {
        if self.min > self.max {
            (0.0, 0.0)
        } else {
            (self.min, self.max)
        }
    }
}
