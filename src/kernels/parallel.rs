//! How kernels split work across threads (feature `threads`; without it [`team`] just runs its
//! closure and the kernels stay sequential).
//!
//! Kernels only change which thread computes which output tile, never the order of any
//! reduction, so every split gives results bit-identical to the sequential path, which runs
//! without the feature, in a one-thread pool, and for small problems.
//!
//! A whole graph run is one [`team`]: the calling thread leads and `threads - 1` helpers, started
//! on rayon's pool, spin between the kernels' parallel regions. When the run ends they linger,
//! spinning a bounded while ([`LINGER_SPINS`]), and the next run takes them over: a helper
//! parked in rayon's pool instead joins a new team only when the browser wakes its Web Worker,
//! measured 1-3 ms late, a third of a run. Handing a region to a
//! spinning helper costs a cache-line transfer (well under a microsecond); a rayon region
//! instead wakes sleeping workers, which in browsers means `Atomics.notify` to a parked Web
//! Worker each time (tens of microseconds, and a model has a hundred regions). Outside a team
//! (tests calling a kernel directly) the regions go to rayon as before.

#[cfg(feature = "threads")]
pub(crate) use threaded::*;

use std::ops::Range;

/// Runs `f`, a whole graph run, with the threads the kernels inside it split their work across
/// (a no-op without the `threads` feature).
#[cfg(not(feature = "threads"))]
pub(crate) fn team<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// An elementwise kernel over `dst`: `f(at, piece)` for pieces of `dst`, `at` being the piece's
/// range in `dst` (from a multiple of `align`), so that `f` slices its inputs alike. With the
/// `threads` feature the pieces run in parallel where the work (`work_per_value` multiply-adds'
/// worth a value, at least 4096 values a piece) is worth it; otherwise `f` runs once over all
/// of `dst`. Each value is computed alone, so every split gives the same values.
pub(crate) fn elementwise<T: Send>(
    dst: &mut [T],
    align: usize,
    work_per_value: usize,
    f: impl Fn(Range<usize>, &mut [T]) + Sync,
) {
    #[cfg(feature = "threads")]
    {
        let parts = parts(dst.len(), 4096, dst.len() * work_per_value);
        if parts > 1 {
            let chunk = dst.len().div_ceil(parts).next_multiple_of(align);
            chunks_mut(dst, chunk, |i, piece| {
                f(i * chunk..i * chunk + piece.len(), piece)
            });
            return;
        }
    }
    let _ = (align, work_per_value);
    f(0..dst.len(), dst)
}

#[cfg(feature = "threads")]
mod threaded {
    use std::cell::Cell;
    use std::ops::Range;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering::SeqCst,
    };
    use std::sync::Arc;

    /// Multiply-adds below which a kernel does not split when it would have to wake rayon's
    /// workers (microseconds, more in browsers: about what this much work takes).
    const MIN_PARALLEL_WORK: usize = 1 << 18;
    /// The same inside a [`team`], where a spinning helper picks a region up at once.
    const MIN_TEAM_WORK: usize = 1 << 15;
    /// Parts per thread inside a team.
    const OVERSPLIT: usize = 4;
    /// Spins a helper waits for the next team after its leader left (no clock in the kernels:
    /// about 10-40 ms on current cores), covering the gap between back-to-back runs (the
    /// page's message, decoding and preprocessing of the next image).
    pub(crate) const LINGER_SPINS: u32 = 1 << 24;

    /// Threads of the current rayon pool (the one a `ThreadPool::install` runs in, else the
    /// global one).
    #[inline]
    pub(crate) fn threads() -> usize {
        rayon::current_num_threads()
    }

    /// How many parts to split `units` independent units into (at least `min_units` each, at
    /// most one per thread, since units cost the same and more parts only add overhead), given
    /// the total `work` in multiply-adds. 1 means "run sequentially".
    pub(crate) fn parts(units: usize, min_units: usize, work: usize) -> usize {
        if !in_team() {
            if work < MIN_PARALLEL_WORK {
                return 1;
            }
            return threads().min(units / min_units.max(1)).max(1);
        }
        // In a team, parts are claimed as threads free up: a few per thread, so a thread the
        // OS preempts holds up one small part, not half the layer.
        (threads() * OVERSPLIT)
            .min(units / min_units.max(1))
            .min(work / MIN_TEAM_WORK)
            .max(1)
    }

    /// Part `i` of `0..len` split into `parts` nearly equal ranges (in units of `align`, the
    /// last range absorbing the remainder of `len`).
    pub(crate) fn split(len: usize, align: usize, parts: usize, i: usize) -> Range<usize> {
        let units = len.div_ceil(align);
        let at = |p: usize| (units * p / parts * align).min(len);
        at(i)..at(i + 1)
    }

    /// One part's rectangle of a row-major matrix: columns `cols` of rows `rows` (rows
    /// `ldc` long), made by [`rects`], which hands out disjoint ones.
    pub(crate) struct Rect<'a, T> {
        base: *mut T,
        ldc: usize,
        rows: Range<usize>,
        cols: Range<usize>,
        _data: std::marker::PhantomData<&'a mut [T]>,
    }

    // SAFETY: a Rect is the only handle to its elements (`rects` makes disjoint ones of data it
    // borrows mutably for as long as they live), and T: Send lets another thread write them.
    unsafe impl<T: Send> Send for Rect<'_, T> {}

    impl<T> Rect<'_, T> {
        /// The rectangle's rows.
        pub(crate) fn rows(&self) -> Range<usize> {
            self.rows.clone()
        }

        /// The rectangle's columns.
        pub(crate) fn cols(&self) -> Range<usize> {
            self.cols.clone()
        }

        /// The rectangle's part of row `r` (a row of the matrix, inside `rows`).
        #[inline(always)]
        pub(crate) fn row(&mut self, r: usize) -> &mut [T] {
            assert!(self.rows.contains(&r), "row {r} outside {:?}", self.rows);
            // SAFETY: the rectangle lies inside the data (`rects` checks its shape), no other
            // Rect covers its elements, and the slice borrows `self` mutably, so it is the only
            // one alive.
            unsafe {
                std::slice::from_raw_parts_mut(
                    self.base.add(r * self.ldc + self.cols.start),
                    self.cols.len(),
                )
            }
        }
    }

    /// `data` (`[m, n]`, row-major) cut into `parts_m x parts_n` rectangles, row part major:
    /// rows by [`split`]`(m, row_align, parts_m, i)`, columns by
    /// [`split`]`(n, col_align, parts_n, j)`. Each is made in O(1), however many rows it covers.
    pub(crate) fn rects<T>(
        data: &mut [T],
        (m, n): (usize, usize),
        (row_align, parts_m): (usize, usize),
        (col_align, parts_n): (usize, usize),
    ) -> Vec<Rect<'_, T>> {
        assert_eq!(data.len(), m * n, "data is not {m} x {n}");
        let base = data.as_mut_ptr();
        (0..parts_m * parts_n)
            .map(|t| Rect {
                base,
                ldc: n,
                rows: split(m, row_align, parts_m, t / parts_n),
                cols: split(n, col_align, parts_n, t % parts_n),
                _data: std::marker::PhantomData,
            })
            .collect()
    }

    /// `f(i, chunk)` for every `chunk`-long piece of `data` (the last may be shorter), in
    /// parallel.
    pub(crate) fn chunks_mut<T: Send>(
        data: &mut [T],
        chunk: usize,
        f: impl Fn(usize, &mut [T]) + Sync,
    ) {
        let mut pieces: Vec<&mut [T]> = data.chunks_mut(chunk.max(1)).collect();
        for_each_mut(&mut pieces, |i, piece| f(i, piece));
    }

    /// `f(i, &mut items[i])` for every item, in parallel.
    pub(crate) fn for_each_mut<T: Send>(items: &mut [T], f: impl Fn(usize, &mut T) + Sync) {
        struct Base<T>(*mut T);
        // SAFETY: each index is handed to exactly one call of the part function (run_parts
        // runs every part once), so the `&mut T` made from it never alias; T: Send moves them.
        unsafe impl<T: Send> Sync for Base<T> {}
        let base = Base(items.as_mut_ptr());
        let base = &base;
        run_parts(items.len(), &|i| {
            // SAFETY: i < items.len() and i is unique to this call (see Base).
            f(i, unsafe { &mut *base.0.add(i) })
        });
    }

    /// `part(i)` for every `i < parts`, across the current team or, outside one, rayon's pool;
    /// returns when all are done.
    fn run_parts(parts: usize, part: &(dyn Fn(usize) + Sync)) {
        if parts <= 1 {
            (0..parts).for_each(part);
            return;
        }
        let team = CURRENT.with(Cell::get);
        if team.is_null() {
            use rayon::prelude::*;
            (0..parts).into_par_iter().for_each(part);
        } else {
            // SAFETY: CURRENT is only set, on this thread, while `team()` keeps the Arc alive.
            unsafe { &*team }.run(parts, part);
        }
    }

    thread_local! {
        /// The team this thread leads (null outside `team()`).
        static CURRENT: Cell<*const Team> = const { Cell::new(std::ptr::null()) };
    }

    fn in_team() -> bool {
        !CURRENT.with(Cell::get).is_null()
    }

    /// Runs `f`, a whole graph run, as the leader of a team: `threads - 1` helpers are started
    /// on rayon's pool and spin, waiting for the parallel regions of the kernels `f` calls
    /// ([`chunks_mut`], [`for_each_mut`]), until `f` returns. Nested calls, and one-thread
    /// pools, just run `f`.
    pub(crate) fn team<R>(f: impl FnOnce() -> R) -> R {
        let helpers = threads().saturating_sub(1);
        if helpers == 0 || in_team() {
            return f();
        }
        let team = take_lingering(helpers).unwrap_or_else(|| {
            let team = Arc::new(Team {
                helpers,
                ..Team::default()
            });
            for _ in 0..helpers {
                let t = Arc::clone(&team);
                rayon::spawn(move || t.serve());
            }
            team
        });
        /// Leaves the team, its helpers lingering for the next one, also when `f` panics.
        struct Leave(Arc<Team>);
        impl Drop for Leave {
            fn drop(&mut self) {
                CURRENT.with(|c| c.set(std::ptr::null()));
                self.0.state.store(LINGERING, SeqCst);
                let old =
                    LINGERING_TEAM.swap(Arc::into_raw(Arc::clone(&self.0)).cast_mut(), SeqCst);
                close(old);
            }
        }
        CURRENT.with(|c| c.set(Arc::as_ptr(&team)));
        let _leave = Leave(team);
        f()
    }

    /// The last team whose leader left (an `Arc::into_raw`, or null): its helpers may still be
    /// spinning, waiting to be taken over.
    static LINGERING_TEAM: AtomicPtr<Team> = AtomicPtr::new(std::ptr::null_mut());

    /// A team's states: led, left by its leader (helpers spinning), or closed (helpers gone or
    /// going).
    const RUNNING: u8 = 0;
    const LINGERING: u8 = 1;
    const CLOSED: u8 = 2;

    /// The lingering team, if its `helpers` helpers are still spinning: now running.
    fn take_lingering(helpers: usize) -> Option<Arc<Team>> {
        let p = LINGERING_TEAM.swap(std::ptr::null_mut(), SeqCst);
        if p.is_null() {
            return None;
        }
        // SAFETY: the slot holds a pointer from `Arc::into_raw`, taken out by the swap once.
        let team = unsafe { Arc::from_raw(p) };
        let resumed = team.helpers == helpers
            && team
                .state
                .compare_exchange(LINGERING, RUNNING, SeqCst, SeqCst)
                .is_ok();
        if resumed {
            return Some(team);
        }
        team.state.store(CLOSED, SeqCst);
        None
    }

    /// Closes a lingering team taken out of the slot (`p` from `Arc::into_raw`, or null).
    fn close(p: *mut Team) {
        if !p.is_null() {
            // SAFETY: as in `take_lingering`.
            let team = unsafe { Arc::from_raw(p) };
            team.state.store(CLOSED, SeqCst);
        }
    }

    /// One region's work as the leader publishes it.
    struct Job<'a> {
        part: &'a (dyn Fn(usize) + Sync),
    }

    /// The state a leader shares with its spinning helpers.
    #[derive(Default)]
    struct Team {
        /// `epoch << 32 | front << 16 | back`: the current region, and how many of its parts
        /// were claimed from the front (by the leader, in order) and from the back (by the
        /// helpers). Epochs only grow, so a claim (a compare-exchange of the whole word) can
        /// only succeed for the region it read. `front` is [`SHUT`] while the leader replaces
        /// the region.
        word: AtomicU64,
        /// Parts of the current region.
        parts: AtomicUsize,
        /// The current region's job, on the leader's stack; dereferenced only by whoever
        /// claimed one of its parts, which the leader waits for.
        job: AtomicPtr<Job<'static>>,
        /// Parts of the current region finished.
        done: AtomicUsize,
        /// A part panicked (reported by the leader once the region is over).
        panicked: AtomicBool,
        /// [`RUNNING`], [`LINGERING`] or [`CLOSED`].
        state: AtomicU8,
        /// Helpers serving the team.
        helpers: usize,
    }

    const HALF_BITS: u32 = 16;
    const HALF_MASK: u64 = (1 << HALF_BITS) - 1;
    /// `front` of a region being replaced: nothing to claim.
    const SHUT: u64 = HALF_MASK;

    impl Team {
        /// The leader's side of one region: publishes it, works on it, waits for the parts the
        /// helpers claimed.
        ///
        /// The leader works from the first part on, the helpers from the last one back: with
        /// two threads, the leader computes the first parts of every region (the first
        /// channels of a layer's output) and the helper the last ones, so a layer split like
        /// the one before it finds the channels it reads in its own thread's cache.
        fn run(&self, parts: usize, part: &(dyn Fn(usize) + Sync)) {
            assert!((parts as u64) < SHUT, "{parts} parts in one region");
            let job = Job { part };
            let epoch = (self.word.load(SeqCst) >> 32) + 1;
            // Shut first: a helper that read the last region's word cannot claim with it any
            // more, so it never pairs that word with this region's `parts` or job.
            self.word.store(epoch << 32 | SHUT << HALF_BITS, SeqCst);
            self.parts.store(parts, SeqCst);
            self.job
                .store((&job as *const Job<'_>).cast_mut().cast(), SeqCst);
            self.done.store(0, SeqCst);
            self.word.store(epoch << 32, SeqCst);
            while let Some((i, _)) = self.claim(true) {
                self.work(i, part);
            }
            while self.done.load(SeqCst) < parts {
                std::hint::spin_loop();
            }
            if self.panicked.swap(false, SeqCst) {
                panic!("a part of a parallel kernel panicked");
            }
        }

        /// Claims the next part of the current region from its front (the leader) or its back
        /// (a helper): the part's index and the region's job.
        fn claim(&self, from_front: bool) -> Option<(usize, *const Job<'static>)> {
            loop {
                let w = self.word.load(SeqCst);
                let (front, back) = ((w >> HALF_BITS) & HALF_MASK, w & HALF_MASK);
                if front == SHUT {
                    return None;
                }
                // Read after the word: if the region changed since `w`, the claim fails.
                let parts = self.parts.load(SeqCst) as u64;
                if front + back >= parts {
                    return None;
                }
                let job = self.job.load(SeqCst);
                let (claimed, i) = if from_front {
                    (w + (1 << HALF_BITS), front)
                } else {
                    (w + 1, parts - 1 - back)
                };
                if self
                    .word
                    .compare_exchange_weak(w, claimed, SeqCst, SeqCst)
                    .is_ok()
                {
                    return Some((i as usize, job));
                }
            }
        }

        /// Runs part `i`, recording a panic instead of unwinding past the count.
        fn work(&self, i: usize, part: &(dyn Fn(usize) + Sync)) {
            if catch_unwind(AssertUnwindSafe(|| part(i))).is_err() {
                self.panicked.store(true, SeqCst);
            }
            self.done.fetch_add(1, SeqCst);
        }

        /// A helper: claims and runs parts while the team runs; once its leader left, waits
        /// [`LINGER_SPINS`] for the next leader to take the team over, then closes it.
        fn serve(&self) {
            let mut idle = 0u32;
            loop {
                match self.state.load(SeqCst) {
                    RUNNING => {
                        idle = 0;
                        match self.claim(false) {
                            // SAFETY: a claimed part keeps its region open (the leader waits
                            // for `done` to count it), so the job on the leader's stack is
                            // alive.
                            Some((i, job)) => self.work(i, unsafe { (*job).part }),
                            None => std::hint::spin_loop(),
                        }
                    }
                    LINGERING => {
                        idle += 1;
                        if idle >= LINGER_SPINS
                            && self
                                .state
                                .compare_exchange(LINGERING, CLOSED, SeqCst, SeqCst)
                                .is_ok()
                        {
                            return;
                        }
                        std::hint::spin_loop();
                    }
                    _ => return,
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::{chunks_mut, split, team};

        #[test]
        fn split_covers_len_aligned() {
            for len in [0, 1, 5, 16, 17, 49, 12544] {
                for align in [1, 4, 6, 16] {
                    for parts in 1..6 {
                        let ranges: Vec<_> =
                            (0..parts).map(|i| split(len, align, parts, i)).collect();
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

        #[test]
        fn a_team_runs_every_part_of_every_region_once() {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap();
            pool.install(|| {
                team(|| {
                    for region in 0..2000usize {
                        let len = 1 + region % 37;
                        let mut data = vec![0usize; len * 5];
                        chunks_mut(&mut data, 5, |i, c| c.iter_mut().for_each(|v| *v += i + 1));
                        let want: Vec<usize> = (0..len * 5).map(|j| j / 5 + 1).collect();
                        assert_eq!(data, want, "region {region}");
                    }
                })
            });
        }

        #[test]
        fn back_to_back_teams_take_over_lingering_helpers_and_stay_exact() {
            // Teams of 2 and 3 threads alternating: each takes over the last one's lingering
            // helpers when the counts match and starts its own otherwise.
            let pools: Vec<_> = [2, 3]
                .iter()
                .map(|&n| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(n)
                        .build()
                        .unwrap()
                })
                .collect();
            for run in 0..300usize {
                pools[(run / 7) % 2].install(|| {
                    team(|| {
                        let len = 2 + run % 29;
                        let mut data = vec![0usize; len];
                        chunks_mut(&mut data, 1, |i, c| c[0] = i * run);
                        let want: Vec<usize> = (0..len).map(|i| i * run).collect();
                        assert_eq!(data, want, "run {run}");
                    })
                });
            }
        }

        #[test]
        fn the_leader_runs_a_prefix_of_every_region_and_the_helpers_the_rest() {
            // Whoever is faster, the leader claims parts from the first on and the helpers
            // from the last back, so two consecutive regions split alike keep each part's data
            // on one thread (most of it, when the meeting point moves by a part).
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap();
            pool.install(|| {
                team(|| {
                    let leader = std::thread::current().id();
                    for region in 0..500usize {
                        let parts = 2 + region % 15;
                        let mut on_leader = vec![false; parts];
                        chunks_mut(&mut on_leader, 1, |_, c| {
                            c[0] = std::thread::current().id() == leader;
                            // Long enough parts that the helper usually gets some.
                            std::hint::black_box((0..2000).sum::<u64>());
                        });
                        let prefix = on_leader.iter().take_while(|&&l| l).count();
                        assert!(
                            on_leader[prefix..].iter().all(|&l| !l),
                            "region {region}: {on_leader:?}"
                        );
                    }
                })
            });
        }

        #[test]
        fn a_panicking_part_reaches_the_leader() {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.install(|| {
                    team(|| {
                        let mut data = vec![0u8; 64];
                        chunks_mut(&mut data, 8, |i, _| assert!(i != 5, "part 5"));
                    })
                })
            }));
            assert!(r.is_err());
            // The pool is still usable afterwards.
            pool.install(|| team(|| chunks_mut(&mut [0u8; 4], 1, |_, c| c[0] = 1)));
        }
    }
}
