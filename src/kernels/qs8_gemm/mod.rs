//! int8 GEMM: `C[m, n] = stage(A[m, k] B[k, n])` on int32 accumulators, with A (weights)
//! packed once and the output stage ([`Requant`] to int8, [`Dequant`] to f32) fused into the
//! store.
//!
//! Layout (XNNPACK's "c2" qs8 kernels, dot16x2): A is packed at load time into `MR`-row panels
//! of i16 k pairs; the driver packs each block of B columns into `NR`-column panels of
//! interleaved int8 k pairs. The SIMD128 microkernel sign-extends 8 B bytes of a pair to i16,
//! splats an A row's pair as an i32 and adds two k steps of 4 outputs with one
//! `i32x4.dot_i16x8_s`. Integer sums are exact, so every microkernel (and every thread split)
//! gives the same bits.
//!
//! There is no k blocking: a whole-k B panel (`k * NR` bytes, 9 KiB at k = 1152) fits L1, and
//! int32 partial sums could not be kept in an int8 C anyway. `n == 1` (fully connected layers)
//! takes a matrix-vector path.
//!
//! With the `threads` feature, large products are split across rayon's pool into column strips
//! (row strips when n is small); the matrix-vector path splits rows.

mod blocked;
mod pack;
mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

pub use scalar::qs8_gemm_4x8c2_scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd128::qs8_gemm_4x8c2_simd128;

use super::gemm_rows::Dense;
#[cfg(feature = "threads")]
use super::parallel;
use super::qs8_requant::{Dequant, OutputStage, Requant};
use super::qs8_unpack::{pack_codes, qs8_panel_decode, CodeBits, PanelLuts};
use blocked::driver;
#[cfg(feature = "threads")]
use blocked::par_driver;
#[cfg(feature = "threads")]
use std::cell::RefCell;

/// The microkernel a [`PackedQA`] is packed for (it fixes the panel shape `MR x NR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QGemmUkernel {
    /// [`qs8_gemm_4x8c2_scalar`]: the shape shared with the SIMD128 twin.
    Scalar4x8,
    /// `qs8_gemm_4x8c2_simd128` (wasm32 with `simd128` only).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    Simd128x4x8,
}

impl QGemmUkernel {
    /// The fastest microkernel for this build: SIMD128 4x8 on wasm32+simd128.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    pub const DEFAULT: Self = QGemmUkernel::Simd128x4x8;
    /// The fastest microkernel for this build: scalar 4x8 without SIMD128.
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    pub const DEFAULT: Self = QGemmUkernel::Scalar4x8;

    /// Every microkernel compiled into this build (for tests comparing them).
    pub const ALL: &'static [QGemmUkernel] = &[
        QGemmUkernel::Scalar4x8,
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        QGemmUkernel::Simd128x4x8,
    ];

    /// Rows per tile (panel height of packed A).
    pub const fn mr(self) -> usize {
        match self {
            QGemmUkernel::Scalar4x8 => 4,
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            QGemmUkernel::Simd128x4x8 => 4,
        }
    }

    /// Columns per tile (panel width of packed B).
    pub const fn nr(self) -> usize {
        match self {
            QGemmUkernel::Scalar4x8 => 8,
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            QGemmUkernel::Simd128x4x8 => 8,
        }
    }

    /// Whether the output stage and matrix-vector path use SIMD128.
    const fn simd(self) -> bool {
        match self {
            QGemmUkernel::Scalar4x8 => false,
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            QGemmUkernel::Simd128x4x8 => true,
        }
    }
}

/// The int8 left matrix `A [m, k]` (row-major: one row per output channel) prepared for
/// repeated products: `ceil(m / MR)` panels of k pairs (k padded to even), i16, zero-padded;
/// or, for weights below 8 bits, the same panels as packed 2- or 4-bit codes with a decoding
/// table per row, decoded one panel at a time right before the microkernel uses it
/// ([`qs8_panel_decode`]): the decoded panel is the i16 panel of the int8 path, so the product
/// is bit-identical to the int8 kernel's for the same effective weights.
#[derive(Clone, Debug)]
pub struct PackedQA {
    m: usize,
    k: usize,
    ukernel: QGemmUkernel,
    data: Panels,
}

/// How the panels of a [`PackedQA`] are stored.
#[derive(Clone, Debug)]
enum Panels {
    /// Ready i16 values.
    I16(Vec<i16>),
    /// Packed codes in panel order and each panel's decoding tables.
    Codes {
        bits: CodeBits,
        packed: Vec<u8>,
        luts: Vec<PanelLuts>,
    },
}

impl PackedQA {
    /// Packs row-major `a` of shape `[m, k]` for [`QGemmUkernel::DEFAULT`].
    pub fn pack(a: &[i8], m: usize, k: usize) -> Self {
        Self::pack_for(QGemmUkernel::DEFAULT, a, m, k)
    }

    /// Packs row-major `a` of shape `[m, k]` for the given microkernel (which [`qs8_gemm`]
    /// then uses).
    pub fn pack_for(ukernel: QGemmUkernel, a: &[i8], m: usize, k: usize) -> Self {
        assert_eq!(
            a.len(),
            m * k,
            "PackedQA::pack: a has {} values for {m}x{k}",
            a.len()
        );
        PackedQA {
            m,
            k,
            ukernel,
            data: Panels::I16(pack::pack_a(a, m, k, ukernel.mr())),
        }
    }

    /// Packs `b`-bit codes (row-major `[m, k]`, each `< 2^b`) for `ukernel`, kept packed at
    /// `bits` per code; row `r`'s code `c` stands for the integer `tables[r][c]`.
    ///
    /// # Panics
    /// If the shapes disagree or `ukernel`'s panels are not 4 rows high.
    pub fn pack_codes_for(
        ukernel: QGemmUkernel,
        codes: &[u8],
        tables: &[[i8; 16]],
        bits: CodeBits,
        m: usize,
        k: usize,
    ) -> Self {
        assert_eq!(
            codes.len(),
            m * k,
            "PackedQA::pack_codes: {} codes for {m}x{k}",
            codes.len()
        );
        assert_eq!(
            tables.len(),
            m,
            "PackedQA::pack_codes: {} tables for {m} rows",
            tables.len()
        );
        let mr = ukernel.mr();
        assert_eq!(mr, 4, "packed codes decode into 4-row panels");
        let panel_order = pack::pack_a_codes(codes, m, k, mr);
        let luts = (0..m.div_ceil(mr))
            .map(|pi| core::array::from_fn(|r| tables.get(pi * mr + r).copied().unwrap_or([0; 16])))
            .collect();
        PackedQA {
            m,
            k,
            ukernel,
            data: Panels::Codes {
                bits,
                packed: pack_codes(&panel_order, bits),
                luts,
            },
        }
    }

    /// Bytes of the packed weights as held in memory (i16 panels, or packed codes plus 16
    /// table bytes per row).
    pub fn bytes(&self) -> usize {
        match &self.data {
            Panels::I16(d) => 2 * d.len(),
            Panels::Codes { packed, luts, .. } => packed.len() + 64 * luts.len(),
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
    pub fn ukernel(&self) -> QGemmUkernel {
        self.ukernel
    }

    /// k rounded up to even (values per packed row).
    #[inline]
    fn kp(&self) -> usize {
        self.k.div_ceil(2) * 2
    }

    /// Panel `pi` (`MR` rows of all k pairs), decoded into `scratch` when stored as codes.
    #[inline]
    fn panel<'a, const MR: usize>(&'a self, pi: usize, scratch: &'a mut Vec<i16>) -> &'a [i16] {
        let len = self.kp() * MR;
        match &self.data {
            Panels::I16(d) => &d[pi * len..][..len],
            Panels::Codes { bits, packed, luts } => {
                let per_panel = bits.bytes_for(len);
                scratch.resize(len, 0);
                qs8_panel_decode(
                    &packed[pi * per_panel..][..per_panel],
                    *bits,
                    &luts[pi],
                    scratch,
                );
                scratch
            }
        }
    }
}

/// `c[m, n] = req(a * b)` in int8, with `b` row-major int8 `[k, n]` (NCHW activations
/// `[C, H*W]`) and `c` row-major `[m, n]`, using the microkernel `a` was packed for.
pub fn qs8_gemm(a: &PackedQA, b: &[i8], n: usize, c: &mut [i8], req: &Requant) {
    gemm(a, b, n, c, req, "qs8_gemm");
}

/// The same product as [`qs8_gemm`] with the f32 output stage (dynamic-range quantization):
/// `c[m, n] = deq(a * b)`.
pub fn qs8_gemm_f32(a: &PackedQA, b: &[i8], n: usize, c: &mut [f32], deq: &Dequant) {
    gemm(a, b, n, c, deq, "qs8_gemm_f32");
}

/// Checks shapes, then runs the product with `a`'s microkernel.
fn gemm<S: OutputStage>(a: &PackedQA, b: &[i8], n: usize, c: &mut [S::Out], stage: &S, what: &str) {
    let (m, k) = (a.m, a.k);
    assert_eq!(
        b.len(),
        k * n,
        "{what}: b has {} values for {k}x{n}",
        b.len()
    );
    assert_eq!(
        c.len(),
        m * n,
        "{what}: c has {} values for {m}x{n}",
        c.len()
    );
    stage.check(what, m);
    if m == 0 || n == 0 {
        return;
    }
    let simd = a.ukernel.simd();
    match a.ukernel {
        QGemmUkernel::Scalar4x8 => {
            dispatch::<4, 8, S, _>(a, b, n, c, stage, simd, qs8_gemm_4x8c2_scalar)
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        QGemmUkernel::Simd128x4x8 => {
            dispatch::<4, 8, S, _>(a, b, n, c, stage, simd, qs8_gemm_4x8c2_simd128)
        }
    }
}

/// Picks the matrix-vector path for `n == 1`, the blocked driver otherwise; with the `threads`
/// feature, large products are split across rayon's pool.
#[inline(always)]
fn dispatch<const MR: usize, const NR: usize, S: OutputStage, F>(
    a: &PackedQA,
    b: &[i8],
    n: usize,
    c: &mut [S::Out],
    stage: &S,
    simd: bool,
    ukernel: F,
) where
    F: Fn(&[i16], &[i16], &[i32; MR]) -> [[i32; NR]; MR] + Sync,
{
    if n == 1 {
        #[cfg(feature = "threads")]
        if par_gemv::<MR, S>(a, b, c, stage, simd) {
            return;
        }
        gemv::<MR, S>(a, b, c, 0, stage, simd);
        return;
    }
    // A column split would have every task decode every A panel: packed codes are decoded once
    // here instead, the panels shared out over the pool.
    #[cfg(feature = "threads")]
    let decoded = decoded_par::<MR>(a);
    #[cfg(feature = "threads")]
    let a = decoded.as_ref().unwrap_or(a);
    #[cfg(feature = "threads")]
    let done = par_driver::<MR, NR, S, F>(a, b, n, c, stage, simd, &ukernel);
    #[cfg(not(feature = "threads"))]
    let done = false;
    if !done {
        let mut out = Dense { c, ldc: n };
        driver::<MR, NR, S, F, _>(
            a,
            b,
            n,
            (0..a.m, 0..n),
            &mut out,
            None,
            stage,
            simd,
            &ukernel,
        );
    }
    #[cfg(feature = "threads")]
    if let Some(PackedQA {
        data: Panels::I16(buf),
        ..
    }) = decoded
    {
        DECODED.with(|s| s.replace(buf));
    }
}

#[cfg(feature = "threads")]
thread_local! {
    /// Decoded panels of packed codes, reused across calls.
    static DECODED: RefCell<Vec<i16>> = const { RefCell::new(Vec::new()) };
}

/// `a` with its packed codes decoded into i16 panels (in parallel, by panel); `None` when `a`
/// holds i16 panels already.
#[cfg(feature = "threads")]
fn decoded_par<const MR: usize>(a: &PackedQA) -> Option<PackedQA> {
    let Panels::Codes { bits, packed, luts } = &a.data else {
        return None;
    };
    let len = a.kp() * MR;
    let per_panel = bits.bytes_for(len);
    let mut buf = DECODED.with(|s| s.take());
    buf.resize(luts.len() * len, 0);
    // A few panels per part: one claim each would cost more than decoding one panel.
    let per_part = luts
        .len()
        .div_ceil(parallel::parts(luts.len(), 4, buf.len()));
    parallel::chunks_mut(&mut buf, per_part * len.max(1), |p, out| {
        for (i, out) in out.chunks_mut(len.max(1)).enumerate() {
            let pi = p * per_part + i;
            qs8_panel_decode(
                &packed[pi * per_panel..][..per_panel],
                *bits,
                &luts[pi],
                out,
            )
        }
    });
    Some(PackedQA {
        m: a.m,
        k: a.k,
        ukernel: a.ukernel,
        data: Panels::I16(buf),
    })
}

/// `c = stage(a * x)` for one column, rows `row0..row0 + c.len()` (`row0` a multiple of
/// `MR`): streams each A panel once (this case is bound by reading A).
fn gemv<const MR: usize, S: OutputStage>(
    a: &PackedQA,
    x: &[i8],
    c: &mut [S::Out],
    row0: usize,
    stage: &S,
    simd: bool,
) {
    debug_assert_eq!(row0 % MR, 0);
    let _ = simd;
    let mut scratch = Vec::new();
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if simd && MR == 4 {
        let pairs = simd128::x_pairs(x);
        for (pi, rows) in c.chunks_mut(MR).enumerate() {
            let pi = row0 / MR + pi;
            let acc = simd128::qgemv_4c2_simd128(a.panel::<MR>(pi, &mut scratch), &pairs);
            // Each output is another row (own multiplier): the scalar stage, m values only.
            for (r, out) in rows.iter_mut().enumerate() {
                *out = stage.apply(pi * MR + r, acc[r]);
            }
        }
        return;
    }
    for (pi, rows) in c.chunks_mut(MR).enumerate() {
        let pi = row0 / MR + pi;
        let acc = scalar::qgemv_panel::<MR>(a.panel::<MR>(pi, &mut scratch), x);
        for (r, out) in rows.iter_mut().enumerate() {
            *out = stage.apply(pi * MR + r, acc[r]);
        }
    }
}

/// [`gemv`] split over row panels across rayon's pool; false, doing nothing, when it should
/// stay sequential.
#[cfg(feature = "threads")]
fn par_gemv<const MR: usize, S: OutputStage>(
    a: &PackedQA,
    x: &[i8],
    c: &mut [S::Out],
    stage: &S,
    simd: bool,
) -> bool {
    let panels = a.m.div_ceil(MR);
    // At least 4 panels each: fewer and the split costs more than the reads it shares out.
    let parts = parallel::parts(panels, 4, a.m * a.k);
    if parts == 1 {
        return false;
    }
    let rows_per_part = panels.div_ceil(parts) * MR;
    parallel::chunks_mut(c, rows_per_part, |i, rows| {
        gemv::<MR, S>(a, x, rows, i * rows_per_part, stage, simd)
    });
    true
}
