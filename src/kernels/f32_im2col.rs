//! im2col: unfolds convolution windows of one image (one group) into a `[C*kh*kw, out_h*out_w]`
//! matrix so that convolution becomes a GEMM with the weights `[O, C*kh*kw]`.

use super::ConvGeometry;

/// Writes the columns of `input` (`[channels, in_h, in_w]`) into `cols`
/// (`[channels * kh * kw, out_h * out_w]`); padding reads as zero.
pub fn f32_im2col(g: &ConvGeometry, input: &[f32], cols: &mut [f32]) {
    let plane = g.out_h * g.out_w;
    assert_eq!(input.len(), g.channels * g.in_h * g.in_w);
    assert_eq!(cols.len(), g.channels * g.kh * g.kw * plane);
    for c in 0..g.channels {
        for u in 0..g.kh {
            for v in 0..g.kw {
                let row = (c * g.kh + u) * g.kw + v;
                for i in 0..g.out_h {
                    for j in 0..g.out_w {
                        let y = (i * g.stride[0] + u * g.dilation[0]) as isize - g.pad[0] as isize;
                        let x = (j * g.stride[1] + v * g.dilation[1]) as isize - g.pad[1] as isize;
                        let inside =
                            y >= 0 && x >= 0 && (y as usize) < g.in_h && (x as usize) < g.in_w;
                        cols[row * plane + i * g.out_w + j] = if inside {
                            input[(c * g.in_h + y as usize) * g.in_w + x as usize]
                        } else {
                            0.0
                        };
                    }
                }
            }
        }
    }
}
