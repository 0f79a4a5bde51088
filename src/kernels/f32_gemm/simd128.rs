//! WebAssembly SIMD128 GEMM microkernel (f32x4), the twin of the 4x8 scalar one.

use crate::kernels::f32x4_madd;
use core::arch::wasm32::*;

/// 4x8 SIMD128 microkernel: 8 f32x4 accumulators (4 rows x 2 vectors); per k step two B loads
/// and four `v128.load32_splat` of the A rows (broadcasts from memory: load ports on x64,
/// where lane shuffles would compete with the arithmetic). Fused multiply-adds in the
/// relaxed-SIMD build ([`f32x4_madd`]).
///
/// `a`: `kc * 4` values (4-row panel, k-major); `b`: `kc * 8` values (8-column panel, k-major).
/// Returns the `4 x 8` tile of dot products.
#[inline(always)]
pub fn f32_gemm_4x8_simd128(a: &[f32], b: &[f32]) -> [[f32; 8]; 4] {
    let kc = a.len() / 4;
    assert!(
        a.len() == kc * 4 && b.len() == kc * 8,
        "f32_gemm_4x8_simd128: panels of {} and {} values",
        a.len(),
        b.len()
    );
    let (ap, bp) = (a.as_ptr(), b.as_ptr());
    let mut acc = [f32x4_splat(0.0); 8];
    for p in 0..kc {
        // SAFETY: p < kc, and `a` holds kc*4, `b` kc*8 values (asserted above), so the 4 values
        // at a[4p..] and the 8 at b[8p..] are in bounds; the loads accept unaligned pointers.
        let (vb0, vb1, a0, a1, a2, a3) = unsafe {
            let (ap, bp) = (ap.add(4 * p), bp.add(8 * p));
            (
                v128_load(bp.cast::<v128>()),
                v128_load(bp.add(4).cast::<v128>()),
                v128_load32_splat(ap.cast::<u32>()),
                v128_load32_splat(ap.add(1).cast::<u32>()),
                v128_load32_splat(ap.add(2).cast::<u32>()),
                v128_load32_splat(ap.add(3).cast::<u32>()),
            )
        };
        acc[0] = f32x4_madd(a0, vb0, acc[0]);
        acc[1] = f32x4_madd(a0, vb1, acc[1]);
        acc[2] = f32x4_madd(a1, vb0, acc[2]);
        acc[3] = f32x4_madd(a1, vb1, acc[3]);
        acc[4] = f32x4_madd(a2, vb0, acc[4]);
        acc[5] = f32x4_madd(a2, vb1, acc[5]);
        acc[6] = f32x4_madd(a3, vb0, acc[6]);
        acc[7] = f32x4_madd(a3, vb1, acc[7]);
    }
    // Row r is acc[2r] (columns 0-3) then acc[2r + 1] (4-7): the tile's row-major order, so
    // eight vector stores instead of 32 lane extractions.
    // SAFETY: [v128; 8] and [[f32; 8]; 4] are both 128 bytes of plain floats.
    unsafe { core::mem::transmute::<[v128; 8], [[f32; 8]; 4]>(acc) }
}
