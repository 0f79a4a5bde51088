//! 2-D convolution.

use super::Activation;
use ndarray::Array4;

/// 2-D convolution over NCHW input:
/// `y[n, o, i, j] = act(b[o] + sum_{c, u, v} w[o, c, u, v] * x[n, g*C/G + c, i*s + u*d - pad_top, ...])`.
///
/// BatchNorm that followed the conv in the file is already folded into `weight` and `bias`.
#[derive(Clone, Debug)]
pub struct Conv {
    /// Weights `[out_channels, in_channels / group, kh, kw]`.
    pub weight: Array4<f32>,
    /// Bias, one per output channel (zeros when the file has none).
    pub bias: Vec<f32>,
    /// Strides `[h, w]`.
    pub strides: [usize; 2],
    /// Dilations `[h, w]`.
    pub dilations: [usize; 2],
    /// Explicit padding `[top, left, bottom, right]` (auto_pad resolved at import).
    pub pads: [usize; 4],
    /// Number of groups; `group == in_channels == out_channels` is depthwise.
    pub group: usize,
    /// Fused activation.
    pub activation: Activation,
}

impl Conv {
    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.weight.shape()[0]
    }

    /// Kernel size `[kh, kw]`.
    pub fn kernel(&self) -> [usize; 2] {
        [self.weight.shape()[2], self.weight.shape()[3]]
    }

    /// True for depthwise convolution (one input channel per group, one output per group).
    pub fn is_depthwise(&self) -> bool {
        self.group > 1 && self.weight.shape()[1] == 1 && self.out_channels() == self.group
    }

    /// Output spatial size along one axis.
    pub fn out_len(
        input: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        pad: usize,
    ) -> Option<usize> {
        let span = dilation * (kernel - 1) + 1;
        (input + pad).checked_sub(span).map(|r| r / stride + 1)
    }

    /// Shape rule: `[N, C, H, W] -> [N, O, H', W']`.
    pub fn output_shape(&self, x: &[usize]) -> Result<Vec<usize>, String> {
        if x.len() != 4 {
            return Err(format!("Conv input must be 4-D NCHW, got {x:?}"));
        }
        let [o, cg, kh, kw] = [
            self.weight.shape()[0],
            self.weight.shape()[1],
            self.weight.shape()[2],
            self.weight.shape()[3],
        ];
        if self.group == 0 || x[1] != cg * self.group || o % self.group != 0 {
            return Err(format!(
                "Conv input has {} channels; weight {:?} with group {} wants {}",
                x[1],
                self.weight.shape(),
                self.group,
                cg * self.group
            ));
        }
        if self.bias.len() != o {
            return Err(format!(
                "Conv bias has {} values for {o} output channels",
                self.bias.len()
            ));
        }
        if self.strides.contains(&0) || self.dilations.contains(&0) || kh == 0 || kw == 0 {
            return Err("Conv strides, dilations and kernel must be positive".into());
        }
        let [pt, pl, pb, pr] = self.pads;
        let h = Self::out_len(x[2], kh, self.strides[0], self.dilations[0], pt + pb);
        let w = Self::out_len(x[3], kw, self.strides[1], self.dilations[1], pl + pr);
        match (h, w) {
            (Some(h), Some(w)) if h > 0 && w > 0 => Ok(vec![x[0], o, h, w]),
            _ => Err(format!(
                "Conv kernel {kh}x{kw} does not fit input {x:?} with pads {:?}",
                self.pads
            )),
        }
    }
}
