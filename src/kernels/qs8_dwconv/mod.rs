//! int8 depthwise 2-D convolution: each channel convolved with its own `kh x kw` filter on
//! int32 accumulators, the output stage ([`Requant`] or [`Dequant`], per channel) fused into
//! the store.
//!
//! As in `f32_dwconv`, each channel is first copied into a padded plane whose columns are split
//! by stride phase (see `pad.rs`); out-of-image taps read `pad_value`, the input zero point, so
//! with the bias holding `-Z_x * sum(w)` padding contributes exactly zero. The kernels then
//! compute blocks of output columns from contiguous slices with no bounds tests per pixel
//! (the SIMD128 kernel from a plane of int16 column pairs built from the input, see
//! `simd128.rs`).
//! Integer sums are exact: the scalar and SIMD128 kernels give the same bits.
//!
//! In the relaxed-SIMD build, where the engine computes `i32x4.relaxed_dot_i8x16_i7x16_add_s`
//! exactly, the usdot kernel (`usdot.rs`) takes the geometries it covers: four taps per dot,
//! from a plane of one byte per input value.
//!
//! With the `threads` feature, large convolutions split their channels across rayon's pool.

mod pad;
mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
mod usdot;

#[cfg(feature = "threads")]
use super::parallel;
use super::qs8_requant::{Dequant, OutputStage, Requant};
use super::ConvGeometry;
use crate::kernels::padded_plane::PaddedPlane;
use pad::padded_plane;

/// Depthwise filters `[channels, kh * kw]` prepared once for the kernel that runs their
/// geometry: in relaxed-SIMD builds where the usdot kernel runs, each channel's taps as the
/// int8 quads its dots splat and `128 * sum(w)` (a model's layer prepares them once, not once
/// per channel and run).
#[derive(Clone, Debug)]
pub struct Qs8DwFilters {
    weights: Vec<i8>,
    /// Always `None` in builds without the usdot kernel.
    #[cfg_attr(
        not(all(target_arch = "wasm32", target_feature = "relaxed-simd")),
        allow(dead_code)
    )]
    usdot: Option<UsdotFilters>,
}

#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
use usdot::Filters as UsdotFilters;

/// No usdot kernel in this build: there are never filters for it.
#[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
#[derive(Clone, Debug)]
enum UsdotFilters {}

impl Qs8DwFilters {
    /// Prepares `weights [channels, kh, kw]` for the convolution `g`.
    pub fn new(g: &ConvGeometry, weights: &[i8]) -> Self {
        assert_eq!(
            weights.len(),
            g.channels * g.kh * g.kw,
            "qs8_dwconv: weights"
        );
        #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
        let usdot = usdot_runs(g).then(|| usdot::Filters::new(g, weights));
        #[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
        let usdot = None;
        Qs8DwFilters {
            weights: weights.to_vec(),
            usdot,
        }
    }

    /// The filters as given, `[channels, kh, kw]`.
    pub fn weights(&self) -> &[i8] {
        &self.weights
    }
}

/// Whether [`qs8_dwconv`] runs the usdot kernel for `g` on this engine.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
fn usdot_runs(g: &ConvGeometry) -> bool {
    crate::kernels::qs8_gemm::usdot_exact() && usdot::covers(g)
}

/// `output[c, i, j] = req_c(sum_{u,v} w[c, u, v] * x[c, i*s + u*d - pad, ...])` for one image,
/// out-of-image taps reading `pad_value`: `input [channels, in_h, in_w]`,
/// `weights [channels, kh, kw]`, `output [channels, out_h, out_w]`, int8. Uses SIMD128 on
/// wasm32+simd128, the scalar kernel elsewhere. Prepares the filters on each call; a model
/// prepares them once ([`qs8_dwconv_prepared`]).
pub fn qs8_dwconv(
    g: &ConvGeometry,
    input: &[i8],
    pad_value: i8,
    weights: &[i8],
    req: &Requant,
    output: &mut [i8],
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    if usdot_runs(g) {
        return qs8_dwconv_usdot_relaxed(g, input, pad_value, weights, req, output);
    }
    unprepared(g, input, pad_value, weights, req, output);
}

/// [`qs8_dwconv`] with filters prepared for `g` ([`Qs8DwFilters::new`]).
pub fn qs8_dwconv_prepared(
    g: &ConvGeometry,
    input: &[i8],
    pad_value: i8,
    filters: &Qs8DwFilters,
    req: &Requant,
    output: &mut [i8],
) {
    let weights = filters.weights();
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    if let Some(prepared) = &filters.usdot {
        return run::<_, USDOT>(g, input, pad_value, (weights, Some(prepared)), req, output);
    }
    unprepared(g, input, pad_value, weights, req, output);
}

/// [`qs8_dwconv`] with the kernels that take the filters as they are: SIMD128 on
/// wasm32+simd128, scalar elsewhere.
fn unprepared(
    g: &ConvGeometry,
    input: &[i8],
    pad_value: i8,
    weights: &[i8],
    req: &Requant,
    output: &mut [i8],
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    qs8_dwconv_simd128(g, input, pad_value, weights, req, output);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    qs8_dwconv_scalar(g, input, pad_value, weights, req, output);
}

/// [`qs8_dwconv`] with the f32 output stage (dynamic-range quantization).
pub fn qs8_dwconv_f32(
    g: &ConvGeometry,
    input: &[i8],
    pad_value: i8,
    weights: &[i8],
    deq: &Dequant,
    output: &mut [f32],
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    run::<_, SIMD128>(g, input, pad_value, (weights, None), deq, output);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    run::<_, SCALAR>(g, input, pad_value, (weights, None), deq, output);
}

/// [`qs8_dwconv`] with the scalar kernel (8 output columns per block), on every target.
pub fn qs8_dwconv_scalar(
    g: &ConvGeometry,
    input: &[i8],
    pad_value: i8,
    weights: &[i8],
    req: &Requant,
    output: &mut [i8],
) {
    run::<_, SCALAR>(g, input, pad_value, (weights, None), req, output);
}

/// [`qs8_dwconv_f32`] with the scalar kernel, on every target.
pub fn qs8_dwconv_f32_scalar(
    g: &ConvGeometry,
    input: &[i8],
    pad_value: i8,
    weights: &[i8],
    deq: &Dequant,
    output: &mut [f32],
) {
    run::<_, SCALAR>(g, input, pad_value, (weights, None), deq, output);
}

/// [`qs8_dwconv`] with the SIMD128 kernel (each channel widened once into int16 pairs of
/// neighbouring columns, two taps per `i32x4.dot_i16x8_s`; see `simd128.rs`).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn qs8_dwconv_simd128(
    g: &ConvGeometry,
    input: &[i8],
    pad_value: i8,
    weights: &[i8],
    req: &Requant,
    output: &mut [i8],
) {
    run::<_, SIMD128>(g, input, pad_value, (weights, None), req, output);
}

/// Whether [`qs8_dwconv_usdot_relaxed`] computes `g` (filters of up to 8 columns whose taps,
/// for 4 neighbouring output columns, span at most 16 input columns).
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
pub fn qs8_dwconv_usdot_covers(g: &ConvGeometry) -> bool {
    usdot::covers(g)
}

/// [`qs8_dwconv`] with the relaxed-SIMD usdot kernel (four taps per
/// `i32x4.relaxed_dot_i8x16_i7x16_add_s`; see `usdot.rs`). Exact only where
/// [`usdot_exact`](crate::kernels::qs8_gemm::usdot_exact) holds; panics unless
/// [`qs8_dwconv_usdot_covers`] `g`.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
pub fn qs8_dwconv_usdot_relaxed(
    g: &ConvGeometry,
    input: &[i8],
    pad_value: i8,
    weights: &[i8],
    req: &Requant,
    output: &mut [i8],
) {
    let prepared = usdot::Filters::new(g, weights);
    run::<_, USDOT>(g, input, pad_value, (weights, Some(&prepared)), req, output);
}

/// Which kernel [`run`] uses: a const parameter, so that each entry point compiles only its
/// own kernel (a runtime choice kept the unused one in every wasm build).
const SCALAR: u8 = 0;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const SIMD128: u8 = 1;
#[cfg_attr(
    not(all(target_arch = "wasm32", target_feature = "relaxed-simd")),
    allow(dead_code)
)]
const USDOT: u8 = 2;

/// Output columns per block (both kernels).
const BLOCK: usize = 8;

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
    weights: &'a [i8],
    /// The channel (the output stage's row).
    channel: usize,
}

/// Checks shapes, then for each channel fills the padded plane and runs the kernel over it
/// (`prepared`: the filters prepared for the usdot kernel, which it needs).
fn run<S: OutputStage, const KERNEL: u8>(
    g: &ConvGeometry,
    input: &[i8],
    pad_value: i8,
    (weights, prepared): (&[i8], Option<&UsdotFilters>),
    stage: &S,
    output: &mut [S::Out],
) {
    #[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
    let _ = prepared;
    let (plane_in, plane_out, taps_n) = (g.in_h * g.in_w, g.out_h * g.out_w, g.kh * g.kw);
    assert_eq!(input.len(), g.channels * plane_in, "qs8_dwconv: input");
    assert_eq!(weights.len(), g.channels * taps_n, "qs8_dwconv: weights");
    assert_eq!(output.len(), g.channels * plane_out, "qs8_dwconv: output");
    assert!(
        g.stride[0] > 0 && g.stride[1] > 0,
        "qs8_dwconv: zero stride"
    );
    stage.check("qs8_dwconv", g.channels);
    if plane_out == 0 {
        return;
    }
    if taps_n == 0 {
        for (c, out) in output.chunks_exact_mut(plane_out).enumerate() {
            out.fill(stage.apply(c, 0));
        }
        return;
    }
    // The usdot kernel reads its own byte plane: no int8 plane, plane taps or row step.
    let padded = (KERNEL != USDOT).then(|| padded_plane(g, BLOCK, pad_value));
    let (taps, row_step) = padded.as_ref().map_or((Vec::new(), 0), |p| p.taps(g));
    let args = |c: usize| ChannelArgs {
        out_h: g.out_h,
        out_w: g.out_w,
        row_step,
        taps: &taps,
        weights: &weights[c * taps_n..][..taps_n],
        channel: c,
    };
    // Channels `c0..`, one plane of `out` each, through one padded plane (`padded`, or a new
    // one: the usdot kernel reads its own byte plane and makes none). Each kernel's branch is
    // a constant one, so a build holds only the kernels it calls.
    let channels = |padded: Option<PaddedPlane<i8>>, c0: usize, out: &mut [S::Out]| {
        let planes = out.chunks_exact_mut(plane_out).enumerate();
        #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
        if KERNEL == USDOT {
            let prepared = prepared.expect("qs8_dwconv: the usdot kernel without its filters");
            let mut bytes = usdot::BytePlane::new(g, pad_value);
            for (i, out_c) in planes {
                let (c, args) = (c0 + i, args(c0 + i));
                // From the channel's plane on: its last row loads whole 16-value chunks.
                bytes.fill(
                    g,
                    &input[c * plane_in..],
                    prepared.channel(c, stage.bias(c)),
                );
                simd128::dwconv_rows(&args, stage, &bytes, out_c);
            }
            return;
        }
        let mut padded = padded.unwrap_or_else(|| padded_plane(g, BLOCK, pad_value));
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        if KERNEL == SIMD128 {
            let mut pairs = simd128::PairPlane::new(g, &padded, pad_value);
            for (i, out_c) in planes {
                let (c, args) = (c0 + i, args(c0 + i));
                let x_c = &input[c * plane_in..][..plane_in];
                pairs.fill(g, &mut padded, x_c, (args.weights, stage.bias(c)));
                simd128::dwconv_rows(&args, stage, &pairs, out_c);
            }
            return;
        }
        for (i, out_c) in planes {
            let c = c0 + i;
            padded.fill(g, &input[c * plane_in..][..plane_in]);
            scalar::dwconv_rows(&args(c), stage, padded.data(), out_c)
        }
    };
    #[cfg(feature = "threads")]
    {
        // Channels are independent: split them, each task with its own padded plane.
        let parts = parallel::parts(g.channels, 2, g.channels * plane_out * taps_n);
        if parts > 1 {
            let per_part = g.channels.div_ceil(parts);
            parallel::chunks_mut(output, per_part * plane_out, |i, out| {
                channels(None, i * per_part, out)
            });
            return;
        }
    }
    channels(padded, 0, output);
}
