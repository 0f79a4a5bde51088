//! What the int8 executor computes with the f32 executor's code: nodes without an int8 form
//! ("float islands": dequantize the inputs, run the op in f32, quantize the output) and the
//! tables of unary elementwise ops (the op run once on all 256 codes).
//!
//! Both build a one-node graph and plan it with [`FloatExecutor`], so an op's arithmetic is
//! written once, in the f32 executor, whatever the variant.

use crate::exec::FloatExecutor;
use crate::ir::{Graph, Node, Op, Tensor, ValueId};
use crate::kernels::f32_qs8_vcvt::{f32_qs8_vcvt, Scaling};
use crate::quant::QuantParams;
use crate::{Error, Result};

/// One node run in f32 between int8 values.
#[derive(Debug)]
pub(super) struct FloatIsland {
    exec: FloatExecutor,
    /// The inputs read at run time (constants are inside `exec`): value and parameters.
    inputs: Vec<(ValueId, QuantParams)>,
    /// The output's parameters; `None`: it stays f32 (a graph output nothing else reads).
    out: Option<QuantParams>,
}

impl FloatIsland {
    /// Plans `node` of `g` alone: its int8 inputs become the island's graph inputs, its
    /// constant inputs its constants.
    pub(super) fn new(g: &Graph, node: &Node, params: &[Option<QuantParams>]) -> Result<Self> {
        let mut sub = Graph::default();
        let mut inputs = Vec::new();
        let mut ids = Vec::with_capacity(node.inputs.len());
        for &v in &node.inputs {
            let id = sub.add_value(g.values[v].name.clone(), g.shape(v).to_vec());
            if let Some(t) = g.constant(v) {
                sub.constants.push((id, t.clone()));
            } else {
                let p = params[v].ok_or_else(|| {
                    Error::MalformedModel(format!(
                        "node '{}' reads '{}', which is neither int8 nor a constant",
                        node.name, g.values[v].name
                    ))
                })?;
                sub.inputs.push(id);
                inputs.push((v, p));
            }
            ids.push(id);
        }
        let out = node.outputs[0];
        sub.outputs = sub.add_node(
            node.name.clone(),
            node.op.clone(),
            ids,
            &[g.values[out].name.clone()],
        )?;
        Ok(FloatIsland {
            exec: FloatExecutor::new(sub)?,
            inputs,
            out: params[out],
        })
    }

    /// The values read at run time, in the order [`Self::run`] takes them.
    pub(super) fn runtime_inputs(&self) -> Vec<ValueId> {
        self.inputs.iter().map(|&(v, _)| v).collect()
    }

    /// Whether the output is quantized (else it is a float graph output).
    pub(super) fn quantizes(&self) -> bool {
        self.out.is_some()
    }

    /// Runs the node on int8 inputs: its output as codes into `y` when quantized, else as
    /// f32 (returned).
    pub(super) fn run(&self, ins: &[&[i8]], y: &mut [i8]) -> Result<Option<Vec<f32>>> {
        let g = self.exec.graph();
        let tensors = self
            .inputs
            .iter()
            .zip(ins)
            .zip(&g.inputs)
            .map(|(((_, p), codes), &id)| {
                let data = codes.iter().map(|&c| p.dequantize(c)).collect();
                Tensor::from_shape_vec(ndarray::IxDyn(g.shape(id)), data)
                    .map_err(|e| Error::MalformedModel(format!("island input: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let out = self.exec.run(&tensors)?.swap_remove(0);
        let out = out.as_standard_layout();
        let data = out.as_slice().expect("standard layout is contiguous");
        match &self.out {
            Some(p) => {
                f32_qs8_vcvt(p, Scaling::Divide, data, y);
                Ok(None)
            }
            None => Ok(Some(data.to_vec())),
        }
    }
}

/// The table of a unary elementwise `op` from input codes under `x` to output codes under
/// `y`: `table[c as u8] = quantize_y(op(dequantize_x(c)))`, the op computed by the f32
/// executor on all 256 codes at once.
pub(super) fn lookup_table(op: &Op, x: &QuantParams, y: &QuantParams) -> Result<[i8; 256]> {
    let mut g = Graph::default();
    let input = g.add_value("codes", vec![256]);
    g.inputs.push(input);
    g.outputs = g.add_node("table", op.clone(), vec![input], &["values".into()])?;
    let codes: Vec<f32> = (0..=255u8).map(|c| x.dequantize(c as i8)).collect();
    let t = Tensor::from_shape_vec(ndarray::IxDyn(&[256]), codes)
        .map_err(|e| Error::MalformedModel(format!("lookup table: {e}")))?;
    let values = FloatExecutor::new(g)?.run(&[t])?.swap_remove(0);
    let values = values.as_standard_layout();
    let mut table = [0i8; 256];
    f32_qs8_vcvt(
        y,
        Scaling::Divide,
        values.as_slice().expect("standard layout is contiguous"),
        &mut table,
    );
    Ok(table)
}
