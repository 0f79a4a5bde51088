//! The native `quantscope` command line: classify images, inspect a model, benchmark it.

/// `println!` for the reports: a reader that closed the pipe (`quantscope ... | head -1`) has
/// what it wanted, so the command ends quietly and successfully instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("quantscope: cannot write the report: {e}");
            std::process::exit(1);
        }
    }};
}

#[cfg(not(target_arch = "wasm32"))]
mod bench;
#[cfg(not(target_arch = "wasm32"))]
mod classify;
#[cfg(not(target_arch = "wasm32"))]
mod eval;
#[cfg(not(target_arch = "wasm32"))]
mod export;
#[cfg(not(target_arch = "wasm32"))]
mod inspect;
#[cfg(not(target_arch = "wasm32"))]
mod logits;
#[cfg(not(target_arch = "wasm32"))]
mod qat;
#[cfg(not(target_arch = "wasm32"))]
mod quantize;
#[cfg(not(target_arch = "wasm32"))]
mod train;

#[cfg(not(target_arch = "wasm32"))]
use clap::{Parser, Subcommand};
#[cfg(not(target_arch = "wasm32"))]
use quantscope::model::ModelMetadata;
#[cfg(not(target_arch = "wasm32"))]
use quantscope::{Error, Result};
#[cfg(not(target_arch = "wasm32"))]
use std::path::{Path, PathBuf};
#[cfg(not(target_arch = "wasm32"))]
use std::process::ExitCode;

#[cfg(not(target_arch = "wasm32"))]
#[derive(Parser)]
#[command(
    name = "quantscope",
    version,
    about = "Float vs quantized image classification, natively"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[cfg(not(target_arch = "wasm32"))]
#[derive(Subcommand)]
enum Command {
    /// Print the top-5 classes of each image.
    Classify(classify::Args),
    /// Print every layer with shapes, parameters and bytes, and the totals.
    Inspect(inspect::Args),
    /// Median single-thread latency of the float model, beside onnxruntime's.
    Bench(bench::Args),
    /// Write a variant's raw logits for one image (little-endian f32).
    Logits(logits::Args),
    /// Quantize to static int8 and report per-layer scales, SQNR and sizes.
    Quantize(quantize::Args),
    /// Write a static variant as an ONNX QDQ model (opset 21; 4-bit weights as INT4).
    Export(export::Args),
    /// Accuracy of each variant on labelled images (Fashion-MNIST), with agreement with fp32.
    Eval(eval::Args),
    /// Quantization-aware fine-tuning for a static variant, then its test accuracy.
    Qat(qat::Args),
    /// Train the Fashion-MNIST CNN and write it as ONNX with its metadata.
    Train(train::Args),
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Classify(a) => classify::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Logits(a) => logits::run(a),
        Command::Quantize(a) => quantize::run(a),
        Command::Export(a) => export::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Qat(a) => qat::run(a),
        Command::Train(a) => train::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("quantscope: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--model` and `--meta`, shared by the commands that run a model.
#[cfg(not(target_arch = "wasm32"))]
#[derive(clap::Args)]
struct ModelArgs {
    /// The ONNX model.
    #[arg(long)]
    model: PathBuf,
    /// The model's metadata JSON (default: the model path with .json if present, else
    /// defaults read from the model file).
    #[arg(long)]
    meta: Option<PathBuf>,
}

#[cfg(not(target_arch = "wasm32"))]
impl ModelArgs {
    /// Reads the model and its metadata into a ready classifier.
    fn classifier(&self) -> Result<quantscope::classifier::Classifier> {
        let meta = read_metadata(&self.model, self.meta.as_deref())?;
        quantscope::classifier::Classifier::new(&read_file(&self.model)?, meta)
    }
}

/// The metadata JSON: `--meta` if given, else the model's path with a `.json` extension if
/// there is one, else none (every field at its default, read from the model file).
#[cfg(not(target_arch = "wasm32"))]
fn read_metadata(model: &Path, meta: Option<&Path>) -> Result<ModelMetadata> {
    let beside = model.with_extension("json");
    if meta.is_none() && !beside.exists() {
        return Ok(ModelMetadata::default());
    }
    let path: PathBuf = meta.map_or(beside, Path::to_path_buf);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::Metadata(format!("cannot read {}: {e}", path.display())))?;
    ModelMetadata::from_json(&text)
}

/// Reads a file, naming it in the error.
#[cfg(not(target_arch = "wasm32"))]
fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    })
}

/// The CLI is native only; wasm test builds compile this empty entry point.
#[cfg(target_arch = "wasm32")]
fn main() {}
