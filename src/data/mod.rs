//! Labelled image datasets for measuring accuracy and for training: IDX files
//! ([`idx`]) and Fashion-MNIST read from them ([`fashion_mnist`]).

pub mod fit;
pub mod idx;

use crate::{Error, Result};
use idx::{read_images, read_labels, Images};
use std::path::Path;

/// Fashion-MNIST's ten classes, by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Images with one label each, and the names of the classes.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The images, in file order.
    pub images: Images,
    /// One label per image, each below `class_names.len()`.
    pub labels: Vec<u8>,
    /// Class names, by label.
    pub class_names: Vec<String>,
}

impl Dataset {
    /// Pairs `images` with `labels`: the counts must match and every label must name a class.
    pub fn new(images: Images, labels: Vec<u8>, class_names: Vec<String>) -> Result<Dataset> {
        if images.count != labels.len() {
            return Err(Error::Data(format!(
                "{} images but {} labels",
                images.count,
                labels.len()
            )));
        }
        if let Some((i, &l)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| usize::from(l) >= class_names.len())
        {
            return Err(Error::Data(format!(
                "label {l} of image {i} is not one of the {} classes",
                class_names.len()
            )));
        }
        Ok(Dataset {
            images,
            labels,
            class_names,
        })
    }

    /// A dataset from the bytes of an IDX image file and an IDX label file (each gzipped or
    /// not), e.g. fetched by the page; errors say which of the two is wrong.
    pub fn from_idx(images: &[u8], labels: &[u8], class_names: Vec<String>) -> Result<Dataset> {
        let named = |what: &str, e: Error| match e {
            Error::Data(m) => Error::Data(format!("the {what} file: {m}")),
            e => e,
        };
        let images = read_images(images).map_err(|e| named("image", e))?;
        let labels = read_labels(labels).map_err(|e| named("label", e))?;
        Dataset::new(images, labels, class_names)
    }

    /// The first `n` images (all of them when there are fewer), e.g. a quick test subset.
    pub fn take(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        let per_image = self.images.rows * self.images.cols;
        Dataset {
            images: Images {
                count: n,
                rows: self.images.rows,
                cols: self.images.cols,
                pixels: self.images.pixels[..n * per_image].to_vec(),
            },
            labels: self.labels[..n].to_vec(),
            class_names: self.class_names.clone(),
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Which half of Fashion-MNIST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// 60,000 training images (`train-*`).
    Train,
    /// 10,000 test images (`t10k-*`).
    Test,
}

/// Reads one split of Fashion-MNIST from `dir`, which holds the four files as Debian's
/// `dataset-fashion-mnist` ships them (`train-images-idx3-ubyte.gz`, ...; unzipped ones too).
pub fn fashion_mnist(dir: &Path, split: Split) -> Result<Dataset> {
    let stem = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    // The gzipped file when there is one, else the unzipped one; errors name the file.
    let path = |kind: &str| {
        let name = format!("{stem}-{kind}-ubyte");
        let gz = dir.join(format!("{name}.gz"));
        if gz.exists() {
            gz
        } else {
            dir.join(name)
        }
    };
    let in_file = |path: &Path, e: Error| match e {
        Error::Data(m) => Error::Data(format!("{}: {m}", path.display())),
        e => e,
    };
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| Error::Data(format!("{}: {e}", path.display())))
    };
    let (images_path, labels_path) = (path("images-idx3"), path("labels-idx1"));
    let images = read_images(&read(&images_path)?).map_err(|e| in_file(&images_path, e))?;
    let labels = read_labels(&read(&labels_path)?).map_err(|e| in_file(&labels_path, e))?;
    let names = FASHION_MNIST_CLASSES
        .iter()
        .map(|s| s.to_string())
        .collect();
    Dataset::new(images, labels, names)
}
