//! Names, once, the two conditions under which the scalar GEMM microkernels are compiled (the
//! `cfg`s they are written under in `src/kernels`):
//!
//! - `scalar_gemm_4x8`: the scalar twins of the SIMD128 4x8 microkernels (int8 and f32), the
//!   kernels themselves where a build has no SIMD128, else only with the `twins` feature (the
//!   wasm tests that compare them bit for bit; the packages leave them out for size);
//! - `scalar_gemm_6x16`: the f32 6x16 kernel tuned for native autovectorisation, in native
//!   builds, and in wasm builds only with `twins`.

use std::env;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(scalar_gemm_4x8)");
    println!("cargo::rustc-check-cfg=cfg(scalar_gemm_6x16)");
    let wasm = env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "wasm32");
    let simd128 = wasm
        && env::var("CARGO_CFG_TARGET_FEATURE").is_ok_and(|f| f.split(',').any(|f| f == "simd128"));
    let twins = env::var_os("CARGO_FEATURE_TWINS").is_some();
    if !simd128 || twins {
        println!("cargo::rustc-cfg=scalar_gemm_4x8");
    }
    if !wasm || twins {
        println!("cargo::rustc-cfg=scalar_gemm_6x16");
    }
}
