//! The float -> int -> float staircase of a [`Grid`], and where one value lands (the slider).
//!
//! ```text
//! q(r)  = clamp(round(r / S) + Z, qmin, qmax)     a step of width S per code
//! r'(r) = S (q(r) - Z)                             the staircase drawn over the identity
//! code q's bucket = [S (q - Z) - S/2, S (q - Z) + S/2]: every r inside rounds to q
//! ```
//!
//! Inside the clip range the error `r - r'` is at most `S / 2`; beyond it the edge codes
//! absorb everything (clipping) and the error grows without bound.

use super::grid::Grid;
use crate::{Error, Result};
use serde::Serialize;

/// Most samples a staircase may ask for.
pub const MAX_POINTS: usize = 100_000;

/// Samples of the staircase over `[lo, hi]` for drawing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Staircase {
    /// The grid.
    pub grid: Grid,
    /// `points` evenly spaced reals from `lo` to `hi` (both included).
    pub x: Vec<f32>,
    /// `q(x)`.
    pub code: Vec<i32>,
    /// `r'(x) = S (q(x) - Z)`.
    pub dequantized: Vec<f32>,
    /// The rounding thresholds `S (q - Z + 1/2)` between consecutive codes that fall inside
    /// `[lo, hi]`: where the exact staircase jumps.
    pub edges: Vec<f32>,
    /// The representable reals `[S (qmin - Z), S (qmax - Z)]`.
    pub clip: (f32, f32),
}

/// Samples the staircase of `grid` at `points` (2..=100000) evenly spaced reals of
/// `[lo, hi]` (finite, `lo < hi`).
pub fn staircase(grid: &Grid, lo: f32, hi: f32, points: usize) -> Result<Staircase> {
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(Error::Input(format!(
            "staircase range must be finite with lo < hi, got [{lo}, {hi}]"
        )));
    }
    if !(2..=MAX_POINTS).contains(&points) {
        return Err(Error::Input(format!(
            "staircase points must be 2..={MAX_POINTS}, got {points}"
        )));
    }
    let step = (hi as f64 - lo as f64) / (points - 1) as f64;
    let x: Vec<f32> = (0..points)
        .map(|i| {
            if i == points - 1 {
                hi
            } else {
                (lo as f64 + i as f64 * step) as f32
            }
        })
        .collect();
    let code: Vec<i32> = x.iter().map(|&r| grid.quantize(r)).collect();
    let dequantized = code.iter().map(|&q| grid.dequantize(q)).collect();
    let edges = (grid.qmin..grid.qmax)
        .map(|q| grid.scale * ((q - grid.zero_point) as f32 + 0.5))
        .filter(|e| (lo..=hi).contains(e))
        .collect();
    Ok(Staircase {
        grid: *grid,
        x,
        code,
        dequantized,
        edges,
        clip: grid.clip_range(),
    })
}

/// Where one real lands on a grid.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Bucket {
    /// The real `r`.
    pub value: f32,
    /// `q(r)`.
    pub code: i32,
    /// `r' = S (q - Z)`.
    pub dequantized: f32,
    /// `r - r'`.
    pub error: f32,
    /// `r' - S/2`: the rounding bucket of `code` ...
    pub bucket_lo: f32,
    /// ... up to `r' + S/2`.
    pub bucket_hi: f32,
    /// True when `round(r / S) + Z` lay outside `[qmin, qmax]` and was clamped: `r` is
    /// beyond the bucket of the edge code.
    pub clipped: bool,
}

/// The bucket of `value` on `grid`.
pub fn bucket(grid: &Grid, value: f32) -> Bucket {
    let unclamped = grid.unclamped(value);
    let code = grid.quantize(value);
    let dequantized = grid.dequantize(code);
    Bucket {
        value,
        code,
        dequantized,
        error: value - dequantized,
        bucket_lo: dequantized - grid.scale / 2.0,
        bucket_hi: dequantized + grid.scale / 2.0,
        clipped: unclamped < grid.qmin as f32 || unclamped > grid.qmax as f32,
    }
}

/// The asymmetric full-range grid an activation observed in `[lo, hi]` gets at `bits`
/// (1..=8): `[lo, hi]` widened to include 0, `S = (hi - lo) / (2^b - 1)`,
/// `Z = round(qmin - lo / S)`. At 8 bits exactly the engine's
/// [`activation_params`](crate::quant::lower::activation_params).
pub fn activation_params(lo: f32, hi: f32, bits: u8) -> Result<Grid> {
    if lo.is_nan() || hi.is_nan() || lo > hi {
        return Err(Error::Input(format!(
            "activation range must satisfy lo <= hi, got [{lo}, {hi}]"
        )));
    }
    Grid::asymmetric(lo, hi, bits)
}
