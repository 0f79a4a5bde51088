//! Scalar depthwise kernel: `BLOCK` output columns accumulate in a fixed-size array (one AVX
//! register natively), so the tap loop autovectorises.

use super::pad::PaddedPlane;
use super::ChannelArgs;
use crate::kernels::{clamp, madd};

/// Output columns per block.
pub(super) const BLOCK: usize = 8;

/// Computes one channel's `[out_h, out_w]` output from its padded plane.
pub(super) fn dwconv_rows(a: &ChannelArgs, plane: &PaddedPlane, out: &mut [f32]) {
    for (i, orow) in out.chunks_exact_mut(a.out_w).enumerate().take(a.out_h) {
        let r0 = i * a.stride_h;
        for j0 in (0..a.out_w).step_by(BLOCK) {
            let mut acc = [a.bias; BLOCK];
            for (tap, &w) in a.taps.iter().zip(a.weights) {
                // One bounds check per tap and block; the pad guarantees it passes.
                let src: &[f32; BLOCK] = plane.row(r0 + tap.row, tap.phase)[tap.col + j0..]
                    [..BLOCK]
                    .try_into()
                    .expect("BLOCK values");
                for (acc_j, &x) in acc.iter_mut().zip(src) {
                    *acc_j = madd(w, x, *acc_j);
                }
            }
            let n = BLOCK.min(a.out_w - j0);
            for (o, &v) in orow[j0..j0 + n].iter_mut().zip(&acc) {
                *o = clamp(v, a.min, a.max);
            }
        }
    }
}
