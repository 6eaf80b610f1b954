//! Result records: a frame's results copied out of the runner into a
//! record that is reused frame after frame (its strings and outputs keep
//! their buffers), so they can travel to a writer thread while the runner
//! goes on to the next frame.

use std::sync::Arc;

use memview_pixel::Rect;

use crate::analyzer::{AnyOutput, Fields, FrameInfo, Output};
use crate::events::MotionEvent;
use crate::FrameResults;

/// One zone's results in a [`FrameRecord`].
#[derive(Debug, Default)]
pub struct ZoneRecord {
    /// The zone's id.
    pub id: Arc<str>,
    /// The zone's name.
    pub name: Arc<str>,
    /// The rectangle asked for.
    pub rect: Rect,
    /// The rectangle analysed (on the chroma grid).
    pub effective: Rect,
    error: String,
    failed: bool,
    names: Vec<&'static str>,
    outputs: Vec<Box<dyn AnyOutput>>,
}

impl ZoneRecord {
    /// Why the zone failed, if it did (its outputs are then reset).
    pub fn error(&self) -> Option<&str> {
        self.failed.then_some(self.error.as_str())
    }

    /// Each analyzer's name and output, in the runner's order.
    pub fn outputs(&self) -> impl ExactSizeIterator<Item = (&'static str, &dyn AnyOutput)> {
        self.names
            .iter()
            .copied()
            .zip(self.outputs.iter().map(|o| &**o))
    }

    /// Every output's fields, in order.
    pub fn fields(&self, out: &mut dyn Fields) {
        for o in &self.outputs {
            o.fields(out);
        }
    }

    /// The output of type `O`, if there is one.
    pub fn get<O: Output>(&self) -> Option<&O> {
        self.outputs
            .iter()
            .find_map(|o| o.as_any().downcast_ref::<O>())
    }

    /// The value of the scalar field `name`.
    pub fn scalar(&self, name: &str) -> Option<f64> {
        crate::analyzer::scalar(&self.outputs, name)
    }
}

/// A frame's results and the events it raised, reused frame after frame.
#[derive(Debug, Default)]
pub struct FrameRecord {
    /// The frame.
    pub frame: FrameInfo,
    zones: Vec<ZoneRecord>,
    len: usize,
    events: Vec<MotionEvent>,
    results: bool,
}

impl FrameRecord {
    /// An empty record.
    pub fn new() -> FrameRecord {
        FrameRecord {
            // Room for a burst of events without growing.
            events: Vec::with_capacity(16),
            ..FrameRecord::default()
        }
    }

    /// Whether the record holds a frame's results (`false`: only events,
    /// the last of a run).
    pub fn has_results(&self) -> bool {
        self.results
    }

    /// Makes the record hold only `events` (raised when the stream ended).
    pub fn events_only(&mut self, events: &[MotionEvent]) {
        self.len = 0;
        self.events.clear();
        self.results = false;
        self.push_events(events);
    }

    /// The zones' results, in zone order.
    pub fn zones(&self) -> &[ZoneRecord] {
        &self.zones[..self.len]
    }

    /// The events raised at this frame (or held since a record last left).
    pub fn events(&self) -> &[MotionEvent] {
        &self.events
    }

    /// Copies `results` in, reusing the record's buffers: once the record
    /// has held as many zones with the same analyzers, this allocates
    /// nothing.
    pub fn fill(&mut self, results: &FrameResults<'_>) {
        self.frame = *results.frame();
        self.results = true;
        self.len = 0;
        self.events.clear();
        for report in results.iter() {
            if self.zones.len() == self.len {
                self.zones.push(ZoneRecord::default());
            }
            let z = &mut self.zones[self.len];
            self.len += 1;
            let zone = report.zone();
            z.id = zone.id.clone();
            z.name = zone.name.clone();
            z.rect = zone.rect;
            z.effective = report.effective();
            // The error's string is kept for the next error.
            z.error.clear();
            z.failed = report.error().is_some();
            z.error.push_str(report.error().unwrap_or(""));
            let outputs = report.raw_outputs();
            z.names.clear();
            z.names.extend(report.outputs().map(|(n, _)| n));
            z.outputs.truncate(outputs.len());
            for (i, o) in outputs.iter().enumerate() {
                match z.outputs.get_mut(i) {
                    Some(d) => {
                        if !o.copy_into(d.as_mut()) {
                            *d = o.clone_box();
                        }
                    }
                    None => z.outputs.push(o.clone_box()),
                }
            }
        }
    }

    /// Adds `events` (their zone ids are shared: no allocation while the
    /// record has room).
    pub fn push_events(&mut self, events: &[MotionEvent]) {
        self.events.extend_from_slice(events);
    }
}
