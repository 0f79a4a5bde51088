//! Scalar int8 depthwise kernel: output columns in blocks of `BLOCK` int32 accumulators, up to
//! `CHUNK` blocks at once so each tap's row slice is fetched once and the blocks form
//! independent add chains; the tap loop autovectorises natively.

use super::{ChannelArgs, BLOCK, CHUNK};
use crate::kernels::qs8_requant::OutputStage;

/// `NB` blocks, block `b` reading the plane from `base + b * step` (`step` = `BLOCK` for
/// neighbouring columns, the row step for stacked rows of narrow outputs).
#[inline(always)]
fn blocks<const NB: usize>(
    a: &ChannelArgs,
    plane: &[i8],
    base: usize,
    step: usize,
) -> [[i32; BLOCK]; NB] {
    let mut acc = [[0i32; BLOCK]; NB];
    for (&off, &w) in a.taps.iter().zip(a.weights) {
        let w = i32::from(w);
        for (b, acc_b) in acc.iter_mut().enumerate() {
            // One bounds check per tap and block; the pad guarantees it passes.
            let src: &[i8; BLOCK] = plane[base + off + b * step..][..BLOCK]
                .try_into()
                .expect("BLOCK values");
            for (acc_t, &x) in acc_b.iter_mut().zip(src) {
                *acc_t += w * i32::from(x);
            }
        }
    }
    acc
}

/// Stores the first `out.len()` columns of `acc` through the output stage.
#[inline(always)]
fn store<S: OutputStage, const NB: usize>(
    a: &ChannelArgs,
    stage: &S,
    acc: &[[i32; BLOCK]; NB],
    out: &mut [S::Out],
) {
    for (o, b) in out.chunks_mut(BLOCK).zip(acc) {
        stage.store_scalar(a.channel, &b[..o.len()], o);
    }
}

/// Rows of at most one block: `NB` rows from `i0` at once (independent add chains).
#[inline(always)]
fn stacked<S: OutputStage, const NB: usize>(
    a: &ChannelArgs,
    stage: &S,
    plane: &[i8],
    i0: usize,
    out: &mut [S::Out],
) {
    let acc = blocks::<NB>(a, plane, i0 * a.row_step, a.row_step);
    for (b, acc_b) in acc.iter().enumerate() {
        store(
            a,
            stage,
            &[*acc_b],
            &mut out[(i0 + b) * a.out_w..][..a.out_w],
        );
    }
}

/// `NB` neighbouring blocks of output row `i` from column `j0`.
#[inline(always)]
fn along<S: OutputStage, const NB: usize>(
    a: &ChannelArgs,
    stage: &S,
    plane: &[i8],
    i: usize,
    j0: usize,
    out: &mut [S::Out],
) {
    let acc = blocks::<NB>(a, plane, i * a.row_step + j0, BLOCK);
    let end = a.out_w.min(j0 + NB * BLOCK);
    store(
        a,
        stage,
        &acc,
        &mut out[i * a.out_w + j0..i * a.out_w + end],
    );
}

/// Computes one channel's `[out_h, out_w]` output from its padded plane.
pub(super) fn dwconv_rows<S: OutputStage>(
    a: &ChannelArgs,
    stage: &S,
    plane: &[i8],
    out: &mut [S::Out],
) {
    if a.out_w <= BLOCK {
        // Narrow (late) layers: stack rows instead of columns.
        for i0 in (0..a.out_h).step_by(CHUNK) {
            match CHUNK.min(a.out_h - i0) {
                4 => stacked::<S, 4>(a, stage, plane, i0, out),
                3 => stacked::<S, 3>(a, stage, plane, i0, out),
                2 => stacked::<S, 2>(a, stage, plane, i0, out),
                _ => stacked::<S, 1>(a, stage, plane, i0, out),
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
                4 => along::<S, 4>(a, stage, plane, i, j0, out),
                3 => along::<S, 3>(a, stage, plane, i, j0, out),
                2 => along::<S, 2>(a, stage, plane, i, j0, out),
                _ => along::<S, 1>(a, stage, plane, i, j0, out),
            }
            j0 += nb * BLOCK;
        }
    }
}
