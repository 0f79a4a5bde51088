//! How kernels split work across rayon's pool (feature `threads` only).
//!
//! Kernels only change which thread computes which output tile, never the order of any
//! reduction, so every split gives results bit-identical to the sequential path, which runs
//! without the feature, in a one-thread pool, and for small problems.

use std::ops::Range;

/// Multiply-adds below which a kernel does not split: waking workers costs microseconds
/// (more in browsers), about what this much work takes.
pub(crate) const MIN_PARALLEL_WORK: usize = 1 << 18;

/// Threads of the current rayon pool (the one a `ThreadPool::install` runs in, else the
/// global one).
#[inline]
fn threads() -> usize {
    rayon::current_num_threads()
}

/// How many parts to split `units` independent units into (at least `min_units` each, at
/// most one per thread, since units cost the same and more parts only add overhead), given the
/// total `work` in multiply-adds. 1 means "run sequentially".
pub(crate) fn parts(units: usize, min_units: usize, work: usize) -> usize {
    if work < MIN_PARALLEL_WORK {
        return 1;
    }
    threads().min(units / min_units.max(1)).max(1)
}

/// Part `i` of `0..len` split into `parts` nearly equal ranges (in units of `align`, the last
/// range absorbing the remainder of `len`).
pub(crate) fn split(len: usize, align: usize, parts: usize, i: usize) -> Range<usize> {
    let units = len.div_ceil(align);
    let at = |p: usize| (units * p / parts * align).min(len);
    at(i)..at(i + 1)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn split_covers_len_aligned() {
        for len in [0, 1, 5, 16, 17, 49, 12544] {
            for align in [1, 4, 6, 16] {
                for parts in 1..6 {
                    let ranges: Vec<_> = (0..parts).map(|i| split(len, align, parts, i)).collect();
                    assert_eq!(ranges[0].start, 0);
                    assert_eq!(ranges[parts - 1].end, len);
                    for w in ranges.windows(2) {
                        assert_eq!(w[0].end, w[1].start);
                    }
                    for r in &ranges[..parts - 1] {
                        assert_eq!(r.end % align, 0);
                    }
                }
            }
        }
    }
}
