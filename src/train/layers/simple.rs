//! Layers without parameters: ReLU, 2x2 max pooling and flatten.

use super::super::tensor::{Shape, Tensor4};
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
        if train {
            self.active = x.data.iter().map(|&v| v > 0.0).collect();
        }
        for v in &mut x.data {
            *v = v.max(0.0);
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
        for (g, &on) in dy.data.iter_mut().zip(&self.active) {
            if !on {
                *g = 0.0;
            }
        }
        dy
    }
}

/// Max over 2x2 windows with stride 2 (an odd last row or column is dropped, ONNX's floor);
/// backward routes each `dy` to the window's maximum (the first one on a tie).
#[derive(Clone, Debug, Default)]
pub struct MaxPool2d {
    /// Index in the input of each output's maximum (training only).
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

    /// The windows' maxima; in training remembers where each came from.
    pub fn forward(&mut self, x: Tensor4, train: bool) -> Result<Tensor4> {
        let (xs, out) = (x.shape, self.output_shape(x.shape)?);
        if u32::try_from(xs.len()).is_err() {
            return Err(Error::Input(format!("max pool: input {xs} too large")));
        }
        let mut y = Vec::with_capacity(out.len());
        let mut argmax = Vec::with_capacity(if train { out.len() } else { 0 });
        for plane in 0..xs.c * xs.n {
            let base = plane * xs.plane();
            for oy in 0..out.h {
                for ox in 0..out.w {
                    let top = base + 2 * oy * xs.w + 2 * ox;
                    let mut best = top;
                    for i in [top + 1, top + xs.w, top + xs.w + 1] {
                        if x.data[i] > x.data[best] {
                            best = i;
                        }
                    }
                    y.push(x.data[best]);
                    if train {
                        argmax.push(best as u32);
                    }
                }
            }
        }
        if train {
            self.argmax = argmax;
            self.input = Some(xs);
        }
        Ok(Tensor4::new(out, y))
    }

    /// `dx` zero except at each window's maximum, which gets that window's `dy`.
    pub fn backward(&mut self, dy: Tensor4) -> Tensor4 {
        let input = self
            .input
            .take()
            .expect("MaxPool2d::backward without a training forward");
        let mut dx = Tensor4::zeros(input);
        for (&g, &i) in dy.data.iter().zip(&self.argmax) {
            dx.data[i as usize] = g; // windows do not overlap
        }
        dx
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
        let (plane, mut y) = (s.plane(), vec![0.0f32; s.len()]);
        for c in 0..s.c {
            for n in 0..s.n {
                let src = &x.data[(c * s.n + n) * plane..][..plane];
                for (i, &v) in src.iter().enumerate() {
                    y[(c * plane + i) * s.n + n] = v;
                }
            }
        }
        self.input = Some(s);
        Tensor4::new(self.output_shape(s), y)
    }

    /// The inverse regrouping of `dy`.
    pub fn backward(&mut self, dy: Tensor4) -> Tensor4 {
        let s = self.input.expect("Flatten::backward without forward");
        let (plane, mut dx) = (s.plane(), vec![0.0f32; s.len()]);
        for c in 0..s.c {
            for n in 0..s.n {
                let dst = &mut dx[(c * s.n + n) * plane..][..plane];
                for (i, d) in dst.iter_mut().enumerate() {
                    *d = dy.data[(c * plane + i) * s.n + n];
                }
            }
        }
        Tensor4::new(s, dx)
    }
}
