//! Trainable parameters: values and the gradient of the loss with respect to them.

/// One trainable tensor (a layer's weights, biases, or batch-norm scale and shift).
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// What the parameter is, e.g. `conv1.weight` (also its ONNX initializer name).
    pub name: String,
    /// Values, row-major in the owning layer's documented order.
    pub value: Vec<f32>,
    /// `dLoss / dvalue` from the last backward pass (overwritten by each pass).
    pub grad: Vec<f32>,
    /// Whether weight decay applies (weights yes; biases and batch-norm parameters no).
    pub decay: bool,
}

impl Param {
    /// A parameter with these values and a zero gradient.
    pub fn new(name: impl Into<String>, value: Vec<f32>, decay: bool) -> Param {
        let grad = vec![0.0; value.len()];
        Param {
            name: name.into(),
            value,
            grad,
            decay,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// True when there is no value.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}
