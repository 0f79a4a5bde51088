//! Gemm and MatMul.

use crate::ir::ops::Gemm;
use crate::ir::{Activation, Op};
use crate::onnx::import::Importer;
use crate::onnx::node::NodeCtx;
use crate::Result;
use ndarray::{Array2, Ix2};

/// `Gemm`: `y = alpha * op(A) op(B) + beta * C` with B constant, normalised to a `[N, K]`
/// weight with `alpha` folded in and `beta` folded into the bias.
pub(crate) fn gemm(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_attrs(&["alpha", "beta", "transA", "transB", "broadcast"])?;
    ctx.check_arity((2, 3), 1)?;
    let alpha = ctx.float("alpha", 1.0)?;
    let beta = ctx.float("beta", 1.0)?;
    let trans_a = ctx.flag("transA", false)?;
    let trans_b = ctx.flag("transB", false)?;
    let a = imp.input_value(ctx, 0, "A")?;
    let b = imp
        .const_f32(ctx, 1, "B")?
        .into_dimensionality::<Ix2>()
        .map_err(|_| ctx.malformed("input 'B' is not 2-D"))?;
    // transB = 1 stores B as [N, K] already; otherwise B is [K, N].
    let b = if trans_b { b } else { b.reversed_axes() };
    let mut weight: Array2<f32> = b.as_standard_layout().into_owned();
    if alpha != 1.0 {
        weight.mapv_inplace(|w| w * alpha);
    }
    let c_name = ctx.input(2);
    let const_c = c_name.and_then(|n| imp.constant(n)).is_some();
    let bias = if const_c && beta != 0.0 {
        let c = imp.const_f32(ctx, 2, "C")?;
        Some(if beta != 1.0 { c.mapv(|v| v * beta) } else { c })
    } else {
        None
    };
    let gemm = |bias| {
        Op::Gemm(Gemm {
            trans_a,
            weight,
            bias,
            activation: Activation::NONE,
        })
    };
    match c_name {
        // A computed C is added after the product; only beta = 1 keeps that exact.
        Some(_) if !const_c && beta != 0.0 => {
            if beta != 1.0 {
                return Err(ctx.unsupported(format!(
                    "input 'C' is not a constant initializer and beta = {beta}"
                )));
            }
            let out = ctx
                .output(0)
                .ok_or_else(|| ctx.malformed("has no output"))?;
            let y = imp.add(
                ctx,
                format!("{}/gemm", ctx.name),
                gemm(None),
                vec![a],
                &format!("{out}/gemm"),
            )?;
            let c = imp.input_value(ctx, 2, "C")?;
            imp.emit(ctx, Op::Add, vec![y, c])?;
        }
        _ => {
            imp.emit(ctx, gemm(bias), vec![a])?;
        }
    }
    Ok(())
}

/// `MatMul`: a constant 2-D B with a 2-D A becomes a Gemm; anything else stays a MatMul.
pub(crate) fn matmul(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_attrs(&[])?;
    ctx.check_arity((2, 2), 1)?;
    let a = imp.input_value(ctx, 0, "A")?;
    let b_name = ctx.require_input(1, "B")?;
    let b_const = imp
        .constant(b_name)
        .and_then(|c| c.to_f32())
        .and_then(|t| t.into_dimensionality::<Ix2>().ok());
    match b_const {
        Some(b) if imp.graph.shape(a).len() == 2 => {
            let op = Op::Gemm(Gemm {
                trans_a: false,
                weight: b.reversed_axes().as_standard_layout().into_owned(),
                bias: None,
                activation: Activation::NONE,
            });
            imp.emit(ctx, op, vec![a])?;
        }
        _ => {
            let b = imp.input_value(ctx, 1, "B")?;
            imp.emit(ctx, Op::MatMul, vec![a, b])?;
        }
    }
    Ok(())
}
