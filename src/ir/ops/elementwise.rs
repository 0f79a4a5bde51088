//! Broadcasting, Clip and Softmax.

/// Numpy broadcasting of two shapes (aligned at the right).
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let n = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        if i + s.len() >= n {
            s[i + s.len() - n]
        } else {
            1
        }
    };
    (0..n)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            _ => Err(format!("shapes {a:?} and {b:?} do not broadcast")),
        })
        .collect()
}

/// `clamp(x, min, max)` with bounds known at import.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clip {
    /// Lower bound (`-inf` when absent).
    pub min: f32,
    /// Upper bound (`+inf` when absent).
    pub max: f32,
}

/// Softmax along `axis`. With `coerce_2d` (opset < 13) the input is viewed as 2-D
/// `[prod(shape[..axis]), prod(shape[axis..])]` and softmax runs along the second axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softmax {
    /// Axis, already made non-negative.
    pub axis: usize,
    /// Opset < 13 semantics.
    pub coerce_2d: bool,
}

impl Softmax {
    /// Shape rule: unchanged.
    pub fn output_shape(&self, x: &[usize]) -> Result<Vec<usize>, String> {
        if self.axis >= x.len().max(1) {
            return Err(format!("Softmax axis {} out of range for {x:?}", self.axis));
        }
        Ok(x.to_vec())
    }
}

/// `max(0, min(1, alpha x + beta))`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HardSigmoid {
    /// Slope.
    pub alpha: f32,
    /// Offset.
    pub beta: f32,
}

/// `x` for `x >= 0`, else `alpha x`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu {
    /// Slope below zero.
    pub alpha: f32,
}
