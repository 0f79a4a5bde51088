//! Dynamic-range quantization inside the f32 executor: Conv and Gemm keep int8 weights and
//! quantize their input per inference, from the range it actually has, then run the int8
//! kernels with an f32 output stage. Every other op stays f32 (onnxruntime's
//! `quantize_dynamic` does the same: no calibration, a min/max pass per layer and run).
//!
//! ```text
//! S_x, Z_x = asymmetric(min x, max x)             per tensor, each run
//! y[c] = act(S_x S_w[c] (sum_k w_q[c, k] q_x[k] - Z_x sum_k w_q[c, k]) + b[c])
//! ```

use crate::kernels::f32_qs8_vcvt::{f32_qs8_vcvt, Scaling};
use crate::kernels::f32_rminmax::f32_rminmax;
use crate::kernels::qs8_gemm::PackedQA;
use crate::kernels::qs8_requant::Dequant;
use crate::quant::scheme::Scheme;
use crate::quant::weights::QuantizedWeights;
use crate::quant::{QuantParams, QuantRange};

/// int8 weights of one Conv (per group) or Gemm, packed for the GEMM kernel or kept flat for
/// the depthwise one.
#[derive(Clone, Debug)]
pub(crate) struct DynamicWeights {
    pub(crate) weights: QuantizedWeights,
    /// One packed `[rows, k]` matrix per group (empty for depthwise).
    pub(crate) packs: Vec<PackedQA>,
    row_sums: Vec<i32>,
}

impl DynamicWeights {
    /// Quantizes row-major `w` of `rows` output channels; packs `groups` GEMM operands of
    /// `rows / groups` rows when `pack`.
    pub(crate) fn new(w: &[f32], rows: usize, scheme: &Scheme, groups: Option<usize>) -> Self {
        let weights = QuantizedWeights::quantize_scheme(w, rows, scheme, &[]);
        let packs = match groups {
            Some(groups) => {
                let per = rows / groups.max(1);
                let k = weights.cols();
                weights
                    .data
                    .chunks_exact((per * k).max(1))
                    .map(|r| PackedQA::pack(r, per, k))
                    .collect()
            }
            None => Vec::new(),
        };
        DynamicWeights {
            row_sums: weights.row_sums(),
            weights,
            packs,
        }
    }

    /// The output stage for an input quantized with `x`: zero-point term and scale per row.
    pub(crate) fn stage(&self, x: &QuantParams) -> (Vec<i32>, Vec<f32>) {
        let bias = self.row_sums.iter().map(|&s| -x.zero_point * s).collect();
        let scale = (0..self.weights.rows)
            .map(|c| x.scale * self.weights.scale(c))
            .collect();
        (bias, scale)
    }
}

/// Quantizes `x` into `codes` with parameters from its own range.
pub(crate) fn quantize_input(x: &[f32], codes: &mut Vec<i8>) -> QuantParams {
    let (lo, hi) = f32_rminmax(x);
    let p = QuantParams::asymmetric(lo, hi, QuantRange::FULL);
    codes.resize(x.len(), 0);
    f32_qs8_vcvt(&p, Scaling::Reciprocal, x, codes);
    p
}

/// The kernels' f32 output stage for rows `rows` of a per-run `stage`.
pub(crate) fn dequant<'a>(
    stage: &'a (Vec<i32>, Vec<f32>),
    fbias: &'a [f32],
    rows: std::ops::Range<usize>,
    act: crate::ir::Activation,
) -> Dequant<'a> {
    Dequant {
        bias: &stage.0[rows.clone()],
        scale: &stage.1[rows.clone()],
        fbias: &fbias[rows],
        min: act.min,
        max: act.max,
    }
}
