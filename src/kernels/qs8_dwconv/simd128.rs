//! SIMD128 int8 depthwise kernel: the twin of the scalar one. Each `BLOCK` of 8 output columns
//! is one 8-byte load sign-extended to i16x8, multiplied by the splatted i16 weight with
//! `i32x4.extmul_low/high_i16x8_s` into two i32x4 accumulators; up to `CHUNK` blocks at once.

use core::arch::wasm32::*;

use super::{ChannelArgs, BLOCK, CHUNK};
use crate::kernels::qs8_requant::OutputStage;

/// Loads 8 int8 values from the front of `s`, sign-extended to i16x8.
#[inline(always)]
fn load8_i16(s: &[i8]) -> v128 {
    let s = &s[..8];
    // SAFETY: `s` has 8 values (sliced above); the load accepts unaligned pointers.
    unsafe { i16x8_load_extend_i8x8(s.as_ptr()) }
}

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
    let mut acc = [[i32x4_splat(0); 2]; NB];
    for (&off, &w) in a.taps.iter().zip(a.weights) {
        let w = i16x8_splat(i16::from(w));
        for (b, acc_b) in acc.iter_mut().enumerate() {
            // Bounds checks per load; the pad guarantees they pass.
            let x = load8_i16(&plane[base + off + b * step..]);
            acc_b[0] = i32x4_add(acc_b[0], i32x4_extmul_low_i16x8(x, w));
            acc_b[1] = i32x4_add(acc_b[1], i32x4_extmul_high_i16x8(x, w));
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
