//! Scalar int8 GEMM microkernels on the dot16x2 packing. Fixed-width loops over array
//! accumulators (native builds autovectorise them); on wasm32 without SIMD they are the
//! portable fallback, and the reference the SIMD128 twin must match bit for bit.

/// Accumulates one `MR x NR` tile:
/// `acc[r][j] = sum_p a[(p*MR + r)*2] * b[(p*NR + j)*2] + a[(p*MR + r)*2 + 1] * b[(p*NR + j)*2 + 1]`.
///
/// `a` is an `MR`-row panel of packed A (i16 pairs), `b` an `NR`-column panel of packed B
/// (int8 pairs); both must hold the same number of k pairs.
#[inline(always)]
fn qgemm_tile<const MR: usize, const NR: usize>(a: &[i16], b: &[i8]) -> [[i32; NR]; MR] {
    let pairs = a.len() / (2 * MR);
    assert!(
        a.len() == pairs * 2 * MR && b.len() == pairs * 2 * NR,
        "qs8 gemm microkernel: panels of {} and {} values for {MR}x{NR}",
        a.len(),
        b.len()
    );
    let mut acc = [[0i32; NR]; MR];
    for (ap, bp) in a.chunks_exact(2 * MR).zip(b.chunks_exact(2 * NR)) {
        // Widen the B pair rows once per step (fixed size: no bounds checks, full unroll).
        let bp: &[i8] = bp;
        let mut b0 = [0i32; NR];
        let mut b1 = [0i32; NR];
        for j in 0..NR {
            b0[j] = i32::from(bp[2 * j]);
            b1[j] = i32::from(bp[2 * j + 1]);
        }
        for r in 0..MR {
            let (a0, a1) = (i32::from(ap[2 * r]), i32::from(ap[2 * r + 1]));
            for j in 0..NR {
                acc[r][j] += a0 * b0[j] + a1 * b1[j];
            }
        }
    }
    acc
}

/// 4x8 scalar microkernel: same shape and packing as `qs8_gemm_4x8c2_simd128` (wasm32) so the
/// two compare.
///
/// `a`: `kp * 4` i16 values (4-row panel of k pairs); `b`: `kp * 8` int8 values (8-column
/// panel of k pairs). Returns the `4 x 8` tile of int32 dot products.
#[inline(always)]
pub fn qs8_gemm_4x8c2_scalar(a: &[i16], b: &[i8]) -> [[i32; 8]; 4] {
    qgemm_tile::<4, 8>(a, b)
}

/// 4x16 scalar microkernel, the native default: 8 AVX2 i32 accumulators (4 rows x 2 ymm).
///
/// `a`: `kp * 4` i16 values; `b`: `kp * 16` int8 values. Returns the `4 x 16` tile.
#[inline(always)]
pub fn qs8_gemm_4x16c2_scalar(a: &[i16], b: &[i8]) -> [[i32; 16]; 4] {
    qgemm_tile::<4, 16>(a, b)
}

/// `c[r] = sum_k a[r, k] x[k]` for one packed `MR`-row panel (matrix-vector product); `x` has
/// `k` values, the panel `k` rounded up to even pairs.
#[inline(always)]
pub(super) fn qgemv_panel<const MR: usize>(a: &[i16], x: &[i8]) -> [i32; MR] {
    let mut acc = [0i32; MR];
    let mut ac = a.chunks_exact(2 * MR);
    let mut xc = x.chunks_exact(2);
    // x first: zip stops on it without taking the A pair the odd tail needs.
    for (xp, ap) in (&mut xc).zip(&mut ac) {
        let (x0, x1) = (i32::from(xp[0]), i32::from(xp[1]));
        for r in 0..MR {
            acc[r] += i32::from(ap[2 * r]) * x0 + i32::from(ap[2 * r + 1]) * x1;
        }
    }
    // Odd k: the last pair's second value is padding (zero in A).
    if let (Some(ap), [x0]) = (ac.next(), xc.remainder()) {
        for r in 0..MR {
            acc[r] += i32::from(ap[2 * r]) * i32::from(*x0);
        }
    }
    acc
}
