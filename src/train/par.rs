//! What the training passes share to run fast and reproducibly: work split over independent
//! chunks (channels, planes, rows) across threads with the `threads` feature, sequential
//! without; reductions in fixed lanes; per-thread scratch buffers.
//!
//! A chunk's computation never depends on which thread runs it or how the chunks are grouped,
//! so results are bit-identical with and without threads.

use std::cell::RefCell;
use std::thread::LocalKey;

/// `f(i, a_i, b_i)` for the `i`-th `la`-value chunk of `a` and `lb`-value chunk of `b` (as
/// many as the shorter side has), in parallel with `threads`; the results in chunk order.
pub(crate) fn map_chunks2<A, B, R, F>(
    a: &mut [A],
    la: usize,
    b: &mut [B],
    lb: usize,
    f: F,
) -> Vec<R>
where
    A: Send,
    B: Send,
    R: Send,
    F: Fn(usize, &mut [A], &mut [B]) -> R + Sync + Send,
{
    #[cfg(feature = "threads")]
    {
        // Through the kernels' one parallel loop (not rayon's iterators: each of their
        // instantiations is a copy of rayon's splitting code in the wasm build).
        type Chunk<'a, A, B, R> = (&'a mut [A], &'a mut [B], Option<R>);
        let mut chunks: Vec<Chunk<A, B, R>> = a
            .chunks_mut(la.max(1))
            .zip(b.chunks_mut(lb.max(1)))
            .map(|(a, b)| (a, b, None))
            .collect();
        crate::kernels::parallel::for_each_mut(&mut chunks, |i, (a, b, r)| *r = Some(f(i, a, b)));
        chunks
            .into_iter()
            .map(|(_, _, r)| r.expect("map_chunks2: every chunk runs once"))
            .collect()
    }
    #[cfg(not(feature = "threads"))]
    {
        a.chunks_mut(la.max(1))
            .zip(b.chunks_mut(lb.max(1)))
            .enumerate()
            .map(|(i, (a, b))| f(i, a, b))
            .collect()
    }
}

/// [`map_chunks2`] over one slice.
pub(crate) fn map_chunks<A, R, F>(a: &mut [A], la: usize, f: F) -> Vec<R>
where
    A: Send,
    R: Send,
    F: Fn(usize, &mut [A]) -> R + Sync + Send,
{
    // A zero-sized companion slice: no memory, one unit per chunk.
    let mut units = vec![(); a.len().div_ceil(la.max(1))];
    map_chunks2(a, la, &mut units, 1, |i, a, _| f(i, a))
}

/// Values per chunk of the element-wise passes: big enough that a task outweighs its
/// scheduling, small enough to share a few hundred thousand values between threads.
pub(crate) const ELEMENTWISE_CHUNK: usize = 1 << 14;

/// `sum f(a[i], b[i])` in f64, accumulated in 8 fixed lanes (vectorises; the same order on
/// every run).
#[inline]
pub(crate) fn sum_pairs(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f64) -> f64 {
    const L: usize = 8;
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f64; L];
    let (ac, bc) = (a.chunks_exact(L), b.chunks_exact(L));
    let tail: f64 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(&x, &y)| f(x, y))
        .sum();
    for (x, y) in ac.zip(bc) {
        for j in 0..L {
            acc[j] += f(x[j], y[j]);
        }
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail
}

/// `sum a[i]` in f64 (see [`sum_pairs`]).
#[inline]
pub(crate) fn sum(a: &[f32]) -> f64 {
    sum_pairs(a, a, |x, _| f64::from(x))
}

thread_local! {
    /// Packed A panels of the training GEMM.
    pub(crate) static SCRATCH_A: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// Packed B blocks of the training GEMM.
    pub(crate) static SCRATCH_B: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// All of B's blocks, packed once for the tasks of a parallel training GEMM.
    #[cfg(feature = "threads")]
    pub(crate) static SCRATCH_ALL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `f` with this thread's buffer `key` (kept between calls, so large packings are not
/// allocated and page-faulted at every step); a fresh one if the buffer is already in use.
pub(crate) fn with_scratch<R>(
    key: &'static LocalKey<RefCell<Vec<f32>>>,
    f: impl FnOnce(&mut Vec<f32>) -> R,
) -> R {
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => f(&mut buf),
        Err(_) => f(&mut Vec::new()),
    })
}
