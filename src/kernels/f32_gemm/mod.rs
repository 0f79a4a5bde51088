//! f32 GEMM: `C[m, n] = epilogue(A[m, k] B[k, n])` with A packed once (weights).
//!
//! Structure (BLIS/XNNPACK style): A is packed at load time into `MR`-row panels; the driver
//! (the blocking shared with the int8 GEMM, `gemm_rows::for_each_block`) blocks over n (`NC`) and k
//! (`KC`), packs each B block into `NR`-column panels, and walks the A panels over it while one
//! B panel stays in L1. The
//! microkernel computes one `MR x NR` tile; bias and clamp are fused into the store of the last
//! k block. `n == 1` (fully connected layers) takes a matrix-vector path instead.
//!
//! With the `threads` feature, large products are split across rayon's pool into rectangles
//! of C (column strips, or row strips when n is small); the matrix-vector path splits rows.
//! Every element is reduced in the same order as sequentially, so results are bit-identical.

mod pack;
mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

pub use scalar::{f32_gemm_4x8_scalar, f32_gemm_6x16_scalar};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd128::f32_gemm_4x8_simd128;

#[cfg(not(feature = "threads"))]
use super::gemm_rows::Dense;
use super::gemm_rows::{for_each_block, OutRows};
#[cfg(feature = "threads")]
use super::gemm_rows::{pack_blocks, par_tiles};
#[cfg(feature = "threads")]
use super::parallel;
use super::{clamp, Epilogue};
use std::cell::RefCell;
use std::ops::Range;

/// Reduction block: a `KC x NR` B panel (16 KiB at NR = 16) stays in L1.
const KC: usize = 256;
/// Values in one packed B block (512 KiB): it stays in L2 while the A panels stream past.
const B_BLOCK: usize = 128 * 1024;

/// The microkernel a [`PackedA`] is packed for (it fixes the panel height `MR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GemmUkernel {
    /// [`f32_gemm_4x8_scalar`]: the shape shared with the SIMD128 twin (in SIMD128 builds
    /// only with the `twins` feature, for the tests comparing them).
    #[cfg(scalar_gemm_4x8)]
    Scalar4x8,
    /// [`f32_gemm_6x16_scalar`]: tuned for native autovectorisation (in wasm builds only with
    /// the `twins` feature).
    #[cfg(scalar_gemm_6x16)]
    Scalar6x16,
    /// `f32_gemm_4x8_simd128` (wasm32 with `simd128` only).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    Simd128x4x8,
}

impl GemmUkernel {
    /// The fastest microkernel for this build: SIMD128 4x8 on wasm32+simd128, scalar 4x8 on
    /// other wasm32 builds, scalar 6x16 natively.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    pub const DEFAULT: Self = GemmUkernel::Simd128x4x8;
    /// The fastest microkernel for this build: SIMD128 4x8 on wasm32+simd128, scalar 4x8 on
    /// other wasm32 builds, scalar 6x16 natively.
    #[cfg(all(target_arch = "wasm32", not(target_feature = "simd128")))]
    pub const DEFAULT: Self = GemmUkernel::Scalar4x8;
    /// The fastest microkernel for this build: SIMD128 4x8 on wasm32+simd128, scalar 4x8 on
    /// other wasm32 builds, scalar 6x16 natively.
    #[cfg(not(target_arch = "wasm32"))]
    pub const DEFAULT: Self = GemmUkernel::Scalar6x16;

    /// Every microkernel compiled into this build (for tests comparing them).
    pub const ALL: &'static [GemmUkernel] = &[
        #[cfg(scalar_gemm_4x8)]
        GemmUkernel::Scalar4x8,
        #[cfg(scalar_gemm_6x16)]
        GemmUkernel::Scalar6x16,
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        GemmUkernel::Simd128x4x8,
    ];

    /// Rows per tile (panel height of packed A).
    pub const fn mr(self) -> usize {
        match self {
            #[cfg(scalar_gemm_4x8)]
            GemmUkernel::Scalar4x8 => 4,
            #[cfg(scalar_gemm_6x16)]
            GemmUkernel::Scalar6x16 => 6,
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            GemmUkernel::Simd128x4x8 => 4,
        }
    }

    /// Columns per tile (panel width of packed B).
    pub const fn nr(self) -> usize {
        match self {
            #[cfg(scalar_gemm_4x8)]
            GemmUkernel::Scalar4x8 => 8,
            #[cfg(scalar_gemm_6x16)]
            GemmUkernel::Scalar6x16 => 16,
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            GemmUkernel::Simd128x4x8 => 8,
        }
    }
}

/// The left matrix `A [m, k]` (row-major: one row per output channel) prepared for repeated
/// products: `ceil(m / MR)` panels of `k x MR` values, k-major, zero-padded rows.
#[derive(Clone, Debug)]
pub struct PackedA {
    m: usize,
    k: usize,
    ukernel: GemmUkernel,
    data: Vec<f32>,
}

impl PackedA {
    /// Packs row-major `a` of shape `[m, k]` for [`GemmUkernel::DEFAULT`].
    pub fn pack(a: &[f32], m: usize, k: usize) -> Self {
        Self::pack_for(GemmUkernel::DEFAULT, a, m, k)
    }

    /// Packs row-major `a` of shape `[m, k]` for the given microkernel (which [`f32_gemm`]
    /// then uses).
    pub fn pack_for(ukernel: GemmUkernel, a: &[f32], m: usize, k: usize) -> Self {
        assert_eq!(
            a.len(),
            m * k,
            "PackedA::pack: a has {} values for {m}x{k}",
            a.len()
        );
        PackedA {
            m,
            k,
            ukernel,
            data: pack::pack_a(a, m, k, ukernel.mr()),
        }
    }

    /// Rows.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Columns (reduction length).
    pub fn k(&self) -> usize {
        self.k
    }

    /// The microkernel this packing is for.
    pub fn ukernel(&self) -> GemmUkernel {
        self.ukernel
    }

    /// The `kc` steps from `pc` of panel `pi` (`MR` rows each).
    #[inline]
    fn panel<const MR: usize>(&self, pi: usize, pc: usize, kc: usize) -> &[f32] {
        &self.data[(pi * self.k + pc) * MR..][..kc * MR]
    }
}

/// `c[m, n] = epi(a * b)`, with `b` row-major `[k, n]` and `c` row-major `[m, n]`, using the
/// microkernel `a` was packed for.
pub fn f32_gemm(a: &PackedA, b: &[f32], n: usize, c: &mut [f32], epi: &Epilogue) {
    let (m, k) = (a.m, a.k);
    assert_eq!(
        b.len(),
        k * n,
        "f32_gemm: b has {} values for {k}x{n}",
        b.len()
    );
    assert_eq!(
        c.len(),
        m * n,
        "f32_gemm: c has {} values for {m}x{n}",
        c.len()
    );
    if let Some(bias) = epi.bias {
        assert!(
            bias.len() >= m,
            "f32_gemm: {} biases for {m} rows",
            bias.len()
        );
    }
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for (i, row) in c.chunks_exact_mut(n).enumerate() {
            row.fill(epi.apply(i, 0.0));
        }
        return;
    }
    match a.ukernel {
        #[cfg(scalar_gemm_4x8)]
        GemmUkernel::Scalar4x8 => dispatch::<4, 8, _>(a, b, n, c, epi, f32_gemm_4x8_scalar),
        #[cfg(scalar_gemm_6x16)]
        GemmUkernel::Scalar6x16 => dispatch::<6, 16, _>(a, b, n, c, epi, f32_gemm_6x16_scalar),
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        GemmUkernel::Simd128x4x8 => dispatch::<4, 8, _>(a, b, n, c, epi, f32_gemm_4x8_simd128),
    }
}

/// Picks the matrix-vector path for `n == 1`, the blocked driver otherwise; with the `threads`
/// feature, large products are split across rayon's pool.
#[inline(always)]
fn dispatch<const MR: usize, const NR: usize, F>(
    a: &PackedA,
    b: &[f32],
    n: usize,
    c: &mut [f32],
    epi: &Epilogue,
    ukernel: F,
) where
    F: Fn(&[f32], &[f32]) -> [[f32; NR]; MR] + Sync,
{
    if n == 1 {
        #[cfg(feature = "threads")]
        if par_gemv::<MR>(a, b, c, epi) {
            return;
        }
        gemv::<MR>(a, b, c, 0, epi);
        return;
    }
    #[cfg(feature = "threads")]
    par_driver::<MR, NR, F>(a, b, n, c, epi, &ukernel);
    #[cfg(not(feature = "threads"))]
    driver::<MR, NR, F, _>(
        a,
        b,
        n,
        (0..a.m, 0..n),
        &mut Dense { c, ldc: n },
        None,
        epi,
        &ukernel,
    );
}

/// `c = epi(a * x)` for one column, rows `row0..row0 + c.len()` (`row0` a multiple of `MR`):
/// streams each A panel once (this case is bound by reading A, so B packing and tiling would
/// only add work).
fn gemv<const MR: usize>(a: &PackedA, x: &[f32], c: &mut [f32], row0: usize, epi: &Epilogue) {
    debug_assert_eq!(row0 % MR, 0);
    for (pi, rows) in c.chunks_mut(MR).enumerate() {
        let pi = row0 / MR + pi;
        let acc = scalar::gemv_panel::<MR>(a.panel::<MR>(pi, 0, a.k), x);
        for (r, out) in rows.iter_mut().enumerate() {
            *out = epi.apply(pi * MR + r, acc[r]);
        }
    }
}

/// [`gemv`] split over row panels across rayon's pool; false, doing nothing, when it should
/// stay sequential.
#[cfg(feature = "threads")]
fn par_gemv<const MR: usize>(a: &PackedA, x: &[f32], c: &mut [f32], epi: &Epilogue) -> bool {
    let panels = a.m.div_ceil(MR);
    // At least 4 panels each: fewer and the split costs more than the reads it shares out.
    let parts = parallel::parts(panels, 4, a.m * a.k);
    if parts == 1 {
        return false;
    }
    let rows_per_part = panels.div_ceil(parts) * MR;
    parallel::chunks_mut(c, rows_per_part, |i, rows| {
        gemv::<MR>(a, x, rows, i * rows_per_part, epi)
    });
    true
}

/// [`par_tiles`] over [`driver`]: over rows, B packed once for all tasks.
#[cfg(feature = "threads")]
fn par_driver<const MR: usize, const NR: usize, F>(
    a: &PackedA,
    b: &[f32],
    n: usize,
    c: &mut [f32],
    epi: &Epilogue,
    ukernel: &F,
) where
    F: Fn(&[f32], &[f32]) -> [[f32; NR]; MR] + Sync,
{
    let pack_all = |all: &mut Vec<f32>| {
        let blocking = (nc_max::<NR>(a.k), KC);
        pack_blocks(all, 0..n, a.k, NR, blocking, |blk, dst| {
            pack::pack_b::<NR>(b, n, (blk.pc, blk.kc), (blk.jc, blk.nc), dst)
        })
    };
    par_tiles(
        c,
        (a.m, n, a.k),
        (MR, NR),
        &B_ALL,
        pack_all,
        |rows, cols, out, packed| {
            driver::<MR, NR, F, _>(a, b, n, (rows, cols), out, packed, epi, ukernel)
        },
    )
}

/// Columns of a B block for reduction length `k`: short reductions get wider blocks (fewer
/// passes over A, longer contiguous C row writes).
fn nc_max<const NR: usize>(k: usize) -> usize {
    (B_BLOCK / k.min(KC)).div_ceil(NR) * NR
}

/// Blocked GEMM driver around an `MR x NR` microkernel, for the rows and columns of C in
/// `range` (rows from a multiple of `MR`). Which tiles it computes never changes a value: each
/// element's reduction is blocked by `KC` from k = 0 whatever the range. B's blocks come from
/// `packed` when given (all of them, `pack_blocks`), else are packed here.
#[allow(clippy::too_many_arguments)]
fn driver<const MR: usize, const NR: usize, F, O>(
    a: &PackedA,
    b: &[f32],
    n: usize,
    (rows, cols): (Range<usize>, Range<usize>),
    out: &mut O,
    packed: Option<&[f32]>,
    epi: &Epilogue,
    ukernel: &F,
) where
    F: Fn(&[f32], &[f32]) -> [[f32; NR]; MR],
    O: OutRows<f32>,
{
    let k = a.k;
    debug_assert_eq!(rows.start % MR, 0);
    // Taken out of the thread-local for the call (so nothing can observe it borrowed).
    let mut bpack = B_PACK.with(|s| s.take());
    let first_col = cols.start;
    let row_end = rows.end;
    for_each_block(
        &mut bpack,
        packed,
        (rows, cols),
        k,
        (MR, NR),
        (nc_max::<NR>(k), KC),
        |blk, dst| pack::pack_b::<NR>(b, n, (blk.pc, blk.kc), (blk.jc, blk.nc), dst),
        |blk, _| match (blk.first(), blk.pc + blk.kc == k) {
            (true, true) => Store::Final,
            (true, false) => Store::First,
            (false, true) => Store::AccumulateFinal,
            (false, false) => Store::Accumulate,
        },
        |blk, &mode, ir, bpack| {
            let (kc, nc) = (blk.kc, blk.nc);
            let ap = a.panel::<MR>(ir / MR, blk.pc, kc);
            for jr in (0..nc).step_by(NR) {
                let bp = &bpack[jr * kc..][..kc * NR];
                let acc = ukernel(ap, bp);
                let tile = Tile {
                    row0: ir,
                    col0: blk.jc - first_col + jr,
                    rows: MR.min(row_end - ir),
                    cols: NR.min(nc - jr),
                };
                store_tile(&acc, out, tile, mode, epi);
            }
        },
    );
    B_PACK.with(|s| s.replace(bpack));
}

thread_local! {
    /// Packed B blocks, reused across calls (and per thread with `threads`): a fresh one per
    /// call cost an allocation and a zero fill of up to `B_BLOCK` values every product.
    static B_PACK: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// All of B's blocks, packed once for the tasks of a parallel product.
    #[cfg(feature = "threads")]
    static B_ALL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// How a k block's tile combines with C.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Store {
    /// Only block: write `epi(acc)`.
    Final,
    /// First of several: write `acc`.
    First,
    /// Middle block: `c += acc`.
    Accumulate,
    /// Last of several: `c = epi(c + acc)`.
    AccumulateFinal,
}

/// Where a tile lands in C (rows/cols may be short at the edges; `col0` is relative to the
/// driver's first column).
#[derive(Clone, Copy)]
struct Tile {
    row0: usize,
    col0: usize,
    rows: usize,
    cols: usize,
}

/// Stores the valid part of a tile, fusing the epilogue into the last k block.
#[inline(always)]
fn store_tile<const MR: usize, const NR: usize>(
    acc: &[[f32; NR]; MR],
    out: &mut impl OutRows<f32>,
    t: Tile,
    mode: Store,
    epi: &Epilogue,
) {
    for (r, acc_r) in acc.iter().enumerate().take(t.rows) {
        let row = t.row0 + r;
        let dst = &mut out.row(row)[t.col0..][..t.cols];
        if let Ok(full) = <&mut [f32; NR]>::try_from(&mut *dst) {
            // Full-width rows get a constant length: fully unrolled vector code.
            store_row(full, acc_r, row, mode, epi);
        } else {
            store_row(dst, &acc_r[..t.cols], row, mode, epi);
        }
    }
}

/// One row of [`store_tile`].
#[inline(always)]
fn store_row(dst: &mut [f32], src: &[f32], row: usize, mode: Store, epi: &Epilogue) {
    let (bias, lo, hi) = (epi.bias(row), epi.min, epi.max);
    // One loop per mode so each stays branch-free and vectorises.
    match mode {
        Store::Final => {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = clamp(s + bias, lo, hi);
            }
        }
        Store::First => dst.copy_from_slice(src),
        Store::Accumulate => {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d += s;
            }
        }
        Store::AccumulateFinal => {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = clamp(*d + s + bias, lo, hi);
            }
        }
    }
}
