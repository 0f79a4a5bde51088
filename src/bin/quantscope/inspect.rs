//! `quantscope inspect`.

use quantscope::ir::Graph;
use quantscope::onnx::{load_model, ImportOptions};
use quantscope::Result;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// The ONNX model.
    model: PathBuf,
    /// Metadata JSON giving the input shape (default: the model path with .json, if present).
    #[arg(long)]
    meta: Option<PathBuf>,
}

/// Prints one line per node and the totals.
pub fn run(args: Args) -> Result<ExitCode> {
    let mut options = ImportOptions::default();
    if args.meta.is_some() || args.model.with_extension("json").exists() {
        let meta = super::read_metadata(&args.model, args.meta.as_deref())?;
        options
            .input_shapes
            .push((meta.input.name, meta.input.shape));
    }
    let graph = load_model(&super::read_file(&args.model)?, &options)?;
    print!("{}", report(&graph));
    Ok(ExitCode::SUCCESS)
}

/// The layer table: name, op, input -> output shape, parameters, bytes as f32.
fn report(graph: &Graph) -> String {
    let mut out = format!(
        "{:<4} {:<28} {:<18} {:<22} {:<22} {:>10} {:>12}\n",
        "#", "node", "op", "input", "output", "params", "bytes"
    );
    let shape = |ids: &[usize]| {
        ids.first()
            .map_or(String::new(), |&i| format!("{:?}", graph.shape(i)))
    };
    for (i, n) in graph.nodes.iter().enumerate() {
        let params = n.op.parameter_count();
        let op = match &n.op {
            quantscope::ir::Op::Conv(c) if c.is_depthwise() => {
                format!("Conv dw {}x{}", c.kernel()[0], c.kernel()[1])
            }
            quantscope::ir::Op::Conv(c) => {
                format!("Conv {}x{}/{}", c.kernel()[0], c.kernel()[1], c.strides[0])
            }
            op => op.kind().to_string(),
        };
        out += &format!(
            "{:<4} {:<28} {:<18} {:<22} {:<22} {:>10} {:>12}\n",
            i,
            n.name,
            op,
            shape(&n.inputs),
            shape(&n.outputs),
            params,
            params * 4
        );
    }
    let params = graph.parameter_count();
    out += &format!(
        "total: {} nodes, {} parameters ({:.2} M), {} bytes as f32 ({:.2} MiB)\n",
        graph.nodes.len(),
        params,
        params as f64 / 1e6,
        params * 4,
        (params * 4) as f64 / (1024.0 * 1024.0)
    );
    out
}
