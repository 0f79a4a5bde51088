//! A uniform integer grid at `bits` bits:
//!
//! ```text
//! q = clamp(round(r / S) + Z, qmin, qmax)      r' = S (q - Z)
//! ```
//!
//! `round` ties away from zero and the arithmetic is f32, as in
//! [`QuantParams::quantize`](crate::quant::QuantParams::quantize), so that at 8 bits a grid
//! gives exactly the engine's codes. Symmetric weight grids use the narrow range
//! `[-(2^(b-1) - 1), 2^(b-1) - 1]` with `Z = 0` and `S = max|w| / qmax`; asymmetric
//! (activation) grids use the full range `[-2^(b-1), 2^(b-1) - 1]` over `[min, max]` widened
//! to include 0, `S = (max - min) / (qmax - qmin)`, `Z = round(qmin - min / S)`.

use crate::quant::{QuantParams, QuantRange};
use crate::{Error, Result};
use serde::Serialize;

/// `r = scale (q - zero_point)` with `q` in `[qmin, qmax]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Grid {
    /// `S > 0`.
    pub scale: f32,
    /// `Z`, inside `[qmin, qmax]`.
    pub zero_point: i32,
    /// Smallest code.
    pub qmin: i32,
    /// Largest code.
    pub qmax: i32,
}

/// `Error::Input` unless `bits` lies in `lo..=8`.
pub(crate) fn check_bits(bits: u8, lo: u8, what: &str) -> Result<()> {
    if (lo..=8).contains(&bits) {
        Ok(())
    } else {
        Err(Error::Input(format!(
            "{what}: bits must be {lo}..=8, got {bits}"
        )))
    }
}

impl Grid {
    /// A grid from its parts; `Error::Input` unless `scale` is finite and positive,
    /// `-128 <= qmin < qmax <= 255` (signed or unsigned, at most 8 bits wide) and
    /// `zero_point` lies in `[qmin, qmax]`.
    pub fn new(scale: f32, zero_point: i32, qmin: i32, qmax: i32) -> Result<Grid> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(Error::Input(format!(
                "grid scale must be finite and positive, got {scale}"
            )));
        }
        if qmin >= qmax || qmin < -128 || qmax > 255 {
            return Err(Error::Input(format!(
                "grid codes [{qmin}, {qmax}] must satisfy -128 <= qmin < qmax <= 255"
            )));
        }
        if !(qmin..=qmax).contains(&zero_point) {
            return Err(Error::Input(format!(
                "grid zero point {zero_point} lies outside the codes [{qmin}, {qmax}]"
            )));
        }
        Ok(Grid {
            scale,
            zero_point,
            qmin,
            qmax,
        })
    }

    /// The grid of engine parameters ([`QuantParams`]).
    pub fn from_params(p: &QuantParams) -> Grid {
        Grid {
            scale: p.scale,
            zero_point: p.zero_point,
            qmin: p.range.qmin(),
            qmax: p.range.qmax(),
        }
    }

    /// Symmetric narrow-range grid covering `[-absmax, absmax]` at `bits` (2..=8), `Z = 0`;
    /// a zero or non-finite `absmax` gets `S = 1` (as [`QuantParams::symmetric`]). At 8 bits
    /// this is `QuantParams::symmetric(absmax, QuantRange::NARROW)`.
    pub fn symmetric(absmax: f32, bits: u8) -> Result<Grid> {
        check_bits(bits, 2, "symmetric grid")?;
        let qmax = (1i32 << (bits - 1)) - 1;
        let absmax = absmax.abs();
        let scale = if absmax > f32::MIN_POSITIVE && absmax.is_finite() {
            absmax / qmax as f32
        } else {
            1.0
        };
        Ok(Grid {
            scale,
            zero_point: 0,
            qmin: -qmax,
            qmax,
        })
    }

    /// Asymmetric full-range grid covering `[min, max]` widened to include 0 at `bits`
    /// (1..=8). At 8 bits this is `QuantParams::asymmetric(min, max, QuantRange::FULL)`.
    pub fn asymmetric(min: f32, max: f32, bits: u8) -> Result<Grid> {
        check_bits(bits, 1, "asymmetric grid")?;
        if bits == 8 {
            return Ok(Grid::from_params(&QuantParams::asymmetric(
                min,
                max,
                QuantRange::FULL,
            )));
        }
        let (qmin, qmax) = (-(1i32 << (bits - 1)), (1i32 << (bits - 1)) - 1);
        let (min, max) = (min.min(0.0), max.max(0.0));
        if max - min <= f32::MIN_POSITIVE || !(max - min).is_finite() {
            return Ok(Grid {
                scale: 1.0,
                zero_point: 0,
                qmin,
                qmax,
            });
        }
        let scale = (max - min) / (qmax - qmin) as f32;
        let zero_point = (qmin as f32 - min / scale)
            .round()
            .clamp(qmin as f32, qmax as f32) as i32;
        Ok(Grid {
            scale,
            zero_point,
            qmin,
            qmax,
        })
    }

    /// Number of codes, `qmax - qmin + 1`.
    pub fn levels(&self) -> usize {
        (self.qmax - self.qmin + 1) as usize
    }

    /// `round(r / S) + Z` before clamping (in f32, as the engine).
    #[inline]
    pub fn unclamped(&self, r: f32) -> f32 {
        (r / self.scale).round() + self.zero_point as f32
    }

    /// `clamp(round(r / S) + Z, qmin, qmax)`.
    #[inline]
    pub fn quantize(&self, r: f32) -> i32 {
        self.unclamped(r).clamp(self.qmin as f32, self.qmax as f32) as i32
    }

    /// `S (q - Z)`.
    #[inline]
    pub fn dequantize(&self, q: i32) -> f32 {
        self.scale * (q - self.zero_point) as f32
    }

    /// `dequantize(quantize(r))`: fake quantization.
    #[inline]
    pub fn round_trip(&self, r: f32) -> f32 {
        self.dequantize(self.quantize(r))
    }

    /// The representable reals `[S (qmin - Z), S (qmax - Z)]`; values beyond (by more than
    /// half a step) are clipped.
    pub fn clip_range(&self) -> (f32, f32) {
        (self.dequantize(self.qmin), self.dequantize(self.qmax))
    }

    /// Every level `S (q - Z)`, `q = qmin..=qmax`, ascending.
    pub fn level_values(&self) -> Vec<f32> {
        (self.qmin..=self.qmax)
            .map(|q| self.dequantize(q))
            .collect()
    }
}
