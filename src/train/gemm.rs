//! The training engine's matrix products: a blocked GEMM on the crate's f32 microkernels
//! whose operands may be transposed views ([`Mat::t`]), so `dY X^T` and `W^T dY` are packed
//! straight from the stored matrices instead of materialising a transpose first.
//!
//! The blocking and the split of C across rayon's pool are the inference GEMM's
//! ([`crate::kernels::gemm_rows`]): every element is reduced in `KC` blocks from k = 0 whatever
//! the split, so results are bit-for-bit the same with and without the `threads` feature.

use super::par::{with_scratch, SCRATCH_A, SCRATCH_B};
#[cfg(not(feature = "threads"))]
use crate::kernels::gemm_rows::Dense;
use crate::kernels::gemm_rows::{for_each_block, BBlock, OutRows};
#[cfg(feature = "threads")]
use crate::kernels::gemm_rows::{pack_blocks, par_tiles};
use std::ops::Range;

#[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
use crate::kernels::f32_gemm::f32_gemm_4x8_scalar as ukernel;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use crate::kernels::f32_gemm::f32_gemm_4x8_simd128 as ukernel;
#[cfg(not(target_arch = "wasm32"))]
use crate::kernels::f32_gemm::f32_gemm_6x16_scalar as ukernel;

/// Tile rows of the microkernel (6x16 natively, 4x8 on wasm32).
#[cfg(not(target_arch = "wasm32"))]
const MR: usize = 6;
/// Tile columns of the microkernel.
#[cfg(not(target_arch = "wasm32"))]
const NR: usize = 16;
#[cfg(target_arch = "wasm32")]
const MR: usize = 4;
#[cfg(target_arch = "wasm32")]
const NR: usize = 8;

/// Reduction block: a `KC x NR` B panel stays in L1.
const KC: usize = 256;
/// Values in one packed B block: it stays in L2 while the A panels stream past.
const B_BLOCK: usize = 128 * 1024;

/// A read-only matrix view: element `(r, c)` at `data[r * rs + c * cs]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mat<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> Mat<'a> {
    /// Row-major `[rows, cols]`.
    pub(crate) fn new(data: &'a [f32], rows: usize, cols: usize) -> Mat<'a> {
        assert_eq!(data.len(), rows * cols, "Mat: {} values", data.len());
        Mat {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose (same values, nothing moved).
    pub(crate) fn t(self) -> Mat<'a> {
        Mat {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    #[inline(always)]
    fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.rs + c * self.cs]
    }
}

/// `c = a b (+ bias[row])`, `c` row-major `[a.rows, b.cols]`, overwritten.
pub(crate) fn gemm(a: Mat, b: Mat, c: &mut [f32], bias: Option<&[f32]>) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm: inner extents {k} and {}", b.rows);
    assert_eq!(c.len(), m * n, "gemm: c has {} values for {m}x{n}", c.len());
    if let Some(bias) = bias {
        assert!(bias.len() >= m, "gemm: {} biases for {m} rows", bias.len());
    }
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for (i, row) in c.chunks_exact_mut(n).enumerate() {
            row.fill(bias.map_or(0.0, |b| b[i]));
        }
        return;
    }
    with_scratch(&SCRATCH_A, |apack| {
        pack_a(a, apack);
        let ap = &apack[..];
        #[cfg(feature = "threads")]
        par_tiles(
            c,
            (m, n, k),
            (MR, NR),
            &super::par::SCRATCH_ALL,
            |all| {
                pack_blocks(all, 0..n, k, NR, (nc_max(k), KC), |blk, dst| {
                    pack_b(b, blk, dst)
                })
            },
            |rows, cols, out, packed| driver(ap, b, (rows, cols), out, packed, bias),
        );
        #[cfg(not(feature = "threads"))]
        driver(ap, b, (0..m, 0..n), &mut Dense { c, ldc: n }, None, bias);
    });
}

/// `a` into `ceil(m / MR)` panels of `k x MR` values, k-major, rows past `m` zero.
fn pack_a(a: Mat, dst: &mut Vec<f32>) {
    let (m, k) = (a.rows, a.cols);
    dst.resize(m.div_ceil(MR) * k * MR, 0.0);
    let pack_panel = |pi: usize, panel: &mut [f32]| {
        let rows = MR.min(m - pi * MR);
        for (p, out) in panel.chunks_exact_mut(MR).enumerate() {
            for (r, o) in out.iter_mut().enumerate() {
                *o = if r < rows { a.at(pi * MR + r, p) } else { 0.0 };
            }
        }
    };
    super::par::map_chunks(dst, k * MR, pack_panel);
}

/// The block `b[pc..pc + kc, jc..jc + nc]` into `ceil(nc / NR)` panels of `kc x NR` values,
/// columns past `nc` zero: row copies from a row-major `b`, column runs from a transposed one.
fn pack_b(b: Mat, blk: &BBlock, dst: &mut [f32]) {
    let (pc, kc) = (blk.pc, blk.kc);
    for (jp, panel) in dst
        .chunks_exact_mut(kc * NR)
        .take(blk.nc.div_ceil(NR))
        .enumerate()
    {
        let j0 = blk.jc + jp * NR;
        let w = NR.min(blk.jc + blk.nc - j0);
        if b.cs == 1 {
            for (p, out) in panel.chunks_exact_mut(NR).enumerate() {
                let src = &b.data[(pc + p) * b.rs + j0..][..w];
                match (
                    <&mut [f32; NR]>::try_from(&mut *out),
                    <&[f32; NR]>::try_from(src),
                ) {
                    // A constant length: inline vector moves, not a memmove call per panel row.
                    (Ok(out), Ok(src)) => *out = *src,
                    _ => {
                        out[..w].copy_from_slice(src);
                        out[w..].fill(0.0);
                    }
                }
            }
        } else {
            // Column j of the panel is a run of b's storage when b is a transpose (rs == 1).
            for j in 0..NR {
                let rows = panel.chunks_exact_mut(NR);
                if j >= w {
                    rows.for_each(|out| out[j] = 0.0);
                } else if b.rs == 1 {
                    let run = &b.data[(j0 + j) * b.cs + pc..][..kc];
                    rows.zip(run).for_each(|(out, &v)| out[j] = v);
                } else {
                    for (p, out) in rows.enumerate() {
                        out[j] = b.at(pc + p, j0 + j);
                    }
                }
            }
        }
    }
}

/// Columns of a B block for reduction length `k` (shorter reductions, wider blocks).
fn nc_max(k: usize) -> usize {
    (B_BLOCK / k.min(KC)).div_ceil(NR) * NR
}

/// The rows and columns `range` of C (rows from a multiple of `MR`) through the shared
/// blocking, storing each tile as it comes (bias on the last k block); B's blocks from
/// `packed` when given (all of them, `pack_blocks`).
fn driver(
    ap: &[f32],
    b: Mat,
    (rows, cols): (Range<usize>, Range<usize>),
    out: &mut impl OutRows<f32>,
    packed: Option<&[f32]>,
    bias: Option<&[f32]>,
) {
    let k = b.rows;
    let (first_col, row_end) = (cols.start, rows.end);
    with_scratch(&SCRATCH_B, |bpack| {
        for_each_block(
            bpack,
            packed,
            (rows, cols),
            k,
            (MR, NR),
            (nc_max(k), KC),
            |blk, dst| pack_b(b, blk, dst),
            |blk, _| (blk.first(), blk.pc + blk.kc == k),
            |blk, &(first, last), ir, bpack| {
                let (kc, nc) = (blk.kc, blk.nc);
                let a_panel = &ap[((ir / MR) * k + blk.pc) * MR..][..kc * MR];
                for jr in (0..nc).step_by(NR) {
                    let acc = ukernel(a_panel, &bpack[jr * kc..][..kc * NR]);
                    let (col0, width) = (blk.jc - first_col + jr, NR.min(nc - jr));
                    for (r, acc) in acc.iter().enumerate().take(MR.min(row_end - ir)) {
                        let add = match (last, bias) {
                            (true, Some(bias)) => bias[ir + r],
                            _ => 0.0,
                        };
                        let dst = &mut out.row(ir + r)[col0..][..width];
                        if let Ok(full) = <&mut [f32; NR]>::try_from(&mut *dst) {
                            // A constant length: unrolled vector code.
                            store_row(full, acc, first, add);
                        } else {
                            store_row(dst, &acc[..width], first, add);
                        }
                    }
                }
            },
        );
    });
}

/// `dst = src + add` on the first k block, `dst += src + add` after.
#[inline(always)]
fn store_row(dst: &mut [f32], src: &[f32], first: bool, add: f32) {
    if first {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s + add;
        }
    } else {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d += s + add;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{gemm, Mat};

    /// Every transpose combination and bias against a naive product, on sizes with ragged
    /// tiles and several k blocks.
    #[test]
    fn gemm_matches_naive_with_transposed_operands() {
        let (m, k, n) = (13, 300, 37);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 5) % 13) as f32 - 6.0).collect();
        let bias: Vec<f32> = (0..m).map(|i| i as f32).collect();
        let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let want: Vec<f32> = (0..m * n)
            .map(|i| {
                (0..k)
                    .map(|p| a[i / n * k + p] * b[p * n + i % n])
                    .sum::<f32>()
                    + bias[i / n]
            })
            .collect();
        let views = [
            (Mat::new(&a, m, k), Mat::new(&b, k, n)),
            (Mat::new(&at, k, m).t(), Mat::new(&b, k, n)),
            (Mat::new(&a, m, k), Mat::new(&bt, n, k).t()),
            (Mat::new(&at, k, m).t(), Mat::new(&bt, n, k).t()),
        ];
        for (va, vb) in views {
            let mut c = vec![f32::NAN; m * n];
            gemm(va, vb, &mut c, Some(&bias));
            assert_eq!(c, want);
        }
    }
}
