//! Constant folding at import: a node whose inputs are all constants is evaluated here, so
//! the shape arithmetic exporters emit (`Shape -> Gather -> Unsqueeze -> Concat -> Reshape`,
//! `ConstantOfShape`, `Range`, `Cast`, ...) collapses to constants once the input shape is
//! fixed, and the Reshape that reads it becomes a static one. `Shape` and `Size` always
//! fold: every value's shape is static. Movement ops (Reshape, Squeeze, Transpose, Slice,
//! Gather, ...) fold in their translators through [`Importer::emit_or_fold`].

use super::import::Importer;
use super::node::NodeCtx;
use super::proto::data_type;
use super::tensor::{ConstData, ConstTensor, MAX_ELEMENTS};
use crate::ir::ops::{broadcast_shapes, broadcast_source};
use crate::{Error, Result};

/// Ops that exist only as shape arithmetic: they must fold (no runtime kernel).
pub(crate) const FOLD_ONLY: &[&str] = &[
    "Equal",
    "Where",
    "Shape",
    "Size",
    "ConstantOfShape",
    "Range",
];

/// Evaluates `ctx` if it can be folded; returns whether it was.
pub(crate) fn try_fold(imp: &mut Importer, ctx: &NodeCtx) -> Result<bool> {
    let op = ctx.op_type();
    let also_translated = matches!(
        op,
        "Add" | "Sub" | "Mul" | "Div" | "Cast" | "Concat" | "Identity"
    );
    if !also_translated && !FOLD_ONLY.contains(&op) {
        return Ok(false);
    }
    let names: Vec<&str> = ctx.proto.input.iter().map(String::as_str).collect();
    let shape_only = matches!(op, "Shape" | "Size");
    let all_const = !names.is_empty()
        && names
            .iter()
            .all(|n| !n.is_empty() && imp.constant(n).is_some());
    if !shape_only && !all_const {
        if FOLD_ONLY.contains(&op) {
            return Err(ctx.unsupported(
                "computed from run-time data (only constant shape arithmetic is folded)",
            ));
        }
        return Ok(false);
    }
    let c = |i: usize| -> Result<&ConstTensor> {
        let name = ctx.require_input(i, "input")?;
        imp.constant(name)
            .ok_or_else(|| ctx.unsupported(format!("input '{name}' is not a constant")))
    };
    let folded = match op {
        "Shape" | "Size" => {
            ctx.check_attrs(&["start", "end"])?;
            ctx.check_arity((1, 1), 1)?;
            let dims: Vec<i64> = imp
                .input_dims(ctx, 0, "data")?
                .iter()
                .map(|&d| d as i64)
                .collect();
            if op == "Size" {
                ConstTensor::from_i64(vec![], vec![dims.iter().product()])
            } else {
                let rank = dims.len() as i64;
                let clampi = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
                let start = clampi(ctx.int("start", 0)?);
                let end = clampi(ctx.int("end", rank)?).max(start);
                ConstTensor::from_i64(vec![end - start], dims[start..end].to_vec())
            }
        }
        "Identity" => {
            ctx.check_attrs(&[])?;
            c(0)?.clone()
        }
        "Cast" => {
            ctx.check_attrs(&["to", "saturate", "round_mode"])?;
            cast(ctx, c(0)?, ctx.int("to", 0)? as i32)?
        }
        "Add" | "Sub" | "Mul" | "Div" | "Equal" => {
            ctx.check_attrs(&["broadcast", "consumed_inputs"])?;
            ctx.check_arity((2, 2), 1)?;
            binary(ctx, c(0)?, c(1)?)?
        }
        "Where" => {
            ctx.check_arity((3, 3), 1)?;
            where_(ctx, c(0)?, c(1)?, c(2)?)?
        }
        "Concat" => {
            ctx.check_attrs(&["axis"])?;
            let parts: Vec<&ConstTensor> = (0..names.len()).map(c).collect::<Result<_>>()?;
            concat(ctx, &parts)?
        }
        "ConstantOfShape" => {
            ctx.check_attrs(&["value"])?;
            constant_of_shape(ctx, c(0)?)?
        }
        "Range" => range(ctx, c(0)?, c(1)?, c(2)?)?,
        _ => return Ok(false),
    };
    let out = ctx
        .output(0)
        .ok_or_else(|| ctx.malformed("has no output"))?;
    imp.define_const(ctx, out, folded)?;
    Ok(true)
}

fn shape_err(ctx: &NodeCtx, what: String) -> Error {
    Error::Shape {
        node: ctx.name.clone(),
        what,
    }
}

fn cast(ctx: &NodeCtx, x: &ConstTensor, to: i32) -> Result<ConstTensor> {
    use data_type::*;
    let data = match (to, &x.data) {
        (FLOAT | DOUBLE | FLOAT16 | BFLOAT16, ConstData::F32(v)) => ConstData::F32(v.clone()),
        (FLOAT | DOUBLE | FLOAT16 | BFLOAT16, ConstData::I64(v)) => {
            ConstData::F32(v.iter().map(|&i| i as f32).collect())
        }
        (BOOL, ConstData::F32(v)) => {
            ConstData::I64(v.iter().map(|&f| i64::from(f != 0.0)).collect())
        }
        (BOOL, ConstData::I64(v)) => ConstData::I64(v.iter().map(|&i| i64::from(i != 0)).collect()),
        (INT8 | UINT8 | INT16 | UINT16 | INT32 | UINT32 | INT64 | UINT64, ConstData::F32(v)) => {
            ConstData::I64(v.iter().map(|&f| f as i64).collect())
        }
        (INT8 | UINT8 | INT16 | UINT16 | INT32 | UINT32 | INT64 | UINT64, ConstData::I64(v)) => {
            ConstData::I64(v.clone())
        }
        _ => {
            return Err(ctx.unsupported(format!("attribute 'to' = {} ({to})", data_type::name(to))))
        }
    };
    Ok(ConstTensor {
        dims: x.dims.clone(),
        data,
        data_type: to,
    })
}

/// Both operands broadcast to one shape, as index maps into each.
fn broadcast(ctx: &NodeCtx, shapes: &[&[usize]]) -> Result<(Vec<usize>, Vec<Vec<usize>>)> {
    let mut out = shapes[0].to_vec();
    for s in &shapes[1..] {
        out = broadcast_shapes(&out, s).map_err(|w| shape_err(ctx, w))?;
    }
    let maps = shapes.iter().map(|s| broadcast_source(s, &out)).collect();
    Ok((out, maps))
}

fn binary(ctx: &NodeCtx, a: &ConstTensor, b: &ConstTensor) -> Result<ConstTensor> {
    let (dims, maps) = broadcast(ctx, &[&a.dims, &b.dims])?;
    let op = ctx.op_type();
    let (data, data_type) = match (&a.data, &b.data) {
        (ConstData::F32(x), ConstData::F32(y)) => {
            let pairs = maps[0].iter().zip(&maps[1]).map(|(&i, &j)| (x[i], y[j]));
            if op == "Equal" {
                (
                    ConstData::I64(pairs.map(|(p, q)| i64::from(p == q)).collect()),
                    data_type::BOOL,
                )
            } else {
                let f = match op {
                    "Add" => |p: f32, q: f32| p + q,
                    "Sub" => |p: f32, q: f32| p - q,
                    "Mul" => |p: f32, q: f32| p * q,
                    _ => |p: f32, q: f32| p / q,
                };
                (
                    ConstData::F32(pairs.map(|(p, q)| f(p, q)).collect()),
                    a.data_type,
                )
            }
        }
        (ConstData::I64(x), ConstData::I64(y)) => {
            let mut v = Vec::with_capacity(maps[0].len());
            for (&i, &j) in maps[0].iter().zip(&maps[1]) {
                let (p, q) = (x[i], y[j]);
                let r = match op {
                    "Add" => p.checked_add(q),
                    "Sub" => p.checked_sub(q),
                    "Mul" => p.checked_mul(q),
                    "Div" => p.checked_div(q),
                    _ => Some(i64::from(p == q)),
                };
                v.push(r.ok_or_else(|| {
                    ctx.unsupported(format!(
                        "integer {op} of {p} and {q} overflows or divides by zero"
                    ))
                })?);
            }
            let t = if op == "Equal" {
                data_type::BOOL
            } else {
                a.data_type
            };
            (ConstData::I64(v), t)
        }
        _ => {
            return Err(ctx.malformed(format!(
                "operands of types {} and {}",
                data_type::name(a.data_type),
                data_type::name(b.data_type)
            )))
        }
    };
    Ok(ConstTensor {
        dims,
        data,
        data_type,
    })
}

fn where_(ctx: &NodeCtx, c: &ConstTensor, x: &ConstTensor, y: &ConstTensor) -> Result<ConstTensor> {
    let cond = c
        .i64s()
        .ok_or_else(|| ctx.malformed("condition is not boolean"))?;
    let (dims, m) = broadcast(ctx, &[&c.dims, &x.dims, &y.dims])?;
    let pick = |k: usize| cond[m[0][k]] != 0;
    let data = match (&x.data, &y.data) {
        (ConstData::F32(a), ConstData::F32(b)) => ConstData::F32(
            (0..m[0].len())
                .map(|k| if pick(k) { a[m[1][k]] } else { b[m[2][k]] })
                .collect(),
        ),
        (ConstData::I64(a), ConstData::I64(b)) => ConstData::I64(
            (0..m[0].len())
                .map(|k| if pick(k) { a[m[1][k]] } else { b[m[2][k]] })
                .collect(),
        ),
        _ => return Err(ctx.malformed("X and Y differ in type")),
    };
    Ok(ConstTensor {
        dims,
        data,
        data_type: x.data_type,
    })
}

fn concat(ctx: &NodeCtx, parts: &[&ConstTensor]) -> Result<ConstTensor> {
    let first = parts[0];
    let rank = first.dims.len();
    let axis = ctx.axis("axis", ctx.int("axis", 0)?, rank, 0)?;
    let mut dims = first.dims.clone();
    for p in &parts[1..] {
        let fits = p.dims.len() == rank
            && (0..rank).all(|a| a == axis || p.dims[a] == first.dims[a])
            && std::mem::discriminant(&p.data) == std::mem::discriminant(&first.data);
        if !fits {
            return Err(shape_err(
                ctx,
                format!(
                    "cannot join {:?} and {:?} on axis {axis}",
                    first.dims, p.dims
                ),
            ));
        }
        dims[axis] += p.dims[axis];
    }
    let outer: usize = first.dims[..axis].iter().product();
    let mut data = match &first.data {
        ConstData::F32(_) => ConstData::F32(Vec::new()),
        ConstData::I64(_) => ConstData::I64(Vec::new()),
    };
    for o in 0..outer {
        for p in parts {
            let block: usize = p.dims[axis..].iter().product();
            match (&mut data, &p.data) {
                (ConstData::F32(d), ConstData::F32(s)) => d.extend(&s[o * block..(o + 1) * block]),
                (ConstData::I64(d), ConstData::I64(s)) => d.extend(&s[o * block..(o + 1) * block]),
                _ => {}
            }
        }
    }
    Ok(ConstTensor {
        dims,
        data,
        data_type: first.data_type,
    })
}

/// Dims from an int64 shape tensor, checked like a file's dims.
fn shape_from(ctx: &NodeCtx, t: &ConstTensor) -> Result<Vec<usize>> {
    let v = t
        .i64s()
        .ok_or_else(|| ctx.malformed("shape input is not an integer tensor"))?;
    let (dims, _) = super::tensor::checked_dims(v, &format!("node '{}'", ctx.name))?;
    Ok(dims)
}

fn constant_of_shape(ctx: &NodeCtx, shape: &ConstTensor) -> Result<ConstTensor> {
    let dims = shape_from(ctx, shape)?;
    let count = dims.iter().product();
    let value = match ctx.tensor("value")? {
        Some(t) => super::tensor::from_proto(t)?,
        None => ConstTensor {
            dims: vec![1],
            data: ConstData::F32(vec![0.0]),
            data_type: data_type::FLOAT,
        },
    };
    let data = match &value.data {
        ConstData::F32(v) if v.len() == 1 => ConstData::F32(vec![v[0]; count]),
        ConstData::I64(v) if v.len() == 1 => ConstData::I64(vec![v[0]; count]),
        _ => return Err(ctx.malformed("attribute 'value' must hold one element")),
    };
    Ok(ConstTensor {
        dims,
        data,
        data_type: value.data_type,
    })
}

fn range(
    ctx: &NodeCtx,
    start: &ConstTensor,
    limit: &ConstTensor,
    delta: &ConstTensor,
) -> Result<ConstTensor> {
    let scalar = |t: &ConstTensor| -> Result<f64> {
        match (&t.data, t.len()) {
            (ConstData::F32(v), 1) => Ok(f64::from(v[0])),
            (ConstData::I64(v), 1) => Ok(v[0] as f64),
            _ => Err(ctx.malformed("Range inputs must be scalars")),
        }
    };
    let (s, l, d) = (scalar(start)?, scalar(limit)?, scalar(delta)?);
    let n = ((l - s) / d).ceil();
    if !n.is_finite() || n > MAX_ELEMENTS as f64 {
        return Err(ctx.unsupported(format!("Range({s}, {l}, {d}) has too many elements")));
    }
    let n = n.max(0.0) as usize;
    let data = match &start.data {
        ConstData::F32(_) => ConstData::F32((0..n).map(|i| (s + i as f64 * d) as f32).collect()),
        ConstData::I64(_) => ConstData::I64((0..n).map(|i| (s + i as f64 * d) as i64).collect()),
    };
    Ok(ConstTensor {
        dims: vec![n],
        data,
        data_type: start.data_type,
    })
}
