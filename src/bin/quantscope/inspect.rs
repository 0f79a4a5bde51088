//! `quantscope inspect`.

use quantscope::ir::summary::{summarize, ModelSummary};
use quantscope::onnx::{describe, load_model, ImportOptions};
use quantscope::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// The ONNX model.
    model: PathBuf,
    /// Metadata JSON giving the input shape (default: the model path with .json, if present,
    /// else the file's input with open height and width at 224).
    #[arg(long)]
    meta: Option<PathBuf>,
}

/// Prints one line per node and the totals.
pub fn run(args: Args) -> Result<ExitCode> {
    let bytes = super::read_file(&args.model)?;
    let meta = super::read_metadata(&args.model, args.meta.as_deref())?;
    let meta = meta.resolve(&describe(&bytes)?)?;
    let options = ImportOptions {
        input_shapes: vec![(meta.input.name, meta.input.shape)],
        ..Default::default()
    };
    let graph = load_model(&bytes, &options)?;
    outln!(
        "{}",
        report(&summarize(&graph), graph.nodes.len()).trim_end()
    );
    Ok(ExitCode::SUCCESS)
}

/// The layer table: name, op, input -> output shape, parameters, bytes as f32.
fn report(s: &ModelSummary, nodes: usize) -> String {
    let row = |i: &str, name: &str, op: &str, input: &str, output: &str, p: &str, b: &str| {
        format!("{i:<4} {name:<28} {op:<18} {input:<20} {output:<20} {p:>10} {b:>12}\n")
    };
    let mut out = row("#", "node", "op", "input", "output", "params", "bytes");
    for (i, l) in s.layers.iter().enumerate() {
        out += &row(
            &i.to_string(),
            &l.name,
            &l.op,
            &format!("{:?}", l.input),
            &format!("{:?}", l.output),
            &l.parameters.to_string(),
            &l.bytes.to_string(),
        );
    }
    out += &format!(
        "total: {nodes} nodes, {} parameters ({:.2} M), {} bytes as f32 ({:.2} MiB)\n",
        s.parameters,
        s.parameters as f64 / 1e6,
        s.bytes,
        s.bytes as f64 / (1024.0 * 1024.0)
    );
    out
}
