//! Gemm (constant weight) and MatMul (two values), both on the packed f32 GEMM kernel.

use super::buffers::{scratch, Workspace};
use super::dynamic::{dequant, quantize_input, DynamicWeights};
use super::elementwise::broadcast_strides;
use super::WeightMode;
use crate::ir::ops::{broadcast_shapes, Gemm};
use crate::ir::Activation;
use crate::kernels::f32_gemm::{f32_gemm, PackedA};
use crate::kernels::qs8_gemm::qs8_gemm_f32;
use crate::kernels::{transpose, Epilogue};

/// Gemm ready to run. The kernel computes `C = W op(x)^T` (`[N, M]`) with the weight packed
/// once, so that a per-feature bias is the kernel's per-row epilogue; for `M = 1` (classifier
/// heads) `[N, 1]` already is the `[1, N]` output and nothing is transposed.
#[derive(Clone, Debug)]
pub(super) struct GemmPlan {
    weight: PackedA,
    /// Dynamic-range mode: int8 weights (then `weight` is empty).
    dynamic: Option<DynamicWeights>,
    trans_a: bool,
    m: usize,
    k: usize,
    n: usize,
    /// Bias per output feature, fused into the epilogue.
    row_bias: Option<Vec<f32>>,
    /// Bias `[M, N]` when it varies along M: added after the product.
    full_bias: Option<Vec<f32>>,
    act: Activation,
}

impl GemmPlan {
    /// Plans `gemm` for input shape `x` (checked by the shape rule).
    pub(super) fn new(gemm: &Gemm, x: &[usize], mode: WeightMode) -> GemmPlan {
        let (m, k) = if gemm.trans_a {
            (x[1], x[0])
        } else {
            (x[0], x[1])
        };
        let n = gemm.weight.nrows();
        let w: Vec<f32> = gemm.weight.iter().copied().collect();
        let (mut row_bias, mut full_bias) = (None, None);
        if let Some(b) = &gemm.bias {
            // Materialise [M, N] once, then see whether every row is the same.
            let full: Vec<f32> = match b.broadcast(ndarray::IxDyn(&[m, n])) {
                Some(v) => v.iter().copied().collect(),
                None => vec![0.0; m * n],
            };
            let per_feature = full
                .chunks_exact(n.max(1))
                .all(|r| r == &full[..n.min(full.len())]);
            if per_feature && m > 0 {
                row_bias = Some(full[..n].to_vec());
            } else {
                full_bias = Some(full);
            }
        }
        let (weight, dynamic) = match mode {
            WeightMode::F32 => (PackedA::pack(&w, n, k), None),
            WeightMode::DynamicInt8 { scheme } => (
                PackedA::pack(&[], 0, k),
                Some(DynamicWeights::new(&w, n, &scheme, Some(1))),
            ),
        };
        GemmPlan {
            weight,
            dynamic,
            trans_a: gemm.trans_a,
            m,
            k,
            n,
            row_bias,
            full_bias,
            act: gemm.activation,
        }
    }

    /// `y = act(op(x) W^T + bias)`.
    pub(super) fn run(&self, x: &[f32], y: &mut [f32], ws: &mut Workspace) {
        let (m, k, n) = (self.m, self.k, self.n);
        if m * n == 0 {
            return;
        }
        if let Some(d) = &self.dynamic {
            return self.run_dynamic(d, x, y, ws);
        }
        let (tmp, tmp2) = (&mut ws.cols, &mut ws.tmp);
        // With a full bias the clamp must wait until the bias is added.
        let epi = match &self.full_bias {
            Some(_) => Epilogue::NONE,
            None => Epilogue {
                bias: self.row_bias.as_deref(),
                min: self.act.min,
                max: self.act.max,
            },
        };
        if k == 0 {
            y.iter_mut()
                .enumerate()
                .for_each(|(i, v)| *v = epi.apply(i % n, 0.0));
        } else {
            // The kernel's right operand is op(x)^T = [K, M]: x itself when transposed or a row.
            let b: &[f32] = if self.trans_a || m == 1 {
                x
            } else {
                let t = scratch(tmp, k * m);
                transpose(x, m, k, t);
                t
            };
            if m == 1 {
                f32_gemm(&self.weight, b, 1, y, &epi);
            } else {
                let c = scratch(tmp2, n * m);
                f32_gemm(&self.weight, b, m, c, &epi);
                transpose(c, n, m, y);
            }
        }
        if let Some(bias) = &self.full_bias {
            for (v, &b) in y.iter_mut().zip(bias) {
                *v = self.act.apply(*v + b);
            }
        }
    }
}

impl GemmPlan {
    /// The dynamic-range path: quantize `x` from its own range, int8 GEMM, f32 output stage.
    fn run_dynamic(&self, d: &DynamicWeights, x: &[f32], y: &mut [f32], ws: &mut Workspace) {
        let (m, k, n) = (self.m, self.k, self.n);
        let xq = quantize_input(x, &mut ws.codes);
        let stage = d.stage(&xq);
        let zeros;
        let fbias = match &self.row_bias {
            Some(b) => b.as_slice(),
            None => {
                zeros = vec![0.0; n];
                &zeros
            }
        };
        let act = match &self.full_bias {
            Some(_) => Activation::NONE,
            None => self.act,
        };
        let deq = dequant(&stage, fbias, 0..n, act);
        if self.trans_a || m == 1 {
            if m == 1 {
                qs8_gemm_f32(&d.packs[0], &ws.codes, 1, y, &deq);
            } else {
                let c = scratch(&mut ws.tmp, n * m);
                qs8_gemm_f32(&d.packs[0], &ws.codes, m, c, &deq);
                transpose(c, n, m, y);
            }
        } else {
            let t = scratch(&mut ws.codes_cols, k * m);
            transpose(&ws.codes, m, k, t);
            let c = scratch(&mut ws.tmp, n * m);
            qs8_gemm_f32(&d.packs[0], t, m, c, &deq);
            transpose(c, n, m, y);
        }
        if let Some(bias) = &self.full_bias {
            for (v, &b) in y.iter_mut().zip(bias) {
                *v = self.act.apply(*v + b);
            }
        }
    }
}

/// Numpy `matmul` with batch broadcasting and 1-D promotion, one GEMM per output batch.
#[derive(Clone, Debug)]
pub(super) struct MatMulPlan {
    m: usize,
    k: usize,
    n: usize,
    /// Offsets of each output batch's left and right matrices.
    offsets: Vec<(usize, usize)>,
}

impl MatMulPlan {
    /// Plans `a @ b` (shapes checked by the shape rule).
    pub(super) fn new(a: &[usize], b: &[usize]) -> MatMulPlan {
        // 1-D promotion: [K] is [1, K] on the left and [K, 1] on the right; memory is the same.
        let a2 = if a.len() == 1 {
            vec![1, a[0]]
        } else {
            a.to_vec()
        };
        let b2 = if b.len() == 1 {
            vec![b[0], 1]
        } else {
            b.to_vec()
        };
        let (ab, am) = a2.split_at(a2.len() - 2);
        let (bb, bm) = b2.split_at(b2.len() - 2);
        let (m, k, n) = (am[0], am[1], bm[1]);
        let out = broadcast_shapes(ab, bb).unwrap_or_default();
        let strides = [broadcast_strides(ab, &out), broadcast_strides(bb, &out)];
        let mut offsets = Vec::new();
        super::elementwise::for_each_row(&out, &strides, |_, len, oa, ob, sa, sb| {
            for i in 0..len {
                offsets.push(((oa + i * sa) * m * k, (ob + i * sb) * k * n));
            }
        });
        MatMulPlan { m, k, n, offsets }
    }

    /// `y = a @ b`.
    pub(super) fn run(&self, a: &[f32], b: &[f32], y: &mut [f32]) {
        let (m, k, n) = (self.m, self.k, self.n);
        if m * n == 0 {
            return;
        }
        let mut packed: Option<(usize, PackedA)> = None;
        for (&(oa, ob), yb) in self.offsets.iter().zip(y.chunks_exact_mut(m * n)) {
            if k == 0 {
                yb.fill(0.0);
                continue;
            }
            // Broadcast left operands repeat: pack each distinct one once.
            if packed.as_ref().is_none_or(|(o, _)| *o != oa) {
                packed = Some((oa, PackedA::pack(&a[oa..oa + m * k], m, k)));
            }
            if let Some((_, pa)) = &packed {
                f32_gemm(pa, &b[ob..ob + k * n], n, yb, &Epilogue::NONE);
            }
        }
    }
}
