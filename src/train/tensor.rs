//! The training engine's activations: 4-D f32 tensors stored channel-major (`[C, N, H, W]`).
//!
//! Channel-major keeps every per-channel operation on one contiguous run (batch norm's
//! statistics, a convolution's output rows straight from one GEMM over the whole batch), and a
//! dense layer's `[features, N]` is the same layout with `H = W = 1`.

/// Extents of a channel-major tensor: channels, batch, height, width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Channels (features for dense layers).
    pub c: usize,
    /// Images in the batch.
    pub n: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
}

impl Shape {
    /// `[c, n, h, w]`.
    pub const fn new(c: usize, n: usize, h: usize, w: usize) -> Shape {
        Shape { c, n, h, w }
    }

    /// Number of values.
    pub const fn len(&self) -> usize {
        self.c * self.n * self.h * self.w
    }

    /// True when the tensor holds no value.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values in one image's plane of one channel (`h * w`).
    pub const fn plane(&self) -> usize {
        self.h * self.w
    }

    /// Values of one channel over the whole batch (`n * h * w`).
    pub const fn channel_len(&self) -> usize {
        self.n * self.h * self.w
    }

    /// Features of one image (`c * h * w`), what a flatten gives.
    pub const fn features(&self) -> usize {
        self.c * self.h * self.w
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[C={}, N={}, H={}, W={}]",
            self.c, self.n, self.h, self.w
        )
    }
}

/// A channel-major tensor: value `(c, n, y, x)` at `((c * N + n) * H + y) * W + x`.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor4 {
    /// Extents.
    pub shape: Shape,
    /// `shape.len()` values.
    pub data: Vec<f32>,
}

impl Tensor4 {
    /// A tensor of `shape` from its values; panics when the count differs (a bug, not input).
    pub fn new(shape: Shape, data: Vec<f32>) -> Tensor4 {
        assert_eq!(
            data.len(),
            shape.len(),
            "Tensor4::new: {} values for {shape}",
            data.len()
        );
        Tensor4 { shape, data }
    }

    /// Zeros of `shape`.
    pub fn zeros(shape: Shape) -> Tensor4 {
        Tensor4 {
            shape,
            data: vec![0.0; shape.len()],
        }
    }

    /// One channel over the whole batch.
    pub fn channel(&self, c: usize) -> &[f32] {
        &self.data[c * self.shape.channel_len()..][..self.shape.channel_len()]
    }

    /// The values of image `n` in the usual NCHW order (`[C, H, W]`).
    pub fn image_nchw(&self, n: usize) -> Vec<f32> {
        let plane = self.shape.plane();
        (0..self.shape.c)
            .flat_map(|c| {
                let start = (c * self.shape.n + n) * plane;
                self.data[start..start + plane].iter().copied()
            })
            .collect()
    }
}

thread_local! {
    /// Activation buffers given back by the layers that consumed them, for the next ones.
    static SPARE: std::cell::RefCell<Vec<Vec<f32>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Spare buffers kept per thread: a training step frees about this many large activations.
const MAX_SPARE: usize = 12;

/// A buffer of `len` values with unspecified contents (callers overwrite all of them): the
/// smallest spare one that fits, else a new one. Reusing buffers saves the page faults of
/// fresh allocations, which cost as much as the element-wise passes themselves.
pub(crate) fn buffer(len: usize) -> Vec<f32> {
    let spare = SPARE.with(|s| {
        let mut s = s.borrow_mut();
        let best = (0..s.len())
            .filter(|&i| s[i].capacity() >= len)
            .min_by_key(|&i| s[i].capacity());
        best.map(|i| s.swap_remove(i))
    });
    let mut v = spare.unwrap_or_default();
    v.truncate(len);
    v.resize(len, 0.0);
    v
}

/// Hands `v` back for [`buffer`] (the smallest spare goes when there are too many).
pub(crate) fn recycle(v: Vec<f32>) {
    if v.capacity() < 1024 {
        return;
    }
    SPARE.with(|s| {
        let mut s = s.borrow_mut();
        s.push(v);
        if s.len() > MAX_SPARE {
            let smallest = (0..s.len()).min_by_key(|&i| s[i].capacity());
            if let Some(i) = smallest {
                s.swap_remove(i);
            }
        }
    });
}
