//! The padded, column-phase-split copy of one channel plane that lets the depthwise kernels
//! (f32 and int8) run without any bounds checks. The padding holds what an out-of-image tap
//! reads: 0 for f32, the input zero point for int8.
//!
//! Padded row `r` holds input row `r - pad_top`. Its columns are split into `stride_w` phases:
//! phase `q`, element `t` is padded column `t * stride_w + q` (input column
//! `t * stride_w + q - pad_left`). Output column `j`, tap `v` then reads phase
//! `(v * dil_w) % stride_w` at `j + (v * dil_w) / stride_w`: contiguous in `j` for any stride,
//! so the kernels vectorise across output columns.

use crate::kernels::{gather, ConvGeometry};

/// Padded, phase-split plane (reused across channels; the padding is written once).
pub(crate) struct PaddedPlane<T> {
    /// Padded rows the output reads.
    rows: usize,
    /// Phases per row (= stride along w).
    phases: usize,
    /// Values per phase, at least [`block_len`], so full-block loads stay inside.
    plen: usize,
    data: Vec<T>,
}

/// Values per phase row of a plane read in blocks of `block` output columns: the rounded-up
/// output width plus the largest tap shift `(kw - 1) * dil_w / stride_w`.
pub(crate) fn block_len(g: &ConvGeometry, block: usize) -> usize {
    g.out_w.div_ceil(block) * block + (g.kw - 1) * g.dilation[1] / g.stride[1]
}

impl<T: Copy> PaddedPlane<T> {
    /// A plane for `g` with `plen` values per phase row (at least [`block_len`]), filled with
    /// `pad_value`.
    pub(crate) fn new(g: &ConvGeometry, plen: usize, pad_value: T) -> Self {
        let rows = (g.out_h - 1) * g.stride[0] + (g.kh - 1) * g.dilation[0] + 1;
        let phases = g.stride[1];
        PaddedPlane {
            rows,
            phases,
            plen,
            data: vec![pad_value; rows * phases * plen],
        }
    }

    /// Copies channel `plane` (`[in_h, in_w]`) into the interior; the padding keeps its value
    /// because the interior positions are the same for every channel.
    pub(crate) fn fill(&mut self, g: &ConvGeometry, plane: &[T]) {
        let (s, pl) = (self.phases, g.pad[1]);
        let y_end = g.in_h.min(self.rows.saturating_sub(g.pad[0]));
        for q in 0..s {
            // Phase elements t with input column x = t*s + q - pl in [0, in_w); the same for
            // every row, so the divisions stay out of the row loop.
            let t0 = pl.saturating_sub(q).div_ceil(s);
            let t1 = (g.in_w + pl).saturating_sub(q).div_ceil(s).min(self.plen);
            if t0 >= t1 {
                continue;
            }
            let x0 = t0 * s + q - pl;
            for y in 0..y_end {
                let src = &plane[y * g.in_w + x0..(y + 1) * g.in_w];
                let r = y + g.pad[0];
                let dst = &mut self.data[(r * s + q) * self.plen..][t0..t1];
                gather(dst, src, s);
            }
        }
    }

    /// Where the kernels read: the offset of each tap's source for output (0, 0), in weight
    /// order (tap (u, v) reads padded row `u * dil_h`, phase `(v * dil_w) % s_w` at element
    /// `(v * dil_w) / s_w`), and the offset between consecutive output rows.
    pub(crate) fn taps(&self, g: &ConvGeometry) -> (Vec<usize>, usize) {
        let taps = (0..g.kh)
            .flat_map(|u| (0..g.kw).map(move |v| (u, v)))
            .map(|(u, v)| {
                let (q, col) = (
                    v * g.dilation[1] % g.stride[1],
                    v * g.dilation[1] / g.stride[1],
                );
                self.offset(u * g.dilation[0], q) + col
            })
            .collect();
        (taps, self.offset(g.stride[0], 0))
    }

    /// Offset in [`Self::data`] of phase `q` of padded row `r`. Every offset returned plus
    /// the phase length stays inside the data.
    #[inline(always)]
    pub(crate) fn offset(&self, r: usize, q: usize) -> usize {
        (r * self.phases + q) * self.plen
    }

    /// The padded rows, each `stride_w` phases of `plen` values.
    pub(crate) fn data(&self) -> &[T] {
        &self.data
    }

    /// Padded rows.
    #[cfg_attr(
        not(all(target_arch = "wasm32", target_feature = "simd128")),
        allow(dead_code)
    )]
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Values per phase.
    #[cfg_attr(
        not(all(target_arch = "wasm32", target_feature = "simd128")),
        allow(dead_code)
    )]
    pub(crate) fn plen(&self) -> usize {
        self.plen
    }
}
