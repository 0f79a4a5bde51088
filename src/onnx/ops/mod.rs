//! Per-op translation, one module per op family. Each translator checks the node's
//! attributes (unknown ones are rejected), inputs and outputs, then appends IR nodes.

mod conv;
mod elementwise;
mod gemm;
mod movement;
mod pool;
mod shape;
mod spatial;

use super::import::Importer;
use super::node::NodeCtx;
use crate::Result;

/// The op types translated to IR ops (the shape-arithmetic ones of
/// [`super::fold::FOLD_ONLY`] are known too: they fold to constants).
pub(crate) const TRANSLATED: &[&str] = &[
    "Conv",
    "BatchNormalization",
    "Relu",
    "Sigmoid",
    "Tanh",
    "HardSwish",
    "HardSigmoid",
    "LeakyRelu",
    "Clip",
    "Add",
    "Mul",
    "Sub",
    "Div",
    "PRelu",
    "Cast",
    "Softmax",
    "Identity",
    "Dropout",
    "Constant",
    "GlobalAveragePool",
    "AveragePool",
    "MaxPool",
    "Gemm",
    "MatMul",
    "Flatten",
    "Reshape",
    "Concat",
    "Pad",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "Slice",
    "Gather",
    "ReduceMean",
];

/// Translates one default-domain node.
pub(crate) fn translate(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    match ctx.op_type() {
        "Conv" => conv::conv(imp, ctx),
        "BatchNormalization" => conv::batch_norm(imp, ctx),
        "Relu" | "Sigmoid" | "Tanh" | "HardSwish" | "HardSigmoid" | "LeakyRelu" => {
            elementwise::unary(imp, ctx)
        }
        "Clip" => elementwise::clip(imp, ctx),
        "Add" | "Mul" | "Sub" | "Div" | "PRelu" => elementwise::binary(imp, ctx),
        "Cast" => elementwise::cast(imp, ctx),
        "Softmax" => elementwise::softmax(imp, ctx),
        "Identity" | "Dropout" => elementwise::identity(imp, ctx),
        "Constant" => elementwise::constant(imp, ctx),
        "GlobalAveragePool" | "AveragePool" | "MaxPool" => pool::pool(imp, ctx),
        "Gemm" => gemm::gemm(imp, ctx),
        "MatMul" => gemm::matmul(imp, ctx),
        "Flatten" => shape::flatten(imp, ctx),
        "Reshape" => shape::reshape(imp, ctx),
        "Concat" => shape::concat(imp, ctx),
        "Pad" => shape::pad(imp, ctx),
        "Transpose" => movement::transpose(imp, ctx),
        "Squeeze" | "Unsqueeze" => movement::squeeze(imp, ctx),
        "Slice" => movement::slice(imp, ctx),
        "Gather" => movement::gather(imp, ctx),
        "ReduceMean" => movement::reduce_mean(imp, ctx),
        other => Err(ctx.unsupported(format!("operator '{other}'"))),
    }
}
