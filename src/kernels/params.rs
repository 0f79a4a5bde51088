//! Choosing scale and zero point from an observed range.

/// The integer codes used: `bits` wide, signed, the full range `[-2^(b-1), 2^(b-1) - 1]` or the
/// narrow one `[-(2^(b-1) - 1), 2^(b-1) - 1]`. Codes are held in an `i8` at every width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QuantRange {
    /// Code width, 1..=8.
    pub bits: u8,
    /// Narrow (symmetric) range: without the most negative code, so that `-q` is always
    /// representable and the int16 products of the SIMD kernels cannot overflow in pairs.
    pub narrow: bool,
}

impl QuantRange {
    /// `[-128, 127]`: 8-bit activations.
    pub const FULL: QuantRange = QuantRange::full(8);
    /// `[-127, 127]`: 8-bit symmetric weights.
    pub const NARROW: QuantRange = QuantRange::narrow(8);

    /// The full range at `bits` (1..=8).
    pub const fn full(bits: u8) -> QuantRange {
        QuantRange {
            bits,
            narrow: false,
        }
    }

    /// The narrow range at `bits` (2..=8; at 1 bit it would hold only 0).
    pub const fn narrow(bits: u8) -> QuantRange {
        QuantRange { bits, narrow: true }
    }

    /// Smallest code.
    pub const fn qmin(self) -> i32 {
        -(1 << (self.bits - 1)) + self.narrow as i32
    }

    /// Largest code.
    pub const fn qmax(self) -> i32 {
        (1 << (self.bits - 1)) - 1
    }

    /// Number of codes.
    pub const fn levels(self) -> usize {
        (self.qmax() - self.qmin() + 1) as usize
    }
}

/// `r = scale * (q - zero_point)` for one tensor or one channel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantParams {
    /// `S`.
    pub scale: f32,
    /// `Z`, inside the range's codes.
    pub zero_point: i32,
    /// The codes used.
    pub range: QuantRange,
}

impl QuantParams {
    /// Asymmetric parameters covering `[min, max]` widened to include 0 (so that zero padding
    /// is exact), with `Z` rounded to an integer code.
    pub fn asymmetric(min: f32, max: f32, range: QuantRange) -> QuantParams {
        let (min, max) = (min.min(0.0), max.max(0.0));
        let (qmin, qmax) = (range.qmin() as f32, range.qmax() as f32);
        if max - min <= f32::MIN_POSITIVE || !(max - min).is_finite() {
            return QuantParams {
                scale: 1.0,
                zero_point: 0,
                range,
            };
        }
        let scale = (max - min) / (qmax - qmin);
        let zero_point = (qmin - min / scale).round().clamp(qmin, qmax) as i32;
        QuantParams {
            scale,
            zero_point,
            range,
        }
    }

    /// Symmetric parameters (`Z = 0`) covering `[-absmax, absmax]`.
    pub fn symmetric(absmax: f32, range: QuantRange) -> QuantParams {
        let absmax = absmax.abs();
        let scale = if absmax > f32::MIN_POSITIVE && absmax.is_finite() {
            absmax / range.qmax() as f32
        } else {
            1.0
        };
        QuantParams {
            scale,
            zero_point: 0,
            range,
        }
    }

    /// `clamp(round(r / S) + Z)`: ties away from zero, as `f32::round`.
    #[inline]
    pub fn quantize(&self, r: f32) -> i8 {
        let q = round_ties_away(r / self.scale) + self.zero_point as f32;
        not_nan(q).clamp(self.range.qmin() as f32, self.range.qmax() as f32) as i8
    }

    /// [`quantize`](Self::quantize) over a slice, multiplying by `1 / S` (one division per
    /// slice instead of per value; the codes can differ from `quantize` by one where `r / S`
    /// lies within an ulp of a rounding tie).
    pub fn quantize_slice(&self, r: &[f32], q: &mut [i8]) {
        let inv = 1.0 / self.scale;
        let (lo, hi) = (self.range.qmin() as f32, self.range.qmax() as f32);
        let z = self.zero_point as f32;
        for (q, &r) in q.iter_mut().zip(r) {
            *q = not_nan(round_ties_away(r * inv) + z).clamp(lo, hi) as i8;
        }
    }

    /// `S (q - Z)`.
    #[inline]
    pub fn dequantize(&self, q: i8) -> f32 {
        self.scale * (q as i32 - self.zero_point) as f32
    }
}

/// `x`, with NaN as 0.0 (code 0 once clamped, every code range holding 0). Written out rather
/// than left to `as i8` (which also gives 0): vectorised in the relaxed-SIMD build, the clamp
/// and conversion may become relaxed instructions whose NaN results are the engine's choice.
#[inline(always)]
fn not_nan(x: f32) -> f32 {
    if x.is_nan() {
        0.0
    } else {
        x
    }
}

/// `x.round()` (ties away from zero) built on `trunc`, one instruction in wasm, where
/// `f32::round` is a call into libm that also keeps loops from vectorizing (quantizing the
/// 150 528 inputs of EfficientNet-Lite0 went from about 1 ms to a fraction). `x - trunc(x)` is
/// exact for every finite `x`, so comparing it with 1/2 decides exactly the ties `round` does;
/// NaN and infinities come back unchanged.
#[inline]
pub fn round_ties_away(x: f32) -> f32 {
    let t = x.trunc();
    if (x - t).abs() >= 0.5 {
        t + 1f32.copysign(x)
    } else {
        t
    }
}
