//! Ops that only move data: Flatten, Reshape, Concat, Pad.

/// Reshape to `[prod(shape[..axis]), prod(shape[axis..])]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Flatten {
    /// Axis, already made non-negative (0..=rank).
    pub axis: usize,
}

impl Flatten {
    /// Shape rule.
    pub fn output_shape(&self, x: &[usize]) -> Result<Vec<usize>, String> {
        if self.axis > x.len() {
            return Err(format!("Flatten axis {} out of range for {x:?}", self.axis));
        }
        Ok(vec![
            x[..self.axis].iter().product(),
            x[self.axis..].iter().product(),
        ])
    }
}

/// Reshape to a static shape (ONNX's 0 and -1 resolved at import).
#[derive(Clone, Debug, PartialEq)]
pub struct Reshape {
    /// Target shape.
    pub shape: Vec<usize>,
}

impl Reshape {
    /// Shape rule: element counts must agree.
    pub fn output_shape(&self, x: &[usize]) -> Result<Vec<usize>, String> {
        let (a, b) = (
            x.iter().product::<usize>(),
            self.shape.iter().product::<usize>(),
        );
        if a != b {
            return Err(format!(
                "cannot reshape {x:?} ({a} elements) to {:?} ({b})",
                self.shape
            ));
        }
        Ok(self.shape.clone())
    }
}

/// Join inputs along `axis`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Concat {
    /// Axis, already made non-negative.
    pub axis: usize,
}

impl Concat {
    /// Shape rule: equal ranks, equal sizes off the axis.
    pub fn output_shape(&self, xs: &[&[usize]]) -> Result<Vec<usize>, String> {
        let first = xs.first().ok_or("Concat needs at least one input")?;
        if self.axis >= first.len() {
            return Err(format!(
                "Concat axis {} out of range for {first:?}",
                self.axis
            ));
        }
        let mut out = first.to_vec();
        for x in &xs[1..] {
            let same_off_axis = x.len() == first.len()
                && x.iter()
                    .zip(first.iter())
                    .enumerate()
                    .all(|(i, (a, b))| i == self.axis || a == b);
            if !same_off_axis {
                return Err(format!(
                    "Concat inputs {first:?} and {x:?} differ off axis {}",
                    self.axis
                ));
            }
            out[self.axis] += x[self.axis];
        }
        Ok(out)
    }
}

/// How Pad fills the border.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PadMode {
    /// A constant value.
    Constant(f32),
    /// Mirror without repeating the edge.
    Reflect,
    /// Repeat the edge value.
    Edge,
}

/// Pad every axis by `(before, after)` elements.
#[derive(Clone, Debug, PartialEq)]
pub struct Pad {
    /// `(before, after)` per axis (negative pads are rejected at import).
    pub pads: Vec<(usize, usize)>,
    /// Fill mode.
    pub mode: PadMode,
}

impl Pad {
    /// Shape rule.
    pub fn output_shape(&self, x: &[usize]) -> Result<Vec<usize>, String> {
        if self.pads.len() != x.len() {
            return Err(format!(
                "Pad gives {} axes of pads for rank {}",
                self.pads.len(),
                x.len()
            ));
        }
        if self.mode == PadMode::Reflect
            && x.iter()
                .zip(&self.pads)
                .any(|(&d, &(b, a))| (b > 0 || a > 0) && (b >= d || a >= d))
        {
            return Err(format!("reflect pads {:?} too large for {x:?}", self.pads));
        }
        if self.mode == PadMode::Edge
            && x.iter()
                .zip(&self.pads)
                .any(|(&d, &(b, a))| d == 0 && b + a > 0)
        {
            return Err(format!("edge padding of an empty axis in {x:?}"));
        }
        Ok(x.iter()
            .zip(&self.pads)
            .map(|(d, (b, a))| d + b + a)
            .collect())
    }
}
