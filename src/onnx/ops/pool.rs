//! GlobalAveragePool, AveragePool and MaxPool (2-D).

use super::spatial::Window;
use crate::ir::ops::Pool;
use crate::ir::Op;
use crate::onnx::import::Importer;
use crate::onnx::node::NodeCtx;
use crate::Result;

/// Translates the three pooling ops.
pub(crate) fn pool(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_arity((1, 1), 1)?;
    let op_type = ctx.op_type();
    if op_type == "GlobalAveragePool" {
        ctx.check_attrs(&[])?;
        let x = imp.input_value(ctx, 0, "X")?;
        imp.emit(ctx, Op::GlobalAveragePool, vec![x])?;
        return Ok(());
    }
    let is_max = op_type == "MaxPool";
    let common = [
        "auto_pad",
        "kernel_shape",
        "strides",
        "pads",
        "ceil_mode",
        "dilations",
    ];
    let extra = if is_max {
        "storage_order"
    } else {
        "count_include_pad"
    };
    let known: Vec<&str> = common.iter().copied().chain([extra]).collect();
    ctx.check_attrs(&known)?;
    if is_max {
        if ctx.int("storage_order", 0)? != 0 {
            return Err(ctx.unsupported("attribute 'storage_order' = 1 (column-major indices)"));
        }
        imp.unused_output(ctx, 1, "Indices")?;
    }
    let x = imp.input_value(ctx, 0, "X")?;
    let ks = ctx
        .ints("kernel_shape")?
        .ok_or_else(|| ctx.malformed("missing attribute 'kernel_shape'"))?;
    let xs = imp.graph.shape(x).to_vec();
    if ks.len() != 2 || xs.len() != 4 {
        let n = if ks.len() != 2 {
            ks.len()
        } else {
            xs.len().saturating_sub(2)
        };
        return Err(ctx.unsupported(format!("{n}-D pooling")));
    }
    let window = Window {
        kernel: ctx.sizes("kernel_shape", 1, [1, 1])?,
        strides: ctx.sizes("strides", 1, [1, 1])?,
        dilations: ctx.sizes("dilations", 1, [1, 1])?,
    };
    let pool = Pool {
        pads: window.pads(ctx, [xs[2], xs[3]])?,
        kernel: window.kernel,
        strides: window.strides,
        dilations: window.dilations,
        ceil_mode: ctx.flag("ceil_mode", false)?,
        count_include_pad: !is_max && ctx.flag("count_include_pad", false)?,
    };
    let op = if is_max {
        Op::MaxPool(pool)
    } else {
        Op::AveragePool(pool)
    };
    imp.emit(ctx, op, vec![x])?;
    Ok(())
}
