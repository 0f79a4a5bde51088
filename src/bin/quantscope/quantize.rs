//! `quantscope quantize`, and the quantization arguments shared with `classify` and `logits`.

use quantscope::classifier::{agreement, AgreementSummary, Classifier, QuantizeOptions, Variant};
use quantscope::exec::calibrate::Ranges;
use quantscope::ir::Tensor;
use quantscope::quant::observer::ObserverKind;
use quantscope::quant::report::layer_reports;
use quantscope::quant::LayerSchemes;
use quantscope::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// How to build quantized variants.
#[derive(clap::Args)]
pub struct QuantArgs {
    /// Calibration images for static int8: an image, or a folder of images (repeatable).
    #[arg(long = "calib", value_name = "PATH")]
    calib: Vec<PathBuf>,
    /// Range observer for calibration: minmax, percentile[:P] (default P 99.99), entropy, mse.
    #[arg(long, default_value = "minmax")]
    observer: String,
    /// One weight scale per tensor instead of one per output channel (same as the spec
    /// suffix -tensor).
    #[arg(long)]
    per_tensor: bool,
    /// A layer's own scheme, NAME=SPEC (repeatable; mixed precision), e.g.
    /// `--layer blocks.15.depthwise=w8a8`.
    #[arg(long = "layer", value_name = "NAME=SPEC")]
    layers: Vec<String>,
    /// Activation ranges saved by `quantize --ranges-out` (instead of calibrating).
    #[arg(long, value_name = "FILE", conflicts_with = "calib")]
    ranges: Option<PathBuf>,
    /// The first calibration's ranges: activation ranges do not depend on the weights' scheme,
    /// so every later static variant reuses them.
    #[arg(skip)]
    calibrated: std::cell::OnceCell<Ranges>,
}

const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "webp", "gif", "bmp"];

impl QuantArgs {
    /// The image files named by `--calib` (folders expanded, sorted by name).
    fn calibration_files(&self) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for path in &self.calib {
            if path.is_dir() {
                let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                    .map_err(|e| Error::Input(format!("--calib {}: {e}", path.display())))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.extension()
                            .and_then(|x| x.to_str())
                            .is_some_and(|x| IMAGE_EXTENSIONS.contains(&x.to_lowercase().as_str()))
                    })
                    .collect();
                found.sort();
                if found.is_empty() {
                    return Err(Error::Input(format!(
                        "--calib {}: no images ({}) in this folder",
                        path.display(),
                        IMAGE_EXTENSIONS.join(", ")
                    )));
                }
                files.extend(found);
            } else {
                files.push(path.clone());
            }
        }
        Ok(files)
    }

    /// Decodes and preprocesses the calibration images.
    fn calibration_inputs(&self, float: &Classifier) -> Result<Vec<Tensor>> {
        self.calibration_files()?
            .iter()
            .map(|p| {
                let img = quantscope::image::decode(&super::read_file(p)?)
                    .map_err(|e| Error::Input(format!("--calib {}: {e}", p.display())))?;
                Ok(float.input_tensor(&img))
            })
            .collect()
    }

    /// The options for `variant` (`--per-tensor` and `--layer` applied).
    pub fn options(&self, variant: Variant) -> Result<QuantizeOptions> {
        let variant = if self.per_tensor {
            variant.per_tensor()
        } else {
            variant
        };
        let mut overrides = BTreeMap::new();
        for l in &self.layers {
            let (name, spec) = l.split_once('=').ok_or_else(|| {
                Error::Input(format!(
                    "--layer '{l}': expected NAME=SPEC, e.g. stem.conv=w8a8"
                ))
            })?;
            let scheme = match Variant::parse(spec)? {
                Variant::Static(s) => s,
                _ => {
                    return Err(Error::Input(format!(
                        "--layer '{l}': a layer takes a static integer scheme (w<b>a<b>...)"
                    )))
                }
            };
            overrides.insert(name.trim().to_string(), scheme);
        }
        Ok(QuantizeOptions {
            variant,
            observer: ObserverKind::parse(&self.observer)?,
            overrides,
        })
    }

    /// Builds `variant` from the fp32 classifier, calibrating (with progress on stderr) or
    /// loading `--ranges` for the static variants.
    pub fn build(&self, float: &Classifier, variant: Variant) -> Result<Classifier> {
        self.build_or(float, variant, None)
    }

    /// [`Self::build`], calibrating on `fallback`'s inputs when no `--calib` is given (e.g.
    /// `eval`'s training images).
    pub fn build_or(
        &self,
        float: &Classifier,
        variant: Variant,
        fallback: Option<&dyn Fn() -> Result<Vec<Tensor>>>,
    ) -> Result<Classifier> {
        let options = self.options(variant)?;
        let Variant::Static(scheme) = options.variant else {
            return float.quantize(&options, &[], &mut |_, _| {});
        };
        if let Some(path) = &self.ranges {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::Input(format!("--ranges {}: {e}", path.display())))?;
            let ranges: Ranges = serde_json::from_str(&text)
                .map_err(|e| Error::Input(format!("--ranges {}: {e}", path.display())))?;
            let schemes = LayerSchemes {
                default: scheme,
                overrides: options.overrides.clone(),
            };
            return float.with_ranges(&ranges, &schemes);
        }
        if let Some(ranges) = self.calibrated.get() {
            let schemes = LayerSchemes {
                default: scheme,
                overrides: options.overrides.clone(),
            };
            return float.with_ranges(ranges, &schemes);
        }
        let inputs = match (self.calib.is_empty(), fallback) {
            (false, _) => self.calibration_inputs(float)?,
            (true, Some(fallback)) => fallback()?,
            (true, None) => {
                return Err(Error::Input(format!(
                    "the static variant {variant} needs calibration images: pass --calib \
                     IMAGE_OR_FOLDER"
                )))
            }
        };
        eprintln!(
            "calibrating {variant} ({} observer) on {} image(s)",
            options.observer,
            inputs.len()
        );
        let step = (inputs.len() / 10).max(1);
        let built = float.quantize(&options, &inputs, &mut |done, total| {
            if done % step == 0 || done == total {
                eprintln!("  calibration {done}/{total}");
            }
        })?;
        if let Some(ranges) = built.ranges() {
            let _ = self.calibrated.set(ranges.clone());
        }
        Ok(built)
    }
}

/// Arguments of `quantize`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: super::ModelArgs,
    #[command(flatten)]
    quant: QuantArgs,
    /// Static variants to build, comma-separated, calibrated once: w8a8 (= int8, default),
    /// w4a8, w4a8-kmeans, w2a8-pow2, w8a8-tensor, w8a4, ...
    #[arg(
        long = "variant",
        visible_alias = "variants",
        default_value = "w8a8",
        value_delimiter = ','
    )]
    variants: Vec<String>,
    /// Print per-layer scales, zero points, weight SQNR (min/max and MSE clipping, or the
    /// clustering and codebook rounding errors) and sizes.
    #[arg(long)]
    report: bool,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Save the calibrated activation ranges (JSON) for `--ranges`.
    #[arg(long, value_name = "FILE")]
    ranges_out: Option<PathBuf>,
}

/// Quantizes the model to each static variant (one calibration) and reports on them: weights'
/// bytes and, on the calibration images, agreement with fp32 (top-1, KL, logit SQNR).
pub fn run(args: Args) -> Result<ExitCode> {
    let float = args.model.classifier()?;
    let mut variants = Vec::with_capacity(args.variants.len());
    for spec in &args.variants {
        let v = Variant::parse(spec)?;
        if !v.is_static() {
            return Err(Error::Input(format!(
                "quantize builds static variants (w<b>a<b>...), not {v}"
            )));
        }
        variants.push(v);
    }
    let first = args.quant.build(&float, variants[0])?;
    let ranges = first.ranges().cloned();
    if let (Some(path), Some(ranges)) = (&args.ranges_out, &ranges) {
        write_json(path, ranges)?;
        eprintln!(
            "ranges of {} values -> {}",
            ranges.ranges.len(),
            path.display()
        );
    }
    // A variant that cannot be built is reported, and the others still are.
    let mut built = vec![first];
    let mut failed = Vec::new();
    for &v in &variants[1..] {
        let options = args.quant.options(v)?;
        let (Variant::Static(default), Some(ranges)) = (options.variant, &ranges) else {
            continue;
        };
        let schemes = LayerSchemes {
            default,
            overrides: options.overrides,
        };
        match float.with_ranges(ranges, &schemes) {
            Ok(q) => built.push(q),
            Err(e) => failed.push((v, e)),
        }
    }
    // Agreement on the calibration images (none with --ranges).
    let inputs = if args.quant.calib.is_empty() {
        Vec::new()
    } else {
        args.quant.calibration_inputs(&float)?
    };
    let float_logits = inputs
        .iter()
        .map(|x| float.logits(x))
        .collect::<Result<Vec<_>>>()?;
    let fp32 = float.weight_bytes();
    let mut rows = Vec::new();
    for q in &built {
        let Some(exec) = q.int8_executor() else {
            continue;
        };
        let mut agreements = Vec::with_capacity(inputs.len());
        for (x, f) in inputs.iter().zip(&float_logits) {
            agreements.push(agreement(f, &q.logits(x)?));
        }
        // Per-layer facts re-quantize each layer (min/max and MSE clipping): only when asked.
        let layers = if args.report {
            layer_reports(exec.quantized())
        } else {
            Vec::new()
        };
        let size = quantscope::visual::quantized_sizes(exec.quantized());
        rows.push((q, AgreementSummary::of(&agreements), layers, size));
    }
    if args.json {
        for (q, summary, layers, size) in &rows {
            let report = serde_json::json!({
                "variant": q.variant().to_string(),
                "per_channel": q.per_channel(),
                "observer": q.ranges().map(|r| r.observer.clone()),
                "fp32_bytes": fp32,
                "bytes": q.weight_bytes(),
                "sizes": size,
                "agreement": summary,
                "float_nodes": q.int8_executor().map(|e| e.quantized().float_nodes()),
                "layers": if args.report { serde_json::to_value(layers).ok() } else { None },
            });
            outln!("{report}");
        }
        for (v, e) in &failed {
            outln!(
                "{}",
                serde_json::json!({"variant": v.to_string(), "error": e.to_string()})
            );
        }
        return Ok(exit_code(&failed));
    }
    for (q, _, layers, _) in rows.iter().filter(|_| args.report) {
        outln!("{}", q.variant());
        print_layers(layers);
    }
    outln!(
        "{:<20} {:>12} {:>7} {:>11} {:>10} {:>9} {:>11} {:>8}",
        "variant",
        "weights B",
        "x fp32",
        "deflated B",
        "top-1 kept",
        "mean KL",
        "logit SQNR",
        "top-5"
    );
    for (q, s, _, size) in &rows {
        let bytes = q.weight_bytes();
        outln!(
            "{:<20} {:>12} {:>7.3} {:>11} {:>10} {:>9.4} {:>8.2} dB {:>8.2}",
            q.variant().to_string(),
            bytes,
            bytes as f64 / fp32.max(1) as f64,
            size.deflate_bytes,
            format!("{}/{}", s.top1_agree, s.images),
            s.mean_kl,
            s.mean_logit_sqnr_db,
            s.mean_top5_overlap
        );
    }
    outln!(
        "fp32 weights {fp32} B; agreement with fp32 on the {} calibration image(s)",
        inputs.len()
    );
    for (q, ..) in &rows {
        let islands = q
            .int8_executor()
            .map(|e| e.quantized().float_nodes())
            .unwrap_or_default();
        if !islands.is_empty() {
            let list: Vec<String> = islands
                .iter()
                .map(|f| format!("{} '{}' ({})", f.op, f.name, f.reason))
                .collect();
            outln!(
                "{}: {} node(s) in float: {}",
                q.variant(),
                islands.len(),
                list.join("; ")
            );
        }
    }
    for (v, e) in &failed {
        eprintln!("quantscope: variant {v} cannot be built: {e}");
    }
    Ok(exit_code(&failed))
}

/// Failure when some variant could not be built.
fn exit_code<T>(failed: &[T]) -> ExitCode {
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The per-layer table of one variant.
fn print_layers(layers: &[quantscope::quant::report::LayerReport]) {
    outln!(
        "{:<28} {:>5} {:>18} {:>21} {:>17} {:>17} {:>8} {:>15} {:>15} {:>9} {:>8}",
        "layer",
        "op",
        "weight",
        "w scale min..max",
        "in (S, Z)",
        "out (S, Z)",
        "SQNR dB",
        "minmax/mse dB",
        "cluster/round",
        "fp32 B",
        "B"
    );
    let pair = |p: Option<(f64, f64)>| p.map_or("-".to_string(), |(a, b)| format!("{a:.1}/{b:.1}"));
    for l in layers {
        outln!(
            "{:<28} {:>5} {:>18} {:>10.3e}..{:<10.3e} {:>10.3e},{:>5} {:>10.3e},{:>5} {:>8.1} {:>15} {:>15} {:>9} {:>8}",
            l.name,
            l.op,
            format!("{:?}", l.weight_shape),
            l.weight_scale_range.0,
            l.weight_scale_range.1,
            l.input.0,
            l.input.1,
            l.output.0,
            l.output.1,
            l.weight_sqnr_db,
            pair(l.clipping_sqnr_db),
            pair(l.codebook_sqnr_db),
            l.fp32_bytes,
            l.int8_bytes
        );
    }
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Input(format!("cannot serialise: {e}")))?;
    std::fs::write(path, text).map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    })
}
