//! Reading inputs that may stall: a read timeout over any file
//! descriptor, and opening paths (FIFOs included) without blocking.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use crate::error::CaptureError;

/// The payload of the `TimedOut` error a [`TimedRead`] returns: how long
/// it waited.
#[derive(Debug)]
pub(crate) struct Stall(pub(crate) Duration);

impl std::fmt::Display for Stall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no data for {:.1} s", self.0.as_secs_f64())
    }
}

impl std::error::Error for Stall {}

/// A reader whose every read waits at most `timeout` for data (with
/// `poll`), then fails with [`io::ErrorKind::TimedOut`]: a stalled pipe,
/// FIFO, socket or child ends the stream with an error instead of hanging.
/// It also reads descriptors opened non-blocking (a FIFO opened without
/// waiting for its writer), waiting for data rather than failing.
#[derive(Debug)]
pub struct TimedRead<R> {
    inner: R,
    timeout: Option<Duration>,
}

impl<R> TimedRead<R> {
    /// Reads from `inner`, each read waiting at most `timeout` (`None`:
    /// as long as it takes).
    pub fn new(inner: R, timeout: Option<Duration>) -> TimedRead<R> {
        TimedRead { inner, timeout }
    }

    /// The timeout.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The reader inside.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

#[cfg(target_os = "linux")]
impl<R: Read + std::os::fd::AsFd> Read for TimedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let limit = self.timeout.map(|t| Timespec {
            tv_sec: t.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: i64::from(t.subsec_nanos()),
        });
        loop {
            let mut fds = [PollFd::new(&self.inner, PollFlags::IN)];
            match poll(&mut fds, limit.as_ref()) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        Stall(self.timeout.unwrap_or_default()),
                    ))
                }
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            match self.inner.read(buf) {
                // Ready, then taken (or a non-blocking descriptor between
                // its writer's writes): wait again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl<R: Read> Read for TimedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

/// How long a read waited, if `e` is a [`TimedRead`] timeout.
pub(crate) fn stalled(e: &io::Error) -> Option<Duration> {
    (e.kind() == io::ErrorKind::TimedOut)
        .then(|| e.get_ref().and_then(|s| s.downcast_ref::<Stall>()))
        .flatten()
        .map(|s| s.0)
}

/// An I/O error while `context`, with a stall reported as such.
pub(crate) fn io_error(context: String, e: io::Error) -> CaptureError {
    match stalled(&e) {
        Some(after) => CaptureError::Stalled { after, context },
        None => CaptureError::Io { context, source: e },
    }
}

/// Opens `path` to read a stream from: a directory is refused by name, and
/// a FIFO is opened without waiting for a writer (the first read waits,
/// within the timeout, instead of the open blocking forever).
pub fn open_input(path: &Path, timeout: Option<Duration>) -> Result<TimedRead<File>, CaptureError> {
    let opening = || format!("opening {}", path.display());
    let meta = std::fs::metadata(path).map_err(|e| io_error(opening(), e))?;
    if meta.is_dir() {
        return Err(CaptureError::Io {
            context: opening(),
            source: io::Error::new(
                io::ErrorKind::IsADirectory,
                "it is a directory, not a stream",
            ),
        });
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        if meta.file_type().is_fifo() {
            options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
        }
    }
    let file = options.open(path).map_err(|e| io_error(opening(), e))?;
    Ok(TimedRead::new(file, timeout))
}
