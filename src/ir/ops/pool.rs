//! Windowed pooling (average and max) and global average pooling.

/// A 2-D pooling window over NCHW input.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    /// Window `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Strides `[h, w]`.
    pub strides: [usize; 2],
    /// Dilations `[h, w]`.
    pub dilations: [usize; 2],
    /// Explicit padding `[top, left, bottom, right]`.
    pub pads: [usize; 4],
    /// Round output size up instead of down.
    pub ceil_mode: bool,
    /// AveragePool: divide by the full window, padding included, rather than by the valid part.
    pub count_include_pad: bool,
}

impl Pool {
    /// Output length along one axis, ONNX rules (a window must start inside input or left pad).
    pub fn out_len(&self, axis: usize, input: usize) -> Option<usize> {
        let pad = self.pads[axis] + self.pads[axis + 2];
        let span = self.dilations[axis] * (self.kernel[axis] - 1) + 1;
        let room = (input + pad).checked_sub(span)?;
        let s = self.strides[axis];
        let mut n = if self.ceil_mode {
            room.div_ceil(s)
        } else {
            room / s
        } + 1;
        // With ceil_mode the last window must start inside the input or the left padding.
        if self.ceil_mode && (n - 1) * s >= input + self.pads[axis] {
            n -= 1;
        }
        Some(n)
    }

    /// Shape rule: `[N, C, H, W] -> [N, C, H', W']`.
    pub fn output_shape(&self, x: &[usize]) -> Result<Vec<usize>, String> {
        if x.len() != 4 {
            return Err(format!("pooling input must be 4-D NCHW, got {x:?}"));
        }
        if self.kernel.contains(&0) || self.strides.contains(&0) || self.dilations.contains(&0) {
            return Err("pool kernel, strides and dilations must be positive".into());
        }
        match (self.out_len(0, x[2]), self.out_len(1, x[3])) {
            (Some(h), Some(w)) => Ok(vec![x[0], x[1], h, w]),
            _ => Err(format!(
                "pool window {:?} does not fit input {x:?}",
                self.kernel
            )),
        }
    }
}

/// Shape rule of GlobalAveragePool: `[N, C, ...] -> [N, C, 1, ...]`.
pub fn global_shape(x: &[usize]) -> Result<Vec<usize>, String> {
    if x.len() < 3 {
        return Err(format!(
            "GlobalAveragePool needs N, C and spatial axes, got {x:?}"
        ));
    }
    Ok(x.iter()
        .enumerate()
        .map(|(i, &d)| if i < 2 { d } else { 1 })
        .collect())
}
