//! One ONNX node being translated: its name for messages, typed attribute access, inputs.

use super::proto::{attribute_type as at, AttributeProto, NodeProto, TensorProto};
use crate::{Error, Result};

/// Largest integer attribute used as a size (stride, dilation, pad, kernel, group): keeps
/// the IR's shape arithmetic far from overflow on 32-bit targets too.
pub(crate) const MAX_ATTR: i64 = 1 << 15;

/// A node with the name used in messages (`op_type#index` when the file gives none).
pub(crate) struct NodeCtx<'a> {
    /// The node as decoded.
    pub proto: &'a NodeProto,
    /// Name for messages and the IR node.
    pub name: String,
    /// Default-domain opset version in force.
    pub opset: i64,
}

impl<'a> NodeCtx<'a> {
    /// Wraps node number `index` of the file.
    pub fn new(proto: &'a NodeProto, index: usize, opset: i64) -> Self {
        let name = if proto.name.is_empty() {
            format!("{}#{index}", proto.op_type)
        } else {
            proto.name.clone()
        };
        NodeCtx { proto, name, opset }
    }

    /// The ONNX op type.
    pub fn op_type(&self) -> &str {
        &self.proto.op_type
    }

    /// An [`Error::Unsupported`] naming this node.
    pub fn unsupported(&self, what: impl Into<String>) -> Error {
        Error::Unsupported {
            node: self.name.clone(),
            op_type: self.proto.op_type.clone(),
            what: what.into(),
        }
    }

    /// An [`Error::MalformedModel`] naming this node.
    pub fn malformed(&self, what: impl std::fmt::Display) -> Error {
        Error::MalformedModel(format!(
            "node '{}' ({}): {what}",
            self.name, self.proto.op_type
        ))
    }

    /// Rejects any attribute not in `known` (an unknown attribute may change semantics).
    pub fn check_attrs(&self, known: &[&str]) -> Result<()> {
        match self
            .proto
            .attribute
            .iter()
            .find(|a| !known.contains(&a.name.as_str()))
        {
            Some(a) => Err(self.unsupported(format!("attribute '{}'", a.name))),
            None => Ok(()),
        }
    }

    /// Checks the number of inputs (counting omitted optional ones) and outputs.
    pub fn check_arity(&self, inputs: (usize, usize), min_outputs: usize) -> Result<()> {
        let n = self.proto.input.len();
        if n < inputs.0 || n > inputs.1 {
            return Err(self.malformed(format!(
                "has {n} inputs, expected {}..={}",
                inputs.0, inputs.1
            )));
        }
        if self.proto.output.len() < min_outputs {
            return Err(self.malformed(format!(
                "has {} outputs, expected at least {min_outputs}",
                self.proto.output.len()
            )));
        }
        Ok(())
    }

    /// Input `i`'s name, `None` when absent or omitted (empty name).
    pub fn input(&self, i: usize) -> Option<&'a str> {
        self.proto
            .input
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Input `i`'s name, which must be present; `label` is its ONNX name for messages.
    pub fn require_input(&self, i: usize, label: &str) -> Result<&'a str> {
        self.input(i)
            .ok_or_else(|| self.malformed(format!("missing input '{label}'")))
    }

    /// Output `i`'s name, `None` when absent or omitted.
    pub fn output(&self, i: usize) -> Option<&'a str> {
        self.proto
            .output
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    fn attr(&self, name: &str, ty: i32, ty_name: &str) -> Result<Option<&'a AttributeProto>> {
        match self.proto.attribute.iter().find(|a| a.name == name) {
            None => Ok(None),
            Some(a) if a.r#type == ty => Ok(Some(a)),
            Some(a) => Err(self.malformed(format!(
                "attribute '{name}' has type {}, expected {ty_name}",
                a.r#type
            ))),
        }
    }

    /// True when the attribute is present.
    pub fn has_attr(&self, name: &str) -> bool {
        self.proto.attribute.iter().any(|a| a.name == name)
    }

    /// An INT attribute, or `default`.
    pub fn int(&self, name: &str, default: i64) -> Result<i64> {
        Ok(self.attr(name, at::INT, "INT")?.map_or(default, |a| a.i))
    }

    /// A FLOAT attribute, or `default`.
    pub fn float(&self, name: &str, default: f32) -> Result<f32> {
        Ok(self
            .attr(name, at::FLOAT, "FLOAT")?
            .map_or(default, |a| a.f))
    }

    /// An INTS attribute, if present.
    pub fn ints(&self, name: &str) -> Result<Option<&'a [i64]>> {
        Ok(self
            .attr(name, at::INTS, "INTS")?
            .map(|a| a.ints.as_slice()))
    }

    /// A FLOATS attribute, if present.
    pub fn floats(&self, name: &str) -> Result<Option<&'a [f32]>> {
        Ok(self
            .attr(name, at::FLOATS, "FLOATS")?
            .map(|a| a.floats.as_slice()))
    }

    /// A STRING attribute (UTF-8), or `default`.
    pub fn string(&self, name: &str, default: &str) -> Result<String> {
        match self.attr(name, at::STRING, "STRING")? {
            None => Ok(default.to_string()),
            Some(a) => String::from_utf8(a.s.clone())
                .map_err(|_| self.malformed(format!("attribute '{name}' is not UTF-8"))),
        }
    }

    /// A TENSOR attribute, if present.
    pub fn tensor(&self, name: &str) -> Result<Option<&'a TensorProto>> {
        match self.attr(name, at::TENSOR, "TENSOR")? {
            None => Ok(None),
            Some(a) => {
                a.t.as_ref()
                    .map(Some)
                    .ok_or_else(|| self.malformed(format!("attribute '{name}' has no tensor")))
            }
        }
    }

    /// A boolean INT attribute (0 or 1).
    pub fn flag(&self, name: &str, default: bool) -> Result<bool> {
        match self.int(name, i64::from(default))? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.unsupported(format!("attribute '{name}' = {v}"))),
        }
    }

    /// An INTS attribute of `len` sizes in `lo..=MAX_ATTR`, or `default`.
    pub fn sizes<const N: usize>(
        &self,
        name: &str,
        lo: i64,
        default: [usize; N],
    ) -> Result<[usize; N]> {
        let Some(v) = self.ints(name)? else {
            return Ok(default);
        };
        if v.len() != N {
            return Err(self.unsupported(format!(
                "attribute '{name}' = {v:?}: expected {N} values (2-D only)"
            )));
        }
        let mut out = [0; N];
        for (o, &x) in out.iter_mut().zip(v) {
            if x < lo || x > MAX_ATTR {
                return Err(self.unsupported(format!("attribute '{name}' = {v:?}")));
            }
            *o = x as usize;
        }
        Ok(out)
    }

    /// Makes a possibly negative axis non-negative for `rank` (valid range `-rank..rank + extra`).
    pub fn axis(&self, name: &str, axis: i64, rank: usize, extra: usize) -> Result<usize> {
        let r = rank as i64;
        let a = if axis < 0 { axis + r } else { axis };
        if a < 0 || a >= r + extra as i64 {
            return Err(self.malformed(format!(
                "attribute '{name}' = {axis} out of range for rank {rank}"
            )));
        }
        Ok(a as usize)
    }
}
