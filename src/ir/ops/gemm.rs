//! Gemm with a constant weight, and the shape rule of MatMul.

use super::Activation;
use ndarray::{Array2, ArrayD};

/// `y = act(op(x) W^T + bias)` where `op(x)` is `x` or `x^T` and `x` is 2-D `[M, K]`.
///
/// ONNX's `alpha` is folded into `weight` and `beta` into `bias` at import, and `transB` is
/// normalised so that `weight` is always `[N, K]` (one row per output feature).
#[derive(Clone, Debug)]
pub struct Gemm {
    /// Transpose the input (`transA`).
    pub trans_a: bool,
    /// Weight `[N, K]`.
    pub weight: Array2<f32>,
    /// Bias broadcastable to `[M, N]`.
    pub bias: Option<ArrayD<f32>>,
    /// Fused activation.
    pub activation: Activation,
}

impl Gemm {
    /// Shape rule: `[M, K] -> [M, N]`.
    pub fn output_shape(&self, x: &[usize]) -> Result<Vec<usize>, String> {
        if x.len() != 2 {
            return Err(format!("Gemm input must be 2-D, got {x:?}"));
        }
        let (m, k) = if self.trans_a {
            (x[1], x[0])
        } else {
            (x[0], x[1])
        };
        let (n, wk) = self.weight.dim();
        if k != wk {
            return Err(format!("Gemm input {x:?} has K={k}, weight is [{n}, {wk}]"));
        }
        if let Some(b) = &self.bias {
            super::broadcast_shapes(b.shape(), &[m, n])
                .ok()
                .filter(|s| s == &[m, n])
                .ok_or_else(|| {
                    format!("Gemm bias {:?} does not broadcast to [{m}, {n}]", b.shape())
                })?;
        }
        Ok(vec![m, n])
    }
}

/// Shape rule of numpy `matmul`: 1-D operands are promoted and the added axis removed;
/// batch axes broadcast.
pub fn matmul_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    if a.is_empty() || b.is_empty() {
        return Err("MatMul operands must have at least one axis".into());
    }
    let a2: Vec<usize> = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.to_vec()
    };
    let b2: Vec<usize> = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.to_vec()
    };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (kb, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != kb {
        return Err(format!("MatMul inner dimensions differ: {a:?} x {b:?}"));
    }
    let mut out = super::broadcast_shapes(&a2[..a2.len() - 2], &b2[..b2.len() - 2])?;
    if a.len() > 1 {
        out.push(m);
    }
    if b.len() > 1 {
        out.push(n);
    }
    Ok(out)
}
