//! WebAssembly SIMD128 int8 GEMM microkernel (dot16x2), the twin of the 4x8 scalar one, and the
//! matrix-vector panel product.

use core::arch::wasm32::*;

/// 4x8 SIMD128 microkernel: 8 i32x4 accumulators (4 rows x 2 vectors). Per k pair: four
/// `v128.load32_splat` of the A rows' i16 pairs and two loads of B (2 k x 4 columns each, as
/// i16), then eight `i32x4.dot_i16x8_s`.
///
/// Only the dots and their adds use the SIMD ports: the splats are broadcasts from memory on
/// x64 (load ports), where shuffles of one A vector would compete with the dots, and B comes
/// sign-extended from the packing.
///
/// `a`: `kp * 4` i16 values (4-row panel of k pairs); `b`: `kp * 8` i16 values (8-column
/// panel of k pairs, int8 values sign-extended); `init`: each row's starting value (the
/// output stage's bias, so that the store need not add it). Returns the `4 x 8` tile of int32
/// dot products added to `init` (wrapping).
#[inline(always)]
pub fn qs8_gemm_4x8c2_simd128(a: &[i16], b: &[i16], init: &[i32; 4]) -> [[i32; 8]; 4] {
    let pairs = a.len() / 8;
    assert!(
        a.len() == pairs * 8 && b.len() == pairs * 16,
        "qs8_gemm_4x8c2_simd128: panels of {} and {} values",
        a.len(),
        b.len()
    );
    let (ap, bp) = (a.as_ptr(), b.as_ptr());
    let mut acc: [v128; 8] = core::array::from_fn(|i| i32x4_splat(init[i / 2]));
    for p in 0..pairs {
        // SAFETY: p < pairs, and `a` holds pairs*8, `b` pairs*16 values (asserted above), so
        // the 8 values at a[8p..] and the 16 at b[16p..] are in bounds; the loads accept
        // unaligned pointers.
        let (b0, b1, a0, a1, a2, a3) = unsafe {
            let (ap, bp) = (ap.add(8 * p).cast::<u32>(), bp.add(16 * p).cast::<v128>());
            (
                // Columns 0-3 and 4-7, each as (k0, k1) i16 pairs.
                v128_load(bp),
                v128_load(bp.add(1)),
                v128_load32_splat(ap),
                v128_load32_splat(ap.add(1)),
                v128_load32_splat(ap.add(2)),
                v128_load32_splat(ap.add(3)),
            )
        };
        acc[0] = i32x4_add(acc[0], i32x4_dot_i16x8(a0, b0));
        acc[1] = i32x4_add(acc[1], i32x4_dot_i16x8(a0, b1));
        acc[2] = i32x4_add(acc[2], i32x4_dot_i16x8(a1, b0));
        acc[3] = i32x4_add(acc[3], i32x4_dot_i16x8(a1, b1));
        acc[4] = i32x4_add(acc[4], i32x4_dot_i16x8(a2, b0));
        acc[5] = i32x4_add(acc[5], i32x4_dot_i16x8(a2, b1));
        acc[6] = i32x4_add(acc[6], i32x4_dot_i16x8(a3, b0));
        acc[7] = i32x4_add(acc[7], i32x4_dot_i16x8(a3, b1));
    }
    let mut out = [[0i32; 8]; 4];
    for (r, row) in out.iter_mut().enumerate() {
        row[..4].copy_from_slice(&lanes(acc[2 * r]));
        row[4..].copy_from_slice(&lanes(acc[2 * r + 1]));
    }
    out
}

/// The four lanes of `v`.
#[inline(always)]
fn lanes(v: v128) -> [i32; 4] {
    [
        i32x4_extract_lane::<0>(v),
        i32x4_extract_lane::<1>(v),
        i32x4_extract_lane::<2>(v),
        i32x4_extract_lane::<3>(v),
    ]
}

/// `c[r] = sum_k a[r, k] x[k]` for one packed 4-row panel: one load gives the 4 rows' pairs,
/// and one `i32x4.dot_i16x8_s` with the splatted x pair adds two k steps of all 4 rows. Four
/// independent accumulators (summed exactly at the end) break the add chain.
#[inline(always)]
pub(super) fn qgemv_4c2_simd128(a: &[i16], x_pairs: &[i32]) -> [i32; 4] {
    let pairs = x_pairs.len();
    assert_eq!(
        a.len(),
        pairs * 8,
        "qgemv_4c2_simd128: panel of {}",
        a.len()
    );
    let ap = a.as_ptr();
    let sum = four_chains(pairs, |acc, p| {
        // SAFETY: p < pairs, so the 8 values at a[8p..] are in bounds (asserted above).
        let va = unsafe { v128_load(ap.add(8 * p).cast::<v128>()) };
        i32x4_add(acc, i32x4_dot_i16x8(va, i32x4_splat(x_pairs[p])))
    });
    lanes(sum)
}

/// `step` folded over `0..n` in four independent accumulator chains from zero (unrolled by 4
/// with constant indices, so V8 keeps them in registers: indexed by `i % 4` they were kept in
/// memory, 36 against 84 GOP/s for the usdot matrix-vector kernel on 1000 x 1280), then added.
#[inline(always)]
pub(super) fn four_chains(n: usize, step: impl Fn(v128, usize) -> v128) -> v128 {
    let mut acc = [i32x4_splat(0); 4];
    let mut i = 0;
    while i + 4 <= n {
        for (t, acc_t) in acc.iter_mut().enumerate() {
            *acc_t = step(*acc_t, i + t);
        }
        i += 4;
    }
    while i < n {
        acc[0] = step(acc[0], i);
        i += 1;
    }
    i32x4_add(i32x4_add(acc[0], acc[1]), i32x4_add(acc[2], acc[3]))
}
