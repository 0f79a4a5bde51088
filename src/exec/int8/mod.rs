//! The int8 executor: runs a [`QuantizedGraph`] with integer arithmetic only, from the
//! quantized input to the dequantized output.
//!
//! The graph input is quantized with its calibrated parameters, every node computes int8 codes
//! from int8 codes (int32 accumulators, fixed-point requantization, see [`crate::quant`]), and
//! only the graph outputs are turned back into f32. A node without an int8 form runs in f32
//! between dequantized inputs and a quantized output (a float island, e.g. a final Softmax,
//! which keeps its f32 output); unary elementwise ops are 256-entry tables.
//! Planning packs the int8 weights, folds the zero-point terms into the biases and shares
//! buffers exactly like the f32 executor.

mod conv;
mod island;
mod ops;

use super::float::buffers::{Buf, BufPool};
use super::float::pool::PoolPlan;
use super::float::shape::{ConcatPlan, PadPlan};
use super::float::NodeTime;
use super::graph_plan::{check_inputs, run_steps, validate, with_workspace, HasPool, Lifetimes};
use crate::ir::ops::source_indices;
use crate::ir::{Op, Tensor, ValueId};
use crate::kernels::f32_qs8_vcvt::{f32_qs8_vcvt, Scaling};
use crate::kernels::parallel;
use crate::kernels::qs8_add::{qs8_add, QAdd, QAddTable};
use crate::kernels::qs8_lut::qs8_lut;
use crate::kernels::qs8_mul::{qs8_mul, QMul};
use crate::quant::lower::ADD_LEFT_SHIFT;
use crate::quant::lower::{QLayer, QuantizedGraph};
use crate::quant::{Multiplier, QuantParams};
use crate::{Error, Result};
use conv::{QConvPlan, QGemmPlan};
use island::{lookup_table, FloatIsland};
use ops::{requantize_block, QAverage};
use std::sync::Mutex;

#[derive(Debug)]
enum QKernel {
    Conv(QConvPlan),
    Gemm(QGemmPlan),
    /// Add, as the table of its results.
    Add(QAddTable),
    /// `y = a * b`, `b` one value per `block` values of `a` (operands swapped from the node's
    /// when `swap`).
    Mul {
        mul: QMul,
        block: usize,
        swap: bool,
    },
    GlobalAverage {
        avg: QAverage,
        plane: usize,
    },
    AveragePool(QAverage, PoolPlan),
    MaxPool(PoolPlan),
    Concat {
        plan: ConcatPlan,
        inputs: Vec<Option<(Multiplier, i32)>>,
        y: QuantParams,
    },
    Clamp(i8, i8),
    Alias,
    /// Pad, with the fill code.
    Pad(PadPlan, i8),
    /// Transpose, Slice, Gather: `y[i] = x[source[i]]` ([`source_indices`]).
    Take(Vec<usize>),
    /// A unary elementwise op as a table from input to output codes.
    Lookup(Box<[i8; 256]>),
    /// A node run in f32 between int8 values.
    Float(Box<FloatIsland>),
}

#[derive(Debug)]
struct QStep {
    name: String,
    kind: &'static str,
    kernel: QKernel,
    inputs: Vec<ValueId>,
    output: ValueId,
    frees: Vec<ValueId>,
}

/// Buffers kept between runs.
#[derive(Debug, Default)]
struct Workspace {
    pool: BufPool<i8>,
    cols: Vec<i8>,
    tmp: Vec<i8>,
}

impl HasPool<i8> for Workspace {
    fn pool(&mut self) -> &mut BufPool<i8> {
        &mut self.pool
    }
    fn shelf() -> &'static Mutex<Vec<Self>> {
        static SHELF: Mutex<Vec<Workspace>> = Mutex::new(Vec::new());
        &SHELF
    }
}

super::graph_plan::planned_step!(QStep);

/// Runs a quantized graph in integers. Plans once in [`Int8Executor::new`];
/// [`Int8Executor::run`] takes `&self`.
#[derive(Debug)]
pub struct Int8Executor {
    q: QuantizedGraph,
    steps: Vec<QStep>,
    root: Vec<ValueId>,
}

fn missing(q: &QuantizedGraph, v: ValueId) -> Error {
    Error::MalformedModel(format!(
        "value '{}' read before it is computed",
        q.graph.values[v].name
    ))
}

fn params(q: &QuantizedGraph, v: ValueId) -> Result<QuantParams> {
    q.params[v].ok_or_else(|| {
        Error::MalformedModel(format!(
            "value '{}' has no int8 parameters",
            q.graph.values[v].name
        ))
    })
}

impl Int8Executor {
    /// Validates and plans a quantized graph.
    pub fn new(q: QuantizedGraph) -> Result<Int8Executor> {
        let g = &q.graph;
        validate(g)?;
        if q.layers.len() != g.nodes.len() {
            return Err(Error::MalformedModel(format!(
                "{} int8 layers for {} nodes",
                q.layers.len(),
                g.nodes.len()
            )));
        }
        // Constants outside an op are read only by float islands (int8 kernels hold theirs).
        for (n, layer) in g.nodes.iter().zip(&q.layers) {
            let constant = n.inputs.iter().find(|&&v| g.constant(v).is_some());
            if let (Some(&v), false) = (constant, matches!(layer, QLayer::Float { .. })) {
                return Err(Error::MalformedModel(format!(
                    "node '{}' reads the constant '{}' but runs in int8",
                    n.name, g.values[v].name
                )));
            }
        }
        let lifetimes = Lifetimes::new(g);
        let mut steps = Vec::with_capacity(g.nodes.len());
        for (i, (n, layer)) in g.nodes.iter().zip(&q.layers).enumerate() {
            let x = n.inputs[0];
            let (xs, ys) = (g.shape(x), g.shape(n.outputs[0]));
            let kernel = match (&n.op, layer) {
                (Op::Conv(c), QLayer::Linear(lin)) => QKernel::Conv(QConvPlan::new(
                    c,
                    lin,
                    (xs, &params(&q, x)?),
                    (ys, &params(&q, n.outputs[0])?),
                )),
                (Op::Gemm(gm), QLayer::Linear(lin)) => QKernel::Gemm(QGemmPlan::new(
                    gm,
                    lin,
                    (xs, &params(&q, x)?),
                    &params(&q, n.outputs[0])?,
                )),
                (Op::Add, QLayer::Add { a, b, out }) => QKernel::Add(QAddTable::new(&QAdd {
                    a: (*a, params(&q, n.inputs[0])?.zero_point),
                    b: (*b, params(&q, n.inputs[1])?.zero_point),
                    out: (*out, params(&q, n.outputs[0])?.zero_point),
                    left_shift: ADD_LEFT_SHIFT,
                    clamp: ops::codes(&params(&q, n.outputs[0])?),
                })),
                (Op::Mul, QLayer::Mul { out }) => {
                    let (sa, sb) = (g.shape(n.inputs[0]), g.shape(n.inputs[1]));
                    let (block, swap) = match Op::broadcast_block(sa, sb) {
                        Some(block) => (block, false),
                        None => (Op::broadcast_block(sb, sa).unwrap_or(1), true),
                    };
                    let (a, b) = if swap { (1, 0) } else { (0, 1) };
                    let y = params(&q, n.outputs[0])?;
                    QKernel::Mul {
                        mul: QMul {
                            a_zero: params(&q, n.inputs[a])?.zero_point,
                            b_zero: params(&q, n.inputs[b])?.zero_point,
                            out: (*out, y.zero_point),
                            clamp: ops::codes(&y),
                        },
                        block,
                        swap,
                    }
                }
                (Op::GlobalAveragePool, QLayer::Average { ratio }) => {
                    let plane = xs[2..].iter().product();
                    let (xp, yp) = (params(&q, x)?, params(&q, n.outputs[0])?);
                    QKernel::GlobalAverage {
                        avg: QAverage::new(*ratio, plane, &xp, &yp),
                        plane,
                    }
                }
                (Op::AveragePool(p), QLayer::Average { ratio }) => {
                    let (xp, yp) = (params(&q, x)?, params(&q, n.outputs[0])?);
                    let taps = p.kernel[0] * p.kernel[1];
                    QKernel::AveragePool(
                        QAverage::new(*ratio, taps, &xp, &yp),
                        PoolPlan::new(p, false, xs, ys),
                    )
                }
                (Op::MaxPool(p), QLayer::Same) => QKernel::MaxPool(PoolPlan::new(p, true, xs, ys)),
                (Op::Flatten(_) | Op::Reshape(_) | Op::Identity, QLayer::Same) => QKernel::Alias,
                (Op::Pad(p), QLayer::Pad { fill }) => {
                    QKernel::Pad(PadPlan::new(p, xs, g.shape(n.outputs[0])), *fill)
                }
                (op @ (Op::Transpose(_) | Op::Slice(_) | Op::Gather(_)), QLayer::Same) => {
                    QKernel::Take(source_indices(op, xs).unwrap_or_default())
                }
                (Op::Relu | Op::Clip(_), QLayer::Clamp { min, max }) => QKernel::Clamp(*min, *max),
                (Op::Concat(c), QLayer::Concat(ms)) => {
                    let shapes: Vec<&[usize]> = n.inputs.iter().map(|&v| g.shape(v)).collect();
                    let mut inputs = Vec::with_capacity(ms.len());
                    for (&v, m) in n.inputs.iter().zip(ms) {
                        inputs.push(
                            m.map(|m| params(&q, v).map(|p| (m, p.zero_point)))
                                .transpose()?,
                        );
                    }
                    QKernel::Concat {
                        plan: ConcatPlan::new(&shapes, c.axis),
                        inputs,
                        y: params(&q, n.outputs[0])?,
                    }
                }
                (op, QLayer::Lookup) => QKernel::Lookup(Box::new(lookup_table(
                    op,
                    &params(&q, x)?,
                    &params(&q, n.outputs[0])?,
                )?)),
                (_, QLayer::Float { .. }) => {
                    QKernel::Float(Box::new(FloatIsland::new(g, n, &q.params)?))
                }
                (op, layer) => {
                    return Err(Error::MalformedModel(format!(
                        "node '{}' ({}) has the int8 layer {layer:?}, which does not fit it",
                        n.name,
                        op.kind()
                    )))
                }
            };
            let inputs = match &kernel {
                QKernel::Float(island) => island.runtime_inputs(),
                _ => n.inputs.clone(),
            };
            steps.push(QStep {
                name: n.name.clone(),
                kind: n.op.kind(),
                kernel,
                inputs,
                output: n.outputs[0],
                frees: lifetimes.frees(n, i),
            });
        }
        Ok(Int8Executor {
            root: lifetimes.root,
            q,
            steps,
        })
    }

    /// The quantized graph being executed.
    pub fn quantized(&self) -> &QuantizedGraph {
        &self.q
    }

    /// Bytes of the Conv/Gemm weights as the planned kernels hold them in memory: i16 panels
    /// for 8-bit codes (what the int8 GEMM multiplies), packed codes plus decoding tables
    /// below 5 bits, int8 depthwise filters.
    pub fn kernel_weight_bytes(&self) -> usize {
        self.steps
            .iter()
            .map(|s| match &s.kernel {
                QKernel::Conv(c) => c.weight_bytes(),
                QKernel::Gemm(g) => g.weight_bytes(),
                _ => 0,
            })
            .sum()
    }

    /// Convolution path chosen for each Conv node.
    pub fn conv_paths(&self) -> Vec<(&str, &'static str)> {
        self.steps
            .iter()
            .filter_map(|s| match &s.kernel {
                QKernel::Conv(c) => Some((s.name.as_str(), c.path_name())),
                _ => None,
            })
            .collect()
    }

    /// Runs the graph on f32 inputs (quantized on entry); returns f32 outputs (dequantized).
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        self.execute(inputs, None).map(|(o, _)| o)
    }

    /// Like [`run`](Self::run), timing every node with `clock` (milliseconds).
    pub fn run_profiled(
        &self,
        inputs: &[Tensor],
        mut clock: impl FnMut() -> f64,
    ) -> Result<(Vec<Tensor>, Vec<NodeTime>)> {
        self.execute(inputs, Some(&mut clock))
    }

    fn execute(
        &self,
        inputs: &[Tensor],
        clock: Option<&mut dyn FnMut() -> f64>,
    ) -> Result<(Vec<Tensor>, Vec<NodeTime>)> {
        let g = &self.q.graph;
        check_inputs(g, inputs)?;
        let mut bufs: Vec<Option<Buf<i8>>> = vec![None; g.values.len()];
        with_workspace(&mut bufs, |ws: &mut Workspace, bufs| {
            // One team for the whole run, the input's conversion included (run_steps' own
            // team call then just runs its loop).
            parallel::team(|| self.execute_in(inputs, clock, ws, bufs))
        })
    }

    fn execute_in(
        &self,
        inputs: &[Tensor],
        clock: Option<&mut dyn FnMut() -> f64>,
        ws: &mut Workspace,
        bufs: &mut [Option<Buf<i8>>],
    ) -> Result<(Vec<Tensor>, Vec<NodeTime>)> {
        let g = &self.q.graph;
        for (t, &v) in inputs.iter().zip(&g.inputs) {
            let p = params(&self.q, v)?;
            let mut b = ws.pool.take(t.len());
            // A view with other strides is copied once into row-major order.
            let r = t.as_standard_layout();
            let r = r.as_slice().expect("standard layout is contiguous");
            f32_qs8_vcvt(&p, Scaling::Divide, r, &mut b);
            bufs[v] = Some(b);
        }
        let mut float_out: Vec<Option<Vec<f32>>> = vec![None; g.values.len()];
        let times = run_steps(
            &self.steps,
            bufs,
            ws,
            clock,
            |step, bufs, ws| self.run_step(step, bufs, &mut float_out, ws),
            |_, _| Ok(()),
        )?;
        let mut outputs = Vec::with_capacity(g.outputs.len());
        for &o in &g.outputs {
            let data = match float_out[o].take() {
                Some(f) => f,
                None => {
                    let p = params(&self.q, o)?;
                    let codes = bufs[self.root[o]]
                        .as_deref()
                        .ok_or_else(|| missing(&self.q, o))?;
                    codes.iter().map(|&c| p.dequantize(c)).collect()
                }
            };
            outputs.push(
                Tensor::from_shape_vec(ndarray::IxDyn(g.shape(o)), data).map_err(|e| {
                    Error::MalformedModel(format!("output '{}': {e}", g.values[o].name))
                })?,
            );
        }
        Ok((outputs, times))
    }

    fn run_step(
        &self,
        step: &QStep,
        bufs: &mut [Option<Buf<i8>>],
        float_out: &mut [Option<Vec<f32>>],
        ws: &mut Workspace,
    ) -> Result<()> {
        if let QKernel::Alias = step.kernel {
            return Ok(());
        }
        let numel: usize = self.q.graph.shape(step.output).iter().product();
        let ins = step
            .inputs
            .iter()
            .map(|&v| {
                bufs[self.root[v]]
                    .as_deref()
                    .ok_or_else(|| missing(&self.q, v))
            })
            .collect::<Result<Vec<&[i8]>>>()?;
        if let QKernel::Float(island) = &step.kernel {
            if !island.quantizes() {
                float_out[step.output] = island.run(&ins, &mut [])?;
                return Ok(());
            }
        }
        let mut y = ws.pool.take(numel);
        match &step.kernel {
            QKernel::Conv(c) => c.run(ins[0], &mut y, &mut ws.cols),
            QKernel::Gemm(gm) => gm.run(ins[0], &mut y, &mut ws.tmp),
            QKernel::Add(t) => qs8_add(t, ins[0], ins[1], &mut y),
            QKernel::Mul { mul, block, swap } => {
                let (a, b) = if *swap {
                    (ins[1], ins[0])
                } else {
                    (ins[0], ins[1])
                };
                qs8_mul(mul, a, b, *block, &mut y)
            }
            QKernel::GlobalAverage { avg, plane } => avg.global(*plane, ins[0], &mut y),
            QKernel::AveragePool(avg, pool) => pool.reduce(
                ins[0],
                &mut y,
                0i32,
                |acc, q| acc + avg.centred(q),
                |acc, n| avg.finish(acc, n),
            ),
            QKernel::MaxPool(pool) => {
                pool.reduce(ins[0], &mut y, i8::MIN, |a, q| a.max(q), |a, _| a)
            }
            QKernel::Concat {
                plan,
                inputs,
                y: yp,
            } => plan.run_with(&ins, &mut y, |i, src, dst| {
                requantize_block(inputs[i], yp, src, dst)
            }),
            QKernel::Clamp(lo, hi) => {
                for (d, &q) in y.iter_mut().zip(ins[0]) {
                    *d = q.clamp(*lo, *hi);
                }
            }
            QKernel::Lookup(table) => qs8_lut(table, ins[0], &mut y),
            QKernel::Pad(plan, fill) => plan.run(ins[0], &mut y, *fill),
            QKernel::Take(source) => {
                for (d, &i) in y.iter_mut().zip(source) {
                    *d = ins[0][i];
                }
            }
            QKernel::Float(island) => {
                island.run(&ins, &mut y)?;
            }
            QKernel::Alias => unreachable!("handled above"),
        }
        bufs[step.output] = Some(y);
        Ok(())
    }
}
