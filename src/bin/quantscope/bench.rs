//! `quantscope bench`: median single-thread latency of the float model, beside onnxruntime.

use quantscope::ir::Tensor;
use quantscope::{Error, Result};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

/// Arguments of `bench`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: super::ModelArgs,
    /// Timed runs (after 3 warm-up runs).
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Python with onnxruntime for the reference figure (default: .venv/bin/python).
    #[arg(long, default_value = ".venv/bin/python")]
    python: PathBuf,
    /// Skip the onnxruntime figure.
    #[arg(long)]
    no_ort: bool,
}

/// Prints quantscope's median, onnxruntime's, and their ratio.
pub fn run(args: Args) -> Result<ExitCode> {
    let classifier = args.model.classifier()?;
    let shape = classifier.metadata().input.shape.clone();
    // Values in [-1, 1] like a normalised photo; latency does not depend on them.
    let input = Tensor::from_shape_fn(shape, |d| {
        ((d[1] * 7 + d[2] * 3 + d[3]) as f32 * 0.01).sin()
    });
    let runs = args.runs.max(1);
    eprintln!("quantscope fp32: 3 warm-up runs, then {runs} timed runs (single thread)");
    for _ in 0..3 {
        classifier.logits(&input)?;
    }
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        let start = Instant::now();
        classifier.logits(&input)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        if (i + 1) % 10 == 0 || i + 1 == runs {
            eprintln!("  {}/{runs} runs", i + 1);
        }
    }
    let ours = median(&mut times);
    outln!("quantscope  fp32  1 thread  median {ours:8.2} ms  ({runs} runs)");
    if args.no_ort {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "onnxruntime fp32: running scripts/ort_bench.py with {}",
        args.python.display()
    );
    match ort_median(&args) {
        Ok(theirs) => {
            outln!("onnxruntime fp32  1 thread  median {theirs:8.2} ms  ({runs} runs)");
            outln!("ratio quantscope / onnxruntime = {:.2}", ours / theirs);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            outln!("onnxruntime not measured: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Median of the samples (sorts them).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs the onnxruntime benchmark script and reads `median_ms` from its JSON line.
fn ort_median(args: &Args) -> Result<f64> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/ort_bench.py");
    let out = Command::new(&args.python)
        .arg(&script)
        .arg(&args.model.model)
        .args(["--runs", &args.runs.to_string()])
        .output()
        .map_err(|e| Error::Input(format!("cannot run {}: {e}", args.python.display())))?;
    if !out.status.success() {
        return Err(Error::Input(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line)
        .map_err(|e| Error::Input(format!("unexpected ort_bench output {line:?}: {e}")))?;
    v["median_ms"]
        .as_f64()
        .ok_or_else(|| Error::Input(format!("no median_ms in {line:?}")))
}
