//! The cheap int8 ops: averages and concatenation (see
//! [`crate::quant::lower`] for the math of each).

use crate::quant::{Multiplier, QuantParams};

/// Multipliers `S_x / (S_y n)` for every tap count `n` up to `max_count`, with the zero
/// points: the output stage of an average.
#[derive(Clone, Debug)]
pub(super) struct QAverage {
    by_count: Vec<Option<Multiplier>>,
    x_zero: i32,
    y_zero: i32,
    /// Output codes.
    clamp: (i8, i8),
}

impl QAverage {
    pub(super) fn new(ratio: f64, max_count: usize, x: &QuantParams, y: &QuantParams) -> Self {
        QAverage {
            by_count: (0..=max_count)
                .map(|n| Multiplier::from_f64(ratio / n as f64))
                .collect(),
            x_zero: x.zero_point,
            y_zero: y.zero_point,
            clamp: codes(y),
        }
    }

    /// `q_x - Z_x`: a tap's contribution (padding contributes 0, a real zero).
    #[inline]
    pub(super) fn centred(&self, q: i8) -> i32 {
        q as i32 - self.x_zero
    }

    /// The output code for `acc = sum (q_x - Z_x)` over `n` taps (`Z_y` for no taps).
    #[inline]
    pub(super) fn finish(&self, acc: i32, n: usize) -> i8 {
        match self.by_count.get(n).copied().flatten() {
            Some(m) => m.requantize(acc, self.y_zero, self.clamp.0, self.clamp.1),
            None => self.y_zero.clamp(self.clamp.0.into(), self.clamp.1.into()) as i8,
        }
    }

    /// GlobalAveragePool over contiguous planes of `plane` values.
    pub(super) fn global(&self, plane: usize, x: &[i8], y: &mut [i8]) {
        for (y, xs) in y.iter_mut().zip(x.chunks_exact(plane.max(1))) {
            let sum: i32 = xs.iter().map(|&q| q as i32).sum();
            *y = self.finish(sum - plane as i32 * self.x_zero, plane);
        }
    }
}

/// The codes `[qmin, qmax]` of `p`'s range.
pub(super) fn codes(p: &QuantParams) -> (i8, i8) {
    (p.range.qmin() as i8, p.range.qmax() as i8)
}

/// Concat input `i` requantized to the output parameters `y` (`None`: copied as is).
pub(super) fn requantize_block(
    m: Option<(Multiplier, i32)>,
    y: &QuantParams,
    src: &[i8],
    dst: &mut [i8],
) {
    let (lo, hi) = codes(y);
    match m {
        None => dst.copy_from_slice(src),
        Some((m, x_zero)) => {
            for (d, &q) in dst.iter_mut().zip(src) {
                *d = m.requantize(q as i32 - x_zero, y.zero_point, lo, hi);
            }
        }
    }
}
