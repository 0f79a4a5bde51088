//! Equal-width histograms for the plots.

use crate::{Error, Result};
use serde::Serialize;

/// Most bins a histogram may ask for.
pub const MAX_BINS: usize = 4096;

/// `counts[i]` values in `[lo + i w, lo + (i + 1) w)`, `w = (hi - lo) / bins` (the last bin
/// includes `hi`). A degenerate range (`lo == hi`: every value equal) is widened to
/// `[lo - 0.5, lo + 0.5]`, so the values land in the middle bin. NaNs are not counted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Histogram {
    /// Left edge of the first bin.
    pub lo: f32,
    /// Right edge of the last bin.
    pub hi: f32,
    /// Count per bin.
    pub counts: Vec<u32>,
}

/// `Error::Input` unless `1 <= bins <= MAX_BINS`.
pub(crate) fn check_bins(bins: usize) -> Result<()> {
    if (1..=MAX_BINS).contains(&bins) {
        Ok(())
    } else {
        Err(Error::Input(format!(
            "histogram bins must be 1..={MAX_BINS}, got {bins}"
        )))
    }
}

impl Histogram {
    /// Histogram of `values` over `[lo, hi]` (values outside go to the end bins).
    pub fn over(values: &[f32], lo: f32, hi: f32, bins: usize) -> Result<Histogram> {
        check_bins(bins)?;
        let (lo, hi) = if hi > lo && (hi - lo).is_finite() {
            (lo, hi)
        } else {
            (lo - 0.5, lo + 0.5)
        };
        let mut counts = vec![0u32; bins];
        let k = bins as f64 / (hi as f64 - lo as f64);
        for &v in values {
            if v.is_nan() {
                continue;
            }
            let i = ((v as f64 - lo as f64) * k).floor();
            counts[(i.max(0.0) as usize).min(bins - 1)] += 1;
        }
        Ok(Histogram { lo, hi, counts })
    }

    /// Histogram of `values` over their own `[min, max]` (NaNs ignored; empty: `[0, 0]`).
    pub fn of(values: &[f32], bins: usize) -> Result<Histogram> {
        let (lo, hi) = min_max(values);
        Histogram::over(values, lo, hi, bins)
    }

    /// Width of one bin.
    pub fn bin_width(&self) -> f32 {
        (self.hi - self.lo) / self.counts.len() as f32
    }
}

/// `(min, max)` ignoring NaNs; `(0, 0)` when there is nothing.
pub fn min_max(values: &[f32]) -> (f32, f32) {
    let (lo, hi) = values
        .iter()
        .filter(|v| !v.is_nan())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        (0.0, 0.0)
    } else {
        (lo, hi)
    }
}
