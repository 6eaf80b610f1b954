//! Motion events on top of the motion output, with hysteresis.
//!
//! Per zone, `motion_start` when the mean absolute luma difference per
//! pixel (the `motion_per_pixel` field of [`crate::analyzers::Motion`])
//! stays above a threshold for K frames in a row, and `motion_end` once it
//! stays at or below it for M frames in a row. Each event names its zone,
//! the frame where the change began (the first of the K or M frames; it is
//! raised at the last of them) with that frame's timestamp, and the peak
//! value: over the K frames for a start, over the whole episode for an
//! end. A zone that vanishes while in motion, and every zone in motion when
//! the stream ends, gets its `motion_end` then. A zone that fails a frame
//! keeps its state through it.

use std::sync::Arc;
use std::time::Duration;

use crate::analyzer::FrameInfo;
use crate::FrameResults;

/// Which way the motion went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EventKind {
    /// Motion began.
    #[default]
    MotionStart,
    /// Motion ended.
    MotionEnd,
}

impl EventKind {
    /// `motion_start` or `motion_end`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::MotionStart => "motion_start",
            EventKind::MotionEnd => "motion_end",
        }
    }
}

/// One event.
#[derive(Clone, Debug, PartialEq)]
pub struct MotionEvent {
    /// Start or end.
    pub kind: EventKind,
    /// The zone's id.
    pub zone_id: Arc<str>,
    /// The zone's name.
    pub zone_name: Arc<str>,
    /// The frame where the change began.
    pub frame: u64,
    /// That frame's timestamp.
    pub pts: Duration,
    /// The highest `motion_per_pixel` seen (over the K frames for a start,
    /// over the episode for an end).
    pub peak: f64,
}

/// The detector's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MotionOptions {
    /// Mean absolute difference per pixel, in sample values, above which a
    /// frame counts as moving.
    pub threshold: f64,
    /// K: moving frames in a row that start an event.
    pub start_frames: u32,
    /// M: still frames in a row that end it.
    pub end_frames: u32,
}

impl Default for MotionOptions {
    fn default() -> MotionOptions {
        MotionOptions {
            threshold: 2.0,
            start_frames: 3,
            end_frames: 5,
        }
    }
}

#[derive(Debug)]
struct ZoneState {
    id: Arc<str>,
    name: Arc<str>,
    active: bool,
    /// Frames in a row on the other side of the threshold.
    run: u32,
    /// Where that run began.
    run_frame: u64,
    run_pts: Duration,
    /// The peak of the run (inactive) or of the episode (active).
    peak: f64,
}

/// Motion events per zone, with hysteresis.
#[derive(Debug)]
pub struct MotionEvents {
    options: MotionOptions,
    states: Vec<ZoneState>,
    pending: Vec<MotionEvent>,
    dropped: u64,
}

/// The most events held for the writer (a budget: a writer that falls
/// behind drops result records, and events wait here for the next record
/// that leaves; past this many they are dropped and counted).
pub const MAX_PENDING: usize = 4096;

impl MotionEvents {
    /// A detector, or why the options are not usable.
    pub fn new(options: MotionOptions) -> Result<MotionEvents, String> {
        if !(options.threshold.is_finite() && options.threshold >= 0.0) {
            return Err(format!(
                "motion threshold {} is not a number of at least 0",
                options.threshold
            ));
        }
        if options.start_frames == 0 || options.end_frames == 0 {
            return Err("motion events need at least 1 frame to start and to end".into());
        }
        Ok(MotionEvents {
            options,
            states: Vec::new(),
            pending: Vec::with_capacity(64),
            dropped: 0,
        })
    }

    /// The settings.
    pub fn options(&self) -> MotionOptions {
        self.options
    }

    /// Takes one frame's results; new events join [`MotionEvents::pending`].
    pub fn update(&mut self, results: &FrameResults<'_>) {
        let info = *results.frame();
        let n = results.len();
        for (i, report) in results.iter().enumerate() {
            let zone = report.zone();
            // Zones keep their order frame to frame: the state is usually
            // at the same place.
            let j = if self.states.get(i).is_some_and(|s| s.id == zone.id) {
                i
            } else if let Some(j) = self.states[i.min(self.states.len())..]
                .iter()
                .position(|s| s.id == zone.id)
            {
                i + j
            } else {
                self.states.push(ZoneState {
                    id: zone.id.clone(),
                    name: zone.name.clone(),
                    active: false,
                    run: 0,
                    run_frame: 0,
                    run_pts: Duration::ZERO,
                    peak: 0.0,
                });
                self.states.len() - 1
            };
            self.states.swap(i, j);
            if !Arc::ptr_eq(&self.states[i].name, &zone.name) {
                self.states[i].name = zone.name.clone();
            }
            if let (None, Some(v)) = (report.error(), report.scalar("motion_per_pixel")) {
                self.step(i, v, &info);
            }
        }
        // Zones gone this frame: an episode in progress ends here.
        for i in n..self.states.len() {
            if self.states[i].active {
                self.emit(i, EventKind::MotionEnd, info.seq, info.pts);
            }
        }
        self.states.truncate(n);
    }

    fn step(&mut self, i: usize, v: f64, info: &FrameInfo) {
        let o = self.options;
        let s = &mut self.states[i];
        let moving = v > o.threshold;
        if moving != s.active {
            if s.run == 0 {
                s.run_frame = info.seq;
                s.run_pts = info.pts;
                if !s.active {
                    s.peak = 0.0;
                }
            }
            s.run += 1;
        } else {
            s.run = 0;
        }
        if moving {
            s.peak = s.peak.max(v);
        }
        let need = if s.active {
            o.end_frames
        } else {
            o.start_frames
        };
        if s.run >= need {
            let (frame, pts) = (s.run_frame, s.run_pts);
            let kind = if s.active {
                EventKind::MotionEnd
            } else {
                EventKind::MotionStart
            };
            self.emit(i, kind, frame, pts);
            let s = &mut self.states[i];
            s.active = !s.active;
            s.run = 0;
        }
    }

    fn emit(&mut self, i: usize, kind: EventKind, frame: u64, pts: Duration) {
        if self.pending.len() >= MAX_PENDING {
            self.dropped += 1;
            return;
        }
        let s = &self.states[i];
        self.pending.push(MotionEvent {
            kind,
            zone_id: s.id.clone(),
            zone_name: s.name.clone(),
            frame,
            pts,
            peak: s.peak,
        });
    }

    /// Ends every episode in progress at `last` (the stream ended).
    pub fn finish(&mut self, last: &FrameInfo) {
        for i in 0..self.states.len() {
            if self.states[i].active {
                self.emit(i, EventKind::MotionEnd, last.seq, last.pts);
                self.states[i].active = false;
            }
        }
    }

    /// Events raised and not yet taken.
    pub fn pending(&self) -> &[MotionEvent] {
        &self.pending
    }

    /// Forgets the pending events (they were handed on).
    pub fn clear_pending(&mut self) {
        self.pending.clear();
    }

    /// Events dropped because more than [`MAX_PENDING`] waited.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}
