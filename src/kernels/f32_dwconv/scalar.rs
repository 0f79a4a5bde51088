//! Scalar depthwise kernel: output columns in blocks of `BLOCK` (one AVX register natively),
//! up to `CHUNK` blocks accumulated at once so each tap's row slice is fetched once and the
//! blocks form independent add chains; the tap loop autovectorises.

use super::{ChannelArgs, CHUNK};
use crate::kernels::{clamp, madd};

/// Output columns per block.
pub(super) const BLOCK: usize = 8;

/// `NB` blocks, block `b` reading the plane from `base + b * step` (`step` = `BLOCK` for
/// neighbouring columns, the row step for stacked rows of narrow outputs).
#[inline(always)]
fn blocks<const NB: usize>(
    a: &ChannelArgs,
    plane: &[f32],
    base: usize,
    step: usize,
) -> [[f32; BLOCK]; NB] {
    let mut acc = [[a.bias; BLOCK]; NB];
    if step == BLOCK {
        // Neighbouring columns: one contiguous slice (one bounds check) per tap.
        for (&off, &w) in a.taps.iter().zip(a.weights) {
            let src = &plane[base + off..][..NB * BLOCK];
            for (acc_b, src_b) in acc.iter_mut().zip(src.chunks_exact(BLOCK)) {
                for (acc_t, &x) in acc_b.iter_mut().zip(src_b) {
                    *acc_t = madd(w, x, *acc_t);
                }
            }
        }
        return acc;
    }
    for (&off, &w) in a.taps.iter().zip(a.weights) {
        for (b, acc_b) in acc.iter_mut().enumerate() {
            // One bounds check per tap and block; the pad guarantees it passes.
            let src: &[f32; BLOCK] = plane[base + off + b * step..][..BLOCK]
                .try_into()
                .expect("BLOCK values");
            for (acc_t, &x) in acc_b.iter_mut().zip(src) {
                *acc_t = madd(w, x, *acc_t);
            }
        }
    }
    acc
}

/// Clamps `acc` (fixed width, so it vectorises) and stores its first `out.len()` columns.
#[inline(always)]
fn store<const NB: usize>(a: &ChannelArgs, mut acc: [[f32; BLOCK]; NB], out: &mut [f32]) {
    // Nested fixed-width loops (a flattened iterator does not vectorise).
    for b in acc.iter_mut() {
        for v in b.iter_mut() {
            *v = clamp(*v, a.min, a.max);
        }
    }
    for (o, b) in out.chunks_mut(BLOCK).zip(&acc) {
        if o.len() == BLOCK {
            o.copy_from_slice(b);
        } else {
            o.copy_from_slice(&b[..o.len()]);
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
        // Full chunks, then one narrower chunk for the 1..CHUNK-1 blocks left (the pad
        // covers whole blocks), so no row ends in a string of single-block passes.
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
