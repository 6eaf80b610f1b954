//! YUV4MPEG2 streams from files, stdin, pipes, and an `ffmpeg` child.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc as StdArc, Mutex as StdMutex};
use std::time::Duration;

use memview_pixel::{FrameLayout, PixelFormat};

use crate::error::CaptureError;
use crate::input::{io_error, open_input, TimedRead};
use crate::limits::Limits;
use crate::pool::{FrameLease, Slot};
use crate::source::FrameSource;

/// The longest stream or frame header accepted (the spec sets none; real
/// headers are well under 100 bytes).
pub const MAX_HEADER: usize = 4096;

/// The stream header of a Y4M file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Y4mHeader {
    /// `W`.
    pub width: usize,
    /// `H`.
    pub height: usize,
    /// `F`: frame rate as `num/den` (0/0 if absent).
    pub rate: (u32, u32),
    /// `I`: interlacing (`p`, `t`, `b`, `m`, or `?` if absent).
    pub interlace: char,
    /// `A`: pixel aspect ratio (0/0 if absent or unknown).
    pub aspect: (u32, u32),
    /// `C`: the colour space tag (`420jpeg` when absent, the default).
    pub colorspace: String,
    /// `XCOLORRANGE=FULL` (true) or `=LIMITED` (false), if given.
    pub full_range: Option<bool>,
    /// The frame layout the colour space and size give.
    pub layout: FrameLayout,
    /// Bytes the header took, newline included.
    pub len: usize,
}

fn y4m_err(message: impl Into<String>, offset: u64) -> CaptureError {
    CaptureError::Y4m {
        message: message.into(),
        offset,
    }
}

fn ratio(v: &str, offset: u64, what: &str) -> Result<(u32, u32), CaptureError> {
    let (a, b) = v
        .split_once(':')
        .ok_or_else(|| y4m_err(format!("{what} must be N:D, got {v:?}"), offset))?;
    let p = |s: &str| {
        s.parse::<u32>()
            .map_err(|_| y4m_err(format!("{what} must be N:D, got {v:?}"), offset))
    };
    Ok((p(a)?, p(b)?))
}

impl Y4mHeader {
    /// The header line for a stream like this one but `width x height`
    /// (what a crop writes), newline included.
    pub fn to_line(&self, width: usize, height: usize) -> String {
        let mut line = format!("YUV4MPEG2 W{width} H{height}");
        if self.rate != (0, 0) {
            line += &format!(" F{}:{}", self.rate.0, self.rate.1);
        }
        if self.interlace != '?' {
            line += &format!(" I{}", self.interlace);
        }
        if self.aspect != (0, 0) {
            line += &format!(" A{}:{}", self.aspect.0, self.aspect.1);
        }
        line += &format!(" C{}", self.colorspace);
        match self.full_range {
            Some(true) => line += " XCOLORRANGE=FULL",
            Some(false) => line += " XCOLORRANGE=LIMITED",
            None => {}
        }
        line.push('\n');
        line
    }

    /// Parses a header line (without its newline) that starts at byte 0.
    /// Every byte must be printable ASCII (a CR before the newline, a DOS
    /// line ending, is named as such), every tag may appear once, and an
    /// error names the byte offset of the token it is about.
    pub fn parse(line: &[u8]) -> Result<Y4mHeader, CaptureError> {
        const MAGIC: &[u8] = b"YUV4MPEG2";
        if !line.starts_with(MAGIC) {
            return Err(y4m_err("missing YUV4MPEG2 signature", 0));
        }
        if line.last() == Some(&b'\r') {
            return Err(y4m_err(
                "header ends in CR LF (a DOS line ending); YUV4MPEG2 headers end in LF",
                line.len() as u64 - 1,
            ));
        }
        if let Some(at) = line.iter().position(|&b| !(b' '..=b'~').contains(&b)) {
            return Err(y4m_err(
                format!("header byte {:#04x} is not printable ASCII", line[at]),
                at as u64,
            ));
        }
        // Printable ASCII throughout: every byte index is a char boundary.
        let text = std::str::from_utf8(line)
            .map_err(|e| y4m_err("header is not ASCII", e.valid_up_to() as u64))?;
        let (mut w, mut h) = (None, None);
        let mut hdr = Y4mHeader {
            width: 0,
            height: 0,
            rate: (0, 0),
            interlace: '?',
            aspect: (0, 0),
            colorspace: "420jpeg".into(),
            full_range: None,
            layout: FrameLayout::tight(&memview_pixel::format::I420, 2, 2)?,
            len: line.len() + 1,
        };
        if line.len() > MAGIC.len() && line[MAGIC.len()] != b' ' {
            return Err(y4m_err(
                "expected a space after YUV4MPEG2",
                MAGIC.len() as u64,
            ));
        }
        let mut seen = [false; 128];
        let mut colorspace_at = 0u64;
        let mut off = MAGIC.len();
        for tok in text[MAGIC.len()..].split(' ') {
            let at = off as u64;
            off += tok.len() + 1;
            let Some(&tag) = tok.as_bytes().first() else {
                continue;
            };
            let v = &tok[1..];
            // X tags are extensions and may repeat; the others may not.
            if tag != b'X' && std::mem::replace(&mut seen[usize::from(tag & 0x7f)], true) {
                return Err(y4m_err(format!("duplicate {} tag", char::from(tag)), at));
            }
            match tag {
                b'W' => {
                    w = Some(
                        v.parse::<usize>()
                            .map_err(|_| y4m_err(format!("bad width {v:?}"), at))?,
                    )
                }
                b'H' => {
                    h = Some(
                        v.parse::<usize>()
                            .map_err(|_| y4m_err(format!("bad height {v:?}"), at))?,
                    )
                }
                b'F' => hdr.rate = ratio(v, at, "frame rate")?,
                b'A' => hdr.aspect = ratio(v, at, "aspect ratio")?,
                b'I' => {
                    hdr.interlace = match v {
                        "p" | "t" | "b" | "m" | "?" => v.chars().next().unwrap_or('?'),
                        _ => return Err(y4m_err(format!("bad interlacing {v:?}"), at)),
                    }
                }
                b'C' => {
                    hdr.colorspace = v.to_owned();
                    colorspace_at = at;
                }
                b'X' => match v {
                    "COLORRANGE=FULL" => hdr.full_range = Some(true),
                    "COLORRANGE=LIMITED" => hdr.full_range = Some(false),
                    // Other extensions are for other readers.
                    _ => {}
                },
                other => {
                    return Err(y4m_err(
                        format!("unknown header tag {:?}", char::from(other)),
                        at,
                    ))
                }
            }
        }
        let (Some(width), Some(height)) = (w, h) else {
            return Err(y4m_err("header lacks W or H", line.len() as u64));
        };
        let format = PixelFormat::from_y4m(&hdr.colorspace).ok_or_else(|| {
            y4m_err(
                format!("unsupported colour space C{}", hdr.colorspace),
                colorspace_at,
            )
        })?;
        hdr.width = width;
        hdr.height = height;
        hdr.layout = FrameLayout::tight(format, width, height)?;
        Ok(hdr)
    }

    /// Refuses a header whose frames would pass the frame budget, before
    /// anything is sized from it.
    pub fn check_limits(&self, limits: &Limits) -> Result<(), CaptureError> {
        let bytes = self.layout.len();
        if bytes > limits.max_frame_bytes {
            return Err(y4m_err(
                format!(
                    "the header declares {}x{} {} frames of {bytes} bytes, over the frame budget \
                     of {} bytes",
                    self.width,
                    self.height,
                    self.layout.format().name,
                    limits.max_frame_bytes
                ),
                0,
            ));
        }
        Ok(())
    }
}

/// Frames of a Y4M stream read from anything `Read` (a file, stdin, a
/// pipe), with `read_exact` straight into pooled buffers: no allocation
/// per frame.
pub struct Y4mSource<R> {
    reader: BufReader<R>,
    header: Y4mHeader,
    line: Vec<u8>,
    offset: u64,
    index: u64,
}

impl<R> core::fmt::Debug for Y4mSource<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Y4mSource")
            .field("header", &self.header)
            .field("frames_read", &self.index)
            .finish()
    }
}

fn read_line<R: Read>(
    r: &mut BufReader<R>,
    line: &mut Vec<u8>,
    offset: u64,
    what: &str,
) -> Result<bool, CaptureError> {
    line.clear();
    let n = r
        .by_ref()
        .take(MAX_HEADER as u64 + 1)
        .read_until(b'\n', line)
        .map_err(|e| io_error(format!("reading the {what} at byte {offset}"), e))?;
    if n == 0 {
        return Ok(false);
    }
    if line.last() != Some(&b'\n') {
        return Err(y4m_err(
            if n > MAX_HEADER {
                format!("{what} longer than {MAX_HEADER} bytes")
            } else {
                format!("stream ends inside the {what}")
            },
            offset,
        ));
    }
    line.pop();
    Ok(true)
}

/// The Y4M reader's read-ahead buffer, for header and FRAME lines.
const READ_AHEAD: usize = 4 * 1024;

impl<R: Read> Y4mSource<R> {
    /// Reads the stream header from `reader`, within the default
    /// [`Limits`].
    pub fn new(reader: R) -> Result<Y4mSource<R>, CaptureError> {
        Y4mSource::with_limits(reader, &Limits::DEFAULT)
    }

    /// Reads the stream header from `reader` and refuses frames larger
    /// than `limits` allow, before any buffer is sized from the header.
    /// (The read timeout of `limits` applies where the reader is a
    /// [`TimedRead`]; [`Y4mSource::open_with`] and
    /// [`Y4mSource::stdin_with`] make one.)
    pub fn with_limits(reader: R, limits: &Limits) -> Result<Y4mSource<R>, CaptureError> {
        // Lines go through the buffer; a frame larger than it is read straight
        // into its pool buffer (`BufReader` passes large reads through once
        // empty), so only the bytes read ahead with a FRAME line are copied
        // twice: keep it small.
        let mut reader = BufReader::with_capacity(READ_AHEAD, reader);
        let mut line = Vec::with_capacity(MAX_HEADER + 1);
        match read_line(&mut reader, &mut line, 0, "stream header") {
            Ok(true) => {}
            Ok(false) => return Err(y4m_err("empty stream: no YUV4MPEG2 header", 0)),
            // I/O errors and stalls are what they are.
            Err(e @ (CaptureError::Io { .. } | CaptureError::Stalled { .. })) => return Err(e),
            // Whatever else is wrong with the line, a stream that is not
            // Y4M at all is best reported as such.
            Err(_) if !line.starts_with(b"YUV4MPEG2") => {
                return Err(y4m_err("missing YUV4MPEG2 signature", 0))
            }
            Err(e) => return Err(e),
        }
        let header = Y4mHeader::parse(&line)?;
        header.check_limits(limits)?;
        Ok(Y4mSource {
            offset: header.len as u64,
            reader,
            header,
            line,
            index: 0,
        })
    }

    /// The stream header.
    pub fn header(&self) -> &Y4mHeader {
        &self.header
    }

    /// Reads the next `FRAME` header; `false` at a clean end of stream.
    fn frame_header(&mut self) -> Result<bool, CaptureError> {
        let at = self.offset;
        if !read_line(&mut self.reader, &mut self.line, at, "FRAME header")? {
            return Ok(false);
        }
        if self.line == b"FRAME\r" {
            return Err(y4m_err(
                "FRAME header ends in CR LF (a DOS line ending); Y4M lines end in LF",
                at,
            ));
        }
        if !(self.line.starts_with(b"FRAME") && (self.line.len() == 5 || self.line[5] == b' ')) {
            return Err(y4m_err(
                format!("expected FRAME header for frame {}", self.index),
                at,
            ));
        }
        self.offset += self.line.len() as u64 + 1;
        Ok(true)
    }

    /// Fills `buf` with the frame data, or reports how much was missing.
    fn frame_data(&mut self, buf: &mut [u8]) -> Result<(), CaptureError> {
        let start = self.offset;
        let mut got = 0;
        while got < buf.len() {
            match self.reader.read(&mut buf[got..]) {
                Ok(0) => {
                    return Err(CaptureError::Truncated {
                        index: self.index,
                        got,
                        expected: buf.len(),
                        offset: start,
                    })
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(io_error(
                        format!("reading frame {} at byte {start}", self.index),
                        e,
                    ))
                }
            }
        }
        self.offset += buf.len() as u64;
        Ok(())
    }

    fn timestamp(&self) -> Duration {
        let (n, d) = self.header.rate;
        if n == 0 || d == 0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(self.index as f64 * f64::from(d) / f64::from(n))
    }
}

impl<R: Read + Send> FrameSource for Y4mSource<R> {
    fn layout(&self) -> &FrameLayout {
        &self.header.layout
    }

    fn frame_rate(&self) -> Option<(u32, u32)> {
        Some(self.header.rate).filter(|r| r.0 > 0 && r.1 > 0)
    }

    fn next_frame(&mut self, mut slot: Slot<'_>) -> Result<Option<FrameLease>, CaptureError> {
        if !self.frame_header()? {
            return Ok(None);
        }
        let len = self.header.layout.len();
        let buf = slot.bytes_mut()?;
        let have = buf.len();
        let dst = buf.get_mut(..len).ok_or(CaptureError::FrameTooLarge {
            frame: len,
            buffer: have,
        })?;
        self.frame_data(dst)?;
        let ts = self.timestamp();
        let lease = slot.publish(self.header.layout.clone(), self.index, ts)?;
        self.index += 1;
        Ok(Some(lease))
    }

    fn skip(&mut self) -> Result<bool, CaptureError> {
        if !self.frame_header()? {
            return Ok(false);
        }
        let len = self.header.layout.len() as u64;
        let copied = std::io::copy(&mut self.reader.by_ref().take(len), &mut std::io::sink())
            .map_err(|e| io_error(format!("skipping frame {}", self.index), e))?;
        if copied < len {
            return Err(CaptureError::Truncated {
                index: self.index,
                got: copied as usize,
                expected: len as usize,
                offset: self.offset,
            });
        }
        self.offset += len;
        self.index += 1;
        Ok(true)
    }
}

/// Raises a pipe's kernel buffer to the system's limit
/// (`/proc/sys/fs/pipe-max-size`, 1 MiB by default) with `F_SETPIPE_SZ`:
/// the default 64 KiB caps 1080p Y4M near 250 frames/s. Returns the new
/// size, or `None` if `fd` is not a pipe or the call is refused.
#[cfg(target_os = "linux")]
pub fn raise_pipe_buffer(fd: impl std::os::fd::AsFd) -> Option<usize> {
    let max = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(1 << 20);
    rustix::pipe::fcntl_setpipe_size(&fd, max)
        .or_else(|_| rustix::pipe::fcntl_setpipe_size(&fd, 1 << 20))
        .ok()
}

/// Raises a pipe's buffer; a no-op where `F_SETPIPE_SZ` does not exist.
#[cfg(not(target_os = "linux"))]
pub fn raise_pipe_buffer<T>(_fd: T) -> Option<usize> {
    None
}

impl Y4mSource<TimedRead<std::io::Stdin>> {
    /// Reads Y4M from standard input, with its pipe buffer raised, within
    /// the default [`Limits`] (no read timeout).
    pub fn stdin() -> Result<Self, CaptureError> {
        Y4mSource::stdin_with(&Limits::DEFAULT)
    }

    /// Reads Y4M from standard input within `limits`: a stdin that sends
    /// nothing for the read timeout is a [`CaptureError::Stalled`].
    pub fn stdin_with(limits: &Limits) -> Result<Self, CaptureError> {
        let stdin = std::io::stdin();
        #[cfg(target_os = "linux")]
        let _ = raise_pipe_buffer(&stdin);
        Y4mSource::with_limits(TimedRead::new(stdin, limits.read_timeout), limits)
    }
}

impl Y4mSource<TimedRead<std::fs::File>> {
    /// Opens a Y4M file (or FIFO) within the default [`Limits`].
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self, CaptureError> {
        Y4mSource::open_with(path, &Limits::DEFAULT)
    }

    /// Opens a Y4M file within `limits`. A directory is refused by name; a
    /// FIFO is opened without blocking, and a FIFO or pipe that sends
    /// nothing for the read timeout is a [`CaptureError::Stalled`].
    pub fn open_with(
        path: impl AsRef<std::path::Path>,
        limits: &Limits,
    ) -> Result<Self, CaptureError> {
        let f = open_input(path.as_ref(), limits.read_timeout)?;
        Y4mSource::with_limits(f, limits)
    }
}

/// Keeps the last bytes a child wrote to stderr, for error messages.
const STDERR_KEEP: usize = 4096;

/// Decodes anything `ffmpeg` reads (a file, a URL, a device) to Y4M on its
/// stdout and reads that. The child is killed and reaped on drop; a child
/// that dies mid-stream is an error carrying its stderr, never a hang.
pub struct FfmpegSource {
    y4m: Y4mSource<TimedRead<ChildStdout>>,
    child: Child,
    stderr: StdArc<StdMutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl core::fmt::Debug for FfmpegSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FfmpegSource")
            .field("y4m", &self.y4m)
            .field("pid", &self.child.id())
            .finish()
    }
}

impl FfmpegSource {
    /// Starts `ffmpeg -i INPUT` writing Y4M (with `pix_fmt` if given, e.g.
    /// `yuv420p`, for inputs whose own format Y4M cannot carry).
    pub fn spawn(input: &str, pix_fmt: Option<&str>) -> Result<FfmpegSource, CaptureError> {
        FfmpegSource::spawn_args(&["-i", input], pix_fmt)
    }

    /// Starts ffmpeg with its input given as arguments (`-f lavfi -i
    /// testsrc2`, `-f v4l2 -i /dev/video0`, ...), within the default
    /// [`Limits`].
    pub fn spawn_args(input: &[&str], pix_fmt: Option<&str>) -> Result<FfmpegSource, CaptureError> {
        FfmpegSource::spawn_with(input, pix_fmt, &Limits::DEFAULT)
    }

    /// Starts ffmpeg within `limits`: frames over the budget are refused
    /// from its header, and a child that writes nothing for the read
    /// timeout (a network input with no sender) is killed and reported as
    /// [`CaptureError::Stalled`].
    pub fn spawn_with(
        input: &[&str],
        pix_fmt: Option<&str>,
        limits: &Limits,
    ) -> Result<FfmpegSource, CaptureError> {
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-hide_banner", "-loglevel", "error", "-nostdin"])
            .args(input);
        if let Some(p) = pix_fmt {
            cmd.args(["-pix_fmt", p]);
        }
        cmd.args(["-f", "yuv4mpegpipe", "-strict", "-1", "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => CaptureError::FfmpegMissing(e),
            _ => CaptureError::Io {
                context: "starting ffmpeg".into(),
                source: e,
            },
        })?;
        let stderr = StdArc::new(StdMutex::new(Vec::new()));
        let reader = child.stderr.take().map(|mut err| {
            let keep = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut k) = keep.lock() {
                        k.extend_from_slice(&buf[..n]);
                        let extra = k.len().saturating_sub(STDERR_KEEP);
                        k.drain(..extra);
                    }
                }
            })
        });
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(CaptureError::Ffmpeg {
                status: "no stdout".into(),
                stderr: String::new(),
            });
        };
        let _ = raise_pipe_buffer(&stdout);
        Ok(FfmpegSource {
            y4m: match Y4mSource::with_limits(TimedRead::new(stdout, limits.read_timeout), limits) {
                Ok(y) => y,
                Err(e) => {
                    let _ = child.kill();
                    let status = child
                        .wait()
                        .map(|s| s.to_string())
                        .unwrap_or_else(|w| w.to_string());
                    if let Some(r) = reader {
                        let _ = r.join();
                    }
                    let text = stderr
                        .lock()
                        .map(|s| String::from_utf8_lossy(&s).trim().to_owned())
                        .unwrap_or_default();
                    return Err(if text.is_empty() {
                        e
                    } else {
                        CaptureError::Ffmpeg {
                            status,
                            stderr: text,
                        }
                    });
                }
            },
            child,
            stderr,
            reader,
        })
    }

    /// The stream header ffmpeg wrote.
    pub fn header(&self) -> &Y4mHeader {
        self.y4m.header()
    }

    /// The child's process id.
    pub fn child_id(&self) -> u32 {
        self.child.id()
    }

    /// Turns an end-of-stream or read error into ffmpeg's own account of
    /// what happened, if it failed.
    fn child_error(&mut self, err: Option<CaptureError>) -> Result<(), CaptureError> {
        // A stalled child is still running: stop it, and report the stall.
        if let Some(e @ CaptureError::Stalled { .. }) = err {
            let _ = self.child.kill();
            let _ = self.child.wait();
            return Err(e);
        }
        let status = match self.child.wait() {
            Ok(s) => s,
            Err(e) => {
                return Err(CaptureError::Io {
                    context: "waiting for ffmpeg".into(),
                    source: e,
                })
            }
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let text = self
            .stderr
            .lock()
            .map(|s| String::from_utf8_lossy(&s).trim().to_owned())
            .unwrap_or_default();
        if !status.success() {
            return Err(CaptureError::Ffmpeg {
                status: status.to_string(),
                stderr: text,
            });
        }
        match err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl FrameSource for FfmpegSource {
    fn layout(&self) -> &FrameLayout {
        self.y4m.layout()
    }

    fn frame_rate(&self) -> Option<(u32, u32)> {
        self.y4m.frame_rate()
    }

    fn next_frame(&mut self, slot: Slot<'_>) -> Result<Option<FrameLease>, CaptureError> {
        match self.y4m.next_frame(slot) {
            Ok(Some(l)) => Ok(Some(l)),
            Ok(None) => self.child_error(None).map(|()| None),
            Err(e) => self.child_error(Some(e)).map(|()| None),
        }
    }

    fn skip(&mut self) -> Result<bool, CaptureError> {
        match self.y4m.skip() {
            Ok(true) => Ok(true),
            Ok(false) => self.child_error(None).map(|()| false),
            Err(e) => self.child_error(Some(e)).map(|()| false),
        }
    }
}

impl Drop for FfmpegSource {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}
