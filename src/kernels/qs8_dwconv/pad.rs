//! The int8 depthwise plane: the shared [`PaddedPlane`], padded with the input zero point and
//! long enough for the SIMD128 kernel's column pairs.

use crate::kernels::padded_plane::{block_len, PaddedPlane};
use crate::kernels::ConvGeometry;

/// The int8 plane for `g`, read in blocks of `block` columns, padded with `pad_value`.
pub(super) fn padded_plane(g: &ConvGeometry, block: usize, pad_value: i8) -> PaddedPlane<i8> {
    // Room for the SIMD128 kernel's pair plane too (`pair_len` pairs of columns
    // `(c, c + dil_w)`: up to `dil_w` columns further).
    PaddedPlane::new(g, pair_len(g, block) + g.dilation[1], pad_value)
}

/// Elements per phase row of a plane read in blocks of `block` output columns: [`block_len`]
/// rounded up to 8.
pub(super) fn pair_len(g: &ConvGeometry, block: usize) -> usize {
    block_len(g, block).div_ceil(8) * 8
}
