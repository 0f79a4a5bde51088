//! What the f32 and int8 GEMM drivers share: the blocking over B and k (`for_each_block`),
//! writing C row by row, and (feature `threads`) splitting C into one rectangle per rayon task.

#[cfg(feature = "threads")]
use super::parallel::Rect;
use std::ops::Range;

/// Rows of C as a driver writes them: `row(r)` is the part of row `r` (absolute) that the
/// driver's column range covers, starting at that range's first column.
pub(crate) trait OutRows<T> {
    fn row(&mut self, r: usize) -> &mut [T];
}

/// All of a row-major C (the sequential path; the threaded build runs sequential products as
/// one task of `par_tiles`).
#[cfg(not(feature = "threads"))]
pub(crate) struct Dense<'a, T> {
    pub(crate) c: &'a mut [T],
    pub(crate) ldc: usize,
}

#[cfg(not(feature = "threads"))]
impl<T> OutRows<T> for Dense<'_, T> {
    #[inline(always)]
    fn row(&mut self, r: usize) -> &mut [T] {
        &mut self.c[r * self.ldc..][..self.ldc]
    }
}

#[cfg(feature = "threads")]
impl<T> OutRows<T> for Rect<'_, T> {
    #[inline(always)]
    fn row(&mut self, r: usize) -> &mut [T] {
        Rect::row(self, r)
    }
}

/// Row panels a row part needs at least: fewer, and the part's re-reading of B costs more
/// than splitting by columns.
#[cfg(feature = "threads")]
const MIN_PANELS_PER_ROW_PART: usize = 2;

/// How [`par_tiles`] splits C (`[m, n]`, reduction length `k`, tiles `mr x nr`) among the
/// threads: `(row parts, column parts)`, one of them 1 (`(1, 1)`: sequential).
///
/// By rows, B is packed once and each thread writes whole rows (see [`par_tiles`]), but every
/// row part reads all of B: `p` panels of `mr` rows make `p * mr` multiply-adds per value of B
/// read. With one panel (4 rows) that read dominates: a 16 x 96 x 12544 product (a projection
/// to 16 channels at 112x112) split into 4 row parts read its 1.2 MB of packed B 4 times. So
/// rows when each row part gets at least [`MIN_PANELS_PER_ROW_PART`] panels, else columns
/// (each part packs and reads only its own columns of B, and all of A, which is small when m
/// is). Either side only if it gives every thread a part (column strips of at least 4 `nr`
/// panels keep the microkernel loop efficient).
#[cfg(feature = "threads")]
pub(crate) fn split_c(
    (m, n, k): (usize, usize, usize),
    (mr, nr): (usize, usize),
) -> (usize, usize) {
    use super::parallel;
    let work = m * n * k;
    let panels = m.div_ceil(mr);
    let row_parts = parallel::parts(panels, 1, work);
    let col_parts = parallel::parts(n.div_ceil(nr), 4, work);
    let threads = parallel::threads();
    let thick_rows = panels >= MIN_PANELS_PER_ROW_PART * row_parts;
    if row_parts >= threads && (thick_rows || col_parts < threads) {
        (row_parts, 1)
    } else {
        (1, col_parts)
    }
}

/// Splits C (`[m, n]`, row-major) of a product with reduction length `k` into rectangles, one
/// per parallel task, and runs `task(rows, cols, out, packed)` on each; a product that should
/// stay sequential is one task, run on this thread (so the threaded build compiles one copy of
/// the driver, not a parallel and a sequential one).
///
/// The split is [`split_c`]'s. Over rows (whole `mr` panels): `pack_all` first packs all of B
/// once into `shared` (a thread-local scratch buffer, itself in parallel), and every task
/// reads it (`packed` is `Some`), so B is packed once rather than once per task, and each
/// thread writes whole rows of C: the output channels of a convolution, as the depthwise layer
/// after it splits its input. Over columns (whole `nr` panels, each task packing its own,
/// `packed` is `None`): each task reads only its columns of B, and all of A.
#[cfg(feature = "threads")]
pub(crate) fn par_tiles<T: Send, B: Send + Sync>(
    c: &mut [T],
    (m, n, k): (usize, usize, usize),
    (mr, nr): (usize, usize),
    shared: &'static std::thread::LocalKey<std::cell::RefCell<Vec<B>>>,
    pack_all: impl FnOnce(&mut Vec<B>),
    task: impl Fn(Range<usize>, Range<usize>, &mut Rect<'_, T>, Option<&[B]>) + Sync,
) {
    use super::parallel;
    if m == 0 || n == 0 {
        return;
    }
    let (parts_m, parts_n) = split_c((m, n, k), (mr, nr));
    let mut tasks = parallel::rects(c, (m, n), (mr, parts_m), (nr, parts_n));
    // Taken out of the thread-local for the call (so nothing can observe it borrowed).
    let mut packed = shared.with(|s| s.take());
    if parts_m > 1 {
        pack_all(&mut packed);
    }
    let all = (parts_m > 1).then_some(&packed[..]);
    parallel::for_each_mut(&mut tasks, |_, out| {
        task(out.rows(), out.cols(), out, all);
    });
    shared.with(|s| s.replace(packed));
}

/// Packs every block [`for_each_block`] visits for columns `cols` (same `k`, `nr`, `nc_max`
/// and `kc_max`) into `dst`, one after the other in visiting order, what `for_each_block`
/// reads when given them as `packed`. Blocks are packed in parallel, in pieces of whole `nr`
/// panels (`pack` of a narrower block fills the same panels).
#[cfg(feature = "threads")]
pub(crate) fn pack_blocks<B: Copy + Default + Send>(
    dst: &mut Vec<B>,
    cols: Range<usize>,
    k: usize,
    nr: usize,
    (nc_max, kc_max): (usize, usize),
    pack: impl Fn(&BBlock, &mut [B]) + Sync,
) {
    // Columns per piece: a few pieces per thread on the widest layers.
    const PIECE: usize = 512;
    let piece = PIECE.next_multiple_of(nr);
    let blocks: Vec<BBlock> = blocks(cols, k, (nc_max, kc_max)).collect();
    let total = blocks.iter().map(|b| b.packed_len(nr)).sum();
    if dst.len() < total {
        dst.resize(total, B::default());
    }
    let mut pieces: Vec<(BBlock, &mut [B])> = Vec::new();
    let mut rest = &mut dst[..total];
    for blk in blocks {
        let (mut block_dst, tail) = rest.split_at_mut(blk.packed_len(nr));
        rest = tail;
        for x in (0..blk.nc).step_by(piece) {
            let sub = BBlock {
                jc: blk.jc + x,
                nc: piece.min(blk.nc - x),
                ..blk
            };
            let (d, tail) = block_dst.split_at_mut(sub.packed_len(nr));
            block_dst = tail;
            pieces.push((sub, d));
        }
    }
    super::parallel::for_each_mut(&mut pieces, |_, (blk, d)| pack(blk, d));
}

/// One block of a blocked GEMM: columns `jc..jc + nc` of C (absolute) and reduction steps
/// `pc..pc + kc`, packed from B once and shared by every A row panel.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BBlock {
    pub(crate) jc: usize,
    pub(crate) nc: usize,
    pub(crate) pc: usize,
    pub(crate) kc: usize,
}

impl BBlock {
    /// The first block of the reduction (the tile overwrites C).
    pub(crate) fn first(&self) -> bool {
        self.pc == 0
    }

    /// Values of the block packed in `nr`-column panels.
    fn packed_len(&self, nr: usize) -> usize {
        self.kc * self.nc.div_ceil(nr) * nr
    }
}

/// The blocks of a product's columns `cols` and reduction `k`, in the order every driver
/// visits them: columns outer (`nc_max` at a time), reduction inner (`kc_max`).
fn blocks(
    cols: Range<usize>,
    k: usize,
    (nc_max, kc_max): (usize, usize),
) -> impl Iterator<Item = BBlock> {
    (cols.start..cols.end)
        .step_by(nc_max.max(1))
        .flat_map(move |jc| {
            (0..k.max(1)).step_by(kc_max.max(1)).map(move |pc| BBlock {
                jc,
                nc: nc_max.min(cols.end - jc),
                pc,
                kc: kc_max.min(k - pc),
            })
        })
}

/// The blocking every GEMM driver shares (f32, int8 and the packed low-bit weights through
/// the int8 one): for each block of at most `nc_max` columns of C and `kc_max` reduction
/// steps (of `k`), `pack` fills `bpack` with that block of B, `start` prepares what the
/// block's tiles share, and `panel` runs one `mr`-row A panel (from row `ir`) over it, in row
/// order. `bpack` is grown to the largest block. With `packed` (every block, from
/// `pack_blocks`), blocks are read from it instead and `pack` is not called.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn for_each_block<B: Copy + Default, T>(
    bpack: &mut Vec<B>,
    packed: Option<&[B]>,
    (rows, cols): (Range<usize>, Range<usize>),
    k: usize,
    (mr, nr): (usize, usize),
    (nc_max, kc_max): (usize, usize),
    mut pack: impl FnMut(&BBlock, &mut [B]),
    mut start: impl FnMut(&BBlock, &[B]) -> T,
    mut panel: impl FnMut(&BBlock, &T, usize, &[B]),
) {
    if packed.is_none() {
        let need = k.min(kc_max) * cols.len().min(nc_max).div_ceil(nr) * nr;
        if bpack.len() < need {
            bpack.resize(need, B::default());
        }
    }
    let mut offset = 0;
    for block in blocks(cols, k, (nc_max, kc_max)) {
        let bp: &[B] = match packed {
            Some(all) => {
                let len = block.packed_len(nr);
                offset += len;
                &all[offset - len..offset]
            }
            None => {
                pack(&block, bpack);
                bpack
            }
        };
        let shared = start(&block, bp);
        for ir in (rows.start..rows.end).step_by(mr) {
            panel(&block, &shared, ir, bp);
        }
    }
}

#[cfg(all(test, feature = "threads"))]
mod tests {
    use super::split_c;
    use crate::kernels::parallel::team;

    /// `split_c` for 4 x 8 tiles inside a team of `threads` threads (as a graph run calls it).
    fn split_in(threads: usize, mnk: (usize, usize, usize)) -> (usize, usize) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| team(|| split_c(mnk, (4, 8))))
    }

    #[test]
    fn products_with_a_panel_of_rows_per_part_split_their_columns() {
        // EfficientNet-Lite0's projections to 16 and 24 channels and its stem (im2col): 4, 6
        // and 8 row panels, one per part.
        for mnk in [
            (16, 12544, 32),
            (24, 3136, 144),
            (32, 12544, 27),
            (16, 12544, 96),
        ] {
            let (pm, pn) = split_in(2, mnk);
            assert!(pm == 1 && pn >= 2, "{mnk:?}: {pm} x {pn}");
        }
    }

    #[test]
    fn products_with_enough_rows_split_their_rows() {
        // Lite0's expansions, its late layers and the classifier's matrix-vector product.
        for mnk in [
            (96, 12544, 16),
            (144, 3136, 24),
            (1152, 49, 192),
            (1000, 1, 1280),
        ] {
            let (pm, pn) = split_in(2, mnk);
            assert!(pm >= 2 && pn == 1, "{mnk:?}: {pm} x {pn}");
        }
    }

    #[test]
    fn the_other_side_is_split_when_one_cannot_feed_every_thread() {
        // Thin row parts, but fewer than 2 strips of 4 column panels: rows.
        let (pm, pn) = split_in(2, (16, 48, 4096));
        assert!(pm >= 2 && pn == 1, "16 x 48: {pm} x {pn}");
        // One row panel: columns.
        let (pm, pn) = split_in(2, (4, 4096, 64));
        assert!(pm == 1 && pn >= 2, "4 x 4096: {pm} x {pn}");
        // Too little work, or one thread: sequential.
        assert_eq!(split_in(2, (8, 16, 8)), (1, 1));
        assert_eq!(split_in(1, (96, 12544, 16)), (1, 1));
    }
}
