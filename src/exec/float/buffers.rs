//! Run-time storage: activation buffers, their recycling pool and kernel scratch.

/// Recycled `Vec<f32>` buffers.
///
/// Every kernel overwrites its whole output, so a recycled buffer is handed out with stale
/// contents instead of being zeroed again: this saves a memset per node.
#[derive(Debug, Default)]
pub(super) struct BufPool {
    free: Vec<Vec<f32>>,
}

impl BufPool {
    /// A buffer of exactly `n` values (contents unspecified).
    pub(super) fn take(&mut self, n: usize) -> Vec<f32> {
        // Best fit: the smallest free buffer that is large enough.
        let best = self
            .free
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= n)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        match best {
            Some(i) => {
                let mut b = self.free.swap_remove(i);
                if b.len() >= n {
                    b.truncate(n);
                } else {
                    b.resize(n, 0.0);
                }
                b
            }
            None => vec![0.0; n],
        }
    }

    /// Returns a buffer for reuse.
    pub(super) fn give(&mut self, b: Vec<f32>) {
        if b.capacity() > 0 {
            self.free.push(b);
        }
    }
}

/// Everything a run needs besides the values: kept in the executor between runs so that
/// steady-state runs allocate only their outputs.
#[derive(Debug, Default)]
pub(super) struct Workspace {
    /// Recycled activation buffers.
    pub(super) pool: BufPool,
    /// im2col columns, shared by every convolution.
    pub(super) cols: Vec<f32>,
    /// Transposes and packed operands of Gemm / MatMul.
    pub(super) tmp: Vec<f32>,
}

/// `v[..n]`, growing `v` first when it is too short.
pub(super) fn scratch(v: &mut Vec<f32>, n: usize) -> &mut [f32] {
    if v.len() < n {
        v.resize(n, 0.0);
    }
    &mut v[..n]
}
