//! SIMD128 depthwise kernel: the twin of the scalar one, `BLOCK` output columns in two f32x4
//! accumulators.

use core::arch::wasm32::*;

use super::pad::PaddedPlane;
use super::ChannelArgs;

/// Output columns per block.
pub(super) const BLOCK: usize = 8;

/// Loads `BLOCK` values from the front of `s` as two vectors.
#[inline(always)]
fn load8(s: &[f32]) -> (v128, v128) {
    let s = &s[..BLOCK];
    // SAFETY: `s` has BLOCK = 8 values (sliced above), so both 4-value loads are in bounds;
    // v128_load accepts unaligned pointers.
    unsafe {
        (
            v128_load(s.as_ptr().cast::<v128>()),
            v128_load(s.as_ptr().add(4).cast::<v128>()),
        )
    }
}

/// Computes one channel's `[out_h, out_w]` output from its padded plane.
pub(super) fn dwconv_rows(a: &ChannelArgs, plane: &PaddedPlane, out: &mut [f32]) {
    let (lo, hi) = (f32x4_splat(a.min), f32x4_splat(a.max));
    for (i, orow) in out.chunks_exact_mut(a.out_w).enumerate().take(a.out_h) {
        let r0 = i * a.stride_h;
        for j0 in (0..a.out_w).step_by(BLOCK) {
            let mut acc0 = f32x4_splat(a.bias);
            let mut acc1 = acc0;
            for (tap, &w) in a.taps.iter().zip(a.weights) {
                let (x0, x1) = load8(&plane.row(r0 + tap.row, tap.phase)[tap.col + j0..]);
                let w = f32x4_splat(w);
                acc0 = f32x4_add(acc0, f32x4_mul(w, x0));
                acc1 = f32x4_add(acc1, f32x4_mul(w, x1));
            }
            // Same clamp order as the scalar kernel: max with min, then min with max.
            // (f32x4_pmax/pmin differ on NaN; f32x4_max/min propagate it like f32::max would not.)
            let v0 = f32x4_pmin(hi, f32x4_pmax(lo, acc0));
            let v1 = f32x4_pmin(hi, f32x4_pmax(lo, acc1));
            let n = BLOCK.min(a.out_w - j0);
            let vals = [
                f32x4_extract_lane::<0>(v0),
                f32x4_extract_lane::<1>(v0),
                f32x4_extract_lane::<2>(v0),
                f32x4_extract_lane::<3>(v0),
                f32x4_extract_lane::<0>(v1),
                f32x4_extract_lane::<1>(v1),
                f32x4_extract_lane::<2>(v1),
                f32x4_extract_lane::<3>(v1),
            ];
            orow[j0..j0 + n].copy_from_slice(&vals[..n]);
        }
    }
}
