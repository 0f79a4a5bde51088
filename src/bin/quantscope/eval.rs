//! `quantscope eval`: each variant's accuracy on a labelled dataset, its agreement with fp32,
//! per-class accuracy and confusion matrix.

use quantscope::classifier::Variant;
use quantscope::data::{fashion_mnist, Dataset, Split};
use quantscope::eval::{dataset_image, evaluate, Accuracy};
use quantscope::{Error, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `eval`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: super::ModelArgs,
    /// The labelled images: fashion-mnist-test (10,000) or fashion-mnist-train (60,000).
    #[arg(long, default_value = "fashion-mnist-test")]
    dataset: String,
    /// The folder with the dataset's IDX files (`make fashion-mnist`).
    #[arg(long, default_value = ".cache/fashion-mnist")]
    data: PathBuf,
    /// Only the first N images.
    #[arg(long)]
    limit: Option<usize>,
    /// Variants, comma-separated: fp32, fp16, w8a8, w4a8, w4a4, w2a8-kmeans, w8a8-dynamic, ...
    #[arg(long, default_value = "fp32", value_delimiter = ',')]
    variants: Vec<String>,
    #[command(flatten)]
    quant: super::quantize::QuantArgs,
    /// Static variants without --calib or --ranges calibrate on the first N training images.
    #[arg(long, default_value_t = 500)]
    calib_count: usize,
    /// One JSON object per variant and line: variant, accuracy, agreement, per_class, confusion.
    #[arg(long)]
    json: bool,
}

/// The split a `--dataset` name asks for.
pub fn split_of(name: &str) -> Result<Split> {
    match name {
        "fashion-mnist-test" | "fashion-mnist" => Ok(Split::Test),
        "fashion-mnist-train" => Ok(Split::Train),
        _ => Err(Error::Input(format!(
            "--dataset {name}: expected fashion-mnist-test or fashion-mnist-train"
        ))),
    }
}

/// Runs fp32 first (every variant's agreement is measured against its answers), then each
/// variant, printing progress on stderr and one report per variant.
pub fn run(args: Args) -> Result<ExitCode> {
    let mut data = fashion_mnist(&args.data, split_of(&args.dataset)?)?;
    if let Some(n) = args.limit {
        data = data.take(n);
    }
    let float = args.model.classifier()?;
    quantscope::eval::check_classes(&float, &data)?;
    let calibration = || -> Result<Vec<quantscope::ir::Tensor>> {
        let train = fashion_mnist(&args.data, Split::Train)?.take(args.calib_count);
        eprintln!("calibrating on the first {} training images", train.len());
        Ok((0..train.len())
            .map(|i| float.input_tensor(&dataset_image(&train, i)))
            .collect())
    };
    let (reference, mut fp32) = run_one(&float, "fp32", &data, None)?;
    fp32.agreement = Some(1.0);
    if !args.json {
        outln!(
            "{}: {} images, {} classes",
            args.dataset,
            data.len(),
            data.class_names.len()
        );
        outln!(
            "{:<16} {:>9} {:>10}  per class",
            "variant",
            "accuracy",
            "agreement"
        );
    }
    for name in &args.variants {
        let name = name.trim();
        let report = match Variant::parse(name)? {
            Variant::Fp32 => fp32.clone(),
            v => {
                let built = args.quant.build_or(&float, v, Some(&calibration))?;
                run_one(&built, name, &data, Some(&reference))?.1
            }
        };
        print_report(&report, &data, args.json)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One variant over the dataset, with a progress line every 1000 images.
fn run_one(
    classifier: &quantscope::classifier::Classifier,
    name: &str,
    data: &Dataset,
    reference: Option<&[usize]>,
) -> Result<(Vec<usize>, Accuracy)> {
    let start = Instant::now();
    let mut report = |done: usize, total: usize| {
        let s = start.elapsed().as_secs_f64();
        eprintln!(
            "  {name}: {done}/{total} images, {:.0} images/s",
            done as f64 / s.max(1e-9)
        );
        true
    };
    evaluate(classifier, name, data, reference, 1000, &mut report)?
        .ok_or_else(|| Error::Input("the run stopped".into()))
}

/// A report line (or JSON object).
fn print_report(r: &Accuracy, data: &Dataset, json: bool) -> Result<()> {
    if json {
        let line = serde_json::to_string(r).map_err(|e| Error::Input(e.to_string()))?;
        outln!("{line}");
        return Ok(());
    }
    let per_class = data
        .class_names
        .iter()
        .zip(&r.per_class)
        .map(|(n, a)| format!("{n} {:.1}", 100.0 * a))
        .collect::<Vec<_>>()
        .join(", ");
    outln!(
        "{:<16} {:>8.2}% {:>9.2}%  {per_class}",
        r.variant,
        100.0 * r.accuracy,
        100.0 * r.agreement.unwrap_or(1.0)
    );
    Ok(())
}
