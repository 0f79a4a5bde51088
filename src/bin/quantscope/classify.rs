//! `quantscope classify`.

use quantscope::classifier::{Classifier, Prediction, Variant};
use quantscope::Result;
use serde::Serialize;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `classify`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: super::ModelArgs,
    /// Variants to run, comma-separated: fp32, fp16, or specs such as w8a8 (= int8, static,
    /// calibrated), w4a8, w4a8-kmeans, w2a8-pow2, w8a8-tensor, w8a8-dynamic (= int8-dynamic).
    #[arg(long, default_value = "fp32", value_delimiter = ',')]
    variants: Vec<String>,
    #[command(flatten)]
    quant: super::quantize::QuantArgs,
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

/// Classifies each image with each variant; a bad image is reported and skipped, and the exit
/// code says so. A reader that stops early (`| head -1`) ends the run quietly.
pub fn run(args: Args) -> Result<ExitCode> {
    let float = args.model.classifier()?;
    let variants = args
        .variants
        .iter()
        .map(|v| Variant::parse(v))
        .collect::<Result<Vec<_>>>()?;
    // A variant that cannot be built is reported and left out; the others still run.
    let mut classifiers = Vec::with_capacity(variants.len());
    let mut out = io::stdout().lock();
    let mut failed = 0;
    for (name, &v) in args.variants.iter().zip(&variants) {
        let built = match v {
            Variant::Fp32 => Ok(None),
            _ => args.quant.build(&float, v).map(Some),
        };
        match built {
            Ok(c) => classifiers.push((name.trim(), c)),
            Err(e) => {
                eprintln!("quantscope: variant {v} cannot be built: {e}");
                failed += 1;
            }
        }
    }
    for path in &args.images {
        for (name, c) in &classifiers {
            let classifier = c.as_ref().unwrap_or(&float);
            match report(&mut out, classifier, name, path, args.json) {
                Ok(true) => {}
                Ok(false) => failed += 1,
                // The reader has what it wanted: the conventional quiet end of a pipe.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints one image's result with one variant; false when the image failed, `Err` when
/// stdout cannot be written.
fn report(
    out: &mut impl Write,
    classifier: &Classifier,
    variant: &str,
    path: &Path,
    json: bool,
) -> io::Result<bool> {
    match classify_one(classifier, path) {
        Ok((top5, ms)) if json => {
            let line = Line {
                image: path,
                variant,
                top5: &top5,
                ms,
            };
            serde_json::to_writer(&mut *out, &line)?;
            writeln!(out)?;
        }
        Ok((top5, ms)) => {
            writeln!(out, "{} ({variant}, {ms:.1} ms)", path.display())?;
            for p in &top5 {
                writeln!(out, "  {:>4}  {:<32} {:.4}", p.index, p.label, p.prob)?;
            }
        }
        Err(e) => {
            eprintln!("quantscope: {}: {e}", path.display());
            return Ok(false);
        }
    }
    // Flushed per result so a pipe sees each image as it is done.
    out.flush()?;
    Ok(true)
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
