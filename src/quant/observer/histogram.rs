//! A streaming histogram anchored at 0 whose bin width grows by powers of two.
//!
//! Each side of zero has [`BINS`] bins of width `w = 2^e`:
//!
//! ```text
//! pos[i] counts x in [ i w, (i+1) w)         i = floor( x / w)
//! neg[i] counts x in (-(i+1) w, -i w)        i = floor(-x / w)
//! ```
//!
//! `e` is the smallest exponent for which every value seen so far has `i < BINS`. When new data
//! does not fit, `w` doubles and adjacent bin pairs merge (`new[i] = old[2i] + old[2i+1]`);
//! because the bins are anchored at 0 and the widths are powers of two, the merged histogram
//! is exactly the one that binning all the data at the wider width would have produced. So the
//! histogram after any chunking of the data equals the one-batch histogram, bit for bit.
//!
//! Resolution: the largest magnitude `a` lies in bin `[BINS/2, BINS)` of its side (else the
//! width would be half), so `w <= a / 1024`: at least 1024 bins between 0 and `a`, i.e. about
//! 4 bins per int8 step of a symmetric 256-code grid over `[-a, a]` (8 for one-sided data).
//!
//! Exact zeros are also counted on their own ([`Histogram::zeros`], part of `pos[0]`): a grid
//! with an integer zero point represents them exactly, which [`Entropy`](super::Entropy) uses.
//!
//! Non-finite values (NaN, ±inf) are ignored: they carry no range information a grid could use.

/// Bins on each side of zero.
pub const BINS: usize = 2048;

/// Signed histogram with exact min, max and count.
#[derive(Clone, Debug)]
pub struct Histogram {
    /// Bins of non-negative values (0 goes here).
    pub pos: Vec<u64>,
    /// Bins of negative values, by magnitude.
    pub neg: Vec<u64>,
    /// `log2` of the bin width; `None` until a nonzero value is seen.
    exp: Option<i32>,
    /// Smallest value seen (`+inf` when none).
    pub min: f32,
    /// Largest value seen (`-inf` when none).
    pub max: f32,
    /// Finite values seen.
    pub count: u64,
    /// Values exactly `0.0` (or `-0.0`) seen, a subset of `pos[0]`: the spike of ReLU outputs.
    pub zeros: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            pos: vec![0; BINS],
            neg: vec![0; BINS],
            exp: None,
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            count: 0,
            zeros: 0,
        }
    }
}

/// Smallest `e` with `a < BINS * 2^e`, for `a > 0`.
fn exponent_for(a: f64) -> i32 {
    // a / BINS < 2^e  <=>  e > log2(a) - 11; start from the estimate, then make it exact.
    let mut e = (a / BINS as f64).log2().floor() as i32;
    while a >= BINS as f64 * 2f64.powi(e) {
        e += 1;
    }
    while e > -160 && a < BINS as f64 * 2f64.powi(e - 1) {
        e -= 1;
    }
    e
}

impl Histogram {
    /// Bin width, `0.0` while only zeros (or nothing) have been seen.
    pub fn width(&self) -> f64 {
        self.exp.map_or(0.0, |e| 2f64.powi(e))
    }

    /// True when no negative value was seen (post-ReLU data).
    pub fn non_negative(&self) -> bool {
        self.min >= 0.0
    }

    /// Adds a batch of values.
    pub fn add(&mut self, data: &[f32]) {
        let (mut lo, mut hi, mut n) = (f32::INFINITY, f32::NEG_INFINITY, 0u64);
        for &x in data.iter().filter(|x| x.is_finite()) {
            lo = lo.min(x);
            hi = hi.max(x);
            n += 1;
        }
        if n == 0 {
            return;
        }
        self.min = self.min.min(lo);
        self.max = self.max.max(hi);
        self.count += n;
        let absmax = lo.abs().max(hi.abs()) as f64;
        if absmax > 0.0 {
            let need = exponent_for(absmax);
            match self.exp {
                None => self.exp = Some(need),
                Some(e) if need > e => self.grow(need - e),
                _ => {}
            }
        }
        // With no width yet every value is 0: bin 0 of `pos` at any width.
        let inv = self.exp.map_or(0.0, |e| 2f64.powi(-e));
        for &x in data.iter().filter(|x| x.is_finite()) {
            let i = ((x.abs() as f64) * inv) as usize;
            self.zeros += u64::from(x == 0.0);
            if x < 0.0 {
                self.neg[i] += 1;
            } else {
                self.pos[i] += 1;
            }
        }
    }

    /// Doubles the width `k` times, merging bin pairs.
    fn grow(&mut self, k: i32) {
        for side in [&mut self.pos, &mut self.neg] {
            for _ in 0..k.min(64) {
                for i in 0..BINS / 2 {
                    side[i] = side[2 * i] + side[2 * i + 1];
                }
                side[BINS / 2..].iter_mut().for_each(|c| *c = 0);
            }
        }
        self.exp = self.exp.map(|e| e + k);
    }

    /// Bins per side actually used: one past the last nonzero bin of either side.
    pub fn used(&self) -> usize {
        let last = |s: &[u64]| s.iter().rposition(|&c| c > 0).map_or(0, |i| i + 1);
        last(&self.pos).max(last(&self.neg))
    }

    /// The signed bins over `(-n w, n w)`, most negative first, with their lower edges:
    /// `(edges[k], counts[k])`, `edges[k] = (k - n) w`.
    pub fn signed(&self, n: usize) -> (Vec<f64>, Vec<u64>) {
        let w = self.width();
        let counts: Vec<u64> = self.neg[..n]
            .iter()
            .rev()
            .chain(&self.pos[..n])
            .copied()
            .collect();
        let edges = (0..2 * n).map(|k| (k as f64 - n as f64) * w).collect();
        (edges, counts)
    }
}
