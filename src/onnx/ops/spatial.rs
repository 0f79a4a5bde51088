//! Window geometry shared by Conv and pooling: resolving `auto_pad` to explicit pads.

use crate::onnx::node::NodeCtx;
use crate::{Error, Result};

/// A 2-D window: kernel, strides and dilations (`[h, w]` each).
pub(crate) struct Window {
    /// Kernel size.
    pub kernel: [usize; 2],
    /// Strides.
    pub strides: [usize; 2],
    /// Dilations.
    pub dilations: [usize; 2],
}

impl Window {
    /// Dilated extent along an axis, `dilation * (kernel - 1) + 1`, if it fits in `usize`
    /// with `input` added (so the IR's shape rule cannot overflow).
    fn span(&self, axis: usize, input: usize) -> Option<usize> {
        let span = self.dilations[axis]
            .checked_mul(self.kernel[axis].checked_sub(1)?)?
            .checked_add(1)?;
        span.checked_add(input)?.checked_add(1 << 17)?;
        Some(span)
    }

    /// Explicit pads `[top, left, bottom, right]` from `auto_pad` and `pads` for an input
    /// of spatial size `hw`.
    pub fn pads(&self, ctx: &NodeCtx, hw: [usize; 2]) -> Result<[usize; 4]> {
        let auto_pad = ctx.string("auto_pad", "NOTSET")?;
        let mut spans = [0; 2];
        for axis in 0..2 {
            spans[axis] = self.span(axis, hw[axis]).ok_or_else(|| Error::Shape {
                node: ctx.name.clone(),
                what: format!(
                    "window {:?} with dilations {:?} is too large",
                    self.kernel, self.dilations
                ),
            })?;
        }
        if auto_pad != "NOTSET" && ctx.has_attr("pads") {
            return Err(ctx.unsupported(format!(
                "attribute 'pads' together with auto_pad = \"{auto_pad}\""
            )));
        }
        match auto_pad.as_str() {
            "NOTSET" => ctx.sizes("pads", 0, [0; 4]),
            "VALID" => Ok([0; 4]),
            "SAME_UPPER" | "SAME_LOWER" => {
                let mut pads = [0; 4];
                for axis in 0..2 {
                    // Output size ceil(in / stride); the total padding makes the last window fit.
                    let s = self.strides[axis];
                    let out = hw[axis].div_ceil(s);
                    let need = out.saturating_sub(1) * s + spans[axis];
                    let total = need.saturating_sub(hw[axis]);
                    let (small, large) = (total / 2, total - total / 2);
                    // SAME_UPPER puts the extra pixel at the end, SAME_LOWER at the beginning.
                    let (begin, end) = if auto_pad == "SAME_UPPER" {
                        (small, large)
                    } else {
                        (large, small)
                    };
                    pads[axis] = begin;
                    pads[axis + 2] = end;
                }
                Ok(pads)
            }
            other => Err(ctx.unsupported(format!("attribute 'auto_pad' = \"{other}\""))),
        }
    }
}
