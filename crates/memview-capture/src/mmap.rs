//! Raw and Y4M files through a memory map: frames are zero-copy views
//! into the mapping. The file's length is checked before each frame is
//! located, so a file truncated while mapped ends the stream with an
//! error instead of a `SIGBUS`; what stays unsafe is a truncation racing
//! between that check and a read of the frame, and writes into the file,
//! which show through the mapping.

use std::time::Duration;

use memview_core::{Shared, View};
use memview_pixel::FrameLayout;

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
        })
    }

    /// Whether each frame's pages are mapped in on the capture thread
    /// before the frame is handed out (`MADV_POPULATE_READ`), rather than
    /// faulted in where the analysis reads them (the default). Worth it
    /// where the capture thread waits between frames, as a paced stream's
    /// does: the analysis then takes no page faults (48 paced 1080p
    /// streams on 2 cores: a median of 0.26 ms per frame, against 2.6 ms
    /// faulting). As fast as the frames go it costs more than it saves:
    /// it maps every page of a frame where ten zones read a third of
    /// them (`run` 1.25x slower). A buffer in memory has nothing to map.
    pub fn set_populate(&mut self, on: bool) {
        self.populate = on;
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

    /// Maps the pages of bytes `start..end` of a mapped file now, on the
    /// capture thread, so the analysis threads reading the frame take no
    /// page faults (`MADV_POPULATE_READ`, Linux 5.14; best effort: an
    /// older kernel's refusal only leaves the faults where they were).
    fn populate(&self, start: usize, end: usize) {
        let Ok(bytes) = self.whole.as_bytes() else {
            return;
        };
        let page = rustix::param::page_size();
        let first = start / page * page;
        let last = end.min(bytes.len());
        if first >= last {
            return;
        }
        let base = bytes.as_ptr();
        // SAFETY: the range lies inside the mapping (`first` rounds down
        // to a page boundary the mapping starts on, `last` is within its
        // length); POPULATE_READ only maps pages in, changing no contents,
        // and fails (ignored) rather than faulting for pages past the end
        // of a file truncated since.
        let _ = unsafe {
            rustix::mm::madvise(
                base.add(first).cast_mut().cast(),
                last - first,
                rustix::mm::Advice::LinuxPopulateRead,
            )
        };
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
            self.populate(data, end);
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
