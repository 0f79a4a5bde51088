//! Softmax along one axis, numerically stable (the maximum is subtracted first).

/// Softmax over `n` values `inner` apart, for every `outer` block and `inner` offset.
/// `coerce_2d` (opset < 13) is the same loop with `n = prod(shape[axis..])`, `inner = 1`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SoftmaxPlan {
    /// Independent blocks before the axis.
    pub(crate) outer: usize,
    /// Length of the reduced axis.
    pub(crate) n: usize,
    /// Elements after the axis.
    pub(crate) inner: usize,
}

impl SoftmaxPlan {
    /// Plans softmax of a tensor of `shape` along `axis`.
    pub(crate) fn new(shape: &[usize], axis: usize, coerce_2d: bool) -> SoftmaxPlan {
        let axis = axis.min(shape.len());
        let outer = shape[..axis].iter().product();
        if coerce_2d {
            return SoftmaxPlan {
                outer,
                n: shape[axis..].iter().product(),
                inner: 1,
            };
        }
        SoftmaxPlan {
            outer,
            n: shape.get(axis).copied().unwrap_or(1),
            inner: shape.get(axis + 1..).map_or(1, |s| s.iter().product()),
        }
    }

    /// `y = softmax(x)`.
    pub(crate) fn run(&self, x: &[f32], y: &mut [f32]) {
        let SoftmaxPlan { outer, n, inner } = *self;
        for o in 0..outer {
            for i in 0..inner {
                let base = o * n * inner + i;
                let at = |k: usize| base + k * inner;
                let max = (0..n).map(|k| x[at(k)]).fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0.0;
                for k in 0..n {
                    let e = (x[at(k)] - max).exp();
                    y[at(k)] = e;
                    sum += e;
                }
                let inv = 1.0 / sum;
                for k in 0..n {
                    y[at(k)] *= inv;
                }
            }
        }
    }
}
