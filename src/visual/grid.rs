//! A uniform integer grid at `bits` bits:
//!
//! ```text
//! q = clamp(round(r / S) + Z, qmin, qmax)      r' = S (q - Z)
//! ```
//!
//! A view of the engine's [`QuantParams`] for drawing: every grid is built from them
//! ([`Grid::from_params`], [`Scheme::weight_params`], [`QuantParams::symmetric`] /
//! [`QuantParams::asymmetric`] on a [`QuantRange`] of any width), and `round` ties away from
//! zero in f32 as in [`QuantParams::quantize`], so a grid gives exactly the engine's codes.

use crate::quant::{round_ties_away, QuantParams, QuantRange, Scheme};
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

    /// Symmetric narrow-range grid covering `[-absmax, absmax]` at `bits` (2..=8), `Z = 0`:
    /// [`QuantParams::symmetric`] on [`QuantRange::narrow`] (a zero or non-finite `absmax`
    /// gets `S = 1`).
    pub fn symmetric(absmax: f32, bits: u8) -> Result<Grid> {
        check_bits(bits, 2, "symmetric grid")?;
        Ok(Grid::from_params(&QuantParams::symmetric(
            absmax,
            QuantRange::narrow(bits),
        )))
    }

    /// Asymmetric full-range grid covering `[min, max]` widened to include 0 at `bits`
    /// (1..=8): [`QuantParams::asymmetric`] on [`QuantRange::full`].
    pub fn asymmetric(min: f32, max: f32, bits: u8) -> Result<Grid> {
        check_bits(bits, 1, "asymmetric grid")?;
        Ok(Grid::from_params(&QuantParams::asymmetric(
            min,
            max,
            QuantRange::full(bits),
        )))
    }

    /// The weight grid `scheme` gives a channel (or tensor) whose weights span `[min, max]`
    /// before clipping ([`Scheme::weight_params`]).
    pub fn of_weights(scheme: &Scheme, min: f32, max: f32) -> Grid {
        Grid::from_params(&scheme.weight_params(min, max))
    }

    /// Number of codes, `qmax - qmin + 1`.
    pub fn levels(&self) -> usize {
        (self.qmax - self.qmin + 1) as usize
    }

    /// `round(r / S) + Z` before clamping (in f32, ties away from zero, as the engine).
    #[inline]
    pub fn unclamped(&self, r: f32) -> f32 {
        round_ties_away(r / self.scale) + self.zero_point as f32
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
