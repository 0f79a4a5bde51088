//! Conv and Gemm in int8: packed int8 weights, the zero-point term folded into the bias.
//!
//! With symmetric weights (`Z_w = 0`), Jacob et al. (2018) eq. 7 reduces to
//!
//! ```text
//! acc[c] = b_q[c] + sum_k w_q[c, k] (q_x[k] - Z_x) = (b_q[c] - Z_x sum_k w_q[c, k]) + sum_k w_q[c, k] q_x[k]
//! ```
//!
//! so the kernels multiply raw codes and the bracket is computed once here (`bias`). Padding
//! reads `Z_x`, the code of a real 0, whose contribution the bracket cancels exactly.

use crate::exec::float::buffers::scratch;
use crate::exec::float::conv::{ConvKind, ConvShape};
use crate::ir::ops::{Conv, Gemm};
use crate::kernels::f32_im2col::im2col;
use crate::kernels::qs8_dwconv::{qs8_dwconv, qs8_dwconv_prepared, Qs8DwFilters};
use crate::kernels::qs8_gemm::{qs8_gemm, PackedQA, QGemmUkernel};
use crate::kernels::qs8_requant::{FloatForms, Requant};
use crate::kernels::qs8_unpack::{qs8_rows_decode, CodeBits};
use crate::kernels::{transpose, ConvGeometry};
use crate::quant::f32_requant::F32Requant;
use crate::quant::lower::QLinear;
use crate::quant::weights::QuantizedWeights;
use crate::quant::{Multiplier, QuantParams};

/// The per-channel output stage of a Conv or Gemm.
#[derive(Clone, Debug)]
struct OutputStage {
    /// `b_q[c] - Z_x sum_k w_q[c, k]`.
    bias: Vec<i32>,
    multipliers: Vec<Multiplier>,
    zero_point: i32,
    min: i8,
    max: i8,
    /// The rows' exact float forms, for the SIMD128 kernels (empty in other builds).
    float_forms: Vec<Option<F32Requant>>,
}

impl OutputStage {
    fn new(lin: &QLinear, x: &QuantParams, y: &QuantParams) -> OutputStage {
        let bias: Vec<i32> = lin
            .bias
            .iter()
            .zip(lin.weights.row_sums())
            .map(|(&b, s)| b - x.zero_point * s)
            .collect();
        let float_forms = if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
            F32Requant::for_weight_rows(
                &lin.multipliers,
                (&lin.weights.data, lin.weights.cols()),
                &bias,
                y.zero_point,
                lin.min,
                lin.max,
            )
        } else {
            Vec::new()
        };
        // Checked once here; `rows` hands out rows of them, unchanged, every run.
        FloatForms::checked(
            &float_forms,
            &lin.multipliers,
            y.zero_point,
            lin.min,
            lin.max,
        );
        OutputStage {
            bias,
            multipliers: lin.multipliers.clone(),
            zero_point: y.zero_point,
            min: lin.min,
            max: lin.max,
            float_forms,
        }
    }

    fn rows(&self, rows: std::ops::Range<usize>) -> Requant<'_> {
        let multiplier = &self.multipliers[rows.clone()];
        Requant {
            bias: &self.bias[rows.clone()],
            multiplier,
            zero_point: self.zero_point,
            min: self.min,
            max: self.max,
            float_forms: FloatForms::prechecked(
                self.float_forms.get(rows).unwrap_or_default(),
                multiplier,
                self.zero_point,
                self.min,
                self.max,
            ),
        }
    }
}

/// Every row's decoding table, padded to 16 entries (codes of at most 4 bits).
fn code_tables(w: &QuantizedWeights) -> Vec<[i8; 16]> {
    (0..w.rows)
        .map(|r| {
            let mut t = [0i8; 16];
            let table = w.table(r);
            t[..table.len()].copy_from_slice(table);
            t
        })
        .collect()
}

/// GEMM weights `[rows, k]` (the rows of one group) packed for the kernel: i16 panels, or
/// codes kept packed when they are narrower than a byte.
fn pack_gemm_weights(w: &QuantizedWeights, rows: std::ops::Range<usize>, k: usize) -> PackedQA {
    let (m, values) = (rows.len(), rows.start * k..rows.end * k);
    match w.packed_code_bits() {
        Some(bits) => PackedQA::pack_codes_for(
            QGemmUkernel::best(),
            &w.codes[values],
            &code_tables(w)[rows],
            bits,
            m,
            k,
        ),
        None => PackedQA::pack(&w.data[values], m, k),
    }
}

/// Depthwise filters `[C, kh * kw]`: int8 (prepared for the kernel once), or packed codes
/// decoded per run (a few KiB).
#[derive(Clone, Debug)]
enum DepthwiseWeights {
    I8(Qs8DwFilters),
    Codes {
        bits: CodeBits,
        packed: Vec<u8>,
        tables: Vec<[i8; 16]>,
        taps: usize,
    },
}

impl DepthwiseWeights {
    fn new(g: &ConvGeometry, w: &QuantizedWeights) -> Self {
        match w.packed_code_bits() {
            Some(bits) => DepthwiseWeights::Codes {
                bits,
                packed: w.packed_codes(),
                tables: code_tables(w),
                taps: w.cols(),
            },
            None => DepthwiseWeights::I8(Qs8DwFilters::new(g, &w.data)),
        }
    }

    /// `y = req(x * w)` for one group: prepared filters run as they are, packed codes are
    /// decoded into `scratch` first.
    fn conv(
        &self,
        g: &ConvGeometry,
        (x, pad): (&[i8], i8),
        req: &Requant,
        y: &mut [i8],
        scratch: &mut Vec<i8>,
    ) {
        match self {
            DepthwiseWeights::I8(f) => qs8_dwconv_prepared(g, x, pad, f, req, y),
            DepthwiseWeights::Codes {
                bits,
                packed,
                tables,
                taps,
            } => {
                scratch.resize(tables.len() * taps, 0);
                qs8_rows_decode(packed, *bits, tables, *taps, scratch);
                qs8_dwconv(g, x, pad, scratch, req, y)
            }
        }
    }
}

/// An int8 convolution ready to run.
#[derive(Clone, Debug)]
pub(super) struct QConvPlan {
    shape: ConvShape,
    /// Depthwise weights `[C, kh * kw]`.
    depthwise: Option<DepthwiseWeights>,
    /// GEMM weights packed per group.
    packs: Vec<PackedQA>,
    stage: OutputStage,
    /// `Z_x`: what padding reads.
    pad: i8,
}

impl QConvPlan {
    /// Plans `conv` (with its int8 layer `lin`) for input `x` and output `y` shapes.
    pub(super) fn new(
        conv: &Conv,
        lin: &QLinear,
        (xs, xp): (&[usize], &QuantParams),
        (ys, yp): (&[usize], &QuantParams),
    ) -> QConvPlan {
        let shape = ConvShape::new(conv, xs, ys);
        let (depthwise, packs) = if shape.kind == ConvKind::Depthwise {
            (
                Some(DepthwiseWeights::new(&shape.geom, &lin.weights)),
                Vec::new(),
            )
        } else {
            let (k, per) = (shape.k(), shape.out_per_group);
            let packs = (0..shape.groups)
                .map(|g| pack_gemm_weights(&lin.weights, g * per..(g + 1) * per, k))
                .collect();
            (None, packs)
        };
        QConvPlan {
            shape,
            depthwise,
            packs,
            stage: OutputStage::new(lin, xp, yp),
            pad: xp.zero_point as i8,
        }
    }

    /// Short description of the chosen path.
    pub(super) fn path_name(&self) -> &'static str {
        self.shape.kind.name()
    }

    /// Bytes of the weights as the plan holds them (packed codes stay packed).
    pub(super) fn weight_bytes(&self) -> usize {
        let depthwise = match &self.depthwise {
            Some(DepthwiseWeights::I8(f)) => f.weights().len(),
            Some(DepthwiseWeights::Codes { packed, tables, .. }) => {
                packed.len() + 16 * tables.len()
            }
            None => 0,
        };
        depthwise + self.packs.iter().map(PackedQA::bytes).sum::<usize>()
    }

    /// `y = requant(conv(x))` for the whole batch; `cols` is the im2col scratch (depthwise: the
    /// decoded filters of packed codes).
    pub(super) fn run(&self, x: &[i8], y: &mut [i8], cols: &mut Vec<i8>) {
        let s = &self.shape;
        let (g, n) = (&s.geom, s.out_plane());
        if let Some(d) = &self.depthwise {
            s.for_each_group(x, y, |_, rows, xg, yg| {
                d.conv(g, (xg, self.pad), &self.stage.rows(rows), yg, cols)
            });
            return;
        }
        s.for_each_group(x, y, |gi, rows, xg, yg| {
            let req = self.stage.rows(rows);
            match s.kind {
                ConvKind::Depthwise => unreachable!("planned with depthwise filters"),
                ConvKind::Direct => qs8_gemm(&self.packs[gi], xg, n, yg, &req),
                ConvKind::Im2col => {
                    let c = scratch(cols, s.k() * n);
                    im2col(g, xg, self.pad, c);
                    qs8_gemm(&self.packs[gi], c, n, yg, &req);
                }
            }
        });
    }
}

/// An int8 Gemm `[M, K] x W[N, K]^T -> [M, N]`.
#[derive(Clone, Debug)]
pub(super) struct QGemmPlan {
    weight: PackedQA,
    stage: OutputStage,
    m: usize,
    k: usize,
    n: usize,
}

impl QGemmPlan {
    /// Plans `gemm` for input shape `x`.
    pub(super) fn new(
        gemm: &Gemm,
        lin: &QLinear,
        (xs, xp): (&[usize], &QuantParams),
        yp: &QuantParams,
    ) -> QGemmPlan {
        let (m, k) = (xs[0], xs[1]);
        let n = gemm.weight.nrows();
        QGemmPlan {
            weight: pack_gemm_weights(&lin.weights, 0..n, k),
            stage: OutputStage::new(lin, xp, yp),
            m,
            k,
            n,
        }
    }

    /// Bytes of the packed weights as the plan holds them.
    pub(super) fn weight_bytes(&self) -> usize {
        self.weight.bytes()
    }

    /// `y = requant(x W^T + b)`. The kernel computes `W x^T` (`[N, M]`), so that the bias and
    /// multiplier are per row; for `M = 1` that already is the output.
    pub(super) fn run(&self, x: &[i8], y: &mut [i8], tmp: &mut Vec<i8>) {
        let (m, k, n) = (self.m, self.k, self.n);
        let req = self.stage.rows(0..n);
        if m == 1 {
            qs8_gemm(&self.weight, x, 1, y, &req);
            return;
        }
        let t = scratch(tmp, k * m + n * m);
        let (xt, yt) = t.split_at_mut(k * m);
        transpose(x, m, k, xt);
        qs8_gemm(&self.weight, xt, m, yt, &req);
        transpose(yt, n, m, y);
    }
}
