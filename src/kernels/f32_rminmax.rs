//! The smallest and largest value of an f32 slice (what dynamic-range quantization reads before
//! each layer), NaN ignored: `fold((inf, -inf), (min, max))` with `f32::min`/`f32::max`, and a
//! SIMD128 twin. (On wasm, `f32::min`/`f32::max` are libm calls: the NaN rule of Rust differs
//! from the `f32.min` instruction's.)
//!
//! The twin keeps 4 lanes of running minima and maxima with `pmin(acc, v) = v < acc ? v : acc`
//! (and `pmax` likewise), which skip a NaN `v` as `f32::min` does. The result is the same value
//! (a zero may come out as `-0.0` in one and `0.0` in the other: they compare equal).

/// `(min, max)` of `x` ignoring NaN; `(inf, -inf)` when there is no other value.
pub fn f32_rminmax(x: &[f32]) -> (f32, f32) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let n = x.len() / 8 * 8;
        let (lo, hi) = f32_rminmax_simd128(&x[..n]);
        let (lo2, hi2) = f32_rminmax_scalar(&x[n..]);
        (lo.min(lo2), hi.max(hi2))
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    f32_rminmax_scalar(x)
}

/// The definition.
pub fn f32_rminmax_scalar(x: &[f32]) -> (f32, f32) {
    x.iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// The SIMD128 twin of [`f32_rminmax_scalar`] (`x.len()` a multiple of 8).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn f32_rminmax_simd128(x: &[f32]) -> (f32, f32) {
    use core::arch::wasm32::*;
    assert!(x.len() % 8 == 0, "f32_rminmax_simd128: {} values", x.len());
    // Two accumulator pairs: independent chains.
    let mut lo = [f32x4_splat(f32::INFINITY); 2];
    let mut hi = [f32x4_splat(f32::NEG_INFINITY); 2];
    for c in x.chunks_exact(8) {
        // SAFETY: `c` has 8 values (chunks_exact); v128_load accepts unaligned pointers.
        let v = unsafe {
            [
                v128_load(c.as_ptr().cast::<v128>()),
                v128_load(c.as_ptr().add(4).cast::<v128>()),
            ]
        };
        for i in 0..2 {
            lo[i] = f32x4_pmin(lo[i], v[i]);
            hi[i] = f32x4_pmax(hi[i], v[i]);
        }
    }
    let lanes = |v: v128| {
        [
            f32x4_extract_lane::<0>(v),
            f32x4_extract_lane::<1>(v),
            f32x4_extract_lane::<2>(v),
            f32x4_extract_lane::<3>(v),
        ]
    };
    let lo = lanes(f32x4_pmin(lo[0], lo[1]));
    let hi = lanes(f32x4_pmax(hi[0], hi[1]));
    (
        lo.into_iter().fold(f32::INFINITY, f32::min),
        hi.into_iter().fold(f32::NEG_INFINITY, f32::max),
    )
}
