//! Flatten, Reshape, Concat and Pad.

use crate::ir::ops::{Concat, Flatten, Pad, PadMode, Reshape};
use crate::ir::Op;
use crate::onnx::import::Importer;
use crate::onnx::node::{NodeCtx, MAX_ATTR};
use crate::onnx::proto::data_type;
use crate::onnx::tensor::MAX_ELEMENTS;
use crate::{Error, Result};

/// Flatten at `axis` (default 1, negative counts from the end).
pub(crate) fn flatten(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_attrs(&["axis"])?;
    ctx.check_arity((1, 1), 1)?;
    let rank = imp.input_dims(ctx, 0, "input")?.len();
    let axis = ctx.axis("axis", ctx.int("axis", 1)?, rank, 1)?;
    imp.emit_or_fold(ctx, Op::Flatten(Flatten { axis }))
}

/// The integer constant at input `i` (or Unsupported naming `label`).
pub(crate) fn const_ints(imp: &Importer, ctx: &NodeCtx, i: usize, label: &str) -> Result<Vec<i64>> {
    let name = ctx.require_input(i, label)?;
    let c = imp.constant(name).ok_or_else(|| {
        ctx.unsupported(format!(
            "input '{label}' is not a constant (nor folds to one)"
        ))
    })?;
    c.i64s().map(<[i64]>::to_vec).ok_or_else(|| {
        ctx.unsupported(format!(
            "input '{label}' has data type {}",
            data_type::name(c.data_type)
        ))
    })
}

/// Resolves ONNX reshape targets: `0` copies the input dim (unless `allowzero`), one `-1`
/// is inferred from the element count.
fn resolve_reshape(
    ctx: &NodeCtx,
    input: &[usize],
    target: &[i64],
    allowzero: bool,
) -> Result<Vec<usize>> {
    let shape_err = |what: String| Error::Shape {
        node: ctx.name.clone(),
        what,
    };
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        let d = match t {
            0 if !allowzero => *input.get(i).ok_or_else(|| {
                shape_err(format!("shape {target:?}: 0 at axis {i} has no input dim"))
            })?,
            -1 if infer.is_none() => {
                infer = Some(i);
                1
            }
            t if t >= 0 => {
                usize::try_from(t).map_err(|_| shape_err(format!("shape {target:?}")))?
            }
            _ => return Err(shape_err(format!("invalid reshape target {target:?}"))),
        };
        out.push(d);
    }
    // Checked here so the IR's shape rule never multiplies file-controlled sizes unchecked.
    let count = out
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&c| c <= MAX_ELEMENTS);
    if count.is_none() {
        return Err(shape_err(format!("reshape target {target:?} is too large")));
    }
    if let Some(i) = infer {
        let total: usize = input.iter().product();
        let known = out
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .filter(|&k| k != 0 && total % k == 0)
            .ok_or_else(|| {
                shape_err(format!("cannot infer -1 reshaping {input:?} to {target:?}"))
            })?;
        out[i] = total / known;
    }
    Ok(out)
}

/// Reshape to a constant shape (attribute before opset 5, constant int64 input since).
pub(crate) fn reshape(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    let target = if ctx.opset < 5 {
        ctx.check_attrs(&["shape", "consumed_inputs"])?;
        ctx.check_arity((1, 1), 1)?;
        ctx.ints("shape")?
            .ok_or_else(|| ctx.malformed("missing attribute 'shape'"))?
            .to_vec()
    } else {
        ctx.check_attrs(&["allowzero"])?;
        ctx.check_arity((2, 2), 1)?;
        const_ints(imp, ctx, 1, "shape")?
    };
    let allowzero = ctx.flag("allowzero", false)?;
    let dims = imp.input_dims(ctx, 0, "data")?;
    let shape = resolve_reshape(ctx, &dims, &target, allowzero)?;
    imp.emit_or_fold(ctx, Op::Reshape(Reshape { shape }))
}

/// Concat along `axis` (required since opset 4; negative since opset 11).
pub(crate) fn concat(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_attrs(&["axis"])?;
    ctx.check_arity((1, usize::MAX), 1)?;
    if ctx.opset >= 4 && !ctx.has_attr("axis") {
        return Err(ctx.malformed("missing attribute 'axis'"));
    }
    let mut inputs = Vec::with_capacity(ctx.proto.input.len());
    for i in 0..ctx.proto.input.len() {
        inputs.push(imp.input_value(ctx, i, "inputs")?);
    }
    let rank = imp.graph.shape(inputs[0]).len();
    let axis = ctx.axis("axis", ctx.int("axis", 1)?, rank, 0)?;
    imp.emit(ctx, Op::Concat(Concat { axis }), inputs)?;
    Ok(())
}

/// Pad: attributes `pads`/`mode`/`value` before opset 11; `pads`, `constant_value` and
/// `axes` (opset 18) inputs since. Negative pads and `wrap` mode are unsupported.
pub(crate) fn pad(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    let (pads, value, axes) = if ctx.opset < 11 {
        ctx.check_attrs(&["pads", "mode", "value"])?;
        ctx.check_arity((1, 1), 1)?;
        let pads = ctx
            .ints("pads")?
            .ok_or_else(|| ctx.malformed("missing attribute 'pads'"))?
            .to_vec();
        (pads, ctx.float("value", 0.0)?, None)
    } else {
        ctx.check_attrs(&["mode"])?;
        ctx.check_arity((2, 4), 1)?;
        let pads = const_ints(imp, ctx, 1, "pads")?;
        let value = match ctx.input(2) {
            None => 0.0,
            Some(_) => match imp.const_f32(ctx, 2, "constant_value")?.as_slice() {
                Some(&[v]) => v,
                _ => return Err(ctx.unsupported("input 'constant_value' is not a scalar")),
            },
        };
        let axes = match ctx.input(3) {
            None => None,
            Some(_) => Some(const_ints(imp, ctx, 3, "axes")?),
        };
        (pads, value, axes)
    };
    let mode = match ctx.string("mode", "constant")?.as_str() {
        "constant" => PadMode::Constant(value),
        "reflect" => PadMode::Reflect,
        "edge" => PadMode::Edge,
        other => return Err(ctx.unsupported(format!("attribute 'mode' = \"{other}\""))),
    };
    let x = imp.input_value(ctx, 0, "data")?;
    let rank = imp.graph.shape(x).len();
    let axes: Vec<usize> = match axes {
        None => (0..rank).collect(),
        Some(a) => a
            .iter()
            .map(|&a| ctx.axis("axes", a, rank, 0))
            .collect::<Result<_>>()?,
    };
    if (1..axes.len()).any(|i| axes[..i].contains(&axes[i])) {
        return Err(ctx.malformed(format!("repeated axis in 'axes' {axes:?}")));
    }
    if pads.len() != 2 * axes.len() {
        return Err(ctx.malformed(format!("{} pads for {} axes", pads.len(), axes.len())));
    }
    if let Some(p) = pads.iter().find(|&&p| p < 0) {
        return Err(ctx.unsupported(format!("negative pad {p} (cropping)")));
    }
    if let Some(p) = pads.iter().find(|&&p| p > MAX_ATTR) {
        return Err(ctx.unsupported(format!("pad {p} larger than {MAX_ATTR}")));
    }
    let mut per_axis = vec![(0usize, 0usize); rank];
    let n = axes.len();
    for (k, &axis) in axes.iter().enumerate() {
        // Pads list all begins, then all ends: [x1_begin, x2_begin, ..., x1_end, x2_end].
        per_axis[axis] = (pads[k] as usize, pads[k + n] as usize);
    }
    imp.emit(
        ctx,
        Op::Pad(Pad {
            pads: per_axis,
            mode,
        }),
        vec![x],
    )?;
    Ok(())
}
