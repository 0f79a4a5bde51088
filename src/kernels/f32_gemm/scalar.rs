//! Scalar GEMM microkernels. Written as fixed-width loops over array accumulators so that native
//! builds keep the accumulators in vector registers (autovectorised); on wasm32 without SIMD
//! they are the portable fallback and the reference the SIMD128 twin is tested against.

use crate::kernels::madd;

/// Accumulates one `MR x NR` tile: `acc[r][j] = sum_p a[p * MR + r] * b[p * NR + j]`.
///
/// `a` is an `MR`-row panel of packed A (k-major), `b` an `NR`-column panel of packed B
/// (k-major); both must hold the same `kc` steps.
#[inline(always)]
fn gemm_tile<const MR: usize, const NR: usize>(a: &[f32], b: &[f32]) -> [[f32; NR]; MR] {
    let kc = a.len() / MR;
    assert!(
        a.len() == kc * MR && b.len() == kc * NR,
        "gemm microkernel: panels of {} and {} values for {MR}x{NR}",
        a.len(),
        b.len()
    );
    let mut acc = [[0.0f32; NR]; MR];
    for (ap, bp) in a.chunks_exact(MR).zip(b.chunks_exact(NR)) {
        // Fixed-size views let the compiler drop bounds checks and unroll fully.
        let ap: &[f32; MR] = ap.try_into().expect("chunk of MR");
        let bp: &[f32; NR] = bp.try_into().expect("chunk of NR");
        for r in 0..MR {
            for j in 0..NR {
                acc[r][j] = madd(ap[r], bp[j], acc[r][j]);
            }
        }
    }
    acc
}

/// 4x8 scalar microkernel: same shape as `f32_gemm_4x8_simd128` (wasm32) so the two compare.
///
/// `a`: `kc * 4` values (4-row panel, k-major); `b`: `kc * 8` values (8-column panel, k-major).
/// Returns the `4 x 8` tile of dot products.
#[inline(always)]
pub fn f32_gemm_4x8_scalar(a: &[f32], b: &[f32]) -> [[f32; 8]; 4] {
    gemm_tile::<4, 8>(a, b)
}

/// 6x16 scalar microkernel, the native default: 12 AVX accumulators (6 rows x 2 ymm), leaving
/// registers for one broadcast and two B vectors.
///
/// `a`: `kc * 6` values; `b`: `kc * 16` values. Returns the `6 x 16` tile.
#[inline(always)]
pub fn f32_gemm_6x16_scalar(a: &[f32], b: &[f32]) -> [[f32; 16]; 6] {
    gemm_tile::<6, 16>(a, b)
}

/// `c[r] = sum_p a[p * MR + r] * x[p]` for one packed `MR`-row panel (matrix-vector product).
#[inline(always)]
pub(super) fn gemv_panel<const MR: usize>(a: &[f32], x: &[f32]) -> [f32; MR] {
    // Four partial sums per row break the add dependency chain; MR*4 lanes vectorise.
    let mut acc = [[0.0f32; MR]; 4];
    let mut ac = a.chunks_exact(4 * MR);
    let mut xc = x.chunks_exact(4);
    for (ap, xp) in (&mut ac).zip(&mut xc) {
        for (q, acc_q) in acc.iter_mut().enumerate() {
            for r in 0..MR {
                acc_q[r] = madd(ap[q * MR + r], xp[q], acc_q[r]);
            }
        }
    }
    for (ap, &xp) in ac.remainder().chunks_exact(MR).zip(xc.remainder()) {
        for r in 0..MR {
            acc[0][r] = madd(ap[r], xp, acc[0][r]);
        }
    }
    let mut out = [0.0f32; MR];
    for (r, o) in out.iter_mut().enumerate() {
        *o = (acc[0][r] + acc[1][r]) + (acc[2][r] + acc[3][r]);
    }
    out
}
