//! im2col: unfolds convolution windows of one image (one group) into a `[C*kh*kw, out_h*out_w]`
//! matrix so that convolution becomes a GEMM with the weights `[O, C*kh*kw]`. Generic over
//! the element type ([`im2col`]): the float executor uses [`f32_im2col`], the int8 one pads
//! with the input zero point.

use super::{gather, ConvGeometry};

/// [`im2col`] of f32 values, padding with zeros.
pub fn f32_im2col(g: &ConvGeometry, input: &[f32], cols: &mut [f32]) {
    im2col(g, input, 0.0, cols);
}

/// Writes the columns of `input` (`[channels, in_h, in_w]`) into `cols`
/// (`[channels * kh * kw, out_h * out_w]`); padding reads as `pad_value` (zero for floats,
/// the input zero point for int8, so padding contributes exactly zero to the product).
///
/// Each output row segment is split once into its left padding, interior and right padding,
/// so the interior is a contiguous copy (stride 1) or a strided gather with no bounds tests.
/// With the `threads` feature, the output rows are split across the threads.
pub fn im2col<T: Copy + Send + Sync>(g: &ConvGeometry, input: &[T], pad_value: T, cols: &mut [T]) {
    let plane = g.out_h * g.out_w;
    assert_eq!(input.len(), g.channels * g.in_h * g.in_w);
    assert_eq!(cols.len(), g.channels * g.kh * g.kw * plane);
    if plane == 0 {
        return;
    }
    let (sh, sw) = (g.stride[0], g.stride[1]);
    assert!(sh > 0 && sw > 0, "im2col: zero stride");
    // Row r of `cols` is tap (u, v) of channel c, r = (c * kh + u) * kw + v; `dst` is its
    // part for output rows `rows` (whole output rows of `out_w` columns).
    let fill = |r: usize, rows: std::ops::Range<usize>, dst: &mut [T]| {
        let (c, u, v) = (r / (g.kh * g.kw), r / g.kw % g.kh, r % g.kw);
        let src_c = &input[c * g.in_h * g.in_w..][..g.in_h * g.in_w];
        // Output columns j whose input column j*sw + v*dw - pad_left is inside.
        let shift = v * g.dilation[1];
        let j_lo = g.pad[1].saturating_sub(shift).div_ceil(sw).min(g.out_w);
        let j_hi = (g.in_w + g.pad[1])
            .saturating_sub(shift)
            .div_ceil(sw)
            .clamp(j_lo, g.out_w);
        for (i, dst) in rows.zip(dst.chunks_exact_mut(g.out_w)) {
            let y = (i * sh + u * g.dilation[0]).wrapping_sub(g.pad[0]);
            if y >= g.in_h || j_lo == j_hi {
                dst.fill(pad_value);
                continue;
            }
            dst[..j_lo].fill(pad_value);
            dst[j_hi..].fill(pad_value);
            let x0 = j_lo * sw + shift - g.pad[1];
            let src = &src_c[y * g.in_w + x0..(y + 1) * g.in_w];
            let dst = &mut dst[j_lo..j_hi];
            gather(dst, src, sw);
        }
    };
    #[cfg(feature = "threads")]
    {
        // Split over output rows (the columns of `cols`), as the GEMM after it packs `cols`:
        // each thread packs what it wrote. A copy per value: the values stand for the work.
        use super::parallel;
        let parts = parallel::parts(g.out_h, 1, cols.len());
        if parts > 1 {
            // Each part's rectangle: whole output rows (columns of `cols`) of every row.
            let rows = g.channels * g.kh * g.kw;
            let mut rects = parallel::rects(cols, (rows, plane), (1, 1), (g.out_w, parts));
            parallel::for_each_mut(&mut rects, |_, rect| {
                let out_rows = rect.cols().start / g.out_w..rect.cols().end / g.out_w;
                for r in 0..rows {
                    fill(r, out_rows.clone(), rect.row(r))
                }
            });
            return;
        }
    }
    for (r, dst) in cols.chunks_exact_mut(plane).enumerate() {
        fill(r, 0..g.out_h, dst)
    }
}
