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

/// Splits C (`[m, n]`, row-major) of a product with reduction length `k` into rectangles, one
/// per parallel task, and runs `task(rows, cols, out, packed)` on each; a product that should
/// stay sequential is one task, run on this thread (so the threaded build compiles one copy of
/// the driver, not a parallel and a sequential one).
///
/// Over rows (whole `mr` panels) when there are enough for every thread: `pack_all` first
/// packs all of B once into `shared` (a thread-local scratch buffer, itself in parallel), and
/// every task reads it (`packed` is `Some`), so B is packed once rather than once per task,
/// and each thread writes whole rows of C: the output channels of a convolution, as the
/// depthwise layer after it splits its input, so each thread finds its channels in its own
/// cache. Over columns (whole `nr` panels, each task packing its own, `packed` is `None`)
/// when C has too few rows.
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
    let work = m * n * k;
    let row_parts = parallel::parts(m.div_ceil(mr), 1, work);
    let (parts_m, parts_n) = if row_parts >= parallel::threads() {
        (row_parts, 1)
    } else {
        // Wide enough column strips (4 panels) keep the microkernel loop efficient.
        (1, parallel::parts(n.div_ceil(nr), 4, work))
    };
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
