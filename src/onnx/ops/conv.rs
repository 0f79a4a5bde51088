//! Conv and BatchNormalization (folded into the preceding Conv when possible).

use super::spatial::Window;
use crate::ir::ops::Conv;
use crate::ir::{Activation, Op, Tensor};
use crate::onnx::import::Importer;
use crate::onnx::node::{NodeCtx, MAX_ATTR};
use crate::{Error, Result};
use ndarray::{Axis, Ix4, IxDyn};

/// The unsupported-message for a convolution of `rank - 2` spatial dims.
fn dims_name(rank: usize) -> String {
    match rank {
        3 => "1-D convolution".into(),
        5 => "3-D convolution".into(),
        r => format!("convolution with a rank-{r} tensor"),
    }
}

/// `Conv`: 2-D, constant weight, optional constant bias.
pub(crate) fn conv(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_attrs(&[
        "auto_pad",
        "dilations",
        "group",
        "kernel_shape",
        "pads",
        "strides",
    ])?;
    ctx.check_arity((2, 3), 1)?;
    let x = imp.input_value(ctx, 0, "X")?;
    let w = imp.const_f32(ctx, 1, "W")?;
    // The weight's rank says the convolution's dimensionality even when X's shape is odd.
    let rank = w.ndim();
    if rank != 4 || imp.graph.shape(x).len() != 4 {
        return Err(ctx.unsupported(dims_name(if rank != 4 {
            rank
        } else {
            imp.graph.shape(x).len()
        })));
    }
    let w = w
        .into_dimensionality::<Ix4>()
        .map_err(|_| ctx.unsupported(format!("{} weight", dims_name(rank))))?;
    let [_, _, kh, kw] = [w.dim().0, w.dim().1, w.dim().2, w.dim().3];
    if let Some(ks) = ctx.ints("kernel_shape")? {
        if ks != [kh as i64, kw as i64] {
            return Err(ctx.malformed(format!(
                "kernel_shape {ks:?} does not match weight {:?}",
                w.shape()
            )));
        }
    }
    let group = ctx.int("group", 1)?;
    if !(1..=MAX_ATTR).contains(&group) {
        return Err(ctx.unsupported(format!("attribute 'group' = {group}")));
    }
    if w.dim().1.checked_mul(group as usize).is_none() {
        return Err(ctx.unsupported(format!(
            "attribute 'group' = {group} with weight {:?}",
            w.shape()
        )));
    }
    let window = Window {
        kernel: [kh, kw],
        strides: ctx.sizes("strides", 1, [1, 1])?,
        dilations: ctx.sizes("dilations", 1, [1, 1])?,
    };
    let xs = imp.graph.shape(x);
    let pads = window.pads(ctx, [xs[2], xs[3]])?;
    let bias = match ctx.input(2) {
        Some(_) => imp.const_f32(ctx, 2, "B")?.iter().copied().collect(),
        None => vec![0.0; w.dim().0],
    };
    let op = Conv {
        weight: w.as_standard_layout().into_owned(),
        bias,
        strides: window.strides,
        dilations: window.dilations,
        pads,
        group: group as usize,
        activation: Activation::NONE,
    };
    imp.emit(ctx, Op::Conv(op), vec![x])?;
    Ok(())
}

/// Per-channel parameter `label` (input `i`) of BatchNormalization, `c` values.
fn channel_param(
    imp: &Importer,
    ctx: &NodeCtx,
    i: usize,
    label: &str,
    c: usize,
) -> Result<Vec<f32>> {
    let t = imp.const_f32(ctx, i, label)?;
    if t.len() != c {
        return Err(Error::Shape {
            node: ctx.name.clone(),
            what: format!("'{label}' has {} values for {c} channels", t.len()),
        });
    }
    Ok(t.iter().copied().collect())
}

/// `BatchNormalization` (inference): `y = (x - mean) * gamma / sqrt(var + eps) + beta`.
///
/// Folded into the producing Conv when that Conv's output has no other reader; otherwise
/// expressed as `Mul` then `Add` with constant `[C, 1, ...]` tensors.
pub(crate) fn batch_norm(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_attrs(&[
        "epsilon",
        "momentum",
        "spatial",
        "training_mode",
        "is_test",
        "consumed_inputs",
    ])?;
    ctx.check_arity((5, 5), 1)?;
    if !ctx.flag("spatial", true)? {
        return Err(ctx.unsupported("attribute 'spatial' = 0"));
    }
    if ctx.flag("training_mode", false)? {
        return Err(ctx.unsupported("attribute 'training_mode' = 1"));
    }
    for (i, label) in [
        (1, "running_mean"),
        (2, "running_var"),
        (3, "saved_mean"),
        (4, "saved_var"),
    ] {
        imp.unused_output(ctx, i, label)?;
    }
    let eps = ctx.float("epsilon", 1e-5)?;
    let x_name = ctx.require_input(0, "X")?;
    let x = imp.input_value(ctx, 0, "X")?;
    let xs = imp.graph.shape(x).to_vec();
    let c = *xs.get(1).ok_or_else(|| Error::Shape {
        node: ctx.name.clone(),
        what: format!("BatchNormalization input {xs:?} has no channel axis"),
    })?;
    let gamma = channel_param(imp, ctx, 1, "scale", c)?;
    let beta = channel_param(imp, ctx, 2, "B", c)?;
    let mean = channel_param(imp, ctx, 3, "input_mean", c)?;
    let var = channel_param(imp, ctx, 4, "input_var", c)?;
    // Computed in f64 so folding adds no rounding beyond the final f32 store.
    let scale: Vec<f64> = (0..c)
        .map(|i| f64::from(gamma[i]) / (f64::from(var[i]) + f64::from(eps)).sqrt())
        .collect();
    let out = ctx
        .output(0)
        .ok_or_else(|| ctx.malformed("has no output"))?;

    let conv_node = imp
        .producer(x)
        .filter(|_| imp.uses(x_name) == 1 && !imp.graph.outputs.contains(&x));
    if let Some(p) = conv_node {
        if let Op::Conv(conv) = &mut imp.graph.nodes[p].op {
            if conv.activation.is_none() && conv.out_channels() == c {
                for (o, mut row) in conv.weight.axis_iter_mut(Axis(0)).enumerate() {
                    row.mapv_inplace(|w| (f64::from(w) * scale[o]) as f32);
                }
                for (o, b) in conv.bias.iter_mut().enumerate() {
                    *b = ((f64::from(*b) - f64::from(mean[o])) * scale[o] + f64::from(beta[o]))
                        as f32;
                }
                // The conv now computes the BN output: give its value the BN output's name.
                imp.graph.values[x].name = out.to_string();
                return imp.alias(ctx, out, x);
            }
        }
    }

    let mut shape = vec![c];
    shape.resize(xs.len() - 1, 1);
    let shift: Vec<f32> = (0..c)
        .map(|i| (f64::from(beta[i]) - f64::from(mean[i]) * scale[i]) as f32)
        .collect();
    let scale: Vec<f32> = scale.iter().map(|&s| s as f32).collect();
    let to_tensor =
        |v: Vec<f32>| Tensor::from_shape_vec(IxDyn(&shape), v).map_err(|e| ctx.malformed(e));
    let sc = imp.add_constant(format!("{}/scale", ctx.name), to_tensor(scale)?);
    let sh = imp.add_constant(format!("{}/shift", ctx.name), to_tensor(shift)?);
    let scaled = imp.add(
        ctx,
        format!("{}/mul", ctx.name),
        Op::Mul,
        vec![x, sc],
        &format!("{out}/scaled"),
    )?;
    imp.emit(ctx, Op::Add, vec![scaled, sh])?;
    Ok(())
}
