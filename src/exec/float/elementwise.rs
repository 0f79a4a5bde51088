//! Elementwise ops: Relu, Clip, Sigmoid, HardSigmoid, HardSwish, LeakyRelu, Tanh (unary) and
//! Add, Mul, Sub, Div, PRelu with numpy broadcasting.

use crate::ir::Activation;

/// A unary elementwise op.
#[derive(Clone, Copy, Debug)]
pub(super) enum Unary {
    /// `max(x, 0)`, NaN kept.
    Relu,
    /// `clamp(x, min, max)`, NaN kept.
    Clip(Activation),
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `max(0, min(1, alpha x + beta))`.
    HardSigmoid { alpha: f32, beta: f32 },
    /// `x * max(0, min(1, x / 6 + 1 / 2))`.
    HardSwish,
    /// `x` for `x >= 0`, else `alpha x`.
    LeakyRelu(f32),
    /// `tanh(x)`.
    Tanh,
}

#[inline(always)]
fn relu(x: f32) -> f32 {
    // Not `x.max(0.0)`: that maps NaN to 0, ONNX keeps it.
    if x < 0.0 {
        0.0
    } else {
        x
    }
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    // Two branches so that exp never overflows to inf/inf.
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[inline(always)]
fn hard_sigmoid(x: f32, alpha: f32, beta: f32) -> f32 {
    (alpha * x + beta).clamp(0.0, 1.0)
}

#[inline(always)]
fn leaky(x: f32, alpha: f32) -> f32 {
    if x < 0.0 {
        alpha * x
    } else {
        x
    }
}

impl Unary {
    /// `y = f(x)`.
    pub(super) fn run(&self, x: &[f32], y: &mut [f32]) {
        match *self {
            Unary::Relu => map(x, y, relu),
            Unary::Clip(a) => map(x, y, |v| a.apply(v)),
            Unary::Sigmoid => map(x, y, sigmoid),
            Unary::HardSigmoid { alpha, beta } => map(x, y, |v| hard_sigmoid(v, alpha, beta)),
            Unary::HardSwish => map(x, y, |v| v * hard_sigmoid(v, 1.0 / 6.0, 0.5)),
            Unary::LeakyRelu(alpha) => map(x, y, |v| leaky(v, alpha)),
            Unary::Tanh => map(x, y, f32::tanh),
        }
    }

    /// `x = f(x)`.
    pub(super) fn run_in_place(&self, x: &mut [f32]) {
        let f = |v: f32| {
            let mut y = [0.0];
            self.run(&[v], &mut y);
            y[0]
        };
        match *self {
            Unary::Relu => x.iter_mut().for_each(|v| *v = relu(*v)),
            Unary::Clip(a) => x.iter_mut().for_each(|v| *v = a.apply(*v)),
            Unary::Sigmoid => x.iter_mut().for_each(|v| *v = sigmoid(*v)),
            _ => x.iter_mut().for_each(|v| *v = f(*v)),
        }
    }
}

#[inline(always)]
fn map(x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y = f(x);
    }
}

/// A binary op.
#[derive(Clone, Copy, Debug)]
pub(super) enum BinOp {
    /// `a + b`.
    Add,
    /// `a * b`.
    Mul,
    /// `a - b`.
    Sub,
    /// `a / b`.
    Div,
    /// `a` for `a >= 0`, else `a * b`.
    PRelu,
}

impl BinOp {
    #[inline(always)]
    fn apply(self, a: f32, b: f32) -> f32 {
        match self {
            BinOp::Add => a + b,
            BinOp::Mul => a * b,
            BinOp::Sub => a - b,
            BinOp::Div => a / b,
            BinOp::PRelu => leaky(a, b),
        }
    }
}

/// How the two operands of a binary op line up with the output.
#[derive(Clone, Debug)]
pub(super) enum BinaryPlan {
    /// Both operands have the output shape (residual connections).
    Same,
    /// Operand `full` has the output shape; the other one has `mid` values that repeat over
    /// `outer` blocks and `inner` neighbours: scalar, per-channel `[C, 1, 1]`, row bias, ...
    Repeat {
        full: usize,
        outer: usize,
        mid: usize,
        inner: usize,
    },
    /// Anything else: strided numpy broadcasting.
    General {
        out: Vec<usize>,
        strides: [Vec<usize>; 2],
    },
}

/// Strides of `shape` broadcast to `out` (right-aligned, 0 on broadcast axes).
pub(super) fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let lead = out.len() - shape.len();
    let mut strides = vec![0; out.len()];
    let mut s = 1;
    for d in (0..shape.len()).rev() {
        if shape[d] != 1 {
            strides[lead + d] = s;
        }
        s *= shape[d];
    }
    strides
}

/// If `part` (right-aligned to `out`) is a contiguous run of `out`'s axes padded with ones,
/// returns `(outer, mid, inner)`.
fn repeat_pattern(part: &[usize], out: &[usize]) -> Option<(usize, usize, usize)> {
    let lead = out.len().checked_sub(part.len())?;
    let dim = |d: usize| if d < lead { 1 } else { part[d - lead] };
    let non1: Vec<usize> = (0..out.len()).filter(|&d| dim(d) != 1).collect();
    let (lo, hi) = match (non1.first(), non1.last()) {
        (Some(&lo), Some(&hi)) => (lo, hi + 1),
        _ => (0, 0),
    };
    if (lo..hi).any(|d| dim(d) != out[d]) {
        return None;
    }
    Some((
        out[..lo].iter().product(),
        out[lo..hi].iter().product(),
        out[hi..].iter().product(),
    ))
}

impl BinaryPlan {
    /// Picks the cheapest loop for operands of shapes `a`, `b` and output `out`.
    pub(super) fn new(a: &[usize], b: &[usize], out: &[usize]) -> BinaryPlan {
        if a == out && b == out {
            return BinaryPlan::Same;
        }
        for (full, part) in [(0, b), (1, a)] {
            let full_shape = if full == 0 { a } else { b };
            if full_shape == out {
                if let Some((outer, mid, inner)) = repeat_pattern(part, out) {
                    return BinaryPlan::Repeat {
                        full,
                        outer,
                        mid,
                        inner,
                    };
                }
            }
        }
        BinaryPlan::General {
            out: out.to_vec(),
            strides: [broadcast_strides(a, out), broadcast_strides(b, out)],
        }
    }

    /// Operand indices whose buffer could hold the output (they have the output's shape).
    pub(super) fn full_operands(&self, a: &[usize], b: &[usize], out: &[usize]) -> Vec<usize> {
        [(0, a), (1, b)]
            .into_iter()
            .filter(|(_, s)| *s == out)
            .map(|(i, _)| i)
            .collect()
    }

    /// `y = op(a, b)`.
    pub(super) fn run(&self, op: BinOp, a: &[f32], b: &[f32], y: &mut [f32]) {
        // One monomorphised loop per op keeps the hot Add/Mul loops branch-free.
        match op {
            BinOp::Add => self.run_with(a, b, y, |x, z| x + z),
            BinOp::Mul => self.run_with(a, b, y, |x, z| x * z),
            other => self.run_with(a, b, y, |x, z| other.apply(x, z)),
        }
    }

    /// `acc = op(acc, other)` where `acc` is operand `which` and has the output shape.
    pub(super) fn run_in_place(&self, op: BinOp, which: usize, acc: &mut [f32], other: &[f32]) {
        // `f(acc, other)` gets its operands back in the op's order.
        match (op, which) {
            (BinOp::Add, _) => self.in_place_with(which, acc, other, |x, z| x + z),
            (BinOp::Mul, _) => self.in_place_with(which, acc, other, |x, z| x * z),
            (op, 0) => self.in_place_with(which, acc, other, |x, z| op.apply(x, z)),
            (op, _) => self.in_place_with(which, acc, other, |x, z| op.apply(z, x)),
        }
    }

    #[inline(always)]
    fn run_with(&self, a: &[f32], b: &[f32], y: &mut [f32], f: impl Fn(f32, f32) -> f32) {
        match self {
            BinaryPlan::Same => {
                for ((y, &a), &b) in y.iter_mut().zip(a).zip(b) {
                    *y = f(a, b);
                }
            }
            &BinaryPlan::Repeat {
                full,
                outer,
                mid,
                inner,
            } => {
                let (x, p) = if full == 0 { (a, b) } else { (b, a) };
                // Operands back in the op's order (Sub, Div and PRelu are not commutative).
                let g = |x: f32, v: f32| if full == 0 { f(x, v) } else { f(v, x) };
                for o in 0..outer {
                    for (m, &v) in p[..mid].iter().enumerate() {
                        let at = (o * mid + m) * inner;
                        for (y, &x) in y[at..at + inner].iter_mut().zip(&x[at..at + inner]) {
                            *y = g(x, v);
                        }
                    }
                }
            }
            BinaryPlan::General { out, strides } => {
                for_each_row(out, strides, |at, len, oa, ob, sa, sb| {
                    for (i, y) in y[at..at + len].iter_mut().enumerate() {
                        *y = f(a[oa + i * sa], b[ob + i * sb]);
                    }
                });
            }
        }
    }

    #[inline(always)]
    fn in_place_with(
        &self,
        which: usize,
        acc: &mut [f32],
        other: &[f32],
        f: impl Fn(f32, f32) -> f32,
    ) {
        match self {
            BinaryPlan::Same => {
                for (y, &b) in acc.iter_mut().zip(other) {
                    *y = f(*y, b);
                }
            }
            &BinaryPlan::Repeat {
                outer, mid, inner, ..
            } => {
                for o in 0..outer {
                    for (m, &v) in other[..mid].iter().enumerate() {
                        let at = (o * mid + m) * inner;
                        acc[at..at + inner].iter_mut().for_each(|y| *y = f(*y, v));
                    }
                }
            }
            BinaryPlan::General { out, strides } => {
                // `acc` has the output shape, so its offset is the output offset.
                let ob_of = |oa: usize, ob: usize| if which == 0 { ob } else { oa };
                let s_of = |sa: usize, sb: usize| if which == 0 { sb } else { sa };
                for_each_row(out, strides, |at, len, oa, ob, sa, sb| {
                    let (o, s) = (ob_of(oa, ob), s_of(sa, sb));
                    for (i, y) in acc[at..at + len].iter_mut().enumerate() {
                        *y = f(*y, other[o + i * s]);
                    }
                });
            }
        }
    }
}

/// Walks the output in rows along its last axis, calling
/// `f(out_offset, row_len, a_offset, b_offset, a_last_stride, b_last_stride)` per row.
pub(super) fn for_each_row(
    out: &[usize],
    strides: &[Vec<usize>; 2],
    mut f: impl FnMut(usize, usize, usize, usize, usize, usize),
) {
    let total: usize = out.iter().product();
    if total == 0 {
        return;
    }
    let Some((&len, lead)) = out.split_last() else {
        // Rank 0: one element.
        f(0, 1, 0, 0, 0, 0);
        return;
    };
    let r = lead.len();
    let (sa, sb) = (&strides[0], &strides[1]);
    let mut idx = vec![0usize; r];
    let (mut oa, mut ob) = (0usize, 0usize);
    for row in 0..total / len {
        f(row * len, len, oa, ob, sa[r], sb[r]);
        for d in (0..r).rev() {
            idx[d] += 1;
            oa += sa[d];
            ob += sb[d];
            if idx[d] < lead[d] {
                break;
            }
            oa -= sa[d] * lead[d];
            ob -= sb[d] * lead[d];
            idx[d] = 0;
        }
    }
}
