//! Integer-only requantization: `round(acc * M)` with `M = m0 * 2^(shift - 31)`, rounded once.
//!
//! ```text
//! apply(acc) = (acc * m0 + 2^(t - 1)) >> t          t = 31 - shift, in 1..=62; 64-bit product
//! ```
//!
//! This is TFLite's single-rounding `MultiplyByQuantizedMultiplier`: the nearest integer to the
//! exact `acc * M`, ties towards +inf. gemmlowp's older form (a rounding doubling high multiply,
//! then a rounding right shift) rounds twice: the first rounding leaves the value on a multiple
//! of `2^-r` (r the right shift), so with r = 7 about one code in 2^(r+1) = 256 lands on a
//! spurious tie and moves by one. A float runtime computing `round(acc * S1 S2 / S3)` (an ONNX
//! QDQ model under onnxruntime) then disagreed with quantscope on ~0.5% of a layer's codes,
//! enough to flip a near-tied top-1 of EfficientNet-Lite0 at w4a8; rounding once, it agrees
//! except where f32 itself cannot resolve the tie.

/// A positive real multiplier `M = m0 * 2^(shift - 31)` with `m0` in `[2^30, 2^31)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Multiplier {
    /// Mantissa, in `[2^30, 2^31)`.
    pub m0: i32,
    /// Power of two: positive shifts left before the multiply, negative right after.
    pub shift: i32,
}

impl Multiplier {
    /// The closest representation of a positive finite `m` (`None` for zero, negative, NaN,
    /// infinite, or a value too small or large for an int32 pipeline).
    pub fn from_f64(m: f64) -> Option<Multiplier> {
        if !(m.is_finite() && m > 0.0) {
            return None;
        }
        // m = frac * 2^exp with frac in [0.5, 1).
        let mut exp = m.log2().floor() as i32 + 1;
        let mut frac = m / 2f64.powi(exp);
        if frac >= 1.0 {
            frac /= 2.0;
            exp += 1;
        } else if frac < 0.5 {
            frac *= 2.0;
            exp -= 1;
        }
        let mut m0 = (frac * (1u64 << 31) as f64).round() as i64;
        if m0 == 1i64 << 31 {
            // frac rounded up to 1.0.
            m0 /= 2;
            exp += 1;
        }
        if !(-31..=30).contains(&exp) {
            return None;
        }
        Some(Multiplier {
            m0: m0 as i32,
            shift: exp,
        })
    }

    /// The real value represented.
    pub fn to_f64(self) -> f64 {
        self.m0 as f64 * 2f64.powi(self.shift - 31)
    }

    /// `round(acc * M)` in integers only: one rounding of the exact product (ties towards
    /// +inf), saturated to int32 (the module comment has the formula).
    #[inline]
    pub fn apply(self, acc: i32) -> i32 {
        let (round, t) = self.rounding();
        let r = (i64::from(acc) * i64::from(self.m0) + round) >> t;
        r.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
    }

    /// The largest `|acc|` worth computing: beyond it `|acc * M| >= 2^16`, so the requantized
    /// int8 value is the one at the limit (`M >= 2^(shift - 1)`, hence `2^(17 - shift) M >=
    /// 2^16`); within it `|round(acc * M)| <= 2^17` (below `2^30` when `shift > 17`), so the
    /// result and its sum with a zero point fit 32 bits.
    #[inline]
    pub fn input_limit(self) -> i32 {
        match 17 - self.shift {
            e if e >= 31 => i32::MAX,
            e if e <= 0 => 1,
            e => 1 << e,
        }
    }

    /// `(round, t)` of [`Self::apply`]'s formula: the 64-bit rounding constant and the shift.
    #[inline]
    pub fn rounding(self) -> (i64, u32) {
        let t = (31 - self.shift) as u32;
        (1i64 << (t - 1), t)
    }

    /// Requantizes an int32 accumulator to int8: `clamp(zero_point + round(acc * M), lo, hi)`.
    /// A fused ReLU/ReLU6 is a tighter `[lo, hi]`. The same as computing on
    /// `acc.clamp(-L, L)`, `L` = [`Self::input_limit`], which the kernels do.
    #[inline]
    pub fn requantize(self, acc: i32, zero_point: i32, lo: i8, hi: i8) -> i8 {
        (self.apply(acc).saturating_add(zero_point)).clamp(lo as i32, hi as i32) as i8
    }
}
