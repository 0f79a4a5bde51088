//! The execution plan: graph validation, per-node kernels, buffer sharing and lifetimes.

use super::conv::ConvPlan;
use super::elementwise::{BinOp, BinaryPlan, Unary};
use super::gemm::{GemmPlan, MatMulPlan};
use super::pool::PoolPlan;
use super::shape::{ConcatPlan, PadPlan};
use super::softmax::SoftmaxPlan;
use super::WeightMode;
use crate::exec::graph_plan::{validate, Lifetimes};
use crate::ir::ops::source_indices;
use crate::ir::{Activation, Graph, Op, ValueId};
use crate::Result;

/// What one step computes.
#[derive(Clone, Debug)]
pub(super) enum Kernel {
    Conv(ConvPlan),
    Gemm(GemmPlan),
    MatMul(MatMulPlan),
    Unary(Unary),
    Binary(BinOp, BinaryPlan),
    GlobalAveragePool {
        planes: usize,
        plane: usize,
    },
    Pool(PoolPlan),
    /// Flatten / Reshape / Identity: the output shares the input's buffer.
    Alias,
    Softmax(SoftmaxPlan),
    Concat(ConcatPlan),
    Pad(PadPlan),
    /// Transpose / Slice / Gather: `y[i] = x[source[i]]`.
    Take(Vec<usize>),
    /// ReduceMean: `y[dest[j]] += x[j] / count`.
    Mean {
        dest: Vec<usize>,
        count: usize,
    },
}

/// One node, planned.
#[derive(Clone, Debug)]
pub(super) struct Step {
    /// Node name.
    pub(super) name: String,
    /// Op kind, as in ONNX.
    pub(super) kind: &'static str,
    pub(super) kernel: Kernel,
    pub(super) inputs: Vec<ValueId>,
    pub(super) output: ValueId,
    /// Index of the input whose buffer is overwritten with the output (it dies here).
    pub(super) in_place: Option<usize>,
    /// Buffers (by root value) whose last reader is this step.
    pub(super) frees: Vec<ValueId>,
}

crate::exec::graph_plan::planned_step!(Step);

/// A graph turned into steps over shared, recycled buffers.
#[derive(Clone, Debug)]
pub(super) struct Plan {
    pub(super) steps: Vec<Step>,
    /// The value whose buffer holds each value (itself unless produced by an alias op).
    pub(super) root: Vec<ValueId>,
    /// Constant data by value id (row-major).
    pub(super) consts: Vec<Option<Vec<f32>>>,
    /// Element count of each value.
    pub(super) numel: Vec<usize>,
}

/// The kernel for `op` given input and output shapes (already validated).
fn kernel(op: &Op, ins: &[&[usize]], out: &[usize], mode: WeightMode) -> Kernel {
    match op {
        Op::Conv(c) => Kernel::Conv(ConvPlan::new(c, ins[0], out, mode)),
        Op::Gemm(g) => Kernel::Gemm(GemmPlan::new(g, ins[0], mode)),
        Op::MatMul => Kernel::MatMul(MatMulPlan::new(ins[0], ins[1])),
        Op::Relu => Kernel::Unary(Unary::Relu),
        Op::Clip(c) => Kernel::Unary(Unary::Clip(Activation {
            min: c.min,
            max: c.max,
        })),
        Op::Sigmoid => Kernel::Unary(Unary::Sigmoid),
        Op::HardSigmoid(h) => Kernel::Unary(Unary::HardSigmoid {
            alpha: h.alpha,
            beta: h.beta,
        }),
        Op::HardSwish => Kernel::Unary(Unary::HardSwish),
        Op::LeakyRelu(l) => Kernel::Unary(Unary::LeakyRelu(l.alpha)),
        Op::Tanh => Kernel::Unary(Unary::Tanh),
        Op::Add | Op::Mul | Op::Sub | Op::Div | Op::PRelu => {
            let bin = match op {
                Op::Add => BinOp::Add,
                Op::Mul => BinOp::Mul,
                Op::Sub => BinOp::Sub,
                Op::Div => BinOp::Div,
                _ => BinOp::PRelu,
            };
            Kernel::Binary(bin, BinaryPlan::new(ins[0], ins[1], out))
        }
        Op::Transpose(_) | Op::Slice(_) | Op::Gather(_) => {
            Kernel::Take(source_indices(op, ins[0]).unwrap_or_default())
        }
        Op::ReduceMean(r) => Kernel::Mean {
            dest: r.destinations(ins[0]),
            count: ins[0].iter().product::<usize>() / out.iter().product::<usize>().max(1),
        },
        Op::GlobalAveragePool => Kernel::GlobalAveragePool {
            planes: ins[0][0] * ins[0][1],
            plane: ins[0][2..].iter().product(),
        },
        Op::AveragePool(p) | Op::MaxPool(p) => {
            Kernel::Pool(PoolPlan::new(p, matches!(op, Op::MaxPool(_)), ins[0], out))
        }
        Op::Flatten(_) | Op::Reshape(_) | Op::Identity => Kernel::Alias,
        Op::Softmax(s) => Kernel::Softmax(SoftmaxPlan::new(ins[0], s.axis, s.coerce_2d)),
        Op::Concat(c) => Kernel::Concat(ConcatPlan::new(ins, c.axis)),
        Op::Pad(p) => Kernel::Pad(PadPlan::new(p, ins[0], out)),
    }
}

impl Plan {
    /// Validates `g` and plans every node.
    pub(super) fn new(g: &Graph, mode: WeightMode) -> Result<Plan> {
        validate(g)?;
        let nv = g.values.len();
        let numel: Vec<usize> = g.values.iter().map(|v| v.shape.iter().product()).collect();
        let mut consts: Vec<Option<Vec<f32>>> = vec![None; nv];
        for (v, t) in &g.constants {
            consts[*v] = Some(t.iter().copied().collect());
        }

        let lifetimes = Lifetimes::new(g);
        let Lifetimes { root, pinned, last } = &lifetimes;

        let mut steps = Vec::with_capacity(g.nodes.len());
        for (i, n) in g.nodes.iter().enumerate() {
            let ins: Vec<&[usize]> = n.inputs.iter().map(|&v| g.shape(v)).collect();
            let out = g.shape(n.outputs[0]);
            let kernel = kernel(&n.op, &ins, out, mode);
            // An input may be overwritten when this step is its buffer's last reader and no
            // other input of the step shares that buffer.
            let dies_here = |j: usize| {
                let r = root[n.inputs[j]];
                !pinned[r]
                    && last[r] == Some(i)
                    && n.inputs
                        .iter()
                        .enumerate()
                        .all(|(k, &v)| k == j || root[v] != r)
            };
            let in_place = match &kernel {
                Kernel::Unary(_) => Some(0).filter(|&j| dies_here(j)),
                Kernel::Binary(_, b) => b
                    .full_operands(ins[0], ins[1], out)
                    .into_iter()
                    .find(|&j| dies_here(j)),
                _ => None,
            };
            let frees = lifetimes.frees(n, i);
            steps.push(Step {
                name: n.name.clone(),
                kind: n.op.kind(),
                kernel,
                inputs: n.inputs.clone(),
                output: n.outputs[0],
                in_place,
                frees,
            });
        }
        Ok(Plan {
            steps,
            root: lifetimes.root.clone(),
            consts,
            numel,
        })
    }
}
