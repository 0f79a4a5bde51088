//! `ir::affine::fold_affine`: per-channel `Mul` / `Add` by constants folded into the Conv or
//! Gemm before them, or rewritten as depthwise 1x1 convolutions; the graph computes the same
//! (f32 within rounding), and int8 then runs every node in integers.
#![cfg(not(target_arch = "wasm32"))]

use ndarray::{Array2, Array4, ArrayD, IxDyn};
use quantscope::exec::calibrate::calibrate;
use quantscope::exec::FloatExecutor;
use quantscope::ir::affine::fold_affine;
use quantscope::ir::ops::{Conv, Gemm};
use quantscope::ir::{passes, Activation, Graph, Op, Tensor, ValueId};
use quantscope::quant::lower::quantize_static;
use quantscope::quant::observer::ObserverKind;
use quantscope::quant::Scheme;

fn tensor(shape: &[usize], f: impl Fn(usize) -> f32) -> Tensor {
    let n = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(f).collect()).unwrap()
}

fn conv(out: usize, inp: usize) -> Op {
    Op::Conv(Conv {
        weight: Array4::from_shape_fn((out, inp, 3, 3), |(o, i, y, x)| {
            ((o * 7 + i * 3 + y * 5 + x) % 11) as f32 / 11.0 - 0.45
        }),
        bias: (0..out).map(|o| o as f32 * 0.1 - 0.2).collect(),
        strides: [1, 1],
        dilations: [1, 1],
        pads: [1; 4],
        group: 1,
        activation: Activation::NONE,
    })
}

fn constant(g: &mut Graph, name: &str, t: Tensor) -> ValueId {
    let v = g.add_value(name, t.shape().to_vec());
    g.constants.push((v, t));
    v
}

fn node(g: &mut Graph, name: &str, op: Op, inputs: Vec<ValueId>) -> ValueId {
    g.add_node(name, op, inputs, &[format!("{name}_out")])
        .unwrap()[0]
}

/// Runs `g` before and after the passes on one input; returns the rewritten graph.
fn same_after_passes(g: Graph) -> Graph {
    let x = tensor(g.shape(g.inputs[0]), |i| {
        ((i * 37) % 101) as f32 / 50.0 - 1.0
    });
    let before = FloatExecutor::new(g.clone())
        .unwrap()
        .run(std::slice::from_ref(&x))
        .unwrap();
    let mut after_g = g;
    fold_affine(&mut after_g);
    passes::fuse_activations(&mut after_g);
    let after = FloatExecutor::new(after_g.clone())
        .unwrap()
        .run(&[x])
        .unwrap();
    let worst = before[0]
        .iter()
        .zip(after[0].iter())
        .map(|(a, b)| (a - b).abs() / a.abs().max(1.0))
        .fold(0f32, f32::max);
    assert!(worst <= 1e-5, "outputs differ by {worst}");
    after_g
}

fn kinds(g: &Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|n| n.op.kind()).collect()
}

#[test]
fn batchnorm_leftovers_fold_into_the_conv_before_them() {
    // Conv -> Mul [1, C, 1, 1] -> Add [C, 1, 1] -> Relu: one Conv with a fused ReLU.
    let mut g = Graph::default();
    let x = g.add_value("x", vec![1, 3, 6, 6]);
    g.inputs = vec![x];
    let c = node(&mut g, "conv", conv(4, 3), vec![x]);
    let s = constant(&mut g, "s", tensor(&[1, 4, 1, 1], |i| 0.5 + i as f32));
    let m = node(&mut g, "scale", Op::Mul, vec![c, s]);
    let t = constant(&mut g, "t", tensor(&[4, 1, 1], |i| i as f32 - 1.5));
    let a = node(&mut g, "offset", Op::Add, vec![t, m]);
    g.outputs = vec![node(&mut g, "relu", Op::Relu, vec![a])];
    let after = same_after_passes(g);
    assert_eq!(kinds(&after), ["Conv"]);
    assert!(after.constants.is_empty());
    assert_eq!(after.values[after.outputs[0]].name, "relu_out");
}

#[test]
fn a_scale_without_a_conv_before_it_becomes_a_depthwise_conv() {
    // Input normalisation (x * s + t) before the first conv, and a scale on a value read
    // twice: depthwise 1x1 convolutions (the offset folds into the first).
    let mut g = Graph::default();
    let x = g.add_value("x", vec![1, 3, 5, 5]);
    g.inputs = vec![x];
    let s = constant(
        &mut g,
        "s",
        tensor(&[1, 3, 1, 1], |i| 1.0 / (1.0 + i as f32)),
    );
    let m = node(&mut g, "norm_scale", Op::Mul, vec![x, s]);
    let t = constant(&mut g, "t", tensor(&[], |_| -0.25));
    let n = node(&mut g, "norm_offset", Op::Add, vec![m, t]);
    let c = node(&mut g, "conv", conv(4, 3), vec![n]);
    let k = constant(&mut g, "k", tensor(&[1, 4, 1, 1], |i| 2.0 - i as f32));
    let twice = node(&mut g, "rescale", Op::Mul, vec![c, k]);
    g.outputs = vec![node(&mut g, "sum", Op::Add, vec![twice, c])];
    let after = same_after_passes(g);
    assert_eq!(kinds(&after), ["Conv", "Conv", "Conv", "Add"]);
    let Op::Conv(dw) = &after.nodes[0].op else {
        unreachable!()
    };
    assert_eq!((dw.group, dw.bias.clone()), (3, vec![-0.25; 3]));
}

#[test]
fn a_matmul_bias_folds_into_the_gemm() {
    let mut g = Graph::default();
    let x = g.add_value("x", vec![1, 8]);
    g.inputs = vec![x];
    let gemm = Op::Gemm(Gemm {
        trans_a: false,
        weight: Array2::from_shape_fn((5, 8), |(r, c)| (r * 8 + c) as f32 / 40.0 - 0.5),
        bias: None,
        activation: Activation::NONE,
    });
    let y = node(&mut g, "matmul", gemm, vec![x]);
    let b = constant(&mut g, "b", tensor(&[5], |i| i as f32));
    g.outputs = vec![node(&mut g, "bias", Op::Add, vec![y, b])];
    let after = same_after_passes(g);
    assert_eq!(kinds(&after), ["Gemm"]);
}

#[test]
fn int8_runs_a_pre_activation_batchnorm_in_integers() {
    // DenseNet's BN -> ReLU -> Conv: the scale and offset become one depthwise conv.
    let mut g = Graph::default();
    let x = g.add_value("x", vec![1, 3, 6, 6]);
    g.inputs = vec![x];
    let c = node(&mut g, "conv0", conv(4, 3), vec![x]);
    let r = node(&mut g, "relu0", Op::Relu, vec![c]);
    let s = constant(&mut g, "s", tensor(&[1, 4, 1, 1], |i| 0.8 + 0.1 * i as f32));
    let m = node(&mut g, "bn_scale", Op::Mul, vec![r, s]);
    let t = constant(&mut g, "t", tensor(&[1, 4, 1, 1], |i| 0.1 * i as f32));
    let a = node(&mut g, "bn_offset", Op::Add, vec![m, t]);
    let r2 = node(&mut g, "relu1", Op::Relu, vec![a]);
    g.outputs = vec![node(&mut g, "conv1", conv(2, 4), vec![r2])];
    let mut g = same_after_passes(g);
    passes::fuse_activations(&mut g);
    let float = FloatExecutor::new(g.clone()).unwrap();
    let calib = vec![tensor(&[1, 3, 6, 6], |i| (i % 13) as f32 / 6.0 - 1.0)];
    let ranges = calibrate(&float, ObserverKind::MinMax, calib, &mut |_, _| {}).unwrap();
    let q = quantize_static(&g, &ranges.ranges, &Scheme::int8(true).into()).unwrap();
    assert!(q.float_nodes().is_empty(), "{:?}", q.float_nodes());
}
