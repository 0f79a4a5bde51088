//! The op set. Each op is a small type with its attributes and a shape rule
//! (`output_shape(s)`), returning a message (no node name: the graph adds it) on failure.

mod conv;
mod elementwise;
mod gemm;
mod movement;
mod pool;
mod shape_ops;

pub use conv::Conv;
pub use elementwise::{broadcast_shapes, Clip, HardSigmoid, LeakyRelu, Softmax};
pub use gemm::Gemm;
pub use movement::{broadcast_source, source_indices, Gather, ReduceMean, Slice, Transpose};
pub use pool::Pool;
pub use shape_ops::{Concat, Flatten, Pad, PadMode, Reshape};

/// An activation fused into the op that produces a value: `y = clamp(x, min, max)`.
/// ReLU is `[0, inf)`, ReLU6 is `[0, 6]`; `None` clamps nothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Activation {
    /// Lower bound (`-inf` for none).
    pub min: f32,
    /// Upper bound (`+inf` for none).
    pub max: f32,
}

impl Activation {
    /// No clamping.
    pub const NONE: Activation = Activation {
        min: f32::NEG_INFINITY,
        max: f32::INFINITY,
    };
    /// `max(x, 0)`.
    pub const RELU: Activation = Activation {
        min: 0.0,
        max: f32::INFINITY,
    };

    /// True when the activation clamps nothing.
    pub fn is_none(&self) -> bool {
        *self == Self::NONE
    }

    /// The activation followed by `clamp(min, max)`: the intersection of both ranges.
    pub fn then_clamp(self, min: f32, max: f32) -> Activation {
        Activation {
            min: self.min.max(min),
            max: self.max.min(max),
        }
    }

    /// Applies the clamp to one value: `min(max(x, min), max)`, so that with `min > max` every
    /// value becomes `max` (ONNX Clip), and NaN stays NaN.
    #[inline]
    pub fn apply(&self, x: f32) -> f32 {
        let y = if x < self.min { self.min } else { x };
        if y > self.max {
            self.max
        } else {
            y
        }
    }
}

impl Default for Activation {
    fn default() -> Self {
        Self::NONE
    }
}

/// What a node computes.
#[derive(Clone, Debug)]
pub enum Op {
    /// 2-D convolution (grouped and depthwise included), NCHW, BatchNorm folded in.
    Conv(Conv),
    /// General matrix product with a constant weight: `y = act(x W^T + b)`.
    Gemm(Gemm),
    /// Numpy-style batched matrix product of two values.
    MatMul,
    /// `max(x, 0)`.
    Relu,
    /// `clamp(x, min, max)`.
    Clip(Clip),
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// Elementwise sum with numpy broadcasting.
    Add,
    /// Elementwise product with numpy broadcasting.
    Mul,
    /// Elementwise difference with numpy broadcasting.
    Sub,
    /// Elementwise quotient with numpy broadcasting.
    Div,
    /// `x` for `x >= 0`, else `slope * x` (slope broadcast to `x`, second input).
    PRelu,
    /// `max(0, min(1, alpha x + beta))`.
    HardSigmoid(HardSigmoid),
    /// `x * max(0, min(1, x / 6 + 1 / 2))`.
    HardSwish,
    /// `x` for `x >= 0`, else `alpha x`.
    LeakyRelu(LeakyRelu),
    /// Hyperbolic tangent.
    Tanh,
    /// Permute axes.
    Transpose(Transpose),
    /// Strided window with static bounds.
    Slice(Slice),
    /// Select along an axis with constant indices.
    Gather(Gather),
    /// Mean over some axes.
    ReduceMean(ReduceMean),
    /// Mean over the spatial axes, keeping them as 1.
    GlobalAveragePool,
    /// Windowed mean (NCHW).
    AveragePool(Pool),
    /// Windowed maximum (NCHW).
    MaxPool(Pool),
    /// Reshape to 2-D at an axis.
    Flatten(Flatten),
    /// Reshape to a static shape.
    Reshape(Reshape),
    /// Softmax along an axis.
    Softmax(Softmax),
    /// Join along an axis.
    Concat(Concat),
    /// Pad with a constant, by reflection or by edge replication.
    Pad(Pad),
    /// Copy (also Dropout at inference).
    Identity,
}

impl Op {
    /// Short name, as in ONNX.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Conv(_) => "Conv",
            Op::Gemm(_) => "Gemm",
            Op::MatMul => "MatMul",
            Op::Relu => "Relu",
            Op::Clip(_) => "Clip",
            Op::Sigmoid => "Sigmoid",
            Op::Add => "Add",
            Op::Mul => "Mul",
            Op::Sub => "Sub",
            Op::Div => "Div",
            Op::PRelu => "PRelu",
            Op::HardSigmoid(_) => "HardSigmoid",
            Op::HardSwish => "HardSwish",
            Op::LeakyRelu(_) => "LeakyRelu",
            Op::Tanh => "Tanh",
            Op::Transpose(_) => "Transpose",
            Op::Slice(_) => "Slice",
            Op::Gather(_) => "Gather",
            Op::ReduceMean(_) => "ReduceMean",
            Op::GlobalAveragePool => "GlobalAveragePool",
            Op::AveragePool(_) => "AveragePool",
            Op::MaxPool(_) => "MaxPool",
            Op::Flatten(_) => "Flatten",
            Op::Reshape(_) => "Reshape",
            Op::Softmax(_) => "Softmax",
            Op::Concat(_) => "Concat",
            Op::Pad(_) => "Pad",
            Op::Identity => "Identity",
        }
    }

    /// Whether the op maps each element of its one input to one output element by a fixed
    /// function (no constants, no neighbours): what a lookup table can compute.
    pub fn is_unary_elementwise(&self) -> bool {
        matches!(
            self,
            Op::Relu
                | Op::Clip(_)
                | Op::Sigmoid
                | Op::HardSigmoid(_)
                | Op::HardSwish
                | Op::LeakyRelu(_)
                | Op::Tanh
        )
    }

    /// For a binary elementwise op on `a` and `b`: `Some(block)` when `b` holds one value per
    /// `block` consecutive values of `a` (row-major), i.e. `b`'s shape is `a`'s with a run of
    /// trailing axes set to 1 (`[N, C, 1, 1]` against `[N, C, H, W]`: block `H * W`; equal
    /// shapes: block 1; a scalar: block `a`'s size).
    pub fn broadcast_block(a: &[usize], b: &[usize]) -> Option<usize> {
        if b.len() > a.len() {
            return None;
        }
        // `b` left-padded with ones to `a`'s rank.
        let pad = a.len() - b.len();
        let dim = |k: usize| if k < pad { 1 } else { b[k - pad] };
        // The first axis from which `b` is 1 everywhere; before it, `b` must equal `a`.
        let from = (0..=a.len())
            .rev()
            .take_while(|&k| k == a.len() || dim(k) == 1)
            .last()
            .unwrap_or(a.len());
        if (0..from).all(|k| dim(k) == a[k]) {
            Some(a[from..].iter().product())
        } else {
            None
        }
    }

    /// Output shapes for the given input shapes, or what does not fit.
    pub fn output_shapes(&self, inputs: &[&[usize]]) -> Result<Vec<Vec<usize>>, String> {
        let arity = match self {
            Op::Add | Op::Mul | Op::Sub | Op::Div | Op::PRelu | Op::MatMul => Some(2),
            Op::Concat(_) => None,
            _ => Some(1),
        };
        if let Some(n) = arity {
            if inputs.len() != n {
                return Err(format!(
                    "{} takes {n} input(s), got {}",
                    self.kind(),
                    inputs.len()
                ));
            }
        }
        let shape = match self {
            Op::Conv(c) => c.output_shape(inputs[0])?,
            Op::Gemm(g) => g.output_shape(inputs[0])?,
            Op::MatMul => gemm::matmul_shape(inputs[0], inputs[1])?,
            Op::Relu
            | Op::Clip(_)
            | Op::Sigmoid
            | Op::Identity
            | Op::HardSigmoid(_)
            | Op::HardSwish
            | Op::LeakyRelu(_)
            | Op::Tanh => inputs[0].to_vec(),
            Op::PRelu => {
                let out = broadcast_shapes(inputs[0], inputs[1])?;
                if out != inputs[0] {
                    return Err(format!(
                        "PRelu slope {:?} does not broadcast to {:?}",
                        inputs[1], inputs[0]
                    ));
                }
                out
            }
            Op::Transpose(t) => t.output_shape(inputs[0])?,
            Op::Slice(s) => s.output_shape(inputs[0])?,
            Op::Gather(g) => g.output_shape(inputs[0])?,
            Op::ReduceMean(r) => r.output_shape(inputs[0])?,
            Op::Softmax(s) => s.output_shape(inputs[0])?,
            Op::Add | Op::Mul | Op::Sub | Op::Div => broadcast_shapes(inputs[0], inputs[1])?,
            Op::GlobalAveragePool => pool::global_shape(inputs[0])?,
            Op::AveragePool(p) | Op::MaxPool(p) => p.output_shape(inputs[0])?,
            Op::Flatten(f) => f.output_shape(inputs[0])?,
            Op::Reshape(r) => r.output_shape(inputs[0])?,
            Op::Concat(c) => c.output_shape(inputs)?,
            Op::Pad(p) => p.output_shape(inputs[0])?,
        };
        Ok(vec![shape])
    }

    /// Learned parameters held inside the op (weights and biases).
    pub fn parameter_count(&self) -> usize {
        match self {
            Op::Conv(c) => c.weight.len() + c.bias.len(),
            Op::Gemm(g) => g.weight.len() + g.bias.as_ref().map_or(0, |b| b.len()),
            _ => 0,
        }
    }

    /// The fused activation, for ops that carry one.
    pub fn activation_mut(&mut self) -> Option<&mut Activation> {
        match self {
            Op::Conv(c) => Some(&mut c.activation),
            Op::Gemm(g) => Some(&mut g.activation),
            _ => None,
        }
    }
}
