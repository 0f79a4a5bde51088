//! `quantscope qat`: quantization-aware fine-tuning of a trained float model, then its integer
//! variant on the engine, evaluated on the Fashion-MNIST test set.

use quantscope::classifier::{Classifier, Variant};
use quantscope::data::{fashion_mnist, Split};
use quantscope::train::qat::{self, QatConfig};
use quantscope::{Error, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `qat`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: super::ModelArgs,
    /// The static variant to train for: w8a8, w4a8, w4a4, w2a8, w2a4, w4a8-kmeans, ...
    #[arg(long)]
    variant: String,
    /// Optimisation steps (mini-batches of --batch training images).
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    /// Images per step.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Adam's learning rate (constant; the float model is already trained). On Fashion-MNIST,
    /// 1000 steps: 3e-5 did as well as or better than 1e-4 at every width (w4a8 92.12% vs
    /// 91.57%, w2a4 87.56% vs 86.70%).
    #[arg(long, default_value_t = 3e-5)]
    lr: f32,
    /// Share of the steps after which the activation ranges stop moving.
    #[arg(long, default_value_t = 0.75)]
    freeze_at: f32,
    /// Seed of the shuffles and flips.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The folder with the four IDX files (`make fashion-mnist`).
    #[arg(long, default_value = ".cache/fashion-mnist")]
    data: PathBuf,
    /// Test images to evaluate on (default all 10,000).
    #[arg(long)]
    test_limit: Option<usize>,
    /// Save the fine-tuned model: FILE (ONNX, float latent weights), FILE with .json
    /// (metadata) and with .ranges.json (activation ranges): `classify`, `eval` and `export`
    /// build the integer variant from them with `--ranges`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The result as one JSON object.
    #[arg(long)]
    json: bool,
}

/// The `--json` report.
#[derive(Serialize)]
struct Report<'a> {
    variant: &'a str,
    method: &'static str,
    accuracy: f64,
    float_accuracy: f64,
    steps: usize,
    seconds: f64,
    images_per_second: f64,
}

/// Fine-tunes, converts and evaluates; prints progress on stderr.
pub fn run(args: Args) -> Result<ExitCode> {
    let variant = Variant::parse(&args.variant)?;
    let Variant::Static(scheme) = variant else {
        return Err(Error::Input(format!(
            "qat trains a static integer variant (w<b>a<b>...), not {variant}"
        )));
    };
    let float = args.model.classifier()?;
    let train = fashion_mnist(&args.data, Split::Train)?;
    let mut test = fashion_mnist(&args.data, Split::Test)?;
    if let Some(n) = args.test_limit {
        test = test.take(n);
    }
    quantscope::eval::check_classes(&float, &test)?;
    let config = QatConfig {
        scheme,
        steps: args.steps,
        batch: args.batch,
        lr: args.lr,
        freeze_at: args.freeze_at,
        seed: args.seed,
    };
    let start = Instant::now();
    let mut run = qat::QatRun::new(float.graph(), &float.metadata().preprocess, config, &train)?;
    let every = (args.steps / 20).max(1);
    while let Some(p) = run.step(&train)? {
        if p.step % every == 0 || p.step == p.steps {
            let s = start.elapsed().as_secs_f64();
            let rate = (p.step * args.batch) as f64 / s.max(1e-9);
            eprintln!(
                "qat {variant}: step {}/{}, loss {:.4}, accuracy {:.2}%, {rate:.0} images/s, ETA \
                 {:.0} s{}",
                p.step,
                p.steps,
                p.loss,
                100.0 * p.accuracy,
                (p.steps - p.step) as f64 * args.batch as f64 / rate.max(1e-9),
                if p.frozen { ", ranges frozen" } else { "" }
            );
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let (onnx, ranges) = run.finish()?;
    let tuned = Classifier::new(&onnx, float.metadata().clone())?;
    let integer = tuned.with_ranges(&ranges, &scheme.into())?;
    let accuracy = evaluate(&integer, &format!("{variant} (qat)"), &test)?;
    let float_accuracy = evaluate(&float, "fp32", &test)?;
    if let Some(out) = &args.out {
        save(out, &onnx, float.metadata(), &ranges)?;
    }
    let name = variant.to_string();
    if args.json {
        let line = serde_json::to_string(&Report {
            variant: &name,
            method: "qat",
            accuracy,
            float_accuracy,
            steps: args.steps,
            seconds,
            images_per_second: (args.steps * args.batch) as f64 / seconds.max(1e-9),
        })
        .map_err(|e| Error::Input(e.to_string()))?;
        outln!("{line}");
    } else {
        outln!(
            "{name} after QAT ({} steps, {seconds:.1} s): test accuracy {:.2}% (fp32 {:.2}%)",
            args.steps,
            100.0 * accuracy,
            100.0 * float_accuracy
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Test accuracy of one classifier, with progress on stderr.
fn evaluate(c: &Classifier, name: &str, test: &quantscope::data::Dataset) -> Result<f64> {
    let mut progress = |done: usize, total: usize| {
        eprintln!("  {name}: {done}/{total} test images");
        true
    };
    let (_, r) = quantscope::eval::evaluate(c, name, test, None, 2500, &mut progress)?
        .ok_or_else(|| Error::Input("the evaluation stopped".into()))?;
    Ok(r.accuracy)
}

/// Writes the model, its metadata and its ranges.
fn save(
    out: &Path,
    onnx: &[u8],
    metadata: &quantscope::model::ModelMetadata,
    ranges: &quantscope::exec::calibrate::Ranges,
) -> Result<()> {
    let write = |path: PathBuf, bytes: &[u8]| {
        std::fs::write(&path, bytes).map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("{}: {e}", path.display()),
            ))
        })
    };
    write(out.to_path_buf(), onnx)?;
    write(out.with_extension("json"), &json(metadata)?)?;
    write(out.with_extension("ranges.json"), &json(ranges)?)?;
    eprintln!(
        "wrote {}, its .json and .ranges.json (eval/classify/export: --model {} --ranges {})",
        out.display(),
        out.display(),
        out.with_extension("ranges.json").display()
    );
    Ok(())
}

/// Pretty JSON bytes of a saved object.
fn json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(v).map_err(|e| Error::Input(e.to_string()))
}
