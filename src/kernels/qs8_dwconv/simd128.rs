//! SIMD128 int8 depthwise kernel: the twin of the scalar one. Each `BLOCK` of 8 output columns
//! is two i32x4 accumulators; taps go in pairs (dot16x2, as in the GEMM): the 8 input bytes of
//! two taps are interleaved, widened to i16 pairs and multiplied-added with the weight pair by
//! `i32x4.dot_i16x8_s`. Up to `CHUNK` blocks at once.

use core::arch::wasm32::*;

use super::{ChannelArgs, BLOCK, CHUNK};
use crate::kernels::qs8_requant::OutputStage;

/// `NB` blocks, block `b` reading the plane from `base + b * step` (`step` = `BLOCK` for
/// neighbouring columns, the row step for stacked rows of narrow outputs): `acc[b][h]` holds
/// lanes `4h..4h+4` of block `b`.
#[inline(always)]
fn blocks<const NB: usize>(
    a: &ChannelArgs,
    plane: &[i8],
    base: usize,
    step: usize,
) -> [[v128; 2]; NB] {
    // One bounds check for every load below (each tap offset is at most `max_tap`); the pad
    // guarantees it passes. Per-load checks cost as much as the arithmetic.
    assert!(
        base + a.max_tap + (NB - 1) * step + BLOCK <= plane.len(),
        "qs8_dwconv_simd128: block outside the padded plane"
    );
    let p = plane.as_ptr();
    // SAFETY (every load): each tap offset is at most `max_tap` and b < NB, so the 8 bytes at
    // base + off + b*step are inside `plane` (asserted above); loads accept unaligned pointers.
    let load = |off: usize, b: usize| unsafe {
        v128_load64_zero(p.add(base + off + b * step).cast::<u64>())
    };
    let mut acc = [[i32x4_splat(0); 2]; NB];
    // Taps in pairs: the two taps' bytes interleaved and widened to i16 pairs, then one
    // `i32x4.dot_i16x8_s` with the weight pair adds both taps for 4 outputs (half the
    // instructions of widening multiplies per tap). An odd last tap pairs with weight 0.
    let (mut taps, mut weights) = (a.taps.chunks_exact(2), a.weights.chunks_exact(2));
    for (t, w) in (&mut taps).zip(&mut weights) {
        let wp = i32x4_splat(i32::from(w[0] as i16 as u16) | (i32::from(w[1] as i16) << 16));
        for (b, acc_b) in acc.iter_mut().enumerate() {
            let x = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(
                load(t[0], b),
                load(t[1], b),
            );
            acc_b[0] = i32x4_add(acc_b[0], i32x4_dot_i16x8(i16x8_extend_low_i8x16(x), wp));
            acc_b[1] = i32x4_add(acc_b[1], i32x4_dot_i16x8(i16x8_extend_high_i8x16(x), wp));
        }
    }
    if let ([t], [w]) = (taps.remainder(), weights.remainder()) {
        let wp = i32x4_splat(i32::from(*w as i16 as u16));
        for (b, acc_b) in acc.iter_mut().enumerate() {
            let x = load(*t, b);
            let x = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(x, x);
            acc_b[0] = i32x4_add(acc_b[0], i32x4_dot_i16x8(i16x8_extend_low_i8x16(x), wp));
            acc_b[1] = i32x4_add(acc_b[1], i32x4_dot_i16x8(i16x8_extend_high_i8x16(x), wp));
        }
    }
    acc
}

/// Stores the first `out.len()` columns of `acc` through the output stage (`row`: the
/// channel's constants).
#[inline(always)]
fn store<S: OutputStage, const NB: usize>(
    row: &S::Simd128Row,
    acc: &[[v128; 2]; NB],
    out: &mut [S::Out],
) {
    for (o, acc_b) in out.chunks_mut(BLOCK).zip(acc) {
        S::store8_simd128(row, *acc_b, o);
    }
}

/// Rows of at most one block: `NB` rows from `i0` at once (independent add chains).
#[inline(always)]
fn stacked<S: OutputStage, const NB: usize>(
    a: &ChannelArgs,
    row: &S::Simd128Row,
    plane: &[i8],
    i0: usize,
    out: &mut [S::Out],
) {
    let acc = blocks::<NB>(a, plane, i0 * a.row_step, a.row_step);
    for (b, acc_b) in acc.iter().enumerate() {
        store::<S, 1>(row, &[*acc_b], &mut out[(i0 + b) * a.out_w..][..a.out_w]);
    }
}

/// `NB` neighbouring blocks of output row `i` from column `j0`.
#[inline(always)]
fn along<S: OutputStage, const NB: usize>(
    a: &ChannelArgs,
    row: &S::Simd128Row,
    plane: &[i8],
    i: usize,
    j0: usize,
    out: &mut [S::Out],
) {
    let acc = blocks::<NB>(a, plane, i * a.row_step + j0, BLOCK);
    let end = a.out_w.min(j0 + NB * BLOCK);
    store::<S, NB>(row, &acc, &mut out[i * a.out_w + j0..i * a.out_w + end]);
}

/// Computes one channel's `[out_h, out_w]` output from its padded plane.
pub(super) fn dwconv_rows<S: OutputStage>(
    a: &ChannelArgs,
    stage: &S,
    plane: &[i8],
    out: &mut [S::Out],
) {
    let row = stage.simd128_row(a.channel);
    if a.out_w <= BLOCK {
        // Narrow (late) layers: stack rows instead of columns.
        for i0 in (0..a.out_h).step_by(CHUNK) {
            match CHUNK.min(a.out_h - i0) {
                4 => stacked::<S, 4>(a, &row, plane, i0, out),
                3 => stacked::<S, 3>(a, &row, plane, i0, out),
                2 => stacked::<S, 2>(a, &row, plane, i0, out),
                _ => stacked::<S, 1>(a, &row, plane, i0, out),
            }
        }
        return;
    }
    let padded_w = a.out_w.div_ceil(BLOCK) * BLOCK;
    for i in 0..a.out_h {
        // Full chunks, then one narrower chunk for the 1..CHUNK-1 blocks left.
        let mut j0 = 0;
        while j0 < a.out_w {
            let nb = ((padded_w - j0) / BLOCK).min(CHUNK);
            match nb {
                4 => along::<S, 4>(a, &row, plane, i, j0, out),
                3 => along::<S, 3>(a, &row, plane, i, j0, out),
                2 => along::<S, 2>(a, &row, plane, i, j0, out),
                _ => along::<S, 1>(a, &row, plane, i, j0, out),
            }
            j0 += nb * BLOCK;
        }
    }
}
