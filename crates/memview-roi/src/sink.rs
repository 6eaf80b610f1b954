//! Result sinks, and the writer thread that feeds them.
//!
//! A [`Sink`] receives each frame's [`FrameRecord`]. Sinks run off the
//! analysis threads: a [`ResultWriter`] owns a bounded ring of preallocated
//! records; the pipeline fills a free one after each frame and hands it to
//! the writer thread, which runs every sink on it and gives it back. When
//! the sinks are slower than the stream, [`SinkPolicy::Drop`] drops the
//! frame's record and counts it (memory never grows, capture never
//! stalls); [`SinkPolicy::Block`] waits for a record to come back.
//!
//! # The JSON Lines schema
//!
//! [`JsonLines`] writes one object per frame, members in this order:
//!
//! - `stream`: the stream's name, only where several streams write to one
//!   place ([`JsonLines::stream`]);
//! - `frame`: the frame's sequence number (0 for the first);
//! - `pts`: its timestamp in seconds;
//! - `zones`: one object per zone, in zone order: `id`, `name`, `rect`
//!   (`[x, y, w, h]` as asked), `effective` (only when the rectangle
//!   analysed differs, snapped to the chroma grid), then either `error`
//!   (a string) or each analyzer's fields in the runner's order: `mean`,
//!   `variance` (numbers), `histogram` (256 counts), `motion` (a sum of
//!   absolute differences), `motion_per_pixel`, `edges`, `colour_y`,
//!   `colour_u`, `colour_v` (or `colour_r` ...), and a user analyzer's own.
//!
//! A number that is not finite is written `null`.
//!
//! ```text
//! {"frame":0,"pts":0.0,"zones":[{"id":"door","name":"door","rect":[0,0,64,48],"mean":118.5,"variance":12.25,"motion":0,"motion_per_pixel":0.0}]}
//! ```
//!
//! [`EventLines`] writes one object per event: `stream` (as above), `event`
//! (`motion_start` or `motion_end`), `frame`, `pts`, `zone` (`{"id", "name"}`) and `peak`.
//!
//! [`Csv`] writes one row per frame and zone: `frame`, `pts`, `zone_id`,
//! `zone_name`, `x`, `y`, `w`, `h`, `error`, then every scalar field;
//! arrays (the histogram) go to a second CSV file of their own, one row
//! per frame, zone and array (`frame`, `zone_id`, `field`, values), or are
//! left out.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::analyzer::Fields;
use crate::json;
use crate::record::FrameRecord;

/// Receives each frame's results, on the writer thread.
pub trait Sink: Send {
    /// One frame's record.
    fn frame(&mut self, record: &FrameRecord) -> io::Result<()>;
    /// The writer has no record waiting: pass what is buffered on (a
    /// consumer following the stream sees every frame written so far,
    /// while a writer that is behind writes in large blocks).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// The stream ended: flush.
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The frame's results as one JSON line (the schema is in the module
/// docs), formatted into a reused buffer and flushed per frame.
#[derive(Debug)]
pub struct JsonLines<W> {
    out: W,
    buf: Vec<u8>,
    /// `{"stream":NAME,` for a named stream, else `{`.
    start: Vec<u8>,
}

/// `{`, or `{"stream":NAME,` where a stream is named.
fn line_start(stream: Option<&str>) -> Vec<u8> {
    let mut start = b"{".to_vec();
    if let Some(name) = stream {
        start.extend_from_slice(b"\"stream\":");
        json::str(&mut start, name);
        start.push(b',');
    }
    start
}

impl<W: Write + Send> JsonLines<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> JsonLines<W> {
        JsonLines {
            out,
            buf: Vec::with_capacity(4096),
            start: line_start(None),
        }
    }

    /// Each line starts with `"stream":name` (one of several streams
    /// writing to one place).
    pub fn stream(mut self, name: &str) -> JsonLines<W> {
        self.start = line_start(Some(name));
        self
    }

    /// The line `record` is written as (without its newline), appended to
    /// `buf`.
    pub fn format(record: &FrameRecord, buf: &mut Vec<u8>) {
        buf.push(b'{');
        JsonLines::<W>::members(record, buf);
    }

    /// [`JsonLines::format`] without the line's opening brace.
    fn members(record: &FrameRecord, buf: &mut Vec<u8>) {
        buf.extend_from_slice(b"\"frame\":");
        json::u64(buf, record.frame.seq);
        buf.extend_from_slice(b",\"pts\":");
        json::f64(buf, record.frame.pts.as_secs_f64());
        buf.extend_from_slice(b",\"zones\":[");
        for (i, z) in record.zones().iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"{\"id\":");
            json::str(buf, &z.id);
            buf.extend_from_slice(b",\"name\":");
            json::str(buf, &z.name);
            buf.extend_from_slice(b",\"rect\":");
            json::rect(buf, z.rect);
            if z.effective != z.rect && z.error().is_none() {
                buf.extend_from_slice(b",\"effective\":");
                json::rect(buf, z.effective);
            }
            match z.error() {
                Some(e) => {
                    buf.extend_from_slice(b",\"error\":");
                    json::str(buf, e);
                }
                None => z.fields(&mut json::Members { out: buf }),
            }
            buf.push(b'}');
        }
        buf.extend_from_slice(b"]}");
    }
}

impl<W: Write + Send> Sink for JsonLines<W> {
    fn frame(&mut self, record: &FrameRecord) -> io::Result<()> {
        if !record.has_results() {
            return Ok(());
        }
        self.buf.clear();
        self.buf.extend_from_slice(&self.start);
        JsonLines::<W>::members(record, &mut self.buf);
        self.buf.push(b'\n');
        self.out.write_all(&self.buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Each event as one JSON line (the schema is in the module docs).
#[derive(Debug)]
pub struct EventLines<W> {
    out: W,
    buf: Vec<u8>,
    start: Vec<u8>,
}

impl<W: Write + Send> EventLines<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> EventLines<W> {
        EventLines {
            out,
            buf: Vec::with_capacity(4096),
            start: line_start(None),
        }
    }

    /// Each line starts with `"stream":name` (one of several streams
    /// writing to one place).
    pub fn stream(mut self, name: &str) -> EventLines<W> {
        self.start = line_start(Some(name));
        self
    }
}

impl<W: Write + Send> Sink for EventLines<W> {
    fn frame(&mut self, record: &FrameRecord) -> io::Result<()> {
        if record.events().is_empty() {
            return Ok(());
        }
        // One line at a time: a burst of events (every zone's episode
        // ending with the stream) never grows the buffer, whose 4 KiB hold
        // the longest line (ids and names of at most 256 bytes, escaped).
        for e in record.events() {
            self.buf.clear();
            let buf = &mut self.buf;
            buf.extend_from_slice(&self.start);
            buf.extend_from_slice(b"\"event\":");
            json::str(buf, e.kind.name());
            buf.extend_from_slice(b",\"frame\":");
            json::u64(buf, e.frame);
            buf.extend_from_slice(b",\"pts\":");
            json::f64(buf, e.pts.as_secs_f64());
            buf.extend_from_slice(b",\"zone\":{\"id\":");
            json::str(buf, &e.zone_id);
            buf.extend_from_slice(b",\"name\":");
            json::str(buf, &e.zone_name);
            buf.extend_from_slice(b"},\"peak\":");
            json::f64(buf, e.peak);
            buf.extend_from_slice(b"}\n");
            self.out.write_all(&self.buf)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// One row per frame and zone of scalar fields, and optionally the arrays
/// in a second file (the layout is in the module docs).
pub struct Csv {
    out: Box<dyn Write + Send>,
    arrays: Option<Box<dyn Write + Send>>,
    buf: Vec<u8>,
    abuf: Vec<u8>,
    header: bool,
}

impl std::fmt::Debug for Csv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Csv")
            .field("arrays", &self.arrays.is_some())
            .finish()
    }
}

/// Writes `s` as a CSV field (quoted when it holds a comma, a quote or a
/// line break).
fn csv_str(out: &mut Vec<u8>, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

/// The scalar fields' names (header) or values (a row), each after a comma.
struct CsvScalars<'a> {
    out: &'a mut Vec<u8>,
    header: bool,
}

impl CsvScalars<'_> {
    fn put(&mut self, name: &str, value: impl FnOnce(&mut Vec<u8>)) {
        self.out.push(b',');
        if self.header {
            csv_str(self.out, name);
        } else {
            value(self.out);
        }
    }
}

impl Fields for CsvScalars<'_> {
    fn u64(&mut self, name: &'static str, v: u64) {
        self.put(name, |o| json::u64(o, v));
    }

    fn f64(&mut self, name: &'static str, v: f64) {
        // Not finite: an empty field.
        self.put(name, |o| {
            if v.is_finite() {
                json::f64(o, v);
            }
        });
    }

    fn str(&mut self, name: &'static str, v: &str) {
        self.put(name, |o| csv_str(o, v));
    }

    fn u64s(&mut self, _: &'static str, _: &[u64]) {}

    fn f32s(&mut self, _: &'static str, _: &[f32]) {}
}

/// The array fields, one row each.
struct CsvArrays<'a> {
    out: &'a mut Vec<u8>,
    frame: u64,
    zone: &'a str,
}

impl CsvArrays<'_> {
    fn start(&mut self, name: &str) {
        json::u64(self.out, self.frame);
        self.out.push(b',');
        csv_str(self.out, self.zone);
        self.out.push(b',');
        csv_str(self.out, name);
    }
}

impl Fields for CsvArrays<'_> {
    fn u64(&mut self, _: &'static str, _: u64) {}

    fn f64(&mut self, _: &'static str, _: f64) {}

    fn str(&mut self, _: &'static str, _: &str) {}

    fn u64s(&mut self, name: &'static str, v: &[u64]) {
        self.start(name);
        for &x in v {
            self.out.push(b',');
            json::u64(self.out, x);
        }
        self.out.push(b'\n');
    }

    fn f32s(&mut self, name: &'static str, v: &[f32]) {
        self.start(name);
        for &x in v {
            self.out.push(b',');
            if x.is_finite() {
                json::f64(self.out, f64::from(x));
            }
        }
        self.out.push(b'\n');
    }
}

impl Csv {
    /// A sink writing rows to `out` and, if given, arrays to `arrays`.
    pub fn new(out: Box<dyn Write + Send>, arrays: Option<Box<dyn Write + Send>>) -> Csv {
        Csv {
            out,
            arrays,
            buf: Vec::with_capacity(4096),
            abuf: Vec::new(),
            header: false,
        }
    }
}

impl Sink for Csv {
    fn frame(&mut self, record: &FrameRecord) -> io::Result<()> {
        if !record.has_results() {
            return Ok(());
        }
        self.buf.clear();
        self.abuf.clear();
        let zones = record.zones();
        if !self.header {
            // The columns, from the first zone's fields (every record of
            // a run writes the same ones).
            let Some(first) = zones.first() else {
                return Ok(());
            };
            self.buf
                .extend_from_slice(b"frame,pts,zone_id,zone_name,x,y,w,h,error");
            first.fields(&mut CsvScalars {
                out: &mut self.buf,
                header: true,
            });
            self.buf.push(b'\n');
            if self.arrays.is_some() {
                self.abuf.extend_from_slice(b"frame,zone_id,field,values\n");
            }
            self.header = true;
        }
        for z in zones {
            let b = &mut self.buf;
            json::u64(b, record.frame.seq);
            b.push(b',');
            json::f64(b, record.frame.pts.as_secs_f64());
            b.push(b',');
            csv_str(b, &z.id);
            b.push(b',');
            csv_str(b, &z.name);
            let r = z.rect;
            let _ = write!(b, ",{},{},{},{},", r.x, r.y, r.w, r.h);
            csv_str(b, z.error().unwrap_or(""));
            z.fields(&mut CsvScalars {
                out: b,
                header: false,
            });
            b.push(b'\n');
            if self.arrays.is_some() && z.error().is_none() {
                z.fields(&mut CsvArrays {
                    out: &mut self.abuf,
                    frame: record.frame.seq,
                    zone: &z.id,
                });
            }
        }
        self.out.write_all(&self.buf)?;
        if let Some(a) = self.arrays.as_mut() {
            a.write_all(&self.abuf)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if let Some(a) = self.arrays.as_mut() {
            a.flush()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if let Some(a) = self.arrays.as_mut() {
            a.flush()?;
        }
        Ok(())
    }
}

/// What the pipeline does when every record is with the writer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SinkPolicy {
    /// Drop the frame's record and count it: never wait, never grow.
    #[default]
    Drop,
    /// Wait for the writer to give a record back (the stream slows to the
    /// sinks' pace; a live source then drops frames by its own policy).
    Block,
}

/// The writer's settings.
#[derive(Clone, Copy, Debug)]
pub struct WriterOptions {
    /// Records in the ring (at least 1): how far the sinks may fall behind
    /// before records drop.
    pub capacity: usize,
    /// What to do when they are all with the writer.
    pub policy: SinkPolicy,
    /// Run first on the writer thread (an allocation counter marks it).
    pub on_start: Option<fn()>,
    /// The writer thread's allocations and bytes allocated so far, from a
    /// counting allocator: the writer reads it itself once it has written
    /// [`WriterOptions::warmup`] records and again when it ends, so
    /// [`Written::allocations`] counts its steady state whatever its lag
    /// behind the pipeline.
    pub counts: Option<fn() -> (usize, usize)>,
    /// Records the writer writes before it starts counting.
    pub warmup: u64,
    /// The writer thread's nice value, 0 (the default) to 19 (Linux;
    /// elsewhere ignored): above 0 it writes in the time analysis leaves
    /// idle rather than taking it from capture and analysis. A writer
    /// starved that way drops records under [`SinkPolicy::Drop`] (counted)
    /// and slows the stream under [`SinkPolicy::Block`].
    pub nice: i32,
}

impl Default for WriterOptions {
    fn default() -> WriterOptions {
        WriterOptions {
            capacity: 64,
            policy: SinkPolicy::Drop,
            on_start: None,
            counts: None,
            warmup: 10,
            nice: 0,
        }
    }
}

/// The most records a ring holds (a budget: a record holds a copy of every
/// zone's outputs, about 2 KiB a zone with the histogram).
pub const MAX_RING: usize = 4096;

/// What the writer wrote, from [`ResultWriter::finish`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Written {
    /// Frame records written (the last, events-only record not counted).
    pub records: u64,
    /// Allocations and bytes the writer thread made after its warm-up,
    /// with [`WriterOptions::counts`] and more than
    /// [`WriterOptions::warmup`] records written.
    pub allocations: Option<(usize, usize)>,
    /// The records those allocations were made over.
    pub counted: u64,
}

impl Written {
    /// The writer's allocations and bytes per record after its warm-up.
    pub fn per_record(&self) -> Option<(f64, f64)> {
        let (a, b) = self.allocations?;
        let n = self.counted.max(1) as f64;
        Some((a as f64 / n, b as f64 / n))
    }
}

/// A bounded ring of records and the writer thread that drains it into
/// the sinks.
#[derive(Debug)]
pub struct ResultWriter {
    free: Receiver<Box<FrameRecord>>,
    /// For [`ResultWriter::prepare`], which fills records and gives them
    /// back without sending them.
    refill: SyncSender<Box<FrameRecord>>,
    full: Option<SyncSender<Box<FrameRecord>>>,
    thread: Option<JoinHandle<io::Result<Written>>>,
    policy: SinkPolicy,
    dropped: u64,
    failed: Arc<AtomicBool>,
    /// Records handed over and not yet taken by the writer.
    queued: Arc<AtomicUsize>,
    capacity: usize,
}

/// How long the writer sleeps when the ring is empty. The pipeline does
/// not wake it per record (a wake-up per frame cost more than the
/// formatting did); it wakes it when half the ring waits, and at the end.
/// So a record leaves at most this long after its frame.
pub const WRITER_POLL: std::time::Duration = std::time::Duration::from_millis(5);

impl ResultWriter {
    /// Starts the writer thread with `sinks` and a ring of
    /// `options.capacity` records.
    pub fn start(sinks: Vec<Box<dyn Sink>>, options: WriterOptions) -> io::Result<ResultWriter> {
        let n = options.capacity.clamp(1, MAX_RING);
        let (free_tx, free) = mpsc::sync_channel::<Box<FrameRecord>>(n);
        let (full, full_rx) = mpsc::sync_channel::<Box<FrameRecord>>(n);
        for _ in 0..n {
            // The channel holds `n`: this cannot be full.
            let _ = free_tx.try_send(Box::new(FrameRecord::new()));
        }
        let refill = free_tx.clone();
        let failed = Arc::new(AtomicBool::new(false));
        let queued = Arc::new(AtomicUsize::new(0));
        let ring = Ring {
            full: full_rx,
            free: free_tx,
            failed: failed.clone(),
            queued: queued.clone(),
        };
        let nice = options.nice.clamp(0, 19);
        let thread = std::thread::Builder::new()
            .name("memview-results".into())
            .spawn(move || {
                lower_priority(nice);
                writer(sinks, &ring, &options)
            })?;
        Ok(ResultWriter {
            free,
            refill,
            full: Some(full),
            thread: Some(thread),
            policy: options.policy,
            dropped: 0,
            failed,
            queued,
            capacity: n,
        })
    }

    /// Fills a free record with `fill` and hands it to the writer; `false`
    /// if none was free under [`SinkPolicy::Drop`] (the record is dropped
    /// and counted), or the writer has stopped.
    pub fn push(&mut self, fill: impl FnOnce(&mut FrameRecord)) -> bool {
        self.push_with(self.policy, fill)
    }

    /// [`ResultWriter::push`], waiting for a free record whatever the
    /// policy (the last record of a run, with its events).
    pub fn push_waiting(&mut self, fill: impl FnOnce(&mut FrameRecord)) -> bool {
        self.push_with(SinkPolicy::Block, fill)
    }

    fn push_with(&mut self, policy: SinkPolicy, fill: impl FnOnce(&mut FrameRecord)) -> bool {
        let rec = match policy {
            SinkPolicy::Drop => self.free.try_recv().ok(),
            SinkPolicy::Block => self.wait_free(),
        };
        let Some(mut rec) = rec else {
            self.dropped += 1;
            return false;
        };
        fill(&mut rec);
        match self.full.as_ref().map(|f| f.try_send(rec)) {
            Some(Ok(())) => {
                let waiting = self.queued.fetch_add(1, Ordering::AcqRel) + 1;
                // The writer is woken only when half the ring waits: a
                // pipeline blocked for a free record has woken it then.
                if waiting * 2 >= self.capacity {
                    self.wake();
                }
                true
            }
            // The ring holds every record: the queue always has room for
            // the one taken from it. A writer that ended drops it.
            Some(Err(TrySendError::Full(_) | TrySendError::Disconnected(_))) | None => {
                self.dropped += 1;
                false
            }
        }
    }

    /// Fills every free record with `fill` and keeps it free: records grow
    /// their buffers now, at the start of a stream, rather than one by one
    /// over the first frames that pass through the ring.
    pub fn prepare(&mut self, mut fill: impl FnMut(&mut FrameRecord)) {
        let mut taken = Vec::new();
        while let Ok(mut rec) = self.free.try_recv() {
            fill(&mut rec);
            taken.push(rec);
        }
        for rec in taken {
            // They came from this channel: there is room for them.
            let _ = self.refill.try_send(rec);
        }
    }

    /// A free record, waiting for the writer to give one back. It polls
    /// (every 100 µs) rather than blocking in the channel: a first blocking
    /// receive allocates the thread's waiter, and the pipeline allocates
    /// nothing once warm.
    fn wait_free(&self) -> Option<Box<FrameRecord>> {
        loop {
            match self.free.try_recv() {
                Ok(rec) => return Some(rec),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {
                    if self.thread.as_ref().is_none_or(JoinHandle::is_finished) {
                        return None;
                    }
                    self.wake();
                    std::thread::sleep(std::time::Duration::from_micros(100));
                }
            }
        }
    }

    fn wake(&self) {
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Whether a sink has failed (the writer then writes nothing more; its
    /// error comes from [`ResultWriter::finish`]).
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Waits for the writer to write every record handed to it and finish
    /// the sinks; what it wrote, or the first sink error.
    pub fn finish(mut self) -> io::Result<Written> {
        self.full = None;
        self.wake();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(io::Error::other("the result writer panicked")),
            None => Ok(Written::default()),
        }
    }
}

impl Drop for ResultWriter {
    fn drop(&mut self) {
        self.full = None;
        self.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Gives this thread the nice value `nice` (Linux: a thread's own; a
/// refusal only leaves it at its priority).
fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    if nice > 0 {
        let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), nice);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

/// The writer's ends of the ring.
struct Ring {
    full: Receiver<Box<FrameRecord>>,
    free: SyncSender<Box<FrameRecord>>,
    failed: Arc<AtomicBool>,
    queued: Arc<AtomicUsize>,
}

/// The writer thread: every record through every sink, then back to the
/// ring; when none waits, the sinks flush and the thread sleeps for
/// [`WRITER_POLL`] or until woken. After a sink fails it only gives
/// records back (the pipeline never waits on a dead writer).
fn writer(
    mut sinks: Vec<Box<dyn Sink>>,
    ring: &Ring,
    options: &WriterOptions,
) -> io::Result<Written> {
    if let Some(f) = options.on_start {
        f();
    }
    let mut error = None;
    let mut written = 0u64;
    let mut warm = None;
    let mut flushed = true;
    loop {
        match ring.full.try_recv() {
            Ok(rec) => {
                ring.queued.fetch_sub(1, Ordering::AcqRel);
                if error.is_none() {
                    match sinks.iter_mut().try_for_each(|s| s.frame(&rec)) {
                        Ok(()) => {
                            written += u64::from(rec.has_results());
                            if written == options.warmup && warm.is_none() {
                                warm = options.counts.map(|f| f());
                            }
                        }
                        Err(e) => error = Some(e),
                    }
                    flushed = false;
                }
                let _ = ring.free.try_send(rec);
            }
            Err(TryRecvError::Empty) => {
                // Nothing waiting: what is buffered goes on now.
                if error.is_none() && !flushed {
                    if let Err(e) = sinks.iter_mut().try_for_each(|s| s.flush()) {
                        error = Some(e);
                    }
                    flushed = true;
                }
                std::thread::park_timeout(WRITER_POLL);
            }
            Err(TryRecvError::Disconnected) => break,
        }
        if error.is_some() {
            ring.failed.store(true, Ordering::Relaxed);
        }
    }
    if error.is_none() {
        if let Err(e) = sinks.iter_mut().try_for_each(|s| s.finish()) {
            error = Some(e);
        }
    }
    let end = options.counts.map(|f| f());
    match error {
        Some(e) => Err(e),
        None => Ok(Written {
            records: written,
            allocations: warm
                .zip(end)
                .map(|(a, b)| (b.0.saturating_sub(a.0), b.1.saturating_sub(a.1))),
            counted: written.saturating_sub(options.warmup),
        }),
    }
}
