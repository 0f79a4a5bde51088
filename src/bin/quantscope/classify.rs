//! `quantscope classify`.

use quantscope::classifier::{Classifier, Prediction};
use quantscope::Result;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `classify`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: super::ModelArgs,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
    /// Images to classify.
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

#[derive(Serialize)]
struct Line<'a> {
    image: &'a Path,
    variant: &'a str,
    top5: &'a [Prediction],
    ms: f64,
}

/// Classifies each image; a bad image is reported and skipped, and the exit code says so.
pub fn run(args: Args) -> Result<ExitCode> {
    let classifier = args.model.classifier()?;
    let mut failed = 0;
    for path in &args.images {
        match classify_one(&classifier, path) {
            Ok((top5, ms)) if args.json => {
                let line = Line {
                    image: path,
                    variant: "fp32",
                    top5: &top5,
                    ms,
                };
                println!("{}", serde_json::to_string(&line).expect("serialisable"));
            }
            Ok((top5, ms)) => {
                println!("{} (fp32, {ms:.1} ms)", path.display());
                for p in &top5 {
                    println!("  {:>4}  {:<32} {:.4}", p.index, p.label, p.prob);
                }
            }
            Err(e) => {
                eprintln!("quantscope: {}: {e}", path.display());
                failed += 1;
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Top-5 and the model's latency (preprocessing excluded) for one image file.
fn classify_one(classifier: &Classifier, path: &Path) -> Result<(Vec<Prediction>, f64)> {
    let img = quantscope::image::decode(&super::read_file(path)?)?;
    let input = classifier.input_tensor(&img);
    let start = Instant::now();
    let logits = classifier.logits(&input)?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    Ok((classifier.predictions(&logits, 5), ms))
}
