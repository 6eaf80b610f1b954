//! The `FrameSource` trait and the synthetic source.

use std::time::{Duration, Instant};

use memview_pixel::{ColorFamily, FrameLayout, PixelFormat, Rect};

use crate::error::CaptureError;
use crate::pool::{FrameLease, Slot};

/// Something that produces frames into pooled buffers.
pub trait FrameSource: Send {
    /// The layout every frame has.
    fn layout(&self) -> &FrameLayout;

    /// Bytes of one frame (the pool's buffer size).
    fn frame_len(&self) -> usize {
        self.layout().len()
    }

    /// Frames per second as a fraction, if the source knows it.
    fn frame_rate(&self) -> Option<(u32, u32)> {
        None
    }

    /// Fills `slot` with the next frame and publishes it; `Ok(None)` at the
    /// end of the stream.
    fn next_frame(&mut self, slot: Slot<'_>) -> Result<Option<FrameLease>, CaptureError>;

    /// Consumes the next frame without keeping it (no buffer was free under
    /// a dropping policy); `false` at the end of the stream.
    fn skip(&mut self) -> Result<bool, CaptureError>;

    /// The stream failed (`Some` error) or ended (`None`): `Ok(true)` if it
    /// goes on (a live source reconnected, [`crate::Reconnecting`]), on the
    /// capture thread. `stopped` says whether the capture was stopped
    /// meanwhile, for a source that waits. The default ends the stream:
    /// `Ok(false)` at its end, the error on a failure.
    fn resume(
        &mut self,
        failure: Option<CaptureError>,
        stopped: &dyn Fn() -> bool,
    ) -> Result<bool, CaptureError> {
        let _ = stopped;
        failure.map_or(Ok(false), Err)
    }
}

/// A boxed source is a source (what [`crate::open`] gives).
impl<S: FrameSource + ?Sized> FrameSource for Box<S> {
    fn layout(&self) -> &FrameLayout {
        (**self).layout()
    }

    fn frame_len(&self) -> usize {
        (**self).frame_len()
    }

    fn frame_rate(&self) -> Option<(u32, u32)> {
        (**self).frame_rate()
    }

    fn next_frame(&mut self, slot: Slot<'_>) -> Result<Option<FrameLease>, CaptureError> {
        (**self).next_frame(slot)
    }

    fn skip(&mut self) -> Result<bool, CaptureError> {
        (**self).skip()
    }

    fn resume(
        &mut self,
        failure: Option<CaptureError>,
        stopped: &dyn Fn() -> bool,
    ) -> Result<bool, CaptureError> {
        (**self).resume(failure, stopped)
    }
}

/// What a component of a painted rectangle holds (8-bit values; deeper
/// formats get them shifted up).
#[derive(Clone, Copy, Debug)]
enum Pattern {
    /// One value everywhere.
    Flat(u16),
    /// The background texture: `40 + ((x ^ y) & 63)`.
    Checks,
    /// A box's texture: `base + ((3x + y) & 15)`.
    Stripes(u16),
}

impl Pattern {
    #[inline(always)]
    fn at(self, x: usize, y: usize) -> u16 {
        match self {
            Pattern::Flat(v) => v,
            Pattern::Checks => 40 + ((x ^ y) & 63) as u16,
            Pattern::Stripes(b) => b + ((x * 3 + y) & 15) as u16,
        }
    }
}

/// Writes each component's pattern into every sample of `rect` (pixel
/// coordinates, snapped by the caller to the chroma grid), a line at a
/// time with no per-sample bounds checks; flat components are a `fill`.
fn paint(bytes: &mut [u8], layout: &FrameLayout, rect: Rect, pattern: impl Fn(char) -> Pattern) {
    let f = layout.format();
    for c in f.components {
        let (_, sh) = f.plane_subsampling(c.plane);
        let sub_w = if c.is_chroma() { f.log2_chroma_w } else { 0 };
        let Some(pl) = layout.plane(c.plane) else {
            continue;
        };
        let (y0, y1) = (rect.y >> sh, (rect.y + rect.h).div_ceil(1 << sh));
        let (x0, x1) = (rect.x >> sub_w, (rect.x + rect.w).div_ceil(1 << sub_w));
        if x1 <= x0 {
            continue;
        }
        let p = pattern(c.name);
        let shift = c.shift + c.depth.saturating_sub(8);
        let (step, sb) = (c.step, f.sample_bytes);
        for sy in y0..y1 {
            let first = pl.offset + sy * pl.stride + c.offset + x0 * step;
            let last = first + (x1 - 1 - x0) * step + sb;
            let Some(row) = bytes.get_mut(first..last) else {
                continue;
            };
            let y = sy << sh;
            match (p, sb, step) {
                (Pattern::Flat(v), 1, 1) => row.fill((v << shift) as u8),
                (_, 1, 1) => {
                    for (i, b) in row.iter_mut().enumerate() {
                        *b = (p.at((x0 + i) << sub_w, y) << shift) as u8;
                    }
                }
                _ => {
                    for (i, chunk) in row.chunks_mut(step).enumerate() {
                        let v = p.at((x0 + i) << sub_w, y) << shift;
                        if sb == 2 {
                            chunk[..2].copy_from_slice(&v.to_le_bytes());
                        } else {
                            chunk[0] = v as u8;
                        }
                    }
                }
            }
        }
    }
}

/// One moving box: a stand-in for a face or a plate.
#[derive(Clone, Copy, Debug)]
struct MovingBox {
    x: i64,
    y: i64,
    w: usize,
    h: usize,
    dx: i64,
    dy: i64,
    shade: u16,
}

/// A deterministic moving test pattern: a textured background with boxes
/// (faces and plates) that move and bounce, so motion detection has
/// something to find. It redraws only what moved since a buffer was last
/// filled, so it never limits the pipeline. A clone stepped with
/// [`FrameSource::skip`] tracks where the boxes are in each frame: a
/// perfect detector for tests and demos.
#[derive(Clone, Debug)]
pub struct Synthetic {
    layout: FrameLayout,
    boxes: Vec<MovingBox>,
    /// For each pool buffer (by index): whether it was painted yet, and
    /// the box rectangles drawn in it.
    drawn: Vec<(bool, Vec<Rect>)>,
    seq: u64,
    limit: Option<u64>,
    rate: (u32, u32),
    realtime: bool,
    start: Option<Instant>,
}

impl Synthetic {
    /// The most boxes a synthetic source draws (a budget: each is painted
    /// into every frame).
    pub const MAX_BOXES: usize = 4096;

    /// `boxes` moving boxes (at most [`Synthetic::MAX_BOXES`]) on a `width
    /// x height` frame of `format`.
    pub fn new(
        format: &'static PixelFormat,
        width: usize,
        height: usize,
        boxes: usize,
    ) -> Result<Synthetic, CaptureError> {
        if boxes > Synthetic::MAX_BOXES {
            return Err(CaptureError::TooMany {
                what: "synthetic boxes",
                count: boxes,
                limit: Synthetic::MAX_BOXES,
            });
        }
        let layout = FrameLayout::tight(format, width, height)?;
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move |n: u64| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % n.max(1)
        };
        let boxes = (0..boxes)
            .map(|i| {
                let w = (width / 10).clamp(2, 240) + (i % 3) * 8;
                let h = (height / 10).clamp(2, 180) + (i % 2) * 6;
                let (w, h) = (w.min(width), h.min(height));
                MovingBox {
                    x: rnd((width - w + 1) as u64) as i64,
                    y: rnd((height - h + 1) as u64) as i64,
                    w,
                    h,
                    dx: rnd(9) as i64 - 4,
                    dy: rnd(7) as i64 - 3,
                    shade: 150 + ((i * 23) % 90) as u16,
                }
            })
            .collect();
        Ok(Synthetic {
            layout,
            boxes,
            drawn: Vec::new(),
            seq: 0,
            limit: None,
            rate: (60, 1),
            realtime: false,
            start: None,
        })
    }

    /// Stop after `frames` frames.
    pub fn with_frames(mut self, frames: u64) -> Synthetic {
        self.limit = Some(frames);
        self
    }

    /// Pace frames in real time at `num/den` frames per second (otherwise
    /// as fast as possible; timestamps follow the rate either way).
    pub fn realtime(mut self, num: u32, den: u32) -> Synthetic {
        self.rate = (num.max(1), den.max(1));
        self.realtime = true;
        self
    }

    /// Where the boxes are in the frame that will be produced next: the
    /// zones a detector would report.
    pub fn boxes(&self) -> Vec<Rect> {
        let mut v = Vec::with_capacity(self.boxes.len());
        self.boxes_into(&mut v);
        v
    }

    /// [`Synthetic::boxes`] into a caller's vector (cleared first), for
    /// per-frame use without allocating.
    pub fn boxes_into(&self, out: &mut Vec<Rect>) {
        out.clear();
        out.extend(self.boxes.iter().map(|b| self.rect_of(b)));
    }

    /// The sequence number of the frame that will be produced next.
    pub fn next_seq(&self) -> u64 {
        self.seq
    }

    fn rect_of(&self, b: &MovingBox) -> Rect {
        let (gx, gy) = self.layout.format().grid();
        let x = (b.x.max(0) as usize) / gx * gx;
        let y = (b.y.max(0) as usize) / gy * gy;
        let w = b.w.min(self.layout.width() - x);
        let h = b.h.min(self.layout.height() - y);
        Rect::new(x, y, w, h)
    }

    fn background(family: ColorFamily, c: char) -> Pattern {
        match (family, c) {
            (ColorFamily::Yuv, 'U' | 'V') => Pattern::Flat(128),
            (_, 'A') => Pattern::Flat(255),
            _ => Pattern::Checks,
        }
    }

    fn shade(family: ColorFamily, c: char, shade: u16) -> Pattern {
        match (family, c) {
            (ColorFamily::Yuv, 'U') => Pattern::Flat(255 - shade / 2),
            (ColorFamily::Yuv, 'V') => Pattern::Flat(shade / 2 + 20),
            (_, 'R') => Pattern::Flat(shade),
            (_, 'G') => Pattern::Flat(255 - shade),
            (_, 'B') => Pattern::Flat(shade / 2),
            (_, 'A') => Pattern::Flat(255),
            _ => Pattern::Stripes(shade),
        }
    }

    fn step(&mut self) {
        let (w, h) = (self.layout.width() as i64, self.layout.height() as i64);
        for b in &mut self.boxes {
            b.x += b.dx;
            b.y += b.dy;
            if b.x < 0 || b.x + b.w as i64 > w {
                b.dx = -b.dx;
                b.x = b.x.clamp(0, w - b.w as i64);
            }
            if b.y < 0 || b.y + b.h as i64 > h {
                b.dy = -b.dy;
                b.y = b.y.clamp(0, h - b.h as i64);
            }
        }
    }
}

impl FrameSource for Synthetic {
    fn layout(&self) -> &FrameLayout {
        &self.layout
    }

    fn frame_rate(&self) -> Option<(u32, u32)> {
        Some(self.rate)
    }

    fn next_frame(&mut self, mut slot: Slot<'_>) -> Result<Option<FrameLease>, CaptureError> {
        if self.limit.is_some_and(|l| self.seq >= l) {
            return Ok(None);
        }
        let start = *self.start.get_or_insert_with(Instant::now);
        let ts = Duration::from_secs_f64(
            self.seq as f64 * f64::from(self.rate.1) / f64::from(self.rate.0),
        );
        if self.realtime {
            if let Some(wait) = (start + ts).checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let idx = slot.index();
        if self.drawn.len() <= idx {
            // Every buffer's record at once, on the first frame: a buffer
            // the pool first hands out later must not allocate then (the
            // steady state allocates nothing).
            let n = slot.pool_count().max(idx + 1);
            let boxes = self.boxes.len();
            self.drawn
                .resize_with(n, || (false, Vec::with_capacity(boxes)));
        }
        let f = self.layout.format();
        let fam = f.family;
        let bytes = slot.bytes_mut()?;
        let (painted, rects) = &mut self.drawn[idx];
        if *painted {
            // Recycled: restore the background only where boxes were.
            for r in rects.iter() {
                paint(bytes, &self.layout, *r, |c| Synthetic::background(fam, c));
            }
        } else {
            // First use of this buffer: the whole background.
            let full = Rect::new(0, 0, self.layout.width(), self.layout.height());
            paint(bytes, &self.layout, full, |c| Synthetic::background(fam, c));
            *painted = true;
        }
        rects.clear();
        for b in &self.boxes {
            let (gx, gy) = f.grid();
            let x = (b.x.max(0) as usize) / gx * gx;
            let y = (b.y.max(0) as usize) / gy * gy;
            let r = Rect::new(
                x,
                y,
                b.w.min(self.layout.width() - x),
                b.h.min(self.layout.height() - y),
            );
            paint(bytes, &self.layout, r, |c| {
                Synthetic::shade(fam, c, b.shade)
            });
            rects.push(r);
        }
        let lease = slot.publish(self.layout.clone(), self.seq, ts)?;
        self.seq += 1;
        self.step();
        Ok(Some(lease))
    }

    fn skip(&mut self) -> Result<bool, CaptureError> {
        if self.limit.is_some_and(|l| self.seq >= l) {
            return Ok(false);
        }
        self.seq += 1;
        self.step();
        Ok(true)
    }
}

/// A source delivered no faster than its timestamps: each frame is held
/// until the time since the first frame reaches its timestamp (a file
/// played at its frame rate, as a camera would deliver it). A frame that
/// is late already goes at once; the schedule is not shifted by it.
#[derive(Debug)]
pub struct Paced<S> {
    inner: S,
    start: Option<(Instant, Duration)>,
}

impl<S: FrameSource> Paced<S> {
    /// `inner`, paced.
    pub fn new(inner: S) -> Paced<S> {
        Paced { inner, start: None }
    }
}

impl<S: FrameSource> FrameSource for Paced<S> {
    fn layout(&self) -> &FrameLayout {
        self.inner.layout()
    }

    fn frame_len(&self) -> usize {
        self.inner.frame_len()
    }

    fn frame_rate(&self) -> Option<(u32, u32)> {
        self.inner.frame_rate()
    }

    fn next_frame(&mut self, slot: Slot<'_>) -> Result<Option<FrameLease>, CaptureError> {
        let Some(lease) = self.inner.next_frame(slot)? else {
            return Ok(None);
        };
        let pts = lease.timestamp();
        let (t0, p0) = *self.start.get_or_insert((Instant::now(), pts));
        let due = t0 + pts.saturating_sub(p0);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        Ok(Some(lease))
    }

    fn skip(&mut self) -> Result<bool, CaptureError> {
        self.inner.skip()
    }

    fn resume(
        &mut self,
        failure: Option<CaptureError>,
        stopped: &dyn Fn() -> bool,
    ) -> Result<bool, CaptureError> {
        self.inner.resume(failure, stopped)
    }
}
