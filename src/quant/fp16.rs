//! fp16 weights: storage in IEEE binary16, compute in f32.
//!
//! An fp16-weights model computes exactly what the f32 model computes with every weight `w`
//! replaced by `f32(f16(w))`: round to nearest, ties to even, 11 significant bits (relative
//! error `<= 2^-11`), magnitudes below `2^-24` (half the smallest subnormal) flush to 0.
//! Values beyond the largest finite half, `|w| > 65504`, saturate to `±65504` rather than
//! becoming infinite (an inf weight would turn whole activations into inf/NaN); NaN stays NaN.
//! Activations, accumulation and outputs stay f32, so the only error is the weights'.

use crate::ir::{Graph, Op};
use half::f16;

/// `f32(f16(w))`, saturating at `±65504`.
#[inline]
pub fn round_to_f16(w: f32) -> f32 {
    let max = f16::MAX.to_f32();
    f16::from_f32(w.clamp(-max, max)).to_f32()
}

/// The graph with every Conv / Gemm weight and bias and every graph constant rounded through
/// binary16 ([`round_to_f16`]).
pub fn fp16_weights(graph: &Graph) -> Graph {
    let mut g = graph.clone();
    for node in &mut g.nodes {
        match &mut node.op {
            Op::Conv(c) => {
                c.weight.mapv_inplace(round_to_f16);
                c.bias.iter_mut().for_each(|b| *b = round_to_f16(*b));
            }
            Op::Gemm(m) => {
                m.weight.mapv_inplace(round_to_f16);
                if let Some(b) = &mut m.bias {
                    b.mapv_inplace(round_to_f16);
                }
            }
            _ => {}
        }
    }
    for (_, t) in &mut g.constants {
        t.mapv_inplace(round_to_f16);
    }
    g
}

/// Bytes the learned parameters take at `bytes_per_weight` each (4 for f32, 2 for fp16,
/// 1 for int8 ignoring the per-channel scales).
pub fn weight_bytes(graph: &Graph, bytes_per_weight: usize) -> usize {
    graph.parameter_count() * bytes_per_weight
}
