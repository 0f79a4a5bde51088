//! What exporters emit: constant folding of shape subgraphs, dynamic batch binding, the
//! ops torch.onnx and tf2onnx produce for classifiers, NHWC inputs as a layout fact, and one
//! message listing every unsupported op. Models are built by hand (see `common::onnx_builders`)
//! and run through the f32 executor; expected values are computed here independently.

mod common;

use common::onnx_builders::*;
use quantscope::exec::calibrate::calibrate;
use quantscope::exec::FloatExecutor;
use quantscope::ir::{Layout, Tensor};
use quantscope::onnx::proto::{data_type, AttributeProto, TensorProto};
use quantscope::onnx::{load_model, ImportOptions};
use quantscope::quant::lower::{quantize_static, QLayer};
use quantscope::quant::observer::ObserverKind;
use quantscope::quant::Scheme;

fn tensor(shape: &[usize], data: Vec<f32>) -> Tensor {
    Tensor::from_shape_vec(ndarray::IxDyn(shape), data).unwrap()
}

fn iota(shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    tensor(shape, (0..n).map(|i| i as f32).collect())
}

/// Runs an imported graph on `x`, every output flattened.
fn run(g: quantscope::ir::Graph, x: Tensor) -> Vec<Vec<f32>> {
    let exec = FloatExecutor::new(g).unwrap();
    exec.run(&[x])
        .unwrap()
        .iter()
        .map(|t| t.iter().copied().collect())
        .collect()
}

fn a_tensor(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        t: Some(t),
        ..attr(name, quantscope::onnx::proto::attribute_type::TENSOR)
    }
}

fn cast(input: &str, out: &str, to: i32) -> quantscope::onnx::proto::NodeProto {
    node("Cast", out, &[input], &[out], vec![a_int("to", to as i64)])
}

#[test]
fn shape_arithmetic_folds_to_constants() {
    // Shape of a non-square input, sliced, cast, divided; Range/Equal/Where;
    // ConstantOfShape; Gather + Unsqueeze; Size. Every result leaves as a float output.
    let f = data_type::FLOAT as i64;
    let nodes = vec![
        node("Shape", "shape", &["x"], &["s"], vec![]),
        node("Slice", "hw", &["s", "two", "four"], &["hw"], vec![]),
        cast("hw", "hw_f", f as i32),
        node("Div", "half", &["hw_f", "two_f"], &["half"], vec![]),
        node("Range", "range", &["zero", "three", "one"], &["r"], vec![]),
        node("Equal", "eq", &["r", "one"], &["e"], vec![]),
        node("Where", "where", &["e", "ten", "r"], &["w"], vec![]),
        cast("w", "w_f", f as i32),
        node(
            "ConstantOfShape",
            "cos",
            &["two_vec"],
            &["c"],
            vec![a_tensor("value", t_f32("", &[1], &[7.0]))],
        ),
        node(
            "Gather",
            "g",
            &["s", "one"],
            &["ch"],
            vec![a_int("axis", 0)],
        ),
        node("Unsqueeze", "u", &["ch", "zero_vec"], &["u"], vec![]),
        cast("u", "u_f", f as i32),
        node("Size", "size", &["x"], &["n"], vec![]),
        cast("n", "n_f", f as i32),
    ];
    let inits = vec![
        t_i64("two", &[1], &[2]),
        t_i64("four", &[1], &[4]),
        t_f32("two_f", &[], &[2.0]),
        t_i64("zero", &[], &[0]),
        t_i64("three", &[], &[3]),
        t_i64("one", &[], &[1]),
        t_i64("ten", &[], &[10]),
        t_i64("two_vec", &[1], &[2]),
        t_i64("zero_vec", &[1], &[0]),
    ];
    let outs = ["hw_f", "half", "w_f", "c", "u_f", "n_f"];
    let g = load(&model(nodes, inits, &[1, 3, 4, 6], &outs));
    assert!(g.nodes.is_empty(), "all folded: {:?}", g.nodes);
    let got = run(g, iota(&[1, 3, 4, 6]));
    let want: [&[f32]; 6] = [
        &[4.0, 6.0],
        &[2.0, 3.0],
        &[0.0, 10.0, 2.0],
        &[7.0, 7.0],
        &[3.0],
        &[72.0],
    ];
    for (k, w) in want.iter().enumerate() {
        assert_eq!(got[k], *w, "output {}", outs[k]);
    }
}

#[test]
fn torch_flatten_subgraph_becomes_a_static_reshape() {
    // torch.onnx's x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape,
    // at opset 11 (Unsqueeze axes attribute) and 13 (axes input).
    for opset in [11, 13] {
        let unsqueeze = if opset < 13 {
            node(
                "Unsqueeze",
                "u",
                &["n"],
                &["n1"],
                vec![a_ints("axes", &[0])],
            )
        } else {
            node("Unsqueeze", "u", &["n", "axes0"], &["n1"], vec![])
        };
        let nodes = vec![
            node("Relu", "relu", &["x"], &["r"], vec![]),
            node("Shape", "shape", &["r"], &["s"], vec![]),
            node(
                "Gather",
                "gather",
                &["s", "zero"],
                &["n"],
                vec![a_int("axis", 0)],
            ),
            unsqueeze,
            node(
                "Concat",
                "cat",
                &["n1", "minus_one"],
                &["shp"],
                vec![a_int("axis", 0)],
            ),
            node("Reshape", "reshape", &["r", "shp"], &["y"], vec![]),
        ];
        let inits = vec![
            t_i64("zero", &[], &[0]),
            t_i64("axes0", &[1], &[0]),
            t_i64("minus_one", &[1], &[-1]),
        ];
        let inputs = vec![vi("x", &[None, Some(2), Some(2), Some(3)])];
        let g = load(&model_with(opset, nodes, inits, inputs, &["y"]));
        assert_eq!(kinds(&g), ["Relu", "Reshape"], "opset {opset}");
        assert_eq!(out_shape(&g), [1, 12]);
        assert_eq!(
            g.shape(g.inputs[0]),
            [1, 2, 2, 3],
            "symbolic batch bound to 1"
        );
    }
}

#[test]
fn movement_ops_on_run_time_data() {
    // x = 0..6 as [1, 2, 3].
    let nodes = vec![
        node(
            "Transpose",
            "t",
            &["x"],
            &["t"],
            vec![a_ints("perm", &[0, 2, 1])],
        ),
        // Reversed last axis: starts -1, ends "before the beginning", step -1.
        node(
            "Slice",
            "rev",
            &["x", "m1", "big_neg", "axis2", "m1"],
            &["rev"],
            vec![],
        ),
        node("Gather", "g", &["x", "idx"], &["g"], vec![a_int("axis", 2)]),
        node(
            "ReduceMean",
            "mean",
            &["x"],
            &["mean"],
            vec![a_ints("axes", &[1]), a_int("keepdims", 0)],
        ),
        node("Squeeze", "sq", &["x", "axis0"], &["sq"], vec![]),
    ];
    let inits = vec![
        t_i64("m1", &[1], &[-1]),
        t_i64("big_neg", &[1], &[i64::MIN]),
        t_i64("axis2", &[1], &[2]),
        t_i64("axis0", &[1], &[0]),
        t_i64("idx", &[2], &[2, -3]),
    ];
    let outs = ["t", "rev", "g", "mean", "sq"];
    let g = load(&model(nodes, inits, &[1, 2, 3], &outs));
    let shapes: Vec<Vec<usize>> = g.outputs.iter().map(|&o| g.shape(o).to_vec()).collect();
    assert_eq!(
        shapes,
        [
            vec![1, 3, 2],
            vec![1, 2, 3],
            vec![1, 2, 2],
            vec![1, 3],
            vec![2, 3]
        ]
    );
    let got = run(g, iota(&[1, 2, 3]));
    assert_eq!(got[0], [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    assert_eq!(got[1], [2.0, 1.0, 0.0, 5.0, 4.0, 3.0]);
    assert_eq!(got[2], [2.0, 0.0, 5.0, 3.0]);
    assert_eq!(got[3], [1.5, 2.5, 3.5]);
    assert_eq!(got[4], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
}

#[test]
fn movement_ops_fold_on_constant_weights() {
    // tf2onnx often transposes or slices a weight: that must not become a run-time node.
    let nodes = vec![
        node("Transpose", "wt", &["w"], &["wt"], vec![]),
        node("Add", "add", &["x", "wt"], &["y"], vec![]),
    ];
    let inits = vec![t_f32("w", &[3, 1], &[1.0, 2.0, 3.0])];
    let g = load(&model(nodes, inits, &[1, 3], &["y"]));
    assert_eq!(kinds(&g), ["Add"]);
    assert_eq!(run(g, iota(&[1, 3]))[0], [1.0, 3.0, 5.0]);
}

#[test]
fn non_commutative_binaries_keep_operand_order() {
    // r is read twice, so Div(2, r) cannot overwrite it (broadcast path, constant first);
    // Sub(c, r) is r's last reader, so it runs in place on r's buffer (second operand).
    let nodes = vec![
        node("Relu", "relu", &["x"], &["r"], vec![]),
        node("Div", "div", &["two", "r"], &["d"], vec![]),
        node("Sub", "sub", &["c", "r"], &["s"], vec![]),
    ];
    let inits = vec![
        t_f32("two", &[], &[2.0]),
        t_f32("c", &[1, 3], &[10.0, 20.0, 30.0]),
    ];
    let g = load(&model(nodes, inits, &[1, 3], &["d", "s"]));
    let got = run(g, tensor(&[1, 3], vec![1.0, 2.0, 4.0]));
    assert_eq!(got[0], [2.0, 1.0, 0.5]);
    assert_eq!(got[1], [9.0, 18.0, 26.0]);
}

/// An activation case: op type, attributes, the formula.
type Activation = (&'static str, Vec<AttributeProto>, fn(f32) -> f32);

#[test]
fn activations_match_their_formulas() {
    let xs = vec![-4.0f32, -1.0, -0.25, 0.0, 0.5, 2.0, 5.0];
    let cases: Vec<Activation> = vec![
        (
            "HardSigmoid",
            vec![a_float("alpha", 0.25), a_float("beta", 0.4)],
            |x| (0.25 * x + 0.4).clamp(0.0, 1.0),
        ),
        ("HardSwish", vec![], |x| x * (x / 6.0 + 0.5).clamp(0.0, 1.0)),
        ("LeakyRelu", vec![a_float("alpha", 0.1)], |x| {
            if x < 0.0 {
                0.1 * x
            } else {
                x
            }
        }),
        ("Tanh", vec![], f32::tanh),
    ];
    for (op, attrs, f) in cases {
        let g = load(&model(
            vec![node(op, "a", &["x"], &["y"], attrs)],
            vec![],
            &[7],
            &["y"],
        ));
        let want: Vec<f32> = xs.iter().map(|&x| f(x)).collect();
        let got = &run(g, tensor(&[7], xs.clone()))[0];
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-6, "{op}: {got:?} vs {want:?}");
        }
    }
    // PRelu with a per-channel slope broadcast over [1, 2, 1, 2].
    let nodes = vec![node("PRelu", "p", &["x", "slope"], &["y"], vec![])];
    let inits = vec![t_f32("slope", &[2, 1, 1], &[0.5, 2.0])];
    let g = load(&model(nodes, inits, &[1, 2, 1, 2], &["y"]));
    let got = run(g, tensor(&[1, 2, 1, 2], vec![-2.0, 3.0, -1.0, 4.0]));
    assert_eq!(got[0], [-1.0, 3.0, -2.0, 4.0]);
}

#[test]
fn spatial_reduce_mean_becomes_global_average_pool() {
    for (keepdims, want_kinds, want_shape) in [
        (1, vec!["GlobalAveragePool"], vec![1, 2, 1, 1]),
        (0, vec!["GlobalAveragePool", "Reshape"], vec![1, 2]),
    ] {
        let attrs = vec![a_ints("axes", &[-2, -1]), a_int("keepdims", keepdims)];
        let g = load(&model(
            vec![node("ReduceMean", "m", &["x"], &["y"], attrs)],
            vec![],
            &[1, 2, 2, 2],
            &["y"],
        ));
        assert_eq!(kinds(&g), want_kinds);
        assert_eq!(out_shape(&g), want_shape);
        assert_eq!(run(g, iota(&[1, 2, 2, 2]))[0], [1.5, 5.5]);
    }
}

#[test]
fn standalone_batchnorm_on_an_input_and_after_add() {
    let bn = |x: &str, y: &str| {
        node(
            "BatchNormalization",
            y,
            &[x, "scale", "bias", "mean", "var"],
            &[y],
            vec![a_float("epsilon", 0.0)],
        )
    };
    let nodes = vec![
        bn("x", "b1"),
        node("Add", "add", &["b1", "x"], &["s"], vec![]),
        bn("s", "y"),
    ];
    let inits = vec![
        t_f32("scale", &[2], &[2.0, 3.0]),
        t_f32("bias", &[2], &[1.0, -1.0]),
        t_f32("mean", &[2], &[0.5, 1.0]),
        t_f32("var", &[2], &[4.0, 1.0]),
    ];
    let g = load(&model(nodes, inits, &[1, 2, 1, 1], &["y"]));
    let f = |x: f32, c: usize| {
        let (s, b, m, v) = (
            [2.0, 3.0][c],
            [1.0, -1.0][c],
            [0.5, 1.0][c],
            [4.0f32, 1.0][c],
        );
        s * (x - m) / v.sqrt() + b
    };
    let x = [3.0f32, -2.0];
    let want: Vec<f32> = (0..2).map(|c| f(f(x[c], c) + x[c], c)).collect();
    let got = &run(g, tensor(&[1, 2, 1, 1], x.to_vec()))[0];
    for (g, w) in got.iter().zip(&want) {
        assert!(
            (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
            "{got:?} vs {want:?}"
        );
    }
}

/// A Keras-style model: NHWC input [1, 4, 6, 3] -> Transpose to NCHW -> 1x1 Conv (3 -> 2).
fn nhwc_model(extra_reader: bool) -> Vec<u8> {
    let mut nodes = vec![
        node(
            "Transpose",
            "to_nchw",
            &["x"],
            &["t"],
            vec![a_ints("perm", &[0, 3, 1, 2])],
        ),
        node("Conv", "conv", &["t", "w"], &["y"], vec![]),
    ];
    let mut outs = vec!["y"];
    if extra_reader {
        nodes.push(node("Relu", "side", &["x"], &["side"], vec![]));
        outs.push("side");
    }
    let w = t_f32("w", &[2, 3, 1, 1], &[1.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
    let inputs = vec![vi("x", &[None, Some(4), Some(6), Some(3)])];
    model_with(13, nodes, vec![w], inputs, &outs)
}

#[test]
fn nhwc_input_becomes_a_layout_fact() {
    let g = load(&nhwc_model(false));
    assert_eq!(g.input_layout, Layout::Nhwc);
    assert_eq!(g.shape(g.inputs[0]), [1, 3, 4, 6]);
    assert_eq!(kinds(&g), ["Conv"]);
    // Fed NCHW: channel 0, then channels 1 + 2.
    let x = iota(&[1, 3, 4, 6]);
    let got = &run(g, x.clone())[0];
    let xs: Vec<f32> = x.iter().copied().collect();
    let want: Vec<f32> = (0..24)
        .map(|i| xs[i])
        .chain((0..24).map(|i| xs[24 + i] + xs[48 + i]))
        .collect();
    assert_eq!(*got, want);

    // With another reader of the NHWC input the Transpose stays and runs as an op.
    let g = load(&nhwc_model(true));
    assert_eq!(g.input_layout, Layout::Nchw);
    assert_eq!(g.shape(g.inputs[0]), [1, 4, 6, 3]);
    assert_eq!(kinds(&g), ["Transpose", "Conv", "Relu"]);
}

#[test]
fn every_unsupported_op_is_listed_in_one_message() {
    let nodes = vec![
        node("Relu", "r", &["x"], &["a"], vec![]),
        node("NonMaxSuppression", "nms_1", &["a"], &["b"], vec![]),
        node("Loop", "loop", &["b"], &["c"], vec![]),
        node("NonMaxSuppression", "nms_2", &["c"], &["d"], vec![]),
        node("NonMaxSuppression", "", &["d"], &["y"], vec![]),
    ];
    let e = load_model(
        &model(nodes, vec![], &[1, 4], &["y"]),
        &ImportOptions::default(),
    )
    .unwrap_err();
    let (n, op, what) = unsupported(e);
    assert_eq!((n.as_str(), op.as_str()), ("nms_1", "NonMaxSuppression"));
    assert_eq!(
        what,
        "unsupported operators: NonMaxSuppression x3 (first: nms_1), Loop x1 (first: loop)"
    );
}

#[test]
fn shape_ops_on_run_time_data_are_clear_errors() {
    // ConstantOfShape of a run-time value cannot fold and has no kernel.
    let nodes = vec![node("ConstantOfShape", "cos", &["x"], &["y"], vec![])];
    let (n, _, what) = unsupported(
        load_model(
            &model(nodes, vec![], &[2], &["y"]),
            &ImportOptions::default(),
        )
        .unwrap_err(),
    );
    assert_eq!(n, "cos");
    assert!(what.contains("run-time"), "{what}");
}

#[test]
fn int8_lowering_runs_new_ops_as_tables_moves_or_float_islands() {
    // Tanh becomes a lookup table, a Transpose moves int8 codes, a ReduceMean over a
    // non-spatial axis (no int8 kernel) is a float island.
    let nodes = vec![
        node("Tanh", "tanh", &["x"], &["t"], vec![]),
        node(
            "Transpose",
            "swap",
            &["t"],
            &["tt"],
            vec![a_ints("perm", &[1, 0])],
        ),
        node(
            "ReduceMean",
            "mean",
            &["tt"],
            &["y"],
            vec![a_ints("axes", &[0])],
        ),
    ];
    let g = load(&model(nodes, vec![], &[1, 4], &["y"]));
    let float = FloatExecutor::new(g.clone()).unwrap();
    let calib = vec![iota(&[1, 4])];
    let ranges = calibrate(&float, ObserverKind::MinMax, calib, &mut |_, _| {}).unwrap();
    let q = quantize_static(&g, &ranges.ranges, &Scheme::int8(true).into()).unwrap();
    assert!(matches!(q.layers[0], QLayer::Lookup), "{:?}", q.layers[0]);
    assert!(matches!(q.layers[1], QLayer::Same), "{:?}", q.layers[1]);
    let islands: Vec<&str> = q.float_nodes().iter().map(|f| f.op).collect();
    assert_eq!(islands, ["ReduceMean"]);
    // The int8 Transpose moves the codes: the mean of the tanh codes, within a step or two
    // of float.
    let int8 = quantscope::exec::Int8Executor::new(q).unwrap();
    let x = iota(&[1, 4]);
    let f = float.run(std::slice::from_ref(&x)).unwrap();
    let i = int8.run(std::slice::from_ref(&x)).unwrap();
    let (f, i) = (f[0].iter().next().unwrap(), i[0].iter().next().unwrap());
    assert!((f - i).abs() < 0.02, "float {f}, int8 {i}");
}

/// Keras Rescaling + Normalization before the Transpose: `(x * s) - m` per channel, NHWC.
fn nhwc_rescaled(extra_reader: bool) -> Vec<u8> {
    let mut nodes = vec![
        node("Mul", "rescale", &["x", "s"], &["xs"], vec![]),
        node("Sub", "norm", &["m", "xs"], &["xn"], vec![]),
        node(
            "Transpose",
            "to_nchw",
            &["xn"],
            &["t"],
            vec![a_ints("perm", &[0, 3, 1, 2])],
        ),
        node("Conv", "conv", &["t", "w"], &["y"], vec![]),
    ];
    let mut outs = vec!["y"];
    if extra_reader {
        nodes.push(node("Relu", "side", &["xs"], &["side"], vec![]));
        outs.push("side");
    }
    let inits = vec![
        t_f32("s", &[3], &[0.5, 2.0, -1.0]),
        t_f32("m", &[1, 1, 1, 3], &[1.0, 2.0, 3.0]),
        t_f32("w", &[2, 3, 1, 1], &[1.0, -1.0, 0.5, 0.0, 1.0, 1.0]),
    ];
    let inputs = vec![vi("x", &[None, Some(2), Some(5), Some(3)])];
    model_with(13, nodes, inits, inputs, &outs)
}

#[test]
fn per_channel_rescaling_before_the_transpose_moves_to_nchw() {
    let g = load(&nhwc_rescaled(false));
    assert_eq!(g.input_layout, Layout::Nhwc);
    // The scale is a depthwise 1x1 conv (`ir::affine`); `m - x` is not a per-channel affine.
    assert_eq!(kinds(&g), ["Conv", "Sub", "Conv"]);
    assert_eq!(g.shape(g.inputs[0]), [1, 3, 2, 5]);
    // The same model with the rewrite blocked runs the real Transpose on NHWC data.
    let kept = load(&nhwc_rescaled(true));
    assert_eq!(kept.input_layout, Layout::Nchw);
    let nhwc = tensor(
        &[1, 2, 5, 3],
        (0..30).map(|i| i as f32 * 0.25 - 3.0).collect(),
    );
    let nchw = nhwc.clone().permuted_axes(ndarray::IxDyn(&[0, 3, 1, 2]));
    let nchw = tensor(&[1, 3, 2, 5], nchw.iter().copied().collect());
    assert_eq!(run(g, nchw)[0], run(kept, nhwc)[0]);
}

/// A 2-class classifier reading `[1, 4, 4, 3]` (NHWC), with or without the Transpose to NCHW
/// a Keras export starts with.
fn nhwc_classifier(transpose: bool) -> Vec<u8> {
    let mut nodes = Vec::new();
    let mut x = "x";
    if transpose {
        nodes.push(node(
            "Transpose",
            "to_nchw",
            &["x"],
            &["t"],
            vec![a_ints("perm", &[0, 3, 1, 2])],
        ));
        x = "t";
    }
    let w = if transpose {
        vec![2, 3, 1, 1]
    } else {
        vec![2, 4, 1, 1]
    };
    nodes.push(node("Conv", "conv", &[x, "w"], &["c"], vec![]));
    nodes.push(node("GlobalAveragePool", "pool", &["c"], &["p"], vec![]));
    nodes.push(node("Flatten", "flat", &["p"], &["y"], vec![]));
    let n = w.iter().product::<i64>() as usize;
    let data: Vec<f32> = (0..n).map(|i| i as f32 * 0.1 - 0.3).collect();
    let inputs = vec![vi("x", &[None, Some(4), Some(4), Some(3)])];
    model_with(13, nodes, vec![t_f32("w", &w, &data)], inputs, &["y"])
}

fn metadata(layout: &str) -> quantscope::model::ModelMetadata {
    let shape = if layout == "NHWC" {
        "[1, 4, 4, 3]"
    } else {
        "[1, 3, 4, 4]"
    };
    quantscope::model::ModelMetadata::from_json(&format!(
        r#"{{"name": "tiny", "input": {{"name": "x", "shape": {shape}, "layout": "{layout}"}},
            "preprocess": {{"resize_shorter": 4, "crop": 4, "mean": [0, 0, 0], "std": [1, 1, 1]}},
            "labels": ["a", "b"]}}"#
    ))
    .unwrap()
}

#[test]
fn the_metadata_layout_is_honoured() {
    use quantscope::classifier::Classifier;
    let img = image::RgbImage::from_fn(4, 4, |x, y| image::Rgb([x as u8 * 40, y as u8 * 40, 7]));
    // NHWC file, Transpose removed at import: fed NCHW, same logits as onnx semantics say.
    let c = Classifier::new(&nhwc_classifier(true), metadata("NHWC")).unwrap();
    let x = c.input_tensor(&img);
    assert_eq!(x.shape(), [1, 3, 4, 4]);
    let mean_of = |ch: usize| x.index_axis(ndarray::Axis(1), ch).mean().unwrap();
    let w = |o: usize, i: usize| (o * 3 + i) as f32 * 0.1 - 0.3;
    let want: Vec<f32> = (0..2)
        .map(|o| (0..3).map(|i| w(o, i) * mean_of(i)).sum())
        .collect();
    let got = c.logits(&x).unwrap();
    close(&got, &want);
    // An NHWC file without the Transpose (a Conv over the last axis, as the file says) is fed
    // channels last.
    let c = Classifier::new(&nhwc_classifier(false), metadata("NHWC")).unwrap();
    assert_eq!(c.input_tensor(&img).shape(), [1, 4, 4, 3]);
    c.logits(&c.input_tensor(&img)).unwrap();
    // The same file described as NCHW: an error that says it is the layout.
    let e = Classifier::new(&nhwc_classifier(false), metadata("NCHW"))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("layout") && e.contains("NHWC"), "{e}");
}
