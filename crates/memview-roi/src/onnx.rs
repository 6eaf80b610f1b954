//! ONNX models run by `tract` (pure Rust: no system libraries, nothing
//! downloaded at build time) as a [`Model`]: loaded once, its input pinned
//! to the batch's shape (`N x 3 x H x W`, or `N x H x W x 3`, of
//! [`TensorSpec`]), run once per frame on every zone's tensor, each of its
//! outputs split per zone and written as a field named after it.
//!
//! The plan is optimised for the number of zones it runs on and made again
//! only when that number changes. tract allocates while it runs (its own
//! tensors); everything else per frame is preallocated.

use std::path::Path;
use std::sync::Arc;

use memview_pixel::tensor::{TensorLayout, TensorSpec};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::GenericFactoid;

use crate::model::Model;

type Plan = Arc<TypedRunnableModel>;

/// An ONNX model on the zones' tensors.
pub struct OnnxModel {
    source: InferenceModel,
    /// One zone's input shape (without the batch axis).
    dims: [usize; 3],
    plan: Option<(usize, Plan)>,
    outputs: Vec<(&'static str, usize)>,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("input", &self.dims)
            .field("outputs", &self.outputs)
            .finish()
    }
}

/// `what: e` on one line (tract's error chains span several).
fn err(what: &str, e: impl std::fmt::Display) -> String {
    let e = e.to_string();
    let e: Vec<&str> = e.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    format!("{what}: {}", e.join("; "))
}

/// `source` with its first input pinned to `n` zones of `dims`, optimised.
fn pin(source: &InferenceModel, n: usize, dims: [usize; 3]) -> Result<Plan, String> {
    let fact = InferenceFact::dt_shape(f32::datum_type(), [n, dims[0], dims[1], dims[2]]);
    source
        .clone()
        .with_input_fact(0, fact)
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(|e| {
            err(
                &format!(
                    "the model does not take {n} x {} x {} x {} f32 tensors",
                    dims[0], dims[1], dims[2]
                ),
                format!("{e:#}"),
            )
        })
}

impl OnnxModel {
    /// Loads `path` for tensors of `spec`: its first input becomes the
    /// zones' batch. Each output's per-zone size is learnt from a plan for
    /// one zone; an output whose shape is not `N x ...` with a fixed size
    /// per zone is refused.
    pub fn load(path: &Path, spec: &TensorSpec) -> Result<OnnxModel, String> {
        let source = tract_onnx::onnx()
            .model_for_path(path)
            .map_err(|e| err(&format!("cannot load {}", path.display()), format!("{e:#}")))?;
        let (w, h) = (spec.width, spec.height);
        let dims = match spec.layout {
            TensorLayout::Nchw => [3, h, w],
            TensorLayout::Nhwc => [h, w, 3],
        };
        // The input's declared shape: its fixed sides must be ours (tract
        // would take a model for 112x112 inputs at 64x48 without a word).
        let declared = source.input_fact(0).map_err(|e| err("input", e))?;
        let want = [1, dims[0], dims[1], dims[2]];
        let sides: Vec<Option<i64>> = declared
            .shape
            .dims()
            .map(|d| match d {
                GenericFactoid::Only(t) => t.as_i64(),
                GenericFactoid::Any => None,
            })
            .collect();
        let fits = sides.len() == 4
            && sides
                .iter()
                .zip(want)
                .skip(1)
                .all(|(d, w)| d.is_none_or(|d| d == w as i64));
        if !fits && !declared.shape.is_open() {
            let shown: Vec<String> = sides
                .iter()
                .map(|d| d.map_or("N".to_owned(), |d| d.to_string()))
                .collect();
            return Err(format!(
                "the model takes {} tensors, the zones are N x {} x {} x {} ({:?}, --input-size {w}x{h})",
                shown.join(" x "),
                dims[0],
                dims[1],
                dims[2],
                spec.layout
            ));
        }
        let plan = pin(&source, 1, dims)?;
        let model = plan.model();
        let mut outputs = Vec::new();
        let outlets = model.output_outlets().map_err(|e| err("outputs", e))?;
        for (i, &outlet) in outlets.iter().enumerate() {
            let fact = model.outlet_fact(outlet).map_err(|e| err("outputs", e))?;
            let shape = fact
                .shape
                .as_concrete()
                .filter(|s| s.first() == Some(&1))
                .ok_or_else(|| {
                    format!(
                        "output {i} has shape {:?}: memview needs the batch first and a fixed size per zone",
                        fact.shape
                    )
                })?;
            let name = model
                .outlet_label(outlet)
                .map(str::to_owned)
                .unwrap_or_else(|| model.node(outlet.node).name.clone());
            // One small string per output, once per model: the fields'
            // names must be `'static`.
            let name: &'static str = Box::leak(name.into_boxed_str());
            outputs.push((name, shape[1..].iter().product()));
        }
        Ok(OnnxModel {
            source,
            dims,
            plan: Some((1, plan)),
            outputs,
        })
    }
}

impl Model for OnnxModel {
    fn name(&self) -> &'static str {
        "onnx"
    }

    fn outputs(&self) -> &[(&'static str, usize)] {
        &self.outputs
    }

    fn input_len(&self) -> Option<usize> {
        Some(self.dims.iter().product())
    }

    fn run(&mut self, batch: &[f32], zones: &[Arc<str>], out: &mut [f32]) -> Result<(), String> {
        let n = zones.len();
        let plan = match &self.plan {
            Some((m, p)) if *m == n => p.clone(),
            _ => {
                let p = pin(&self.source, n, self.dims)?;
                self.plan = Some((n, p.clone()));
                p
            }
        };
        let [a, b, c] = self.dims;
        let input = Tensor::from_shape(&[n, a, b, c], batch).map_err(|e| err("input", e))?;
        let results = plan
            .run(tvec!(input.into()))
            .map_err(|e| err("run", format!("{e:#}")))?;
        let per_zone: usize = self.outputs.iter().map(|&(_, k)| k).sum();
        let mut at = 0;
        for ((name, k), r) in self.outputs.iter().zip(&results) {
            let plain = r
                .try_as_plain_ram()
                .map_err(|e| err(&format!("output {name}"), e))?;
            let v = plain
                .as_slice::<f32>()
                .map_err(|e| err(&format!("output {name}"), e))?;
            if v.len() != n * k {
                return Err(format!(
                    "output {name} has {} values, {n} zones of {k} were expected",
                    v.len()
                ));
            }
            for (z, chunk) in v.chunks_exact((*k).max(1)).enumerate() {
                out[z * per_zone + at..z * per_zone + at + k].copy_from_slice(chunk);
            }
            at += k;
        }
        Ok(())
    }
}
