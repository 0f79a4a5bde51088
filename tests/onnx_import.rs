//! ONNX import: models built here by encoding the prost structs, checked after translation.

mod common;

use common::onnx_builders::*;

use prost::Message;
use quantscope::ir::{Activation, Op};
use quantscope::onnx::proto::{attribute_type, data_type, AttributeProto, ModelProto, TensorProto};
use quantscope::onnx::{load_model, read_tensor, ImportOptions};
use quantscope::Error;
use rand::{rngs::SmallRng, Rng, SeedableRng};

/// A small classifier: Conv 3x3/2 + BN + Clip(0,6) -> GAP -> Flatten -> Gemm -> Softmax.
fn classifier() -> Vec<u8> {
    let w: Vec<f32> = (0..4 * 3 * 9).map(|i| (i % 7) as f32 * 0.1 - 0.3).collect();
    let fc: Vec<f32> = (0..5 * 4).map(|i| i as f32 * 0.01).collect();
    let nodes = vec![
        node(
            "Conv",
            "conv",
            &["x", "w"],
            &["c"],
            vec![
                a_ints("strides", &[2, 2]),
                a_ints("pads", &[1, 1, 1, 1]),
                a_ints("kernel_shape", &[3, 3]),
            ],
        ),
        node(
            "BatchNormalization",
            "bn",
            &["c", "g", "b", "m", "v"],
            &["bn"],
            vec![a_float("epsilon", 1e-3)],
        ),
        node("Clip", "relu6", &["bn", "lo", "hi"], &["r"], vec![]),
        node("GlobalAveragePool", "gap", &["r"], &["p"], vec![]),
        node("Flatten", "flat", &["p"], &["f"], vec![a_int("axis", 1)]),
        node(
            "Gemm",
            "fc",
            &["f", "fcw", "fcb"],
            &["logits"],
            vec![a_int("transB", 1)],
        ),
        node("Softmax", "sm", &["logits"], &["prob"], vec![]),
    ];
    let inits = vec![
        t_f32("w", &[4, 3, 3, 3], &w),
        t_f32("g", &[4], &[1.0, 2.0, 0.5, 1.0]),
        t_f32("b", &[4], &[0.0, 0.1, 0.2, 0.3]),
        t_f32("m", &[4], &[0.5, 0.0, -0.5, 1.0]),
        t_f32("v", &[4], &[1.0, 4.0, 0.25, 2.0]),
        t_f32("lo", &[], &[0.0]),
        t_f32("hi", &[], &[6.0]),
        t_f32("fcw", &[5, 4], &fc),
        t_f32("fcb", &[5], &[0.0; 5]),
    ];
    model(nodes, inits, &[1, 3, 16, 16], &["prob"])
}

// ---- translation ----------------------------------------------------------------------

#[test]
fn classifier_shapes_and_structure() {
    let g = load(&classifier());
    assert_eq!(
        kinds(&g),
        ["Conv", "GlobalAveragePool", "Flatten", "Gemm", "Softmax"]
    );
    assert_eq!(g.shape(g.inputs[0]), [1, 3, 16, 16]);
    assert_eq!(g.shape(g.nodes[0].outputs[0]), [1, 4, 8, 8]);
    assert_eq!(out_shape(&g), [1, 5]);
    assert_eq!(g.values[g.outputs[0]].name, "prob");
    let c = conv_of(&g, 0);
    assert_eq!(c.activation, Activation { min: 0.0, max: 6.0 });
    assert_eq!((c.strides, c.pads, c.group), ([2, 2], [1, 1, 1, 1], 1));
    assert!(g.constants.is_empty(), "weights live inside the ops");
    assert_eq!(g.parameter_count(), 4 * 27 + 4 + 20 + 5);
}

#[test]
fn batchnorm_folds_into_conv() {
    // 1x1 conv, 1 input channel, 2 output channels, bias [1, -1].
    let nodes = vec![
        node("Conv", "conv", &["x", "w", "cb"], &["c"], vec![]),
        node(
            "BatchNormalization",
            "bn",
            &["c", "g", "b", "m", "v"],
            &["y"],
            vec![a_float("epsilon", 0.0)],
        ),
    ];
    let inits = vec![
        t_f32("w", &[2, 1, 1, 1], &[2.0, 3.0]),
        t_f32("cb", &[2], &[1.0, -1.0]),
        t_f32("g", &[2], &[1.0, 2.0]),
        t_f32("b", &[2], &[0.5, 0.0]),
        t_f32("m", &[2], &[1.0, 2.0]),
        t_f32("v", &[2], &[4.0, 1.0]),
    ];
    let g = load(&model(nodes, inits, &[1, 1, 2, 2], &["y"]));
    assert_eq!(kinds(&g), ["Conv"]);
    let c = conv_of(&g, 0);
    // s = gamma / sqrt(var + eps) = [1/2, 2]; w' = w * s; b' = (b - mean) * s + beta.
    close(c.weight.as_slice().unwrap(), &[1.0, 6.0]);
    close(
        &c.bias,
        &[(1.0 - 1.0) * 0.5 + 0.5, (-1.0 - 2.0) * 2.0 + 0.0],
    );
    assert_eq!(g.values[g.outputs[0]].name, "y");
    assert_eq!(g.nodes[0].outputs, g.outputs);
}

#[test]
fn batchnorm_with_epsilon_default() {
    let nodes = vec![
        node("Conv", "conv", &["x", "w"], &["c"], vec![]),
        node(
            "BatchNormalization",
            "bn",
            &["c", "g", "b", "m", "v"],
            &["y"],
            vec![],
        ),
    ];
    let inits = vec![
        t_f32("w", &[1, 1, 1, 1], &[1.0]),
        t_f32("g", &[1], &[1.0]),
        t_f32("b", &[1], &[0.0]),
        t_f32("m", &[1], &[0.0]),
        t_f32("v", &[1], &[1.0]),
    ];
    let g = load(&model(nodes, inits, &[1, 1, 2, 2], &["y"]));
    close(
        conv_of(&g, 0).weight.as_slice().unwrap(),
        &[1.0 / (1.0f32 + 1e-5).sqrt()],
    );
}

#[test]
fn batchnorm_not_after_conv_becomes_a_depthwise_conv() {
    let nodes = vec![
        node("Relu", "relu", &["x"], &["r"], vec![]),
        node(
            "BatchNormalization",
            "bn",
            &["r", "g", "b", "m", "v"],
            &["y"],
            vec![a_float("epsilon", 0.0)],
        ),
    ];
    let inits = vec![
        t_f32("g", &[2], &[1.0, 2.0]),
        t_f32("b", &[2], &[0.5, 0.0]),
        t_f32("m", &[2], &[1.0, 2.0]),
        t_f32("v", &[2], &[4.0, 1.0]),
    ];
    let g = load(&model(nodes, inits, &[1, 2, 3, 3], &["y"]));
    // Mul + Add by per-channel constants, as a depthwise 1x1 conv (`ir::affine`).
    assert_eq!(kinds(&g), ["Relu", "Conv"]);
    let dw = conv_of(&g, 1);
    assert_eq!(dw.group, 2);
    close(dw.weight.as_slice().unwrap(), &[0.5, 2.0]);
    // beta - mean * s
    close(&dw.bias, &[0.0, -4.0]);
    assert_eq!(out_shape(&g), [1, 2, 3, 3]);
}

#[test]
fn batchnorm_after_shared_conv_is_not_folded() {
    let nodes = vec![
        node("Conv", "conv", &["x", "w"], &["c"], vec![]),
        node(
            "BatchNormalization",
            "bn",
            &["c", "g", "b", "m", "v"],
            &["y"],
            vec![],
        ),
        node("Add", "add", &["y", "c"], &["z"], vec![]),
    ];
    let inits = vec![
        t_f32("w", &[1, 1, 1, 1], &[1.0]),
        t_f32("g", &[1], &[1.0]),
        t_f32("b", &[1], &[0.0]),
        t_f32("m", &[1], &[0.0]),
        t_f32("v", &[1], &[1.0]),
    ];
    let g = load(&model(nodes, inits, &[1, 1, 2, 2], &["z"]));
    // The shared conv keeps its weights; the BatchNorm is a depthwise conv of its own.
    assert_eq!(kinds(&g), ["Conv", "Conv", "Add"]);
    close(conv_of(&g, 0).weight.as_slice().unwrap(), &[1.0]);
}

fn conv_pads(
    in_hw: [i64; 2],
    k: i64,
    stride: i64,
    attrs: Vec<AttributeProto>,
) -> ([usize; 4], Vec<usize>) {
    let mut attrs = attrs;
    attrs.push(a_ints("strides", &[stride, stride]));
    let nodes = vec![node("Conv", "", &["x", "w"], &["y"], attrs)];
    let w = vec![1.0; (k * k) as usize];
    let g = load(&model(
        nodes,
        vec![t_f32("w", &[1, 1, k, k], &w)],
        &[1, 1, in_hw[0], in_hw[1]],
        &["y"],
    ));
    (conv_of(&g, 0).pads, out_shape(&g))
}

#[test]
fn auto_pad_resolution() {
    // k=2, s=1 on 5: total pad 1, the odd pixel at the end (UPPER) or start (LOWER).
    let (p, s) = conv_pads([5, 5], 2, 1, vec![a_str("auto_pad", "SAME_UPPER")]);
    assert_eq!((p, s), ([0, 0, 1, 1], vec![1, 1, 5, 5]));
    let (p, _) = conv_pads([5, 5], 2, 1, vec![a_str("auto_pad", "SAME_LOWER")]);
    assert_eq!(p, [1, 1, 0, 0]);
    // k=3, s=2 on 8x7: out 4x4; total pad h = 3*2+3-8 = 1, w = 3*2+3-7 = 2.
    let (p, s) = conv_pads([8, 7], 3, 2, vec![a_str("auto_pad", "SAME_UPPER")]);
    assert_eq!((p, s), ([0, 1, 1, 1], vec![1, 1, 4, 4]));
    let (p, _) = conv_pads([8, 7], 3, 2, vec![a_str("auto_pad", "SAME_LOWER")]);
    assert_eq!(p, [1, 1, 0, 1]);
    // k=3, s=1 on 6: total 2, symmetric.
    let (p, _) = conv_pads([6, 6], 3, 1, vec![a_str("auto_pad", "SAME_LOWER")]);
    assert_eq!(p, [1, 1, 1, 1]);
    let (p, s) = conv_pads([6, 6], 3, 1, vec![a_str("auto_pad", "VALID")]);
    assert_eq!((p, s), ([0; 4], vec![1, 1, 4, 4]));
    let (p, s) = conv_pads([6, 6], 3, 1, vec![a_ints("pads", &[1, 2, 3, 4])]);
    assert_eq!((p, s), ([1, 2, 3, 4], vec![1, 1, 8, 10]));
    let (p, _) = conv_pads([6, 6], 3, 1, vec![a_str("auto_pad", "NOTSET")]);
    assert_eq!(p, [0; 4]);
}

#[test]
fn bad_auto_pad_is_unsupported() {
    let nodes = vec![node(
        "Conv",
        "c1",
        &["x", "w"],
        &["y"],
        vec![a_str("auto_pad", "FOO")],
    )];
    let e = load_model(
        &model(
            nodes,
            vec![t_f32("w", &[1, 1, 1, 1], &[1.0])],
            &[1, 1, 2, 2],
            &["y"],
        ),
        &Default::default(),
    )
    .unwrap_err();
    let (n, op, what) = unsupported(e);
    assert_eq!((n.as_str(), op.as_str()), ("c1", "Conv"));
    assert_eq!(what, "attribute 'auto_pad' = \"FOO\"");
}

#[test]
fn depthwise_conv_and_pool_pads() {
    let nodes = vec![
        node(
            "Conv",
            "dw",
            &["x", "w"],
            &["c"],
            vec![a_int("group", 3), a_str("auto_pad", "SAME_UPPER")],
        ),
        node(
            "MaxPool",
            "mp",
            &["c"],
            &["m"],
            vec![
                a_ints("kernel_shape", &[3, 3]),
                a_ints("strides", &[2, 2]),
                a_str("auto_pad", "SAME_UPPER"),
            ],
        ),
        node(
            "AveragePool",
            "ap",
            &["m"],
            &["a"],
            vec![
                a_ints("kernel_shape", &[2, 2]),
                a_ints("pads", &[0, 0, 1, 1]),
                a_ints("strides", &[2, 2]),
                a_int("ceil_mode", 1),
                a_int("count_include_pad", 1),
            ],
        ),
    ];
    let g = load(&model(
        nodes,
        vec![t_f32("w", &[3, 1, 3, 3], &[0.5; 27])],
        &[1, 3, 9, 9],
        &["a"],
    ));
    assert!(conv_of(&g, 0).is_depthwise());
    assert_eq!(conv_of(&g, 0).pads, [1, 1, 1, 1]);
    match &g.nodes[1].op {
        // out 5: total = 4*2+3-9 = 2.
        Op::MaxPool(p) => assert_eq!(p.pads, [1, 1, 1, 1]),
        op => panic!("{}", op.kind()),
    }
    match &g.nodes[2].op {
        Op::AveragePool(p) => assert!(p.ceil_mode && p.count_include_pad),
        op => panic!("{}", op.kind()),
    }
    assert_eq!(g.shape(g.nodes[1].outputs[0]), [1, 3, 5, 5]);
    assert_eq!(out_shape(&g), [1, 3, 3, 3]);
}

fn reshape_to(in_dims: &[i64], shape: &[i64], allowzero: Option<i64>) -> Result<Vec<usize>, Error> {
    let attrs = allowzero
        .map(|a| vec![a_int("allowzero", a)])
        .unwrap_or_default();
    let nodes = vec![node("Reshape", "rs", &["x", "s"], &["y"], attrs)];
    let opset = if allowzero.is_some() { 14 } else { 13 };
    let bytes = model_with(
        opset,
        nodes,
        vec![t_i64("s", &[shape.len() as i64], shape)],
        vec![vi("x", &fixed(in_dims))],
        &["y"],
    );
    load_model(&bytes, &Default::default()).map(|g| out_shape(&g))
}

#[test]
fn reshape_zero_and_minus_one() {
    assert_eq!(reshape_to(&[2, 3, 4], &[0, -1], None).unwrap(), [2, 12]);
    assert_eq!(reshape_to(&[2, 3, 4], &[-1, 4], None).unwrap(), [6, 4]);
    assert_eq!(
        reshape_to(&[2, 3, 4], &[0, 0, 2, 2], None).unwrap(),
        [2, 3, 2, 2]
    );
    assert_eq!(
        reshape_to(&[1, 8, 1, 1], &[1, -1], Some(0)).unwrap(),
        [1, 8]
    );
    assert!(matches!(
        reshape_to(&[2, 3, 4], &[-1, -1], None),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        reshape_to(&[2, 3, 4], &[5, -1], None),
        Err(Error::Shape { .. })
    ));
    // allowzero=1 keeps 0 literal: 24 elements cannot become 0.
    assert!(matches!(
        reshape_to(&[2, 3, 4], &[0, 24], Some(1)),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn reshape_with_constant_node_and_computed_shape() {
    let value = AttributeProto {
        t: Some(t_i64("", &[2], &[1, -1])),
        ..attr("value", attribute_type::TENSOR)
    };
    let nodes = vec![
        node("Constant", "k", &[], &["s"], vec![value]),
        node("Reshape", "rs", &["x", "s"], &["y"], vec![]),
    ];
    let g = load(&model(nodes, vec![], &[1, 2, 3], &["y"]));
    assert_eq!(out_shape(&g), [1, 6]);

    let computed = vec![node("Reshape", "rs", &["x", "x"], &["y"], vec![])];
    let e = load_model(
        &model(computed, vec![], &[1, 2], &["y"]),
        &Default::default(),
    )
    .unwrap_err();
    assert!(unsupported(e).2.contains("'shape' is not a constant"));
}

#[test]
fn gemm_normalisation() {
    // B stored [K=3, N=2] (transB = 0); alpha folds into W = alpha * B^T, beta into bias.
    let b = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let nodes = vec![node(
        "Gemm",
        "fc",
        &["x", "b", "c"],
        &["y"],
        vec![a_float("alpha", 2.0), a_float("beta", 0.5)],
    )];
    let g = load(&model(
        nodes,
        vec![t_f32("b", &[3, 2], &b), t_f32("c", &[2], &[10.0, 20.0])],
        &[4, 3],
        &["y"],
    ));
    let gm = gemm_of(&g, 0);
    assert_eq!(gm.weight.dim(), (2, 3));
    close(
        gm.weight.as_standard_layout().as_slice().unwrap(),
        &[2.0, 6.0, 10.0, 4.0, 8.0, 12.0],
    );
    close(gm.bias.as_ref().unwrap().as_slice().unwrap(), &[5.0, 10.0]);
    assert_eq!(out_shape(&g), [4, 2]);

    // transB = 1: B is already [N, K]; C may be [M, N]; transA reads x as [K, M].
    let nodes = vec![node(
        "Gemm",
        "fc",
        &["x", "b", "c"],
        &["y"],
        vec![a_int("transB", 1), a_int("transA", 1)],
    )];
    let g = load(&model(
        nodes,
        vec![t_f32("b", &[2, 3], &b), t_f32("c", &[4, 1], &[1.0; 4])],
        &[3, 4],
        &["y"],
    ));
    let gm = gemm_of(&g, 0);
    assert!(gm.trans_a);
    close(gm.weight.as_slice().unwrap(), &b);
    assert_eq!(gm.bias.as_ref().unwrap().shape(), [4, 1]);
    assert_eq!(out_shape(&g), [4, 2]);

    // No C, or beta = 0: no bias.
    let nodes = vec![node(
        "Gemm",
        "fc",
        &["x", "b", "c"],
        &["y"],
        vec![a_float("beta", 0.0)],
    )];
    let g = load(&model(
        nodes,
        vec![t_f32("b", &[3, 2], &b), t_f32("c", &[2], &[1.0; 2])],
        &[1, 3],
        &["y"],
    ));
    assert!(gemm_of(&g, 0).bias.is_none());
}

#[test]
fn gemm_with_computed_b_is_unsupported() {
    let nodes = vec![node("Gemm", "fc", &["x", "x"], &["y"], vec![])];
    let e = load_model(&model(nodes, vec![], &[2, 2], &["y"]), &Default::default()).unwrap_err();
    assert_eq!(unsupported(e).2, "input 'B' is not a constant initializer");
}

#[test]
fn matmul_constant_becomes_gemm() {
    let nodes = vec![node("MatMul", "mm", &["x", "b"], &["y"], vec![])];
    let g = load(&model(
        nodes,
        vec![t_f32("b", &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])],
        &[1, 3],
        &["y"],
    ));
    let gm = gemm_of(&g, 0);
    close(
        gm.weight.as_slice().unwrap(),
        &[1.0, 3.0, 5.0, 2.0, 4.0, 6.0],
    );
    assert_eq!(out_shape(&g), [1, 2]);

    // 3-D A stays a MatMul, the constant becomes a graph constant.
    let nodes = vec![node("MatMul", "mm", &["x", "b"], &["y"], vec![])];
    let g = load(&model(
        nodes,
        vec![t_f32("b", &[3, 2], &[0.0; 6])],
        &[2, 4, 3],
        &["y"],
    ));
    assert_eq!(kinds(&g), ["MatMul"]);
    assert_eq!(g.constants.len(), 1);
    assert_eq!(out_shape(&g), [2, 4, 2]);
}

#[test]
fn conv_clip_fuses_into_one_conv() {
    let nodes = vec![
        node("Conv", "conv", &["x", "w"], &["c"], vec![]),
        node("Clip", "clip", &["c", "lo", "hi"], &["y"], vec![]),
    ];
    let inits = vec![
        t_f32("w", &[2, 1, 1, 1], &[1.0, 1.0]),
        t_f32("lo", &[], &[0.0]),
        t_f32("hi", &[], &[6.0]),
    ];
    let bytes = model(nodes, inits, &[1, 1, 2, 2], &["y"]);
    let g = load(&bytes);
    assert_eq!(kinds(&g), ["Conv"]);
    assert_eq!(conv_of(&g, 0).activation, Activation { min: 0.0, max: 6.0 });
    assert_eq!(g.nodes[0].outputs, g.outputs);
    assert_eq!(g.values[g.outputs[0]].name, "y");

    let raw = load_raw(&bytes);
    assert_eq!(kinds(&raw), ["Conv", "Clip"]);
    assert!(conv_of(&raw, 0).activation.is_none());
}

#[test]
fn relu_then_clip_fuses_twice_and_shared_outputs_do_not_fuse() {
    let nodes = vec![
        node("Gemm", "fc", &["x", "w"], &["g"], vec![]),
        node("Relu", "relu", &["g"], &["r"], vec![]),
        node(
            "Clip",
            "clip",
            &["r"],
            &["y"],
            vec![a_float("min", -1.0), a_float("max", 3.0)],
        ),
    ];
    let bytes = model_with(
        6,
        nodes,
        vec![t_f32("w", &[2, 2], &[1.0; 4])],
        vec![vi("x", &fixed(&[1, 2]))],
        &["y"],
    );
    let g = load(&bytes);
    assert_eq!(kinds(&g), ["Gemm"]);
    assert_eq!(gemm_of(&g, 0).activation, Activation { min: 0.0, max: 3.0 });

    // The conv output is also a graph output: the Relu must stay.
    let nodes = vec![
        node("Conv", "conv", &["x", "w"], &["c"], vec![]),
        node("Relu", "relu", &["c"], &["y"], vec![]),
    ];
    let g = load(&model(
        nodes,
        vec![t_f32("w", &[1, 1, 1, 1], &[1.0])],
        &[1, 1, 2, 2],
        &["y", "c"],
    ));
    assert_eq!(kinds(&g), ["Conv", "Relu"]);
}

#[test]
fn clip_bounds_by_opset() {
    // Opset 11+: omitted min (empty name), constant max.
    let nodes = vec![node("Clip", "clip", &["x", "", "hi"], &["y"], vec![])];
    let g = load(&model(
        nodes,
        vec![t_f32("hi", &[], &[6.0])],
        &[1, 4],
        &["y"],
    ));
    match &g.nodes[0].op {
        Op::Clip(c) => assert_eq!((c.min, c.max), (f32::NEG_INFINITY, 6.0)),
        op => panic!("{}", op.kind()),
    }
    // A computed bound is unsupported.
    let nodes = vec![node("Clip", "clip", &["x", "x"], &["y"], vec![])];
    let e = load_model(&model(nodes, vec![], &[1], &["y"]), &Default::default()).unwrap_err();
    assert_eq!(
        unsupported(e).2,
        "input 'min' is not a constant initializer"
    );
}

#[test]
fn softmax_axis_by_opset() {
    let sm = |opset, attrs| {
        let nodes = vec![node("Softmax", "sm", &["x"], &["y"], attrs)];
        let g = load(&model_with(
            opset,
            nodes,
            vec![],
            vec![vi("x", &fixed(&[2, 3, 4]))],
            &["y"],
        ));
        match g.nodes[0].op {
            Op::Softmax(s) => (s.axis, s.coerce_2d),
            ref op => panic!("{}", op.kind()),
        }
    };
    assert_eq!(sm(11, vec![]), (1, true));
    assert_eq!(sm(13, vec![]), (2, false));
    assert_eq!(sm(13, vec![a_int("axis", -2)]), (1, false));
}

#[test]
fn pad_concat_flatten_identity_dropout() {
    let nodes = vec![
        node(
            "Pad",
            "pad",
            &["x", "pads", "cv"],
            &["p"],
            vec![a_str("mode", "constant")],
        ),
        node(
            "Concat",
            "cat",
            &["p", "k"],
            &["c"],
            vec![a_int("axis", -3)],
        ),
        node("Identity", "id", &["c"], &["i"], vec![]),
        node("Dropout", "drop", &["i"], &["d"], vec![]),
        node("Flatten", "flat", &["d"], &["f"], vec![a_int("axis", -2)]),
    ];
    let inits = vec![
        t_i64("pads", &[8], &[0, 0, 1, 2, 0, 0, 3, 4]),
        t_f32("cv", &[], &[0.5]),
        t_f32("k", &[1, 1, 6, 8], &[0.0; 48]),
    ];
    let bytes = model(nodes, inits, &[1, 2, 2, 2], &["f"]);
    let g = load(&bytes);
    assert_eq!(kinds(&g), ["Pad", "Concat", "Flatten"]);
    match &g.nodes[0].op {
        Op::Pad(p) => {
            assert_eq!(p.pads, [(0, 0), (0, 0), (1, 3), (2, 4)]);
            assert_eq!(p.mode, quantscope::ir::ops::PadMode::Constant(0.5));
        }
        op => panic!("{}", op.kind()),
    }
    assert_eq!(
        g.constants.len(),
        1,
        "the Concat constant is a graph constant"
    );
    assert_eq!(out_shape(&g), [3, 6 * 8]);
    assert_eq!(g.values[g.outputs[0]].name, "f");
    assert_eq!(
        kinds(&load_raw(&bytes)),
        ["Pad", "Concat", "Identity", "Identity", "Flatten"]
    );
}

#[test]
fn identity_output_keeps_its_name() {
    let nodes = vec![
        node("Relu", "relu", &["x"], &["r"], vec![]),
        node("Identity", "id", &["r"], &["out"], vec![]),
    ];
    let g = load(&model(nodes, vec![], &[1, 2], &["out"]));
    assert_eq!(kinds(&g), ["Relu"]);
    assert_eq!(g.values[g.outputs[0]].name, "out");
    assert_eq!(g.nodes[0].outputs, g.outputs);
    // Input straight to output: the Identity stays so input and output remain distinct.
    let nodes = vec![node("Identity", "id", &["x"], &["out"], vec![])];
    let g = load(&model(nodes, vec![], &[1, 2], &["out"]));
    assert_eq!(kinds(&g), ["Identity"]);
}

#[test]
fn pad_modes_and_rejections() {
    let pad = |opset: i64, attrs: Vec<AttributeProto>, pads: &[i64]| {
        let (nodes, inits) = if opset < 11 {
            let mut a = attrs;
            a.push(a_ints("pads", pads));
            (vec![node("Pad", "pad", &["x"], &["y"], a)], vec![])
        } else {
            (
                vec![node("Pad", "pad", &["x", "p"], &["y"], attrs)],
                vec![t_i64("p", &[pads.len() as i64], pads)],
            )
        };
        load_model(
            &model_with(
                opset,
                nodes,
                inits,
                vec![vi("x", &fixed(&[1, 1, 4, 4]))],
                &["y"],
            ),
            &Default::default(),
        )
    };
    let g = pad(2, vec![a_str("mode", "reflect")], &[0, 0, 1, 1, 0, 0, 1, 1]).unwrap();
    assert_eq!(out_shape(&g), [1, 1, 6, 6]);
    let g = pad(13, vec![a_str("mode", "edge")], &[0, 0, 0, 2, 0, 0, 0, 0]).unwrap();
    assert_eq!(out_shape(&g), [1, 1, 4, 6]);
    assert!(
        unsupported(pad(13, vec![], &[0, 0, -1, 0, 0, 0, 0, 0]).unwrap_err())
            .2
            .contains("negative pad")
    );
    assert_eq!(
        unsupported(pad(19, vec![a_str("mode", "wrap")], &[0; 8]).unwrap_err()).2,
        "attribute 'mode' = \"wrap\""
    );
    assert!(matches!(
        pad(13, vec![], &[0; 6]),
        Err(Error::MalformedModel(_))
    ));
}

#[test]
fn pad_axes_input() {
    let nodes = vec![node("Pad", "pad", &["x", "p", "", "ax"], &["y"], vec![])];
    let inits = vec![t_i64("p", &[4], &[1, 2, 3, 4]), t_i64("ax", &[2], &[-1, 2])];
    let g = load(&model_with(
        18,
        nodes,
        inits,
        vec![vi("x", &fixed(&[1, 1, 4, 4]))],
        &["y"],
    ));
    assert_eq!(out_shape(&g), [1, 1, 4 + 2 + 4, 4 + 1 + 3]);
}

#[test]
fn nodes_out_of_order_are_sorted() {
    let nodes = vec![
        node("Sigmoid", "b", &["r"], &["y"], vec![]),
        node("Relu", "a", &["x"], &["r"], vec![]),
    ];
    let g = load(&model(nodes, vec![], &[1, 3], &["y"]));
    assert_eq!(kinds(&g), ["Relu", "Sigmoid"]);
}

#[test]
fn float_data_and_double_initializers() {
    let w = TensorProto {
        name: "w".into(),
        dims: vec![1, 1, 1, 1],
        data_type: data_type::FLOAT,
        float_data: vec![3.0],
        ..Default::default()
    };
    let b = TensorProto {
        name: "b".into(),
        dims: vec![1],
        data_type: data_type::DOUBLE,
        double_data: vec![0.25],
        ..Default::default()
    };
    let nodes = vec![node("Conv", "conv", &["x", "w", "b"], &["y"], vec![])];
    let g = load(&model(nodes, vec![w, b], &[1, 1, 1, 1], &["y"]));
    assert_eq!(conv_of(&g, 0).weight.as_slice().unwrap(), [3.0]);
    assert_eq!(conv_of(&g, 0).bias, [0.25]);
}

#[test]
fn dynamic_dims_need_an_override() {
    // A symbolic batch is bound to 1; any other dynamic dim needs the shape, and the
    // message prints the shape as the user would write it.
    let nodes = vec![node("Relu", "relu", &["x"], &["y"], vec![])];
    let batch_only = model_with(
        13,
        nodes.clone(),
        vec![],
        vec![vi("x", &[None, Some(3)])],
        &["y"],
    );
    assert_eq!(out_shape(&load(&batch_only)), [1, 3]);
    let minus_one = model_with(
        13,
        nodes.clone(),
        vec![],
        vec![vi("x", &[Some(-1), Some(3)])],
        &["y"],
    );
    assert_eq!(out_shape(&load(&minus_one)), [1, 3]);
    let spatial = model_with(
        13,
        nodes.clone(),
        vec![],
        vec![vi("x", &[None, Some(3), None, None])],
        &["y"],
    );
    let msg = load_model(&spatial, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("'x'") && msg.contains("[1, 3, ?, ?]"), "{msg}");

    let bytes = batch_only;
    let over = |shape: Vec<usize>| ImportOptions {
        input_shapes: vec![("x".into(), shape)],
        ..Default::default()
    };
    let g = load_model(&bytes, &over(vec![4, 3])).unwrap();
    assert_eq!(out_shape(&g), [4, 3]);
    // Overrides must agree with fixed dims, and name real inputs.
    assert!(matches!(
        load_model(&bytes, &over(vec![4, 5])),
        Err(Error::Input(_))
    ));
    let bad_name = ImportOptions {
        input_shapes: vec![("nope".into(), vec![1])],
        ..Default::default()
    };
    assert!(matches!(
        load_model(&bytes, &bad_name),
        Err(Error::Input(_))
    ));
}

#[test]
fn bound_inputs_become_constants() {
    let nodes = vec![node("Add", "add", &["x", "bias"], &["y"], vec![])];
    let inputs = vec![vi("x", &fixed(&[1, 3])), vi("bias", &fixed(&[3]))];
    let bytes = model_with(13, nodes, vec![], inputs, &["y"]);
    let opts = ImportOptions {
        bind: vec![("bias".into(), ndarray::ArrayD::from_elem(vec![3], 1.5))],
        ..Default::default()
    };
    let g = load_model(&bytes, &opts).unwrap();
    assert_eq!(g.inputs.len(), 1);
    assert_eq!(g.constants.len(), 1);
    assert_eq!(g.constants[0].1.as_slice().unwrap(), [1.5; 3]);
}

#[test]
fn initializers_listed_as_inputs_are_not_runtime_inputs() {
    let nodes = vec![node("Mul", "mul", &["x", "s"], &["y"], vec![])];
    let inputs = vec![vi("x", &fixed(&[2])), vi("s", &fixed(&[1]))];
    let g = load(&model_with(
        6,
        nodes,
        vec![t_f32("s", &[1], &[2.0])],
        inputs,
        &["y"],
    ));
    assert_eq!(g.inputs.len(), 1);
    assert_eq!(g.constants.len(), 1);
}

// ---- errors ---------------------------------------------------------------------------

#[test]
fn empty_and_random_bytes_are_errors() {
    assert!(matches!(
        load_model(&[], &Default::default()),
        Err(Error::MalformedModel(_))
    ));
    let mut rng = SmallRng::seed_from_u64(7);
    for len in [1, 2, 5, 16, 100, 1000, 10_000] {
        for _ in 0..20 {
            let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            assert!(
                load_model(&bytes, &Default::default()).is_err(),
                "{len} random bytes loaded"
            );
        }
    }
}

#[test]
fn truncated_models_are_errors() {
    let bytes = classifier();
    assert!(load_model(&bytes, &Default::default()).is_ok());
    for cut in 0..bytes.len() {
        let r = load_model(&bytes[..cut], &Default::default());
        assert!(
            r.is_err(),
            "model truncated to {cut} of {} bytes loaded",
            bytes.len()
        );
    }
}

#[test]
fn corrupted_models_do_not_panic() {
    let bytes = classifier();
    let mut rng = SmallRng::seed_from_u64(11);
    for _ in 0..2000 {
        let mut b = bytes.clone();
        for _ in 0..rng.random_range(1..4) {
            let i = rng.random_range(0..b.len());
            b[i] = rng.random();
        }
        let _ = load_model(&b, &Default::default());
    }
}

#[test]
fn unsupported_op_names_node_and_op_type() {
    let nodes = vec![
        node("Relu", "", &["x"], &["r"], vec![]),
        node("LSTM", "", &["r"], &["y"], vec![]),
    ];
    let e = load_model(&model(nodes, vec![], &[1, 2], &["y"]), &Default::default()).unwrap_err();
    let msg = e.to_string();
    let (n, op, _) = unsupported(e);
    assert_eq!((n.as_str(), op.as_str()), ("LSTM#1", "LSTM"));
    assert!(msg.contains("LSTM#1") && msg.contains("(LSTM)"), "{msg}");

    let nodes = vec![node("LSTM", "my_lstm", &["x"], &["y"], vec![])];
    let (n, _, _) = unsupported(
        load_model(&model(nodes, vec![], &[1, 2], &["y"]), &Default::default()).unwrap_err(),
    );
    assert_eq!(n, "my_lstm");
}

#[test]
fn other_domains_and_unknown_attributes_are_unsupported() {
    let mut n = node("Relu", "r", &["x"], &["y"], vec![]);
    n.domain = "com.microsoft".into();
    let (_, _, what) = unsupported(
        load_model(&model(vec![n], vec![], &[1], &["y"]), &Default::default()).unwrap_err(),
    );
    assert_eq!(
        what,
        "unsupported operators: com.microsoft.Relu x1 (first: r)"
    );
    let n = node("Relu", "r", &["x"], &["y"], vec![a_int("frobnicate", 1)]);
    let (_, _, what) = unsupported(
        load_model(&model(vec![n], vec![], &[1], &["y"]), &Default::default()).unwrap_err(),
    );
    assert_eq!(what, "attribute 'frobnicate'");
}

#[test]
fn non_constant_conv_weight_is_unsupported() {
    let nodes = vec![node("Conv", "conv", &["x", "w"], &["y"], vec![])];
    let inputs = vec![
        vi("x", &fixed(&[1, 1, 2, 2])),
        vi("w", &fixed(&[1, 1, 1, 1])),
    ];
    let e = load_model(
        &model_with(13, nodes, vec![], inputs, &["y"]),
        &Default::default(),
    )
    .unwrap_err();
    let (n, op, what) = unsupported(e);
    assert_eq!(
        (n.as_str(), op.as_str(), what.as_str()),
        ("conv", "Conv", "input 'W' is not a constant initializer")
    );
}

#[test]
fn conv_3d_is_unsupported() {
    let nodes = vec![node("Conv", "conv", &["x", "w"], &["y"], vec![])];
    let e = load_model(
        &model(
            nodes,
            vec![t_f32("w", &[1, 1, 1, 1, 1], &[1.0])],
            &[1, 1, 2, 2, 2],
            &["y"],
        ),
        &Default::default(),
    )
    .unwrap_err();
    assert_eq!(unsupported(e).2, "3-D convolution");
}

#[test]
fn maxpool_indices_and_dropout_mask_are_unsupported_when_used() {
    let nodes = vec![
        node(
            "MaxPool",
            "mp",
            &["x"],
            &["y", "idx"],
            vec![a_ints("kernel_shape", &[2, 2])],
        ),
        node("Relu", "r", &["idx"], &["z"], vec![]),
    ];
    let e = load_model(
        &model(nodes, vec![], &[1, 1, 4, 4], &["y", "z"]),
        &Default::default(),
    )
    .unwrap_err();
    assert_eq!(unsupported(e).2, "output 'Indices' is used");
    // Unused Indices is fine.
    let nodes = vec![node(
        "MaxPool",
        "mp",
        &["x"],
        &["y", "idx"],
        vec![a_ints("kernel_shape", &[2, 2])],
    )];
    assert!(load_model(
        &model(nodes, vec![], &[1, 1, 4, 4], &["y"]),
        &Default::default()
    )
    .is_ok());
    let nodes = vec![node("Dropout", "d", &["x"], &["y", "mask"], vec![])];
    let e = load_model(
        &model(nodes, vec![], &[1, 4], &["y", "mask"]),
        &Default::default(),
    )
    .unwrap_err();
    assert_eq!(unsupported(e).2, "output 'mask' is used");
}

#[test]
fn dangling_names_and_bad_tensors_are_malformed() {
    let nodes = vec![node("Relu", "r", &["nothing"], &["y"], vec![])];
    let e = load_model(&model(nodes, vec![], &[1], &["y"]), &Default::default()).unwrap_err();
    assert!(
        matches!(&e, Error::MalformedModel(m) if m.contains("'nothing'")),
        "{e}"
    );

    let nodes = vec![node("Relu", "r", &["x"], &["y"], vec![])];
    let e = load_model(
        &model(nodes, vec![], &[1], &["missing"]),
        &Default::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::MalformedModel(_)), "{e}");

    // Dims claim 1000 floats, raw_data holds one.
    let mut w = t_f32("w", &[1000, 1, 1, 1], &[1.0]);
    let nodes = vec![node("Conv", "conv", &["x", "w"], &["y"], vec![])];
    let e = load_model(
        &model(nodes.clone(), vec![w.clone()], &[1, 1, 1, 1], &["y"]),
        &Default::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::MalformedModel(_)), "{e}");
    // Huge dims must not allocate.
    w.dims = vec![1 << 40, 1 << 40, 1, 1];
    let e = load_model(
        &model(nodes, vec![w], &[1, 1, 1, 1], &["y"]),
        &Default::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::MalformedModel(_)), "{e}");
}

#[test]
fn missing_opset_and_external_data() {
    let mut m = ModelProto::decode(classifier().as_slice()).unwrap();
    m.opset_import[0].domain = "ai.onnx.ml".into();
    assert!(matches!(
        load_model(&m.encode_to_vec(), &Default::default()),
        Err(Error::MalformedModel(_))
    ));
    m.opset_import[0].domain = String::new();
    m.opset_import[0].version = 99;
    assert!(matches!(
        load_model(&m.encode_to_vec(), &Default::default()),
        Err(Error::Unsupported { .. })
    ));

    let mut m = ModelProto::decode(classifier().as_slice()).unwrap();
    let w = &mut m.graph.as_mut().unwrap().initializer[0];
    w.raw_data.clear();
    w.data_location = 1;
    let (n, op, what) =
        unsupported(load_model(&m.encode_to_vec(), &Default::default()).unwrap_err());
    assert_eq!(
        (n.as_str(), op.as_str(), what.as_str()),
        ("w", "TensorProto", "externally stored tensor data")
    );
}

#[test]
fn read_tensor_round_trip_and_errors() {
    let bytes = t_f32("input_0", &[1, 2, 2], &[1.0, 2.0, 3.0, 4.0]).encode_to_vec();
    let (name, t) = read_tensor(&bytes).unwrap();
    assert_eq!(name, "input_0");
    assert_eq!(t.shape(), [1, 2, 2]);
    assert_eq!(t.as_slice().unwrap(), [1.0, 2.0, 3.0, 4.0]);

    let (n, op, _) =
        unsupported(read_tensor(&t_i64("ids", &[2], &[1, 2]).encode_to_vec()).unwrap_err());
    assert_eq!((n.as_str(), op.as_str()), ("ids", "TensorProto"));
    for cut in 1..bytes.len() {
        assert!(read_tensor(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let int8 = TensorProto {
        name: "q".into(),
        dims: vec![2],
        data_type: data_type::INT8,
        raw_data: vec![1, 2],
        ..Default::default()
    };
    assert!(unsupported(read_tensor(&int8.encode_to_vec()).unwrap_err())
        .2
        .contains("INT8"));
}

// ---- a real model ---------------------------------------------------------------------

/// Loads EfficientNet-Lite0 as `make models` writes it (or from `QUANTSCOPE_MODEL`).
#[test]
fn efficientnet_lite0_structure() {
    let path = common::model_path().display().to_string();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let g = load(&bytes);
    let mut counts = std::collections::BTreeMap::new();
    for n in &g.nodes {
        *counts.entry(n.op.kind()).or_insert(0usize) += 1;
    }
    println!(
        "{path}: {} nodes, {} parameters: {counts:?}",
        g.nodes.len(),
        g.parameter_count()
    );
    let convs = counts.get("Conv").copied().unwrap_or(0);
    let fused = g
        .nodes
        .iter()
        .filter(|n| matches!(&n.op, Op::Conv(c) if !c.activation.is_none()))
        .count();
    println!("Conv: {convs} ({fused} with a fused activation)");
    assert_eq!(g.inputs.len(), 1);
    assert_eq!(g.shape(g.inputs[0]), [1, 3, 224, 224]);
    assert_eq!(out_shape(&g), [1, 1000]);
    // 49 convolutions (stem, 16 MBConv blocks, head), every BatchNorm folded into them,
    // every ReLU6 (Clip) fused, 9 residual Adds, then GAP -> Flatten -> Gemm.
    assert_eq!(convs, 49, "convolutions");
    assert_eq!(fused, 33, "convolutions with a fused ReLU6");
    assert_eq!(counts.get("Add"), Some(&9));
    assert_eq!(counts.get("Gemm"), Some(&1));
    assert!(
        !counts.contains_key("Relu") && !counts.contains_key("Clip"),
        "activations left unfused"
    );
    assert!(!counts.contains_key("Mul"), "a BatchNorm was not folded");
    // Truncated copies of a real file are errors, not panics.
    for k in 0..40 {
        let cut = bytes.len() * k / 40;
        assert!(
            load_model(&bytes[..cut], &Default::default()).is_err(),
            "cut at {cut}"
        );
    }
    assert!(!counts.contains_key("Identity"));
}

#[test]
fn hostile_sizes_are_errors_not_panics() {
    // An input of 2^60 elements.
    let nodes = vec![node("Relu", "r", &["x"], &["y"], vec![])];
    assert!(load_model(
        &model(nodes, vec![], &[1 << 20, 1 << 20, 1 << 20], &["y"]),
        &Default::default()
    )
    .is_err());
    // A reshape target whose product overflows before reaching its 0.
    assert!(reshape_to(&[2], &[1 << 40, 1 << 40, 0], Some(1)).is_err());
    // Huge strides, dilations and pads.
    for a in [
        a_ints("strides", &[1 << 40, 1]),
        a_ints("dilations", &[i64::MAX, 1]),
        a_ints("pads", &[0, 0, -1, 0]),
        a_ints("pads", &[i64::MAX, 0, 0, 0]),
        a_int("group", i64::MAX),
        a_int("group", 0),
    ] {
        let nodes = vec![node("Conv", "c", &["x", "w"], &["y"], vec![a])];
        let bytes = model(
            nodes,
            vec![t_f32("w", &[1, 1, 1, 1], &[1.0])],
            &[1, 1, 2, 2],
            &["y"],
        );
        assert!(load_model(&bytes, &Default::default()).is_err());
    }
    let nodes = vec![node(
        "MaxPool",
        "p",
        &["x"],
        &["y"],
        vec![
            a_ints("kernel_shape", &[1 << 14, 1 << 14]),
            a_ints("dilations", &[1 << 14, 1 << 14]),
        ],
    )];
    assert!(load_model(
        &model(nodes, vec![], &[1, 1, 2, 2], &["y"]),
        &Default::default()
    )
    .is_err());
}
