//! Zones into neural networks: the [`Tensor`] analyzer turns each zone into
//! its model input (memview-pixel's [`memview_pixel::tensor`]: crop,
//! convert, resize, fit, normalise, bit-exact to OpenCV's dnn), and a
//! [`Model`] runs once per frame on the batch of every zone's tensor,
//! writing per-zone outputs (scores, embeddings) that the result sinks
//! serialise beside the analyzers' fields.
//!
//! ```
//! use std::sync::Arc;
//!
//! use memview_capture::{BufferPool, FrameSource, Synthetic};
//! use memview_pixel::format::I420;
//! use memview_pixel::tensor::TensorSpec;
//! use memview_pixel::Rect;
//! use memview_roi::model::{Model, ModelOut, Tensor};
//! use memview_roi::{RoiRunner, Zone};
//!
//! /// A "model" that scores each zone by its tensor's mean.
//! struct MeanScore;
//!
//! impl Model for MeanScore {
//!     fn name(&self) -> &'static str {
//!         "mean_score"
//!     }
//!     fn outputs(&self) -> &[(&'static str, usize)] {
//!         &[("score", 1)]
//!     }
//!     fn run(&mut self, batch: &[f32], zones: &[Arc<str>], out: &mut [f32]) -> Result<(), String> {
//!         let per = batch.len() / zones.len();
//!         for (o, t) in out.iter_mut().zip(batch.chunks_exact(per)) {
//!             *o = t.iter().sum::<f32>() / per as f32;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let mut src = Synthetic::new(&I420, 64, 48, 1)?;
//! let mut pool = BufferPool::new(2, src.frame_len())?;
//! let zones = vec![Zone::new("a", Rect::new(0, 0, 16, 16)), Zone::new("b", Rect::new(20, 10, 30, 30))];
//! let tensor = Tensor::new(TensorSpec::new(8, 8))?;
//! let mut runner = RoiRunner::new(zones, vec![tensor.into()], 1)?;
//! runner.set_model(Box::new(MeanScore))?;
//! let frame = src.next_frame(pool.try_acquire().ok_or("no buffer")?)?.ok_or("no frame")?;
//! let results = runner.process(frame);
//! let score = results.zone(1).and_then(|z| z.get::<ModelOut>()).map(|m| m.values("score").len());
//! assert_eq!(score, Some(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;
use std::sync::Arc;

use memview_pixel::tensor::{Affine, TensorScratch, TensorSpec};
use memview_pixel::{ColorFamily, PixelFormat};

use crate::analyzer::{Analyzer, AnyOutput, Fields, Output, ZoneInput};

/// The analyzer whose output is the zone's tensor slot.
#[derive(Debug)]
pub struct Tensor {
    spec: TensorSpec,
}

impl Tensor {
    /// The analyzer for `spec`, or why the spec cannot be met.
    pub fn new(spec: TensorSpec) -> Result<Tensor, String> {
        spec.check().map_err(|e| e.to_string())?;
        Ok(Tensor { spec })
    }

    /// What it makes.
    pub fn spec(&self) -> &TensorSpec {
        &self.spec
    }
}

/// A zone's tensor: `3 x H x W` (or `H x W x 3`) `f32`s, the map back to
/// frame pixels, and the zone's own working buffers.
#[derive(Debug)]
pub struct TensorOut {
    /// The tensor, [`TensorSpec::slot_len`] values.
    pub data: Vec<f32>,
    /// Tensor coordinates to frame pixels.
    pub map: Affine,
    /// Whether `data` holds this frame's zone.
    pub ok: bool,
    error: String,
    scratch: TensorScratch,
}

/// A copy of the tensor and its map; the working buffers are not copied
/// (a copy starts with its own, empty). `clone_from` reuses the
/// destination's buffers: result records copy outputs every frame.
impl Clone for TensorOut {
    fn clone(&self) -> TensorOut {
        TensorOut {
            data: self.data.clone(),
            map: self.map,
            ok: self.ok,
            error: self.error.clone(),
            scratch: TensorScratch::default(),
        }
    }

    fn clone_from(&mut self, src: &TensorOut) {
        self.data.clone_from(&src.data);
        self.map = src.map;
        self.ok = src.ok;
        self.error.clone_from(&src.error);
    }
}

impl Output for TensorOut {
    fn fields(&self, out: &mut dyn Fields) {
        // The tensor itself is the model's input, not a result: only the
        // map is written (a detector's boxes in the tensor land on the
        // frame with it).
        let m = self.map;
        out.f32s(
            "tensor_map",
            &[m.sx as f32, m.sy as f32, m.tx as f32, m.ty as f32],
        );
    }

    fn reset(&mut self) {
        self.data.fill(0.0);
        self.map = Affine::default();
        self.ok = false;
    }

    fn error(&self) -> Option<&str> {
        (!self.ok).then_some(self.error.as_str())
    }
}

impl Analyzer for Tensor {
    type Output = TensorOut;

    fn name(&self) -> &'static str {
        "tensor"
    }

    fn check(&self, format: &'static PixelFormat) -> Result<(), String> {
        let eight_bit = format.sample_bytes == 1;
        let ok = match format.family {
            ColorFamily::Yuv => {
                eight_bit
                    && (format.log2_chroma_w == 1
                        || (format.log2_chroma_w, format.log2_chroma_h) == (0, 0))
            }
            ColorFamily::Rgb | ColorFamily::Gray => eight_bit,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{} is not a format the tensors read (8-bit YUV, RGB or grey)",
                format.name
            ))
        }
    }

    fn output(&self, _: &'static PixelFormat) -> TensorOut {
        TensorOut {
            data: vec![0.0; self.spec.slot_len()],
            map: Affine::default(),
            ok: false,
            error: String::new(),
            scratch: TensorScratch::default(),
        }
    }

    fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut TensorOut) {
        match self
            .spec
            .zone_into(&mut out.scratch, &zone.roi, &mut out.data)
        {
            Ok(map) => {
                out.map = map;
                out.ok = true;
            }
            Err(e) => {
                out.error.clear();
                let _ = write!(out.error, "{e}");
                out.ok = false;
            }
        }
    }
}

/// A model run once per frame on the batch of every zone's tensor.
pub trait Model: Send + 'static {
    /// Its name (in errors).
    fn name(&self) -> &'static str;
    /// Its outputs per zone: a field name and how many `f32`s each.
    fn outputs(&self) -> &[(&'static str, usize)];
    /// `f32`s per zone it takes, if it knows (checked against the tensor
    /// analyzer's slot when the model is set).
    fn input_len(&self) -> Option<usize> {
        None
    }
    /// Runs on `batch`: `zones.len()` tensors one after the other, for the
    /// zones `zones` (their ids), writing into `out` each zone's outputs
    /// one after the other (in the order of [`Model::outputs`]).
    fn run(&mut self, batch: &[f32], zones: &[Arc<str>], out: &mut [f32]) -> Result<(), String>;
}

/// A zone's model outputs: one run of `f32`s per output of the model.
#[derive(Debug, Default)]
pub struct ModelOut {
    /// Per model output: its name, its length per zone, this zone's values.
    fields: Vec<(&'static str, usize, Vec<f32>)>,
}

/// `clone_from` reuses the destination's buffers.
impl Clone for ModelOut {
    fn clone(&self) -> ModelOut {
        ModelOut {
            fields: self.fields.clone(),
        }
    }

    fn clone_from(&mut self, src: &ModelOut) {
        self.fields.truncate(src.fields.len());
        for (i, (n, k, v)) in src.fields.iter().enumerate() {
            match self.fields.get_mut(i) {
                Some(d) => {
                    (d.0, d.1) = (n, *k);
                    d.2.clone_from(v);
                }
                None => self.fields.push((n, *k, v.clone())),
            }
        }
    }
}

impl ModelOut {
    fn new(model: &dyn Model) -> ModelOut {
        ModelOut {
            fields: model
                .outputs()
                .iter()
                .map(|&(n, len)| (n, len, Vec::with_capacity(len)))
                .collect(),
        }
    }

    /// The values of output `name` (empty when the zone failed).
    pub fn values(&self, name: &str) -> &[f32] {
        self.fields
            .iter()
            .find(|(n, _, _)| *n == name)
            .map_or(&[], |(_, _, v)| v.as_slice())
    }

    fn set(&mut self, from: &[f32]) {
        let mut at = 0;
        for (_, n, v) in &mut self.fields {
            v.clear();
            v.extend_from_slice(&from[at..at + *n]);
            at += *n;
        }
    }
}

impl Output for ModelOut {
    fn fields(&self, out: &mut dyn Fields) {
        for (n, _, v) in &self.fields {
            out.f32s(n, v);
        }
    }

    fn reset(&mut self) {
        for (_, _, v) in &mut self.fields {
            v.clear();
        }
    }
}

/// The runner's model stage: the model, the analyzer whose tensors it
/// takes, and the batch and output buffers (grown only when more zones
/// than ever before are live).
pub(crate) struct ModelStage {
    pub(crate) model: Box<dyn Model>,
    /// The tensor analyzer's index in the runner's list.
    pub(crate) tensor: usize,
    slot: usize,
    per_zone: usize,
    batch: Vec<f32>,
    out: Vec<f32>,
    ids: Vec<Arc<str>>,
    which: Vec<usize>,
}

impl std::fmt::Debug for ModelStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelStage")
            .field("model", &self.model.name())
            .field("tensor", &self.tensor)
            .finish()
    }
}

impl ModelStage {
    pub(crate) fn new(model: Box<dyn Model>, tensor: usize, slot: usize) -> ModelStage {
        let per_zone = model.outputs().iter().map(|&(_, n)| n).sum();
        ModelStage {
            model,
            tensor,
            slot,
            per_zone,
            batch: Vec::new(),
            out: Vec::new(),
            ids: Vec::new(),
            which: Vec::new(),
        }
    }

    /// A zone's fresh output.
    pub(crate) fn output(&self) -> Box<dyn AnyOutput> {
        Box::new(ModelOut::new(&*self.model))
    }

    /// Runs the model on the tensors of the zones that have one and
    /// writes each zone's outputs (the last of its outputs). A zone without
    /// a tensor this frame gets none; if the model fails, every zone it ran
    /// on fails with its error.
    pub(crate) fn run(&mut self, slots: &mut [crate::Slot]) {
        self.ids.clear();
        self.which.clear();
        for (i, slot) in slots.iter_mut().enumerate() {
            if let Some(mine) = slot.outputs.last_mut() {
                mine.reset();
            }
            let Some(t) = slot
                .outputs
                .get(self.tensor)
                .and_then(|o| o.as_any().downcast_ref::<TensorOut>())
                .filter(|t| t.ok && !slot.failed && t.data.len() == self.slot)
            else {
                continue;
            };
            let n = self.ids.len();
            let end = (n + 1) * self.slot;
            if self.batch.len() < end {
                self.batch.resize(end, 0.0);
            }
            self.batch[n * self.slot..end].copy_from_slice(&t.data);
            self.ids.push(slot.zone.id.clone());
            self.which.push(i);
        }
        let n = self.ids.len();
        if n == 0 {
            return;
        }
        let len = n * self.per_zone;
        if self.out.len() < len {
            self.out.resize(len, 0.0);
        }
        let out = &mut self.out[..len];
        out.fill(0.0);
        let ran = self.model.run(&self.batch[..n * self.slot], &self.ids, out);
        for (k, &i) in self.which.iter().enumerate() {
            let slot = &mut slots[i];
            match &ran {
                Ok(()) => {
                    let v = &self.out[k * self.per_zone..(k + 1) * self.per_zone];
                    if let Some(m) = slot
                        .outputs
                        .last_mut()
                        .and_then(|o| o.as_any_mut().downcast_mut::<ModelOut>())
                    {
                        m.set(v);
                    }
                }
                Err(e) => {
                    crate::push_error(&mut slot.error, format_args!("{}: {e}", self.model.name()));
                    slot.failed = true;
                    for o in &mut slot.outputs {
                        o.reset();
                    }
                }
            }
        }
    }
}
