//! SIMD128 depthwise kernel: the twin of the scalar one, each `BLOCK` of output columns in two
//! f32x4 accumulators, up to `CHUNK` blocks at once.

use crate::kernels::f32x4_madd;
use core::arch::wasm32::*;

use super::{ChannelArgs, CHUNK};

/// Output columns per block.
pub(super) const BLOCK: usize = 8;

/// Loads 4 values from the front of `s`.
#[inline(always)]
fn load4(s: &[f32]) -> v128 {
    let s = &s[..4];
    // SAFETY: `s` has 4 values (sliced above); v128_load accepts unaligned pointers.
    unsafe { v128_load(s.as_ptr().cast::<v128>()) }
}

/// Stores `v` to the front of `d`.
#[inline(always)]
fn store4(d: &mut [f32], v: v128) {
    let d = &mut d[..4];
    // SAFETY: `d` has 4 values (sliced above); v128_store accepts unaligned pointers.
    unsafe { v128_store(d.as_mut_ptr().cast::<v128>(), v) }
}

/// `NB` blocks, block `b` reading the plane from `base + b * step` (`step` = `BLOCK` for
/// neighbouring columns, the row step for stacked rows of narrow outputs): `acc[b][h]` holds
/// lanes `4h..4h+4` of block `b`.
#[inline(always)]
fn blocks<const NB: usize>(
    a: &ChannelArgs,
    plane: &[f32],
    base: usize,
    step: usize,
) -> [[v128; 2]; NB] {
    let mut acc = [[f32x4_splat(a.bias); 2]; NB];
    for (&off, &w) in a.taps.iter().zip(a.weights) {
        let w = f32x4_splat(w);
        for (b, acc_b) in acc.iter_mut().enumerate() {
            // Bounds checks per load; the pad guarantees they pass.
            let src = &plane[base + off + b * step..];
            let (x0, x1) = (load4(src), load4(&src[4..]));
            acc_b[0] = f32x4_madd(w, x0, acc_b[0]);
            acc_b[1] = f32x4_madd(w, x1, acc_b[1]);
        }
    }
    acc
}

/// Clamps `acc` and stores its first `out.len()` columns.
#[inline(always)]
fn store<const NB: usize>(a: &ChannelArgs, acc: [[v128; 2]; NB], out: &mut [f32]) {
    let (lo, hi) = (f32x4_splat(a.min), f32x4_splat(a.max));
    for (o, acc_b) in out.chunks_mut(BLOCK).zip(&acc) {
        // pmax(lo, v) = lo < v ? v : lo, then pmin(hi, .): the scalar kernel's
        // `v.max(min).min(max)`, including NaN accumulators becoming `min`.
        let v0 = f32x4_pmin(hi, f32x4_pmax(lo, acc_b[0]));
        let v1 = f32x4_pmin(hi, f32x4_pmax(lo, acc_b[1]));
        if o.len() == BLOCK {
            store4(o, v0);
            store4(&mut o[4..], v1);
        } else {
            let mut tmp = [0.0f32; BLOCK];
            store4(&mut tmp, v0);
            store4(&mut tmp[4..], v1);
            let n = o.len();
            o.copy_from_slice(&tmp[..n]);
        }
    }
}

/// Rows of at most one block: `NB` rows from `i0` at once (independent add chains).
#[inline(always)]
fn stacked<const NB: usize>(a: &ChannelArgs, plane: &[f32], i0: usize, out: &mut [f32]) {
    let acc = blocks::<NB>(a, plane, i0 * a.row_step, a.row_step);
    for (b, acc_b) in acc.into_iter().enumerate() {
        store(a, [acc_b], &mut out[(i0 + b) * a.out_w..][..a.out_w]);
    }
}

/// `NB` neighbouring blocks of output row `i` from column `j0`.
#[inline(always)]
fn along<const NB: usize>(a: &ChannelArgs, plane: &[f32], i: usize, j0: usize, out: &mut [f32]) {
    let acc = blocks::<NB>(a, plane, i * a.row_step + j0, BLOCK);
    let end = a.out_w.min(j0 + NB * BLOCK);
    store(a, acc, &mut out[i * a.out_w + j0..i * a.out_w + end]);
}

/// Computes one channel's `[out_h, out_w]` output from its padded plane.
pub(super) fn dwconv_rows(a: &ChannelArgs, plane: &[f32], out: &mut [f32]) {
    if a.out_w <= BLOCK {
        // Narrow (late) layers: stack rows instead of columns.
        for i0 in (0..a.out_h).step_by(CHUNK) {
            match CHUNK.min(a.out_h - i0) {
                4 => stacked::<4>(a, plane, i0, out),
                3 => stacked::<3>(a, plane, i0, out),
                2 => stacked::<2>(a, plane, i0, out),
                _ => stacked::<1>(a, plane, i0, out),
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
                4 => along::<4>(a, plane, i, j0, out),
                3 => along::<3>(a, plane, i, j0, out),
                2 => along::<2>(a, plane, i, j0, out),
                _ => along::<1>(a, plane, i, j0, out),
            }
            j0 += nb * BLOCK;
        }
    }
}
