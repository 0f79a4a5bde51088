//! Depthwise 2-D convolution: each channel convolved with its own `kh x kw` filter.
//!
//! Each channel is first copied into a zero-padded plane whose columns are split by stride
//! phase (see `pad.rs`); the kernels then compute blocks of output columns from contiguous slices
//! with no bounds tests per pixel, accumulating in registers and fusing the epilogue into the
//! store.
//!
//! With the `threads` feature, large convolutions split their channels across rayon's pool
//! (each channel is computed exactly as sequentially).

mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;

use super::padded_plane::{block_len, PaddedPlane};
#[cfg(feature = "threads")]
use super::parallel;
use super::{ConvGeometry, Epilogue};

/// `output[c, i, j] = epi(sum_{u,v} w[c, u, v] * input[c, i*s + u*d - pad, ...])` for one image:
/// `input [channels, in_h, in_w]`, `weights [channels, kh, kw]`, `output [channels, out_h, out_w]`.
/// Uses SIMD128 on wasm32+simd128, the scalar kernel elsewhere.
pub fn f32_dwconv(
    g: &ConvGeometry,
    input: &[f32],
    weights: &[f32],
    epi: &Epilogue,
    output: &mut [f32],
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    f32_dwconv_simd128(g, input, weights, epi, output);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    f32_dwconv_scalar(g, input, weights, epi, output);
}

/// [`f32_dwconv`] with the scalar kernel (8 output columns per block), on every target.
pub fn f32_dwconv_scalar(
    g: &ConvGeometry,
    input: &[f32],
    weights: &[f32],
    epi: &Epilogue,
    output: &mut [f32],
) {
    run(
        g,
        input,
        weights,
        epi,
        output,
        scalar::BLOCK,
        scalar::dwconv_rows,
    );
}

/// [`f32_dwconv`] with the SIMD128 kernel (2 x f32x4 output columns per block).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn f32_dwconv_simd128(
    g: &ConvGeometry,
    input: &[f32],
    weights: &[f32],
    epi: &Epilogue,
    output: &mut [f32],
) {
    run(
        g,
        input,
        weights,
        epi,
        output,
        simd128::BLOCK,
        simd128::dwconv_rows,
    );
}

/// Most blocks of output columns accumulated together (independent add chains, one row-slice
/// fetch per tap). The kernels dispatch 1..=4 explicitly, so changing it means adding arms.
const CHUNK: usize = 4;

/// What a per-channel kernel needs besides the padded plane.
pub(super) struct ChannelArgs<'a> {
    /// Output rows and columns.
    out_h: usize,
    out_w: usize,
    /// Plane offset between consecutive output rows (`stride_h` padded rows).
    row_step: usize,
    /// Plane offset of each tap's source for output (0, 0), in weight order.
    taps: &'a [usize],
    /// This channel's `kh * kw` weights.
    weights: &'a [f32],
    /// Bias and clamp bounds.
    bias: f32,
    min: f32,
    max: f32,
}

/// Checks shapes, then for each channel pads the plane and runs `kernel` over it.
fn run<K>(
    g: &ConvGeometry,
    input: &[f32],
    weights: &[f32],
    epi: &Epilogue,
    output: &mut [f32],
    block: usize,
    kernel: K,
) where
    K: Fn(&ChannelArgs, &[f32], &mut [f32]) + Sync,
{
    let (plane_in, plane_out, taps_n) = (g.in_h * g.in_w, g.out_h * g.out_w, g.kh * g.kw);
    assert_eq!(input.len(), g.channels * plane_in);
    assert_eq!(weights.len(), g.channels * taps_n);
    assert_eq!(output.len(), g.channels * plane_out);
    assert!(
        g.stride[0] > 0 && g.stride[1] > 0,
        "f32_dwconv: zero stride"
    );
    if let Some(bias) = epi.bias {
        assert!(bias.len() >= g.channels, "f32_dwconv: too few biases");
    }
    if plane_out == 0 {
        return;
    }
    if taps_n == 0 {
        for (c, out) in output.chunks_exact_mut(plane_out).enumerate() {
            out.fill(epi.apply(c, 0.0));
        }
        return;
    }
    let padded = PaddedPlane::new(g, block_len(g, block), 0.0);
    let (taps, row_step) = padded.taps(g);
    // Channels `c0..`, one plane of `out` each, through one padded plane.
    let channels = |mut padded: PaddedPlane<f32>, c0: usize, out: &mut [f32]| {
        for (i, out_c) in out.chunks_exact_mut(plane_out).enumerate() {
            let c = c0 + i;
            padded.fill(g, &input[c * plane_in..][..plane_in]);
            let args = ChannelArgs {
                out_h: g.out_h,
                out_w: g.out_w,
                row_step,
                taps: &taps,
                weights: &weights[c * taps_n..][..taps_n],
                bias: epi.bias(c),
                min: epi.min,
                max: epi.max,
            };
            kernel(&args, padded.data(), out_c);
        }
    };
    #[cfg(feature = "threads")]
    {
        // Channels are independent: split them, each task with its own padded plane.
        let parts = parallel::parts(g.channels, 2, g.channels * plane_out * taps_n);
        if parts > 1 {
            let per_part = g.channels.div_ceil(parts);
            parallel::chunks_mut(output, per_part * plane_out, |i, out| {
                channels(
                    PaddedPlane::new(g, block_len(g, block), 0.0),
                    i * per_part,
                    out,
                )
            });
            return;
        }
    }
    channels(padded, 0, output);
}
