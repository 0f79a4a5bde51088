//! Convolution: depthwise kernel, direct GEMM for pointwise, im2col + GEMM otherwise.

use super::buffers::{scratch, Workspace};
use super::dynamic::{dequant, quantize_input, DynamicWeights};
use super::WeightMode;
use crate::ir::ops::Conv;
use crate::ir::Activation;
use crate::kernels::f32_dwconv::f32_dwconv;
use crate::kernels::f32_gemm::{f32_gemm, PackedA};
use crate::kernels::f32_im2col::{f32_im2col, im2col};
use crate::kernels::qs8_dwconv::qs8_dwconv_f32;
use crate::kernels::qs8_gemm::qs8_gemm_f32;
use crate::kernels::{ConvGeometry, Epilogue};

/// Which kernels compute a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConvKind {
    /// One filter per channel.
    Depthwise,
    /// 1x1, stride 1, no padding: the input of each group already is the GEMM's `[C/g, H*W]`.
    Direct,
    /// General: unfold each group with im2col, then GEMM.
    Im2col,
}

impl ConvKind {
    /// Short description, for profiles and debugging.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ConvKind::Depthwise => "depthwise",
            ConvKind::Direct => "pointwise-gemm",
            ConvKind::Im2col => "im2col-gemm",
        }
    }
}

/// The resolved shape of a convolution node, shared by the f32 and int8 executors.
#[derive(Clone, Debug)]
pub(crate) struct ConvShape {
    pub(crate) kind: ConvKind,
    /// Window geometry of one image (channels per group, or all channels for depthwise).
    pub(crate) geom: ConvGeometry,
    pub(crate) batch: usize,
    pub(crate) groups: usize,
    /// Output channels per group.
    pub(crate) out_per_group: usize,
}

impl ConvShape {
    /// Resolves `conv` for input `[N, C, H, W]` and output `[N, O, H', W']` (both checked by
    /// the shape rule).
    pub(crate) fn new(conv: &Conv, x: &[usize], y: &[usize]) -> ConvShape {
        let [kh, kw] = conv.kernel();
        let groups = conv.group;
        let kind = if conv.is_depthwise() {
            ConvKind::Depthwise
        } else if kh == 1 && kw == 1 && conv.strides == [1, 1] && conv.pads == [0; 4] {
            ConvKind::Direct
        } else {
            ConvKind::Im2col
        };
        let channels = if kind == ConvKind::Depthwise {
            x[1]
        } else {
            x[1] / groups
        };
        ConvShape {
            kind,
            geom: ConvGeometry {
                channels,
                in_h: x[2],
                in_w: x[3],
                out_h: y[2],
                out_w: y[3],
                kh,
                kw,
                stride: conv.strides,
                dilation: conv.dilations,
                pad: [conv.pads[0], conv.pads[1]],
            },
            batch: x[0],
            groups,
            out_per_group: y[1] / groups,
        }
    }

    /// GEMM reduction length per group: `C/g * kh * kw`.
    pub(crate) fn k(&self) -> usize {
        self.geom.channels * self.geom.kh * self.geom.kw
    }

    /// Output values per image plane.
    pub(crate) fn out_plane(&self) -> usize {
        self.geom.out_h * self.geom.out_w
    }

    /// Calls `f(group, output channel rows, input of the group, output of the group)` for
    /// every image and group (depthwise: once per image, all channels).
    pub(crate) fn for_each_group<T, U>(
        &self,
        x: &[T],
        y: &mut [U],
        mut f: impl FnMut(usize, std::ops::Range<usize>, &[T], &mut [U]),
    ) {
        let g = &self.geom;
        let in_group = g.channels * g.in_h * g.in_w;
        let out_group = self.out_per_group * self.out_plane();
        let (groups, in_img, out_img) = match self.kind {
            ConvKind::Depthwise => (1, in_group, g.channels * self.out_plane()),
            _ => (self.groups, in_group * self.groups, out_group * self.groups),
        };
        if in_img == 0 || out_img == 0 {
            return;
        }
        let (in_step, out_step) = (in_img / groups, out_img / groups);
        let rows_per_group = out_img / groups / self.out_plane().max(1);
        let images = x.chunks_exact(in_img).zip(y.chunks_exact_mut(out_img));
        for (xi, yi) in images.take(self.batch) {
            let parts = xi.chunks_exact(in_step).zip(yi.chunks_exact_mut(out_step));
            for (gi, (xg, yg)) in parts.enumerate() {
                let rows = gi * rows_per_group..(gi + 1) * rows_per_group;
                f(gi, rows, xg, yg);
            }
        }
    }
}

/// A convolution node ready to run: packed weights and resolved geometry.
#[derive(Clone, Debug)]
pub(super) struct ConvPlan {
    shape: ConvShape,
    /// Depthwise: weights `[C, kh * kw]`.
    depthwise: Vec<f32>,
    /// GEMM paths: weights packed per group.
    packs: Vec<PackedA>,
    /// Dynamic-range mode: int8 weights instead of the two above.
    dynamic: Option<DynamicWeights>,
    bias: Vec<f32>,
    act: Activation,
}

impl ConvPlan {
    /// Plans `conv` for input `[N, C, H, W]` and output `[N, O, H', W']` (both checked by the
    /// shape rule).
    pub(super) fn new(conv: &Conv, x: &[usize], y: &[usize], mode: WeightMode) -> ConvPlan {
        let shape = ConvShape::new(conv, x, y);
        // Logical (row-major) order whatever the array's memory layout.
        let w: Vec<f32> = conv.weight.iter().copied().collect();
        let dynamic = match mode {
            WeightMode::F32 => None,
            WeightMode::DynamicInt8 { scheme } => {
                let groups = (shape.kind != ConvKind::Depthwise).then_some(shape.groups);
                Some(DynamicWeights::new(&w, y[1], &scheme, groups))
            }
        };
        let (depthwise, packs) = if dynamic.is_some() {
            (Vec::new(), Vec::new())
        } else if shape.kind == ConvKind::Depthwise {
            (w, Vec::new())
        } else {
            let k = shape.k();
            let packs = w
                .chunks_exact((shape.out_per_group * k).max(1))
                .map(|rows| PackedA::pack(rows, shape.out_per_group, k))
                .collect();
            (Vec::new(), packs)
        };
        ConvPlan {
            shape,
            depthwise,
            packs,
            dynamic,
            bias: conv.bias.clone(),
            act: conv.activation,
        }
    }

    /// Short description of the chosen path, for profiles and debugging.
    pub(super) fn path_name(&self) -> &'static str {
        self.shape.kind.name()
    }

    /// `y = act(conv(x) + bias)` for the whole batch.
    pub(super) fn run(&self, x: &[f32], y: &mut [f32], ws: &mut Workspace) {
        if let Some(d) = &self.dynamic {
            return self.run_dynamic(d, x, y, ws);
        }
        let cols = &mut ws.cols;
        let s = &self.shape;
        let (g, n) = (&s.geom, s.out_plane());
        s.for_each_group(x, y, |gi, rows, xg, yg| {
            let epi = Epilogue {
                bias: Some(&self.bias[rows]),
                min: self.act.min,
                max: self.act.max,
            };
            match s.kind {
                ConvKind::Depthwise => f32_dwconv(g, xg, &self.depthwise, &epi, yg),
                ConvKind::Direct => f32_gemm(&self.packs[gi], xg, n, yg, &epi),
                ConvKind::Im2col => {
                    let c = scratch(cols, s.k() * n);
                    f32_im2col(g, xg, c);
                    f32_gemm(&self.packs[gi], c, n, yg, &epi);
                }
            }
        });
    }

    /// The dynamic-range path: quantize `x` from its own range, int8 kernels, f32 output.
    fn run_dynamic(&self, d: &DynamicWeights, x: &[f32], y: &mut [f32], ws: &mut Workspace) {
        let xq = quantize_input(x, &mut ws.codes);
        let stage = d.stage(&xq);
        let (s, pad) = (&self.shape, xq.zero_point as i8);
        let (g, n) = (&s.geom, s.out_plane());
        let (codes, cols) = (&ws.codes, &mut ws.codes_cols);
        s.for_each_group(codes.as_slice(), y, |gi, rows, xg, yg| {
            let deq = dequant(&stage, &self.bias, rows, self.act);
            match s.kind {
                ConvKind::Depthwise => qs8_dwconv_f32(g, xg, pad, &d.weights.data, &deq, yg),
                ConvKind::Direct => qs8_gemm_f32(&d.packs[gi], xg, n, yg, &deq),
                ConvKind::Im2col => {
                    let c = scratch(cols, s.k() * n);
                    im2col(g, xg, pad, c);
                    qs8_gemm_f32(&d.packs[gi], c, n, yg, &deq);
                }
            }
        });
    }
}
