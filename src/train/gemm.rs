//! The training engine's matrix products, on the crate's f32 GEMM
//! ([`crate::kernels::f32_gemm`]): its reductions run in a fixed order whatever the thread
//! count, so training is bit-for-bit reproducible with and without the `threads` feature.

use super::tensor::transpose;
use crate::kernels::f32_gemm::{f32_gemm, PackedA};
use crate::kernels::Epilogue;

/// `C[m, n] = A[m, k] B[k, n] (+ bias[row])`, all row-major.
pub(crate) fn matmul(
    a: &[f32],
    m: usize,
    k: usize,
    b: &[f32],
    n: usize,
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let packed = PackedA::pack(a, m, k);
    let mut c = vec![0.0f32; m * n];
    let epi = Epilogue {
        bias,
        ..Epilogue::NONE
    };
    f32_gemm(&packed, b, n, &mut c, &epi);
    c
}

/// `C[m, n] = A[m, k] B^T` with `b` row-major `[n, k]`.
pub(crate) fn matmul_bt(a: &[f32], m: usize, k: usize, b: &[f32], n: usize) -> Vec<f32> {
    matmul(a, m, k, &transpose(b, n, k), n, None)
}

/// `C[m, n] = A^T B` with `a` row-major `[k, m]`, `b` row-major `[k, n]`.
pub(crate) fn matmul_at(a: &[f32], m: usize, k: usize, b: &[f32], n: usize) -> Vec<f32> {
    matmul(&transpose(a, k, m), m, k, b, n, None)
}
