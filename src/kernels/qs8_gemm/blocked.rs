//! The blocked int8 GEMM driver, one for every [`Layout`]: B packed in blocks (once per block,
//! or once for all tasks of a parallel product), each A panel run over a block's tiles a strip
//! of `CHUNK` columns at a time, the strip stored through the output stage row by row.

use super::layout::Layout;
use super::PackedQA;
use crate::kernels::gemm_rows::{for_each_block, OutRows};
#[cfg(feature = "threads")]
use crate::kernels::gemm_rows::{pack_blocks, par_tiles};
use crate::kernels::qs8_requant::OutputStage;
use std::ops::Range;

/// Bytes of one packed B block: it stays in L2 while the A panels stream past.
const B_BLOCK: usize = 256 * 1024;

/// Columns of C a panel's tiles accumulate before the output stage stores them: the stage then
/// runs along rows, its per-row constants and branches paid once per strip instead of per
/// tile (a multiple of every `NR`).
const CHUNK: usize = 256;

/// [`par_tiles`] over [`driver`]: over rows, B packed once for all tasks.
#[cfg(feature = "threads")]
pub(super) fn par_driver<L: Layout, const MR: usize, const NR: usize, S: OutputStage, F>(
    a: &PackedQA,
    b: &[i8],
    n: usize,
    c: &mut [S::Out],
    stage: &S,
    simd: bool,
    ukernel: &F,
) where
    F: Fn(&[L::A], &[L::B], &[i32; MR]) -> [[i32; NR]; MR] + Sync,
{
    let kp = a.kp();
    let pack_all = |all: &mut Vec<L::B>| {
        pack_blocks(all, 0..n, kp, NR, (nc_max::<L, NR>(kp), kp), |blk, dst| {
            L::pack_b::<NR>(b, n, a.k, (blk.jc, blk.nc), dst)
        })
    };
    par_tiles(
        c,
        (a.m, n, a.k),
        (MR, NR),
        L::b_all(),
        pack_all,
        |rows, cols, out, packed| {
            driver::<L, MR, NR, S, F, _>(a, b, n, (rows, cols), out, packed, stage, simd, ukernel)
        },
    )
}

/// A last panel of 1-3 columns (e.g. n = 49 = 6 * 8 + 1 in the 7x7 layers) goes through the
/// matrix-vector kernel, one column at a time, instead of a full-width microkernel tile that is
/// mostly zero padding (integer sums: the same results): the panel's first column and each
/// tail column's k groups (none without SIMD128 4-row panels).
fn tail_columns<L: Layout, const NR: usize>(
    bpack: &[L::B],
    nc: usize,
    kp: usize,
    simd_4rows: bool,
) -> (usize, Vec<Vec<i32>>) {
    let (jr, w) = (nc / NR * NR, nc % NR);
    if simd_4rows && NR == 8 && (1..4).contains(&w) {
        let bp = &bpack[jr * kp..][..kp * NR];
        return (jr, (0..w).map(|j| L::column::<NR>(bp, j, kp)).collect());
    }
    (jr, Vec::new())
}

/// Runs the microkernel over the `bstrip.len() / (kp * NR)` tiles of a packed B strip with
/// one A panel, its sums starting from `init`, writing tile `t` to columns `t * NR..` of the
/// `MR` rows of `accs` (`CHUNK` values each). Not inlined: on its own, V8 keeps the tile
/// loop's values in registers, where inside the driver they were spilled around every tile.
#[inline(never)]
fn strip<L: Layout, const MR: usize, const NR: usize, F>(
    ukernel: &F,
    ap: &[L::A],
    bstrip: &[L::B],
    init: &[i32; MR],
    accs: &mut [i32],
) where
    F: Fn(&[L::A], &[L::B], &[i32; MR]) -> [[i32; NR]; MR],
{
    let kp = ap.len() / MR;
    if kp == 0 {
        // k = 0: empty sums.
        for (row, &v) in accs.chunks_exact_mut(CHUNK).zip(init) {
            row.fill(v);
        }
        return;
    }
    for (t, bp) in bstrip.chunks_exact(kp * NR).enumerate() {
        let acc = ukernel(ap, bp, init);
        for (acc_r, row) in acc.iter().zip(accs.chunks_exact_mut(CHUNK)) {
            row[t * NR..][..NR].copy_from_slice(acc_r);
        }
    }
}

/// Columns of a B block for `kp` reduction steps: short reductions get wider blocks (fewer
/// passes over A, longer contiguous C row writes).
fn nc_max<L: Layout, const NR: usize>(kp: usize) -> usize {
    (B_BLOCK / (core::mem::size_of::<L::B>() * kp.max(2))).div_ceil(NR) * NR
}

/// Blocked driver around an `MR x NR` microkernel, for the rows and columns of C in `range`
/// (rows from a multiple of `MR`): packs blocks of B columns (or takes them from `packed`: all
/// of them, [`pack_blocks`]), then runs every A panel over each block, storing each strip
/// through the output stage.
#[allow(clippy::too_many_arguments)]
pub(super) fn driver<L: Layout, const MR: usize, const NR: usize, S: OutputStage, F, O>(
    a: &PackedQA,
    b: &[i8],
    n: usize,
    (rows, cols): (Range<usize>, Range<usize>),
    out: &mut O,
    packed: Option<&[L::B]>,
    stage: &S,
    simd: bool,
    ukernel: &F,
) where
    F: Fn(&[L::A], &[L::B], &[i32; MR]) -> [[i32; NR]; MR],
    O: OutRows<S::Out>,
{
    let kp = a.kp();
    debug_assert_eq!(rows.start % MR, 0);
    debug_assert!(
        !simd || NR % 8 == 0,
        "SIMD output stage stores 8 columns at a time"
    );
    // Taken out of the thread-local for the call (so nothing can observe it borrowed).
    let mut bpack = L::b_pack().with(|s| s.take());
    // Packed codes are decoded once per panel and block, then reused by all its tiles.
    let mut scratch = Vec::new();
    // One strip of a panel's accumulators (`MR` rows of `CHUNK` columns, in L1), stored
    // through the output stage a row at a time once the strip's tiles are done.
    let mut accs = vec![0i32; MR * CHUNK];
    let first_col = cols.start;
    let row_end = rows.end;
    // No k blocking (kc = the whole of k): int32 partial sums could not be kept in an int8 C.
    for_each_block(
        &mut bpack,
        packed,
        (rows, cols),
        kp,
        (MR, NR),
        (nc_max::<L, NR>(kp), kp),
        |blk, dst| L::pack_b::<NR>(b, n, a.k, (blk.jc, blk.nc), dst),
        |blk, bpack| tail_columns::<L, NR>(bpack, blk.nc, kp, simd && MR == 4),
        |blk, tail, ir, bpack| {
            let (jc, nc) = (blk.jc, blk.nc);
            let ap = L::panel::<MR>(a, ir / MR, &mut scratch);
            let tile_rows = MR.min(row_end - ir);
            // The SIMD output stage's row constants, splatted once for all the panel's tiles.
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            let prepared: Option<[S::Simd128Row; MR]> = simd
                .then(|| core::array::from_fn(|r| stage.simd128_row((ir + r).min(row_end - 1))));
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            let biased = prepared.is_some();
            #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
            let biased = false;
            // The SIMD output stage takes sums that start from the bias (one add fewer per
            // 4 outputs); the scalar one adds it itself. Both start from the packing's offset.
            let init: [i32; MR] = core::array::from_fn(|r| {
                let row = (ir + r).min(row_end - 1);
                let bias = if biased { stage.bias(row) } else { 0 };
                bias.wrapping_add(a.offset(row))
            });
            for c0 in (0..nc).step_by(CHUNK) {
                let w = CHUNK.min(nc - c0);
                // The strip's full-width tiles; a last panel of 1-3 columns, if in this
                // strip, is the matrix-vector tail's.
                let in_tail = !tail.1.is_empty() && tail.0 < c0 + w;
                let tiles = if in_tail {
                    (tail.0 - c0) / NR
                } else {
                    w.div_ceil(NR)
                };
                let bstrip = &bpack[c0 * kp..][..tiles * NR * kp];
                strip::<L, MR, NR, F>(ukernel, ap, bstrip, &init, &mut accs);
                if in_tail {
                    let at = tail.0 - c0;
                    for (j, groups) in tail.1.iter().enumerate() {
                        let acc = L::gemv_panel::<MR>(ap, groups, simd);
                        for (r, &acc_r) in acc.iter().enumerate() {
                            accs[r * CHUNK + at + j] = acc_r.wrapping_add(init[r]);
                        }
                    }
                }
                let col0 = jc - first_col + c0;
                for r in 0..tile_rows {
                    let dst = &mut out.row(ir + r)[col0..][..w];
                    let acc = &accs[r * CHUNK..][..w.next_multiple_of(NR)];
                    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                    if let Some(prepared) = &prepared {
                        S::store_biased_simd128(&prepared[r], acc, dst);
                        continue;
                    }
                    stage.store_scalar(ir + r, acc, dst);
                }
            }
        },
    );
    L::b_pack().with(|s| s.replace(bpack));
}
