//! Pooling over NCHW planes: global average, windowed average and maximum.

use crate::ir::ops::Pool;

/// `y[p] = mean(x[p, ..])` over `planes` contiguous planes of `plane` values.
pub(super) fn global_average(planes: usize, plane: usize, x: &[f32], y: &mut [f32]) {
    let scale = 1.0 / plane as f32;
    for (y, xs) in y[..planes].iter_mut().zip(x.chunks_exact(plane.max(1))) {
        *y = xs.iter().sum::<f32>() * scale;
    }
}

/// A windowed pool with its input and output plane sizes resolved.
#[derive(Clone, Debug)]
pub(crate) struct PoolPlan {
    /// MaxPool (else AveragePool).
    pub(crate) max: bool,
    /// Window attributes.
    pub(crate) pool: Pool,
    /// `N * C`.
    pub(crate) planes: usize,
    /// Input `[h, w]`.
    pub(crate) input: [usize; 2],
    /// Output `[h, w]`.
    pub(crate) output: [usize; 2],
}

/// Window taps along one axis for output index `i`: `(first tap position, taps inside the
/// input, taps inside input + padding)`; taps inside the input are contiguous.
fn taps(p: &Pool, axis: usize, i: usize, input: usize) -> (isize, usize, usize, usize) {
    let start = (i * p.strides[axis]) as isize - p.pads[axis] as isize;
    let d = p.dilations[axis] as isize;
    let padded_end = (input + p.pads[axis + 2]) as isize;
    let (mut first_in, mut n_in, mut n_pad) = (usize::MAX, 0, 0);
    for u in 0..p.kernel[axis] {
        let pos = start + u as isize * d;
        if pos < padded_end {
            n_pad += 1;
        }
        if pos >= 0 && pos < input as isize {
            first_in = first_in.min(u);
            n_in += 1;
        }
    }
    (start, first_in, n_in, n_pad)
}

impl PoolPlan {
    /// Plans `pool` (a MaxPool when `max`) for NCHW input `x` and output `y` shapes.
    pub(crate) fn new(pool: &Pool, max: bool, x: &[usize], y: &[usize]) -> PoolPlan {
        PoolPlan {
            max,
            pool: pool.clone(),
            planes: x[0] * x[1],
            input: [x[2], x[3]],
            output: [y[2], y[3]],
        }
    }

    /// Runs the pool over every plane.
    pub(crate) fn run(&self, x: &[f32], y: &mut [f32]) {
        if self.max {
            // `>` keeps the first NaN out, as before; padding never wins: a window with no
            // input tap stays -inf.
            let step = |acc: f32, v: f32| if v > acc { v } else { acc };
            self.reduce(x, y, f32::NEG_INFINITY, step, |acc, _| acc);
        } else {
            self.reduce(
                x,
                y,
                0.0,
                |acc, v| acc + v,
                |acc, n| {
                    if n == 0 {
                        0.0
                    } else {
                        acc / n as f32
                    }
                },
            );
        }
    }

    /// For every window: folds its input taps with `step` from `init`, then `finish(acc,
    /// count)` gives the output, where `count` is the divisor of an average (taps inside the
    /// input, or inside input and padding with `count_include_pad`). Shared by the f32 and
    /// int8 executors.
    pub(crate) fn reduce<T: Copy, A: Copy>(
        &self,
        x: &[T],
        y: &mut [T],
        init: A,
        step: impl Fn(A, T) -> A,
        finish: impl Fn(A, usize) -> T,
    ) {
        let [ih, iw] = self.input;
        let [oh, ow] = self.output;
        let p = &self.pool;
        let [dh, dw] = p.dilations;
        // Window extents do not depend on the plane: compute them once per axis.
        let rows: Vec<_> = (0..oh).map(|i| taps(p, 0, i, ih)).collect();
        let cols: Vec<_> = (0..ow).map(|j| taps(p, 1, j, iw)).collect();
        for (xp, yp) in x
            .chunks_exact((ih * iw).max(1))
            .zip(y.chunks_exact_mut((oh * ow).max(1)))
            .take(self.planes)
        {
            for (i, &(r0, ru, rn, rpad)) in rows.iter().enumerate() {
                for (j, &(c0, cu, cn, cpad)) in cols.iter().enumerate() {
                    let mut acc = init;
                    for u in ru..ru.saturating_add(rn) {
                        let row = (r0 + (u * dh) as isize) as usize * iw;
                        for v in cu..cu.saturating_add(cn) {
                            acc = step(acc, xp[row + (c0 + (v * dw) as isize) as usize]);
                        }
                    }
                    let count = if p.count_include_pad {
                        rpad * cpad
                    } else {
                        rn * cn
                    };
                    yp[i * ow + j] = finish(acc, count);
                }
            }
        }
    }
}
