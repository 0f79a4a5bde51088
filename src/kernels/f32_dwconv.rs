//! Depthwise 2-D convolution: each channel convolved with its own `kh x kw` filter.

use super::{ConvGeometry, Epilogue};

/// `output[c, i, j] = epi(sum_{u,v} w[c, u, v] * input[c, i*s + u*d - pad, ...])` for one image:
/// `input [channels, in_h, in_w]`, `weights [channels, kh, kw]`, `output [channels, out_h, out_w]`.
pub fn f32_dwconv(
    g: &ConvGeometry,
    input: &[f32],
    weights: &[f32],
    epi: &Epilogue,
    output: &mut [f32],
) {
    assert_eq!(input.len(), g.channels * g.in_h * g.in_w);
    assert_eq!(weights.len(), g.channels * g.kh * g.kw);
    assert_eq!(output.len(), g.channels * g.out_h * g.out_w);
    for c in 0..g.channels {
        for i in 0..g.out_h {
            for j in 0..g.out_w {
                let mut acc = 0.0;
                for u in 0..g.kh {
                    for v in 0..g.kw {
                        let y = (i * g.stride[0] + u * g.dilation[0]) as isize - g.pad[0] as isize;
                        let x = (j * g.stride[1] + v * g.dilation[1]) as isize - g.pad[1] as isize;
                        if y >= 0 && x >= 0 && (y as usize) < g.in_h && (x as usize) < g.in_w {
                            acc += weights[(c * g.kh + u) * g.kw + v]
                                * input[(c * g.in_h + y as usize) * g.in_w + x as usize];
                        }
                    }
                }
                output[(c * g.out_h + i) * g.out_w + j] = epi.apply(c, acc);
            }
        }
    }
}
