//! Compute kernels on plain slices. They know nothing of ONNX or the IR.
//!
//! Every kernel has a scalar version compiled everywhere and, on wasm32 with `simd128`, a
//! SIMD128 twin with the same name suffix convention (`*_scalar`, `*_simd128`); the public
//! entry points pick the best one for the build. The scalar versions are written as fixed-width
//! loops over small arrays so that native builds (`-C target-cpu=native`) autovectorise them.
//!
//! Choosing a variant explicitly (tests, benchmarks): GEMM microkernels are picked when packing
//! ([`f32_gemm::PackedA::pack_for`] with a [`f32_gemm::GemmUkernel`]); depthwise convolution has
//! [`f32_dwconv::f32_dwconv_scalar`] everywhere and `f32_dwconv_simd128` on wasm32+simd128.
//!
//! The int8 kernels (`qs8_*`, XNNPACK's name for signed 8-bit quantized) multiply raw int8
//! values into exact int32 sums and end in an output stage ([`qs8_requant::Requant`] to int8,
//! [`qs8_requant::Dequant`] to f32), so all their variants agree bit for bit:
//! [`qs8_gemm`] (variants via [`qs8_gemm::PackedQA::pack_for`]), [`qs8_dwconv`]
//! ([`qs8_dwconv::qs8_dwconv_scalar`], `qs8_dwconv_simd128`), and [`f32_im2col::im2col`], which
//! pads int8 columns with the input zero point.
//!
//! Low-bit weights (2 or 4 bits per code) are decoded through per-row lookup tables by
//! [`qs8_unpack`] ([`qs8_unpack::qs8_panel_decode`] into packed A panels, scalar and SIMD128).

pub mod f32_dwconv;
pub mod f32_gemm;
pub mod f32_im2col;
pub mod f32_qs8_vcvt;
pub mod f32_requant;
pub mod f32_rminmax;
pub mod fixed_point;
pub(crate) mod gemm_rows;
pub(crate) mod padded_plane;
pub(crate) mod parallel;
pub mod params;
pub mod qs8_add;
pub mod qs8_dwconv;
pub mod qs8_gemm;
pub mod qs8_lut;
pub mod qs8_mul;
pub mod qs8_peak;
pub mod qs8_requant;
pub mod qs8_unpack;

/// Runs `f` (a whole graph run, or a batch of kernel calls) with a team of threads that the
/// kernels inside it split their work across: the calling thread and, with the `threads`
/// feature, helpers started once on rayon's current pool that wait for work by spinning, so a
/// parallel region does not wake sleeping workers. Without the feature it just runs `f`.
pub fn team<R>(f: impl FnOnce() -> R) -> R {
    parallel::team(f)
}

/// Bias and clamp applied to each output row of a kernel: `y = clamp(acc + bias[row], min, max)`.
#[derive(Clone, Copy, Debug)]
pub struct Epilogue<'a> {
    /// One bias per output row (channel), or none.
    pub bias: Option<&'a [f32]>,
    /// Lower clamp (`-inf` for none).
    pub min: f32,
    /// Upper clamp (`+inf` for none).
    pub max: f32,
}

impl Epilogue<'_> {
    /// No bias, no clamp.
    pub const NONE: Epilogue<'static> = Epilogue {
        bias: None,
        min: f32::NEG_INFINITY,
        max: f32::INFINITY,
    };

    /// Bias of `row` (0 without bias).
    #[inline]
    pub fn bias(&self, row: usize) -> f32 {
        self.bias.map_or(0.0, |b| b[row])
    }

    /// Applies bias of `row` and the clamp to `acc`.
    #[inline]
    pub fn apply(&self, row: usize, acc: f32) -> f32 {
        clamp(acc + self.bias(row), self.min, self.max)
    }
}

/// Geometry of a 2-D convolution window over one image, shared by im2col and depthwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input channels (per group for im2col; all channels for depthwise).
    pub channels: usize,
    /// Input height and width.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Strides `[h, w]`.
    pub stride: [usize; 2],
    /// Dilations `[h, w]`.
    pub dilation: [usize; 2],
    /// Padding before the first row and column `[top, left]` (the rest is implied by out_h/out_w).
    pub pad: [usize; 2],
}

/// `a * b + c`, fused where the build target has a hardware FMA (native x86_64 with
/// `target-cpu=native`), plain multiply-add elsewhere: `f32::mul_add` without hardware FMA is a
/// slow libm call (notably on wasm32), and unfused is what SIMD128 computes anyway.
#[inline(always)]
pub(crate) fn madd(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(target_feature = "fma")]
    {
        a.mul_add(b, c)
    }
    #[cfg(not(target_feature = "fma"))]
    {
        a * b + c
    }
}

/// `a * b + c` on four f32 lanes: `f32x4.relaxed_madd` in the relaxed-SIMD build (the engine
/// maps it to the CPU's fused multiply-add where there is one, so the last bits may differ from
/// the plain build's), a multiply then an add in plain SIMD128. The f32 GEMM and depthwise
/// kernels accumulate through it.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub(crate) fn f32x4_madd(
    a: core::arch::wasm32::v128,
    b: core::arch::wasm32::v128,
    c: core::arch::wasm32::v128,
) -> core::arch::wasm32::v128 {
    use core::arch::wasm32::*;
    #[cfg(target_feature = "relaxed-simd")]
    {
        f32x4_relaxed_madd(a, b, c)
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    {
        f32x4_add(c, f32x4_mul(a, b))
    }
}

/// Whether this engine's `f32x4.relaxed_madd` rounds once (a fused multiply-add), probed
/// once: it may be fused or not, and the int8 output stage's fused float form
/// ([`f32_requant`]) is exact only where it is. Always false outside the relaxed-SIMD build.
pub fn f32x4_madd_fuses() -> bool {
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    {
        use core::arch::wasm32::*;
        use std::sync::atomic::{AtomicU8, Ordering};
        /// 0 not probed yet, 1 fused, 2 not.
        static FUSES: AtomicU8 = AtomicU8::new(0);
        match FUSES.load(Ordering::Relaxed) {
            0 => {
                // (1 + 2^-23)(1 - 2^-23) - 1 is -2^-46 rounded once, 0 rounded twice.
                let (a, b) = (1.0 + f32::EPSILON, 1.0 - f32::EPSILON);
                let got = f32x4_madd(
                    core::hint::black_box(f32x4_splat(a)),
                    core::hint::black_box(f32x4_splat(b)),
                    core::hint::black_box(f32x4_splat(-1.0)),
                );
                let lanes: [f32; 4] = qs8_requant::to_array(got);
                let fuses = lanes.iter().all(|&v| v == -(2f32.powi(-46)));
                FUSES.store(if fuses { 1 } else { 2 }, Ordering::Relaxed);
                fuses
            }
            state => state == 1,
        }
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
    {
        false
    }
}

/// Clamps `v` to `[min, max]` exactly as [`Epilogue::apply`] does (so all variants agree on NaN):
/// `v.max(min).min(max)`, NaN becoming `min`, written as the compares that SIMD128's
/// `f32x4.pmax(min, v)` and `f32x4.pmin(max, v)` are. `f32::max` itself is a call to `fmaxf`
/// on wasm32 (its NaN rule is not wasm's `f32.max`), one per stored value: a quarter of the
/// f32 GEMM's time on short reductions.
#[inline(always)]
pub(crate) fn clamp(v: f32, min: f32, max: f32) -> f32 {
    let v = if min < v { v } else { min };
    if v < max {
        v
    } else {
        max
    }
}

/// `dst[t] = src[t * s]` for every `t` in `dst` (`src` holds enough values).
#[inline(always)]
pub(crate) fn gather<T: Copy>(dst: &mut [T], src: &[T], s: usize) {
    if s == 1 {
        dst.copy_from_slice(&src[..dst.len()]);
    } else if s == 2 {
        // Pairs vectorise (even lanes of a shuffle); a strided iterator does not.
        let done = dst.len().min(src.len() / 2);
        for (d, pair) in dst[..done].iter_mut().zip(src.chunks_exact(2)) {
            *d = pair[0];
        }
        if done < dst.len() {
            dst[done] = src[2 * done];
        }
    } else {
        for (d, &v) in dst.iter_mut().zip(src.iter().step_by(s)) {
            *d = v;
        }
    }
}

/// `t[c, r] = x[r, c]` for `x` of `rows x cols`.
pub fn transpose<T: Copy>(x: &[T], rows: usize, cols: usize, t: &mut [T]) {
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = x[r * cols + c];
        }
    }
}
