//! Softmax cross-entropy, averaged over the batch.
//!
//! For logits `z[k, n]` (classes by images, feature-major) and labels `y[n]`:
//! `p = softmax(z[., n])`, `loss = mean_n (-ln p[y_n, n])`, and
//! `dloss/dz[k, n] = (p[k, n] - [k = y_n]) / N`.

use super::tensor::Tensor4;
use crate::{Error, Result};

/// The loss of one batch, its gradient, and how many images the logits classify right.
#[derive(Clone, Debug)]
pub struct LossOutput {
    /// Mean cross-entropy over the batch (nats).
    pub loss: f32,
    /// `dloss/dlogits`, same shape as the logits.
    pub grad: Tensor4,
    /// Images whose highest logit is their label (the first maximum on a tie).
    pub correct: usize,
}

/// Softmax cross-entropy of `logits` (`[classes, N, 1, 1]`) against `labels` (`N` of them).
pub fn softmax_cross_entropy(logits: &Tensor4, labels: &[u8]) -> Result<LossOutput> {
    let s = logits.shape;
    if s.plane() != 1 || s.n != labels.len() || s.n == 0 {
        return Err(Error::Input(format!(
            "cross-entropy: logits {s} for {} labels",
            labels.len()
        )));
    }
    if let Some(&l) = labels.iter().find(|&&l| usize::from(l) >= s.c) {
        return Err(Error::Input(format!(
            "cross-entropy: label {l} but only {} classes",
            s.c
        )));
    }
    let (classes, n) = (s.c, s.n);
    let mut grad = Tensor4::zeros(s);
    let (mut total, mut correct) = (0.0f64, 0usize);
    let mut column = vec![0.0f32; classes];
    for (i, &label) in labels.iter().enumerate() {
        for (k, v) in column.iter_mut().enumerate() {
            *v = logits.data[k * n + i];
        }
        let best = column
            .iter()
            .enumerate()
            .fold(0, |b, (k, &v)| if v > column[b] { k } else { b });
        correct += usize::from(best == usize::from(label));
        // Shifted by the maximum so exp never overflows.
        let max = column[best];
        let sum: f64 = column.iter().map(|&v| f64::from(v - max).exp()).sum();
        let label = usize::from(label);
        total += sum.ln() - f64::from(column[label] - max);
        for (k, &v) in column.iter().enumerate() {
            let p = f64::from(v - max).exp() / sum;
            let target = if k == label { 1.0 } else { 0.0 };
            grad.data[k * n + i] = ((p - target) / n as f64) as f32;
        }
    }
    Ok(LossOutput {
        loss: (total / n as f64) as f32,
        grad,
        correct,
    })
}
