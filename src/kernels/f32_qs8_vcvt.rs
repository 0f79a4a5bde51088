//! f32 to int8 conversion of a whole tensor: `q = clamp(round_ties_away(r / S) + Z, qmin, qmax)`,
//! as [`QuantParams::quantize`] (the int8 graph's input) or, multiplying by `1 / S`, as
//! [`QuantParams::quantize_slice`] (dynamic-range quantization of each layer's input), with
//! SIMD128 twins that give the same codes.
//!
//! The SIMD128 form does the same f32 steps: the IEEE division (or product), the trunc-based
//! rounding of [`round_ties_away`](super::params::round_ties_away) (`t = trunc(x)`, plus
//! `copysign(1, x)` where `|x - t| >= 1/2`), the zero point added in f32, the clamp, and a
//! saturating conversion. The clamp is written `pmax(v, qmin)` then `pmin(v, qmax)`, which pass
//! a NaN through like `f32::clamp`, and the conversion turns it into 0 like `as i8`.

use super::params::QuantParams;

/// How `r` is scaled before rounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scaling {
    /// `r / S`: [`QuantParams::quantize`].
    Divide,
    /// `r * (1 / S)`: [`QuantParams::quantize_slice`].
    Reciprocal,
}

/// `dst[i]` = the code of `src[i]`, with SIMD128 where available; with the `threads` feature,
/// large tensors are split into chunks across the threads (the int8 graph's input: 150 K values,
/// 0.085 ms on one thread in Chromium).
pub fn f32_qs8_vcvt(p: &QuantParams, scaling: Scaling, src: &[f32], dst: &mut [i8]) {
    assert_eq!(
        src.len(),
        dst.len(),
        "f32_qs8_vcvt: {} values into {}",
        src.len(),
        dst.len()
    );
    // About 4 multiply-adds' worth per value (a division, rounding, clamp); pieces of whole
    // 8-value SIMD steps.
    super::parallel::elementwise(dst, 8, 4, |at, d| convert(p, scaling, &src[at], d));
}

/// [`f32_qs8_vcvt`] on one thread.
fn convert(p: &QuantParams, scaling: Scaling, src: &[f32], dst: &mut [i8]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let n = src.len() / 8 * 8;
        f32_qs8_vcvt_simd128(p, scaling, &src[..n], &mut dst[..n]);
        f32_qs8_vcvt_scalar(p, scaling, &src[n..], &mut dst[n..]);
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    f32_qs8_vcvt_scalar(p, scaling, src, dst);
}

/// The definition: [`QuantParams::quantize`] on every value, or
/// [`QuantParams::quantize_slice`].
pub fn f32_qs8_vcvt_scalar(p: &QuantParams, scaling: Scaling, src: &[f32], dst: &mut [i8]) {
    assert_eq!(
        src.len(),
        dst.len(),
        "f32_qs8_vcvt_scalar: {} values into {}",
        src.len(),
        dst.len()
    );
    match scaling {
        Scaling::Divide => {
            for (d, &r) in dst.iter_mut().zip(src) {
                *d = p.quantize(r);
            }
        }
        Scaling::Reciprocal => p.quantize_slice(src, dst),
    }
}

/// The SIMD128 twin of [`f32_qs8_vcvt_scalar`], 8 values at a time (`src.len()` a multiple
/// of 8).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn f32_qs8_vcvt_simd128(p: &QuantParams, scaling: Scaling, src: &[f32], dst: &mut [i8]) {
    match scaling {
        Scaling::Divide => simd128::<false>(p, src, dst),
        Scaling::Reciprocal => simd128::<true>(p, src, dst),
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn simd128<const RECIPROCAL: bool>(p: &QuantParams, src: &[f32], dst: &mut [i8]) {
    use core::arch::wasm32::*;
    assert!(
        src.len() == dst.len() && src.len() % 8 == 0,
        "f32_qs8_vcvt_simd128: {} values into {}",
        src.len(),
        dst.len()
    );
    let (scale, inv) = (f32x4_splat(p.scale), f32x4_splat(1.0 / p.scale));
    let zero_point = f32x4_splat(p.zero_point as f32);
    let (lo, hi) = (
        f32x4_splat(p.range.qmin() as f32),
        f32x4_splat(p.range.qmax() as f32),
    );
    let (half, one, sign) = (f32x4_splat(0.5), f32x4_splat(1.0), f32x4_splat(-0.0));
    let code = |r: v128| {
        let x = if RECIPROCAL {
            f32x4_mul(r, inv)
        } else {
            f32x4_div(r, scale)
        };
        let t = f32x4_trunc(x);
        let away = f32x4_ge(f32x4_abs(f32x4_sub(x, t)), half);
        let step = v128_or(v128_and(x, sign), one);
        let v = f32x4_add(f32x4_add(t, v128_and(away, step)), zero_point);
        // NaN to 0.0 before the clamp (code 0, as in the scalar path): in the relaxed-SIMD
        // build LLVM may lower the clamp and conversion to relaxed instructions, whose NaN
        // results are the engine's choice (x86: a bound, or i32::MIN).
        let v = v128_and(v, f32x4_eq(v, v));
        i32x4_trunc_sat_f32x4(f32x4_pmin(f32x4_pmax(v, lo), hi))
    };
    for (s, d) in src.chunks_exact(8).zip(dst.chunks_exact_mut(8)) {
        // SAFETY: `s` has 8 values and `d` 8 bytes (chunks_exact); loads and stores accept
        // unaligned pointers.
        unsafe {
            let r0 = v128_load(s.as_ptr().cast::<v128>());
            let r1 = v128_load(s.as_ptr().add(4).cast::<v128>());
            let y = i16x8_narrow_i32x4(code(r0), code(r1));
            v128_store64_lane::<0>(i8x16_narrow_i16x8(y, y), d.as_mut_ptr().cast::<u64>());
        }
    }
}
