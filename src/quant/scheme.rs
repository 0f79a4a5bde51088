//! One quantization scheme: how a layer's weights and activations become integers, and the
//! spec that names it everywhere (Rust, the CLI, the npm API, the page's URL).
//!
//! ```text
//! spec     = "fp32" | "fp16" | "w" B "a" A { "-" suffix }
//! B        = 2..8 weight bits (1..8 with kmeans or pow2)     A = 4..8 activation bits (a model
//!            output, which no layer reads, stays at 8: Scheme::output_grid)
//! suffix   = "kmeans" | "kmeans++" | "pow2"      levels (default: uniform)
//!          | "tensor"                            one weight scale per tensor (default: per channel)
//!          | "minmax" | "mse"                    weight clipping (default: mse below 8 bits, minmax at 8)
//!          | "wasym"                             asymmetric weights, a zero point per channel (B <= 7)
//!          | "sym"                               symmetric activations (Z = 0; default asymmetric)
//!          | "dynamic"                           activations quantized per run from their range (A = 8)
//! aliases  int8 = int8-static = w8a8, int8-static-tensor = w8a8-tensor, int8-dynamic = w8a8-dynamic
//! ```
//!
//! A graph is lowered with a [`LayerSchemes`]: a default scheme plus overrides by layer name
//! (mixed precision).

use super::{QuantParams, QuantRange};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::fmt;

/// How a layer's weight levels are placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Levels {
    /// An evenly spaced grid `S (q - Z)`.
    Uniform,
    /// `2^b` shared values per output channel found by k-means (weight sharing); `plus_plus`
    /// seeds with k-means++ instead of the linear initialisation over `[min, max]`.
    KMeans {
        /// k-means++ initialisation (seeded) instead of linear.
        plus_plus: bool,
    },
    /// 0 and `+-2^-e` per channel.
    Pow2,
}

/// Which weights share a scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Granularity {
    /// One scale (and codebook) per output channel.
    Channel,
    /// One for the whole tensor.
    Tensor,
}

/// How a uniform weight grid's range is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Clipping {
    /// `[min w, max w]`: no clipping; at few bits most levels go to rare outliers.
    MinMax,
    /// The range that minimises the squared weight error (clipping + rounding).
    Mse,
}

/// One layer's quantization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scheme {
    /// Weight bits: 2..=8 uniform, 1..=8 k-means or power of two.
    pub weight_bits: u8,
    /// Activation bits, 4..=8.
    pub act_bits: u8,
    /// Weights with zero point 0 (narrow range); else a zero point per channel.
    pub weight_symmetric: bool,
    /// Activations with zero point 0.
    pub act_symmetric: bool,
    /// Per channel or per tensor.
    pub granularity: Granularity,
    /// Uniform, k-means or power-of-two levels.
    pub levels: Levels,
    /// The uniform weight range.
    pub clipping: Clipping,
}

impl Default for Scheme {
    fn default() -> Self {
        Scheme::W8A8
    }
}

/// The bits of a model output's grid ([`Scheme::output_grid`]).
pub const OUTPUT_BITS: u8 = 8;

impl Scheme {
    /// Today's int8: symmetric per-channel weights over min/max, asymmetric activations.
    pub const W8A8: Scheme = Scheme {
        weight_bits: 8,
        act_bits: 8,
        weight_symmetric: true,
        act_symmetric: false,
        granularity: Granularity::Channel,
        levels: Levels::Uniform,
        clipping: Clipping::MinMax,
    };

    /// [`Scheme::W8A8`] per channel or per tensor (`w8a8`, `w8a8-tensor`).
    pub const fn int8(per_channel: bool) -> Scheme {
        Scheme {
            granularity: if per_channel {
                Granularity::Channel
            } else {
                Granularity::Tensor
            },
            ..Scheme::W8A8
        }
    }

    /// The scheme `w<bits>a<bits>` with every other choice at its default.
    pub fn uniform(weight_bits: u8, act_bits: u8) -> Result<Scheme> {
        Scheme {
            weight_bits,
            act_bits,
            clipping: default_clipping(weight_bits),
            ..Scheme::W8A8
        }
        .checked()
    }

    /// True for one scale per output channel.
    pub fn per_channel(&self) -> bool {
        self.granularity == Granularity::Channel
    }

    /// The codes of the weight grid (uniform levels; codebook indices use `weight_bits` too).
    pub fn weight_range(&self) -> QuantRange {
        if self.weight_symmetric && self.weight_bits >= 2 {
            QuantRange::narrow(self.weight_bits)
        } else {
            QuantRange::full(self.weight_bits)
        }
    }

    /// The codes of the activation grid.
    pub fn act_range(&self) -> QuantRange {
        if self.act_symmetric {
            QuantRange::narrow(self.act_bits)
        } else {
            QuantRange::full(self.act_bits)
        }
    }

    /// The grid of a model output (the logits) under this scheme: 8 bits whatever
    /// `act_bits`. No layer reads an output, so its bits are not activation bits; and a 4-bit
    /// output gives ten logits 16 codes, which ties classes and hands the tie to the lowest
    /// class index (Fashion-MNIST's Shirt lost 20 points of accuracy to ties with T-shirt).
    pub fn output_grid(&self) -> Scheme {
        Scheme {
            act_bits: OUTPUT_BITS,
            ..*self
        }
    }

    /// Activation parameters for a calibrated range `[min, max]`.
    pub fn act_params(&self, min: f32, max: f32) -> QuantParams {
        if self.act_symmetric {
            QuantParams::symmetric(min.abs().max(max.abs()), self.act_range())
        } else {
            QuantParams::asymmetric(min, max, self.act_range())
        }
    }

    /// Weight parameters covering `[min, max]` (one channel, or the tensor).
    pub fn weight_params(&self, min: f32, max: f32) -> QuantParams {
        if self.weight_symmetric {
            QuantParams::symmetric(min.abs().max(max.abs()), self.weight_range())
        } else {
            QuantParams::asymmetric(min, max, self.weight_range())
        }
    }

    /// `self` if every field is within its range, else an error naming the field.
    pub fn checked(self) -> Result<Scheme> {
        let uniform = self.levels == Levels::Uniform;
        let low = if uniform { 2 } else { 1 };
        if !(low..=8).contains(&self.weight_bits) {
            return Err(Error::Input(format!(
                "weight bits must be {low}..=8 for {} levels, got {}",
                self.levels_name(),
                self.weight_bits
            )));
        }
        if self.levels == Levels::Pow2 && self.weight_bits < 2 {
            return Err(Error::Input(
                "power-of-two levels need at least 2 bits (0 and +-2^e)".into(),
            ));
        }
        if !(4..=8).contains(&self.act_bits) {
            return Err(Error::Input(format!(
                "activation bits must be 4..=8, got {}",
                self.act_bits
            )));
        }
        if !self.weight_symmetric && (self.weight_bits == 8 || !uniform) {
            return Err(Error::Input(
                "asymmetric weights (-wasym) need a uniform grid of at most 7 bits: the \
                 differences q - Z of 8-bit codes do not fit the int8 kernels"
                    .into(),
            ));
        }
        Ok(self)
    }

    fn levels_name(&self) -> &'static str {
        match self.levels {
            Levels::Uniform => "uniform",
            Levels::KMeans { plus_plus: false } => "kmeans",
            Levels::KMeans { plus_plus: true } => "kmeans++",
            Levels::Pow2 => "pow2",
        }
    }

    /// Bits of the container one weight code is stored in (2, 4 or 8): 1-bit codes take 2
    /// bits, 3-bit codes 4, 5..7-bit codes 8.
    pub fn container_bits(&self) -> u8 {
        match self.weight_bits {
            1 | 2 => 2,
            3 | 4 => 4,
            _ => 8,
        }
    }
}

fn default_clipping(weight_bits: u8) -> Clipping {
    if weight_bits < 8 {
        Clipping::Mse
    } else {
        Clipping::MinMax
    }
}

/// What a classifier variant computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VariantSpec {
    /// f32 weights and activations: the reference.
    Fp32,
    /// Weights stored in float16, computed in f32.
    Fp16,
    /// Integer weights; each Conv/Gemm quantizes its input per run (f32 elsewhere).
    Dynamic(Scheme),
    /// Integer-only: activation ranges from calibration.
    Static(Scheme),
}

/// The grammar, for error messages.
pub const SPEC_GRAMMAR: &str = "fp32, fp16, or w<2..8>a<4..8> with optional suffixes \
    -kmeans|-kmeans++|-pow2 (levels; w1..8 with kmeans, w2..8 with pow2), -tensor, -minmax|-mse (clipping), -wasym \
    (asymmetric weights), -sym (symmetric activations), -dynamic; e.g. w8a8, w4a8, \
    w4a8-kmeans, w2a8-pow2, w8a8-tensor (aliases: int8, int8-static, int8-static-tensor, \
    int8-dynamic)";

impl VariantSpec {
    /// Today's static int8 (`w8a8`).
    pub const INT8: VariantSpec = VariantSpec::Static(Scheme::W8A8);
    /// Today's dynamic-range int8 (`w8a8-dynamic`).
    pub const INT8_DYNAMIC: VariantSpec = VariantSpec::Dynamic(Scheme::W8A8);

    /// Parses a spec or an alias (see the module docs).
    pub fn parse(spec: &str) -> Result<VariantSpec> {
        let s = spec.trim().to_ascii_lowercase();
        let bad = |why: String| {
            Error::Input(format!(
                "bad variant '{}': {why}; expected {SPEC_GRAMMAR}",
                spec.trim()
            ))
        };
        let s = match s.as_str() {
            "fp32" => return Ok(VariantSpec::Fp32),
            "fp16" => return Ok(VariantSpec::Fp16),
            "int8" | "int8-static" => "w8a8",
            "int8-static-tensor" => "w8a8-tensor",
            "int8-dynamic" => "w8a8-dynamic",
            other => other,
        };
        let mut parts = s.split('-');
        let head = parts.next().unwrap_or_default();
        let (wb, ab) = head
            .strip_prefix('w')
            .and_then(|r| r.split_once('a'))
            .ok_or_else(|| bad(format!("'{head}' is not w<bits>a<bits>")))?;
        let bits = |t: &str, what: &str| {
            t.parse::<u8>()
                .map_err(|_| bad(format!("{what} bits '{t}' are not a number")))
        };
        let mut scheme = Scheme {
            weight_bits: bits(wb, "weight")?,
            act_bits: bits(ab, "activation")?,
            ..Scheme::W8A8
        };
        scheme.clipping = default_clipping(scheme.weight_bits);
        let (mut dynamic, mut seen) = (false, Vec::new());
        for suffix in parts {
            if seen.contains(&suffix) {
                return Err(bad(format!("suffix -{suffix} given twice")));
            }
            seen.push(suffix);
            match suffix {
                "kmeans" | "kmeans++" | "pow2" if scheme.levels != Levels::Uniform => {
                    return Err(bad("more than one kind of levels".into()))
                }
                "kmeans" => scheme.levels = Levels::KMeans { plus_plus: false },
                "kmeans++" => scheme.levels = Levels::KMeans { plus_plus: true },
                "pow2" => scheme.levels = Levels::Pow2,
                "tensor" => scheme.granularity = Granularity::Tensor,
                "minmax" => scheme.clipping = Clipping::MinMax,
                "mse" => scheme.clipping = Clipping::Mse,
                "wasym" => scheme.weight_symmetric = false,
                "sym" => scheme.act_symmetric = true,
                "dynamic" => dynamic = true,
                other => return Err(bad(format!("unknown suffix -{other}"))),
            }
        }
        let scheme = scheme.checked().map_err(|e| bad(e.to_string()))?;
        if dynamic && (scheme.act_bits != 8 || scheme.act_symmetric) {
            return Err(bad(
                "-dynamic quantizes activations at 8 bits, asymmetric (a8, no -sym)".into(),
            ));
        }
        Ok(if dynamic {
            VariantSpec::Dynamic(scheme)
        } else {
            VariantSpec::Static(scheme)
        })
    }

    /// The scheme of an integer variant.
    pub fn scheme(&self) -> Option<&Scheme> {
        match self {
            VariantSpec::Dynamic(s) | VariantSpec::Static(s) => Some(s),
            _ => None,
        }
    }

    /// The same variant with one weight scale per tensor (fp32 and fp16 unchanged): the older
    /// options `--per-tensor` and `perChannel: false`, the suffix `-tensor`.
    pub fn per_tensor(self) -> VariantSpec {
        let tensor = |s: Scheme| Scheme {
            granularity: Granularity::Tensor,
            ..s
        };
        match self {
            VariantSpec::Static(s) => VariantSpec::Static(tensor(s)),
            VariantSpec::Dynamic(s) => VariantSpec::Dynamic(tensor(s)),
            v => v,
        }
    }

    /// True for the integer-only (calibrated) variants.
    pub fn is_static(&self) -> bool {
        matches!(self, VariantSpec::Static(_))
    }
}

/// The canonical spec: `w4a8-kmeans-tensor`, suffixes in the grammar's order, defaults left out.
impl fmt::Display for VariantSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, dynamic) = match self {
            VariantSpec::Fp32 => return f.write_str("fp32"),
            VariantSpec::Fp16 => return f.write_str("fp16"),
            VariantSpec::Dynamic(s) => (s, true),
            VariantSpec::Static(s) => (s, false),
        };
        write!(f, "w{}a{}", s.weight_bits, s.act_bits)?;
        if s.levels != Levels::Uniform {
            write!(f, "-{}", s.levels_name())?;
        }
        if s.granularity == Granularity::Tensor {
            f.write_str("-tensor")?;
        }
        if s.levels == Levels::Uniform && s.clipping != default_clipping(s.weight_bits) {
            f.write_str(match s.clipping {
                Clipping::MinMax => "-minmax",
                Clipping::Mse => "-mse",
            })?;
        }
        if !s.weight_symmetric {
            f.write_str("-wasym")?;
        }
        if s.act_symmetric {
            f.write_str("-sym")?;
        }
        if dynamic {
            f.write_str("-dynamic")?;
        }
        Ok(())
    }
}

/// A scheme per layer: a default plus overrides by layer (node) name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LayerSchemes {
    /// The scheme of every layer not named in `overrides`.
    pub default: Scheme,
    /// Schemes by node name.
    pub overrides: BTreeMap<String, Scheme>,
}

impl LayerSchemes {
    /// Every layer with `scheme`.
    pub fn uniform(scheme: Scheme) -> LayerSchemes {
        LayerSchemes {
            default: scheme,
            overrides: BTreeMap::new(),
        }
    }

    /// The scheme of the node named `name`.
    pub fn for_layer(&self, name: &str) -> &Scheme {
        self.overrides.get(name).unwrap_or(&self.default)
    }
}

impl From<Scheme> for LayerSchemes {
    fn from(s: Scheme) -> Self {
        LayerSchemes::uniform(s)
    }
}
