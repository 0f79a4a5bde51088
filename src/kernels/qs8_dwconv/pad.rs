//! The padded, column-phase-split copy of one int8 channel plane that lets the depthwise
//! kernels run without any bounds checks: the layout of `f32_dwconv`'s plane, with the padding
//! holding the input zero point instead of zero.
//!
//! Padded row `r` holds input row `r - pad_top`. Its columns are split into `stride_w` phases:
//! phase `q`, element `t` is padded column `t * stride_w + q` (input column
//! `t * stride_w + q - pad_left`). Output column `j`, tap `v` then reads phase
//! `(v * dil_w) % stride_w` at `j + (v * dil_w) / stride_w`: contiguous in `j` for any stride,
//! so the kernels vectorise across output columns.

use crate::kernels::{gather, ConvGeometry};

/// Padded, phase-split plane (reused across channels; the padding is written once).
pub(super) struct PaddedPlane {
    /// Padded rows the output reads.
    rows: usize,
    /// Phases per row (= stride along w).
    phases: usize,
    /// Values per phase: `block_ceil(out_w) + max tap offset`, so full-block loads stay inside.
    plen: usize,
    data: Vec<i8>,
}

impl PaddedPlane {
    /// A plane for `g` filled with `pad_value`, whose kernels compute output columns in blocks
    /// of `block`.
    pub(super) fn new(g: &ConvGeometry, block: usize, pad_value: i8) -> Self {
        let rows = (g.out_h - 1) * g.stride[0] + (g.kh - 1) * g.dilation[0] + 1;
        let phases = g.stride[1];
        // Room for the SIMD128 kernel's pair plane too (`pair_len` pairs of columns
        // `(c, c + dil_w)`: up to `dil_w` columns further).
        let plen = pair_len(g, block) + g.dilation[1];
        PaddedPlane {
            rows,
            phases,
            plen,
            data: vec![pad_value; rows * phases * plen],
        }
    }

    /// Copies channel `plane` (`[in_h, in_w]`) into the interior; the padding keeps its value
    /// because the interior positions are the same for every channel.
    pub(super) fn fill(&mut self, g: &ConvGeometry, plane: &[i8]) {
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

    /// Offset in [`Self::data`] of phase `q` of padded row `r`. Every offset returned plus
    /// the phase length stays inside the data.
    #[inline(always)]
    pub(super) fn offset(&self, r: usize, q: usize) -> usize {
        (r * self.phases + q) * self.plen
    }

    /// The padded rows, each `stride_w` phases of `plen` values.
    pub(super) fn data(&self) -> &[i8] {
        &self.data
    }

    /// Padded rows.
    #[cfg_attr(
        not(all(target_arch = "wasm32", target_feature = "simd128")),
        allow(dead_code)
    )]
    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    /// Values per phase.
    #[cfg_attr(
        not(all(target_arch = "wasm32", target_feature = "simd128")),
        allow(dead_code)
    )]
    pub(super) fn plen(&self) -> usize {
        self.plen
    }
}

/// Elements per phase row of a plane read in blocks of `block` output columns: the rounded-up
/// output width plus the largest tap shift `(kw - 1) * dil_w / stride_w`, rounded up to 8.
pub(super) fn pair_len(g: &ConvGeometry, block: usize) -> usize {
    (g.out_w.div_ceil(block) * block + (g.kw - 1) * g.dilation[1] / g.stride[1]).div_ceil(8) * 8
}
