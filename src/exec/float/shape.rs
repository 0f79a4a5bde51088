//! Data-moving ops that copy: Concat and Pad. (Flatten, Reshape and Identity copy nothing:
//! the planner makes their output share the input's buffer.)

use crate::ir::ops::{Pad, PadMode};

/// Concat as `outer` rounds of one contiguous block per input.
#[derive(Clone, Debug)]
pub(crate) struct ConcatPlan {
    /// `prod(shape[..axis])`.
    pub(crate) outer: usize,
    /// Per input, `prod(shape_i[axis..])`.
    pub(crate) blocks: Vec<usize>,
}

impl ConcatPlan {
    /// Plans Concat of inputs with `shapes` along `axis`.
    pub(crate) fn new(shapes: &[&[usize]], axis: usize) -> ConcatPlan {
        ConcatPlan {
            outer: shapes.first().map_or(1, |s| s[..axis].iter().product()),
            blocks: shapes.iter().map(|s| s[axis..].iter().product()).collect(),
        }
    }

    /// `y = concat(xs)`.
    pub(crate) fn run(&self, xs: &[&[f32]], y: &mut [f32]) {
        self.run_with(xs, y, |_, src, dst| dst.copy_from_slice(src));
    }

    /// Concat calling `copy(input index, source block, destination block)` for every block
    /// (the int8 executor requantizes there).
    pub(crate) fn run_with<T>(
        &self,
        xs: &[&[T]],
        y: &mut [T],
        mut copy: impl FnMut(usize, &[T], &mut [T]),
    ) {
        let mut at = 0;
        for o in 0..self.outer {
            for (i, (x, &b)) in xs.iter().zip(&self.blocks).enumerate() {
                copy(i, &x[o * b..(o + 1) * b], &mut y[at..at + b]);
                at += b;
            }
        }
    }
}

/// Pad with shapes resolved; runs on f32 values and on int8 codes alike.
#[derive(Clone, Debug)]
pub(crate) struct PadPlan {
    /// Input shape.
    input: Vec<usize>,
    /// Output shape.
    output: Vec<usize>,
    /// `(before, after)` per axis.
    pads: Vec<(usize, usize)>,
    /// Fill mode.
    mode: PadMode,
}

/// Source index along an axis of length `d` for padded coordinate `i` (already shifted by
/// the leading pad), or `None` for the constant.
#[inline]
fn source(i: isize, d: usize, mode: PadMode) -> Option<usize> {
    let last = d as isize - 1;
    if (0..=last).contains(&i) {
        return Some(i as usize);
    }
    match mode {
        PadMode::Constant(_) => None,
        // The shape rule guarantees pads < d, so one reflection lands inside.
        PadMode::Reflect => Some(if i < 0 { -i } else { 2 * last - i } as usize),
        PadMode::Edge => Some(i.clamp(0, last.max(0)) as usize),
    }
}

impl PadPlan {
    /// The plan of `pad` from shape `input` to `output`.
    pub(crate) fn new(pad: &Pad, input: &[usize], output: &[usize]) -> PadPlan {
        PadPlan {
            input: input.to_vec(),
            output: output.to_vec(),
            pads: pad.pads.clone(),
            mode: pad.mode,
        }
    }

    /// The fill value of the constant mode.
    pub(crate) fn constant(&self) -> Option<f32> {
        match self.mode {
            PadMode::Constant(v) => Some(v),
            _ => None,
        }
    }

    /// `y = pad(x)` with `fill` for the constant mode (an int8 code for int8 values),
    /// walking the output row by row along the last axis.
    pub(crate) fn run<T: Copy>(&self, x: &[T], y: &mut [T], fill: T) {
        let total: usize = self.output.iter().product();
        if total == 0 {
            return;
        }
        let Some((&olen, lead)) = self.output.split_last() else {
            y[0] = x[0];
            return;
        };
        let r = lead.len();
        let (d, (before, _)) = (self.input[r], self.pads[r]);
        // Input strides.
        let mut stride = vec![1usize; r + 1];
        for a in (0..r).rev() {
            stride[a] = stride[a + 1] * self.input[a + 1];
        }
        let mut idx = vec![0usize; r];
        for yr in y.chunks_exact_mut(olen) {
            let mut base = Some(0usize);
            for a in 0..r {
                let i = idx[a] as isize - self.pads[a].0 as isize;
                base = base
                    .and_then(|b| source(i, self.input[a], self.mode).map(|s| b + s * stride[a]));
            }
            match base {
                None => yr.fill(fill),
                Some(b) => {
                    let xr = &x[b..b + d];
                    yr[before..before + d].copy_from_slice(xr);
                    for k in (0..before).chain(before + d..olen) {
                        yr[k] = source(k as isize - before as isize, d, self.mode)
                            .map_or(fill, |s| xr[s]);
                    }
                }
            }
            for a in (0..r).rev() {
                idx[a] += 1;
                if idx[a] < lead[a] {
                    break;
                }
                idx[a] = 0;
            }
        }
    }
}
