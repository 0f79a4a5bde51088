//! Ops that reorder or select elements: Transpose, Slice, Gather; and ReduceMean.
//!
//! The three movement ops share one execution form, [`source_indices`]: for every output
//! element (row-major), the input element it copies. The float executor plans that map
//! once; the importer uses the same map to fold constants, so both agree by construction.

/// Permute the axes: output axis `i` is input axis `perm[i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Transpose {
    /// A permutation of `0..rank`.
    pub perm: Vec<usize>,
}

impl Transpose {
    /// Shape rule.
    pub fn output_shape(&self, x: &[usize]) -> Result<Vec<usize>, String> {
        let mut seen = vec![false; x.len()];
        for &p in &self.perm {
            match seen.get_mut(p) {
                Some(s) if !*s => *s = true,
                _ => {
                    return Err(format!(
                        "perm {:?} is not a permutation of rank {}",
                        self.perm,
                        x.len()
                    ))
                }
            }
        }
        if self.perm.len() != x.len() {
            return Err(format!("perm {:?} for rank {}", self.perm, x.len()));
        }
        Ok(self.perm.iter().map(|&p| x[p]).collect())
    }
}

/// A strided window per axis, resolved at import for the input shape (full rank).
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    /// First index per axis.
    pub starts: Vec<usize>,
    /// Step per axis (negative walks backwards).
    pub steps: Vec<isize>,
    /// Number of elements taken per axis.
    pub lens: Vec<usize>,
}

impl Slice {
    /// Shape rule: every taken index lies inside its axis.
    pub fn output_shape(&self, x: &[usize]) -> Result<Vec<usize>, String> {
        if self.starts.len() != x.len() || self.steps.len() != x.len() || self.lens.len() != x.len()
        {
            return Err(format!("Slice of rank {} for input {x:?}", self.lens.len()));
        }
        for (a, &d) in x.iter().enumerate() {
            let (s, st, n) = (
                self.starts[a] as isize,
                self.steps[a],
                self.lens[a] as isize,
            );
            let last = s.checked_add(st.checked_mul(n - 1).unwrap_or(isize::MAX));
            let inside = |i: isize| (0..d as isize).contains(&i);
            if n > 0 && (st == 0 || !inside(s) || !last.is_some_and(inside)) {
                return Err(format!(
                    "Slice axis {a}: {n} steps of {st} from {s} leave [0, {d})"
                ));
            }
        }
        Ok(self.lens.clone())
    }
}

/// Select along `axis` with constant indices (already made non-negative).
#[derive(Clone, Debug, PartialEq)]
pub struct Gather {
    /// Axis of the data.
    pub axis: usize,
    /// Indices, flat.
    pub indices: Vec<usize>,
    /// Shape of the indices (replaces the axis in the output shape).
    pub indices_shape: Vec<usize>,
}

impl Gather {
    /// Shape rule: `x[..axis] ++ indices_shape ++ x[axis + 1..]`.
    pub fn output_shape(&self, x: &[usize]) -> Result<Vec<usize>, String> {
        let d = *x
            .get(self.axis)
            .ok_or_else(|| format!("Gather axis {} out of range for {x:?}", self.axis))?;
        if let Some(i) = self.indices.iter().find(|&&i| i >= d) {
            return Err(format!("Gather index {i} out of range for axis of {d}"));
        }
        if self.indices.len() != self.indices_shape.iter().product::<usize>() {
            return Err(format!(
                "{} Gather indices for shape {:?}",
                self.indices.len(),
                self.indices_shape
            ));
        }
        let mut out = x[..self.axis].to_vec();
        out.extend(&self.indices_shape);
        out.extend(&x[self.axis + 1..]);
        Ok(out)
    }
}

/// Mean over `axes` (sorted, distinct), keeping them as 1 or dropping them.
#[derive(Clone, Debug, PartialEq)]
pub struct ReduceMean {
    /// Reduced axes.
    pub axes: Vec<usize>,
    /// Keep reduced axes as size 1.
    pub keepdims: bool,
}

impl ReduceMean {
    /// Shape rule.
    pub fn output_shape(&self, x: &[usize]) -> Result<Vec<usize>, String> {
        if self.axes.iter().any(|&a| a >= x.len()) || self.axes.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!("ReduceMean axes {:?} for {x:?}", self.axes));
        }
        Ok(x.iter()
            .enumerate()
            .filter_map(|(a, &d)| match (self.axes.contains(&a), self.keepdims) {
                (false, _) => Some(d),
                (true, true) => Some(1),
                (true, false) => None,
            })
            .collect())
    }

    /// For every input element (row-major), the output element it adds to.
    pub fn destinations(&self, x: &[usize]) -> Vec<usize> {
        let mut out_stride = vec![0usize; x.len()];
        let mut s = 1;
        for a in (0..x.len()).rev() {
            if !self.axes.contains(&a) {
                out_stride[a] = s;
                s *= x[a];
            }
        }
        walk(x, |idx| {
            idx.iter().zip(&out_stride).map(|(i, s)| i * s).sum()
        })
    }
}

/// Calls `f` on every multi-index of `shape` in row-major order, collecting the results.
fn walk(shape: &[usize], mut f: impl FnMut(&[usize]) -> usize) -> Vec<usize> {
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..total {
        out.push(f(&idx));
        for a in (0..shape.len()).rev() {
            idx[a] += 1;
            if idx[a] < shape[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    out
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * shape[a + 1];
    }
    s
}

/// For every element of `out` (row-major), the element of `part` (numpy-broadcast to `out`)
/// it reads.
pub fn broadcast_source(part: &[usize], out: &[usize]) -> Vec<usize> {
    let lead = out.len().saturating_sub(part.len());
    let part_stride = strides(part);
    let stride: Vec<usize> = (0..out.len())
        .map(|a| match a.checked_sub(lead) {
            Some(p) if part[p] != 1 => part_stride[p],
            _ => 0,
        })
        .collect();
    walk(out, |idx| idx.iter().zip(&stride).map(|(i, s)| i * s).sum())
}

/// For a movement op (Transpose, Slice, Gather; Reshape-like ops copy in order) applied to
/// an input of shape `x` (already checked by the shape rule), the input element each output
/// element copies; `None` for other ops.
pub fn source_indices(op: &super::Op, x: &[usize]) -> Option<Vec<usize>> {
    use super::Op;
    let stride = strides(x);
    Some(match op {
        Op::Flatten(_) | Op::Reshape(_) | Op::Identity => (0..x.iter().product()).collect(),
        Op::Transpose(t) => {
            let out: Vec<usize> = t.perm.iter().map(|&p| x[p]).collect();
            walk(&out, |idx| {
                idx.iter().zip(&t.perm).map(|(i, &p)| i * stride[p]).sum()
            })
        }
        Op::Slice(s) => walk(&s.lens, |idx| {
            idx.iter()
                .enumerate()
                .map(|(a, &i)| {
                    (s.starts[a] as isize + i as isize * s.steps[a]) as usize * stride[a]
                })
                .sum()
        }),
        Op::Gather(g) => {
            let out = g.output_shape(x).ok()?;
            let k = g.indices_shape.len();
            let index_stride = strides(&g.indices_shape);
            walk(&out, |idx| {
                let flat_index = idx[g.axis..g.axis + k]
                    .iter()
                    .zip(&index_stride)
                    .map(|(i, s)| i * s)
                    .sum::<usize>();
                let lead: usize = idx[..g.axis].iter().zip(&stride).map(|(i, s)| i * s).sum();
                let tail: usize = idx[g.axis + k..]
                    .iter()
                    .zip(&stride[g.axis + 1..])
                    .map(|(i, s)| i * s)
                    .sum();
                lead + g.indices[flat_index] * stride[g.axis] + tail
            })
        }
        _ => return None,
    })
}
