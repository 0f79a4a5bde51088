//! WebAssembly SIMD128 GEMM microkernel (f32x4), the twin of the 4x8 scalar one.

use crate::kernels::f32x4_madd;
use core::arch::wasm32::*;

/// 4x8 SIMD128 microkernel: 8 f32x4 accumulators (4 rows x 2 vectors); per k step one A load
/// (4 rows), two B loads and four lane broadcasts. Fused multiply-adds in the relaxed-SIMD
/// build ([`f32x4_madd`]).
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
        // at a[4p..] and the 8 at b[8p..] are in bounds; v128_load accepts unaligned pointers.
        let (va, vb0, vb1) = unsafe {
            (
                v128_load(ap.add(4 * p).cast::<v128>()),
                v128_load(bp.add(8 * p).cast::<v128>()),
                v128_load(bp.add(8 * p + 4).cast::<v128>()),
            )
        };
        let a0 = i32x4_shuffle::<0, 0, 0, 0>(va, va);
        let a1 = i32x4_shuffle::<1, 1, 1, 1>(va, va);
        let a2 = i32x4_shuffle::<2, 2, 2, 2>(va, va);
        let a3 = i32x4_shuffle::<3, 3, 3, 3>(va, va);
        acc[0] = f32x4_madd(a0, vb0, acc[0]);
        acc[1] = f32x4_madd(a0, vb1, acc[1]);
        acc[2] = f32x4_madd(a1, vb0, acc[2]);
        acc[3] = f32x4_madd(a1, vb1, acc[3]);
        acc[4] = f32x4_madd(a2, vb0, acc[4]);
        acc[5] = f32x4_madd(a2, vb1, acc[5]);
        acc[6] = f32x4_madd(a3, vb0, acc[6]);
        acc[7] = f32x4_madd(a3, vb1, acc[7]);
    }
    let mut out = [[0.0f32; 8]; 4];
    for (r, row) in out.iter_mut().enumerate() {
        row[..4].copy_from_slice(&lanes(acc[2 * r]));
        row[4..].copy_from_slice(&lanes(acc[2 * r + 1]));
    }
    out
}

/// The four lanes of `v`.
#[inline(always)]
fn lanes(v: v128) -> [f32; 4] {
    [
        f32x4_extract_lane::<0>(v),
        f32x4_extract_lane::<1>(v),
        f32x4_extract_lane::<2>(v),
        f32x4_extract_lane::<3>(v),
    ]
}
