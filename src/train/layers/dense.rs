//! Fully connected layer on feature-major activations `X[in, N]`.
//!
//! - forward: `Y[out, N] = W X + b`, `W[out, in]` row-major (ONNX `Gemm` with `transB = 1`
//!   computes the same on `[N, in]` rows);
//! - backward: `dW = dY X^T`, `db[o] = sum over N of dY[o]`, `dX = W^T dY`.

use super::super::gemm::{gemm, Mat};
use super::super::par::sum;
use super::super::param::Param;
use super::super::rng::SplitMix64;
use super::super::tensor::{buffer, Shape, Tensor4};
use super::fake_quant::WeightQuant;
use crate::{Error, Result};

/// A dense (fully connected) layer.
#[derive(Clone, Debug)]
pub struct Dense {
    /// Input features.
    pub inputs: usize,
    /// Output features.
    pub outputs: usize,
    /// `[out, in]`.
    pub weight: Param,
    /// `[out]`.
    pub bias: Param,
    /// Fake quantization of the weights (quantization-aware training), if any.
    pub weight_quant: Option<WeightQuant>,
    input: Option<Tensor4>,
}

impl Dense {
    /// He (Kaiming) normal weights, `std = sqrt(2 / in)`, and zero biases.
    pub fn new(name: &str, inputs: usize, outputs: usize, rng: &mut SplitMix64) -> Dense {
        let std = (2.0 / inputs as f64).sqrt();
        let weight = (0..inputs * outputs)
            .map(|_| (rng.normal() * std) as f32)
            .collect();
        Dense {
            inputs,
            outputs,
            weight: Param::new(format!("{name}.weight"), weight, true),
            bias: Param::new(format!("{name}.bias"), vec![0.0; outputs], false),
            weight_quant: None,
            input: None,
        }
    }

    /// The weights the layer computes with (see [`super::Conv2d::effective_weight`]).
    pub fn effective_weight(&self) -> &[f32] {
        WeightQuant::weights(&self.weight_quant, &self.weight.value)
    }

    /// The bias the layer adds (see [`super::Conv2d::effective_bias`]).
    pub fn effective_bias(&self) -> &[f32] {
        WeightQuant::bias(&self.weight_quant, &self.bias.value)
    }

    /// `[out, N, 1, 1]` for an input `[in, N, 1, 1]`.
    pub fn output_shape(&self, input: Shape) -> Result<Shape> {
        if input.c != self.inputs || input.plane() != 1 {
            return Err(Error::Input(format!(
                "{}: expects [{}, N, 1, 1] features (flatten first), got {input}",
                self.weight.name, self.inputs
            )));
        }
        Ok(Shape::new(self.outputs, input.n, 1, 1))
    }

    /// `Y = W X + b`; in training keeps `X` for backward.
    pub fn forward(&mut self, x: Tensor4, train: bool) -> Result<Tensor4> {
        let out = self.output_shape(x.shape)?;
        if let Some(q) = &mut self.weight_quant {
            q.refresh(&self.weight.value, &self.bias.value, self.outputs, train);
        }
        let mut y = buffer(out.len());
        gemm(
            Mat::new(self.effective_weight(), self.outputs, self.inputs),
            Mat::new(&x.data, self.inputs, out.n),
            &mut y,
            Some(self.effective_bias()),
        );
        self.input = train.then_some(x);
        Ok(Tensor4::new(out, y))
    }

    /// Sets the gradients of weight and bias and returns `dX` when `input_grad`.
    pub fn backward(&mut self, dy: Tensor4, input_grad: bool) -> Option<Tensor4> {
        let x = self
            .input
            .take()
            .expect("Dense::backward without a training forward");
        let n = dy.shape.n;
        for (g, row) in self.bias.grad.iter_mut().zip(dy.data.chunks_exact(n)) {
            *g = sum(row) as f32;
        }
        let dy_mat = Mat::new(&dy.data, self.outputs, n);
        self.weight.grad.resize(self.outputs * self.inputs, 0.0);
        gemm(
            dy_mat,
            Mat::new(&x.data, self.inputs, n).t(),
            &mut self.weight.grad,
            None,
        );
        if let Some(q) = &self.weight_quant {
            q.mask_gradient(&mut self.weight.grad);
        }
        input_grad.then(|| {
            let mut dx = x.data;
            gemm(
                Mat::new(self.effective_weight(), self.outputs, self.inputs).t(),
                dy_mat,
                &mut dx,
                None,
            );
            Tensor4::new(x.shape, dx)
        })
    }
}
