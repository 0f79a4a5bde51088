//! A xorshift generator for the kernel tests that also run in wasm (`#[path]`-included, so it
//! needs nothing from the native-only `common` module): deterministic on every target.
#![allow(dead_code)]

/// xorshift64 with a non-zero seed.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Any int8 value.
    pub fn i8(&mut self) -> i8 {
        self.next() as i8
    }

    /// `n` int8 values.
    pub fn bytes(&mut self, n: usize) -> Vec<i8> {
        (0..n).map(|_| self.i8()).collect()
    }
}
