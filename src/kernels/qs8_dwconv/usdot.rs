//! Relaxed-SIMD int8 depthwise kernel (usdot): one `i32x4.relaxed_dot_i8x16_i7x16_add_s`
//! adds four taps of a filter row to four output columns, the add included.
//!
//! Per channel, the input is copied once into a padded *byte plane* of `x + 128` (u8, the
//! dot's second operand; the padding holds the input zero point's byte). For a block of 4
//! output columns and filter row `u`, one 16-byte load from the plane holds every tap the 4
//! columns read (`3 * stride_w + (kw - 1) * dil_w <= 15`, [`covers`]); an
//! `i8x16.relaxed_swizzle` (indices below 16, where it is defined) gathers each column's taps
//! `4t..4t + 4` into its lane, and the dot multiplies them by the splatted int8 weights
//! (taps past `kw` get weight 0). A 3x3 filter costs 3 loads, 3 swizzles and 3 dots per 4
//! outputs where the pair plane's kernel (`simd128.rs`) spends 18 instructions, and the plane
//! is one byte per input value instead of four.
//!
//! The sums start from `bias - 128 * sum(w)`, so they equal the other kernels'
//! `bias + sum w x` exactly (wrapping int32): bit-identical results wherever the engine
//! computes the dot exactly ([`usdot_exact`](crate::kernels::qs8_gemm::usdot_exact)).

use core::arch::wasm32::*;
use std::cell::Cell;

use super::simd128::Tiles;
use super::BLOCK;
use crate::kernels::qs8_gemm::to_u8;
use crate::kernels::qs8_requant::to_v128;
use crate::kernels::ConvGeometry;

/// Bytes one load brings.
const LOAD: usize = 16;

/// Whether the kernel computes `g`: one load per 4 output columns and filter row reaches
/// every tap they read.
pub(super) fn covers(g: &ConvGeometry) -> bool {
    // At most 2 quads of taps per filter row (the kernel's cases; wider filters are rare and
    // a third case cost 2 KB of gzipped wasm).
    (1..=8).contains(&g.kw) && 3 * g.stride[1] + (g.kw - 1) * g.dilation[1] < LOAD
}

/// A layer's filters as the kernel reads them, prepared once: each channel's taps in quads
/// (`[kh][quads]`, little-endian u32 of 4 int8 weights, taps past `kw` 0) and
/// `128 * sum(w)`.
#[derive(Clone, Debug)]
pub(super) struct Filters {
    quads: Vec<u32>,
    sums: Vec<i32>,
    /// Quads per channel.
    per_channel: usize,
}

impl Filters {
    /// The filters `weights [channels, kh, kw]` of `g`.
    pub(super) fn new(g: &ConvGeometry, weights: &[i8]) -> Self {
        let taps = g.kh * g.kw;
        let quads = weights
            .chunks_exact(g.kw.max(1))
            .flat_map(|row| row.chunks(4))
            .map(|quad| {
                u32::from_le_bytes(core::array::from_fn(|i| {
                    quad.get(i).map_or(0, |&v| v as u8)
                }))
            })
            .collect();
        let sums = weights
            .chunks_exact(taps.max(1))
            .map(|w| 128 * w.iter().map(|&v| i32::from(v)).sum::<i32>())
            .collect();
        Filters {
            quads,
            sums,
            per_channel: g.kh * g.kw.div_ceil(4),
        }
    }

    /// Channel `c`'s quads and the value its sums start from (`bias - 128 * sum(w)`).
    pub(super) fn channel(&self, c: usize, bias: i32) -> (&[u32], i32) {
        (
            &self.quads[c * self.per_channel..][..self.per_channel],
            bias.wrapping_sub(self.sums[c]),
        )
    }
}

/// A [`BytePlane`]'s buffers: data, filter rows, swizzles, weights.
type PlaneBuffers = (Vec<u8>, Vec<usize>, Vec<v128>, Vec<v128>);

thread_local! {
    /// The buffers of this thread's last [`BytePlane`], for its next.
    static SPARE: Cell<Option<PlaneBuffers>> = const { Cell::new(None) };
}

impl Drop for BytePlane {
    fn drop(&mut self) {
        let buffers = (
            core::mem::take(&mut self.data),
            core::mem::take(&mut self.filter_rows),
            core::mem::take(&mut self.swizzles),
            core::mem::take(&mut self.weights),
        );
        SPARE.with(|spare| spare.set(Some(buffers)));
    }
}

/// The per-call byte plane, reused across channels (its buffers then by the thread's next
/// plane).
pub(super) struct BytePlane {
    /// Padded rows of `x + 128`, `width` bytes each (plus one load of slack).
    data: Vec<u8>,
    /// Bytes per padded row.
    width: usize,
    /// Padded rows.
    rows: usize,
    /// Plane offset between output columns (`stride_w`) and output rows (`stride_h` rows).
    col_step: usize,
    row_step: usize,
    /// Plane offset of each filter row `u` (`u * dil_h` rows).
    filter_rows: Vec<usize>,
    /// Swizzle indices per tap quad `t`: lane `l`, byte `b` reads column `l * stride_w +
    /// (4t + b) * dil_w` of the load (a valid index with weight 0 past `kw`).
    swizzles: Vec<v128>,
    /// This channel's weight quads, splatted, `[kh][quads]`.
    weights: Vec<v128>,
    /// This channel's starting sums: `bias - 128 * sum(w)`.
    init: v128,
    /// The padding's byte.
    pad: u8,
}

impl BytePlane {
    /// The byte plane for `g` (which the kernel [`covers`]), padded with `pad_value`.
    pub(super) fn new(g: &ConvGeometry, pad_value: i8) -> Self {
        assert!(covers(g), "qs8_dwconv usdot: {g:?} is not covered");
        let (s, d, kw) = (g.stride[1], g.dilation[1], g.kw);
        let rows = (g.out_h - 1) * g.stride[0] + (g.kh - 1) * g.dilation[0] + 1;
        // The last block's second load starts at column (blocks * 8 - 4) * s.
        let width = g.out_w.div_ceil(BLOCK) * BLOCK * s + LOAD;
        let quads = kw.div_ceil(4);
        // This thread's buffers of its last plane: a model run makes one plane per depthwise
        // part (128 in EfficientNet-Lite0 at 2 threads), otherwise four allocations each.
        let (mut data, mut filter_rows, mut swizzles, mut weights) =
            SPARE.with(|spare| spare.take()).unwrap_or_default();
        data.clear();
        data.resize(rows * width + LOAD, to_u8(pad_value));
        filter_rows.clear();
        filter_rows.extend((0..g.kh).map(|u| u * g.dilation[0] * width));
        swizzles.clear();
        swizzles.extend((0..quads).map(|t| {
            let idx: [u8; 16] = core::array::from_fn(|i| {
                let (l, v) = (i / 4, 4 * t + i % 4);
                (l * s + if v < kw { v * d } else { 0 }) as u8
            });
            to_v128(idx)
        }));
        weights.clear();
        BytePlane {
            data,
            width,
            rows,
            col_step: s,
            row_step: g.stride[0] * width,
            filter_rows,
            swizzles,
            weights,
            init: i32x4_splat(0),
            pad: to_u8(pad_value),
        }
    }

    /// Copies the channel plane at the start of `x` (`[in_h, in_w]`, then whatever follows
    /// it: the next channels, which let whole 16-value loads read the last row) into the
    /// byte plane as `x + 128`, and splats the channel's weight quads; its sums start from
    /// `init` ([`Filters::channel`]).
    pub(super) fn fill(&mut self, g: &ConvGeometry, x: &[i8], (quads, init): (&[u32], i32)) {
        self.init = i32x4_splat(init);
        self.weights.clear();
        self.weights.extend(quads.iter().map(|&q| u32x4_splat(q)));
        let (top, left) = (g.pad[0], g.pad[1]);
        let n = g.in_w.min(self.width.saturating_sub(left));
        let rows = g.in_h.min(self.rows.saturating_sub(top));
        if rows == 0 || n == 0 {
            return;
        }
        let (pad, flip) = (u8x16_splat(self.pad), u8x16_splat(0x80));
        let lanes = i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        let keep_last = i8x16_gt(i8x16_splat((n % LOAD) as i8), lanes);
        let (full, stored) = (n / LOAD * LOAD, n.next_multiple_of(LOAD));
        // One bounds check for all rows (instead of a few per row, which for the 7x7 and
        // 14x14 layers cost as much as the copies): every row stores `stored` bytes, and reads
        // them too where the input has them.
        let first = top * self.width + left;
        assert!(
            first + (rows - 1) * self.width + stored <= self.data.len(),
            "qs8_dwconv usdot: rows outside the byte plane"
        );
        let whole_loads = x.len() >= (rows - 1) * g.in_w + stored;
        let (sp, dp) = (x.as_ptr(), self.data.as_mut_ptr());
        for y in 0..rows {
            if !whole_loads && y * g.in_w + stored > x.len() {
                // The plane's last values: too few to load 16.
                let dst = &mut self.data[first + y * self.width..][..n];
                for (d, &v) in dst.iter_mut().zip(&x[y * g.in_w..][..n]) {
                    *d = to_u8(v);
                }
                continue;
            }
            // SAFETY: `stored` bytes from `y * in_w` are in `x` (whole_loads, or tested just
            // above) and from `first + y * width` in the plane (asserted above); loads and
            // stores accept unaligned pointers.
            unsafe {
                let (src, dst) = (sp.add(y * g.in_w), dp.add(first + y * self.width));
                let mut c = 0;
                while c < full {
                    let v = v128_load(src.add(c).cast::<v128>());
                    v128_store(dst.add(c).cast::<v128>(), v128_xor(v, flip));
                    c += LOAD;
                }
                if full < n {
                    // The last partial chunk stores the padding value past the row, over
                    // the next row's left padding and values, which later rows rewrite (rows
                    // go in increasing order; the data ends one load past the last row).
                    let v = v128_xor(v128_load(src.add(full).cast::<v128>()), flip);
                    v128_store(
                        dst.add(full).cast::<v128>(),
                        v128_bitselect(v, pad, keep_last),
                    );
                }
            }
        }
    }

    /// [`Tiles::tile`] with `Q` tap quads per filter row.
    #[inline(always)]
    fn tile_quads<const N: usize, const Q: usize>(&self, bases: [usize; N]) -> [[v128; 2]; N] {
        let kh = self.filter_rows.len();
        assert!(
            self.weights.len() == kh * Q,
            "qs8_dwconv usdot: {kh} filter rows of {Q} quads"
        );
        // One bounds check for every load below; the plane's size guarantees it passes.
        let hi = bases.iter().copied().max().unwrap_or(0) + self.filter_rows[kh - 1];
        assert!(
            hi + 4 * self.col_step + LOAD <= self.data.len(),
            "qs8_dwconv usdot: block outside the byte plane"
        );
        let swizzles: [v128; Q] = core::array::from_fn(|t| self.swizzles[t]);
        let half = 4 * self.col_step;
        let p = self.data.as_ptr();
        let mut acc = [[self.init; 2]; N];
        for (&row, w) in self.filter_rows.iter().zip(self.weights.chunks_exact(Q)) {
            for (acc_n, &base) in acc.iter_mut().zip(&bases) {
                for (h, acc_h) in acc_n.iter_mut().enumerate() {
                    // SAFETY: base + row + h * half + 16 <= data.len() (asserted above);
                    // v128_load accepts unaligned pointers.
                    let x = unsafe { v128_load(p.add(base + row + h * half).cast::<v128>()) };
                    for (&wq, &sw) in w.iter().zip(&swizzles) {
                        *acc_h = i32x4_relaxed_dot_i8x16_i7x16_add(
                            wq,
                            i8x16_relaxed_swizzle(x, sw),
                            *acc_h,
                        );
                    }
                }
            }
        }
        acc
    }
}

impl Tiles for BytePlane {
    const INLINE_STORES: bool = true;

    #[inline(always)]
    fn tile<const N: usize>(&self, at: [(usize, usize); N]) -> [[v128; 2]; N] {
        let bases = at.map(|(i, j)| i * self.row_step + j * self.col_step);
        // A constant quad count unrolls a filter row's taps. The filter rows stay a loop:
        // unrolled for 3x3 and 5x5 they were slower (Lite0's depthwise layers 2.1 ms, against
        // 1.7 as a loop) and larger.
        match self.swizzles.len() {
            1 => self.tile_quads::<N, 1>(bases),
            _ => self.tile_quads::<N, 2>(bases),
        }
    }
}
