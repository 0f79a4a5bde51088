//! Batch normalisation over the batch and spatial axes of each channel.
//!
//! Training, per channel over its `M = N * H * W` values: `mu` and `var` (biased) of the batch,
//! `xhat = (x - mu) / sigma` with `sigma = sqrt(var + eps)`, `y = gamma * xhat + beta`; the
//! running statistics move by `momentum` towards the batch's (unbiased variance, PyTorch's
//! convention). Evaluation uses the running statistics instead, an affine map per channel that
//! [`BatchNorm2d::scale_shift`] gives and that folds into the preceding convolution.
//!
//! Backward (training), per channel:
//! `dbeta = sum dy`, `dgamma = sum dy * xhat`,
//! `dx = gamma / (M * sigma) * (M * dy - dbeta - xhat * dgamma)`.

use super::super::par::{map_chunks, map_chunks2, sum, sum_pairs};
use super::super::param::Param;
use super::super::tensor::{Shape, Tensor4};
use crate::{Error, Result};

/// Added to the variance before the square root (PyTorch's and ONNX's default).
pub const BN_EPSILON: f32 = 1e-5;
/// Weight of the batch's statistics in the running ones (PyTorch's default).
pub const BN_MOMENTUM: f32 = 0.1;

/// A batch-norm layer with learned scale (`gamma`) and shift (`beta`) per channel.
#[derive(Clone, Debug)]
pub struct BatchNorm2d {
    /// Channels.
    pub channels: usize,
    /// Scale `gamma`, `[C]`.
    pub gamma: Param,
    /// Shift `beta`, `[C]`.
    pub beta: Param,
    /// Running mean, `[C]`.
    pub running_mean: Vec<f32>,
    /// Running (unbiased) variance, `[C]`.
    pub running_var: Vec<f32>,
    /// `1 / sigma` per channel of the last training forward, for backward.
    cache: Option<Vec<f32>>,
    /// The normalised input of the last training forward (reused between steps).
    xhat: Vec<f32>,
}

impl BatchNorm2d {
    /// `gamma = 1`, `beta = 0`, running mean 0 and variance 1.
    pub fn new(name: &str, channels: usize) -> BatchNorm2d {
        BatchNorm2d {
            channels,
            gamma: Param::new(format!("{name}.gamma"), vec![1.0; channels], false),
            beta: Param::new(format!("{name}.beta"), vec![0.0; channels], false),
            running_mean: vec![0.0; channels],
            running_var: vec![1.0; channels],
            cache: None,
            xhat: Vec::new(),
        }
    }

    /// Same extents as the input, whose channels must match.
    pub fn output_shape(&self, input: Shape) -> Result<Shape> {
        if input.c != self.channels {
            return Err(Error::Input(format!(
                "{}: expects {} channels, got {input}",
                self.gamma.name, self.channels
            )));
        }
        Ok(input)
    }

    /// Evaluation mode's `y = scale * x + shift` per channel:
    /// `scale = gamma / sqrt(running_var + eps)`, `shift = beta - running_mean * scale`.
    pub fn scale_shift(&self) -> (Vec<f32>, Vec<f32>) {
        (0..self.channels)
            .map(|c| {
                let scale = self.gamma.value[c] / (self.running_var[c] + BN_EPSILON).sqrt();
                (scale, self.beta.value[c] - self.running_mean[c] * scale)
            })
            .unzip()
    }

    /// Normalises with the batch's statistics (training, updating the running ones) or the
    /// running ones (evaluation).
    pub fn forward(&mut self, mut x: Tensor4, train: bool) -> Result<Tensor4> {
        self.output_shape(x.shape)?;
        let m = x.shape.channel_len();
        if !train {
            let (scale, shift) = self.scale_shift();
            map_chunks(&mut x.data, m, |c, values| {
                for v in values {
                    *v = *v * scale[c] + shift[c];
                }
            });
            return Ok(x);
        }
        if m < 2 {
            return Err(Error::Input(format!(
                "{}: batch statistics need at least 2 values per channel, got {}",
                self.gamma.name, x.shape
            )));
        }
        let mut xhat = std::mem::take(&mut self.xhat);
        xhat.resize(x.data.len(), 0.0);
        let (gamma, beta) = (&self.gamma.value, &self.beta.value);
        // One task per channel: f64 sums in fixed lanes, then the normalisation.
        let stats = map_chunks2(&mut x.data, m, &mut xhat, m, |c, values, xhat| {
            let mean = sum(values) / m as f64;
            let var = sum_pairs(values, values, |v, _| (f64::from(v) - mean).powi(2)) / m as f64;
            let inv = (1.0 / (var + f64::from(BN_EPSILON)).sqrt()) as f32;
            let mean32 = mean as f32;
            for (v, h) in values.iter_mut().zip(xhat.iter_mut()) {
                *h = (*v - mean32) * inv;
                *v = gamma[c] * *h + beta[c];
            }
            (mean32, var, inv)
        });
        let mut inv_sigma = Vec::with_capacity(self.channels);
        for (c, (mean32, var, inv)) in stats.into_iter().enumerate() {
            inv_sigma.push(inv);
            let unbiased = var * m as f64 / (m - 1) as f64;
            self.running_mean[c] += BN_MOMENTUM * (mean32 - self.running_mean[c]);
            self.running_var[c] += BN_MOMENTUM * (unbiased as f32 - self.running_var[c]);
        }
        self.xhat = xhat;
        self.cache = Some(inv_sigma);
        Ok(x)
    }

    /// Sets the gradients of `gamma` and `beta` and returns `dx` (formulas in the module doc).
    pub fn backward(&mut self, mut dy: Tensor4) -> Tensor4 {
        let inv_sigma = self
            .cache
            .take()
            .expect("BatchNorm2d::backward without a training forward");
        let m = dy.shape.channel_len();
        let gamma = &self.gamma.value;
        let grads = map_chunks2(&mut dy.data, m, &mut self.xhat, m, |c, dy, xhat| {
            let dbeta = sum(dy) as f32;
            let dgamma = sum_pairs(dy, xhat, |g, h| f64::from(g) * f64::from(h)) as f32;
            let k = gamma[c] * inv_sigma[c] / m as f32;
            let mf = m as f32;
            for (g, &h) in dy.iter_mut().zip(xhat.iter()) {
                *g = k * (mf * *g - dbeta - h * dgamma);
            }
            (dbeta, dgamma)
        });
        for (c, (dbeta, dgamma)) in grads.into_iter().enumerate() {
            self.beta.grad[c] = dbeta;
            self.gamma.grad[c] = dgamma;
        }
        dy
    }
}
