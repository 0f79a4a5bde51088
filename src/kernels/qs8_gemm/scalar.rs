//! Scalar int8 GEMM microkernels on the dot16x2 packing. Fixed-width loops over array
//! accumulators (native builds autovectorise them); on wasm32 without SIMD they are the
//! portable fallback, and the reference the SIMD128 twin must match bit for bit.

/// Accumulates one `MR x NR` tile onto `init[r]` (wrapping):
/// `acc[r][j] = init[r] + sum_p a[(p*MR + r)*2] * b[(p*NR + j)*2] + a[(p*MR + r)*2 + 1] * b[(p*NR + j)*2 + 1]`.
///
/// `a` is an `MR`-row panel of packed A (i16 pairs), `b` an `NR`-column panel of packed B
/// (i16 pairs, `B2 = 2 * NR` values per step); both must hold the same number of k pairs.
#[inline(always)]
fn qgemm_tile<const MR: usize, const NR: usize, const B2: usize>(
    a: &[i16],
    b: &[i16],
    init: &[i32; MR],
) -> [[i32; NR]; MR] {
    debug_assert_eq!(B2, 2 * NR);
    let pairs = a.len() / (2 * MR);
    assert!(
        a.len() == pairs * 2 * MR && b.len() == pairs * B2,
        "qs8 gemm microkernel: panels of {} and {} values for {MR}x{NR}",
        a.len(),
        b.len()
    );
    let mut acc = init.map(|v| [v; NR]);
    for (ap, bp) in a.chunks_exact(2 * MR).zip(b.chunks_exact(B2)) {
        // Whole-vector i16 views of the B pairs and of each splatted A pair: the even/odd
        // products summed below are x86's pmaddwd (the scalar image of dot16x2), where
        // splitting B into two rows first made LLVM gather values one at a time.
        let b16: &[i16; B2] = bp.try_into().expect("B2 values");
        for r in 0..MR {
            let mut a16 = [0i16; B2];
            for t in 0..B2 {
                a16[t] = ap[2 * r + t % 2];
            }
            for j in 0..NR {
                acc[r][j] = acc[r][j].wrapping_add(
                    i32::from(b16[2 * j] * a16[2 * j]) + i32::from(b16[2 * j + 1] * a16[2 * j + 1]),
                );
            }
        }
    }
    acc
}

/// 4x8 scalar microkernel: same shape and packing as `qs8_gemm_4x8c2_simd128` (wasm32) so the
/// two compare.
///
/// `a`: `kp * 4` i16 values (4-row panel of k pairs); `b`: `kp * 8` i16 values (8-column
/// panel of k pairs, int8 values sign-extended); `init`: each row's starting value (the
/// output stage's bias). Returns the `4 x 8` tile of int32 dot products added to `init`
/// (wrapping).
#[inline(always)]
pub fn qs8_gemm_4x8c2_scalar(a: &[i16], b: &[i16], init: &[i32; 4]) -> [[i32; 8]; 4] {
    qgemm_tile::<4, 8, 16>(a, b, init)
}

/// 4x8 scalar microkernel on the c4 packing (the reference of `qs8_gemm_4x8c4_usdot_relaxed`,
/// same shape and packing): `acc[r][j] = init[r] + sum_q sum_t a[(q*4 + r)*4 + t] *
/// b[(q*8 + j)*4 + t]`, with `a` int8 weights and `b` the activations plus 128 as u8.
///
/// `a`: `kq * 16` values (4-row panel of k quads); `b`: `kq * 32` values (8-column panel of
/// k quads). Returns the `4 x 8` tile added to `init` (wrapping).
#[cfg(any(not(target_arch = "wasm32"), target_feature = "relaxed-simd"))]
#[inline(always)]
pub fn qs8_gemm_4x8c4_scalar(a: &[i8], b: &[u8], init: &[i32; 4]) -> [[i32; 8]; 4] {
    let quads = a.len() / 16;
    assert!(
        a.len() == quads * 16 && b.len() == quads * 32,
        "qs8_gemm_4x8c4_scalar: panels of {} and {} values",
        a.len(),
        b.len()
    );
    let mut acc = init.map(|v| [v; 8]);
    for (ap, bp) in a.chunks_exact(16).zip(b.chunks_exact(32)) {
        for (r, acc_r) in acc.iter_mut().enumerate() {
            for (j, acc_rj) in acc_r.iter_mut().enumerate() {
                let dot: i32 = (0..4)
                    .map(|t| i32::from(ap[4 * r + t]) * i32::from(bp[4 * j + t]))
                    .sum();
                *acc_rj = acc_rj.wrapping_add(dot);
            }
        }
    }
    acc
}
