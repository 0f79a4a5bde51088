//! Relaxed-SIMD int8 GEMM microkernel (usdot, XNNPACK's "c4 wasmusdot"): one
//! `i32x4.relaxed_dot_i8x16_i7x16_add_s` multiplies 16 int8 weights by 16 unsigned
//! activations (`x + 128`) and adds them, four at a time, to four int32 sums: twice the
//! multiply-adds of `i32x4.dot_i16x8_s`, and the add comes with it.
//!
//! The relaxed-SIMD specification defines the product only for a second operand below 128;
//! for 128..=255 an engine may compute it unsigned (x64 with AVX-VNNI: `vpdpbusd`, exact),
//! signed (arm64 `sdot`), or with 16-bit saturation (x64 `pmaddubsw`). [`usdot_exact`] checks
//! once, on values that tell the three apart, that this engine computes the exact unsigned
//! product; only then is [`super::QGemmUkernel::best`] this kernel, so int8 results stay
//! bit-identical to every other build's.

use core::arch::wasm32::*;
use core::hint::black_box;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::kernels::qs8_requant::to_v128;

/// 0 not probed yet, 1 exact, 2 not.
static USDOT: AtomicU8 = AtomicU8::new(0);

/// Whether this engine's `i32x4.relaxed_dot_i8x16_i7x16_add_s` computes
/// `c + sum a (signed) * b (unsigned)` exactly, probed once.
pub fn usdot_exact() -> bool {
    match USDOT.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let exact = probe();
            USDOT.store(if exact { 1 } else { 2 }, Ordering::Relaxed);
            exact
        }
    }
}

/// Every lane pattern that separates the three lowerings: largest unsigned times most
/// negative and most positive signed values (a saturating 16-bit pair sum clips them, a signed
/// reading flips them), mixed lanes, and the accumulator's own add.
fn probe() -> bool {
    let cases: [([i8; 16], [u8; 16], i32); 4] = [
        ([-128; 16], [255; 16], 0),
        ([127; 16], [255; 16], -7),
        (
            [
                -128, 127, -1, 1, 0, -128, 127, 64, -64, 5, -5, 100, -100, 127, -128, 3,
            ],
            [
                255, 255, 128, 129, 7, 200, 130, 255, 255, 0, 127, 254, 253, 128, 128, 1,
            ],
            i32::MAX - 1000,
        ),
        ([1; 16], [128; 16], i32::MIN),
    ];
    cases.iter().all(|&(a, b, c)| {
        let want: [i32; 4] = core::array::from_fn(|l| {
            (0..4).fold(c, |s, t| {
                s.wrapping_add(i32::from(a[4 * l + t]) * i32::from(b[4 * l + t]))
            })
        });
        // black_box: the engine, not LLVM's constant folding, must compute the dot.
        let (va, vb) = (black_box(to_v128(a)), black_box(to_v128(b)));
        let got = i32x4_relaxed_dot_i8x16_i7x16_add(va, vb, i32x4_splat(black_box(c)));
        crate::kernels::qs8_requant::to_array::<[i32; 4]>(got) == want
    })
}

/// 4x8 relaxed-SIMD microkernel on the c4 packing: 8 i32x4 accumulators (4 rows x 2 vectors).
/// Per k quad: four `v128.load32_splat` of the A rows' int8 quads and two loads of B (4 k x 4
/// columns each, `x + 128` as u8), then eight `i32x4.relaxed_dot_i8x16_i7x16_add_s`.
///
/// `a`: `kq * 16` int8 values (4-row panel of k quads); `b`: `kq * 32` u8 values (8-column
/// panel of k quads); `init`: each row's starting value (its offset `-128 sum_k a`, plus the
/// output stage's bias). Returns the `4 x 8` tile of `init + sum a (x + 128)` (wrapping).
///
/// Exact only where [`usdot_exact`] holds.
#[inline(always)]
pub fn qs8_gemm_4x8c4_usdot_relaxed(a: &[i8], b: &[u8], init: &[i32; 4]) -> [[i32; 8]; 4] {
    let quads = a.len() / 16;
    assert!(
        a.len() == quads * 16 && b.len() == quads * 32,
        "qs8_gemm_4x8c4_usdot_relaxed: panels of {} and {} values",
        a.len(),
        b.len()
    );
    let (ap, bp) = (a.as_ptr(), b.as_ptr());
    let mut acc: [v128; 8] = core::array::from_fn(|i| i32x4_splat(init[i / 2]));
    for q in 0..quads {
        // SAFETY: q < quads, and `a` holds quads*16, `b` quads*32 values (asserted above), so
        // the 16 values at a[16q..] and the 32 at b[32q..] are in bounds; the loads accept
        // unaligned pointers.
        let (b0, b1, a0, a1, a2, a3) = unsafe {
            let (ap, bp) = (ap.add(16 * q).cast::<u32>(), bp.add(32 * q).cast::<v128>());
            (
                v128_load(bp),
                v128_load(bp.add(1)),
                v128_load32_splat(ap),
                v128_load32_splat(ap.add(1)),
                v128_load32_splat(ap.add(2)),
                v128_load32_splat(ap.add(3)),
            )
        };
        acc[0] = i32x4_relaxed_dot_i8x16_i7x16_add(a0, b0, acc[0]);
        acc[1] = i32x4_relaxed_dot_i8x16_i7x16_add(a0, b1, acc[1]);
        acc[2] = i32x4_relaxed_dot_i8x16_i7x16_add(a1, b0, acc[2]);
        acc[3] = i32x4_relaxed_dot_i8x16_i7x16_add(a1, b1, acc[3]);
        acc[4] = i32x4_relaxed_dot_i8x16_i7x16_add(a2, b0, acc[4]);
        acc[5] = i32x4_relaxed_dot_i8x16_i7x16_add(a2, b1, acc[5]);
        acc[6] = i32x4_relaxed_dot_i8x16_i7x16_add(a3, b0, acc[6]);
        acc[7] = i32x4_relaxed_dot_i8x16_i7x16_add(a3, b1, acc[7]);
    }
    let lanes = |v| crate::kernels::qs8_requant::to_array::<[i32; 4]>(v);
    core::array::from_fn(|r| {
        let (lo, hi) = (lanes(acc[2 * r]), lanes(acc[2 * r + 1]));
        core::array::from_fn(|j| if j < 4 { lo[j] } else { hi[j - 4] })
    })
}

/// `c[r] = sum_k a[r, k] (x[k] + 128)` for one 4-row c4 panel: one load gives the 4 rows'
/// quads, and one relaxed dot with the splatted x quad adds four k steps of all 4 rows; four
/// independent accumulators break the add chain.
#[inline(always)]
pub(super) fn qgemv_4c4_usdot_relaxed(a: &[i8], x_quads: &[i32]) -> [i32; 4] {
    let quads = x_quads.len();
    assert_eq!(
        a.len(),
        quads * 16,
        "qgemv_4c4_usdot_relaxed: panel of {}",
        a.len()
    );
    let ap = a.as_ptr();
    let sum = super::simd128::four_chains(quads, |acc, q| {
        // SAFETY: q < quads, so the 16 values at a[16q..] are in bounds (asserted above).
        let va = unsafe { v128_load(ap.add(16 * q).cast::<v128>()) };
        i32x4_relaxed_dot_i8x16_i7x16_add(va, i32x4_splat(x_quads[q]), acc)
    });
    crate::kernels::qs8_requant::to_array(sum)
}
