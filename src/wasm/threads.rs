//! Thread pool entry points of the threaded wasm build (`--features threads`, nightly with
//! shared memory; see `scripts/build_wasm.sh mt`).
//!
//! JavaScript must `await initThreadPool(n)` once, inside a dedicated Worker (the pool's
//! workers block on `Atomics.wait`, which a window's main thread may not do), before the first
//! classification. The single-threaded build exports `threadCount` too, so callers need not
//! tell the builds apart.

use wasm_bindgen::prelude::*;

/// `initThreadPool(n): Promise<void>`: starts `n` Web Workers sharing this module's memory
/// and makes them rayon's global pool (threaded build only).
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

/// Threads the kernels split work across: rayon's pool size in the threaded build, 1 otherwise.
///
/// Threaded build: call it only after `await initThreadPool(n)`. Called first, it builds
/// rayon's global pool with 1 thread (workers cannot be spawned from Rust on the web), and
/// `initThreadPool` then rejects (measured: `threadCount()` = 1, then "called
/// `Result::unwrap_throw()` on an `Err` value").
#[wasm_bindgen(js_name = threadCount)]
pub fn thread_count() -> usize {
    #[cfg(feature = "threads")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "threads"))]
    {
        1
    }
}
