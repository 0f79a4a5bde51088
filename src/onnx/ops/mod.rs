//! Per-op translation, one module per op family. Each translator checks the node's
//! attributes (unknown ones are rejected), inputs and outputs, then appends IR nodes.

mod conv;
mod elementwise;
mod gemm;
mod pool;
mod shape;
mod spatial;

use super::import::Importer;
use super::node::NodeCtx;
use crate::Result;

/// Translates one default-domain node.
pub(crate) fn translate(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    match ctx.op_type() {
        "Conv" => conv::conv(imp, ctx),
        "BatchNormalization" => conv::batch_norm(imp, ctx),
        "Relu" | "Sigmoid" => elementwise::unary(imp, ctx),
        "Clip" => elementwise::clip(imp, ctx),
        "Add" | "Mul" => elementwise::binary(imp, ctx),
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
        other => Err(ctx.unsupported(format!("operator '{other}'"))),
    }
}
