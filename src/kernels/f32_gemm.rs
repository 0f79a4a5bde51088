//! f32 GEMM: `C[m, n] = epilogue(A[m, k] B[k, n])` with A packed once (weights).

use super::Epilogue;

/// The left matrix `A [m, k]` (row-major: one row per output channel) prepared for repeated
/// products.
#[derive(Clone, Debug)]
pub struct PackedA {
    m: usize,
    k: usize,
    data: Vec<f32>,
}

impl PackedA {
    /// Packs row-major `a` of shape `[m, k]`.
    pub fn pack(a: &[f32], m: usize, k: usize) -> Self {
        assert_eq!(
            a.len(),
            m * k,
            "PackedA::pack: a has {} values for {m}x{k}",
            a.len()
        );
        PackedA {
            m,
            k,
            data: a.to_vec(),
        }
    }

    /// Rows.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Columns (reduction length).
    pub fn k(&self) -> usize {
        self.k
    }
}

/// `c[m, n] = epi(a * b)`, with `b` row-major `[k, n]` and `c` row-major `[m, n]`.
pub fn f32_gemm(a: &PackedA, b: &[f32], n: usize, c: &mut [f32], epi: &Epilogue) {
    let (m, k) = (a.m, a.k);
    assert_eq!(
        b.len(),
        k * n,
        "f32_gemm: b has {} values for {k}x{n}",
        b.len()
    );
    assert_eq!(
        c.len(),
        m * n,
        "f32_gemm: c has {} values for {m}x{n}",
        c.len()
    );
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0;
            for p in 0..k {
                acc += a.data[i * k + p] * b[p * n + j];
            }
            c[i * n + j] = epi.apply(i, acc);
        }
    }
}
