//! V4L2 capture (Linux, feature `v4l2`): mmap streaming where each
//! dequeued driver buffer is a zero-copy lease, queued again when its last
//! lease drops.
//!
//! * [`V4l2Device`] opens a node, lists formats, sizes and rates, and
//!   negotiates a format ([`Negotiated`], with the driver's bytes per line)
//!   and a frame rate, through the single-planar or the multi-planar API.
//! * [`V4l2Stream`] is the streaming state machine: REQBUFS, QUERYBUF and
//!   mmap, QBUF, STREAMON, then poll and DQBUF into [`V4l2Buffer`] leases.
//!   At least [`MIN_QUEUED`] buffers always stay with the driver; gaps in
//!   its sequence numbers are counted as drops. Any format works here,
//!   MJPEG too (as opaque bytes: [`V4l2Buffer::bytes`]).
//! * [`V4l2Source`] is a [`FrameSource`] for raw formats of memview's
//!   table (YUYV, NV12, ...): each frame is published into the capture
//!   pool as a view of the driver's buffer, with no copy.

// ioctls and mmap on a device node: the only `unsafe` of this module,
// each block with its SAFETY note.
#[allow(unsafe_code)]
mod device;
mod stream;
#[allow(unsafe_code)]
mod sys;

#[cfg(test)]
mod abi_tests;
#[cfg(test)]
mod tests;

use std::time::Duration;

use memview_pixel::{FrameLayout, PixelFormat};

pub use self::device::V4l2Device;
pub use self::stream::{V4l2Buffer, V4l2Counters, V4l2Stats, V4l2Stream, MIN_QUEUED};
use crate::error::CaptureError;
use crate::pool::{FrameLease, Slot};
use crate::source::FrameSource;

/// A pixel format a device offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatDesc {
    /// Its fourcc (`YUYV`, `NV12`, `MJPG`).
    pub fourcc: [u8; 4],
    /// The driver's description.
    pub description: String,
    /// A compressed format (MJPEG, H.264): frames are opaque bytes.
    pub compressed: bool,
}

/// Frame sizes a device offers for a format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameSize {
    /// One size.
    Discrete(u32, u32),
    /// Any size in a range: `(min, max, step)` for width and height.
    Stepwise {
        /// Widths.
        width: (u32, u32, u32),
        /// Heights.
        height: (u32, u32, u32),
    },
}

/// The format a driver settled on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// Its fourcc.
    pub fourcc: [u8; 4],
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The driver delivers fields, not progressive frames.
    pub interlaced: bool,
    /// Per memory plane: bytes per line (0 for compressed formats) and
    /// bytes per image.
    pub planes: Vec<(u32, u32)>,
    /// Negotiated through the multi-planar API.
    pub multiplanar: bool,
}

impl Negotiated {
    /// The format in memview's table, if it has this fourcc.
    pub fn pixel_format(&self) -> Option<&'static PixelFormat> {
        PixelFormat::from_fourcc(self.fourcc)
    }

    /// The frame layout of one buffer: the table's format with the
    /// driver's bytes per line. V4L2 gives the first plane's; the chroma
    /// planes of a planar format in one buffer follow it, each line scaled
    /// by the chroma subsampling (as the V4L2 specification defines).
    pub fn layout(&self) -> Result<FrameLayout, CaptureError> {
        let name = String::from_utf8_lossy(&self.fourcc).into_owned();
        let format = self.pixel_format().ok_or_else(|| {
            CaptureError::V4l2Setup(format!(
                "{name} is not a raw format memview lays out (use V4l2Stream for opaque bytes)"
            ))
        })?;
        let &[(bpl, size)] = self.planes.as_slice() else {
            return Err(CaptureError::V4l2Setup(format!(
                "{name} in {} memory planes: memview frames need one buffer",
                self.planes.len()
            )));
        };
        if self.interlaced {
            return Err(CaptureError::V4l2Setup(format!(
                "the driver delivers {name} interlaced; memview frames are progressive"
            )));
        }
        let (w, h) = (self.width as usize, self.height as usize);
        let tight = FrameLayout::tight(format, w, h)?;
        let first = tight.plane(0).map_or(1, |p| p.stride.max(1));
        let mut planes = [(0usize, 0usize); 3];
        let mut offset = 0usize;
        for (p, pl) in tight.planes().iter().enumerate() {
            let stride = (bpl as usize)
                .checked_mul(pl.stride)
                .map(|s| s / first)
                .ok_or(CaptureError::Pixel(memview_pixel::PixelError::TooLarge))?;
            planes[p] = (offset, stride);
            offset = stride
                .checked_mul(pl.rows)
                .and_then(|n| n.checked_add(offset))
                .ok_or(CaptureError::Pixel(memview_pixel::PixelError::TooLarge))?;
        }
        Ok(FrameLayout::with_planes(
            format,
            w,
            h,
            &planes[..format.planes],
            size as usize,
        )?)
    }
}

/// A V4L2 camera as a [`FrameSource`]: every frame is a view of the
/// driver's buffer, published into the capture pool without a copy. Once
/// a frame's last lease and view are gone, its driver buffer is queued
/// again at the source's next step (each `next_frame` gives back every
/// released one); the pool's guarantee that a slot is reused only when
/// released is what makes that safe.
///
/// Give the pool at most [`V4l2Source::max_pool`] buffers, so that
/// consumers holding every pooled frame still leave [`MIN_QUEUED`] buffers
/// with the driver. With a larger pool, consumers that hold more frames
/// than that make the stream give every new frame back, and after the
/// timeout the source ends with an error that says so.
#[derive(Debug)]
pub struct V4l2Source {
    stream: V4l2Stream,
    layout: FrameLayout,
    rate: Option<(u32, u32)>,
    /// The driver buffer each pool slot shows, until the slot is reused.
    held: Vec<Option<V4l2Buffer>>,
    timeout: Duration,
    started: Option<Duration>,
}

impl V4l2Source {
    /// Opens `path`, negotiates `fourcc` at `width` x `height` and, if
    /// given, a frame rate, and starts streaming with `buffers` driver
    /// buffers.
    pub fn open(
        path: impl AsRef<std::path::Path>,
        fourcc: [u8; 4],
        width: u32,
        height: u32,
        rate: Option<(u32, u32)>,
        buffers: u32,
    ) -> Result<V4l2Source, CaptureError> {
        let mut dev = V4l2Device::open(path)?;
        let negotiated = dev.set_format(fourcc, width, height)?;
        let layout = negotiated.layout()?;
        let rate = match rate {
            Some((n, d)) => dev.set_frame_rate(n, d)?,
            None => None,
        };
        let stream = dev.stream(buffers)?;
        Ok(V4l2Source::new(stream, layout, rate))
    }

    /// A source over a running stream whose frames have `layout`.
    pub fn new(stream: V4l2Stream, layout: FrameLayout, rate: Option<(u32, u32)>) -> V4l2Source {
        let n = stream.buffers();
        V4l2Source {
            stream,
            layout,
            rate,
            held: (0..n).map(|_| None).collect(),
            timeout: Duration::from_secs(5),
            started: None,
        }
    }

    /// How long to wait for a frame before giving up with an error
    /// (default 5 s): a camera that stops delivering ends the run, it
    /// does not hang it.
    pub fn with_timeout(mut self, timeout: Duration) -> V4l2Source {
        self.timeout = timeout;
        self
    }

    /// The largest pool that keeps [`MIN_QUEUED`] buffers with the driver.
    pub fn max_pool(&self) -> usize {
        self.stream.buffers().saturating_sub(MIN_QUEUED).max(1)
    }

    /// The stream's counters (sequence gaps are the driver's drops).
    pub fn counters(&self) -> V4l2Counters {
        self.stream.counters()
    }

    fn next_buffer(&mut self) -> Result<V4l2Buffer, CaptureError> {
        let held_back = self.stream.stats().held_back;
        match self.stream.next(self.timeout)? {
            Some(b) => Ok(b),
            None if self.stream.stats().held_back > held_back => {
                Err(CaptureError::V4l2Setup(format!(
                    "no frame could be delivered within {:?}: consumers hold every frame \
                     but {MIN_QUEUED} of {} driver buffers (use a pool of at most {})",
                    self.timeout,
                    self.stream.buffers(),
                    self.max_pool()
                )))
            }
            None => Err(CaptureError::V4l2Setup(format!(
                "no frame from the device within {:?}",
                self.timeout
            ))),
        }
    }
}

impl FrameSource for V4l2Source {
    fn layout(&self) -> &FrameLayout {
        &self.layout
    }

    fn frame_rate(&self) -> Option<(u32, u32)> {
        self.rate
    }

    fn next_frame(&mut self, slot: Slot<'_>) -> Result<Option<FrameLease>, CaptureError> {
        let i = slot.index();
        if i >= self.held.len() {
            self.held.resize_with(i + 1, || None);
        }
        // The pool hands a slot out only once the frame it showed has no
        // lease and no view left: give its driver buffer back, and those
        // of every other slot whose frame has been released since.
        for (j, held) in self.held.iter_mut().enumerate() {
            if held.is_some() && (j == i || slot.is_released(j)) {
                *held = None;
            }
        }
        let buf = self.next_buffer()?;
        let view = buf.detached_view(0).ok_or_else(|| {
            CaptureError::V4l2Setup("a driver buffer without memory planes".into())
        })?;
        let ts = buf.timestamp();
        let start = *self.started.get_or_insert(ts);
        let lease = slot.publish_external(
            view,
            self.layout.clone(),
            buf.seq(),
            ts.saturating_sub(start),
        )?;
        self.held[i] = Some(buf);
        Ok(Some(lease))
    }

    fn skip(&mut self) -> Result<bool, CaptureError> {
        drop(self.next_buffer()?);
        Ok(true)
    }
}
