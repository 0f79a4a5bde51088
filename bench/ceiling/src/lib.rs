//! The ceiling that the int8 GEMM's output stage sets, measured (bench/bench.js runs it beside
//! `qs.kernelBench()`; bench/run.mjs prints it in the kernel table).
//!
//! `kernelBench` gives the GEMM's speed as a share of the peak: a register-only loop of the
//! microkernel's dot instruction. But every 4 outputs also pay the float output stage
//! (quantscope's `F32Requant`): convert the int32 sums to f32, one multiply-add (or a multiply
//! and an add), add the magic number's bits, narrow to int8. Where those instructions run on
//! the dot's execution ports, they cost dot slots, most at short reductions: at k = 16 one
//! group of 4 outputs takes only 4 usdot instructions. [`ceiling`] is the peak loop with that
//! arithmetic added in the right proportion (registers only: no loads, no stores, no
//! addressing), so no kernel with memory traffic can get above it.
//!
//! Built with `+simd128,+relaxed-simd`; the two loops of each instruction mirror
//! `src/kernels/qs8_peak.rs` (12 independent chains).

#![no_std]

use core::arch::wasm32::*;
use core::hint::black_box;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Independent accumulator chains, as in the product's peak loop.
const CHAINS: usize = 12;

/// Multiply-adds in `iterations` of the peak loop: `usdot` the relaxed
/// `i32x4.relaxed_dot_i8x16_i7x16_add_s` (16 per instruction), else `i32x4.dot_i16x8_s` + add (8).
#[no_mangle]
pub extern "C" fn peak(iterations: u32, usdot: u32) -> f64 {
    if usdot != 0 {
        run::<1, 0, true, true>(iterations)
    } else {
        run::<1, 0, false, true>(iterations)
    }
}

/// Multiply-adds in `iterations` of the peak loop plus the output stage of a GEMM with
/// `k`-long sums (16, 24 or 192: the benchmark's shapes), in the fused form (one
/// `f32x4.relaxed_madd`) where `fused`, else a multiply and an add. 0 for another `k`.
#[no_mangle]
pub extern "C" fn ceiling(iterations: u32, k: u32, usdot: u32, fused: u32) -> f64 {
    macro_rules! form {
        ($r:literal, $g:literal, $u:literal) => {
            if fused != 0 {
                run::<$r, $g, $u, true>(iterations)
            } else {
                run::<$r, $g, $u, false>(iterations)
            }
        };
    }
    // A group of 4 outputs takes k / (multiply-adds per lane) dots: `$g` groups per `$r`
    // rounds of the CHAINS dots (an even number of groups: the stage narrows 8 outputs at a
    // time).
    match (k, usdot != 0) {
        (16, true) => form!(2, 6, true),
        (24, true) => form!(2, 4, true),
        (192, true) => form!(8, 2, true),
        (16, false) => form!(4, 6, false),
        (24, false) => form!(4, 4, false),
        (192, false) => form!(16, 2, false),
        _ => 0.0,
    }
}

/// Per iteration, `ROUNDS` rounds of the `CHAINS` dots, then the output stage on `GROUPS` (even)
/// of the sums, xor-ed into a sink so that nothing is dead. Returns the multiply-adds.
#[inline(always)]
fn run<const ROUNDS: usize, const GROUPS: usize, const USDOT: bool, const FUSED: bool>(
    iterations: u32,
) -> f64 {
    let b = black_box(i8x16_splat(3));
    let mut acc: [v128; CHAINS] = core::array::from_fn(|i| i32x4_splat(black_box(i as i32)));
    let mut sink = i32x4_splat(black_box(0));
    // quantscope's MAGIC = 1.5 * 2^23, whose bits the stage subtracts.
    let magic = 12_582_912.0f32;
    let (scale, offset) = (black_box(f32x4_splat(1e-3)), black_box(f32x4_splat(magic)));
    let neg_bits = black_box(i32x4_splat((magic.to_bits() as i32).wrapping_neg()));
    let stage = |x: v128| {
        let xf = f32x4_convert_i32x4(x);
        let w = if FUSED {
            f32x4_relaxed_madd(xf, scale, offset)
        } else {
            f32x4_add(f32x4_mul(xf, scale), offset)
        };
        i32x4_add(w, neg_bits)
    };
    for _ in 0..iterations {
        for _ in 0..ROUNDS {
            for a in acc.iter_mut() {
                *a = if USDOT {
                    i32x4_relaxed_dot_i8x16_i7x16_add(*a, b, *a)
                } else {
                    i32x4_add(*a, i32x4_dot_i16x8(*a, b))
                };
            }
        }
        for g in (0..GROUPS).step_by(2) {
            let y = i16x8_narrow_i32x4(stage(acc[g]), stage(acc[g + 1]));
            sink = v128_xor(sink, i8x16_narrow_i16x8(y, y));
        }
    }
    black_box((acc, sink));
    let lane_macs = if USDOT { 16 } else { 8 };
    f64::from(iterations) * (ROUNDS * CHAINS * lane_macs) as f64
}
