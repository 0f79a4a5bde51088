//! The int8 executor op by op against the f32 executor: small graphs with random weights,
//! calibrated (MinMax) on random inputs, must agree with float to within what 8 bits allow
//! (SQNR >= 30 dB, with every output within a few output steps), through every path: direct,
//! im2col (padded, strided, grouped) and depthwise convolution, Gemm, rescaled Add, averages,
//! MaxPool, Concat of different scales, clamps, Sigmoid as a table, pads as moved codes, and
//! ops without an int8 kernel run in float between int8 ones (a pad value off the grid, Mul by
//! a constant, Softmax).
#![cfg(not(target_arch = "wasm32"))]

use ndarray::{Array2, Array4, ArrayD, IxDyn};
use quantscope::exec::calibrate::calibrate;
use quantscope::exec::{FloatExecutor, Int8Executor};
use quantscope::ir::ops::{Clip, Concat, Conv, Flatten, Gemm, Pad, PadMode, Pool, Softmax};
use quantscope::ir::{Activation, Graph, Op, Tensor};
use quantscope::quant::lower::{quantize_static, QLayer};
use quantscope::quant::observer::ObserverKind;
use quantscope::quant::weights::sqnr_db;
use quantscope::quant::Scheme;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const RELU6: Activation = Activation { min: 0.0, max: 6.0 };

fn random(rng: &mut SmallRng, shape: &[usize], lo: f32, hi: f32) -> Tensor {
    let n = shape.iter().product();
    ArrayD::from_shape_vec(
        IxDyn(shape),
        (0..n).map(|_| rng.random_range(lo..hi)).collect(),
    )
    .unwrap()
}

fn conv_op(
    rng: &mut SmallRng,
    w: [usize; 4],
    stride: usize,
    pads: [usize; 4],
    group: usize,
    act: Activation,
) -> Op {
    let n = w.iter().product();
    let fan_in = (w[1] * w[2] * w[3]) as f32;
    Op::Conv(Conv {
        weight: Array4::from_shape_vec(
            w,
            (0..n)
                .map(|_| rng.random_range(-1.0..1.0) / fan_in.sqrt())
                .collect(),
        )
        .unwrap(),
        bias: (0..w[0]).map(|_| rng.random_range(-0.2..0.2)).collect(),
        strides: [stride; 2],
        dilations: [1, 1],
        pads,
        group,
        activation: act,
    })
}

/// Calibrates `g` on 8 random inputs of `x`'s kind, then compares int8 with float on `x`.
fn check(name: &str, g: Graph, per_channel: bool) {
    let mut rng = SmallRng::seed_from_u64(7);
    let shape = g.shape(g.inputs[0]).to_vec();
    let float = FloatExecutor::new(g.clone()).unwrap();
    let calib: Vec<Tensor> = (0..8)
        .map(|_| random(&mut rng, &shape, -2.0, 2.0))
        .collect();
    let ranges = calibrate(&float, ObserverKind::MinMax, calib.clone(), &mut |_, _| {}).unwrap();
    let q = quantize_static(&g, &ranges.ranges, &Scheme::int8(per_channel).into()).unwrap();
    let out_params = q.params[g.outputs[0]];
    let int8 = Int8Executor::new(q).unwrap();
    for x in &calib[..2] {
        let want: Vec<f32> = float.run(std::slice::from_ref(x)).unwrap()[0]
            .iter()
            .copied()
            .collect();
        let got: Vec<f32> = int8.run(std::slice::from_ref(x)).unwrap()[0]
            .iter()
            .copied()
            .collect();
        assert_eq!(want.len(), got.len());
        let sqnr = sqnr_db(&want, &got);
        let worst = want
            .iter()
            .zip(&got)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        // In output steps (the final Softmax is f32: steps of its input do not apply).
        let steps = out_params.map_or(0.0, |p| worst / p.scale);
        println!(
            "{name:<34} SQNR {sqnr:5.1} dB, worst |error| {worst:.4} ({steps:.1} output steps)"
        );
        assert!(sqnr >= 30.0, "{name}: SQNR {sqnr:.1} dB < 30");
        assert!(steps <= 6.0, "{name}: an output is {steps:.1} steps off");
    }
}

/// `x -> op -> y` with a graph input of `shape`.
fn one(op: Op, shape: &[usize]) -> Graph {
    chain(vec![op], shape)
}

fn chain(ops: Vec<Op>, shape: &[usize]) -> Graph {
    let mut g = Graph::default();
    let mut v = g.add_value("x", shape.to_vec());
    g.inputs = vec![v];
    for (i, op) in ops.into_iter().enumerate() {
        v = g
            .add_node(format!("n{i}"), op, vec![v], &[format!("v{i}")])
            .unwrap()[0];
    }
    g.outputs = vec![v];
    g
}

#[test]
fn convolutions() {
    let mut rng = SmallRng::seed_from_u64(1);
    let cases = [
        (
            "pointwise 1x1",
            [12, 8, 1, 1],
            1,
            [0; 4],
            1,
            Activation::NONE,
        ),
        ("3x3 pad 1 relu6", [6, 8, 3, 3], 1, [1; 4], 1, RELU6),
        (
            "3x3 stride 2 SAME (0,0,1,1)",
            [6, 8, 3, 3],
            2,
            [0, 0, 1, 1],
            1,
            Activation::NONE,
        ),
        ("grouped 3x3", [8, 4, 3, 3], 1, [1; 4], 2, Activation::RELU),
        ("depthwise 3x3 relu6", [8, 1, 3, 3], 1, [1; 4], 8, RELU6),
        (
            "depthwise 5x5 stride 2",
            [8, 1, 5, 5],
            2,
            [1, 1, 2, 2],
            8,
            Activation::NONE,
        ),
    ];
    for (name, w, stride, pads, group, act) in cases {
        let op = conv_op(&mut rng, w, stride, pads, group, act);
        check(name, one(op.clone(), &[1, 8, 11, 13]), true);
        check(
            &format!("{name} per-tensor"),
            one(op, &[1, 8, 11, 13]),
            false,
        );
    }
}

#[test]
fn gemm_pools_clamps_and_softmax() {
    let mut rng = SmallRng::seed_from_u64(2);
    let gemm = Op::Gemm(Gemm {
        trans_a: false,
        weight: Array2::from_shape_fn((10, 16), |_| rng.random_range(-0.3..0.3)),
        bias: Some(ArrayD::from_shape_fn(IxDyn(&[10]), |_| {
            rng.random_range(-0.1..0.1)
        })),
        activation: Activation::NONE,
    });
    let gap_head = vec![
        conv_op(&mut rng, [16, 8, 1, 1], 1, [0; 4], 1, RELU6),
        Op::GlobalAveragePool,
        Op::Flatten(Flatten { axis: 1 }),
        gemm.clone(),
    ];
    check(
        "conv-gap-flatten-gemm",
        chain(gap_head.clone(), &[1, 8, 7, 7]),
        true,
    );
    let mut with_softmax = gap_head;
    with_softmax.push(Op::Softmax(Softmax {
        axis: 1,
        coerce_2d: false,
    }));
    check(
        "... + softmax (f32)",
        chain(with_softmax, &[1, 8, 7, 7]),
        true,
    );
    let pool = Pool {
        kernel: [3, 3],
        strides: [2, 2],
        dilations: [1, 1],
        pads: [1, 1, 1, 1],
        ceil_mode: false,
        count_include_pad: false,
    };
    check(
        "maxpool 3x3/2",
        one(Op::MaxPool(pool.clone()), &[1, 4, 9, 9]),
        true,
    );
    check(
        "averagepool 3x3/2",
        one(Op::AveragePool(pool.clone()), &[1, 4, 9, 9]),
        true,
    );
    let inclusive = Pool {
        count_include_pad: true,
        ..pool
    };
    check(
        "averagepool count_include_pad",
        one(Op::AveragePool(inclusive), &[1, 4, 9, 9]),
        true,
    );
    check("relu", one(Op::Relu, &[1, 4, 5, 5]), true);
    check(
        "clip [-1, 1.5]",
        one(
            Op::Clip(Clip {
                min: -1.0,
                max: 1.5,
            }),
            &[1, 4, 5, 5],
        ),
        true,
    );
    let _ = gemm;
}

#[test]
fn add_and_concat_of_different_scales() {
    let mut rng = SmallRng::seed_from_u64(3);
    // x -> a = conv(x) (relu6), b = conv(x) (no act, different range); a + b; concat(a, b).
    for (name, join) in [
        ("add (rescaled)", Op::Add),
        ("concat (requantized)", Op::Concat(Concat { axis: 1 })),
    ] {
        let mut g = Graph::default();
        let x = g.add_value("x", vec![1, 4, 6, 6]);
        g.inputs = vec![x];
        let a = g
            .add_node(
                "a",
                conv_op(&mut rng, [6, 4, 1, 1], 1, [0; 4], 1, RELU6),
                vec![x],
                &["a".into()],
            )
            .unwrap()[0];
        let b = g
            .add_node(
                "b",
                conv_op(&mut rng, [6, 4, 3, 3], 1, [1; 4], 1, Activation::NONE),
                vec![x],
                &["b".into()],
            )
            .unwrap()[0];
        let y = g.add_node("join", join, vec![a, b], &["y".into()]).unwrap();
        g.outputs = y;
        check(name, g, true);
    }
}

#[test]
fn sigmoid_runs_as_an_exact_table() {
    let g = one(Op::Sigmoid, &[1, 4, 3, 3]);
    check("sigmoid (table)", g.clone(), true);
    // On inputs that are exactly the 256 codes of x, the output is the f32 sigmoid of each
    // code, quantized: what the table promises.
    let mut rng = SmallRng::seed_from_u64(5);
    let float = FloatExecutor::new(g.clone()).unwrap();
    let calib: Vec<Tensor> = (0..4)
        .map(|_| random(&mut rng, &[1, 4, 3, 3], -6.0, 6.0))
        .collect();
    let ranges = calibrate(&float, ObserverKind::MinMax, calib, &mut |_, _| {}).unwrap();
    let q = quantize_static(&g, &ranges.ranges, &Scheme::int8(true).into()).unwrap();
    assert!(q.float_nodes().is_empty(), "{:?}", q.float_nodes());
    let (xp, yp) = (
        q.params[g.inputs[0]].unwrap(),
        q.params[g.outputs[0]].unwrap(),
    );
    let int8 = Int8Executor::new(q).unwrap();
    let sig = FloatExecutor::new(one(Op::Sigmoid, &[256])).unwrap();
    let codes: Vec<i8> = (0..=255u8).map(|c| c as i8).collect();
    let values: Vec<f32> = codes.iter().map(|&c| xp.dequantize(c)).collect();
    let sig_of = sig
        .run(&[ArrayD::from_shape_vec(IxDyn(&[256]), values.clone()).unwrap()])
        .unwrap();
    for chunk in 0..256 / 36 + 1 {
        let take: Vec<usize> = (0..36).map(|i| (chunk * 36 + i) % 256).collect();
        let x = ArrayD::from_shape_vec(
            IxDyn(&[1, 4, 3, 3]),
            take.iter().map(|&i| values[i]).collect(),
        )
        .unwrap();
        let got = int8.run(&[x]).unwrap().swap_remove(0);
        for (&i, &y) in take.iter().zip(got.iter()) {
            let want = yp.dequantize(yp.quantize(sig_of[0][i]));
            assert_eq!(y, want, "code {}", codes[i]);
        }
    }
}

#[test]
fn ops_without_int8_kernels_run_in_float_between_int8_ones() {
    let mut rng = SmallRng::seed_from_u64(9);
    // Squeeze-excite (x * sigmoid(mean(x)): an int8 Mul of a gate), then ops without an int8
    // kernel: a Pad by a value off the int8 grid, a Mul by a constant, a final Softmax; a Gemm
    // between them.
    let mut g = Graph::default();
    let x = g.add_value("x", vec![1, 4, 6, 6]);
    g.inputs = vec![x];
    let node = |g: &mut Graph, name: &str, op: Op, inputs: Vec<usize>| {
        g.add_node(name, op, inputs, &[format!("{name}_out")])
            .unwrap()[0]
    };
    let a = node(
        &mut g,
        "conv",
        conv_op(&mut rng, [8, 4, 3, 3], 1, [1; 4], 1, RELU6),
        vec![x],
    );
    let p = node(&mut g, "pool", Op::GlobalAveragePool, vec![a]);
    let s = node(&mut g, "gate", Op::Sigmoid, vec![p]);
    let e = node(&mut g, "excite", Op::Mul, vec![a, s]);
    let pad = Op::Pad(Pad {
        pads: vec![(0, 0), (0, 0), (1, 1), (1, 1)],
        mode: PadMode::Constant(0.3),
    });
    let padded = node(&mut g, "pad", pad, vec![e]);
    let k = g.add_value("k", vec![1, 8, 1, 1]);
    let k_data: Vec<f32> = (0..8).map(|i| 0.5 + 0.1 * i as f32).collect();
    g.constants.push((
        k,
        ArrayD::from_shape_vec(IxDyn(&[1, 8, 1, 1]), k_data).unwrap(),
    ));
    let scaled = node(&mut g, "scale", Op::Mul, vec![padded, k]);
    let f = node(
        &mut g,
        "flatten",
        Op::Flatten(Flatten { axis: 1 }),
        vec![scaled],
    );
    let w = Array2::from_shape_fn((10, 8 * 8 * 8), |_| rng.random_range(-0.05..0.05));
    let gemm = Op::Gemm(Gemm {
        weight: w,
        bias: None,
        trans_a: false,
        activation: Activation::NONE,
    });
    let logits = node(&mut g, "fc", gemm, vec![f]);
    let y = node(
        &mut g,
        "softmax",
        Op::Softmax(Softmax {
            axis: 1,
            coerce_2d: false,
        }),
        vec![logits],
    );
    g.outputs = vec![y];
    check("squeeze-excite, pad, scale, softmax", g.clone(), true);

    let float = FloatExecutor::new(g.clone()).unwrap();
    let calib = vec![random(&mut rng, &[1, 4, 6, 6], -2.0, 2.0)];
    let ranges = calibrate(&float, ObserverKind::MinMax, calib, &mut |_, _| {}).unwrap();
    let q = quantize_static(&g, &ranges.ranges, &Scheme::int8(true).into()).unwrap();
    let islands: Vec<(String, &str)> = q
        .float_nodes()
        .into_iter()
        .map(|f| (f.name, f.op))
        .collect();
    assert_eq!(
        islands,
        [
            ("pad".to_string(), "Pad"),
            ("scale".into(), "Mul"),
            ("softmax".into(), "Softmax"),
        ]
    );
    // The float island's output is quantized for the int8 Gemm after it.
    assert!(q.params[scaled].is_some() && q.params[y].is_none());
    assert!(
        matches!(q.layers[3], QLayer::Mul { .. }),
        "{:?}",
        q.layers[3]
    );
    // The gate on either side, and operands of one shape.
    for (name, first_is_gate) in [("gate * x", true), ("x * x", false)] {
        let mut g = Graph::default();
        let x = g.add_value("x", vec![1, 8, 5, 5]);
        g.inputs = vec![x];
        let a = node(
            &mut g,
            "conv",
            conv_op(&mut rng, [8, 8, 1, 1], 1, [0; 4], 1, RELU6),
            vec![x],
        );
        let other = if first_is_gate {
            let p = node(&mut g, "pool", Op::GlobalAveragePool, vec![a]);
            node(&mut g, "gate", Op::Sigmoid, vec![p])
        } else {
            a
        };
        let ins = if first_is_gate {
            vec![other, a]
        } else {
            vec![a, other]
        };
        g.outputs = vec![node(&mut g, "mul", Op::Mul, ins)];
        check(name, g, true);
    }
}

#[test]
fn pads_move_int8_codes() {
    // Zero (the zero point's code), reflect and edge pads between two convolutions: codes
    // moved, never recomputed.
    let mut rng = SmallRng::seed_from_u64(11);
    for mode in [PadMode::Constant(0.0), PadMode::Reflect, PadMode::Edge] {
        let pad = Op::Pad(Pad {
            pads: vec![(0, 0), (0, 0), (1, 2), (2, 1)],
            mode,
        });
        let g = chain(
            vec![
                conv_op(&mut rng, [6, 3, 3, 3], 1, [1; 4], 1, Activation::NONE),
                pad,
                conv_op(&mut rng, [6, 1, 3, 3], 2, [0; 4], 6, RELU6),
            ],
            &[1, 3, 7, 7],
        );
        let float = FloatExecutor::new(g.clone()).unwrap();
        let calib = vec![random(&mut rng, &[1, 3, 7, 7], -1.0, 1.0)];
        let ranges = calibrate(&float, ObserverKind::MinMax, calib, &mut |_, _| {}).unwrap();
        let q = quantize_static(&g, &ranges.ranges, &Scheme::int8(true).into()).unwrap();
        assert!(
            matches!(q.layers[1], QLayer::Pad { .. }),
            "{:?}",
            q.layers[1]
        );
        assert!(q.float_nodes().is_empty(), "{:?}", q.float_nodes());
        check(&format!("pad {mode:?}"), g, true);
    }
}

#[test]
fn a_missing_calibration_range_is_named() {
    let mut ranges = std::collections::BTreeMap::new();
    ranges.insert("v0".to_string(), (0.0, 1.0));
    let err = quantize_static(&one(Op::Relu, &[1, 4, 3, 3]), &ranges, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("'x'") && err.contains("calibrat"), "{err}");
}
