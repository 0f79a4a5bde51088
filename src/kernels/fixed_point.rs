//! Integer-only requantization: `round(acc * M)` with `M = M0 * 2^-n`, as gemmlowp does it.

/// `(a * b * 2) >> 32` rounded to nearest (ties up), saturating the single overflow case
/// `a == b == i32::MIN` to `i32::MAX`. gemmlowp's `SaturatingRoundingDoublingHighMul`.
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// `x / 2^exponent` rounded to nearest, ties away from zero. gemmlowp's `RoundingDivideByPOT`.
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    debug_assert!(exponent <= 31);
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

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

    /// `round(acc * M)` in integers only (TFLite's `MultiplyByQuantizedMultiplier`).
    #[inline]
    pub fn apply(self, acc: i32) -> i32 {
        let left = self.shift.max(0) as u32;
        let right = (-self.shift).max(0) as u32;
        let scaled = acc.saturating_mul(1 << left);
        rounding_divide_by_pot(
            saturating_rounding_doubling_high_mul(scaled, self.m0),
            right,
        )
    }

    /// Requantizes an int32 accumulator to int8: `clamp(zero_point + round(acc * M), lo, hi)`.
    /// A fused ReLU/ReLU6 is a tighter `[lo, hi]`.
    #[inline]
    pub fn requantize(self, acc: i32, zero_point: i32, lo: i8, hi: i8) -> i8 {
        (self.apply(acc).saturating_add(zero_point)).clamp(lo as i32, hi as i32) as i8
    }
}
