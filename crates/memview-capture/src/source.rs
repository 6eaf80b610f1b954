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
}

/// Writes `value(component, x, y)` into every sample of `rect` (pixel
/// coordinates, snapped by the caller to the chroma grid).
fn paint(
    bytes: &mut [u8],
    layout: &FrameLayout,
    rect: Rect,
    value: impl Fn(char, usize, usize) -> u16,
) {
    let f = layout.format();
    for c in f.components {
        let (_, sh) = f.plane_subsampling(c.plane);
        let sub_w = if c.is_chroma() { f.log2_chroma_w } else { 0 };
        let Some(pl) = layout.plane(c.plane) else {
            continue;
        };
        let (y0, y1) = (rect.y >> sh, (rect.y + rect.h).div_ceil(1 << sh));
        let (x0, x1) = (rect.x >> sub_w, (rect.x + rect.w).div_ceil(1 << sub_w));
        for sy in y0..y1 {
            let line = pl.offset + sy * pl.stride;
            for sx in x0..x1 {
                // Samples of a component are `step` bytes apart in a line.
                let off = line + c.offset + sx * c.step;
                let v = value(c.name, sx << sub_w, sy << sh) << c.shift;
                if f.sample_bytes == 2 {
                    if let Some(b) = bytes.get_mut(off..off + 2) {
                        b.copy_from_slice(&v.to_le_bytes());
                    }
                } else if let Some(b) = bytes.get_mut(off) {
                    *b = v as u8;
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
/// filled, so it never limits the pipeline.
#[derive(Debug)]
pub struct Synthetic {
    layout: FrameLayout,
    boxes: Vec<MovingBox>,
    /// For each pool buffer (by index), the box rectangles drawn in it.
    drawn: Vec<Option<Vec<Rect>>>,
    seq: u64,
    limit: Option<u64>,
    rate: (u32, u32),
    realtime: bool,
    start: Option<Instant>,
}

impl Synthetic {
    /// `boxes` moving boxes on a `width x height` frame of `format`.
    pub fn new(
        format: &'static PixelFormat,
        width: usize,
        height: usize,
        boxes: usize,
    ) -> Result<Synthetic, CaptureError> {
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
                    shade: 150 + (i as u16 * 23) % 90,
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
        self.boxes.iter().map(|b| self.rect_of(b)).collect()
    }

    fn rect_of(&self, b: &MovingBox) -> Rect {
        let (gx, gy) = self.layout.format().grid();
        let x = (b.x.max(0) as usize) / gx * gx;
        let y = (b.y.max(0) as usize) / gy * gy;
        let w = b.w.min(self.layout.width() - x);
        let h = b.h.min(self.layout.height() - y);
        Rect::new(x, y, w, h)
    }

    fn background(family: ColorFamily, depth: u32, c: char, x: usize, y: usize) -> u16 {
        let luma = 40 + ((x ^ y) & 63) as u16;
        let v = match (family, c) {
            (ColorFamily::Yuv, 'U' | 'V') => 128,
            (_, 'A') => 255,
            _ => luma,
        };
        if depth > 8 {
            v << (depth - 8)
        } else {
            v
        }
    }

    fn shade(family: ColorFamily, depth: u32, c: char, x: usize, y: usize, shade: u16) -> u16 {
        let tex = ((x * 3 + y) & 15) as u16;
        let v = match (family, c) {
            (ColorFamily::Yuv, 'U') => 255 - shade / 2,
            (ColorFamily::Yuv, 'V') => shade / 2 + 20,
            (_, 'R') => shade,
            (_, 'G') => 255 - shade,
            (_, 'B') => shade / 2,
            (_, 'A') => 255,
            _ => shade + tex,
        };
        if depth > 8 {
            v << (depth - 8)
        } else {
            v
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
            self.drawn.resize(idx + 1, None);
        }
        let f = self.layout.format();
        let (fam, depth) = (f.family, f.components.first().map_or(8, |c| c.depth));
        let bytes = slot.bytes_mut()?;
        let full = Rect::new(0, 0, self.layout.width(), self.layout.height());
        match self.drawn[idx].take() {
            // First use of this buffer: the whole background.
            None => paint(bytes, &self.layout, full, |c, x, y| {
                Synthetic::background(fam, depth, c, x, y)
            }),
            // Recycled: restore the background only where boxes were.
            Some(old) => {
                for r in &old {
                    paint(bytes, &self.layout, *r, |c, x, y| {
                        Synthetic::background(fam, depth, c, x, y)
                    });
                }
                self.drawn[idx] = Some(old);
            }
        }
        let rects = self.drawn[idx].get_or_insert_with(|| Vec::with_capacity(self.boxes.len()));
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
            paint(bytes, &self.layout, r, |c, px, py| {
                Synthetic::shade(fam, depth, c, px, py, b.shade)
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
