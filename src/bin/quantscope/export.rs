//! `quantscope export`: a static variant as an ONNX QDQ model for other runtimes.

use quantscope::classifier::Variant;
use quantscope::export::{qdq_model, OPSET};
use quantscope::{Error, Result};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `export`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: super::ModelArgs,
    #[command(flatten)]
    quant: super::quantize::QuantArgs,
    /// The static variant to export: w8a8, w4a8, w4a8-kmeans, w2a8-pow2, w8a8-tensor, ...
    #[arg(long)]
    variant: String,
    /// Where to write the ONNX model (QDQ form, opset 21).
    #[arg(long)]
    out: PathBuf,
}

/// Builds the variant (calibrating, or with `--ranges`), writes its QDQ model and prints what
/// it wrote.
pub fn run(args: Args) -> Result<ExitCode> {
    let variant = Variant::parse(&args.variant)?;
    if !variant.is_static() {
        return Err(Error::Input(format!(
            "export writes a static variant (integer-only, calibrated: w<b>a<b>...) as ONNX \
             QDQ; {variant} is not static (its activations are {}), so it has no fixed \
             quantization parameters to write",
            if variant.scheme().is_some() {
                "quantized per run"
            } else {
                "float"
            }
        )));
    }
    let float = args.model.classifier()?;
    let quantized = args.quant.build(&float, variant)?;
    let exec = quantized
        .int8_executor()
        .ok_or_else(|| Error::Input(format!("{variant} did not build an integer-only model")))?;
    let model = qdq_model(exec.quantized())?;
    let bytes = prost::Message::encode_to_vec(&model);
    std::fs::write(&args.out, &bytes).map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", args.out.display()),
        ))
    })?;
    let graph = model.graph.unwrap_or_default();
    outln!(
        "{} ({}): {} nodes, {} initializers, {} bytes, opset {OPSET} -> {}",
        quantized.variant(),
        graph.name,
        graph.node.len(),
        graph.initializer.len(),
        bytes.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
