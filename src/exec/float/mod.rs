//! The f32 executor: plans a [`Graph`] once, then runs it on input tensors.
//!
//! Planning packs every Conv and Gemm weight for the GEMM kernel, chooses a convolution path
//! per node (depthwise kernel; direct GEMM for pointwise convolutions, whose NCHW input per
//! image already is the `[C, H*W]` right operand; im2col + GEMM otherwise), lets Flatten,
//! Reshape and Identity share their input's buffer, and computes when each buffer is read for
//! the last time so that it is recycled (or overwritten in place by an elementwise op).

pub(crate) mod buffers;
pub(crate) mod conv;
mod dynamic;
mod elementwise;
mod gemm;
mod plan;
pub(crate) mod pool;
pub(crate) mod shape;
pub(crate) mod softmax;

use super::graph_plan::{check_inputs, run_steps, with_workspace};
use crate::ir::{Graph, Tensor, ValueId};
use crate::{Error, Result};
use buffers::{Buf, Workspace};
use plan::{Kernel, Plan, Step};

/// The callback of [`FloatExecutor::run_observed`]: a value and its data.
type ObserveFn<'a> = &'a mut dyn FnMut(ValueId, &[f32]);

/// How the executor holds Conv and Gemm weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WeightMode {
    /// f32 weights, f32 products.
    #[default]
    F32,
    /// Dynamic-range quantization: integer weights under a scheme (bits, levels, per output
    /// channel or per tensor), the input of each Conv/Gemm quantized per run from its own
    /// range, int8 products, f32 outputs.
    DynamicInt8 {
        /// How the weights are quantized (its activation fields are not used).
        scheme: crate::quant::scheme::Scheme,
    },
}

/// Time spent in one node: `(node name, op kind, milliseconds)`.
pub type NodeTime = (String, &'static str, f64);

/// Runs a graph in f32. Plans once in [`FloatExecutor::new`]; [`FloatExecutor::run`] takes
/// `&self` and may be called concurrently (each concurrent run gets its own scratch).
#[derive(Debug)]
pub struct FloatExecutor {
    graph: Graph,
    plan: Plan,
}

fn missing(graph: &Graph, v: ValueId) -> Error {
    // Unreachable after validation; an error rather than a panic all the same.
    Error::MalformedModel(format!(
        "value '{}' read before it is computed",
        graph.values[v].name
    ))
}

impl FloatExecutor {
    /// Validates `graph` (ids, order, shape rules) and builds the execution plan.
    pub fn new(graph: Graph) -> Result<FloatExecutor> {
        Self::with_weights(graph, WeightMode::F32)
    }

    /// Like [`new`](Self::new), holding Conv and Gemm weights as `mode` says.
    pub fn with_weights(graph: Graph, mode: WeightMode) -> Result<FloatExecutor> {
        let plan = Plan::new(&graph, mode)?;
        Ok(FloatExecutor { graph, plan })
    }

    /// The graph being executed.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Runs the graph: one tensor per graph input, in order, with exactly the input's shape.
    /// Returns one tensor per graph output.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        self.execute(inputs, None, None).map(|(out, _)| out)
    }

    /// Like [`run`](Self::run), also handing `observe` every graph input and every node
    /// output as it is computed (before its buffer is recycled), in execution order: what
    /// calibration needs to see each activation. Flatten, Reshape and Identity outputs are
    /// reported too (their data is their input's).
    pub fn run_observed(
        &self,
        inputs: &[Tensor],
        observe: &mut dyn FnMut(ValueId, &[f32]),
    ) -> Result<Vec<Tensor>> {
        self.execute(inputs, None, Some(observe))
            .map(|(out, _)| out)
    }

    /// Like [`run`](Self::run), also timing every node with `clock` (milliseconds, e.g.
    /// `performance.now()` on the web, `native_clock` natively).
    pub fn run_profiled(
        &self,
        inputs: &[Tensor],
        mut clock: impl FnMut() -> f64,
    ) -> Result<(Vec<Tensor>, Vec<NodeTime>)> {
        self.execute(inputs, Some(&mut clock), None)
    }

    /// Convolution path chosen for each Conv node: `(node name, "depthwise" |
    /// "pointwise-gemm" | "im2col-gemm")`.
    pub fn conv_paths(&self) -> Vec<(&str, &'static str)> {
        self.plan
            .steps
            .iter()
            .filter_map(|s| match &s.kernel {
                Kernel::Conv(c) => Some((s.name.as_str(), c.path_name())),
                _ => None,
            })
            .collect()
    }

    fn execute(
        &self,
        inputs: &[Tensor],
        clock: Option<&mut dyn FnMut() -> f64>,
        mut observe: Option<ObserveFn<'_>>,
    ) -> Result<(Vec<Tensor>, Vec<NodeTime>)> {
        check_inputs(&self.graph, inputs)?;
        let mut bufs: Vec<Option<Buf<f32>>> = vec![None; self.graph.values.len()];
        with_workspace(&mut bufs, |ws: &mut Workspace, bufs| {
            for (t, &v) in inputs.iter().zip(&self.graph.inputs) {
                let mut b = ws.pool.take(t.len());
                match t.as_slice() {
                    Some(s) => b.copy_from_slice(s),
                    None => b.iter_mut().zip(t.iter()).for_each(|(d, &s)| *d = s),
                }
                if let Some(o) = observe.as_mut() {
                    o(v, &b);
                }
                bufs[v] = Some(b);
            }
            let times = run_steps(
                &self.plan.steps,
                bufs,
                ws,
                clock,
                |step, bufs, ws| self.run_step(step, bufs, ws),
                |step, bufs| {
                    if let Some(o) = observe.as_mut() {
                        // Before `frees` recycles anything the step read or wrote.
                        o(step.output, self.read(bufs, step.output)?);
                    }
                    Ok(())
                },
            )?;
            Ok((self.collect_outputs(bufs)?, times))
        })
    }

    fn read<'a>(&'a self, bufs: &'a [Option<Buf<f32>>], v: ValueId) -> Result<&'a [f32]> {
        let r = self.plan.root[v];
        self.plan.consts[r]
            .as_deref()
            .or(bufs[r].as_deref())
            .ok_or_else(|| missing(&self.graph, v))
    }

    fn run_step(
        &self,
        step: &Step,
        bufs: &mut [Option<Buf<f32>>],
        ws: &mut Workspace,
    ) -> Result<()> {
        if let Kernel::Alias = step.kernel {
            return Ok(());
        }
        if let Some(j) = step.in_place {
            let r = self.plan.root[step.inputs[j]];
            let mut acc = bufs[r]
                .take()
                .ok_or_else(|| missing(&self.graph, step.inputs[j]))?;
            match &step.kernel {
                Kernel::Unary(u) => u.run_in_place(&mut acc),
                Kernel::Binary(op, b) => {
                    let other = self.read(bufs, step.inputs[1 - j])?;
                    b.run_in_place(*op, j, &mut acc, other);
                }
                _ => unreachable!("the planner only marks elementwise steps in place"),
            }
            bufs[step.output] = Some(acc);
            return Ok(());
        }
        let mut out = ws.pool.take(self.plan.numel[step.output]);
        {
            let ins = step
                .inputs
                .iter()
                .map(|&v| self.read(bufs, v))
                .collect::<Result<Vec<&[f32]>>>()?;
            let y = &mut out[..];
            match &step.kernel {
                Kernel::Conv(c) => c.run(ins[0], y, ws),
                Kernel::Gemm(g) => g.run(ins[0], y, ws),
                Kernel::MatMul(m) => m.run(ins[0], ins[1], y),
                Kernel::Unary(u) => u.run(ins[0], y),
                Kernel::Binary(op, b) => b.run(*op, ins[0], ins[1], y),
                Kernel::GlobalAveragePool { planes, plane } => {
                    pool::global_average(*planes, *plane, ins[0], y)
                }
                Kernel::Pool(p) => p.run(ins[0], y),
                Kernel::Softmax(s) => s.run(ins[0], y),
                Kernel::Concat(c) => c.run(&ins, y),
                Kernel::Pad(p) => p.run(ins[0], y, p.constant().unwrap_or(0.0)),
                Kernel::Take(source) => {
                    for (y, &i) in y.iter_mut().zip(source) {
                        *y = ins[0][i];
                    }
                }
                Kernel::Mean { dest, count } => {
                    y.fill(0.0);
                    for (&x, &d) in ins[0].iter().zip(dest) {
                        y[d] += x;
                    }
                    let inv = 1.0 / *count as f32;
                    y.iter_mut().for_each(|v| *v *= inv);
                }
                Kernel::Alias => {}
            }
        }
        bufs[step.output] = Some(out);
        Ok(())
    }

    fn collect_outputs(&self, bufs: &mut [Option<Buf<f32>>]) -> Result<Vec<Tensor>> {
        let g = &self.graph;
        let mut outputs = Vec::with_capacity(g.outputs.len());
        for (i, &o) in g.outputs.iter().enumerate() {
            let r = self.plan.root[o];
            // Move the buffer out unless a later output shares it.
            let shared = g.outputs[i + 1..].iter().any(|&p| self.plan.root[p] == r);
            let data = match (&self.plan.consts[r], shared) {
                (Some(c), _) => c.clone(),
                (None, true) => self.read(bufs, o)?.to_vec(),
                (None, false) => bufs[r].take().ok_or_else(|| missing(g, o))?.into_vec(),
            };
            let shape = ndarray::IxDyn(&g.values[o].shape);
            outputs.push(Tensor::from_shape_vec(shape, data).map_err(|e| {
                Error::MalformedModel(format!("output '{}': {e}", g.values[o].name))
            })?);
        }
        Ok(outputs)
    }
}

/// A millisecond clock for [`FloatExecutor::run_profiled`] on native targets
/// (`std::time::Instant` panics on wasm32; pass `performance.now()` there).
#[cfg(not(target_arch = "wasm32"))]
pub fn native_clock() -> impl FnMut() -> f64 {
    let start = std::time::Instant::now();
    move || start.elapsed().as_secs_f64() * 1e3
}
