//! SIMD128 int8 depthwise kernel over a *pair plane*: per channel, the padded int8 plane is
//! widened once into int16 pairs `(x[c], x[c + dil_w])` (one 32-bit element per pair, split
//! into column phases like the int8 plane), so that horizontally neighbouring taps `(u, v)` and
//! `(u, v + 1)` of 4 output columns are one unaligned 16-byte load and one
//! `i32x4.dot_i16x8_s` with the splatted weight pair `(w[u][v], w[u][v + 1])` (an odd last tap
//! pairs with weight 0). A tap pair then costs load + dot + add per 4 outputs, with no shuffles
//! or widening in the loop. Tiles of up to `TILE` blocks of 8 output columns (neighbouring
//! columns, or stacked rows for narrow outputs) are accumulated in registers, then stored
//! through the output stage. Integer sums are exact: the result equals the scalar kernel's.

use core::arch::wasm32::*;

use super::pad::pair_len;
use super::{ChannelArgs, BLOCK};
use crate::kernels::padded_plane::PaddedPlane;
use crate::kernels::qs8_requant::OutputStage;
use crate::kernels::ConvGeometry;

/// Most blocks of 8 output columns accumulated together (2 i32x4 accumulators each). The
/// kernel dispatches 1..=4 explicitly.
const TILE: usize = 4;

/// The per-call pair plane, reused across channels.
pub(super) struct PairPlane {
    /// For each pair phase: the int8 phase of the first column, the int8 phase of the second,
    /// and the second's element shift.
    src: Vec<(usize, usize, usize)>,
    /// Pairs per phase row (a multiple of 8).
    plen: usize,
    /// Padded rows.
    rows: usize,
    /// Offset of each tap pair's source for output (0, 0), row-major over `(u, v / 2)`.
    taps: Vec<usize>,
    /// The largest of `taps`.
    max_tap: usize,
    /// Offset between consecutive output rows.
    row_step: usize,
    /// The pairs, `[rows][pair phases][plen]`.
    data: Vec<i32>,
    /// This channel's splatted weight pairs, one per tap pair.
    wp: Vec<v128>,
    /// This channel's splatted bias: the sums start from it (the output stage takes biased
    /// sums).
    bias: v128,
    /// The input zero point (the padding).
    pad_value: i8,
}

/// The pair `(lo, hi)` as one 32-bit element (two i16 lanes).
#[inline(always)]
fn pair(lo: i8, hi: i8) -> i32 {
    i32::from(lo as i16 as u16) | (i32::from(hi) << 16)
}

/// Interleaves the 8 bytes at `a` and `b` and widens them to 8 pairs `(a[t], b[t])` at `dst`.
///
/// # Safety
/// `a` and `b` must have 8 readable bytes, `dst` 8 writable values.
#[inline(always)]
unsafe fn interleave8(a: *const i8, b: *const i8, dst: *mut i32) {
    // SAFETY: by the caller's contract; loads and stores accept unaligned pointers.
    unsafe {
        let va = v128_load64_zero(a.cast::<u64>());
        let vb = v128_load64_zero(b.cast::<u64>());
        let x = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(va, vb);
        let p = dst.cast::<v128>();
        v128_store(p, i16x8_extend_low_i8x16(x));
        v128_store(p.add(1), i16x8_extend_high_i8x16(x));
    }
}

impl PairPlane {
    /// The pair plane for `g`, whose int8 plane is `padded`.
    pub(super) fn new(g: &ConvGeometry, padded: &PaddedPlane<i8>, pad_value: i8) -> Self {
        let (s, d) = (g.stride[1], g.dilation[1]);
        let plen = pair_len(g, BLOCK);
        debug_assert!(plen + d <= padded.plen());
        // Pair (u, v) starts at padded column j*s + v*d: phase (v*d) % s, element j + v*d / s.
        let mut phases: Vec<usize> = Vec::new();
        let mut pairs = Vec::new();
        for u in 0..g.kh {
            for v in (0..g.kw).step_by(2) {
                let q = v * d % s;
                let k = match phases.iter().position(|&p| p == q) {
                    Some(k) => k,
                    None => {
                        phases.push(q);
                        phases.len() - 1
                    }
                };
                pairs.push((u * g.dilation[0], k, v * d / s));
            }
        }
        let np = phases.len();
        let taps: Vec<usize> = pairs
            .iter()
            .map(|&(r, k, t)| (r * np + k) * plen + t)
            .collect();
        let rows = padded.rows();
        PairPlane {
            src: phases
                .iter()
                .map(|&q| (q, (q + d) % s, (q + d) / s))
                .collect(),
            plen,
            rows,
            max_tap: taps.iter().copied().max().unwrap_or(0),
            taps,
            row_step: g.stride[0] * np * plen,
            // Padding pairs, written once: the direct fills only overwrite image values.
            data: vec![pair(pad_value, pad_value); rows * np * plen],
            pad_value,
            wp: Vec::with_capacity(g.kh * g.kw.div_ceil(2)),
            bias: i32x4_splat(0),
        }
    }

    /// Fills the pairs from channel `x` (`[in_h, in_w]`) and splats the channel's `kh * kw`
    /// weights `w` in pairs and its `bias`. Stride 1 and stride 2 (dilation 1 along w) read
    /// the input directly; other geometries go through the int8 plane `padded`.
    pub(super) fn fill(
        &mut self,
        g: &ConvGeometry,
        padded: &mut PaddedPlane<i8>,
        x: &[i8],
        (w, bias): (&[i8], i32),
    ) {
        self.bias = i32x4_splat(bias);
        self.wp.clear();
        for row in w.chunks_exact(g.kw) {
            for p in row.chunks(2) {
                self.wp
                    .push(i32x4_splat(pair(p[0], p.get(1).copied().unwrap_or(0))));
            }
        }
        let (s, d) = (g.stride[1], g.dilation[1]);
        if d == 1 && s <= 2 {
            debug_assert_eq!(self.src, [(0, 1 % s, 1 / s)]);
            self.fill_direct(g, x);
            return;
        }
        padded.fill(g, x);
        let (src, i8len) = (padded.data(), padded.plen());
        let np = self.src.len();
        let plen = self.plen;
        for r in 0..self.rows {
            for (k, &(qa, qb, shift)) in self.src.iter().enumerate() {
                let a = &src[padded.offset(r, qa)..][..plen];
                let b = &src[padded.offset(r, qb) + shift..][..plen];
                debug_assert!(shift + plen <= i8len);
                let dst = &mut self.data[(r * np + k) * plen..][..plen];
                for ((a, b), dst) in a
                    .chunks_exact(8)
                    .zip(b.chunks_exact(8))
                    .zip(dst.chunks_exact_mut(8))
                {
                    // SAFETY: every chunk has exactly 8 values (chunks_exact; plen is a
                    // multiple of 8).
                    unsafe { interleave8(a.as_ptr(), b.as_ptr(), dst.as_mut_ptr()) };
                }
            }
        }
    }

    /// [`Self::fill`] for dilation 1 along w and stride 1 or 2 (one pair phase): only the
    /// image's values are written, the padding stays from [`Self::new`].
    fn fill_direct(&mut self, g: &ConvGeometry, x: &[i8]) {
        let (s, pl, w) = (g.stride[1], g.pad[1], g.in_w);
        let plen = self.plen;
        let y_end = g.in_h.min(self.rows.saturating_sub(g.pad[0]));
        let pad = self.pad_value;
        // Padded column c (pad outside the image).
        let xp = |row: &[i8], c: usize| {
            c.checked_sub(pl)
                .and_then(|i| row.get(i).copied())
                .unwrap_or(pad)
        };
        for y in 0..y_end {
            let row = &x[y * w..][..w];
            let dst = &mut self.data[(y + g.pad[0]) * plen..][..plen];
            if s == 1 {
                // Pair t = (xp[t], xp[t + 1]): image pairs t in [pl, pl + w - 1) interleave
                // row[i] and row[i + 1]; the two pairs straddling the edges are mixed.
                let n = (w - 1).min(plen.saturating_sub(pl));
                let dst_in = &mut dst[pl.min(plen)..];
                let mut i = 0;
                while i + 8 <= n {
                    // SAFETY: i + 9 <= n + 1 <= w bytes of `row`; i + 8 <= n <= dst_in.len().
                    unsafe {
                        interleave8(
                            row.as_ptr().add(i),
                            row.as_ptr().add(i + 1),
                            dst_in.as_mut_ptr().add(i),
                        )
                    };
                    i += 8;
                }
                if i < n && n >= 8 {
                    // The last 8, overlapping (the same values again).
                    let i = n - 8;
                    // SAFETY: as above.
                    unsafe {
                        interleave8(
                            row.as_ptr().add(i),
                            row.as_ptr().add(i + 1),
                            dst_in.as_mut_ptr().add(i),
                        )
                    };
                } else {
                    for i in i..n {
                        dst_in[i] = pair(row[i], row[i + 1]);
                    }
                }
                for t in [pl.wrapping_sub(1), pl + w - 1] {
                    if t < plen {
                        dst[t] = pair(xp(row, t), xp(row, t + 1));
                    }
                }
            } else {
                // Pair t = (xp[2t], xp[2t + 1]): as i16 lanes, the padded row itself.
                // SAFETY: `dst` is `plen` i32 values, so 2 * plen i16 values.
                let d16: &mut [i16] = unsafe {
                    core::slice::from_raw_parts_mut(dst.as_mut_ptr().cast::<i16>(), 2 * plen)
                };
                let n = w.min((2 * plen).saturating_sub(pl));
                let d16 = &mut d16[pl.min(2 * plen)..];
                let widen8 = |d16: &mut [i16], i: usize| {
                    let d = &mut d16[i..][..8];
                    let r = &row[i..][..8];
                    // SAFETY: 8 bytes read, 8 i16 written (sliced above); unaligned is fine.
                    unsafe {
                        let v = i16x8_extend_low_i8x16(v128_load64_zero(r.as_ptr().cast::<u64>()));
                        v128_store(d.as_mut_ptr().cast::<v128>(), v);
                    }
                };
                let mut i = 0;
                while i + 8 <= n {
                    widen8(d16, i);
                    i += 8;
                }
                if i < n && n >= 8 {
                    widen8(d16, n - 8);
                } else {
                    for i in i..n {
                        d16[i] = i16::from(row[i]);
                    }
                }
            }
        }
    }
}

/// A channel's prepared plane, from which [`dwconv_rows`] computes tiles of output blocks:
/// the pair plane here, the relaxed-SIMD byte plane in `usdot.rs`.
pub(super) trait Tiles {
    /// `N` blocks of 8 output columns, block `n` at output row `at[n].0`, column `at[n].1`:
    /// `acc[n][h]` holds lanes `4h..4h+4` of block `n`, sums that start from the channel's
    /// bias.
    fn tile<const N: usize>(&self, at: [(usize, usize); N]) -> [[v128; 2]; N];

    /// Whether full tiles inline their output stage ([`store`]): only the build's main
    /// kernel, since each inlined copy is wasm size.
    const INLINE_STORES: bool;
}

impl Tiles for PairPlane {
    /// Not in the relaxed-SIMD build, where this kernel is only the fallback of engines
    /// without an exact relaxed dot.
    const INLINE_STORES: bool = cfg!(not(target_feature = "relaxed-simd"));

    #[inline(always)]
    fn tile<const N: usize>(&self, at: [(usize, usize); N]) -> [[v128; 2]; N] {
        tile(self, at.map(|(i, j)| i * self.row_step + j))
    }
}

/// `N` blocks of 8 output columns, block `n` reading the pair plane from `bases[n]`.
#[inline(always)]
fn tile<const N: usize>(pp: &PairPlane, bases: [usize; N]) -> [[v128; 2]; N] {
    // One bounds check for every load below (each tap offset is at most `max_tap`); the
    // plane's padding guarantees it passes.
    let hi = bases.iter().copied().max().unwrap_or(0);
    assert!(
        hi + pp.max_tap + BLOCK <= pp.data.len(),
        "qs8_dwconv_simd128: block outside the pair plane"
    );
    // 3x3 filters get a constant tap-pair count (6), so the tap loop unrolls with no counter
    // or per-tap bounds checks. 5x5 (15) had one too, which measured no faster than the loop
    // (Lite0's 5x5 layers in `bench_qs8_dwconv_lite0_wasm`) and cost 2 KB of gzipped wasm.
    match pp.taps.len() {
        6 => tile_taps::<N, 6>(pp, bases),
        _ => tile_taps::<N, 0>(pp, bases),
    }
}

/// [`tile`] over `T` tap pairs (`T == 0`: however many the plane has).
#[inline(always)]
fn tile_taps<const N: usize, const T: usize>(pp: &PairPlane, bases: [usize; N]) -> [[v128; 2]; N] {
    let (taps, wps) = if T == 0 {
        (&pp.taps[..], &pp.wp[..])
    } else {
        (&pp.taps[..T], &pp.wp[..T])
    };
    let p = pp.data.as_ptr();
    let mut acc = [[pp.bias; 2]; N];
    for (&off, &wp) in taps.iter().zip(wps) {
        for (acc_n, &base) in acc.iter_mut().zip(&bases) {
            // SAFETY: base + off + 8 <= data.len() (asserted above); v128_load accepts
            // unaligned pointers.
            let (x0, x1) = unsafe {
                let q = p.add(base + off);
                (
                    v128_load(q.cast::<v128>()),
                    v128_load(q.add(4).cast::<v128>()),
                )
            };
            acc_n[0] = i32x4_add(acc_n[0], i32x4_dot_i16x8(x0, wp));
            acc_n[1] = i32x4_add(acc_n[1], i32x4_dot_i16x8(x1, wp));
        }
    }
    acc
}

/// `N` neighbouring blocks of output row `i` from column `j0`.
#[inline(always)]
fn along<S: OutputStage, P: Tiles, const N: usize>(
    a: &ChannelArgs,
    pp: &P,
    row: &S::Simd128Row,
    i: usize,
    j0: usize,
    out: &mut [S::Out],
) {
    let acc = pp.tile::<N>(core::array::from_fn(|n| (i, j0 + n * BLOCK)));
    let at: [usize; N] = core::array::from_fn(|n| i * a.out_w + j0 + n * BLOCK);
    store::<S, P, N>(row, &acc, &at, out);
}

/// Stores each block `acc[n]` at `out[at[n]..]` (`out`: the channel's plane), 8 values at
/// once: a block running past its row's end spills into the next row, which a later store
/// rewrites (rows, and blocks within a row, are stored in increasing order); only the plane's
/// end cuts a block short.
///
/// Inlined into the full tiles of the build's main kernel ([`Tiles::INLINE_STORES`]; tiles of
/// [`TILE`] blocks hold most outputs): there the accumulators go from registers straight into
/// the output stage, not through memory into a call (Lite0's 16 depthwise layers 1.61 -> 1.43
/// ms in the kernel benchmark). Other tiles call one shared copy: inlining every tile shape of
/// both kernels was 1.34 ms but 8 KB more wasm, past the 500 KB budget of the relaxed-SIMD
/// builds.
#[inline(always)]
fn store<S: OutputStage, P: Tiles, const N: usize>(
    row: &S::Simd128Row,
    acc: &[[v128; 2]; N],
    at: &[usize; N],
    out: &mut [S::Out],
) {
    const { assert!(BLOCK == 8) };
    if N == TILE && P::INLINE_STORES {
        S::store_blocks_simd128(row, acc, at, out);
    } else {
        store_narrow::<S>(row, acc, at, out);
    }
}

/// [`store`] where it is not inlined (narrower tiles, the fallback kernel): one copy per stage.
#[inline(never)]
fn store_narrow<S: OutputStage>(
    row: &S::Simd128Row,
    acc: &[[v128; 2]],
    at: &[usize],
    out: &mut [S::Out],
) {
    S::store_blocks_simd128(row, acc, at, out);
}

/// Rows `i0..i0 + R` of an output at most `NB` blocks wide (`R * NB` blocks at once).
#[inline(always)]
fn stacked<S: OutputStage, P: Tiles, const R: usize, const NB: usize, const N: usize>(
    a: &ChannelArgs,
    pp: &P,
    row: &S::Simd128Row,
    i0: usize,
    out: &mut [S::Out],
) {
    const { assert!(R * NB == N) };
    let acc = pp.tile::<N>(core::array::from_fn(|n| (i0 + n / NB, (n % NB) * BLOCK)));
    let at: [usize; N] = core::array::from_fn(|n| (i0 + n / NB) * a.out_w + (n % NB) * BLOCK);
    store::<S, P, N>(row, &acc, &at, out);
}

/// Computes one channel's `[out_h, out_w]` output from its filled plane.
pub(super) fn dwconv_rows<S: OutputStage, P: Tiles>(
    a: &ChannelArgs,
    stage: &S,
    pp: &P,
    out: &mut [S::Out],
) {
    let row = stage.simd128_row8(a.channel);
    let nb = a.out_w.div_ceil(BLOCK);
    match nb {
        1 => {
            // Narrow (late) layers: stack rows instead of columns.
            let mut i0 = 0;
            while i0 < a.out_h {
                let n = TILE.min(a.out_h - i0);
                match n {
                    4 => stacked::<S, P, 4, 1, 4>(a, pp, &row, i0, out),
                    3 => stacked::<S, P, 3, 1, 3>(a, pp, &row, i0, out),
                    2 => stacked::<S, P, 2, 1, 2>(a, pp, &row, i0, out),
                    _ => stacked::<S, P, 1, 1, 1>(a, pp, &row, i0, out),
                }
                i0 += n;
            }
        }
        2 => {
            let mut i0 = 0;
            while i0 < a.out_h {
                if a.out_h - i0 >= 2 {
                    stacked::<S, P, 2, 2, 4>(a, pp, &row, i0, out);
                    i0 += 2;
                } else {
                    stacked::<S, P, 1, 2, 2>(a, pp, &row, i0, out);
                    i0 += 1;
                }
            }
        }
        _ => {
            for i in 0..a.out_h {
                // Full tiles, then one narrower tile for the 1..TILE-1 blocks left.
                let mut j0 = 0;
                while j0 < a.out_w {
                    let n = (nb - j0 / BLOCK).min(TILE);
                    match n {
                        4 => along::<S, P, 4>(a, pp, &row, i, j0, out),
                        3 => along::<S, P, 3>(a, pp, &row, i, j0, out),
                        2 => along::<S, P, 2>(a, pp, &row, i, j0, out),
                        _ => along::<S, P, 1>(a, pp, &row, i, j0, out),
                    }
                    j0 += n * BLOCK;
                }
            }
        }
    }
}
