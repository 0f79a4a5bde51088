//! int8 GEMM: `C[m, n] = stage(A[m, k] B[k, n])` on int32 accumulators, with A (weights)
//! packed once and the output stage ([`Requant`] to int8, [`Dequant`] to f32) fused into the
//! store.
//!
//! Layouts (`layout`): XNNPACK's "c2" qs8 kernels (dot16x2): A is packed at load time into
//! `MR`-row panels of i16 k pairs; the driver packs each block of B columns into `NR`-column
//! panels of interleaved k pairs, sign-extended to i16. The SIMD128 microkernel splats an A
//! row's pair as an i32 and adds two k steps of 4 outputs with one `i32x4.dot_i16x8_s`.
//! In relaxed-SIMD builds, "c4" (usdot): A as int8 k quads, B as `x + 128` u8 quads, one
//! `i32x4.relaxed_dot_i8x16_i7x16_add_s` adds four k steps of 4 outputs, where the engine
//! computes it exactly (`usdot`). Integer sums are exact, so every microkernel (and every
//! thread split) gives the same bits.
//!
//! There is no k blocking: a whole-k B panel (`k * NR` bytes, 9 KiB at k = 1152) fits L1, and
//! int32 partial sums could not be kept in an int8 C anyway. `n == 1` (fully connected layers)
//! takes a matrix-vector path.
//!
//! With the `threads` feature, large products are split across rayon's pool into column strips
//! (row strips when n is small); the matrix-vector path splits rows.

mod blocked;
mod layout;
mod pack;
mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
mod usdot;

#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
pub(crate) use pack::to_u8;
pub use scalar::qs8_gemm_4x8c2_scalar;
#[cfg(any(not(target_arch = "wasm32"), target_feature = "relaxed-simd"))]
pub use scalar::qs8_gemm_4x8c4_scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd128::qs8_gemm_4x8c2_simd128;
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
pub use usdot::{qs8_gemm_4x8c4_usdot_relaxed, usdot_exact};

#[cfg(not(feature = "threads"))]
use super::gemm_rows::Dense;
#[cfg(feature = "threads")]
use super::parallel;
use super::qs8_requant::{Dequant, OutputStage, Requant};
use super::qs8_unpack::{pack_codes, qs8_panel_decode, CodeBits, PanelLuts, PanelValue};
#[cfg(not(feature = "threads"))]
use blocked::driver;
#[cfg(feature = "threads")]
use blocked::par_driver;
#[cfg(any(not(target_arch = "wasm32"), target_feature = "relaxed-simd"))]
use layout::C4;
use layout::{Layout, C2};

/// The microkernel a [`PackedQA`] is packed for (it fixes the panel shape `MR x NR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QGemmUkernel {
    /// [`qs8_gemm_4x8c2_scalar`]: the shape shared with the SIMD128 twin (in SIMD128 builds
    /// only with the `twins` feature, for the tests comparing them).
    #[cfg(scalar_gemm_4x8)]
    Scalar4x8,
    /// `qs8_gemm_4x8c2_simd128` (wasm32 with `simd128` only).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    Simd128x4x8,
    /// [`qs8_gemm_4x8c4_scalar`] through the driver: the c4 packing's reference (native builds;
    /// wasm builds test the usdot microkernel against the function itself).
    #[cfg(not(target_arch = "wasm32"))]
    Scalar4x8c4,
    /// `qs8_gemm_4x8c4_usdot_relaxed` (wasm32 with `relaxed-simd`; runs only where
    /// `usdot_exact` holds).
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    UsdotRelaxed4x8,
}

/// Every microkernel compiled into this build.
const COMPILED: &[QGemmUkernel] = &[
    #[cfg(scalar_gemm_4x8)]
    QGemmUkernel::Scalar4x8,
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    QGemmUkernel::Simd128x4x8,
    #[cfg(not(target_arch = "wasm32"))]
    QGemmUkernel::Scalar4x8c4,
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    QGemmUkernel::UsdotRelaxed4x8,
];

impl QGemmUkernel {
    /// The fastest microkernel that runs exactly here: relaxed-SIMD usdot where the engine
    /// computes it exactly, else SIMD128 4x8 on wasm32+simd128, else scalar 4x8.
    pub fn best() -> Self {
        #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
        if usdot::usdot_exact() {
            return QGemmUkernel::UsdotRelaxed4x8;
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        return QGemmUkernel::Simd128x4x8;
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        QGemmUkernel::Scalar4x8
    }

    /// Every microkernel of this build that runs exactly here (for tests comparing them).
    pub fn all() -> Vec<Self> {
        COMPILED.iter().copied().filter(|uk| uk.runs()).collect()
    }

    /// Whether this microkernel computes exact sums on this engine.
    fn runs(self) -> bool {
        match self {
            #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
            QGemmUkernel::UsdotRelaxed4x8 => usdot::usdot_exact(),
            _ => true,
        }
    }

    /// Rows per tile (panel height of packed A).
    pub const fn mr(self) -> usize {
        4
    }

    /// Columns per tile (panel width of packed B).
    pub const fn nr(self) -> usize {
        8
    }

    /// k values per packed group: 2 (c2, i16 pairs) or 4 (c4, int8 quads).
    pub const fn kr(self) -> usize {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            QGemmUkernel::Scalar4x8c4 => 4,
            #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
            QGemmUkernel::UsdotRelaxed4x8 => 4,
            _ => 2,
        }
    }

    /// Whether the output stage and matrix-vector path use SIMD128.
    const fn simd(self) -> bool {
        match self {
            #[cfg(scalar_gemm_4x8)]
            QGemmUkernel::Scalar4x8 => false,
            #[cfg(not(target_arch = "wasm32"))]
            QGemmUkernel::Scalar4x8c4 => false,
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            _ => true,
        }
    }
}

/// The int8 left matrix `A [m, k]` (row-major: one row per output channel) prepared for
/// repeated products: `ceil(m / MR)` panels of k pairs (k padded to even), i16, zero-padded
/// (c2), or of k quads in int8 (c4); or, for weights below 8 bits, the same panels as packed
/// 2- or 4-bit codes with a decoding table per row, decoded one panel at a time right before
/// the microkernel uses it ([`qs8_panel_decode`]): the decoded panel is the int8 path's panel
/// for the same microkernel, so the product is bit-identical to the int8 kernel's for the same
/// effective weights.
#[derive(Clone, Debug)]
pub struct PackedQA {
    m: usize,
    k: usize,
    ukernel: QGemmUkernel,
    data: Panels,
    /// Per row, `-128 sum_k a[row, k]` for c4 packings (see `layout`); empty for c2.
    offset: Vec<i32>,
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
    /// Ready int8 values (c4 packings).
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "relaxed-simd"))]
    I8(Vec<i8>),
}

impl PackedQA {
    /// Packs row-major `a` of shape `[m, k]` for [`QGemmUkernel::best`].
    pub fn pack(a: &[i8], m: usize, k: usize) -> Self {
        Self::pack_for(QGemmUkernel::best(), a, m, k)
    }

    /// Packs row-major `a` of shape `[m, k]` for the given microkernel (which [`qs8_gemm`]
    /// then uses).
    ///
    /// # Panics
    /// If the shapes disagree, or the microkernel does not run exactly on this engine (not in
    /// [`QGemmUkernel::all`]).
    pub fn pack_for(ukernel: QGemmUkernel, a: &[i8], m: usize, k: usize) -> Self {
        assert_eq!(
            a.len(),
            m * k,
            "PackedQA::pack: a has {} values for {m}x{k}",
            a.len()
        );
        assert!(
            ukernel.runs(),
            "PackedQA::pack: {ukernel:?} is not exact on this engine"
        );
        let (data, offset) = match ukernel.kr() {
            #[cfg(any(not(target_arch = "wasm32"), target_feature = "relaxed-simd"))]
            4 => (
                Panels::I8(pack::pack_a_c4(a, m, k, ukernel.mr())),
                offsets(m, |r| a[r * k..][..k].iter().copied()),
            ),
            _ => (Panels::I16(pack::pack_a(a, m, k, ukernel.mr())), Vec::new()),
        };
        PackedQA {
            m,
            k,
            ukernel,
            data,
            offset,
        }
    }

    /// Packs `b`-bit codes (row-major `[m, k]`, each `< 2^b`) for `ukernel`, kept packed at
    /// `bits` per code in the order of its panels (decoded one panel at a time); row `r`'s
    /// code `c` stands for the integer `tables[r][c]`.
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
        assert!(
            ukernel.runs(),
            "PackedQA::pack_codes: {ukernel:?} is not exact on this engine"
        );
        let (panel_order, offset) = match ukernel.kr() {
            #[cfg(any(not(target_arch = "wasm32"), target_feature = "relaxed-simd"))]
            4 => (
                pack::pack_a_codes::<4>(codes, m, k, mr),
                offsets(m, |r| {
                    codes[r * k..][..k]
                        .iter()
                        .map(move |&c| tables[r][usize::from(c)])
                }),
            ),
            _ => (pack::pack_a_codes::<2>(codes, m, k, mr), Vec::new()),
        };
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
            offset,
        }
    }

    /// Bytes of the packed weights as held in memory (i16 or int8 panels, or packed codes plus
    /// 16 table bytes per row; and c4's row offsets).
    pub fn bytes(&self) -> usize {
        (match &self.data {
            Panels::I16(d) => 2 * d.len(),
            Panels::Codes { packed, luts, .. } => packed.len() + 64 * luts.len(),
            #[cfg(any(not(target_arch = "wasm32"), target_feature = "relaxed-simd"))]
            Panels::I8(d) => d.len(),
        }) + 4 * self.offset.len()
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

    /// k rounded up to the packing's group size (values per packed row).
    #[inline]
    fn kp(&self) -> usize {
        self.k.next_multiple_of(self.ukernel.kr())
    }

    /// What row `row`'s sums start from before the output stage's bias: `-128 sum_k a` for
    /// c4 packings (their B values are `x + 128`), else 0.
    #[inline]
    fn offset(&self, row: usize) -> i32 {
        if self.offset.is_empty() {
            0
        } else {
            self.offset[row]
        }
    }

    /// Panel `pi` (`MR` rows of all k groups) of a packing in values `T`, decoded into
    /// `scratch` when stored as codes.
    #[inline]
    fn panel<'a, T: PanelValue + Default + 'static, const MR: usize>(
        &'a self,
        pi: usize,
        scratch: &'a mut Vec<T>,
        ready: impl FnOnce(&'a Panels) -> Option<&'a [T]>,
    ) -> &'a [T] {
        let len = self.kp() * MR;
        if let Some(all) = ready(&self.data) {
            return &all[pi * len..][..len];
        }
        let Panels::Codes { bits, packed, luts } = &self.data else {
            unreachable!("a {:?} packing of other values", self.ukernel)
        };
        let per_panel = bits.bytes_for(len);
        scratch.resize(len, T::default());
        qs8_panel_decode(
            &packed[pi * per_panel..][..per_panel],
            *bits,
            &luts[pi],
            scratch,
        );
        scratch
    }
}

/// Per row `r < m`, `-128 sum_k a[r, k]` (the c4 offsets) from each row's values.
#[cfg(any(not(target_arch = "wasm32"), target_feature = "relaxed-simd"))]
fn offsets<I: Iterator<Item = i8>>(m: usize, row: impl Fn(usize) -> I) -> Vec<i32> {
    (0..m)
        .map(|r| -128 * row(r).map(i32::from).sum::<i32>())
        .collect()
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
        #[cfg(scalar_gemm_4x8)]
        QGemmUkernel::Scalar4x8 => {
            dispatch::<C2, 4, 8, S, _>(a, b, n, c, stage, simd, qs8_gemm_4x8c2_scalar)
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        QGemmUkernel::Simd128x4x8 => {
            dispatch::<C2, 4, 8, S, _>(a, b, n, c, stage, simd, qs8_gemm_4x8c2_simd128)
        }
        #[cfg(not(target_arch = "wasm32"))]
        QGemmUkernel::Scalar4x8c4 => {
            dispatch::<C4, 4, 8, S, _>(a, b, n, c, stage, simd, scalar::qs8_gemm_4x8c4_scalar)
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
        QGemmUkernel::UsdotRelaxed4x8 => {
            dispatch::<C4, 4, 8, S, _>(a, b, n, c, stage, simd, usdot::qs8_gemm_4x8c4_usdot_relaxed)
        }
    }
}

/// Picks the matrix-vector path for `n == 1`, the blocked driver otherwise; with the `threads`
/// feature, large products are split across rayon's pool.
#[inline(always)]
fn dispatch<L: Layout, const MR: usize, const NR: usize, S: OutputStage, F>(
    a: &PackedQA,
    b: &[i8],
    n: usize,
    c: &mut [S::Out],
    stage: &S,
    simd: bool,
    ukernel: F,
) where
    F: Fn(&[L::A], &[L::B], &[i32; MR]) -> [[i32; NR]; MR] + Sync,
{
    if n == 1 {
        #[cfg(feature = "threads")]
        if par_gemv::<L, MR, S>(a, b, c, stage, simd) {
            return;
        }
        gemv::<L, MR, S>(a, b, c, 0, stage, simd);
        return;
    }
    // A column split would have every task decode every A panel: packed codes are decoded once
    // here instead, the panels shared out over the pool.
    #[cfg(feature = "threads")]
    let decoded = decoded_par::<L, MR>(a);
    #[cfg(feature = "threads")]
    let a = decoded.as_ref().unwrap_or(a);
    #[cfg(feature = "threads")]
    par_driver::<L, MR, NR, S, F>(a, b, n, c, stage, simd, &ukernel);
    #[cfg(not(feature = "threads"))]
    driver::<L, MR, NR, S, F, _>(
        a,
        b,
        n,
        (0..a.m, 0..n),
        &mut Dense { c, ldc: n },
        None,
        stage,
        simd,
        &ukernel,
    );
    #[cfg(feature = "threads")]
    if let Some(buf) = decoded.and_then(|d| L::into_values(d.data)) {
        L::decoded().with(|s| s.replace(buf));
    }
}

/// `a` with its packed codes decoded into panels of values (in parallel, by panel); `None`
/// when `a` holds values already.
#[cfg(feature = "threads")]
fn decoded_par<L: Layout, const MR: usize>(a: &PackedQA) -> Option<PackedQA> {
    let Panels::Codes { bits, packed, luts } = &a.data else {
        return None;
    };
    let len = a.kp() * MR;
    let per_panel = bits.bytes_for(len);
    let mut buf = L::decoded().with(|s| s.take());
    buf.resize(luts.len() * len, L::A::default());
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
        data: L::from_values(buf),
        offset: a.offset.clone(),
    })
}

/// `c = stage(a * x)` for one column, rows `row0..row0 + c.len()` (`row0` a multiple of
/// `MR`): streams each A panel once (this case is bound by reading A).
fn gemv<L: Layout, const MR: usize, S: OutputStage>(
    a: &PackedQA,
    x: &[i8],
    c: &mut [S::Out],
    row0: usize,
    stage: &S,
    simd: bool,
) {
    debug_assert_eq!(row0 % MR, 0);
    let mut scratch = Vec::new();
    let groups = L::x_groups(x);
    for (pi, rows) in c.chunks_mut(MR).enumerate() {
        let pi = row0 / MR + pi;
        let acc = L::gemv_panel::<MR>(L::panel::<MR>(a, pi, &mut scratch), &groups, simd);
        // Each output is another row (own multiplier): the scalar stage, m values only.
        for (r, out) in rows.iter_mut().enumerate() {
            let row = pi * MR + r;
            *out = stage.apply(row, acc[r].wrapping_add(a.offset(row)));
        }
    }
}

/// [`gemv`] split over row panels across rayon's pool; false, doing nothing, when it should
/// stay sequential.
#[cfg(feature = "threads")]
fn par_gemv<L: Layout, const MR: usize, S: OutputStage>(
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
        gemv::<L, MR, S>(a, x, rows, i * rows_per_part, stage, simd)
    });
    true
}
