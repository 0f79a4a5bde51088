//! Layers without parameters: ReLU, 2x2 max pooling and flatten.

use super::super::par::{map_chunks, map_chunks2, ELEMENTWISE_CHUNK};
use super::super::tensor::{buffer, recycle, Shape, Tensor4};
use crate::{Error, Result};

/// `y = max(x, 0)`; backward passes `dy` where `x > 0`, else 0.
#[derive(Clone, Debug, Default)]
pub struct Relu {
    active: Vec<bool>,
}

impl Relu {
    /// A ReLU.
    pub fn new() -> Relu {
        Relu::default()
    }

    /// In place; in training remembers where the input was positive.
    pub fn forward(&mut self, mut x: Tensor4, train: bool) -> Tensor4 {
        const C: usize = ELEMENTWISE_CHUNK;
        if train {
            self.active.resize(x.data.len(), false);
            map_chunks2(&mut x.data, C, &mut self.active, C, |_, x, active| {
                for (v, a) in x.iter_mut().zip(active) {
                    *a = *v > 0.0;
                    *v = v.max(0.0);
                }
            });
        } else {
            map_chunks(&mut x.data, C, |_, x| {
                x.iter_mut().for_each(|v| *v = v.max(0.0))
            });
        }
        x
    }

    /// `dx = dy` where the input was positive, else 0.
    pub fn backward(&mut self, mut dy: Tensor4) -> Tensor4 {
        assert_eq!(
            dy.data.len(),
            self.active.len(),
            "Relu::backward without forward"
        );
        const C: usize = ELEMENTWISE_CHUNK;
        map_chunks2(&mut dy.data, C, &mut self.active, C, |_, dy, active| {
            for (g, &on) in dy.iter_mut().zip(active.iter()) {
                *g = if on { *g } else { 0.0 };
            }
        });
        dy
    }
}

/// Max over 2x2 windows with stride 2 (an odd last row or column is dropped, ONNX's floor);
/// backward routes each `dy` to the window's maximum (the first one on a tie).
#[derive(Clone, Debug, Default)]
pub struct MaxPool2d {
    /// Index in its input plane of each output's maximum (training only; reused).
    argmax: Vec<u32>,
    input: Option<Shape>,
}

impl MaxPool2d {
    /// A 2x2, stride 2 max pool.
    pub fn new() -> MaxPool2d {
        MaxPool2d::default()
    }

    /// Halved height and width (rounded down).
    pub fn output_shape(&self, input: Shape) -> Result<Shape> {
        if input.h < 2 || input.w < 2 {
            return Err(Error::Input(format!(
                "max pool 2x2: input {input} is smaller than the window"
            )));
        }
        Ok(Shape::new(input.c, input.n, input.h / 2, input.w / 2))
    }

    /// The windows' maxima; in training remembers where each came from. One task per plane.
    pub fn forward(&mut self, x: Tensor4, train: bool) -> Result<Tensor4> {
        let (xs, out) = (x.shape, self.output_shape(x.shape)?);
        if u32::try_from(xs.plane()).is_err() {
            return Err(Error::Input(format!("max pool: input {xs} too large")));
        }
        let mut y = buffer(out.len());
        // Evaluation still records the positions (cheap) but keeps nothing.
        let mut argmax = if train {
            std::mem::take(&mut self.argmax)
        } else {
            Vec::new()
        };
        argmax.resize(out.len(), 0);
        let plane = out.plane().max(1);
        map_chunks2(&mut y, plane, &mut argmax, plane, |i, dst, arg| {
            let src = &x.data[i * xs.plane()..][..xs.plane()];
            let rows = dst.chunks_exact_mut(out.w).zip(arg.chunks_exact_mut(out.w));
            for (oy, (dst, arg)) in rows.enumerate() {
                let top = &src[2 * oy * xs.w..][..xs.w];
                let bottom = &src[(2 * oy + 1) * xs.w..][..xs.w];
                for (ox, (d, a)) in dst.iter_mut().zip(arg.iter_mut()).enumerate() {
                    let (t0, t1) = (top[2 * ox], top[2 * ox + 1]);
                    let (b0, b1) = (bottom[2 * ox], bottom[2 * ox + 1]);
                    *d = t0.max(t1).max(b0.max(b1));
                    // The first maximum in reading order: of each row, then of the two.
                    let (top_max, top_at) = if t1 > t0 { (t1, 1) } else { (t0, 0) };
                    let (bottom_max, bottom_at) = if b1 > b0 { (b1, 3) } else { (b0, 2) };
                    let best = if bottom_max > top_max {
                        bottom_at
                    } else {
                        top_at
                    };
                    *a = ((2 * oy + best / 2) * xs.w + 2 * ox + best % 2) as u32;
                }
            }
        });
        if train {
            self.input = Some(xs);
            self.argmax = argmax;
        }
        recycle(x.data);
        Ok(Tensor4::new(out, y))
    }

    /// `dx` zero except at each window's maximum, which gets that window's `dy`.
    pub fn backward(&mut self, dy: Tensor4) -> Tensor4 {
        let input = self
            .input
            .take()
            .expect("MaxPool2d::backward without a training forward");
        let mut dx = buffer(input.len());
        let plane = dy.shape.plane().max(1);
        map_chunks(&mut dx, input.plane(), |i, dx| {
            dx.fill(0.0);
            let (dy, arg) = (
                &dy.data[i * plane..][..plane],
                &self.argmax[i * plane..][..plane],
            );
            for (&g, &at) in dy.iter().zip(arg) {
                dx[at as usize] = g; // windows do not overlap
            }
        });
        recycle(dy.data);
        Tensor4::new(input, dx)
    }
}

/// `[C, N, H, W]` to `[C * H * W, N, 1, 1]`: one feature vector per image, features in NCHW
/// order (`(c * H + y) * W + x`), as ONNX's `Flatten` of an NCHW tensor gives them.
#[derive(Clone, Debug, Default)]
pub struct Flatten {
    input: Option<Shape>,
}

impl Flatten {
    /// A flatten.
    pub fn new() -> Flatten {
        Flatten::default()
    }

    /// `[C * H * W, N, 1, 1]`.
    pub fn output_shape(&self, input: Shape) -> Shape {
        Shape::new(input.features(), input.n, 1, 1)
    }

    /// Regroups the values; remembers the input's extents for backward.
    pub fn forward(&mut self, x: Tensor4) -> Tensor4 {
        let s = x.shape;
        let (plane, mut y) = (s.plane(), buffer(s.len()));
        for c in 0..s.c {
            for n in 0..s.n {
                let src = &x.data[(c * s.n + n) * plane..][..plane];
                for (i, &v) in src.iter().enumerate() {
                    y[(c * plane + i) * s.n + n] = v;
                }
            }
        }
        self.input = Some(s);
        recycle(x.data);
        Tensor4::new(self.output_shape(s), y)
    }

    /// The inverse regrouping of `dy`.
    pub fn backward(&mut self, dy: Tensor4) -> Tensor4 {
        let s = self.input.expect("Flatten::backward without forward");
        let (plane, mut dx) = (s.plane(), buffer(s.len()));
        for c in 0..s.c {
            for n in 0..s.n {
                let dst = &mut dx[(c * s.n + n) * plane..][..plane];
                for (i, d) in dst.iter_mut().enumerate() {
                    *d = dy.data[(c * plane + i) * s.n + n];
                }
            }
        }
        recycle(dy.data);
        Tensor4::new(s, dx)
    }
}
