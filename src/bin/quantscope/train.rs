//! `quantscope train`: trains the Fashion-MNIST CNN, prints progress and the float test
//! accuracy, and writes the ONNX model (batch norms folded) with its metadata JSON beside it.

use quantscope::data::{fashion_mnist, Split};
use quantscope::train::export::{fashion_mnist_metadata, onnx_bytes};
use quantscope::train::{
    accuracy, CnnWidths, OptimizerKind, Progress, Schedule, Sequential, TrainConfig, Trainer,
};
use quantscope::{Error, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `train`.
#[derive(clap::Args)]
pub struct Args {
    /// The dataset (only `fashion-mnist` for now).
    #[arg(long, default_value = "fashion-mnist")]
    dataset: String,
    /// The folder with the four IDX files (`make fashion-mnist` fills the default).
    #[arg(long, default_value = ".cache/fashion-mnist")]
    data: PathBuf,
    /// Passes over the training set.
    #[arg(long, default_value_t = 6)]
    epochs: usize,
    /// Images per step.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// `adam` or `sgd` (momentum 0.9).
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Base learning rate (default: 2e-3 for Adam, 0.05 for SGD), cosine-decayed to 0.
    #[arg(long)]
    lr: Option<f32>,
    /// L2 weight decay on the weights.
    #[arg(long, default_value_t = 5e-4)]
    weight_decay: f32,
    /// Keep the learning rate constant instead of the cosine decay.
    #[arg(long)]
    constant_lr: bool,
    /// Do not mirror training images at random.
    #[arg(long)]
    no_flip: bool,
    /// Seed of the initial weights, the shuffles and the flips.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Train on the first K training images only (a quick run).
    #[arg(long)]
    train_limit: Option<usize>,
    /// Also print the test accuracy after every epoch.
    #[arg(long)]
    test_each_epoch: bool,
    /// Where to write the ONNX model; the metadata goes beside it with `.json`.
    #[arg(long)]
    out: PathBuf,
}

/// Seconds as `1m05s` or `42s`.
fn duration_text(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn write(path: &PathBuf, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("{}: {e}", dir.display()),
            ))
        })?;
    }
    std::fs::write(path, bytes).map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    })
}

/// Trains, reports and writes the model.
pub fn run(args: Args) -> Result<ExitCode> {
    if args.dataset != "fashion-mnist" {
        return Err(Error::Input(format!(
            "--dataset {}: only fashion-mnist can be trained on",
            args.dataset
        )));
    }
    let (optimizer, default_lr) = match args.optimizer.as_str() {
        "adam" => (OptimizerKind::ADAM, 2e-3),
        "sgd" => (OptimizerKind::SGD, 0.05),
        other => {
            return Err(Error::Input(format!(
                "--optimizer {other}: expected adam or sgd"
            )))
        }
    };
    let mut train_set = fashion_mnist(&args.data, Split::Train)?;
    if let Some(k) = args.train_limit {
        train_set = train_set.take(k);
    }
    let test_set = fashion_mnist(&args.data, Split::Test)?;
    let config = TrainConfig {
        epochs: args.epochs,
        batch: args.batch,
        optimizer,
        lr: args.lr.unwrap_or(default_lr),
        weight_decay: args.weight_decay,
        schedule: if args.constant_lr {
            Schedule::Constant
        } else {
            Schedule::Cosine
        },
        flip: !args.no_flip,
        seed: args.seed,
    };
    let net = Sequential::fashion_mnist_cnn(CnnWidths::DEFAULT, args.seed);
    outln!(
        "training the Fashion-MNIST CNN ({} parameters) on {} images, {} epochs of batch {}, \
         {} at lr {} ({}), seed {}",
        net.parameter_count(),
        train_set.len(),
        config.epochs,
        config.batch,
        args.optimizer,
        config.lr,
        if args.constant_lr {
            "constant"
        } else {
            "cosine"
        },
        config.seed
    );
    let started = Instant::now();
    let mut epoch_started = Instant::now();
    let mut last_print = Instant::now();
    // Stepped here rather than through `train`'s callback: the test accuracy between epochs
    // needs the network.
    let mut trainer = Trainer::new(net, config, train_set.len())?;
    let report = |p: &Progress, now: Instant, epoch_started: Instant| {
        let elapsed = now.duration_since(started).as_secs_f64();
        let done = p.steps_done() as f64 / p.total_steps() as f64;
        let eta = Duration::from_secs_f64(elapsed / done * (1.0 - done));
        let rate = p.images as f64 / now.duration_since(epoch_started).as_secs_f64().max(1e-9);
        outln!(
            "epoch {}/{} step {}/{} loss {:.4} acc {:.2}% lr {:.2e} {:.0} images/s ETA {}",
            p.epoch,
            p.epochs,
            p.step,
            p.steps_per_epoch,
            p.loss,
            100.0 * p.accuracy,
            p.lr,
            rate,
            duration_text(eta)
        );
    };
    while let Some(p) = trainer.step(&train_set)? {
        let now = Instant::now();
        let epoch_end = p.step == p.steps_per_epoch;
        if epoch_end || now.duration_since(last_print) >= Duration::from_secs(5) {
            report(&p, now, epoch_started);
            last_print = now;
        }
        if epoch_end {
            let secs = now.duration_since(epoch_started).as_secs_f64();
            let mut line = format!(
                "epoch {} done in {secs:.1} s ({:.0} images/s)",
                p.epoch,
                p.images as f64 / secs
            );
            if args.test_each_epoch {
                let acc = accuracy(&mut trainer.net, &test_set, 500)?;
                line.push_str(&format!(", test accuracy {:.2}%", 100.0 * acc));
            }
            outln!("{line}");
            epoch_started = Instant::now();
        }
    }
    let train_time = started.elapsed();
    let mut net = trainer.net;
    let test_acc = accuracy(&mut net, &test_set, 500)?;
    outln!(
        "trained in {}; float test accuracy {:.2}% on {} images",
        duration_text(train_time),
        100.0 * test_acc,
        test_set.len()
    );
    let source = format!(
        "trained by `quantscope train --epochs {} --batch {} --optimizer {} --lr {} --seed {}` \
         on Fashion-MNIST ({} training images); float test accuracy {:.2}%",
        config.epochs,
        config.batch,
        args.optimizer,
        config.lr,
        config.seed,
        train_set.len(),
        100.0 * test_acc
    );
    let meta = fashion_mnist_metadata(&source);
    let bytes = onnx_bytes(&net, &meta.name)?;
    write(&args.out, &bytes)?;
    let json_path = args.out.with_extension("json");
    let json = serde_json::to_string_pretty(&meta).map_err(|e| Error::Metadata(e.to_string()))?;
    write(&json_path, format!("{json}\n").as_bytes())?;
    outln!(
        "wrote {} ({} bytes) and {}",
        args.out.display(),
        bytes.len(),
        json_path.display()
    );
    Ok(ExitCode::SUCCESS)
}
