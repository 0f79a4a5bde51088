//! The data behind the teaching page's pictures (not the drawing): pure functions of a graph,
//! a layer name, a bit width or an image, kernel-agnostic, every result `serde::Serialize` so
//! it crosses to JavaScript as JSON.
//!
//! - [`grid`]: a uniform integer grid `r = S (q - Z)`, `q` in `[qmin, qmax]`, at any width
//!   from 1 to 8 bits, built from the engine's [`QuantParams`](crate::quant::QuantParams).
//! - [`histogram`]: equal-width histograms for the plots.
//! - [`layers`]: every Conv/Gemm of a graph, and one layer's weights under a scheme (quantized
//!   by the engine's own code): histogram, the real levels (grid, k-means centroids, powers of
//!   two), per-channel ranges (why per tensor fails on depthwise layers), error, SQNR.
//! - [`mod@staircase`]: the float -> int -> float staircase of a grid or a codebook and the
//!   bucket of one value (the slider).
//! - [`bitdepth`]: the image analogy: fewer bits per channel, 1-bit black and white with and
//!   without dithering, PSNR and raw sizes.
//! - [`sizes`]: raw and deflate-compressed bytes of the weights as each variant stores them.

pub mod bitdepth;
pub mod grid;
pub mod histogram;
pub mod layers;
pub mod sizes;
pub mod staircase;

pub use bitdepth::{
    bit_depth_image, bit_depth_series, black_and_white, is_grey, luma, psnr, raw_bytes,
    reduce_bits, reduce_channel_bits, reduce_grey_bits, BitDepthEntry, BIT_DEPTH_KEYS,
    GREY_BIT_DEPTH_KEYS,
};
pub use grid::Grid;
pub use histogram::Histogram;
pub use layers::{
    all_layer_weights, fake_quantize, layer_grid, layer_list, layer_rounding, layer_view,
    layer_weights, levels_name, weight_scheme, weight_spec, LayerEntry, LayerView, LayerWeights,
    Rounding,
};
pub use sizes::{
    deflate_size, quantized_sizes, variant_sizes, SizeParts, Sizes, VariantSize,
    DEFAULT_SIZE_SPECS, DEFLATE_LEVEL,
};
pub use staircase::{activation_params, bucket, staircase, Bucket, Codebook, Quantizer, Staircase};
