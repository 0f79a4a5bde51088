//! What the f32 and int8 GEMM drivers share: the blocking over B and k (`for_each_block`),
//! writing C row by row, and (feature `threads`) splitting C into one rectangle per rayon task.

use std::ops::Range;

/// Rows of C as a driver writes them: `row(r)` is the part of row `r` (absolute) that the
/// driver's column range covers, starting at that range's first column.
pub(crate) trait OutRows<T> {
    fn row(&mut self, r: usize) -> &mut [T];
}

/// All of a row-major C (the sequential path).
pub(crate) struct Dense<'a, T> {
    pub(crate) c: &'a mut [T],
    pub(crate) ldc: usize,
}

impl<T> OutRows<T> for Dense<'_, T> {
    #[inline(always)]
    fn row(&mut self, r: usize) -> &mut [T] {
        &mut self.c[r * self.ldc..][..self.ldc]
    }
}

/// One parallel task's rectangle of C: a slice of each of its rows, from row `row0`.
#[cfg(feature = "threads")]
pub(crate) struct RowSlices<'a, T> {
    rows: Vec<&'a mut [T]>,
    row0: usize,
}

#[cfg(feature = "threads")]
impl<T> OutRows<T> for RowSlices<'_, T> {
    #[inline(always)]
    fn row(&mut self, r: usize) -> &mut [T] {
        self.rows[r - self.row0]
    }
}

/// Splits C (`[m, n]`, row-major) of a product with reduction length `k` into rectangles, one
/// per rayon task, and runs `task(rows, cols, out)` on each: over columns (whole `nr` panels,
/// at least 4 per task, no shared work) when there are enough, else over rows (whole `mr`
/// panels; each task then packs all of B, which is small then). Returns false, doing nothing,
/// when the product should stay sequential.
#[cfg(feature = "threads")]
pub(crate) fn par_tiles<T: Send>(
    c: &mut [T],
    (m, n, k): (usize, usize, usize),
    (mr, nr): (usize, usize),
    task: impl Fn(Range<usize>, Range<usize>, &mut RowSlices<'_, T>) + Sync,
) -> bool {
    use super::parallel;
    let work = m * n * k;
    // Wide enough column strips (4 panels) keep the microkernel loop and B packing efficient.
    let (parts_m, parts_n) = match parallel::parts(n.div_ceil(nr), 4, work) {
        1 => (parallel::parts(m.div_ceil(mr), 2, work), 1),
        p => (1, p),
    };
    if parts_m * parts_n == 1 {
        return false;
    }
    let row_ranges: Vec<Range<usize>> = (0..parts_m)
        .map(|i| parallel::split(m, mr, parts_m, i))
        .collect();
    let col_ranges: Vec<Range<usize>> = (0..parts_n)
        .map(|j| parallel::split(n, nr, parts_n, j))
        .collect();
    // Hand each task its slice of every row it covers (safe disjoint borrows of C).
    let mut tasks: Vec<RowSlices<T>> = (0..parts_m * parts_n)
        .map(|t| RowSlices {
            rows: Vec::with_capacity(row_ranges[t / parts_n].len()),
            row0: row_ranges[t / parts_n].start,
        })
        .collect();
    for (r, mut row) in c.chunks_exact_mut(n).enumerate() {
        let pm = row_ranges.partition_point(|range| range.end <= r);
        for (pn, cols) in col_ranges.iter().enumerate() {
            let (part, rest) = row.split_at_mut(cols.len());
            tasks[pm * parts_n + pn].rows.push(part);
            row = rest;
        }
    }
    parallel::for_each_mut(&mut tasks, |t, out| {
        let rows = row_ranges[t / parts_n].clone();
        let cols = col_ranges[t % parts_n].clone();
        task(rows, cols, out);
    });
    true
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
}

/// The blocking every GEMM driver shares (f32, int8 and the packed low-bit weights through
/// the int8 one): for each block of at most `nc_max` columns of C and `kc_max` reduction
/// steps (of `k`), `pack` fills `bpack` with that block of B, `start` prepares what the
/// block's tiles share, and `panel` runs one `mr`-row A panel (from row `ir`) over it, in row
/// order. `bpack` is grown to the largest block.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn for_each_block<B: Copy + Default, T>(
    bpack: &mut Vec<B>,
    (rows, cols): (Range<usize>, Range<usize>),
    k: usize,
    (mr, nr): (usize, usize),
    (nc_max, kc_max): (usize, usize),
    mut pack: impl FnMut(&BBlock, &mut [B]),
    mut start: impl FnMut(&BBlock, &[B]) -> T,
    mut panel: impl FnMut(&BBlock, &T, usize, &[B]),
) {
    let need = k.min(kc_max) * cols.len().min(nc_max).div_ceil(nr) * nr;
    if bpack.len() < need {
        bpack.resize(need, B::default());
    }
    for jc in (cols.start..cols.end).step_by(nc_max.max(1)) {
        let nc = nc_max.min(cols.end - jc);
        for pc in (0..k.max(1)).step_by(kc_max.max(1)) {
            let block = BBlock {
                jc,
                nc,
                pc,
                kc: kc_max.min(k - pc),
            };
            pack(&block, bpack);
            let shared = start(&block, bpack);
            for ir in (rows.start..rows.end).step_by(mr) {
                panel(&block, &shared, ir, bpack);
            }
        }
    }
}
