//! The benchmark's int8 "peak": a loop of the GEMM microkernel's arithmetic (a dot product of
//! i16 pairs, then an add; or, for the relaxed-SIMD usdot kernel, its relaxed dot of 16 bytes
//! with the add) on registers only, so its speed is the machine's ceiling for the int8
//! kernels.

use core::hint::black_box;

/// Independent accumulator chains: enough to cover the dot + add latency on current cores
/// (12 chains x 4 lanes), leaving registers for the one shared operand.
const CHAINS: usize = 12;

/// Runs `iterations` steps of `CHAINS` `acc = acc + dot_i16x8(acc, b)` (wrapping, no loads)
/// with SIMD128 and returns the int8 multiply-adds performed (8 per `i32x4.dot_i16x8_s`).
///
/// Each chain feeds its own accumulator back as the dot's operand, so nothing is loop
/// invariant for the compiler to hoist; the result goes through `black_box`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn qs8_dot_peak(iterations: usize) -> u64 {
    use core::arch::wasm32::*;
    let b = black_box(i16x8_splat(3));
    let mut acc: [v128; CHAINS] = core::array::from_fn(|i| i32x4_splat(black_box(i as i32)));
    for _ in 0..iterations {
        for a in acc.iter_mut() {
            *a = i32x4_add(*a, i32x4_dot_i16x8(*a, b));
        }
    }
    black_box(acc);
    iterations as u64 * CHAINS as u64 * 8
}

/// Scalar stand-in for the SIMD128 peak (other targets): `CHAINS x 4` chains of i32
/// `acc = acc + acc * b` (wrapping), returning the multiply-adds performed.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub fn qs8_dot_peak(iterations: usize) -> u64 {
    let b = black_box(3i32);
    let mut acc: [[i32; 4]; CHAINS] = core::array::from_fn(|i| [black_box(i as i32); 4]);
    for _ in 0..iterations {
        for a in acc.iter_mut() {
            for v in a.iter_mut() {
                *v = v.wrapping_add(v.wrapping_mul(b));
            }
        }
    }
    black_box(acc);
    iterations as u64 * CHAINS as u64 * 4
}

/// [`qs8_dot_peak`] for the usdot kernel: `CHAINS` `acc = relaxed_dot_i8x16_i7x16_add(acc, b,
/// acc)` per step (`b` below 128, where the result is defined), 16 multiply-adds each.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
pub fn qs8_usdot_peak(iterations: usize) -> u64 {
    use core::arch::wasm32::*;
    let b = black_box(i8x16_splat(3));
    let mut acc: [v128; CHAINS] = core::array::from_fn(|i| i32x4_splat(black_box(i as i32)));
    for _ in 0..iterations {
        for a in acc.iter_mut() {
            *a = i32x4_relaxed_dot_i8x16_i7x16_add(*a, b, *a);
        }
    }
    black_box(acc);
    iterations as u64 * CHAINS as u64 * 16
}

/// The peak loop of the instruction [`super::qs8_gemm::QGemmUkernel::best`] is built on, and
/// that instruction's name: returns the multiply-adds performed.
pub fn qs8_best_peak(iterations: usize) -> (u64, &'static str) {
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    if super::qs8_gemm::QGemmUkernel::best().kr() == 4 {
        return (
            qs8_usdot_peak(iterations),
            "i32x4.relaxed_dot_i8x16_i7x16_add_s",
        );
    }
    (qs8_dot_peak(iterations), "i32x4.dot_i16x8_s + add")
}
