//! Elementwise int8 addition of two tensors with different scales (TFLite's scheme):
//!
//! ```text
//! s_a = M_a ((q_a - Z_a) << L)      s_b = M_b ((q_b - Z_b) << L)      (common scale, L bits headroom)
//! q_y = clamp(Z_y + M_y (s_a + s_b))
//! ```
//!
//! `M_a = S_a / (2 max(S_a, S_b))` and `M_b` are at most 1/2, so the shifted sum cannot
//! overflow for `L <= 20`; every multiply is [`Multiplier::apply`], so the SIMD128 twin is
//! bit-identical to the scalar one.

use super::fixed_point::Multiplier;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::qs8_requant::RequantSimd128;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::*;

/// The constants of one int8 Add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QAdd {
    /// Multiplier and zero point of the first operand.
    pub a: (Multiplier, i32),
    /// Multiplier and zero point of the second operand.
    pub b: (Multiplier, i32),
    /// Output multiplier and zero point.
    pub out: (Multiplier, i32),
    /// Headroom bits `L` (20 in TFLite).
    pub left_shift: u32,
    /// Output codes `[min, max]` (the output grid's range: narrower below 8 bits).
    pub clamp: (i8, i8),
}

impl QAdd {
    /// One output code.
    #[inline(always)]
    pub fn apply(&self, a: i8, b: i8) -> i8 {
        let scaled = |q: i8, (m, z): (Multiplier, i32)| m.apply((q as i32 - z) << self.left_shift);
        let sum = scaled(a, self.a) + scaled(b, self.b);
        self.out
            .0
            .requantize(sum, self.out.1, self.clamp.0, self.clamp.1)
    }
}

/// `y = a + b` in int8 (operands of one shape), SIMD128 where the build has it; with the
/// `threads` feature, large tensors are split into chunks across the threads.
pub fn qs8_add(p: &QAdd, a: &[i8], b: &[i8], y: &mut [i8]) {
    let add = |a: &[i8], b: &[i8], y: &mut [i8]| {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        qs8_add_simd128(p, a, b, y);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        qs8_add_scalar(p, a, b, y);
    };
    // About 16 multiply-adds' worth per element (three fixed-point multiplies); pieces of
    // whole 16-value SIMD steps.
    super::parallel::elementwise(y, 16, 16, |at, y| add(&a[at.clone()], &b[at], y));
}

/// [`qs8_add`], one value at a time.
pub fn qs8_add_scalar(p: &QAdd, a: &[i8], b: &[i8], y: &mut [i8]) {
    for ((y, &a), &b) in y.iter_mut().zip(a).zip(b) {
        *y = p.apply(a, b);
    }
}

/// [`qs8_add`], 16 values per step.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn qs8_add_simd128(p: &QAdd, a: &[i8], b: &[i8], y: &mut [i8]) {
    let n = y.len().min(a.len()).min(b.len());
    let ma = RequantSimd128::new(p.a.0, 0, i8::MIN, i8::MAX);
    let mb = RequantSimd128::new(p.b.0, 0, i8::MIN, i8::MAX);
    let out = RequantSimd128::new(p.out.0, p.out.1, p.clamp.0, p.clamp.1);
    let (za, zb) = (i16x8_splat(p.a.1 as i16), i16x8_splat(p.b.1 as i16));
    let shift = p.left_shift;
    // (q - Z) fits i16; widened to i32 and shifted, then multiplied.
    let widen = |v: v128, z: v128, m: &RequantSimd128| -> [v128; 4] {
        let lo = i16x8_sub(i16x8_extend_low_i8x16(v), z);
        let hi = i16x8_sub(i16x8_extend_high_i8x16(v), z);
        [
            m.multiply(i32x4_shl(i32x4_extend_low_i16x8(lo), shift)),
            m.multiply(i32x4_shl(i32x4_extend_high_i16x8(lo), shift)),
            m.multiply(i32x4_shl(i32x4_extend_low_i16x8(hi), shift)),
            m.multiply(i32x4_shl(i32x4_extend_high_i16x8(hi), shift)),
        ]
    };
    let full = n / 16 * 16;
    for i in (0..full).step_by(16) {
        // SAFETY: i + 16 <= n <= the length of each slice.
        let (va, vb) = unsafe {
            (
                v128_load(a.as_ptr().add(i) as *const v128),
                v128_load(b.as_ptr().add(i) as *const v128),
            )
        };
        let (sa, sb) = (widen(va, za, &ma), widen(vb, zb, &mb));
        let sum = [
            i32x4_add(sa[0], sb[0]),
            i32x4_add(sa[1], sb[1]),
            i32x4_add(sa[2], sb[2]),
            i32x4_add(sa[3], sb[3]),
        ];
        // SAFETY: as above.
        unsafe { v128_store(y.as_mut_ptr().add(i) as *mut v128, out.apply16(sum)) };
    }
    qs8_add_scalar(p, &a[full..n], &b[full..n], &mut y[full..n]);
}
