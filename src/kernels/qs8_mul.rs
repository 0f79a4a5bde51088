//! Elementwise int8 product, with the second operand broadcast over blocks of the first (a
//! squeeze-excite gate: `[N, C, H, W] * [N, C, 1, 1]`):
//!
//! ```text
//! q_y = clamp(Z_y + M (q_a - Z_a)(q_b - Z_b))          M = S_a S_b / S_y
//! ```
//!
//! `(q_a - Z_a)(q_b - Z_b)` is at most 255^2 in magnitude, an exact int32 "accumulator", so the
//! output stage is the one every int8 kernel uses ([`Multiplier::requantize`]); the SIMD128
//! twin computes the same integers and is bit-identical to the scalar one.

use super::fixed_point::Multiplier;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::qs8_requant::RequantSimd128;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::*;

/// The constants of one int8 Mul.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QMul {
    /// Zero point of the first operand.
    pub a_zero: i32,
    /// Zero point of the second operand.
    pub b_zero: i32,
    /// `S_a S_b / S_y` and the output zero point.
    pub out: (Multiplier, i32),
    /// Output codes `[min, max]`.
    pub clamp: (i8, i8),
}

impl QMul {
    /// One output code.
    #[inline(always)]
    pub fn apply(&self, a: i8, b: i8) -> i8 {
        let p = (i32::from(a) - self.a_zero) * (i32::from(b) - self.b_zero);
        self.out
            .0
            .requantize(p, self.out.1, self.clamp.0, self.clamp.1)
    }
}

/// `y[i] = a[i] * b[i / block]`: `b` holds one value per `block` consecutive values of `a`
/// (`block` 1: operands of one shape; `a.len()`: a scalar). SIMD128 where the build has it.
pub fn qs8_mul(p: &QMul, a: &[i8], b: &[i8], block: usize, y: &mut [i8]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    qs8_mul_simd128(p, a, b, block, y);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    qs8_mul_scalar(p, a, b, block, y);
}

/// [`qs8_mul`], one value at a time.
pub fn qs8_mul_scalar(p: &QMul, a: &[i8], b: &[i8], block: usize, y: &mut [i8]) {
    let block = block.max(1);
    for (i, (y, &a)) in y.iter_mut().zip(a).enumerate() {
        *y = p.apply(a, b[i / block]);
    }
}

/// [`qs8_mul`], 16 values per step: within a block of one gate value, or over operands of one
/// shape.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn qs8_mul_simd128(p: &QMul, a: &[i8], b: &[i8], block: usize, y: &mut [i8]) {
    let block = block.max(1);
    let out = RequantSimd128::new(p.out.0, p.out.1, p.clamp.0, p.clamp.1);
    let (za, zb) = (i16x8_splat(p.a_zero as i16), i16x8_splat(p.b_zero as i16));
    // (q - Z) fits i16, their product i32.
    let products = |va: v128, vb: v128| -> [v128; 4] {
        let (a_lo, a_hi) = (
            i16x8_sub(i16x8_extend_low_i8x16(va), za),
            i16x8_sub(i16x8_extend_high_i8x16(va), za),
        );
        let (b_lo, b_hi) = (
            i16x8_sub(i16x8_extend_low_i8x16(vb), zb),
            i16x8_sub(i16x8_extend_high_i8x16(vb), zb),
        );
        [
            i32x4_extmul_low_i16x8(a_lo, b_lo),
            i32x4_extmul_high_i16x8(a_lo, b_lo),
            i32x4_extmul_low_i16x8(a_hi, b_hi),
            i32x4_extmul_high_i16x8(a_hi, b_hi),
        ]
    };
    let n = y.len().min(a.len());
    if block == 1 {
        let n = n.min(b.len());
        let full = n / 16 * 16;
        for i in (0..full).step_by(16) {
            // SAFETY: i + 16 <= n <= the length of each slice.
            unsafe {
                let va = v128_load(a.as_ptr().add(i).cast());
                let vb = v128_load(b.as_ptr().add(i).cast());
                v128_store(y.as_mut_ptr().add(i).cast(), out.apply16(products(va, vb)));
            }
        }
        qs8_mul_scalar(p, &a[full..n], &b[full..n], 1, &mut y[full..n]);
        return;
    }
    for (k, start) in (0..n).step_by(block).enumerate() {
        let end = (start + block).min(n);
        let vb = i8x16_splat(b[k]);
        let full = start + (end - start) / 16 * 16;
        for i in (start..full).step_by(16) {
            // SAFETY: i + 16 <= end <= n.
            unsafe {
                let va = v128_load(a.as_ptr().add(i).cast());
                v128_store(y.as_mut_ptr().add(i).cast(), out.apply16(products(va, vb)));
            }
        }
        for i in full..end {
            y[i] = p.apply(a[i], b[k]);
        }
    }
}
