//! Raw and Y4M files through a memory map: frames are zero-copy views
//! into the mapping. The file's length is checked before each frame is
//! located, so a file truncated while mapped ends the stream with an
//! error instead of a `SIGBUS`; what stays unsafe is a truncation racing
//! between that check and a read of the frame, and writes into the file,
//! which show through the mapping.

use std::ops::Range;
use std::time::Duration;

use memview_core::{Shared, View};
use memview_pixel::{FrameLayout, Rect};

use crate::error::CaptureError;
#[cfg(target_os = "linux")]
use crate::guard::Guard;
use crate::pool::{FrameLease, Slot};
use crate::source::FrameSource;
use crate::y4m::{Y4mHeader, MAX_HEADER};

#[derive(Debug)]
enum Container {
    Raw,
    Y4m,
}

/// Frames of a raw (FFmpeg rawvideo layout) or Y4M file, mapped into
/// memory: each frame is a view of the mapping, so reading costs nothing
/// and the consumer is the only limit. The mapping lives as long as any
/// frame of it.
#[derive(Debug)]
pub struct MmapSource {
    /// The SIGBUS guard of a mapped file (before `whole`: dropped first,
    /// so the mapping's own reference unregisters it before the unmap).
    guard: Option<std::sync::Arc<Guard>>,
    whole: View<'static>,
    /// The mapped file, whose length is checked before each frame is
    /// touched: a file truncated while mapped ends the stream with
    /// [`CaptureError::Truncated`] rather than a `SIGBUS` (`None` for
    /// buffers in memory, which cannot shrink).
    file: Option<std::fs::File>,
    layout: FrameLayout,
    container: Container,
    rate: Option<(u32, u32)>,
    offset: usize,
    index: u64,
    /// Whether each frame's pages are mapped in on the capture thread
    /// ([`MmapSource::set_populate`]).
    populate: bool,
    /// The byte ranges of a frame mapped in, sorted and apart (empty: the
    /// whole frame); [`MmapSource::populate_only`].
    populate_ranges: Vec<Range<usize>>,
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> CaptureError {
    move |source| CaptureError::Io { context, source }
}

/// Maps `path` read-only.
///
/// # Safety
///
/// The file must not be truncated or written by anyone while any frame of
/// it is alive: a memory map shows such changes (or faults on them), which
/// the borrow rules cannot see.
unsafe fn map(path: &std::path::Path) -> Result<Mapped, CaptureError> {
    let file = std::fs::File::open(path).map_err(io(format!("opening {}", path.display())))?;
    // SAFETY: the caller promises the file is not modified while mapped;
    // the map is read-only.
    let map =
        unsafe { memmap2::Mmap::map(&file) }.map_err(io(format!("mapping {}", path.display())))?;
    let guard = std::sync::Arc::new(Guard::register(map.as_ptr(), map.len()));
    let view = Shared::from(GuardedMap {
        _guard: guard.clone(),
        map,
    })
    .export_shared()?;
    Ok((view, file, guard))
}

/// A mapping, its view, its file and its guard.
type Mapped = (View<'static>, std::fs::File, std::sync::Arc<Guard>);

/// A mapping registered with the SIGBUS guard for as long as it lives.
struct GuardedMap {
    /// Unregistered before the mapping is unmapped (fields drop in
    /// order).
    _guard: std::sync::Arc<Guard>,
    map: memmap2::Mmap,
}

impl memview_core::Storage for GuardedMap {
    fn bytes(&self) -> &[u8] {
        &self.map
    }

    fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        None
    }
}

#[cfg(not(target_os = "linux"))]
#[derive(Debug)]
struct Guard;

#[cfg(not(target_os = "linux"))]
impl Guard {
    fn register(_: *const u8, _: usize) -> Guard {
        Guard
    }

    fn hit(&self) -> bool {
        false
    }
}

impl MmapSource {
    /// A raw file of back-to-back frames laid out by `layout` (what
    /// `ffmpeg -f rawvideo` writes).
    ///
    /// # Safety
    ///
    /// As for any memory map: the file must not be truncated or written
    /// while a frame of it is alive.
    pub unsafe fn open_raw(
        path: impl AsRef<std::path::Path>,
        layout: FrameLayout,
        rate: Option<(u32, u32)>,
    ) -> Result<MmapSource, CaptureError> {
        // SAFETY: passed on from the caller.
        let (whole, file, guard) = unsafe { map(path.as_ref()) }?;
        Ok(MmapSource {
            guard: Some(guard),
            whole,
            file: Some(file),
            layout,
            container: Container::Raw,
            rate,
            offset: 0,
            index: 0,
            populate: false,
            populate_ranges: Vec::new(),
        })
    }

    /// A Y4M file.
    ///
    /// # Safety
    ///
    /// As for [`MmapSource::open_raw`].
    pub unsafe fn open_y4m(path: impl AsRef<std::path::Path>) -> Result<MmapSource, CaptureError> {
        // SAFETY: passed on from the caller.
        let (whole, file, guard) = unsafe { map(path.as_ref()) }?;
        let mut s = MmapSource::y4m_view(whole)?;
        s.file = Some(file);
        s.guard = Some(guard);
        Ok(s)
    }

    /// A Y4M stream already in memory, in any [`Shared`] buffer (a
    /// `Vec<u8>`, a `bytes::Bytes` from the network, a mapping): frames
    /// are views of it, as from a mapped file, and nothing is copied.
    /// Safe: the buffer cannot change while it is exported.
    ///
    /// ```
    /// use memview_capture::{BufferPool, FrameSource, MmapSource};
    /// use memview_core::Shared;
    ///
    /// let mut stream = b"YUV4MPEG2 W2 H2 F25:1 C420jpeg\nFRAME\n".to_vec();
    /// stream.extend_from_slice(&[16, 17, 18, 19, 128, 130]);
    /// let mut src = MmapSource::y4m(Shared::from(stream))?;
    /// let mut pool = BufferPool::new(1, src.frame_len())?;
    /// let slot = pool.try_acquire().expect("a free buffer");
    /// let frame = src.next_frame(slot)?.expect("one frame");
    /// assert_eq!(frame.frame().to_vec(), [16, 17, 18, 19, 128, 130]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn y4m(buffer: Shared) -> Result<MmapSource, CaptureError> {
        MmapSource::y4m_view(buffer.export_shared()?)
    }

    /// [`MmapSource::y4m`] over a view of the stream's bytes (a
    /// contiguous byte view: of a [`Shared`] buffer, or of `'static`
    /// bytes); the view, cloned, reads the same stream again.
    pub fn y4m_view(whole: View<'static>) -> Result<MmapSource, CaptureError> {
        let bytes = whole.as_bytes()?;
        let end = bytes
            .iter()
            .take(MAX_HEADER + 1)
            .position(|&b| b == b'\n')
            .ok_or(CaptureError::Y4m {
                message: "no complete YUV4MPEG2 header".into(),
                offset: 0,
            })?;
        let header = Y4mHeader::parse(&bytes[..end])?;
        Ok(MmapSource {
            layout: header.layout.clone(),
            rate: Some(header.rate).filter(|r| r.0 > 0 && r.1 > 0),
            guard: None,
            whole,
            file: None,
            container: Container::Y4m,
            offset: end + 1,
            index: 0,
            populate: false,
            populate_ranges: Vec::new(),
        })
    }

    /// Whether each frame's pages are mapped in on the capture thread
    /// before the frame is handed out (a byte of each page read, see
    /// [`MmapSource::populate_only`] for which), rather than faulted in
    /// where the analysis reads them (the default). Worth it where the
    /// capture thread waits between frames, as a paced stream's does: the
    /// analysis then takes no page faults (96 paced 1080p streams on 2
    /// cores: a median of 0.3 ms per frame and a worst p99 of 5-7 ms,
    /// against 0.6 ms and 10-11 ms faulting, for 5-10% more CPU). As fast
    /// as the frames go it costs more than it saves. A buffer in memory
    /// has nothing to map.
    pub fn set_populate(&mut self, on: bool) {
        self.populate = on;
    }

    /// Limits [`MmapSource::set_populate`] to the rows of each plane that
    /// `rects` (frame pixels) cover: a run whose zones are fixed reads
    /// nothing else (ten 200x200 zones of a 1080p frame in a grid: 55% of
    /// its rows), and every page mapped in costs the capture thread and
    /// the page tables. A zone's rows of a subsampled plane are rounded
    /// outward, as snapping a ROI to the chroma grid rounds them. An empty
    /// `rects` maps whole frames again.
    pub fn populate_only(&mut self, rects: &[Rect]) {
        self.populate_ranges = frame_rows(&self.layout, rects);
    }

    /// The next frame's data offset and the offset after it, or `None` at
    /// a clean end.
    fn locate(&mut self) -> Result<Option<(usize, usize)>, CaptureError> {
        let mapped = self.whole.as_bytes()?;
        // Only what the file still holds is touched: pages of a mapping
        // past the end of a file truncated since would fault (SIGBUS).
        let now = match &self.file {
            Some(f) => f
                .metadata()
                .map_err(|e| {
                    io(format!(
                        "checking the file's length at frame {}",
                        self.index
                    ))(e)
                })?
                .len(),
            None => mapped.len() as u64,
        };
        let bytes = &mapped[..mapped.len().min(usize::try_from(now).unwrap_or(usize::MAX))];
        // Cut under frames already handed out: the guard may have had to
        // show some of their pages as zeros.
        if bytes.len() < self.offset || self.guard.as_ref().is_some_and(|g| g.hit()) {
            return Err(CaptureError::CutWhileMapped {
                index: self.index,
                len: now,
                zeroed: self.guard.as_ref().is_some_and(|g| g.hit()),
            });
        }
        if self.offset >= bytes.len() {
            if self.offset < mapped.len() {
                return Err(CaptureError::Truncated {
                    index: self.index,
                    got: 0,
                    expected: self.layout.len(),
                    offset: self.offset as u64,
                });
            }
            return Ok(None);
        }
        let mut data = self.offset;
        if let Container::Y4m = self.container {
            let rest = &bytes[self.offset..];
            let nl = rest
                .iter()
                .take(MAX_HEADER + 1)
                .position(|&b| b == b'\n')
                .ok_or_else(|| CaptureError::Y4m {
                    message: format!("FRAME header of frame {} is unterminated", self.index),
                    offset: self.offset as u64,
                })?;
            let line = &rest[..nl];
            if !(line.starts_with(b"FRAME") && (line.len() == 5 || line[5] == b' ')) {
                return Err(CaptureError::Y4m {
                    message: format!("expected FRAME header for frame {}", self.index),
                    offset: self.offset as u64,
                });
            }
            data += nl + 1;
        }
        let len = self.layout.len();
        let end = data + len;
        if end > bytes.len() {
            return Err(CaptureError::Truncated {
                index: self.index,
                got: bytes.len() - data.min(bytes.len()),
                expected: len,
                offset: data as u64,
            });
        }
        Ok(Some((data, end)))
    }

    /// The frames left, from the file's size alone, where every frame is
    /// a bare `FRAME` line and its data (what ffmpeg writes): the rest of
    /// the file is a whole number of such frames and the first, middle and
    /// last lines where they would be are bare `FRAME` lines. `None` (walk
    /// the frames) otherwise, or for raw files. Touches three pages,
    /// however long the file.
    pub fn frames_by_size(&self) -> Option<u64> {
        let Container::Y4m = self.container else {
            return None;
        };
        let bytes = self.whole.as_bytes().ok()?;
        let now = match &self.file {
            Some(f) => usize::try_from(f.metadata().ok()?.len()).ok()?,
            None => bytes.len(),
        };
        let rest = now.min(bytes.len()).checked_sub(self.offset)?;
        let step = self.layout.len().checked_add(6)?;
        if rest % step != 0 {
            return None;
        }
        let n = rest / step;
        let bare = |i: usize| {
            bytes
                .get(self.offset + i * step..)
                .is_some_and(|b| b.starts_with(b"FRAME\n"))
        };
        if n > 0 && !(bare(0) && bare(n / 2) && bare(n - 1)) {
            return None;
        }
        Some(n as u64)
    }

    /// Maps the pages of bytes `start..end` of a mapped file in now, on
    /// the capture thread, so the analysis threads reading the frame take
    /// no page faults: one byte of each page is read, and each read that
    /// faults maps the page's neighbours in the page cache with it (the
    /// kernel's fault-around, 16 pages), so a 1080p frame takes a few
    /// dozen faults. `MADV_POPULATE_READ` walks every page through
    /// `get_user_pages` instead: 96 paced streams spent 1.3 s more system
    /// time per 5 s with it (23% of the process's CPU).
    fn populate(&self, start: usize, end: usize) {
        let Ok(bytes) = self.whole.as_bytes() else {
            return;
        };
        let page = rustix::param::page_size();
        let end = end.min(bytes.len());
        let mut at = start;
        while at < end {
            std::hint::black_box(bytes[at]);
            at = (at / page + 1) * page;
        }
    }

    fn timestamp(&self) -> Duration {
        match self.rate {
            Some((n, d)) => {
                Duration::from_secs_f64(self.index as f64 * f64::from(d) / f64::from(n))
            }
            None => Duration::ZERO,
        }
    }
}

/// The byte ranges (from a frame's first byte) of the rows of each plane
/// of `layout` that `rects` cover, sorted, those less than a page apart
/// merged.
fn frame_rows(layout: &FrameLayout, rects: &[Rect]) -> Vec<Range<usize>> {
    let height = layout.height().max(1);
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for plane in layout.planes() {
        for r in rects {
            // Plane row of frame row `y`: `y * rows / height`, the end
            // rounded up.
            let first = r.y.saturating_mul(plane.rows) / height;
            let last =
                r.y.saturating_add(r.h)
                    .saturating_mul(plane.rows)
                    .div_ceil(height)
                    .min(plane.rows);
            if first < last {
                ranges
                    .push(plane.offset + first * plane.stride..plane.offset + last * plane.stride);
            }
        }
    }
    ranges.sort_by_key(|r| r.start);
    let page = rustix::param::page_size();
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(m) if r.start <= m.end.saturating_add(page) => m.end = m.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

impl FrameSource for MmapSource {
    fn layout(&self) -> &FrameLayout {
        &self.layout
    }

    /// Frames are views of the mapping: the pool's buffers are never
    /// filled, so they can be a byte long.
    fn frame_len(&self) -> usize {
        1
    }

    fn frame_rate(&self) -> Option<(u32, u32)> {
        self.rate
    }

    fn next_frame(&mut self, slot: Slot<'_>) -> Result<Option<FrameLease>, CaptureError> {
        let Some((data, end)) = self.locate()? else {
            return Ok(None);
        };
        if self.populate && self.file.is_some() {
            if self.populate_ranges.is_empty() {
                self.populate(data, end);
            }
            for r in &self.populate_ranges {
                self.populate(data + r.start, (data + r.end).min(end));
            }
        }
        let view = self
            .whole
            .with_parts("B", data as isize, &[end - data], &[1])?;
        let lease =
            slot.publish_external(view, self.layout.clone(), self.index, self.timestamp())?;
        self.offset = end;
        self.index += 1;
        Ok(Some(lease))
    }

    fn skip(&mut self) -> Result<bool, CaptureError> {
        let Some((_, end)) = self.locate()? else {
            return Ok(false);
        };
        self.offset = end;
        self.index += 1;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use memview_pixel::format::{I420, YUYV};

    /// The rows a grid of zones covers, in each plane: every byte of every
    /// zone's rows is inside a range, ranges are apart and in order, and
    /// the rows between the grid's bands are left out.
    #[test]
    fn populate_ranges_cover_the_zones_rows_of_every_plane() {
        let l = FrameLayout::tight(&I420, 1920, 1080).unwrap_or_else(|e| panic!("{e}"));
        // Three bands of rows, the middle one at odd rows.
        let rects = [
            Rect::new(140, 80, 200, 200),
            Rect::new(620, 80, 200, 200),
            Rect::new(140, 441, 200, 199),
            Rect::new(1000, 801, 200, 200),
        ];
        let ranges = frame_rows(&l, &rects);
        assert!(ranges.windows(2).all(|w| w[0].end < w[1].start));
        let inside = |at: usize| ranges.iter().any(|r| r.contains(&at));
        for (p, plane) in l.planes().iter().enumerate() {
            let sub = usize::from(p > 0);
            for r in &rects {
                for y in r.y >> sub..(r.y + r.h).div_ceil(1 << sub) {
                    let row = plane.offset + y * plane.stride;
                    assert!(
                        inside(row) && inside(row + plane.stride - 1),
                        "plane {p} row {y}"
                    );
                }
            }
            // Between the first two bands (frame rows 280..441).
            let gap = plane.offset + (360 >> sub) * plane.stride;
            assert!(!inside(gap), "plane {p}: the gap is mapped");
        }
        let covered: usize = ranges.iter().map(|r| r.len()).sum();
        assert!(covered < l.len() * 6 / 10, "{covered} of {}", l.len());
        // One plane, packed.
        let y = FrameLayout::tight(&YUYV, 64, 64).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            frame_rows(&y, &[Rect::new(0, 10, 8, 4)]),
            vec![10 * 128..14 * 128]
        );
        assert!(frame_rows(&y, &[]).is_empty());
    }
}
