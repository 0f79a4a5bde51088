//! The IDX reader: labels and images, gzip or not; truncated, mislabelled and mismatched files
//! are errors that say what is wrong. With `QUANTSCOPE_FMNIST` (the unpacked Debian
//! `dataset-fashion-mnist`, `make fashion-mnist`), the real test set is read too.

use quantscope::data::idx::{read_images, read_labels};
use quantscope::data::{fashion_mnist, Dataset, Split};
use quantscope::Error;
use std::io::Write;

fn idx(rank: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, rank];
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend(data);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn data_err(r: Result<impl std::fmt::Debug, Error>) -> String {
    match r {
        Err(Error::Data(m)) => m,
        other => panic!("expected a dataset error, got {other:?}"),
    }
}

#[test]
fn images_and_labels_read_plain_and_gzipped() {
    let pixels: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
    let file = idx(3, &[2, 3, 4], &pixels);
    for bytes in [file.clone(), gzip(&file)] {
        let images = read_images(&bytes).unwrap();
        assert_eq!((images.count, images.rows, images.cols), (2, 3, 4));
        assert_eq!(images.image(1), &pixels[12..]);
    }
    let labels = idx(1, &[3], &[0, 9, 4]);
    assert_eq!(read_labels(&gzip(&labels)).unwrap(), [0, 9, 4]);
}

#[test]
fn bad_files_are_named() {
    let images = idx(3, &[2, 3, 4], &[7; 24]);
    let cases = [
        (read_images(&images[..10]).map(|_| ()), "truncated header"),
        (
            read_images(&images[..images.len() - 5]).map(|_| ()),
            "19 bytes of data, dimensions [2, 3, 4] need 24 (truncated file)",
        ),
        (
            read_images(&idx(1, &[3], &[0, 1, 2])).map(|_| ()),
            "not an IDX file of unsigned bytes with 3 dimension(s)",
        ),
        (read_labels(&images).map(|_| ()), "magic [00, 00, 08, 03]"),
        (
            read_images(&gzip(&images)[..20]).map(|_| ()),
            "not a readable gzip file",
        ),
        (
            read_images(&idx(3, &[u32::MAX, u32::MAX, 2], &[])).map(|_| ()),
            "too large",
        ),
    ];
    for (result, expected) in cases {
        let e = data_err(result);
        assert!(e.contains(expected), "{e:?} does not contain {expected:?}");
    }
}

#[test]
fn a_dataset_checks_counts_and_labels() {
    let images = read_images(&idx(3, &[2, 1, 1], &[0, 255])).unwrap();
    let names = vec!["a".to_string(), "b".to_string()];
    let e = data_err(Dataset::new(images.clone(), vec![0], names.clone()));
    assert!(e.contains("2 images but 1 labels"), "{e}");
    let e = data_err(Dataset::new(images.clone(), vec![0, 2], names.clone()));
    assert!(e.contains("label 2 of image 1"), "{e}");
    assert_eq!(Dataset::new(images, vec![1, 0], names).unwrap().len(), 2);
    let missing = fashion_mnist(std::path::Path::new("/nonexistent"), Split::Test);
    assert!(data_err(missing).contains("/nonexistent/t10k-images-idx3-ubyte"));
}

/// A fresh directory in the system temp dir for one test's files.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("quantscope-idx-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn fashion_mnist_reads_gzipped_and_unzipped_files_and_names_the_bad_one() {
    let dir = temp_dir("loader");
    let images = idx(3, &[3, 2, 2], &[1; 12]);
    // Images gzipped, labels unzipped: both are found.
    std::fs::write(dir.join("t10k-images-idx3-ubyte.gz"), gzip(&images)).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), idx(1, &[3], &[0, 9, 5])).unwrap();
    let test = fashion_mnist(&dir, Split::Test).unwrap();
    assert_eq!((test.len(), test.images.rows, test.images.cols), (3, 2, 2));
    assert_eq!(test.labels, [0, 9, 5]);
    assert_eq!(test.class_names[0], "T-shirt/top");

    // A label out of Fashion-MNIST's ten classes.
    std::fs::write(
        dir.join("t10k-labels-idx1-ubyte"),
        idx(1, &[3], &[0, 10, 5]),
    )
    .unwrap();
    let e = data_err(fashion_mnist(&dir, Split::Test));
    assert!(
        e.contains("label 10 of image 1 is not one of the 10 classes"),
        "{e}"
    );

    // Fewer labels than images.
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), idx(1, &[2], &[0, 1])).unwrap();
    let e = data_err(fashion_mnist(&dir, Split::Test));
    assert!(e.contains("3 images but 2 labels"), "{e}");

    // A truncated file: the error names it.
    std::fs::write(
        dir.join("t10k-labels-idx1-ubyte"),
        &idx(1, &[3], &[0, 1, 2])[..6],
    )
    .unwrap();
    let e = data_err(fashion_mnist(&dir, Split::Test));
    assert!(
        e.contains("t10k-labels-idx1-ubyte: labels: truncated header (6 bytes"),
        "{e}"
    );

    // An empty file, and one that is neither gzip nor IDX (a PNG signature).
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), b"").unwrap();
    let e = data_err(fashion_mnist(&dir, Split::Test));
    assert!(e.contains("truncated header (0 bytes"), "{e}");
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), b"\x89PNG\r\n\x1a\n").unwrap();
    let e = data_err(fashion_mnist(&dir, Split::Test));
    assert!(e.contains("labels: not an IDX file"), "{e}");
    assert!(e.contains("magic [89, 50, 4e, 47]"), "{e}");

    // The training split's files are missing.
    let e = data_err(fashion_mnist(&dir, Split::Train));
    assert!(e.contains("train-images-idx3-ubyte"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_fashion_mnist_test_set_reads_when_present() {
    let Some(dir) = std::env::var_os("QUANTSCOPE_FMNIST") else {
        println!(
            "QUANTSCOPE_FMNIST is not set: the real files are not read (`make fashion-mnist`)"
        );
        return;
    };
    let test = fashion_mnist(std::path::Path::new(&dir), Split::Test).unwrap();
    assert_eq!(
        (test.len(), test.images.rows, test.images.cols),
        (10_000, 28, 28)
    );
    let mut per_class = [0usize; 10];
    for &l in &test.labels {
        per_class[usize::from(l)] += 1;
    }
    assert_eq!(per_class, [1000; 10]);
    assert_eq!(test.class_names[9], "Ankle boot");
    // The first test image is an ankle boot; the pixel sum pins the bytes (computed with Python's
    // gzip module from the same file).
    assert_eq!(test.labels[..5], [9, 2, 1, 1, 6]);
    let sum: u32 = test.images.image(0).iter().map(|&p| u32::from(p)).sum();
    assert_eq!(sum, 33_456);
    let train = fashion_mnist(std::path::Path::new(&dir), Split::Train).unwrap();
    assert_eq!(train.len(), 60_000);
    let mut per_class = [0usize; 10];
    for &l in &train.labels {
        per_class[usize::from(l)] += 1;
    }
    assert_eq!(per_class, [6000; 10]);
}
