//! Export of a quantized variant as a standard ONNX model, for other runtimes.
//!
//! [`export_qdq`] writes a static variant ([`QuantizedGraph`](crate::quant::lower::QuantizedGraph))
//! in the QDQ form (opset 21, IR version 10): float operators with QuantizeLinear /
//! DequantizeLinear pairs marking every integer value, integer weights and biases as
//! initializers behind a DequantizeLinear. onnxruntime (or any ONNX runtime) runs it; one that
//! fuses QDQ groups runs it in integers, one that does not computes in float between exact
//! quantization steps, which is the oracle `tests/export_qdq.rs` compares against.
//!
//! ```text
//! activation v          ... -> op -> Q(S_v, Z_v: int8) -> DQ -> [Clip(S_v (qmin - Z_v), S_v (qmax - Z_v))] -> ...
//! Conv / Gemm weight    DQ(W: INT4 codes q = e + Z_w | INT8 effective integers e, S_w, Z_w; axis 0)
//! Conv / Gemm bias      DQ(b: INT32, S_x S_w[c]; axis 0)
//! fused activation      Clip(min, max) (or Relu) between the op and its output's Q
//! ```
//!
//! - Activations narrower than 8 bits (or the narrow range of `-sym`): ONNX has no int4..int7
//!   activation type, so Q saturates to int8 and a **Clip after the DQ** to the real range of
//!   the grid's codes `[qmin, qmax]` gives exactly `S (clamp(q, qmin, qmax) - Z)`, what
//!   quantscope's requantization produces. The bounds are computed as the DQ computes
//!   (`S * (q - Z)` in f32), so the clip lands exactly on grid values.
//! - Weights of a uniform grid of at most 4 bits are stored as **INT4** (data type 22, two
//!   codes to a byte, low nibble first) holding the codes `q = e + Z_w`, with an INT4 zero
//!   point per channel (0 when symmetric). Every other scheme (5..8-bit grids, k-means and
//!   power-of-two codebooks) is stored as INT8 effective integers `e` with zero point 0: the
//!   int8 DequantizeLinear of the codebook values as quantscope rounds them.
//! - Per-tensor weights have a scalar scale (and zero point), per-channel ones a vector on
//!   axis 0 (output channels; Gemm weights are `[N, K]` with `transB = 1`).
//! - The graph input is float (quantized by the first Q), the output float: the DQ of the
//!   logits, or a final Softmax computed on dequantized values.

pub(crate) mod build;
mod qdq;

pub use qdq::{export_qdq, qdq_model, IR_VERSION, OPSET};
