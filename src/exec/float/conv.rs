//! Convolution: depthwise kernel, direct GEMM for pointwise, im2col + GEMM otherwise.

use super::buffers::scratch;
use crate::ir::ops::Conv;
use crate::ir::Activation;
use crate::kernels::f32_dwconv::f32_dwconv;
use crate::kernels::f32_gemm::{f32_gemm, PackedA};
use crate::kernels::f32_im2col::f32_im2col;
use crate::kernels::{ConvGeometry, Epilogue};

/// Which kernels compute the convolution.
#[derive(Clone, Debug)]
enum Path {
    /// One filter per channel: weights `[C, kh * kw]`.
    Depthwise(Vec<f32>),
    /// 1x1, stride 1, no padding: the input of each group already is the GEMM's `[C/g, H*W]`.
    Direct(Vec<PackedA>),
    /// General: unfold each group with im2col, then GEMM.
    Im2col(Vec<PackedA>),
}

/// A convolution node ready to run: packed weights and resolved geometry.
#[derive(Clone, Debug)]
pub(super) struct ConvPlan {
    path: Path,
    /// Window geometry of one image (channels per group, or all channels for depthwise).
    geom: ConvGeometry,
    bias: Vec<f32>,
    act: Activation,
    batch: usize,
    groups: usize,
    /// Output channels per group.
    out_per_group: usize,
}

impl ConvPlan {
    /// Plans `conv` for input `[N, C, H, W]` and output `[N, O, H', W']` (both checked by the
    /// shape rule).
    pub(super) fn new(conv: &Conv, x: &[usize], y: &[usize]) -> ConvPlan {
        let [kh, kw] = conv.kernel();
        let groups = conv.group;
        let out_per_group = y[1] / groups;
        let geom = ConvGeometry {
            channels: x[1] / groups,
            in_h: x[2],
            in_w: x[3],
            out_h: y[2],
            out_w: y[3],
            kh,
            kw,
            stride: conv.strides,
            dilation: conv.dilations,
            pad: [conv.pads[0], conv.pads[1]],
        };
        // Logical (row-major) order whatever the array's memory layout.
        let w: Vec<f32> = conv.weight.iter().copied().collect();
        let path = if conv.is_depthwise() {
            Path::Depthwise(w)
        } else {
            let k = geom.channels * kh * kw;
            let packs = w
                .chunks_exact((out_per_group * k).max(1))
                .map(|rows| PackedA::pack(rows, out_per_group, k))
                .collect();
            let pointwise = kh == 1 && kw == 1 && conv.strides == [1, 1] && conv.pads == [0; 4];
            if pointwise {
                Path::Direct(packs)
            } else {
                Path::Im2col(packs)
            }
        };
        let geom = if conv.is_depthwise() {
            ConvGeometry {
                channels: x[1],
                ..geom
            }
        } else {
            geom
        };
        ConvPlan {
            path,
            geom,
            bias: conv.bias.clone(),
            act: conv.activation,
            batch: x[0],
            groups,
            out_per_group,
        }
    }

    /// Short description of the chosen path, for profiles and debugging.
    pub(super) fn path_name(&self) -> &'static str {
        match self.path {
            Path::Depthwise(_) => "depthwise",
            Path::Direct(_) => "pointwise-gemm",
            Path::Im2col(_) => "im2col-gemm",
        }
    }

    fn epilogue(&self, rows: std::ops::Range<usize>) -> Epilogue<'_> {
        Epilogue {
            bias: Some(&self.bias[rows]),
            min: self.act.min,
            max: self.act.max,
        }
    }

    /// `y = act(conv(x) + bias)` for the whole batch; `cols` is the im2col scratch.
    pub(super) fn run(&self, x: &[f32], y: &mut [f32], cols: &mut Vec<f32>) {
        let g = &self.geom;
        let in_plane = g.in_h * g.in_w;
        let out_plane = g.out_h * g.out_w;
        let in_group = g.channels * in_plane;
        let out_group = self.out_per_group * out_plane;
        let (in_img, out_img) = match self.path {
            Path::Depthwise(_) => (in_group, g.channels * out_plane),
            _ => (in_group * self.groups, out_group * self.groups),
        };
        if in_img == 0 || out_img == 0 {
            return;
        }
        let images = x.chunks_exact(in_img).zip(y.chunks_exact_mut(out_img));
        for (xi, yi) in images.take(self.batch) {
            match &self.path {
                Path::Depthwise(w) => {
                    f32_dwconv(g, xi, w, &self.epilogue(0..g.channels), yi);
                }
                Path::Direct(packs) => {
                    let groups = xi
                        .chunks_exact(in_group)
                        .zip(yi.chunks_exact_mut(out_group));
                    for (gi, ((xg, yg), a)) in groups.zip(packs).enumerate() {
                        let rows = gi * self.out_per_group..(gi + 1) * self.out_per_group;
                        f32_gemm(a, xg, out_plane, yg, &self.epilogue(rows));
                    }
                }
                Path::Im2col(packs) => {
                    let c = scratch(cols, g.channels * g.kh * g.kw * out_plane);
                    let groups = xi
                        .chunks_exact(in_group)
                        .zip(yi.chunks_exact_mut(out_group));
                    for (gi, ((xg, yg), a)) in groups.zip(packs).enumerate() {
                        f32_im2col(g, xg, c);
                        let rows = gi * self.out_per_group..(gi + 1) * self.out_per_group;
                        f32_gemm(a, c, out_plane, yg, &self.epilogue(rows));
                    }
                }
            }
        }
    }
}
