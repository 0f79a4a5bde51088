//! The training engine (`quantscope::train`): every layer's backward against central finite
//! differences, a whole small network's, the loss falling, determinism, batch-norm folding,
//! and the exported ONNX file against onnxruntime and the classifier.

use quantscope::train::layers::{BatchNorm2d, Conv2d, Dense, Flatten, Layer, MaxPool2d, Relu};
use quantscope::train::{softmax_cross_entropy, Sequential, Shape, SplitMix64, Tensor4};

/// A tensor of `shape` with standard normal values.
fn random_tensor(shape: Shape, rng: &mut SplitMix64) -> Tensor4 {
    let data = (0..shape.len()).map(|_| rng.normal() as f32).collect();
    Tensor4::new(shape, data)
}

/// `sum r * layer(x)` in f64: a scalar whose gradient with respect to the output is `r`.
fn objective(layer: &Layer, x: &Tensor4, r: &[f32]) -> f64 {
    let y = layer.clone().forward(x.clone(), true).unwrap();
    y.data
        .iter()
        .zip(r)
        .map(|(&y, &r)| f64::from(y) * f64::from(r))
        .sum()
}

/// Asserts `analytic` is within `tol` (relative to the larger magnitude, at least 1) of
/// `numeric`.
fn assert_close(what: &str, analytic: f32, numeric: f64, tol: f64) {
    let scale = f64::from(analytic.abs()).max(numeric.abs()).max(1.0);
    assert!(
        (f64::from(analytic) - numeric).abs() <= tol * scale,
        "{what}: backward gives {analytic}, finite differences {numeric}"
    );
}

/// Checks the input gradient and every parameter gradient of `layer` at `x` against central
/// differences with step `h`.
fn check_layer(layer: Layer, x: Tensor4, h: f32, tol: f64) {
    let mut rng = SplitMix64::new(7);
    let mut trained = layer.clone();
    let y = trained.forward(x.clone(), true).unwrap();
    assert_eq!(y.shape, layer.output_shape(x.shape).unwrap(), "shape rule");
    let r: Vec<f32> = (0..y.data.len()).map(|_| rng.normal() as f32).collect();
    let dx = trained
        .backward(Tensor4::new(y.shape, r.clone()), true)
        .expect("input gradient");
    assert_eq!(dx.shape, x.shape);
    for i in 0..x.data.len() {
        let (mut plus, mut minus) = (x.clone(), x.clone());
        plus.data[i] += h;
        minus.data[i] -= h;
        let numeric =
            (objective(&layer, &plus, &r) - objective(&layer, &minus, &r)) / (2.0 * f64::from(h));
        assert_close(
            &format!("{} dx[{i}]", layer.kind()),
            dx.data[i],
            numeric,
            tol,
        );
    }
    let grads: Vec<Vec<f32>> = trained.params().iter().map(|p| p.grad.clone()).collect();
    for (p, grad) in grads.iter().enumerate() {
        for (i, &analytic) in grad.iter().enumerate() {
            let perturbed = |delta: f32| {
                let mut l = layer.clone();
                l.params_mut()[p].value[i] += delta;
                objective(&l, &x, &r)
            };
            let numeric = (perturbed(h) - perturbed(-h)) / (2.0 * f64::from(h));
            let name = &layer.params()[p].name;
            assert_close(&format!("{name}[{i}]"), analytic, numeric, tol);
        }
    }
}

#[test]
fn conv_gradients_with_stride_and_padding() {
    let mut rng = SplitMix64::new(1);
    for (stride, pad, side) in [(1, 1, 5), (2, 1, 6), (1, 0, 4), (2, 0, 5)] {
        let mut conv = Conv2d::new("conv", (2, 3), (3, stride, pad), &mut rng);
        conv.bias.value = vec![0.1, -0.2, 0.3];
        let x = random_tensor(Shape::new(2, 2, side, side), &mut rng);
        check_layer(Layer::Conv2d(conv), x, 1e-2, 2e-3);
    }
}

#[test]
fn batchnorm_gradients_in_training_mode() {
    let mut rng = SplitMix64::new(2);
    let mut bn = BatchNorm2d::new("bn", 3);
    bn.gamma.value = vec![0.5, 1.5, -1.0];
    bn.beta.value = vec![0.1, 0.0, -0.3];
    let x = random_tensor(Shape::new(3, 3, 2, 3), &mut rng);
    check_layer(Layer::BatchNorm2d(bn), x, 1e-2, 5e-3);
}

#[test]
fn relu_gradients_away_from_the_kink() {
    let mut rng = SplitMix64::new(3);
    let mut x = random_tensor(Shape::new(2, 2, 3, 3), &mut rng);
    for v in &mut x.data {
        *v += 0.2 * v.signum(); // at least 0.2 from 0, ten steps away
    }
    check_layer(Layer::Relu(Relu::new()), x, 1e-2, 1e-3);
}

#[test]
fn maxpool_gradients_route_to_the_maximum() {
    let mut rng = SplitMix64::new(4);
    let shape = Shape::new(2, 2, 5, 4); // odd height: the last row is dropped
    let mut order: Vec<usize> = (0..shape.len()).collect();
    rng.shuffle(&mut order);
    // Distinct values 0.1 apart: a 0.01 step never changes a window's maximum.
    let x = Tensor4::new(shape, order.iter().map(|&i| i as f32 * 0.1).collect());
    check_layer(Layer::MaxPool2d(MaxPool2d::new()), x, 1e-2, 1e-3);
}

#[test]
fn flatten_and_dense_gradients() {
    let mut rng = SplitMix64::new(5);
    let x = random_tensor(Shape::new(2, 3, 2, 2), &mut rng);
    check_layer(Layer::Flatten(Flatten::new()), x, 1e-2, 1e-3);
    let mut dense = Dense::new("fc", 6, 4, &mut rng);
    dense.bias.value = vec![0.3, -0.1, 0.0, 0.2];
    let x = random_tensor(Shape::new(6, 3, 1, 1), &mut rng);
    check_layer(Layer::Dense(dense), x, 1e-2, 1e-3);
}

#[test]
fn softmax_cross_entropy_gradient_and_value() {
    let mut rng = SplitMix64::new(6);
    let logits = random_tensor(Shape::new(5, 4, 1, 1), &mut rng);
    let labels = [0u8, 3, 4, 3];
    let out = softmax_cross_entropy(&logits, &labels).unwrap();
    // The value, directly from its definition.
    let mut expected = 0.0f64;
    for (n, &label) in labels.iter().enumerate() {
        let z: Vec<f64> = (0..5).map(|k| f64::from(logits.data[k * 4 + n])).collect();
        let sum: f64 = z.iter().map(|v| v.exp()).sum();
        expected += sum.ln() - z[usize::from(label)];
    }
    assert!((f64::from(out.loss) - expected / 4.0).abs() < 1e-5);
    let h = 1e-2f32;
    for i in 0..logits.data.len() {
        let loss = |delta: f32| {
            let mut z = logits.clone();
            z.data[i] += delta;
            f64::from(softmax_cross_entropy(&z, &labels).unwrap().loss)
        };
        let numeric = (loss(h) - loss(-h)) / (2.0 * f64::from(h));
        assert_close(&format!("dlogits[{i}]"), out.grad.data[i], numeric, 1e-3);
    }
    assert!(softmax_cross_entropy(&logits, &[0, 1, 2, 5]).is_err());
    assert!(softmax_cross_entropy(&logits, &[0, 1, 2]).is_err());
}

/// A small network with every layer kind: conv (stride 2) - BN - ReLU - maxpool - conv - BN -
/// ReLU - flatten - dense - ReLU - dense.
fn tiny_net(seed: u64) -> Sequential {
    let mut rng = SplitMix64::new(seed);
    Sequential {
        input: Shape::new(1, 1, 8, 8),
        layers: vec![
            Layer::Conv2d(Conv2d::new("c1", (1, 4), (3, 2, 1), &mut rng)),
            Layer::BatchNorm2d(BatchNorm2d::new("bn1", 4)),
            Layer::Relu(Relu::new()),
            Layer::MaxPool2d(MaxPool2d::new()),
            Layer::Conv2d(Conv2d::new("c2", (4, 5), (3, 1, 1), &mut rng)),
            Layer::BatchNorm2d(BatchNorm2d::new("bn2", 5)),
            Layer::Relu(Relu::new()),
            Layer::Flatten(Flatten::new()),
            Layer::Dense(Dense::new("fc1", 20, 8, &mut rng)),
            Layer::Relu(Relu::new()),
            Layer::Dense(Dense::new("fc2", 8, 3, &mut rng)),
        ],
    }
}

#[test]
fn whole_network_gradient_along_random_directions() {
    let net = tiny_net(11);
    let mut rng = SplitMix64::new(12);
    let x = random_tensor(Shape::new(1, 6, 8, 8), &mut rng);
    let labels = [0u8, 1, 2, 2, 1, 0];
    let loss_of = |net: &Sequential| {
        let logits = net.clone().forward(x.clone(), true).unwrap();
        f64::from(softmax_cross_entropy(&logits, &labels).unwrap().loss)
    };
    let mut trained = net.clone();
    let logits = trained.forward(x.clone(), true).unwrap();
    assert_eq!(logits.shape, net.output_shape(x.shape).unwrap());
    trained.backward(softmax_cross_entropy(&logits, &labels).unwrap().grad);
    // Per parameter tensor, the derivative along a random unit direction: robust to the
    // rare ReLU or max-pool kink a single coordinate's step might cross.
    let h = 1e-3f32;
    for (p, param) in trained.params().iter().enumerate() {
        let d: Vec<f32> = (0..param.len()).map(|_| rng.normal() as f32).collect();
        let norm = d.iter().map(|v| v * v).sum::<f32>().sqrt();
        let d: Vec<f32> = d.iter().map(|v| v / norm).collect();
        let analytic: f32 = param.grad.iter().zip(&d).map(|(g, d)| g * d).sum();
        let step = |sign: f32| {
            let mut moved = net.clone();
            for (w, d) in moved.params_mut()[p].value.iter_mut().zip(&d) {
                *w += sign * h * d;
            }
            loss_of(&moved)
        };
        let numeric = (step(1.0) - step(-1.0)) / (2.0 * f64::from(h));
        let scale = f64::from(analytic.abs()).max(numeric.abs()).max(1e-2);
        assert!(
            (f64::from(analytic) - numeric).abs() <= 2e-2 * scale,
            "{}: backward {analytic}, finite differences {numeric}",
            param.name
        );
    }
}

#[test]
fn folding_batchnorm_keeps_evaluation_outputs() {
    let mut net = tiny_net(21);
    let mut rng = SplitMix64::new(22);
    // A few training passes move the running statistics and the batch norms' scales away
    // from the identity.
    for _ in 0..3 {
        let x = random_tensor(Shape::new(1, 8, 8, 8), &mut rng);
        net.forward(x, true).unwrap();
    }
    for l in &mut net.layers {
        if let Layer::BatchNorm2d(bn) = l {
            for (g, b) in bn.gamma.value.iter_mut().zip(&mut bn.beta.value) {
                *g = 0.5 + rng.next_f64() as f32;
                *b = rng.normal() as f32 * 0.3;
            }
        }
    }
    let mut folded = net.fold_batchnorm().unwrap();
    assert!(folded
        .layers
        .iter()
        .all(|l| !matches!(l, Layer::BatchNorm2d(_))));
    let x = random_tensor(Shape::new(1, 5, 8, 8), &mut rng);
    let a = net.forward(x.clone(), false).unwrap();
    let b = folded.forward(x, false).unwrap();
    for (u, v) in a.data.iter().zip(&b.data) {
        assert!((u - v).abs() <= 1e-4 * u.abs().max(1.0), "{u} vs {v}");
    }
    // A batch norm that follows no convolution does not fold.
    let mut bad = tiny_net(1);
    bad.layers.swap(0, 1);
    assert!(bad.fold_batchnorm().is_err());
}
