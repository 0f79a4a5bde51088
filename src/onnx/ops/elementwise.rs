//! Unary activations, Clip, Cast, binary arithmetic and PRelu, Softmax, Identity, Dropout
//! and Constant.

use crate::ir::ops::{Clip, HardSigmoid, LeakyRelu, Softmax};
use crate::ir::Op;
use crate::onnx::import::Importer;
use crate::onnx::node::NodeCtx;
use crate::onnx::proto::data_type;
use crate::onnx::tensor::{self, ConstData, ConstTensor};
use crate::Result;

/// Relu, Sigmoid, Tanh, HardSwish, HardSigmoid and LeakyRelu (`consumed_inputs` is a
/// pre-opset-6 memory hint, harmless).
pub(crate) fn unary(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_attrs(match ctx.op_type() {
        "HardSigmoid" => &["alpha", "beta", "consumed_inputs"],
        "LeakyRelu" => &["alpha", "consumed_inputs"],
        _ => &["consumed_inputs"],
    })?;
    ctx.check_arity((1, 1), 1)?;
    let x = imp.input_value(ctx, 0, "X")?;
    let op = match ctx.op_type() {
        "Relu" => Op::Relu,
        "Sigmoid" => Op::Sigmoid,
        "Tanh" => Op::Tanh,
        "HardSwish" => Op::HardSwish,
        "HardSigmoid" => Op::HardSigmoid(HardSigmoid {
            alpha: ctx.float("alpha", 0.2)?,
            beta: ctx.float("beta", 0.5)?,
        }),
        _ => Op::LeakyRelu(LeakyRelu {
            alpha: ctx.float("alpha", 0.01)?,
        }),
    };
    imp.emit(ctx, op, vec![x])?;
    Ok(())
}

/// Cast of run-time data: only to a float type, which is a copy (f32 throughout).
pub(crate) fn cast(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_attrs(&["to", "saturate", "round_mode"])?;
    ctx.check_arity((1, 1), 1)?;
    let to = ctx.int("to", 0)? as i32;
    if !matches!(to, data_type::FLOAT | data_type::DOUBLE) {
        return Err(ctx.unsupported(format!("cast of run-time data to {}", data_type::name(to))));
    }
    let x = imp.input_value(ctx, 0, "input")?;
    imp.emit(ctx, Op::Identity, vec![x])?;
    Ok(())
}

/// A scalar float bound of Clip (opset >= 11), given as an optional constant input.
fn clip_bound(imp: &Importer, ctx: &NodeCtx, i: usize, label: &str, default: f32) -> Result<f32> {
    if ctx.input(i).is_none() {
        return Ok(default);
    }
    let t = imp.const_f32(ctx, i, label)?;
    match t.as_slice() {
        Some(&[v]) => Ok(v),
        _ => Err(ctx.unsupported(format!("input '{label}' is not a scalar"))),
    }
}

/// Clip: bounds from attributes (opset < 11) or constant inputs (opset >= 11).
pub(crate) fn clip(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    let (min, max) = if ctx.opset < 11 {
        ctx.check_attrs(&["min", "max", "consumed_inputs"])?;
        ctx.check_arity((1, 1), 1)?;
        (
            ctx.float("min", f32::NEG_INFINITY)?,
            ctx.float("max", f32::INFINITY)?,
        )
    } else {
        ctx.check_attrs(&[])?;
        ctx.check_arity((1, 3), 1)?;
        (
            clip_bound(imp, ctx, 1, "min", f32::NEG_INFINITY)?,
            clip_bound(imp, ctx, 2, "max", f32::INFINITY)?,
        )
    };
    let x = imp.input_value(ctx, 0, "input")?;
    imp.emit(ctx, Op::Clip(Clip { min, max }), vec![x])?;
    Ok(())
}

/// Add, Mul, Sub, Div and PRelu with numpy broadcasting. The legacy (opset < 7) `broadcast` flag is harmless
/// (numpy broadcasting includes its suffix matching); a legacy `axis` is rejected.
pub(crate) fn binary(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_attrs(&["broadcast", "consumed_inputs"])?;
    ctx.check_arity((2, 2), 1)?;
    let a = imp.input_value(ctx, 0, "A")?;
    let b = imp.input_value(ctx, 1, "B")?;
    let op = match ctx.op_type() {
        "Add" => Op::Add,
        "Mul" => Op::Mul,
        "Sub" => Op::Sub,
        "Div" => Op::Div,
        _ => Op::PRelu,
    };
    imp.emit(ctx, op, vec![a, b])?;
    Ok(())
}

/// Softmax: opset < 13 flattens to 2-D at `axis` (default 1); opset >= 13 works along
/// `axis` (default -1).
pub(crate) fn softmax(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_attrs(&["axis"])?;
    ctx.check_arity((1, 1), 1)?;
    let x = imp.input_value(ctx, 0, "input")?;
    let rank = imp.graph.shape(x).len();
    let coerce_2d = ctx.opset < 13;
    let axis = ctx.int("axis", if coerce_2d { 1 } else { -1 })?;
    let axis = ctx.axis("axis", axis, rank.max(1), 0)?;
    imp.emit(ctx, Op::Softmax(Softmax { axis, coerce_2d }), vec![x])?;
    Ok(())
}

/// Identity, and Dropout at inference (a copy; its mask output must be unused).
pub(crate) fn identity(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    if ctx.op_type() == "Dropout" {
        ctx.check_attrs(&["ratio", "is_test", "seed", "consumed_inputs"])?;
        ctx.check_arity((1, 3), 1)?;
        imp.unused_output(ctx, 1, "mask")?;
        if let Some(name) = ctx.input(2) {
            let training = imp
                .constant(name)
                .and_then(|c| c.i64s().map(|v| v.to_vec()))
                .filter(|v| v.len() == 1)
                .ok_or_else(|| ctx.unsupported("input 'training_mode' is not a constant"))?;
            if training[0] != 0 {
                return Err(ctx.unsupported("training_mode = true"));
            }
        }
    } else {
        ctx.check_attrs(&[])?;
        ctx.check_arity((1, 1), 1)?;
    }
    let x = imp.input_value(ctx, 0, "input")?;
    imp.emit(ctx, Op::Identity, vec![x])?;
    Ok(())
}

/// Constant: defines a constant value (tensor, float(s) or int(s)); not an IR node.
pub(crate) fn constant(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_attrs(&[
        "value",
        "value_float",
        "value_floats",
        "value_int",
        "value_ints",
    ])?;
    ctx.check_arity((0, 0), 1)?;
    if ctx.proto.attribute.len() != 1 {
        return Err(ctx.malformed("needs exactly one value attribute"));
    }
    let c = if let Some(t) = ctx.tensor("value")? {
        tensor::from_proto(t)?
    } else if ctx.has_attr("value_float") {
        let v = ctx.float("value_float", 0.0)?;
        ConstTensor {
            dims: vec![],
            data: ConstData::F32(vec![v]),
            data_type: data_type::FLOAT,
        }
    } else if let Some(v) = ctx.floats("value_floats")? {
        ConstTensor {
            dims: vec![v.len()],
            data: ConstData::F32(v.to_vec()),
            data_type: data_type::FLOAT,
        }
    } else if ctx.has_attr("value_int") {
        ConstTensor {
            dims: vec![],
            data: ConstData::I64(vec![ctx.int("value_int", 0)?]),
            data_type: data_type::INT64,
        }
    } else {
        let v = ctx.ints("value_ints")?.unwrap_or_default();
        ConstTensor {
            dims: vec![v.len()],
            data: ConstData::I64(v.to_vec()),
            data_type: data_type::INT64,
        }
    };
    let out = ctx
        .output(0)
        .ok_or_else(|| ctx.malformed("has no output"))?;
    imp.define_const(ctx, out, c)
}
