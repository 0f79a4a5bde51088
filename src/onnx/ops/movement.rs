//! Transpose, Squeeze, Unsqueeze, Slice, Gather and ReduceMean. Each resolves its
//! attributes against the input shape; the movement ops fold when their data is constant.

use super::shape::const_ints;
use crate::ir::ops::{Gather, ReduceMean, Reshape, Slice, Transpose};
use crate::ir::Op;
use crate::onnx::import::Importer;
use crate::onnx::node::NodeCtx;
use crate::Result;

/// Transpose by `perm` (default: reversed axes).
pub(crate) fn transpose(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_attrs(&["perm"])?;
    ctx.check_arity((1, 1), 1)?;
    let rank = imp.input_dims(ctx, 0, "data")?.len();
    let perm = match ctx.ints("perm")? {
        None => (0..rank).rev().collect(),
        Some(p) => p
            .iter()
            .map(|&a| ctx.axis("perm", a, rank, 0))
            .collect::<Result<_>>()?,
    };
    imp.emit_or_fold(ctx, Op::Transpose(Transpose { perm }))
}

/// Axes from the `axes` attribute (before opset 13) or the optional constant input 1.
fn axes_of(imp: &Importer, ctx: &NodeCtx) -> Result<Option<Vec<i64>>> {
    if ctx.opset < 13 {
        ctx.check_arity((1, 1), 1)?;
        return Ok(ctx.ints("axes")?.map(<[i64]>::to_vec));
    }
    ctx.check_arity((1, 2), 1)?;
    match ctx.input(1) {
        None => Ok(None),
        Some(_) => Ok(Some(const_ints(imp, ctx, 1, "axes")?)),
    }
}

/// Squeeze and Unsqueeze, as reshapes.
pub(crate) fn squeeze(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_attrs(&["axes"])?;
    let dims = imp.input_dims(ctx, 0, "data")?;
    let axes = axes_of(imp, ctx)?;
    let shape = if ctx.op_type() == "Unsqueeze" {
        let axes = axes.ok_or_else(|| ctx.malformed("missing 'axes'"))?;
        let rank = dims.len() + axes.len();
        let mut at: Vec<usize> = axes
            .iter()
            .map(|&a| ctx.axis("axes", a, rank, 0))
            .collect::<Result<_>>()?;
        at.sort_unstable();
        if at.windows(2).any(|w| w[0] == w[1]) {
            return Err(ctx.malformed(format!("repeated axis in 'axes' {axes:?}")));
        }
        let mut rest = dims.iter();
        (0..rank)
            .map(|a| {
                if at.contains(&a) {
                    1
                } else {
                    rest.next().copied().unwrap_or(1)
                }
            })
            .collect()
    } else {
        let drop: Vec<usize> = match axes {
            None => (0..dims.len()).filter(|&a| dims[a] == 1).collect(),
            Some(axes) => axes
                .iter()
                .map(|&a| ctx.axis("axes", a, dims.len(), 0))
                .collect::<Result<_>>()?,
        };
        if let Some(&a) = drop.iter().find(|&&a| dims[a] != 1) {
            return Err(ctx.malformed(format!(
                "cannot squeeze axis {a} of size {} in {dims:?}",
                dims[a]
            )));
        }
        dims.iter()
            .enumerate()
            .filter(|(a, _)| !drop.contains(a))
            .map(|(_, &d)| d)
            .collect()
    };
    imp.emit_or_fold(ctx, Op::Reshape(Reshape { shape }))
}

/// Slice with constant starts/ends/axes/steps (attributes before opset 10).
pub(crate) fn slice(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    let dims = imp.input_dims(ctx, 0, "data")?;
    let (starts, ends, axes, steps) = if ctx.opset < 10 {
        ctx.check_attrs(&["starts", "ends", "axes"])?;
        ctx.check_arity((1, 1), 1)?;
        let req = |n: &str| -> Result<Vec<i64>> {
            Ok(ctx
                .ints(n)?
                .ok_or_else(|| ctx.malformed(format!("missing attribute '{n}'")))?
                .to_vec())
        };
        (
            req("starts")?,
            req("ends")?,
            ctx.ints("axes")?.map(<[i64]>::to_vec),
            None,
        )
    } else {
        ctx.check_attrs(&[])?;
        ctx.check_arity((3, 5), 1)?;
        let opt = |i: usize, label: &str| -> Result<Option<Vec<i64>>> {
            match ctx.input(i) {
                None => Ok(None),
                Some(_) => const_ints(imp, ctx, i, label).map(Some),
            }
        };
        (
            const_ints(imp, ctx, 1, "starts")?,
            const_ints(imp, ctx, 2, "ends")?,
            opt(3, "axes")?,
            opt(4, "steps")?,
        )
    };
    let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(ctx.malformed("starts, ends, axes and steps differ in length"));
    }
    let mut op = Slice {
        starts: vec![0; dims.len()],
        steps: vec![1; dims.len()],
        lens: dims.clone(),
    };
    let mut seen = vec![false; dims.len()];
    for k in 0..starts.len() {
        let a = ctx.axis("axes", axes[k], dims.len(), 0)?;
        if std::mem::replace(&mut seen[a], true) {
            return Err(ctx.malformed(format!("repeated axis {a}")));
        }
        let (d, st) = (dims[a] as i64, steps[k]);
        if st == 0 {
            return Err(ctx.malformed("step 0"));
        }
        // ONNX: negative bounds count from the end, then clamp ([0, d] forwards, [-1, d-1] backwards).
        let wrap = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
        let (lo, hi) = if st > 0 { (0, d) } else { (-1, d - 1) };
        let s = wrap(starts[k]).clamp(0.min(hi), hi);
        let e = wrap(ends[k]).clamp(lo, hi);
        let span = if st > 0 { e - s } else { s - e };
        let step = i128::from(st.unsigned_abs());
        let n = if span <= 0 {
            0
        } else {
            (i128::from(span) + step - 1) / step
        };
        op.starts[a] = s.max(0) as usize;
        op.steps[a] = st.clamp(-(1 << 31), 1 << 31) as isize;
        op.lens[a] = n as usize;
    }
    imp.emit_or_fold(ctx, Op::Slice(op))
}

/// Gather along `axis` with constant indices (negative ones count from the end).
pub(crate) fn gather(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_attrs(&["axis"])?;
    ctx.check_arity((2, 2), 1)?;
    let dims = imp.input_dims(ctx, 0, "data")?;
    let axis = ctx.axis("axis", ctx.int("axis", 0)?, dims.len(), 0)?;
    let name = ctx.require_input(1, "indices")?;
    let raw = const_ints(imp, ctx, 1, "indices")?;
    let indices_shape = imp
        .constant(name)
        .map(|c| c.dims.clone())
        .unwrap_or_default();
    let d = dims[axis] as i64;
    let indices = raw
        .iter()
        .map(|&i| {
            let j = if i < 0 { i + d } else { i };
            usize::try_from(j)
                .ok()
                .filter(|&j| (j as i64) < d)
                .ok_or_else(|| ctx.malformed(format!("index {i} out of range for axis of {d}")))
        })
        .collect::<Result<_>>()?;
    imp.emit_or_fold(
        ctx,
        Op::Gather(Gather {
            axis,
            indices,
            indices_shape,
        }),
    )
}

/// ReduceMean; over the spatial axes of a 4-D input it becomes GlobalAveragePool (then a
/// Reshape without `keepdims`), which has an int8 kernel.
pub(crate) fn reduce_mean(imp: &mut Importer, ctx: &NodeCtx) -> Result<()> {
    ctx.check_attrs(&["axes", "keepdims", "noop_with_empty_axes"])?;
    let dims = imp.input_dims(ctx, 0, "data")?;
    let axes = if ctx.opset < 18 {
        ctx.check_arity((1, 1), 1)?;
        ctx.ints("axes")?.map(<[i64]>::to_vec)
    } else {
        ctx.check_arity((1, 2), 1)?;
        match ctx.input(1) {
            None => None,
            Some(_) => Some(const_ints(imp, ctx, 1, "axes")?),
        }
    };
    let keepdims = ctx.flag("keepdims", true)?;
    let mut axes: Vec<usize> = match axes.filter(|a| !a.is_empty()) {
        Some(a) => a
            .iter()
            .map(|&a| ctx.axis("axes", a, dims.len(), 0))
            .collect::<Result<_>>()?,
        None if ctx.flag("noop_with_empty_axes", false)? => Vec::new(),
        None => (0..dims.len()).collect(),
    };
    axes.sort_unstable();
    axes.dedup();
    let x = imp.input_value(ctx, 0, "data")?;
    if dims.len() == 4 && axes == [2, 3] {
        if keepdims {
            imp.emit(ctx, Op::GlobalAveragePool, vec![x])?;
        } else {
            let out = ctx
                .output(0)
                .ok_or_else(|| ctx.malformed("has no output"))?;
            let pooled = imp.add(
                ctx,
                format!("{}/pool", ctx.name),
                Op::GlobalAveragePool,
                vec![x],
                &format!("{out}/pool"),
            )?;
            let shape = dims[..2].to_vec();
            imp.emit(ctx, Op::Reshape(Reshape { shape }), vec![pooled])?;
        }
        return Ok(());
    }
    imp.emit(ctx, Op::ReduceMean(ReduceMean { axes, keepdims }), vec![x])?;
    Ok(())
}
