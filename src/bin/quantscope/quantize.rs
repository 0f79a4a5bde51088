//! `quantscope quantize`, and the quantization arguments shared with `classify` and `logits`.

use quantscope::classifier::{Classifier, QuantizeOptions, Variant};
use quantscope::ir::Tensor;
use quantscope::quant::calibrate::Ranges;
use quantscope::quant::observer::ObserverKind;
use quantscope::quant::report::layer_reports;
use quantscope::quant::{Granularity, LayerSchemes, Scheme};
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
        let tensor = |s: Scheme| Scheme {
            granularity: if self.per_tensor {
                Granularity::Tensor
            } else {
                s.granularity
            },
            ..s
        };
        let variant = match variant {
            Variant::Static(s) => Variant::Static(tensor(s)),
            Variant::Dynamic(s) => Variant::Dynamic(tensor(s)),
            v => v,
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
        if self.calib.is_empty() {
            return Err(Error::Input(format!(
                "the static variant {variant} needs calibration images: pass --calib \
                 IMAGE_OR_FOLDER"
            )));
        }
        let inputs = self.calibration_inputs(float)?;
        eprintln!(
            "calibrating {variant} ({} observer) on {} image(s)",
            options.observer,
            inputs.len()
        );
        float.quantize(&options, &inputs, &mut |done, total| {
            eprintln!("  calibration {done}/{total}");
        })
    }
}

/// Arguments of `quantize`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: super::ModelArgs,
    #[command(flatten)]
    quant: QuantArgs,
    /// The static variant to build: w8a8 (= int8, default), w4a8, w4a8-kmeans, w2a8-pow2, ...
    #[arg(long, default_value = "w8a8")]
    variant: String,
    /// Print per-layer scales, zero points, weight SQNR and sizes.
    #[arg(long)]
    report: bool,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Save the calibrated activation ranges (JSON) for `--ranges`.
    #[arg(long, value_name = "FILE")]
    ranges_out: Option<PathBuf>,
}

/// Quantizes the model to static int8 and reports on it.
pub fn run(args: Args) -> Result<ExitCode> {
    let float = args.model.classifier()?;
    let variant = Variant::parse(&args.variant)?;
    if !variant.is_static() {
        return Err(Error::Input(format!(
            "quantize builds a static variant (w<b>a<b>...), not {variant}"
        )));
    }
    let int8 = args.quant.build(&float, variant)?;
    if let (Some(path), Some(ranges)) = (&args.ranges_out, int8.ranges()) {
        write_json(path, ranges)?;
        eprintln!(
            "ranges of {} values -> {}",
            ranges.ranges.len(),
            path.display()
        );
    }
    let Some(exec) = int8.int8_executor() else {
        return Ok(ExitCode::FAILURE);
    };
    let layers = layer_reports(exec.quantized());
    let (fp32, int8_bytes) = (float.weight_bytes(), int8.weight_bytes());
    if args.json {
        let report = serde_json::json!({
            "per_channel": int8.per_channel(),
            "observer": int8.ranges().map(|r| r.observer.clone()),
            "fp32_bytes": fp32,
            "int8_bytes": int8_bytes,
            "layers": if args.report { serde_json::to_value(&layers).ok() } else { None },
        });
        println!("{report}");
        return Ok(ExitCode::SUCCESS);
    }
    if args.report {
        println!(
            "{:<28} {:>5} {:>18} {:>21} {:>17} {:>17} {:>9} {:>9} {:>8}",
            "layer",
            "op",
            "weight",
            "w scale min..max",
            "in (S, Z)",
            "out (S, Z)",
            "SQNR dB",
            "fp32 B",
            "int8 B"
        );
        for l in &layers {
            println!(
                "{:<28} {:>5} {:>18} {:>10.3e}..{:<10.3e} {:>10.3e},{:>5} {:>10.3e},{:>5} {:>9.1} {:>9} {:>8}",
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
                l.fp32_bytes,
                l.int8_bytes
            );
        }
    }
    println!(
        "int8 ({}): {} layers, weights {} B (fp32 {} B, {:.2}x smaller)",
        if int8.per_channel() {
            "per channel"
        } else {
            "per tensor"
        },
        layers.len(),
        int8_bytes,
        fp32,
        fp32 as f64 / int8_bytes.max(1) as f64
    );
    Ok(ExitCode::SUCCESS)
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
