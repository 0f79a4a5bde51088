//! The float -> int -> float staircase of a [`Grid`], and where one value lands (the slider).
//!
//! ```text
//! q(r)  = clamp(round(r / S) + Z, qmin, qmax)     a step of width S per code
//! r'(r) = S (q(r) - Z)                             the staircase drawn over the identity
//! code q's bucket = [S (q - Z) - S/2, S (q - Z) + S/2]: every r inside rounds to q
//! ```
//!
//! Inside the clip range the error `r - r'` is at most `S / 2`; beyond it the edge codes
//! absorb everything (clipping) and the error grows without bound. A [`Codebook`] (k-means or
//! powers of two) has uneven steps: a real goes to its nearest level, the thresholds lie
//! halfway between levels, and a code stands for its level rounded to the codebook's int8 grid.

use super::grid::Grid;
use crate::quant::codebook::nearest_level;
use crate::{Error, Result};
use serde::Serialize;

/// Most samples a staircase may ask for.
pub const MAX_POINTS: usize = 100_000;

/// How reals become codes and codes reals: a uniform [`Grid`] or a [`Codebook`].
pub trait Quantizer {
    /// The code of `r`.
    fn code(&self, r: f32) -> i32;
    /// The real a code stands for.
    fn value(&self, code: i32) -> f32;
    /// The rounding thresholds between consecutive codes, ascending.
    fn thresholds(&self) -> Vec<f32>;
    /// The reals that round to `code`: `[lo, hi]` (the edge codes' own half step outward).
    fn bucket_of(&self, code: i32) -> (f32, f32);
    /// True when `r` lies beyond the bucket of the edge code (it was clamped).
    fn clipped(&self, r: f32) -> bool;
    /// The smallest and largest reals represented.
    fn clip_range(&self) -> (f32, f32);
}

impl Quantizer for Grid {
    fn code(&self, r: f32) -> i32 {
        self.quantize(r)
    }
    fn value(&self, code: i32) -> f32 {
        self.dequantize(code)
    }
    fn thresholds(&self) -> Vec<f32> {
        (self.qmin..self.qmax)
            .map(|q| self.scale * ((q - self.zero_point) as f32 + 0.5))
            .collect()
    }
    fn bucket_of(&self, code: i32) -> (f32, f32) {
        let d = self.dequantize(code);
        (d - self.scale / 2.0, d + self.scale / 2.0)
    }
    fn clipped(&self, r: f32) -> bool {
        let u = self.unclamped(r);
        u < self.qmin as f32 || u > self.qmax as f32
    }
    fn clip_range(&self) -> (f32, f32) {
        Grid::clip_range(self)
    }
}

/// Non-uniform levels: a float codebook (k-means centroids or powers of two) whose entries are
/// stored rounded to int8 on the grid `scale`: code `j` stands for `scale * table[j]`, and a
/// real goes to the code of its nearest float level ([`nearest_level`], as the engine assigns
/// weights).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Codebook {
    /// The float levels, ascending and distinct (padding of the engine's table left out).
    pub float_levels: Vec<f32>,
    /// The effective integer of each level.
    pub table: Vec<i8>,
    /// The int8 grid the levels are rounded to.
    pub scale: f32,
}

impl Codebook {
    /// From the engine's per-row table and float levels (`2^b` each, padded with the last).
    pub fn new(float_levels: &[f32], table: &[i8], scale: f32) -> Codebook {
        let mut n = float_levels.len().min(table.len());
        while n > 1 && float_levels[n - 1] == float_levels[n - 2] {
            n -= 1;
        }
        Codebook {
            float_levels: float_levels[..n].to_vec(),
            table: table[..n].to_vec(),
            scale,
        }
    }

    /// The reals the codes stand for, by code.
    pub fn values(&self) -> Vec<f32> {
        self.table.iter().map(|&e| self.scale * e as f32).collect()
    }

    /// Half the gap from level `j` to its neighbour on the side `toward` (+1 or -1), mirrored
    /// from the other side at the ends.
    fn half_gap(&self, j: usize, toward: isize) -> f32 {
        let l = &self.float_levels;
        let other = j as isize + toward;
        let mirror = j as isize - toward;
        let n = l.len() as isize;
        let k = if (0..n).contains(&other) {
            other
        } else if (0..n).contains(&mirror) {
            mirror
        } else {
            return 0.0;
        };
        (l[k as usize] - l[j]).abs() / 2.0
    }
}

impl Quantizer for Codebook {
    fn code(&self, r: f32) -> i32 {
        nearest_level(&self.float_levels, r) as i32
    }
    fn value(&self, code: i32) -> f32 {
        self.scale * self.table[code as usize] as f32
    }
    fn thresholds(&self) -> Vec<f32> {
        self.float_levels
            .windows(2)
            .map(|w| ((w[0] as f64 + w[1] as f64) / 2.0) as f32)
            .collect()
    }
    fn bucket_of(&self, code: i32) -> (f32, f32) {
        let j = code as usize;
        let l = self.float_levels[j];
        (l - self.half_gap(j, -1), l + self.half_gap(j, 1))
    }
    fn clipped(&self, r: f32) -> bool {
        let last = self.float_levels.len() - 1;
        r < self.bucket_of(0).0 || r > self.bucket_of(last as i32).1
    }
    fn clip_range(&self) -> (f32, f32) {
        (
            self.value(0),
            self.value(self.float_levels.len() as i32 - 1),
        )
    }
}

/// Samples of the staircase over `[lo, hi]` for drawing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Staircase {
    /// `points` evenly spaced reals from `lo` to `hi` (both included).
    pub x: Vec<f32>,
    /// `q(x)`.
    pub code: Vec<i32>,
    /// `r'(x)`: the real the code stands for.
    pub dequantized: Vec<f32>,
    /// The rounding thresholds between consecutive codes that fall inside `[lo, hi]`: where
    /// the exact staircase jumps.
    pub edges: Vec<f32>,
    /// The smallest and largest reals represented.
    pub clip: (f32, f32),
}

/// Samples the staircase of `q` (a [`Grid`] or a [`Codebook`]) at `points` (2..=100000)
/// evenly spaced reals of `[lo, hi]` (finite, `lo < hi`).
pub fn staircase<Q: Quantizer + ?Sized>(
    q: &Q,
    lo: f32,
    hi: f32,
    points: usize,
) -> Result<Staircase> {
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
    let code: Vec<i32> = x.iter().map(|&r| q.code(r)).collect();
    let dequantized = code.iter().map(|&c| q.value(c)).collect();
    let edges = q
        .thresholds()
        .into_iter()
        .filter(|e| (lo..=hi).contains(e))
        .collect();
    Ok(Staircase {
        x,
        code,
        dequantized,
        edges,
        clip: q.clip_range(),
    })
}

/// Where one real lands.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Bucket {
    /// The real `r`.
    pub value: f32,
    /// `q(r)`.
    pub code: i32,
    /// `r'`: the real the code stands for.
    pub dequantized: f32,
    /// `r - r'`.
    pub error: f32,
    /// The rounding bucket of `code` (grid: `r' - S/2`; codebook: halfway to the level
    /// below) ...
    pub bucket_lo: f32,
    /// ... up to `r' + S/2` (codebook: halfway to the level above).
    pub bucket_hi: f32,
    /// True when `r` lay beyond the bucket of the edge code and was clamped.
    pub clipped: bool,
}

/// The bucket of `value` under `q`.
pub fn bucket<Q: Quantizer + ?Sized>(q: &Q, value: f32) -> Bucket {
    let code = q.code(value);
    let dequantized = q.value(code);
    let (bucket_lo, bucket_hi) = q.bucket_of(code);
    Bucket {
        value,
        code,
        dequantized,
        error: value - dequantized,
        bucket_lo,
        bucket_hi,
        clipped: q.clipped(value),
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
