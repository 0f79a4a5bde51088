//! Per-op tests of the float executor against hand-computed values, plus a randomized check of
//! convolution against a direct loop.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use ndarray::{Array2, Array4, ArrayD, IxDyn};
use quantscope::exec::FloatExecutor;
use quantscope::ir::ops::{
    Clip, Concat, Conv, Flatten, Gemm, Pad, PadMode, Pool, Reshape, Softmax,
};
use quantscope::ir::{Activation, Graph, Op, Tensor};
use quantscope::Error;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const RELU6: Activation = Activation { min: 0.0, max: 6.0 };

fn t(shape: &[usize], data: &[f32]) -> Tensor {
    ArrayD::from_shape_vec(IxDyn(shape), data.to_vec()).unwrap()
}

fn seq(shape: &[usize], start: f32) -> Tensor {
    let n: usize = shape.iter().product();
    t(shape, &(0..n).map(|i| start + i as f32).collect::<Vec<_>>())
}

#[track_caller]
fn assert_close(got: &Tensor, shape: &[usize], want: &[f32]) {
    assert_eq!(got.shape(), shape, "shape");
    let got: Vec<f32> = got.iter().copied().collect();
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * w.abs().max(1.0),
            "at {i}: got {got:?}, want {want:?}"
        );
    }
    assert_eq!(got.len(), want.len());
}

/// A graph with one runtime input per tensor (named `x0`, `x1`, ...) and one node.
fn single(op: Op, inputs: &[&Tensor]) -> Vec<Tensor> {
    let mut g = Graph::default();
    let ids: Vec<usize> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| g.add_value(format!("x{i}"), x.shape().to_vec()))
        .collect();
    g.inputs = ids.clone();
    let y = g.add_node("node", op, ids, &["y".to_string()]).unwrap();
    g.outputs = y;
    let exec = FloatExecutor::new(g).unwrap();
    let owned: Vec<Tensor> = inputs.iter().map(|x| (*x).clone()).collect();
    exec.run(&owned).unwrap()
}

fn run1(op: Op, x: &Tensor) -> Tensor {
    single(op, &[x]).remove(0)
}

#[allow(clippy::too_many_arguments)]
fn conv(
    w: &[f32],
    wshape: [usize; 4],
    bias: &[f32],
    strides: [usize; 2],
    dilations: [usize; 2],
    pads: [usize; 4],
    group: usize,
    activation: Activation,
) -> Op {
    Op::Conv(Conv {
        weight: Array4::from_shape_vec(wshape, w.to_vec()).unwrap(),
        bias: bias.to_vec(),
        strides,
        dilations,
        pads,
        group,
        activation,
    })
}

fn pool(
    kernel: usize,
    stride: usize,
    dilation: usize,
    pads: [usize; 4],
    ceil: bool,
    cip: bool,
) -> Pool {
    Pool {
        kernel: [kernel; 2],
        strides: [stride; 2],
        dilations: [dilation; 2],
        pads,
        ceil_mode: ceil,
        count_include_pad: cip,
    }
}

// ---------------------------------------------------------------- Conv

#[test]
fn conv_1x1() {
    // c0 = [1,2,3,4], c1 = [5,6,7,8];
    // o0 = c0 + c1 = [6,8,10,12]; o1 = 2c0 - c1 + 1 = [-2,-1,0,1]; o2 = 0.5c1 - 1 = [1.5,2,2.5,3].
    let x = seq(&[1, 2, 2, 2], 1.0);
    let op = conv(
        &[1., 1., 2., -1., 0., 0.5],
        [3, 2, 1, 1],
        &[0., 1., -1.],
        [1, 1],
        [1, 1],
        [0; 4],
        1,
        Activation::NONE,
    );
    let y = run1(op, &x);
    assert_close(
        &y,
        &[1, 3, 2, 2],
        &[6., 8., 10., 12., -2., -1., 0., 1., 1.5, 2., 2.5, 3.],
    );
}

#[test]
fn conv_3x3_padded_batch2() {
    // x = 1..9 in a 3x3 grid; o0 sums each zero-padded 3x3 neighbourhood:
    //   (0,0) 1+2+4+5=12, (0,1) 1+..+6=21, (0,2) 2+3+5+6=16, (1,0) 27, (1,1) 45, (1,2) 33,
    //   (2,0) 4+5+7+8=24, (2,1) 39, (2,2) 28.
    // o1 has only the top-left tap: y(i,j) = x(i-1,j-1) -> [0,0,0, 0,1,2, 0,4,5].
    // Image 2 is image 1 doubled.
    let mut w = vec![1.0; 9];
    w.extend([1., 0., 0., 0., 0., 0., 0., 0., 0.]);
    let op = conv(
        &w,
        [2, 1, 3, 3],
        &[0., 0.],
        [1, 1],
        [1, 1],
        [1; 4],
        1,
        Activation::NONE,
    );
    let mut data: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    data.extend((1..=9).map(|v| 2.0 * v as f32));
    let y = run1(op, &t(&[2, 1, 3, 3], &data));
    let one = [
        12., 21., 16., 27., 45., 33., 24., 39., 28., 0., 0., 0., 0., 1., 2., 0., 4., 5.,
    ];
    let want: Vec<f32> = one
        .iter()
        .copied()
        .chain(one.iter().map(|v| 2.0 * v))
        .collect();
    assert_close(&y, &[2, 2, 3, 3], &want);
}

#[test]
fn conv_stride2_asymmetric_pads() {
    // TF SAME on a 4x4 input, 3x3 kernel, stride 2: pads [top 0, left 0, bottom 1, right 1].
    // x = 0..15 row-major. Windows start at rows/cols 0 and 2:
    //   (0,0): 0+1+2+4+5+6+8+9+10 = 45;  (0,1): cols 2,3 (+pad) rows 0-2: 2+3+6+7+10+11 = 39;
    //   (1,0): rows 2,3 (+pad) cols 0-2: 8+9+10+12+13+14 = 66;  (1,1): 10+11+14+15 = 50.
    let op = conv(
        &[1.0; 9],
        [1, 1, 3, 3],
        &[0.],
        [2, 2],
        [1, 1],
        [0, 0, 1, 1],
        1,
        Activation::NONE,
    );
    let y = run1(op, &seq(&[1, 1, 4, 4], 0.0));
    assert_close(&y, &[1, 1, 2, 2], &[45., 39., 66., 50.]);
}

#[test]
fn conv_grouped() {
    // group 2, 2x2 kernel on a 2x2 input -> 1x1 output.
    // o0 sees c0=[1,2,3,4], c1=[1,1,1,1] with w [1,0,0,0], [1,1,1,1]: 1 + 4 = 5, +0.5 -> 5.5.
    // o1 sees c2=[2,0,0,0], c3=[0,0,0,3] with w [1,1,1,1], [0,0,0,2]: 2 + 6 = 8, -1 -> 7.
    let x = t(
        &[1, 4, 2, 2],
        &[
            1., 2., 3., 4., 1., 1., 1., 1., 2., 0., 0., 0., 0., 0., 0., 3.,
        ],
    );
    let w = [
        1., 0., 0., 0., 1., 1., 1., 1., 1., 1., 1., 1., 0., 0., 0., 2.,
    ];
    let op = conv(
        &w,
        [2, 2, 2, 2],
        &[0.5, -1.],
        [1, 1],
        [1, 1],
        [0; 4],
        2,
        Activation::NONE,
    );
    assert_close(&run1(op, &x), &[1, 2, 1, 1], &[5.5, 7.]);
}

#[test]
fn depthwise_3x3_relu6_bias() {
    // c0 = 1..9, all-ones filter, pad 1: neighbourhood sums [12,21,16,27,45,33,24,39,28];
    //   bias -20 -> [-8,1,-4,7,25,13,4,19,8]; ReLU6 -> [0,1,0,6,6,6,4,6,6].
    // c1 = all -1: sums are -(valid taps) = corners -4, edges -6, centre -9; bias +10 ->
    //   [6,4,6,4,1,4,6,4,6] (inside [0,6]).
    let mut data: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    data.extend([-1.0; 9]);
    let op = conv(
        &[1.0; 18],
        [2, 1, 3, 3],
        &[-20., 10.],
        [1, 1],
        [1, 1],
        [1; 4],
        2,
        RELU6,
    );
    let y = run1(op, &t(&[1, 2, 3, 3], &data));
    assert_close(
        &y,
        &[1, 2, 3, 3],
        &[
            0., 1., 0., 6., 6., 6., 4., 6., 6., 6., 4., 6., 4., 1., 4., 6., 4., 6.,
        ],
    );
}

#[test]
fn depthwise_5x5_stride2_relu6_bias() {
    // 3x3 input, 5x5 kernel, stride 2, pads 2 -> 2x2 output; windows start at -2 and 0.
    // c0 = 1..9 with only the top-left tap: y(i,j) = x(2i-2, 2j-2) -> [pad, pad, pad, x(0,0)=1];
    //   bias 0.5 -> [0.5,0.5,0.5,1.5].
    // c1 = 0.1*(1..9) with an all-ones filter: every window covers the whole input, sum 4.5;
    //   bias -0.5 -> 4 everywhere. c0 again doubled by 10 would exceed 6: ReLU6 checked below.
    let mut data: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    data.extend((1..=9).map(|v| 0.1 * v as f32));
    let mut w = vec![0.0; 50];
    w[0] = 1.0;
    w[25..].fill(1.0);
    let op = conv(
        &w,
        [2, 1, 5, 5],
        &[0.5, -0.5],
        [2, 2],
        [1, 1],
        [2; 4],
        2,
        RELU6,
    );
    let y = run1(op, &t(&[1, 2, 3, 3], &data));
    assert_close(&y, &[1, 2, 2, 2], &[0.5, 0.5, 0.5, 1.5, 4., 4., 4., 4.]);
    // Same with c0 scaled by 10: x(0,0) = 10 -> 10.5 clamps to 6.
    let data10: Vec<f32> = data
        .iter()
        .enumerate()
        .map(|(i, v)| if i < 9 { 10.0 * v } else { *v })
        .collect();
    let op = conv(
        &w,
        [2, 1, 5, 5],
        &[0.5, -0.5],
        [2, 2],
        [1, 1],
        [2; 4],
        2,
        RELU6,
    );
    let y = run1(op, &t(&[1, 2, 3, 3], &data10));
    assert_close(&y, &[1, 2, 2, 2], &[0.5, 0.5, 0.5, 6., 4., 4., 4., 4.]);
}

#[test]
fn conv_paths_are_planned() {
    let mut g = Graph::default();
    let x = g.add_value("x", vec![1, 4, 4, 4]);
    g.inputs.push(x);
    let pw = conv(
        &[1.0; 16],
        [4, 4, 1, 1],
        &[0.; 4],
        [1, 1],
        [1, 1],
        [0; 4],
        1,
        Activation::NONE,
    );
    let a = g.add_node("pw", pw, vec![x], &["a".into()]).unwrap();
    let dw = conv(
        &[1.0; 36],
        [4, 1, 3, 3],
        &[0.; 4],
        [1, 1],
        [1, 1],
        [1; 4],
        4,
        Activation::NONE,
    );
    let b = g.add_node("dw", dw, a, &["b".into()]).unwrap();
    let full = conv(
        &[1.0; 144],
        [4, 4, 3, 3],
        &[0.; 4],
        [1, 1],
        [1, 1],
        [1; 4],
        1,
        Activation::NONE,
    );
    g.outputs = g.add_node("full", full, b, &["c".into()]).unwrap();
    let exec = FloatExecutor::new(g).unwrap();
    assert_eq!(
        exec.conv_paths(),
        vec![
            ("pw", "pointwise-gemm"),
            ("dw", "depthwise"),
            ("full", "im2col-gemm")
        ]
    );
}

// ---------------------------------------------------------------- Gemm, MatMul

#[test]
fn gemm_trans_a_row_bias() {
    // x [K=3, M=2] = [[1,2],[3,4],[5,6]], op(x) = [[1,3,5],[2,4,6]]; W = [[1,0,1],[0,1,-1]].
    // row 0: [1+5, 3-5] = [6,-2]; row 1: [2+6, 4-6] = [8,-2]; + bias [[10,20]] -> [[16,18],[18,18]].
    let op = Op::Gemm(Gemm {
        trans_a: true,
        weight: Array2::from_shape_vec((2, 3), vec![1., 0., 1., 0., 1., -1.]).unwrap(),
        bias: Some(t(&[1, 2], &[10., 20.])),
        activation: Activation::NONE,
    });
    let y = run1(op, &t(&[3, 2], &[1., 2., 3., 4., 5., 6.]));
    assert_close(&y, &[2, 2], &[16., 18., 18., 18.]);
}

#[test]
fn gemm_column_bias_relu() {
    // x = [[1,2,3],[4,5,6]], W = [[1,0,1],[0,1,-1]]: x W^T = [[4,-1],[10,-1]];
    // bias [[1],[-20]] -> [[5,0],[-10,-21]]; ReLU -> [[5,0],[0,0]].
    let op = Op::Gemm(Gemm {
        trans_a: false,
        weight: Array2::from_shape_vec((2, 3), vec![1., 0., 1., 0., 1., -1.]).unwrap(),
        bias: Some(t(&[2, 1], &[1., -20.])),
        activation: Activation::RELU,
    });
    let y = run1(op, &t(&[2, 3], &[1., 2., 3., 4., 5., 6.]));
    assert_close(&y, &[2, 2], &[5., 0., 0., 0.]);
}

#[test]
fn matmul_batched_broadcast() {
    // a0 = [[1,2,3],[4,5,6]], a1 = [[1,0,0],[0,1,0]]; b = [[1,0],[0,1],[1,1]] shared.
    // a0 b = [[1+3, 2+3],[4+6, 5+6]] = [[4,5],[10,11]]; a1 b = [[1,0],[0,1]].
    let a = t(
        &[2, 2, 3],
        &[1., 2., 3., 4., 5., 6., 1., 0., 0., 0., 1., 0.],
    );
    let b = t(&[3, 2], &[1., 0., 0., 1., 1., 1.]);
    let y = single(Op::MatMul, &[&a, &b]).remove(0);
    assert_close(&y, &[2, 2, 2], &[4., 5., 10., 11., 1., 0., 0., 1.]);
    // Broadcast on the left: a [2,3] against b [2,3,2] with b1 = [[0,0],[0,0],[1,0]].
    // a b0 = [[4,5],[10,11]]; a b1 = [[3,0],[6,0]].
    let a = t(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
    let b = t(
        &[2, 3, 2],
        &[1., 0., 0., 1., 1., 1., 0., 0., 0., 0., 1., 0.],
    );
    let y = single(Op::MatMul, &[&a, &b]).remove(0);
    assert_close(&y, &[2, 2, 2], &[4., 5., 10., 11., 3., 0., 6., 0.]);
}

#[test]
fn matmul_1d() {
    // [1,2,3] @ [[1,0],[0,1],[1,1]] = [4, 5]; [[1,2,3],[4,5,6]] @ [1,1,1] = [6, 15].
    let v = t(&[3], &[1., 2., 3.]);
    let b = t(&[3, 2], &[1., 0., 0., 1., 1., 1.]);
    assert_close(&single(Op::MatMul, &[&v, &b])[0], &[2], &[4., 5.]);
    let a = t(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
    let ones = t(&[3], &[1., 1., 1.]);
    assert_close(&single(Op::MatMul, &[&a, &ones])[0], &[2], &[6., 15.]);
    // 1-D @ 1-D is a scalar: 1+2+3 = 6.
    assert_close(&single(Op::MatMul, &[&v, &ones])[0], &[], &[6.]);
}

// ---------------------------------------------------------------- elementwise

#[test]
fn add_per_channel_constant() {
    // [1,2,2,2] + [2,1,1] constant [10, 100]: c0 = [1..4]+10, c1 = [5..8]+100.
    let mut g = Graph::default();
    let x = g.add_value("x", vec![1, 2, 2, 2]);
    let c = g.add_value("c", vec![2, 1, 1]);
    g.constants.push((c, t(&[2, 1, 1], &[10., 100.])));
    g.inputs.push(x);
    g.outputs = g
        .add_node("add", Op::Add, vec![x, c], &["y".into()])
        .unwrap();
    let exec = FloatExecutor::new(g).unwrap();
    let y = exec.run(&[seq(&[1, 2, 2, 2], 1.0)]).unwrap();
    assert_close(
        &y[0],
        &[1, 2, 2, 2],
        &[11., 12., 13., 14., 105., 106., 107., 108.],
    );
    // Constants are not consumed: a second run gives the same.
    let y = exec.run(&[seq(&[1, 2, 2, 2], 1.0)]).unwrap();
    assert_close(
        &y[0],
        &[1, 2, 2, 2],
        &[11., 12., 13., 14., 105., 106., 107., 108.],
    );
}

#[test]
fn add_two_inputs() {
    // Same shape: [1,2,3,4] + [10,20,30,40].
    let a = t(&[2, 2], &[1., 2., 3., 4.]);
    let b = t(&[2, 2], &[10., 20., 30., 40.]);
    assert_close(
        &single(Op::Add, &[&a, &b])[0],
        &[2, 2],
        &[11., 22., 33., 44.],
    );
    // Both operands broadcast: [[1],[2]] + [[10,20,30]] = [[11,21,31],[12,22,32]].
    let a = t(&[2, 1], &[1., 2.]);
    let b = t(&[1, 3], &[10., 20., 30.]);
    assert_close(
        &single(Op::Add, &[&a, &b])[0],
        &[2, 3],
        &[11., 21., 31., 12., 22., 32.],
    );
    // Scalar on the left: 1 + [1,2,3].
    let s = t(&[], &[1.]);
    let v = t(&[3], &[1., 2., 3.]);
    assert_close(&single(Op::Add, &[&s, &v])[0], &[3], &[2., 3., 4.]);
    // Non-contiguous broadcast [2,1,2] + [2,3,1]:
    // y[i,j,k] = a[i,0,k] + b[i,j,0]; a = [[1,2]],[[3,4]]; b = [10,20,30],[40,50,60].
    let a = t(&[2, 1, 2], &[1., 2., 3., 4.]);
    let b = t(&[2, 3, 1], &[10., 20., 30., 40., 50., 60.]);
    let want = [11., 12., 21., 22., 31., 32., 43., 44., 53., 54., 63., 64.];
    assert_close(&single(Op::Add, &[&a, &b])[0], &[2, 3, 2], &want);
}

#[test]
fn mul_row_broadcast() {
    // [[1,2,3],[4,5,6]] * [2,0,-1] = [[2,0,-3],[8,0,-6]].
    let a = t(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
    let b = t(&[3], &[2., 0., -1.]);
    assert_close(
        &single(Op::Mul, &[&a, &b])[0],
        &[2, 3],
        &[2., 0., -3., 8., 0., -6.],
    );
    assert_close(
        &single(Op::Mul, &[&b, &a])[0],
        &[2, 3],
        &[2., 0., -3., 8., 0., -6.],
    );
}

#[test]
fn sigmoid_relu_clip() {
    // sigmoid(0) = 1/2; sigmoid(ln 3) = 1/(1+1/3) = 3/4; sigmoid(-ln 3) = 1/4;
    // sigmoid(+-100) saturates to 1 and ~0 without overflow.
    let l3 = 3f32.ln();
    let y = run1(Op::Sigmoid, &t(&[5], &[0., l3, -l3, 100., -100.]));
    assert_close(&y, &[5], &[0.5, 0.75, 0.25, 1.0, 0.0]);
    assert!(y.iter().all(|v| v.is_finite()));
    let y = run1(Op::Relu, &t(&[3], &[-2., 0., 2.5]));
    assert_close(&y, &[3], &[0., 0., 2.5]);
    let y = run1(
        Op::Clip(Clip { min: 0., max: 6. }),
        &t(&[3], &[-1., 3., 7.]),
    );
    assert_close(&y, &[3], &[0., 3., 6.]);
}

// ---------------------------------------------------------------- pooling

#[test]
fn global_average_pool() {
    // c0 = [1,2,3,4] -> 2.5; c1 = [5,6,7,8] -> 6.5.
    let y = run1(Op::GlobalAveragePool, &seq(&[1, 2, 2, 2], 1.0));
    assert_close(&y, &[1, 2, 1, 1], &[2.5, 6.5]);
}

#[test]
fn average_pool_count_include_pad() {
    // 3x3 window, stride 1, pad 1 over x = 1..9 (neighbourhood sums [12,21,16,27,45,33,24,39,28]).
    // Excluding padding divides by the valid taps (4 at corners, 6 at edges, 9 in the centre):
    //   [3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7]. Including it always divides by 9.
    let x = seq(&[1, 1, 3, 3], 1.0);
    let y = run1(Op::AveragePool(pool(3, 1, 1, [1; 4], false, false)), &x);
    assert_close(&y, &[1, 1, 3, 3], &[3., 3.5, 4., 4.5, 5., 5.5, 6., 6.5, 7.]);
    let y = run1(Op::AveragePool(pool(3, 1, 1, [1; 4], false, true)), &x);
    let sums = [12., 21., 16., 27., 45., 33., 24., 39., 28.];
    assert_close(&y, &[1, 1, 3, 3], &sums.map(|s: f32| s / 9.0));
}

#[test]
fn max_pool_ceil_mode_and_dilation() {
    // x = -(0..24) on 5x5, window 2, stride 2, ceil_mode: 3x3 output, windows start at 0,2,4;
    // the last row/column windows hang off the input. All values are <= 0, so if the missing
    // taps counted as 0 they would win. The max is each window's top-left: -(5r + c).
    let x = seq(&[1, 1, 5, 5], 0.0).mapv(|v| -v);
    let y = run1(Op::MaxPool(pool(2, 2, 1, [0; 4], true, false)), &x);
    assert_close(
        &y,
        &[1, 1, 3, 3],
        &[0., -2., -4., -10., -12., -14., -20., -22., -24.],
    );
    // Floor mode drops the partial windows.
    let y = run1(Op::MaxPool(pool(2, 2, 1, [0; 4], false, false)), &x);
    assert_close(&y, &[1, 1, 2, 2], &[0., -2., -10., -12.]);
    // Explicit padding never wins either: pad 1, window 2, stride 2 on x = -(0..24):
    // windows start at -1, 1, 3 -> top-left valid taps (0,0),(0,1),(0,3),... -> -(5r' + c').
    let y = run1(Op::MaxPool(pool(2, 2, 1, [1; 4], false, false)), &x);
    assert_close(
        &y,
        &[1, 1, 3, 3],
        &[0., -1., -3., -5., -6., -8., -15., -16., -18.],
    );
    // Dilation 2: a 2x2 window with dilation 2 on 3x3 taps the four corners only.
    // x = [1,9,2; 9,9,9; 3,9,4] -> max(1,2,3,4) = 4.
    let x = t(&[1, 1, 3, 3], &[1., 9., 2., 9., 9., 9., 3., 9., 4.]);
    let y = run1(Op::MaxPool(pool(2, 1, 2, [0; 4], false, false)), &x);
    assert_close(&y, &[1, 1, 1, 1], &[4.]);
}

// ---------------------------------------------------------------- softmax

#[test]
fn softmax_axis() {
    // Along axis 0 of [[0,0],[ln3,0]]: column 0 is [1,3]/4, column 1 is [1,1]/2.
    // Adding 1000 must not overflow (max is subtracted first).
    let l3 = 3f32.ln();
    let op = Op::Softmax(Softmax {
        axis: 0,
        coerce_2d: false,
    });
    let y = run1(op.clone(), &t(&[2, 2], &[0., 0., l3, 0.]));
    assert_close(&y, &[2, 2], &[0.25, 0.5, 0.75, 0.5]);
    let y = run1(op, &t(&[2, 2], &[1000., 1000., 1000. + l3, 1000.]));
    assert_close(&y, &[2, 2], &[0.25, 0.5, 0.75, 0.5]);
}

#[test]
fn softmax_coerce_2d() {
    // x [2,1,2] = [[[0, ln3]], [[0, 0]]], axis 1.
    // coerce_2d: rows of prod(shape[1..]) = 2 values: [1,3]/4 and [1,1]/2.
    // Opset 13: softmax over axis 1 of length 1 -> all ones.
    let l3 = 3f32.ln();
    let x = t(&[2, 1, 2], &[0., l3, 0., 0.]);
    let y = run1(
        Op::Softmax(Softmax {
            axis: 1,
            coerce_2d: true,
        }),
        &x,
    );
    assert_close(&y, &[2, 1, 2], &[0.25, 0.75, 0.5, 0.5]);
    let y = run1(
        Op::Softmax(Softmax {
            axis: 1,
            coerce_2d: false,
        }),
        &x,
    );
    assert_close(&y, &[2, 1, 2], &[1., 1., 1., 1.]);
}

// ---------------------------------------------------------------- shape ops

#[test]
fn concat_axis1() {
    // a [2,1,2] = [1,2 | 7,8], b [2,2,2] = [3,4,5,6 | 9,10,11,12]: per batch a's row then b's.
    let a = t(&[2, 1, 2], &[1., 2., 7., 8.]);
    let b = t(&[2, 2, 2], &[3., 4., 5., 6., 9., 10., 11., 12.]);
    let y = single(Op::Concat(Concat { axis: 1 }), &[&a, &b]).remove(0);
    assert_close(
        &y,
        &[2, 3, 2],
        &(1..=12).map(|v| v as f32).collect::<Vec<_>>(),
    );
}

#[test]
fn pad_modes() {
    let x = t(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
    let pads = vec![(1, 1), (2, 1)];
    // reflect: rows -1 -> 1, 2 -> 0 => [r1, r0, r1, r0]; cols -2 -> 2, -1 -> 1, 3 -> 1
    // => [c2, c1, c0, c1, c2, c1]; r0 -> [3,2,1,2,3,2], r1 -> [6,5,4,5,6,5].
    let y = run1(
        Op::Pad(Pad {
            pads: pads.clone(),
            mode: PadMode::Reflect,
        }),
        &x,
    );
    let r0 = [3., 2., 1., 2., 3., 2.];
    let r1 = [6., 5., 4., 5., 6., 5.];
    assert_close(&y, &[4, 6], &[r1, r0, r1, r0].concat());
    // edge: rows [r0, r0, r1, r1]; cols [c0, c0, c0, c1, c2, c2].
    let y = run1(
        Op::Pad(Pad {
            pads,
            mode: PadMode::Edge,
        }),
        &x,
    );
    let r0 = [1., 1., 1., 2., 3., 3.];
    let r1 = [4., 4., 4., 5., 6., 6.];
    assert_close(&y, &[4, 6], &[r0, r0, r1, r1].concat());
    // constant 9, one row before, one column after.
    let y = run1(
        Op::Pad(Pad {
            pads: vec![(1, 0), (0, 1)],
            mode: PadMode::Constant(9.),
        }),
        &x,
    );
    assert_close(
        &y,
        &[3, 4],
        &[9., 9., 9., 9., 1., 2., 3., 9., 4., 5., 6., 9.],
    );
    // Rank 1 and rank 3.
    let y = run1(
        Op::Pad(Pad {
            pads: vec![(2, 1)],
            mode: PadMode::Edge,
        }),
        &t(&[2], &[1., 2.]),
    );
    assert_close(&y, &[5], &[1., 1., 1., 2., 2.]);
    let y = run1(
        Op::Pad(Pad {
            pads: vec![(1, 0), (0, 0), (0, 1)],
            mode: PadMode::Constant(0.),
        }),
        &t(&[1, 1, 2], &[1., 2.]),
    );
    assert_close(&y, &[2, 1, 3], &[0., 0., 0., 1., 2., 0.]);
}

#[test]
fn flatten_reshape_identity() {
    let x = seq(&[1, 2, 2, 2], 1.0);
    let data: Vec<f32> = (1..=8).map(|v| v as f32).collect();
    assert_close(&run1(Op::Flatten(Flatten { axis: 1 }), &x), &[1, 8], &data);
    assert_close(&run1(Op::Flatten(Flatten { axis: 3 }), &x), &[4, 2], &data);
    assert_close(
        &run1(Op::Reshape(Reshape { shape: vec![2, 4] }), &x),
        &[2, 4],
        &data,
    );
    assert_close(&run1(Op::Identity, &x), &[1, 2, 2, 2], &data);
}

#[test]
fn alias_is_not_overwritten_in_place() {
    // r = Reshape(x) is a graph output sharing x's buffer; Relu(x) must not clobber it.
    let mut g = Graph::default();
    let x = g.add_value("x", vec![2, 2]);
    g.inputs.push(x);
    let r = g
        .add_node(
            "r",
            Op::Reshape(Reshape { shape: vec![4] }),
            vec![x],
            &["r".into()],
        )
        .unwrap();
    let y = g
        .add_node("relu", Op::Relu, vec![x], &["y".into()])
        .unwrap();
    g.outputs = vec![r[0], y[0], r[0]];
    let exec = FloatExecutor::new(g).unwrap();
    let out = exec.run(&[t(&[2, 2], &[-1., 2., -3., 4.])]).unwrap();
    assert_close(&out[0], &[4], &[-1., 2., -3., 4.]);
    assert_close(&out[1], &[2, 2], &[0., 2., 0., 4.]);
    assert_close(&out[2], &[4], &[-1., 2., -3., 4.]);
}

// ---------------------------------------------------------------- errors

#[test]
fn wrong_input_is_an_error() {
    let mut g = Graph::default();
    let x = g.add_value("image", vec![1, 3, 4, 4]);
    g.inputs.push(x);
    g.outputs = g
        .add_node("relu", Op::Relu, vec![x], &["y".into()])
        .unwrap();
    let exec = FloatExecutor::new(g).unwrap();
    match exec.run(&[seq(&[1, 3, 4, 5], 0.0)]) {
        Err(Error::Input(msg)) => {
            assert!(msg.contains("image"), "{msg}");
            assert!(
                msg.contains("[1, 3, 4, 4]") && msg.contains("[1, 3, 4, 5]"),
                "{msg}"
            );
        }
        other => panic!("expected Error::Input, got {other:?}"),
    }
    assert!(matches!(exec.run(&[]), Err(Error::Input(_))));
    let x = seq(&[1, 3, 4, 4], 0.0);
    assert!(matches!(exec.run(&[x.clone(), x]), Err(Error::Input(_))));
}

#[test]
fn inconsistent_graph_is_an_error() {
    // A value shape that disagrees with the op's shape rule is caught at planning.
    let mut g = Graph::default();
    let x = g.add_value("x", vec![2, 2]);
    g.inputs.push(x);
    g.outputs = g
        .add_node("relu", Op::Relu, vec![x], &["y".into()])
        .unwrap();
    g.values[g.outputs[0]].shape = vec![3];
    assert!(matches!(FloatExecutor::new(g), Err(Error::Shape { .. })));
    // A node reading a value nobody computes.
    let mut g = Graph::default();
    let x = g.add_value("x", vec![2]);
    let ghost = g.add_value("ghost", vec![2]);
    g.inputs.push(x);
    g.outputs = g
        .add_node("add", Op::Add, vec![x, ghost], &["y".into()])
        .unwrap();
    assert!(matches!(
        FloatExecutor::new(g),
        Err(Error::MalformedModel(_))
    ));
}

// ---------------------------------------------------------------- a small network

#[test]
fn small_network() {
    // x: c0 = [1,-2,3,8], c1 = [0,1,2,3].
    // conv 1x1: o0 = c0 + c1 = [1,-1,5,11]; o1 = 2c0 - c1 + 1 = [3,-4,5,14].
    // Clip [0,6]: r0 = [1,0,5,6], r1 = [3,0,5,6].
    // + x (residual): s0 = [2,-2,8,14], s1 = [3,1,7,9].
    // GlobalAveragePool: [22/4, 20/4] = [5.5, 5]; Flatten -> [1,2].
    // Gemm W = [[1,0],[0,1],[1,-1]], bias [0.5,-0.5,0] -> [6, 4.5, 0.5].
    let mut g = Graph::default();
    let x = g.add_value("x", vec![1, 2, 2, 2]);
    g.inputs.push(x);
    let c = conv(
        &[1., 1., 2., -1.],
        [2, 2, 1, 1],
        &[0., 1.],
        [1, 1],
        [1, 1],
        [0; 4],
        1,
        Activation::NONE,
    );
    let h = g.add_node("conv", c, vec![x], &["h".into()]).unwrap();
    let r = g
        .add_node(
            "relu6",
            Op::Clip(Clip { min: 0., max: 6. }),
            h,
            &["r".into()],
        )
        .unwrap();
    let s = g
        .add_node("add", Op::Add, vec![r[0], x], &["s".into()])
        .unwrap();
    let p = g
        .add_node("gap", Op::GlobalAveragePool, s, &["p".into()])
        .unwrap();
    let f = g
        .add_node("flat", Op::Flatten(Flatten { axis: 1 }), p, &["f".into()])
        .unwrap();
    let fc = Op::Gemm(Gemm {
        trans_a: false,
        weight: Array2::from_shape_vec((3, 2), vec![1., 0., 0., 1., 1., -1.]).unwrap(),
        bias: Some(t(&[3], &[0.5, -0.5, 0.])),
        activation: Activation::NONE,
    });
    g.outputs = g.add_node("fc", fc, f, &["logits".into()]).unwrap();
    let exec = FloatExecutor::new(g).unwrap();
    let x = t(&[1, 2, 2, 2], &[1., -2., 3., 8., 0., 1., 2., 3.]);
    // Twice: the second run reuses the recycled buffers.
    for _ in 0..2 {
        let y = exec.run(std::slice::from_ref(&x)).unwrap();
        assert_close(&y[0], &[1, 3], &[6., 4.5, 0.5]);
    }
    let mut fake_ms = 0.0;
    let (y, times) = exec
        .run_profiled(std::slice::from_ref(&x), || {
            fake_ms += 1.0;
            fake_ms
        })
        .unwrap();
    assert_close(&y[0], &[1, 3], &[6., 4.5, 0.5]);
    let kinds: Vec<&str> = times.iter().map(|t| t.1).collect();
    assert_eq!(
        kinds,
        [
            "Conv",
            "Clip",
            "Add",
            "GlobalAveragePool",
            "Flatten",
            "Gemm"
        ]
    );
    assert!(times.iter().all(|t| t.2 == 1.0) && times[0].0 == "conv");
}

// ---------------------------------------------------------------- randomized conv

/// Input NCHW, out channels, kernel, strides, dilations, pads, group, activation.
type ConvCase = (
    [usize; 4],
    usize,
    [usize; 2],
    [usize; 2],
    [usize; 2],
    [usize; 4],
    usize,
    Activation,
);

/// Direct convolution, straight from the definition.
#[allow(clippy::too_many_arguments)]
fn direct_conv(
    x: &[f32],
    [n, c, h, w]: [usize; 4],
    wt: &[f32],
    [o, cg, kh, kw]: [usize; 4],
    bias: &[f32],
    s: [usize; 2],
    d: [usize; 2],
    p: [usize; 4],
    group: usize,
    act: Activation,
    [oh, ow]: [usize; 2],
) -> Vec<f32> {
    let og = o / group;
    let mut y = vec![0.0; n * o * oh * ow];
    for b in 0..n {
        for oc in 0..o {
            let g = oc / og;
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = bias[oc];
                    for ci in 0..cg {
                        for u in 0..kh {
                            for v in 0..kw {
                                let yy = (i * s[0] + u * d[0]) as isize - p[0] as isize;
                                let xx = (j * s[1] + v * d[1]) as isize - p[1] as isize;
                                if yy < 0 || xx < 0 || yy >= h as isize || xx >= w as isize {
                                    continue;
                                }
                                let ch = g * cg + ci;
                                acc += wt[((oc * cg + ci) * kh + u) * kw + v]
                                    * x[((b * c + ch) * h + yy as usize) * w + xx as usize];
                            }
                        }
                    }
                    y[((b * o + oc) * oh + i) * ow + j] = act.apply(acc);
                }
            }
        }
    }
    y
}

#[test]
fn conv_matches_direct_loop() {
    // (input NCHW, out channels, kernel, strides, dilations, pads, group, activation)
    let clamp = Activation {
        min: -0.5,
        max: 0.5,
    };
    let cases: &[ConvCase] = &[
        (
            [1, 3, 7, 7],
            4,
            [3, 3],
            [1, 1],
            [1, 1],
            [1, 1, 1, 1],
            1,
            Activation::NONE,
        ),
        (
            [2, 4, 8, 8],
            6,
            [3, 3],
            [2, 2],
            [1, 1],
            [0, 0, 1, 1],
            1,
            Activation::NONE,
        ),
        (
            [1, 3, 9, 9],
            2,
            [3, 3],
            [1, 1],
            [2, 2],
            [2, 2, 2, 2],
            1,
            clamp,
        ),
        (
            [1, 4, 6, 5],
            6,
            [3, 3],
            [1, 2],
            [1, 1],
            [1, 0, 1, 2],
            2,
            Activation::RELU,
        ),
        (
            [2, 6, 9, 9],
            6,
            [5, 5],
            [2, 2],
            [1, 1],
            [1, 1, 2, 2],
            6,
            RELU6,
        ),
        (
            [1, 5, 7, 8],
            5,
            [5, 5],
            [1, 1],
            [1, 1],
            [2, 2, 2, 2],
            5,
            clamp,
        ),
        (
            [1, 4, 6, 6],
            8,
            [3, 3],
            [1, 1],
            [1, 1],
            [1, 1, 1, 1],
            4,
            Activation::NONE,
        ),
        (
            [1, 4, 5, 5],
            8,
            [1, 1],
            [1, 1],
            [1, 1],
            [0, 0, 0, 0],
            2,
            Activation::NONE,
        ),
        (
            [2, 8, 5, 5],
            16,
            [1, 1],
            [1, 1],
            [1, 1],
            [0, 0, 0, 0],
            1,
            clamp,
        ),
        (
            [1, 3, 7, 7],
            4,
            [1, 1],
            [2, 2],
            [1, 1],
            [0, 0, 0, 0],
            1,
            Activation::NONE,
        ),
        (
            [1, 2, 6, 7],
            3,
            [2, 3],
            [2, 1],
            [1, 2],
            [0, 1, 1, 0],
            1,
            Activation::NONE,
        ),
    ];
    let mut rng = SmallRng::seed_from_u64(7);
    for &(xs, o, [kh, kw], s, d, p, group, act) in cases {
        let ws = [o, xs[1] / group, kh, kw];
        let x: Vec<f32> = (0..xs.iter().product::<usize>())
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let w: Vec<f32> = (0..ws.iter().product::<usize>())
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let b: Vec<f32> = (0..o).map(|_| rng.random_range(-0.5..0.5)).collect();
        let op = conv(&w, ws, &b, s, d, p, group, act);
        let y = run1(op, &t(&xs, &x));
        let (oh, ow) = (y.shape()[2], y.shape()[3]);
        let want = direct_conv(&x, xs, &w, ws, &b, s, d, p, group, act, [oh, ow]);
        let got: Vec<f32> = y.iter().copied().collect();
        assert_eq!(got.len(), want.len());
        for (i, (g, e)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - e).abs() <= 1e-4,
                "case {xs:?} k{kh}x{kw} s{s:?} d{d:?} p{p:?} g{group}: at {i} {g} vs {e}"
            );
        }
    }
}
