//! Elementwise int8 addition of two tensors with different scales (TFLite's scheme):
//!
//! ```text
//! s_a = M_a ((q_a - Z_a) << L)      s_b = M_b ((q_b - Z_b) << L)      (common scale, L bits headroom)
//! q_y = clamp(Z_y + M_y (s_a + s_b))
//! ```
//!
//! `M_a = S_a / (2 max(S_a, S_b))` and `M_b` are at most 1/2, so the shifted sum cannot
//! overflow for `L <= 20`; every multiply is [`Multiplier::apply`].
//!
//! The output depends on the two int8 codes only, so an Add is run from the table of its
//! 65536 results ([`QAddTable`], 64 KB, made once per model from [`QAdd::apply`]): one load a
//! value instead of three fixed-point multiplies (in Chromium, on 75264 values: 0.050 ms
//! against 0.097 for the SIMD128 arithmetic).

use super::fixed_point::Multiplier;

/// The constants of one int8 Add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QAdd {
    /// Multiplier and zero point of the first operand.
    pub a: (Multiplier, i32),
    /// Multiplier and zero point of the second operand.
    pub b: (Multiplier, i32),
    /// Output multiplier and zero point.
    pub out: (Multiplier, i32),
    /// Headroom bits `L` (20 in TFLite).
    pub left_shift: u32,
    /// Output codes `[min, max]` (the output grid's range: narrower below 8 bits).
    pub clamp: (i8, i8),
}

impl QAdd {
    /// One output code.
    #[inline(always)]
    pub fn apply(&self, a: i8, b: i8) -> i8 {
        self.sum(self.scaled(a, self.a) + self.scaled(b, self.b))
    }

    /// `s = M ((q - Z) << L)`: an operand on the common scale.
    #[inline(always)]
    fn scaled(&self, q: i8, (m, z): (Multiplier, i32)) -> i32 {
        m.apply((i32::from(q) - z) << self.left_shift)
    }

    /// `clamp(Z_y + M_y s)`: the output code of the sum `s` of the scaled operands.
    #[inline(always)]
    fn sum(&self, s: i32) -> i8 {
        let (m, z) = self.out;
        m.requantize(s, z, self.clamp.0, self.clamp.1)
    }
}

/// The 65536 results of one int8 Add, one per pair of input codes: `y = table[a, b]`.
#[derive(Clone, PartialEq, Eq)]
pub struct QAddTable(Box<[i8; 1 << 16]>);

/// The table entry of the codes `a`, `b`: `a`'s byte, then `b`'s.
#[inline(always)]
fn index(a: i8, b: i8) -> usize {
    usize::from(a as u8) << 8 | usize::from(b as u8)
}

impl core::fmt::Debug for QAddTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "QAddTable({} results)", self.0.len())
    }
}

impl QAddTable {
    /// The table of `p`: [`QAdd::apply`] of every pair, each operand scaled once.
    pub fn new(p: &QAdd) -> Self {
        let codes = || (i8::MIN..=i8::MAX).map(|q| (q as u8, q));
        let (mut sa, mut sb) = ([0i32; 256], [0i32; 256]);
        for (i, q) in codes() {
            sa[usize::from(i)] = p.scaled(q, p.a);
            sb[usize::from(i)] = p.scaled(q, p.b);
        }
        let table: Box<[i8]> = (0..1usize << 16)
            .map(|i| p.sum(sa[i >> 8] + sb[i & 255]))
            .collect();
        QAddTable(table.try_into().expect("65536 results"))
    }

    /// The result for the codes `a`, `b`.
    #[inline(always)]
    pub fn get(&self, a: i8, b: i8) -> i8 {
        self.0[index(a, b)]
    }
}

/// `y = a + b` in int8 (operands of one shape) from the table of `p`'s results; with the
/// `threads` feature, large tensors are split into pieces across the threads.
pub fn qs8_add(t: &QAddTable, a: &[i8], b: &[i8], y: &mut [i8]) {
    let table = &t.0;
    // Worth splitting across threads as the arithmetic was (split at 16 multiply-adds a
    // value, that took half its time at 2 threads in Lite0; at 2 a value, most Adds ran on
    // one thread: 0.13-0.14 -> 0.18 ms): a lookup is half the arithmetic's time.
    super::parallel::elementwise(y, 16, 8, |at, y| {
        for ((y, &a), &b) in y.iter_mut().zip(&a[at.clone()]).zip(&b[at]) {
            *y = table[index(a, b)];
        }
    });
}

/// [`QAdd::apply`] value by value: the definition the table is tested against.
pub fn qs8_add_scalar(p: &QAdd, a: &[i8], b: &[i8], y: &mut [i8]) {
    for ((y, &a), &b) in y.iter_mut().zip(a).zip(b) {
        *y = p.apply(a, b);
    }
}
