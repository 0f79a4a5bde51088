//! 2-D convolution (square kernel, stride, zero padding, bias) by im2col + GEMM.
//!
//! With `cols[K, N*P]` the im2col matrix of the input (`K = C_in * k * k` taps, `P` output
//! positions per image) and `W[C_out, K]` the weights:
//!
//! - forward: `Y[C_out, N*P] = W cols + b` (one GEMM for the whole batch; channel-major `Y` is
//!   exactly the output tensor);
//! - backward: `dW = dY cols^T`, `db[o] = sum over N*P of dY[o]`,
//!   `dX = col2im(W^T dY)` (each tap's gradient added back to the pixel it read).

use super::super::gemm::{gemm, Mat};
use super::super::par::{map_chunks, sum};
use super::super::param::Param;
use super::super::rng::SplitMix64;
use super::super::tensor::{buffer, recycle, Shape, Tensor4};
use super::fake_quant::WeightQuant;
use crate::kernels::gather;
use crate::{Error, Result};

/// A convolution layer; weights `[C_out, C_in, k, k]` row-major (ONNX's order).
#[derive(Clone, Debug)]
pub struct Conv2d {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel height and width.
    pub kernel: usize,
    /// Step between windows, both axes.
    pub stride: usize,
    /// Zeros added on each side, both axes.
    pub pad: usize,
    /// `[C_out, C_in * k * k]`.
    pub weight: Param,
    /// `[C_out]`.
    pub bias: Param,
    /// Fake quantization of the weights (quantization-aware training), if any.
    pub weight_quant: Option<WeightQuant>,
    /// The input's extents when the last training forward left `cols` for backward.
    cache: Option<Shape>,
    /// The im2col matrix, kept between steps (reused, not reallocated).
    cols: Vec<f32>,
    /// `W^T dY` in backward, kept between steps likewise.
    dcols: Vec<f32>,
}

impl Conv2d {
    /// A layer with He (Kaiming) normal weights, `std = sqrt(2 / fan_in)`, and zero biases.
    pub fn new(
        name: &str,
        (in_channels, out_channels): (usize, usize),
        (kernel, stride, pad): (usize, usize, usize),
        rng: &mut SplitMix64,
    ) -> Conv2d {
        let fan_in = in_channels * kernel * kernel;
        let std = (2.0 / fan_in as f64).sqrt();
        let weight = (0..out_channels * fan_in)
            .map(|_| (rng.normal() * std) as f32)
            .collect();
        Conv2d {
            in_channels,
            out_channels,
            kernel,
            stride: stride.max(1),
            pad,
            weight: Param::new(format!("{name}.weight"), weight, true),
            bias: Param::new(format!("{name}.bias"), vec![0.0; out_channels], false),
            weight_quant: None,
            cache: None,
            cols: Vec::new(),
            dcols: Vec::new(),
        }
    }

    /// Taps per output value (`C_in * k * k`), the GEMM's reduction length.
    pub fn taps(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }

    /// The weights the layer computes with. Every product (forward and backward) reads them
    /// through here, so a weight transform such as fake quantization plugs in at this one
    /// place; the gradient then reaches `weight` unchanged (straight through).
    pub fn effective_weight(&self) -> &[f32] {
        WeightQuant::weights(&self.weight_quant, &self.weight.value)
    }

    /// The bias the layer adds: the engine's int32 bias under QAT with a known input grid,
    /// else the float one.
    pub fn effective_bias(&self) -> &[f32] {
        WeightQuant::bias(&self.weight_quant, &self.bias.value)
    }

    /// Output extents for `input`, or why the input does not fit.
    pub fn output_shape(&self, input: Shape) -> Result<Shape> {
        if input.c != self.in_channels {
            return Err(Error::Input(format!(
                "{}: expects {} channels, got {input}",
                self.weight.name, self.in_channels
            )));
        }
        let out = |side: usize| {
            (side + 2 * self.pad)
                .checked_sub(self.kernel)
                .map(|s| s / self.stride + 1)
        };
        match (out(input.h), out(input.w)) {
            (Some(h), Some(w)) => Ok(Shape::new(self.out_channels, input.n, h, w)),
            _ => Err(Error::Input(format!(
                "{}: a {}x{} kernel does not fit {input} with padding {}",
                self.weight.name, self.kernel, self.kernel, self.pad
            ))),
        }
    }

    /// `Y = W * X + b`; in training keeps the im2col matrix for [`Conv2d::backward`].
    pub fn forward(&mut self, x: Tensor4, train: bool) -> Result<Tensor4> {
        let out = self.output_shape(x.shape)?;
        if let Some(q) = &mut self.weight_quant {
            q.refresh(
                &self.weight.value,
                &self.bias.value,
                self.out_channels,
                train,
            );
        }
        let (k, np) = (self.taps(), out.channel_len());
        let mut cols = std::mem::take(&mut self.cols);
        self.im2col(&x, out, &mut cols);
        let mut y = buffer(self.out_channels * np);
        gemm(
            Mat::new(self.effective_weight(), self.out_channels, k),
            Mat::new(&cols, k, np),
            &mut y,
            Some(self.effective_bias()),
        );
        // Evaluation batches may be much larger than training ones: not worth pinning.
        if train {
            self.cols = cols;
        }
        self.cache = train.then_some(x.shape);
        recycle(x.data);
        Ok(Tensor4::new(out, y))
    }

    /// Sets the gradients of weight and bias from `dy` and returns `dX` when `input_grad`.
    pub fn backward(&mut self, dy: Tensor4, input_grad: bool) -> Option<Tensor4> {
        let input = self
            .cache
            .take()
            .expect("Conv2d::backward without a training forward");
        let (co, k, np) = (self.out_channels, self.taps(), dy.shape.channel_len());
        for (g, row) in self.bias.grad.iter_mut().zip(dy.data.chunks_exact(np)) {
            *g = sum(row) as f32;
        }
        // dW[co, K] = dY[co, NP] cols^T, packed straight from cols.
        let dy_mat = Mat::new(&dy.data, co, np);
        self.weight.grad.resize(co * k, 0.0);
        gemm(
            dy_mat,
            Mat::new(&self.cols, k, np).t(),
            &mut self.weight.grad,
            None,
        );
        if let Some(q) = &self.weight_quant {
            q.mask_gradient(&mut self.weight.grad);
        }
        if !input_grad {
            recycle(dy.data);
            return None;
        }
        let mut dcols = std::mem::take(&mut self.dcols);
        dcols.resize(k * np, 0.0);
        gemm(
            Mat::new(self.effective_weight(), co, k).t(),
            dy_mat,
            &mut dcols,
            None,
        );
        let dx = self.col2im(&dcols, input, dy.shape);
        self.dcols = dcols;
        recycle(dy.data);
        Some(dx)
    }

    /// The output columns `lo..hi` whose tap `k` (kernel offset along an axis of `side`
    /// input values) reads inside the input: `0 <= o * stride + k - pad < side`.
    fn valid_outputs(&self, k: usize, side: usize, outputs: usize) -> std::ops::Range<usize> {
        let lo = self.pad.saturating_sub(k).div_ceil(self.stride);
        let hi = (side + self.pad).saturating_sub(k).div_ceil(self.stride);
        lo.min(outputs)..hi.min(outputs)
    }

    /// `cols[(ci, ky, kx), (n, oy, ox)] = x[ci, n, oy * s - p + ky, ox * s - p + kx]`
    /// (0 outside the image), every value written (`cols` is reused, not zeroed); one task per
    /// row.
    fn im2col(&self, x: &Tensor4, out: Shape, cols: &mut Vec<f32>) {
        let (s, p, kk) = (self.stride, self.pad, self.kernel);
        let xs = x.shape;
        let np = out.channel_len();
        cols.resize(self.taps() * np, 0.0);
        map_chunks(cols, np, |row, dst| {
            let (ci, ky, kx) = (row / (kk * kk), row / kk % kk, row % kk);
            let (rows, columns) = (
                self.valid_outputs(ky, xs.h, out.h),
                self.valid_outputs(kx, xs.w, out.w),
            );
            let planes = dst.chunks_exact_mut(out.plane());
            for (n, dst) in planes.enumerate() {
                let plane = &x.data[(ci * xs.n + n) * xs.plane()..][..xs.plane()];
                for (oy, dst) in dst.chunks_exact_mut(out.w).enumerate() {
                    if !rows.contains(&oy) || columns.is_empty() {
                        dst.fill(0.0);
                        continue;
                    }
                    let src = &plane[(oy * s + ky - p) * xs.w..][..xs.w];
                    dst[..columns.start].fill(0.0);
                    dst[columns.end..].fill(0.0);
                    gather(
                        &mut dst[columns.clone()],
                        &src[columns.start * s + kx - p..],
                        s,
                    );
                }
            }
        });
    }

    /// The adjoint of [`Conv2d::im2col`]: each column value added to the pixel it came from;
    /// one task per input channel.
    fn col2im(&self, dcols: &[f32], input: Shape, out: Shape) -> Tensor4 {
        let (s, p, kk) = (self.stride, self.pad, self.kernel);
        let np = out.channel_len();
        let mut dx = buffer(input.len());
        let plane_len = input.plane();
        map_chunks(&mut dx, input.channel_len(), |ci, dx| {
            dx.fill(0.0);
            // Taps in increasing (ky, kx) order: every pixel sums them in a fixed order.
            for tap in 0..kk * kk {
                let (ky, kx) = (tap / kk, tap % kk);
                let src = &dcols[(ci * kk * kk + tap) * np..][..np];
                let (rows, columns) = (
                    self.valid_outputs(ky, input.h, out.h),
                    self.valid_outputs(kx, input.w, out.w),
                );
                if columns.is_empty() {
                    continue;
                }
                for (n, plane) in dx.chunks_exact_mut(plane_len).enumerate() {
                    for oy in rows.clone() {
                        let dst = &mut plane[(oy * s + ky - p) * input.w..][..input.w];
                        let src = &src[(n * out.h + oy) * out.w..][..out.w];
                        if s == 1 {
                            let dst = &mut dst[columns.start + kx - p..][..columns.len()];
                            for (d, &v) in dst.iter_mut().zip(&src[columns.clone()]) {
                                *d += v;
                            }
                        } else {
                            for ox in columns.clone() {
                                dst[ox * s + kx - p] += src[ox];
                            }
                        }
                    }
                }
            }
        });
        Tensor4::new(input, dx)
    }
}
