//! `quantscope logits`: a variant's raw scores for one image, as a file.

use quantscope::classifier::Variant;
use quantscope::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `logits`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: super::ModelArgs,
    #[command(flatten)]
    quant: super::quantize::QuantArgs,
    /// The variant: fp32, fp16, or a spec such as w8a8 (= int8), w4a8, w4a8-kmeans.
    #[arg(long, default_value = "fp32")]
    variant: String,
    /// The image (decoded and preprocessed exactly as `classify` does).
    image: PathBuf,
    /// Where to write the logits: little-endian f32, one per class, no header.
    #[arg(long)]
    out: PathBuf,
}

/// Writes the logits and prints how many were written, with the top-1 class.
pub fn run(args: Args) -> Result<ExitCode> {
    let float = args.model.classifier()?;
    let classifier = args.quant.build(&float, Variant::parse(&args.variant)?)?;
    let img = quantscope::image::decode(&super::read_file(&args.image)?)?;
    let logits = classifier.logits(&classifier.input_tensor(&img))?;
    let bytes: Vec<u8> = logits.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&args.out, bytes).map_err(|e| {
        quantscope::Error::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", args.out.display()),
        ))
    })?;
    let top1 = logits
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i);
    outln!(
        "{}: {} logits (top-1 {}) -> {}",
        args.image.display(),
        logits.len(),
        top1.map_or_else(|| "none".to_string(), |i| i.to_string()),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
