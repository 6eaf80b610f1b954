//! The real device: a `/dev/videoN` node driven by ioctls, its buffers
//! mapped with `mmap`.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use memview_core::Shared;

use super::stream::{Dequeued, Device, PlaneInfo, V4l2Stream, PLANES};
use super::sys::{self, Zeroed};
use super::{FormatDesc, FrameSize, Negotiated};
use crate::error::CaptureError;

fn v4l2(op: &'static str) -> impl FnOnce(io::Error) -> CaptureError {
    move |source| CaptureError::V4l2 { op, source }
}

/// An open V4L2 capture device, before streaming: query it, negotiate a
/// format and a frame rate, then [`V4l2Device::stream`].
#[derive(Debug)]
pub struct V4l2Device {
    fd: OwnedFd,
    path: PathBuf,
    driver: String,
    card: String,
    bus: String,
    mplane: bool,
    kind: u32,
}

impl V4l2Device {
    /// Opens `path` (non-blocking) and checks that it captures video with
    /// mmap streaming, through the single-planar or the multi-planar API
    /// (the single-planar one when it has both).
    pub fn open(path: impl AsRef<Path>) -> Result<V4l2Device, CaptureError> {
        let path = path.as_ref();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
            .map_err(|source| CaptureError::Io {
                context: format!("opening {}", path.display()),
                source,
            })?;
        let fd = OwnedFd::from(file);
        let mut cap = sys::Capability::zeroed();
        // SAFETY: QUERYCAP takes a `v4l2_capability`.
        unsafe { sys::ioctl(fd.as_fd(), sys::VIDIOC_QUERYCAP, &mut cap) }.map_err(|e| {
            // ENOTTY (and EINVAL from some drivers): the file does not
            // answer V4L2 ioctls at all.
            if matches!(e.raw_os_error(), Some(libc::ENOTTY) | Some(libc::EINVAL)) {
                CaptureError::V4l2Setup(format!(
                    "{} is not a V4L2 device (it does not answer VIDIOC_QUERYCAP)",
                    path.display()
                ))
            } else {
                v4l2("VIDIOC_QUERYCAP")(e)
            }
        })?;
        let caps = if cap.capabilities & sys::CAP_DEVICE_CAPS != 0 {
            cap.device_caps
        } else {
            cap.capabilities
        };
        let (mplane, kind) = if caps & sys::CAP_VIDEO_CAPTURE != 0 {
            (false, sys::BUF_TYPE_VIDEO_CAPTURE)
        } else if caps & sys::CAP_VIDEO_CAPTURE_MPLANE != 0 {
            (true, sys::BUF_TYPE_VIDEO_CAPTURE_MPLANE)
        } else {
            return Err(CaptureError::V4l2Setup(format!(
                "{} does not capture video (capabilities {caps:#x})",
                path.display()
            )));
        };
        if caps & sys::CAP_STREAMING == 0 {
            return Err(CaptureError::V4l2Setup(format!(
                "{} does not support streaming I/O",
                path.display()
            )));
        }
        Ok(V4l2Device {
            fd,
            path: path.to_path_buf(),
            driver: sys::c_str(&cap.driver),
            card: sys::c_str(&cap.card),
            bus: sys::c_str(&cap.bus_info),
            mplane,
            kind,
        })
    }

    /// The device node.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Driver, card and bus names (QUERYCAP).
    pub fn names(&self) -> (&str, &str, &str) {
        (&self.driver, &self.card, &self.bus)
    }

    /// Whether the device is driven through the multi-planar API.
    pub fn is_multiplanar(&self) -> bool {
        self.mplane
    }

    /// The pixel formats it offers (ENUM_FMT).
    pub fn formats(&self) -> Result<Vec<FormatDesc>, CaptureError> {
        let mut out = Vec::new();
        for index in 0.. {
            let mut d = sys::FmtDesc::zeroed();
            d.index = index;
            d.kind = self.kind;
            // SAFETY: ENUM_FMT takes a `v4l2_fmtdesc`.
            match unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_ENUM_FMT, &mut d) } {
                Ok(()) => out.push(FormatDesc {
                    fourcc: sys::fourcc_bytes(d.pixelformat),
                    description: sys::c_str(&d.description),
                    compressed: d.flags & sys::FMT_FLAG_COMPRESSED != 0,
                }),
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
                Err(e) => return Err(v4l2("VIDIOC_ENUM_FMT")(e)),
            }
        }
        Ok(out)
    }

    /// The frame sizes it offers for `fourcc` (ENUM_FRAMESIZES).
    pub fn frame_sizes(&self, fourcc: [u8; 4]) -> Result<Vec<FrameSize>, CaptureError> {
        let mut out = Vec::new();
        for index in 0.. {
            let mut e = sys::FrmSizeEnum::zeroed();
            e.index = index;
            e.pixel_format = sys::fourcc_value(fourcc);
            // SAFETY: ENUM_FRAMESIZES takes a `v4l2_frmsizeenum`.
            match unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_ENUM_FRAMESIZES, &mut e) } {
                Ok(()) if e.kind == sys::FRMSIZE_TYPE_DISCRETE => {
                    out.push(FrameSize::Discrete(e.size[0], e.size[1]));
                }
                Ok(()) => {
                    let s = e.size;
                    out.push(FrameSize::Stepwise {
                        width: (s[0], s[1], s[2]),
                        height: (s[3], s[4], s[5]),
                    });
                    break;
                }
                Err(err) if err.raw_os_error() == Some(libc::EINVAL) => break,
                Err(err) => return Err(v4l2("VIDIOC_ENUM_FRAMESIZES")(err)),
            }
        }
        Ok(out)
    }

    /// The discrete frame rates (frames per second as `(num, den)`) it
    /// offers for a format and size (ENUM_FRAMEINTERVALS).
    pub fn frame_rates(
        &self,
        fourcc: [u8; 4],
        width: u32,
        height: u32,
    ) -> Result<Vec<(u32, u32)>, CaptureError> {
        let mut out = Vec::new();
        for index in 0.. {
            let mut e = sys::FrmIvalEnum::zeroed();
            e.index = index;
            e.pixel_format = sys::fourcc_value(fourcc);
            e.width = width;
            e.height = height;
            // SAFETY: ENUM_FRAMEINTERVALS takes a `v4l2_frmivalenum`.
            match unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_ENUM_FRAMEINTERVALS, &mut e) } {
                Ok(()) if e.kind == sys::FRMIVAL_TYPE_DISCRETE => {
                    // An interval of n/d seconds is d/n frames per second.
                    out.push((e.ival[0].denominator, e.ival[0].numerator));
                }
                Ok(()) => break,
                Err(err) if err.raw_os_error() == Some(libc::EINVAL) => break,
                Err(err) => return Err(v4l2("VIDIOC_ENUM_FRAMEINTERVALS")(err)),
            }
        }
        Ok(out)
    }

    fn negotiated(&self, f: &sys::Format) -> Negotiated {
        if self.mplane {
            // SAFETY: the kernel filled the union for this buffer type.
            let p = unsafe { f.fmt.pix_mp };
            let n = usize::from(p.num_planes).min(sys::MAX_PLANES);
            Negotiated {
                fourcc: sys::fourcc_bytes(p.pixelformat),
                width: p.width,
                height: p.height,
                interlaced: p.field != sys::FIELD_NONE,
                planes: p.plane_fmt[..n]
                    .iter()
                    .map(|q| (q.bytesperline, q.sizeimage))
                    .collect(),
                multiplanar: true,
            }
        } else {
            // SAFETY: as above.
            let p = unsafe { f.fmt.pix };
            Negotiated {
                fourcc: sys::fourcc_bytes(p.pixelformat),
                width: p.width,
                height: p.height,
                interlaced: p.field != sys::FIELD_NONE,
                planes: vec![(p.bytesperline, p.sizeimage)],
                multiplanar: false,
            }
        }
    }

    /// The current format (G_FMT).
    pub fn format(&self) -> Result<Negotiated, CaptureError> {
        let mut f = sys::Format::zeroed();
        f.kind = self.kind;
        // SAFETY: G_FMT takes a `v4l2_format`.
        unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_G_FMT, &mut f) }
            .map_err(v4l2("VIDIOC_G_FMT"))?;
        Ok(self.negotiated(&f))
    }

    /// Asks for `fourcc` at `width` x `height`, progressive (S_FMT), and
    /// returns what the driver chose: it may adjust the size, and pads
    /// lines as it likes (the bytes per line are in the result). A driver
    /// that substitutes another pixel format is an error.
    pub fn set_format(
        &mut self,
        fourcc: [u8; 4],
        width: u32,
        height: u32,
    ) -> Result<Negotiated, CaptureError> {
        let mut f = sys::Format::zeroed();
        f.kind = self.kind;
        if self.mplane {
            let mut p = sys::PixFormatMplane {
                width,
                height,
                pixelformat: sys::fourcc_value(fourcc),
                field: sys::FIELD_NONE,
                // SAFETY: every field of the zeroed union is plain data.
                ..unsafe { f.fmt.pix_mp }
            };
            p.num_planes = 0;
            f.fmt.pix_mp = p;
        } else {
            f.fmt.pix = sys::PixFormat {
                width,
                height,
                pixelformat: sys::fourcc_value(fourcc),
                field: sys::FIELD_NONE,
                // SAFETY: as above.
                ..unsafe { f.fmt.pix }
            };
        }
        // SAFETY: S_FMT takes a `v4l2_format`.
        unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_S_FMT, &mut f) }
            .map_err(v4l2("VIDIOC_S_FMT"))?;
        let got = self.negotiated(&f);
        if got.fourcc != fourcc {
            return Err(CaptureError::V4l2Setup(format!(
                "{} does not capture {} (the driver offered {})",
                self.path.display(),
                String::from_utf8_lossy(&fourcc),
                String::from_utf8_lossy(&got.fourcc)
            )));
        }
        Ok(got)
    }

    /// Asks for `num/den` frames per second (S_PARM) and returns the rate
    /// the driver set, or `None` if it cannot set one.
    pub fn set_frame_rate(
        &mut self,
        num: u32,
        den: u32,
    ) -> Result<Option<(u32, u32)>, CaptureError> {
        let mut p = sys::StreamParm::zeroed();
        p.kind = self.kind;
        // SAFETY: G_PARM takes a `v4l2_streamparm`.
        unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_G_PARM, &mut p) }
            .map_err(v4l2("VIDIOC_G_PARM"))?;
        // SAFETY: the capture member is the one for capture buffer types.
        let mut cap = unsafe { p.parm.capture };
        if cap.capability & sys::CAP_TIMEPERFRAME == 0 {
            return Ok(None);
        }
        // A rate of num/den frames per second is an interval of den/num s.
        cap.timeperframe = sys::Fract {
            numerator: den,
            denominator: num,
        };
        p.parm.capture = cap;
        // SAFETY: S_PARM takes a `v4l2_streamparm`.
        unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_S_PARM, &mut p) }
            .map_err(v4l2("VIDIOC_S_PARM"))?;
        // SAFETY: as above.
        let t = unsafe { p.parm.capture }.timeperframe;
        Ok((t.numerator > 0 && t.denominator > 0).then_some((t.denominator, t.numerator)))
    }

    /// The value of control `id` (G_CTRL: a `V4L2_CID_*` number, e.g.
    /// `0x0098_0900` for brightness).
    pub fn control(&mut self, id: u32) -> Result<i32, CaptureError> {
        let mut c = sys::Control { id, value: 0 };
        // SAFETY: G_CTRL takes a `v4l2_control`.
        unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_G_CTRL, &mut c) }
            .map_err(v4l2("VIDIOC_G_CTRL"))?;
        Ok(c.value)
    }

    /// Sets control `id` to `value` (S_CTRL; a button control is pressed
    /// by any value) and returns the value the driver kept (it may clamp
    /// or round it).
    pub fn set_control(&mut self, id: u32, value: i32) -> Result<i32, CaptureError> {
        let mut c = sys::Control { id, value };
        // SAFETY: S_CTRL takes a `v4l2_control`.
        unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_S_CTRL, &mut c) }
            .map_err(v4l2("VIDIOC_S_CTRL"))?;
        Ok(c.value)
    }

    /// Requests `count` mmap buffers (the driver may grant more or fewer;
    /// at least three are needed), maps and queues them, and starts
    /// streaming.
    pub fn stream(self, count: u32) -> Result<V4l2Stream, CaptureError> {
        let mut req = sys::RequestBuffers::zeroed();
        req.count = count;
        req.kind = self.kind;
        req.memory = sys::MEMORY_MMAP;
        // SAFETY: REQBUFS takes a `v4l2_requestbuffers`.
        unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_REQBUFS, &mut req) }
            .map_err(v4l2("VIDIOC_REQBUFS"))?;
        let planes = if self.mplane {
            self.format()?.planes.len()
        } else {
            1
        };
        let dev = Real {
            fd: self.fd,
            kind: self.kind,
            mplane: self.mplane,
            planes,
        };
        V4l2Stream::start(Box::new(dev), req.count)
    }
}

/// The [`Device`] operations as ioctls on an open node.
struct Real {
    fd: OwnedFd,
    kind: u32,
    mplane: bool,
    /// Memory planes per buffer (multi-planar API).
    planes: usize,
}

impl Real {
    fn buffer(&self, index: u32, planes: &mut [sys::Plane; sys::MAX_PLANES]) -> sys::Buffer {
        let mut b = sys::Buffer::zeroed();
        b.index = index;
        b.kind = self.kind;
        b.memory = sys::MEMORY_MMAP;
        if self.mplane {
            b.m.planes = planes.as_mut_ptr();
            b.length = sys::MAX_PLANES as u32;
        }
        b
    }
}

fn timestamp(t: sys::Timeval) -> Duration {
    let secs = u64::try_from(t.sec).unwrap_or(0);
    let micros = u32::try_from(t.usec).unwrap_or(0).min(999_999);
    Duration::new(secs, micros * 1000)
}

impl Device for Real {
    fn query(&self, index: u32) -> io::Result<Vec<PlaneInfo>> {
        let mut planes = [sys::Plane::zeroed(); sys::MAX_PLANES];
        let mut b = self.buffer(index, &mut planes);
        // SAFETY: QUERYBUF takes a `v4l2_buffer`; for the multi-planar API
        // `m.planes` points to `length` planes that outlive the call.
        unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_QUERYBUF, &mut b) }?;
        if !self.mplane {
            // SAFETY: single-planar MMAP buffers report `m.offset`.
            let offset = unsafe { b.m.offset };
            return Ok(vec![PlaneInfo {
                length: b.length,
                offset,
            }]);
        }
        let n = (b.length as usize).min(sys::MAX_PLANES);
        Ok(planes[..n]
            .iter()
            .map(|p| PlaneInfo {
                length: p.length,
                // SAFETY: MMAP planes report `m.mem_offset`.
                offset: unsafe { p.m.mem_offset },
            })
            .collect())
    }

    fn map(&self, plane: PlaneInfo) -> io::Result<Shared> {
        // SAFETY: the range is a driver buffer from QUERYBUF, mapped
        // read-only and shared. The driver writes it only while it is
        // queued, and the stream queues it only when no lease (and so no
        // view a lease lends) is alive; views exported into a frame pool
        // keep the lease in the pool's slot until they are gone.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(u64::from(plane.offset))
                .len(plane.length as usize)
                .map(self.fd.as_raw_fd())
        }?;
        Ok(Shared::from(map))
    }

    fn queue(&self, index: u32) -> io::Result<()> {
        let mut planes = [sys::Plane::zeroed(); sys::MAX_PLANES];
        let mut b = self.buffer(index, &mut planes);
        if self.mplane {
            b.length = self.planes as u32;
        }
        // SAFETY: QBUF takes a `v4l2_buffer`; `m.planes` (multi-planar)
        // points to `length` planes that outlive the call.
        unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_QBUF, &mut b) }
    }

    fn dequeue(&self) -> io::Result<Option<Dequeued>> {
        let mut planes = [sys::Plane::zeroed(); sys::MAX_PLANES];
        let mut b = self.buffer(0, &mut planes);
        if self.mplane {
            b.length = self.planes as u32;
        }
        // SAFETY: as for QBUF.
        match unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_DQBUF, &mut b) } {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        }
        let mut bytesused = [0u32; PLANES];
        if self.mplane {
            for (u, p) in bytesused.iter_mut().zip(&planes[..self.planes.min(PLANES)]) {
                *u = p.bytesused;
            }
        } else {
            bytesused[0] = b.bytesused;
        }
        Ok(Some(Dequeued {
            index: b.index,
            sequence: b.sequence,
            timestamp: timestamp(b.timestamp),
            bytesused,
            error: b.flags & sys::BUF_FLAG_ERROR != 0,
        }))
    }

    fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        loop {
            // SAFETY: one valid `pollfd` for the call.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r >= 0 {
                if r > 0 && pfd.revents & libc::POLLERR != 0 {
                    return Err(io::Error::other("the device reported an error (POLLERR)"));
                }
                return Ok(r > 0);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    fn stream_on(&self) -> io::Result<()> {
        let mut kind = self.kind as i32;
        // SAFETY: STREAMON takes the buffer type as an `int`.
        unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_STREAMON, &mut kind) }
    }

    fn stream_off(&self) -> io::Result<()> {
        let mut kind = self.kind as i32;
        // SAFETY: STREAMOFF takes the buffer type as an `int`.
        unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_STREAMOFF, &mut kind) }
    }

    fn free_buffers(&self) -> io::Result<()> {
        let mut req = sys::RequestBuffers::zeroed();
        req.kind = self.kind;
        req.memory = sys::MEMORY_MMAP;
        // SAFETY: REQBUFS takes a `v4l2_requestbuffers`.
        unsafe { sys::ioctl(self.fd.as_fd(), sys::VIDIOC_REQBUFS, &mut req) }
    }
}
