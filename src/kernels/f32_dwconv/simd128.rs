//! SIMD128 depthwise kernel: the twin of the scalar one, each `BLOCK` of output columns in two
//! f32x4 accumulators, up to `CHUNK` blocks at once.

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

/// `NB` blocks from column `j0` of the output row starting at plane offset `base`: `acc[b][h]` holds columns `j0 + b*BLOCK + 4h ..+4`.
#[inline(always)]
fn blocks<const NB: usize>(a: &ChannelArgs, plane: &[f32], base: usize) -> [[v128; 2]; NB] {
    let mut acc = [[f32x4_splat(a.bias); 2]; NB];
    for (&off, &w) in a.taps.iter().zip(a.weights) {
        // One bounds check per tap and chunk; the pad guarantees it passes.
        let src = &plane[base + off..][..NB * BLOCK];
        let w = f32x4_splat(w);
        for (b, acc_b) in acc.iter_mut().enumerate() {
            let x0 = load4(&src[b * BLOCK..]);
            let x1 = load4(&src[b * BLOCK + 4..]);
            acc_b[0] = f32x4_add(acc_b[0], f32x4_mul(w, x0));
            acc_b[1] = f32x4_add(acc_b[1], f32x4_mul(w, x1));
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
