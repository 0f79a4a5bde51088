//! Paths shared by the integration tests that need the generated model or the Python venv.
#![allow(dead_code)]

pub mod onnx_builders;

use std::path::PathBuf;

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `QUANTSCOPE_MODEL`, else `models/efficientnet-lite0.onnx`; fails with the fix if missing.
pub fn model_path() -> PathBuf {
    let p = std::env::var_os("QUANTSCOPE_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("models/efficientnet-lite0.onnx"));
    assert!(
        p.exists(),
        "{} is missing: run `make models` (or `make test`)",
        p.display()
    );
    p
}

/// `QUANTSCOPE_PYTHON`, else `.venv/bin/python`; fails with the fix if missing.
pub fn python() -> PathBuf {
    let p = std::env::var_os("QUANTSCOPE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"));
    assert!(
        p.exists(),
        "{} is missing: run `make venv` (or `make test`)",
        p.display()
    );
    p
}

/// The sample photos, sorted by name.
pub fn samples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("samples"))
        .expect("samples/ exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("png" | "jpg")))
        .collect();
    v.sort();
    v
}

/// A file of little-endian f32 values (logits, tensors written by the Python scripts).
pub fn read_f32(path: &std::path::Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}
