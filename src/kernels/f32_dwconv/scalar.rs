//! Scalar depthwise kernel: output columns in blocks of `BLOCK` (one AVX register natively),
//! up to `CHUNK` blocks accumulated at once so each tap's row slice is fetched once and the
//! blocks form independent add chains; the tap loop autovectorises.

use super::{ChannelArgs, CHUNK};
use crate::kernels::{clamp, madd};

/// Output columns per block.
pub(super) const BLOCK: usize = 8;

/// `NB` blocks from column `j0` of the output row starting at plane offset `base`: `acc[b][t]` is column `j0 + b*BLOCK + t`.
#[inline(always)]
fn blocks<const NB: usize>(a: &ChannelArgs, plane: &[f32], base: usize) -> [[f32; BLOCK]; NB] {
    let mut acc = [[a.bias; BLOCK]; NB];
    for (&off, &w) in a.taps.iter().zip(a.weights) {
        // One bounds check per tap and chunk; the pad guarantees it passes.
        let src = &plane[base + off..][..NB * BLOCK];
        for (acc_b, src_b) in acc.iter_mut().zip(src.chunks_exact(BLOCK)) {
            for (acc_t, &x) in acc_b.iter_mut().zip(src_b) {
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

/// Computes one channel's `[out_h, out_w]` output from its padded plane.
pub(super) fn dwconv_rows(a: &ChannelArgs, plane: &[f32], out: &mut [f32]) {
    let padded_w = a.out_w.div_ceil(BLOCK) * BLOCK;
    for (i, orow) in out.chunks_exact_mut(a.out_w).enumerate().take(a.out_h) {
        // Full chunks, then one narrower chunk for the 1..CHUNK-1 blocks left (the pad
        // covers whole blocks), so no row ends in a string of single-block passes.
        let mut j0 = 0;
        while j0 < a.out_w {
            let nb = ((padded_w - j0) / BLOCK).min(CHUNK);
            let end = a.out_w.min(j0 + nb * BLOCK);
            match nb {
                4 => store(
                    a,
                    blocks::<4>(a, plane, i * a.row_step + j0),
                    &mut orow[j0..end],
                ),
                3 => store(
                    a,
                    blocks::<3>(a, plane, i * a.row_step + j0),
                    &mut orow[j0..end],
                ),
                2 => store(
                    a,
                    blocks::<2>(a, plane, i * a.row_step + j0),
                    &mut orow[j0..end],
                ),
                _ => store(
                    a,
                    blocks::<1>(a, plane, i * a.row_step + j0),
                    &mut orow[j0..end],
                ),
            }
            j0 += nb * BLOCK;
        }
    }
}
