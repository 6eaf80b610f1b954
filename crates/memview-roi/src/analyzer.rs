//! The open analyzer API: what an analyzer sees of a zone, the typed output
//! it fills, and how that output is written out as fields.
//!
//! An [`Analyzer`] is generic in its [`Output`] type; the runner keeps a
//! heterogeneous list of them erased at the edge, as [`BoxedAnalyzer`]s,
//! and one preallocated output per zone and analyzer, reused every frame.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use memview_pixel::{PixelFormat, Rect, RoiRef};

/// A zone to analyse: a stable id (what detections move and remove it
/// by), a name for reports, and a rectangle in frame pixels. The id and
/// name are shared strings: results and events copy them without
/// allocating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    /// The zone's id, unique in a runner.
    pub id: Arc<str>,
    /// The zone's name (the id unless given).
    pub name: Arc<str>,
    /// Where it is.
    pub rect: Rect,
}

impl Zone {
    /// A zone named by its id.
    pub fn new(id: impl Into<Arc<str>>, rect: Rect) -> Zone {
        let id = id.into();
        Zone {
            name: id.clone(),
            id,
            rect,
        }
    }

    /// A zone with a name of its own.
    pub fn named(id: impl Into<Arc<str>>, name: impl Into<Arc<str>>, rect: Rect) -> Zone {
        Zone {
            id: id.into(),
            name: name.into(),
            rect,
        }
    }
}

/// The frame a zone is cut from.
#[derive(Clone, Copy, Debug)]
pub struct FrameInfo {
    /// The frame's sequence number (0 for the first).
    pub seq: u64,
    /// Its timestamp, from the source's clock (the stream's frame rate for
    /// files, the driver's for cameras, the capture's start otherwise).
    pub pts: Duration,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// The pixel format.
    pub format: &'static PixelFormat,
}

impl Default for FrameInfo {
    fn default() -> FrameInfo {
        FrameInfo {
            seq: 0,
            pts: Duration::ZERO,
            width: 0,
            height: 0,
            format: &memview_pixel::format::GRAY8,
        }
    }
}

/// What an analyzer sees: the whole zone, every plane.
#[derive(Clone, Copy, Debug)]
pub struct ZoneInput<'a, 'f> {
    /// The zone cut from the frame (every plane; requested and effective
    /// rectangle).
    pub roi: RoiRef<'f>,
    /// The zone's rectangle cut from the previous frame, when there is one.
    pub previous: Option<RoiRef<'f>>,
    /// The zone: its id, name and rectangle.
    pub zone: &'a Zone,
    /// The frame: sequence number, timestamp, size and format.
    pub frame: &'a FrameInfo,
}

/// Receives an output's fields, in order. The JSON Lines sink writes each
/// as a JSON member; the CSV sink writes the scalars as columns.
pub trait Fields {
    /// An unsigned integer.
    fn u64(&mut self, name: &'static str, v: u64);
    /// A number (written as `null` when not finite).
    fn f64(&mut self, name: &'static str, v: f64);
    /// A string.
    fn str(&mut self, name: &'static str, v: &str);
    /// An array of unsigned integers (a histogram).
    fn u64s(&mut self, name: &'static str, v: &[u64]);
    /// An array of numbers (scores, an embedding).
    fn f32s(&mut self, name: &'static str, v: &[f32]);
}

/// An analyzer's per-zone output: preallocated once per zone, filled in
/// place every frame.
///
/// `fields` must write the same field names, in the same order, every
/// time (a CSV header is taken from the first record).
pub trait Output: Clone + fmt::Debug + Send + Sync + 'static {
    /// Writes the output's fields.
    fn fields(&self, out: &mut dyn Fields);
    /// Clears the output, for a zone that failed this frame (never leave
    /// the previous frame's values behind). It should keep its buffers.
    fn reset(&mut self);
    /// Why the analyzer could not fill the output this frame, if it could
    /// not (an analyzer has no other way to fail than to say so here, or
    /// to panic): the runner reports it as the zone's error and resets
    /// the zone's outputs.
    fn error(&self) -> Option<&str> {
        None
    }
}

/// An analysis of one zone. Implementations fill their own output and
/// allocate nothing per frame.
///
/// ```
/// use memview_roi::{Analyzer, Fields, Output, ZoneInput};
///
/// /// The zone's area, in pixels.
/// struct Area;
///
/// #[derive(Clone, Debug, Default)]
/// struct AreaOut(u64);
///
/// impl Output for AreaOut {
///     fn fields(&self, out: &mut dyn Fields) {
///         out.u64("area", self.0);
///     }
///     fn reset(&mut self) {
///         self.0 = 0;
///     }
/// }
///
/// impl Analyzer for Area {
///     type Output = AreaOut;
///     fn name(&self) -> &'static str {
///         "area"
///     }
///     fn output(&self, _: &'static memview_pixel::PixelFormat) -> AreaOut {
///         AreaOut::default()
///     }
///     fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut AreaOut) {
///         out.0 = (zone.roi.width() * zone.roi.height()) as u64;
///     }
/// }
///
/// use memview_capture::{BufferPool, FrameSource, Synthetic};
/// use memview_pixel::{format::I420, Rect};
/// use memview_roi::{RoiRunner, Zone};
///
/// let mut src = Synthetic::new(&I420, 64, 48, 1)?;
/// let mut pool = BufferPool::new(2, src.frame_len())?;
/// let zones = vec![Zone::new("z", Rect::new(2, 2, 10, 8))];
/// let mut runner = RoiRunner::new(zones, vec![Area.into()], 1)?;
/// let frame = src.next_frame(pool.try_acquire().ok_or("no buffer")?)?.ok_or("no frame")?;
/// let results = runner.process(frame);
/// assert_eq!(results.zone(0).and_then(|z| z.get::<AreaOut>()).map(|a| a.0), Some(80));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Analyzer: Send + Sync + 'static {
    /// What it writes per zone.
    type Output: Output;
    /// Its name (on the command line, in error messages).
    fn name(&self) -> &'static str;
    /// Whether it can read frames of `format`; a format it cannot serve is
    /// refused when the stream starts, with this reason.
    fn check(&self, format: &'static PixelFormat) -> Result<(), String> {
        let _ = format;
        Ok(())
    }
    /// A fresh output for one zone of frames of `format` (called once per
    /// zone, not per frame).
    fn output(&self, format: &'static PixelFormat) -> Self::Output;
    /// Analyses one zone.
    fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut Self::Output);
    /// Names of other analyzers whose fields this one writes as well, in
    /// the same pass (a fused kernel): a runner given both runs only this
    /// one.
    fn also_computes(&self) -> &'static [&'static str] {
        &[]
    }
}

/// No output: an analyzer with only side effects (or none).
impl Output for () {
    fn fields(&self, _: &mut dyn Fields) {}

    fn reset(&mut self) {}
}

/// An [`Output`] behind a pointer: what the runner and the result records
/// hold.
pub trait AnyOutput: fmt::Debug + Send + Sync {
    /// The output's fields ([`Output::fields`]).
    fn fields(&self, out: &mut dyn Fields);
    /// Clears it ([`Output::reset`]).
    fn reset(&mut self);
    /// Its error this frame ([`Output::error`]).
    fn error(&self) -> Option<&str>;
    /// The output itself, to downcast (`downcast_ref`).
    fn as_any(&self) -> &dyn Any;
    /// The output itself, mutably.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// A copy of it.
    fn clone_box(&self) -> Box<dyn AnyOutput>;
    /// Copies it into `dst` (reusing `dst`'s buffers) if `dst` is an output
    /// of the same type; `false` otherwise.
    fn copy_into(&self, dst: &mut dyn AnyOutput) -> bool;
}

impl<O: Output> AnyOutput for O {
    fn fields(&self, out: &mut dyn Fields) {
        Output::fields(self, out);
    }

    fn reset(&mut self) {
        Output::reset(self);
    }

    fn error(&self) -> Option<&str> {
        Output::error(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn clone_box(&self) -> Box<dyn AnyOutput> {
        Box::new(self.clone())
    }

    fn copy_into(&self, dst: &mut dyn AnyOutput) -> bool {
        match dst.as_any_mut().downcast_mut::<O>() {
            Some(d) => {
                d.clone_from(self);
                true
            }
            None => false,
        }
    }
}

/// The type-erased face of an [`Analyzer`].
trait Erased: Send + Sync {
    fn name(&self) -> &'static str;
    fn check(&self, format: &'static PixelFormat) -> Result<(), String>;
    fn output(&self, format: &'static PixelFormat) -> Box<dyn AnyOutput>;
    fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut dyn AnyOutput) -> bool;
    fn also_computes(&self) -> &'static [&'static str];
}

impl<A: Analyzer> Erased for A {
    fn name(&self) -> &'static str {
        Analyzer::name(self)
    }

    fn check(&self, format: &'static PixelFormat) -> Result<(), String> {
        Analyzer::check(self, format)
    }

    fn output(&self, format: &'static PixelFormat) -> Box<dyn AnyOutput> {
        Box::new(Analyzer::output(self, format))
    }

    #[inline]
    fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut dyn AnyOutput) -> bool {
        match out.as_any_mut().downcast_mut::<A::Output>() {
            Some(o) => {
                Analyzer::analyze(self, zone, o);
                true
            }
            None => false,
        }
    }

    fn also_computes(&self) -> &'static [&'static str] {
        Analyzer::also_computes(self)
    }
}

/// Any [`Analyzer`], its output type erased: what a runner's list holds.
pub struct BoxedAnalyzer(Box<dyn Erased>);

impl BoxedAnalyzer {
    /// Erases `analyzer`'s type.
    pub fn new<A: Analyzer>(analyzer: A) -> BoxedAnalyzer {
        BoxedAnalyzer(Box::new(analyzer))
    }

    /// The analyzer's name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// [`Analyzer::check`].
    pub fn check(&self, format: &'static PixelFormat) -> Result<(), String> {
        self.0.check(format)
    }

    /// A fresh output of the analyzer's type.
    pub fn output(&self, format: &'static PixelFormat) -> Box<dyn AnyOutput> {
        self.0.output(format)
    }

    /// Runs the analyzer into `out`; `false` if `out` is not an output of
    /// its type.
    #[inline]
    pub fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut dyn AnyOutput) -> bool {
        self.0.analyze(zone, out)
    }

    /// [`Analyzer::also_computes`].
    pub fn also_computes(&self) -> &'static [&'static str] {
        self.0.also_computes()
    }
}

impl<A: Analyzer> From<A> for BoxedAnalyzer {
    fn from(a: A) -> BoxedAnalyzer {
        BoxedAnalyzer::new(a)
    }
}

impl fmt::Debug for BoxedAnalyzer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BoxedAnalyzer").field(&self.name()).finish()
    }
}

/// Finds the value of one scalar field among an output's fields.
pub(crate) struct Find<'n> {
    pub(crate) name: &'n str,
    pub(crate) found: Option<f64>,
}

impl Fields for Find<'_> {
    fn u64(&mut self, name: &'static str, v: u64) {
        if name == self.name {
            self.found = Some(v as f64);
        }
    }

    fn f64(&mut self, name: &'static str, v: f64) {
        if name == self.name {
            self.found = Some(v);
        }
    }

    fn str(&mut self, _: &'static str, _: &str) {}

    fn u64s(&mut self, _: &'static str, _: &[u64]) {}

    fn f32s(&mut self, _: &'static str, _: &[f32]) {}
}

/// The value of the scalar field `name` among `outputs`' fields (the first
/// that writes it).
pub(crate) fn scalar(outputs: &[Box<dyn AnyOutput>], name: &str) -> Option<f64> {
    let mut find = Find { name, found: None };
    for o in outputs {
        o.fields(&mut find);
        if find.found.is_some() {
            break;
        }
    }
    find.found
}
