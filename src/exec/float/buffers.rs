//! Run-time storage: activation buffers, their recycling pool and kernel scratch.

/// Recycled buffers (`Vec<f32>` in the f32 executor, `Vec<i8>` in the int8 one).
///
/// Every kernel overwrites its whole output, so a recycled buffer is handed out with stale
/// contents instead of being zeroed again: this saves a memset per node.
#[derive(Debug)]
pub(crate) struct BufPool<T = f32> {
    free: Vec<Vec<T>>,
}

impl<T> Default for BufPool<T> {
    fn default() -> Self {
        BufPool { free: Vec::new() }
    }
}

impl<T: Copy + Default> BufPool<T> {
    /// A buffer of exactly `n` values (contents unspecified).
    pub(crate) fn take(&mut self, n: usize) -> Vec<T> {
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
                    b.resize(n, T::default());
                }
                b
            }
            None => vec![T::default(); n],
        }
    }

    /// Returns a buffer for reuse.
    pub(crate) fn give(&mut self, b: Vec<T>) {
        if b.capacity() > 0 {
            self.free.push(b);
        }
    }
}

/// Everything a run needs besides the values: kept in the executor between runs so that
/// steady-state runs allocate only their outputs.
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    /// Recycled activation buffers.
    pub(super) pool: BufPool,
    /// im2col columns, shared by every convolution.
    pub(super) cols: Vec<f32>,
    /// Transposes and packed operands of Gemm / MatMul.
    pub(super) tmp: Vec<f32>,
    /// Dynamic-range mode: the quantized input of a Conv / Gemm.
    pub(super) codes: Vec<i8>,
    /// Dynamic-range mode: int8 im2col columns and transposes.
    pub(super) codes_cols: Vec<i8>,
}

impl crate::exec::graph_plan::HasPool<f32> for Workspace {
    fn pool(&mut self) -> &mut BufPool {
        &mut self.pool
    }
    fn shelf() -> &'static std::sync::Mutex<Vec<Self>> {
        static SHELF: std::sync::Mutex<Vec<Workspace>> = std::sync::Mutex::new(Vec::new());
        &SHELF
    }
}

/// `v[..n]`, growing `v` first when it is too short.
pub(crate) fn scratch<T: Copy + Default>(v: &mut Vec<T>, n: usize) -> &mut [T] {
    if v.len() < n {
        v.resize(n, T::default());
    }
    &mut v[..n]
}
