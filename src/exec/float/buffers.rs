//! Run-time storage: activation buffers, their recycling pool and kernel scratch.

/// An activation buffer from a [`BufPool`]: its first `len` values. The vector behind it may
/// hold more values, written for an earlier, larger output; the pool keeps them so that it
/// never zeroes a value twice.
#[derive(Clone, Debug, Default)]
pub(crate) struct Buf<T> {
    data: Vec<T>,
    len: usize,
}

impl<T> std::ops::Deref for Buf<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.data[..self.len]
    }
}

impl<T> std::ops::DerefMut for Buf<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.data[..self.len]
    }
}

impl<T> Buf<T> {
    /// The values, as a vector of exactly `len` (for a buffer leaving the pool).
    pub(crate) fn into_vec(mut self) -> Vec<T> {
        self.data.truncate(self.len);
        self.data
    }
}

/// Recycled buffers (`f32` in the f32 executor, `i8` in the int8 one).
///
/// Every kernel overwrites its whole output, so a recycled buffer is handed out with stale
/// contents instead of being zeroed again: this saves a memset per node. A buffer keeps every
/// value it ever held ([`Buf`]), so one handed out for a small output and then for a large
/// one again (an MBConv block's outputs alternate) is not zeroed either: in EfficientNet-Lite0's
/// int8 run that was about 3 MB of zeroes per image.
#[derive(Debug)]
pub(crate) struct BufPool<T = f32> {
    /// Free buffers, each at the length it was ever written to.
    free: Vec<Vec<T>>,
}

impl<T> Default for BufPool<T> {
    fn default() -> Self {
        BufPool { free: Vec::new() }
    }
}

impl<T: Copy + Default> BufPool<T> {
    /// A buffer of exactly `n` values (contents unspecified).
    pub(crate) fn take(&mut self, n: usize) -> Buf<T> {
        // Best fit: the smallest free buffer that is large enough.
        let best = self
            .free
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= n)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        let data = match best {
            Some(i) => {
                let mut b = self.free.swap_remove(i);
                if b.len() < n {
                    // Only values never written before.
                    b.resize(n, T::default());
                }
                b
            }
            None => vec![T::default(); n],
        };
        Buf { data, len: n }
    }

    /// Returns a buffer for reuse.
    pub(crate) fn give(&mut self, b: Buf<T>) {
        if b.data.capacity() > 0 {
            self.free.push(b.data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BufPool;

    #[test]
    fn a_buffer_handed_out_smaller_then_larger_again_is_not_zeroed() {
        let mut pool = BufPool::<i8>::default();
        let mut b = pool.take(8);
        b.fill(7);
        pool.give(b);
        let small = pool.take(3);
        assert_eq!(&small[..], [7; 3]);
        pool.give(small);
        // The same allocation at 8 values again: the 5 past the small output kept their 7s.
        let again = pool.take(8);
        assert_eq!(&again[..], [7; 8]);
        pool.give(again);
        // A smaller output writes only its own values.
        let mut grown = pool.take(6);
        grown.fill(1);
        pool.give(grown);
        assert_eq!(pool.take(8).into_vec(), [1, 1, 1, 1, 1, 1, 7, 7]);
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
