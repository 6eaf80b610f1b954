//! The V4L2 ABI this backend uses: `repr(C)` copies of the kernel's
//! `videodev2.h` structures (64-bit layouts, checked by size at compile
//! time), their ioctl numbers, and the one `unsafe` call that issues them.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

pub(crate) const BUF_TYPE_VIDEO_CAPTURE: u32 = 1;
pub(crate) const BUF_TYPE_VIDEO_CAPTURE_MPLANE: u32 = 9;
pub(crate) const MEMORY_MMAP: u32 = 1;
pub(crate) const FIELD_NONE: u32 = 1;

pub(crate) const CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
pub(crate) const CAP_VIDEO_CAPTURE_MPLANE: u32 = 0x0000_1000;
pub(crate) const CAP_STREAMING: u32 = 0x0400_0000;
pub(crate) const CAP_DEVICE_CAPS: u32 = 0x8000_0000;

pub(crate) const BUF_FLAG_ERROR: u32 = 0x0000_0040;

pub(crate) const FMT_FLAG_COMPRESSED: u32 = 0x0001;
pub(crate) const FRMSIZE_TYPE_DISCRETE: u32 = 1;
pub(crate) const FRMIVAL_TYPE_DISCRETE: u32 = 1;
pub(crate) const CAP_TIMEPERFRAME: u32 = 0x1000;

/// The most memory planes a multi-planar buffer has (`VIDEO_MAX_PLANES`).
pub(crate) const MAX_PLANES: usize = 8;

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Capability {
    pub driver: [u8; 16],
    pub card: [u8; 32],
    pub bus_info: [u8; 32],
    pub version: u32,
    pub capabilities: u32,
    pub device_caps: u32,
    pub reserved: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct FmtDesc {
    pub index: u32,
    pub kind: u32,
    pub flags: u32,
    pub description: [u8; 32],
    pub pixelformat: u32,
    pub mbus_code: u32,
    pub reserved: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct PixFormat {
    pub width: u32,
    pub height: u32,
    pub pixelformat: u32,
    pub field: u32,
    pub bytesperline: u32,
    pub sizeimage: u32,
    pub colorspace: u32,
    pub private: u32,
    pub flags: u32,
    pub ycbcr_enc: u32,
    pub quantization: u32,
    pub xfer_func: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct PlanePixFormat {
    pub sizeimage: u32,
    pub bytesperline: u32,
    pub reserved: [u16; 6],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct PixFormatMplane {
    pub width: u32,
    pub height: u32,
    pub pixelformat: u32,
    pub field: u32,
    pub colorspace: u32,
    pub plane_fmt: [PlanePixFormat; MAX_PLANES],
    pub num_planes: u8,
    pub flags: u8,
    pub ycbcr_enc: u8,
    pub quantization: u8,
    pub xfer_func: u8,
    pub reserved: [u8; 7],
}

/// `struct v4l2_format`: the union is 200 bytes, 8-aligned (it holds a
/// pointer in `v4l2_window`).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Format {
    pub kind: u32,
    pub fmt: FormatUnion,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) union FormatUnion {
    pub pix: PixFormat,
    pub pix_mp: PixFormatMplane,
    pub raw: [u64; 25],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct RequestBuffers {
    pub count: u32,
    pub kind: u32,
    pub memory: u32,
    pub capabilities: u32,
    pub flags: u8,
    pub reserved: [u8; 3],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Timeval {
    pub sec: libc::time_t,
    pub usec: libc::suseconds_t,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Timecode {
    pub kind: u32,
    pub flags: u32,
    pub frames: u8,
    pub seconds: u8,
    pub minutes: u8,
    pub hours: u8,
    pub userbits: [u8; 4],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) union BufferM {
    pub offset: u32,
    pub userptr: libc::c_ulong,
    pub planes: *mut Plane,
    pub fd: i32,
}

/// `struct v4l2_buffer`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Buffer {
    pub index: u32,
    pub kind: u32,
    pub bytesused: u32,
    pub flags: u32,
    pub field: u32,
    pub timestamp: Timeval,
    pub timecode: Timecode,
    pub sequence: u32,
    pub memory: u32,
    pub m: BufferM,
    pub length: u32,
    pub reserved2: u32,
    pub request_fd: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) union PlaneM {
    pub mem_offset: u32,
    pub userptr: libc::c_ulong,
    pub fd: i32,
}

/// `struct v4l2_plane`.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Plane {
    pub bytesused: u32,
    pub length: u32,
    pub m: PlaneM,
    pub data_offset: u32,
    pub reserved: [u32; 11],
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Fract {
    pub numerator: u32,
    pub denominator: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct CaptureParm {
    pub capability: u32,
    pub capturemode: u32,
    pub timeperframe: Fract,
    pub extendedmode: u32,
    pub readbuffers: u32,
    pub reserved: [u32; 4],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) union StreamParmUnion {
    pub capture: CaptureParm,
    pub raw: [u8; 200],
}

/// `struct v4l2_control`: one control's id and value (G_CTRL, S_CTRL).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Control {
    pub(crate) id: u32,
    pub(crate) value: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct StreamParm {
    pub kind: u32,
    pub parm: StreamParmUnion,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct FrmSizeEnum {
    pub index: u32,
    pub pixel_format: u32,
    pub kind: u32,
    /// Discrete: width, height; stepwise: min/max/step width, min/max/step
    /// height.
    pub size: [u32; 6],
    pub reserved: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct FrmIvalEnum {
    pub index: u32,
    pub pixel_format: u32,
    pub width: u32,
    pub height: u32,
    pub kind: u32,
    /// Discrete: one fraction; stepwise: min, max, step.
    pub ival: [Fract; 3],
    pub reserved: [u32; 2],
}

#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(size_of::<Capability>() == 104);
    assert!(size_of::<FmtDesc>() == 64);
    assert!(size_of::<PixFormatMplane>() == 192);
    assert!(size_of::<Format>() == 208);
    assert!(size_of::<RequestBuffers>() == 20);
    assert!(size_of::<Buffer>() == 88);
    assert!(size_of::<Plane>() == 64);
    assert!(size_of::<StreamParm>() == 204);
    assert!(size_of::<Control>() == 8);
    assert!(size_of::<FrmSizeEnum>() == 44);
    assert!(size_of::<FrmIvalEnum>() == 52);
};

/// Every structure here is plain old data: all zero bytes is a valid value
/// of each (integers, arrays of them, and unions of those and a null
/// pointer).
pub(crate) trait Zeroed: Copy {
    fn zeroed() -> Self {
        // SAFETY: implemented only for the `repr(C)` structures above, for
        // which all-zero bytes are a valid value (see the trait's note).
        unsafe { std::mem::zeroed() }
    }
}

impl Zeroed for Capability {}
impl Zeroed for FmtDesc {}
impl Zeroed for Format {}
impl Zeroed for RequestBuffers {}
impl Zeroed for Buffer {}
impl Zeroed for Plane {}
impl Zeroed for StreamParm {}
impl Zeroed for Control {}
impl Zeroed for FrmSizeEnum {}
impl Zeroed for FrmIvalEnum {}

const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | ((b'V' as u32) << 8) | nr
}
const fn ior<T>(nr: u32) -> u32 {
    ioc(2, nr, size_of::<T>())
}
const fn iow<T>(nr: u32) -> u32 {
    ioc(1, nr, size_of::<T>())
}
const fn iowr<T>(nr: u32) -> u32 {
    ioc(3, nr, size_of::<T>())
}

pub(crate) const VIDIOC_QUERYCAP: u32 = ior::<Capability>(0);
pub(crate) const VIDIOC_ENUM_FMT: u32 = iowr::<FmtDesc>(2);
pub(crate) const VIDIOC_G_FMT: u32 = iowr::<Format>(4);
pub(crate) const VIDIOC_S_FMT: u32 = iowr::<Format>(5);
pub(crate) const VIDIOC_REQBUFS: u32 = iowr::<RequestBuffers>(8);
pub(crate) const VIDIOC_QUERYBUF: u32 = iowr::<Buffer>(9);
pub(crate) const VIDIOC_QBUF: u32 = iowr::<Buffer>(15);
pub(crate) const VIDIOC_DQBUF: u32 = iowr::<Buffer>(17);
pub(crate) const VIDIOC_STREAMON: u32 = iow::<i32>(18);
pub(crate) const VIDIOC_STREAMOFF: u32 = iow::<i32>(19);
pub(crate) const VIDIOC_G_PARM: u32 = iowr::<StreamParm>(21);
pub(crate) const VIDIOC_S_PARM: u32 = iowr::<StreamParm>(22);
pub(crate) const VIDIOC_G_CTRL: u32 = iowr::<Control>(27);
pub(crate) const VIDIOC_S_CTRL: u32 = iowr::<Control>(28);
pub(crate) const VIDIOC_ENUM_FRAMESIZES: u32 = iowr::<FrmSizeEnum>(74);
pub(crate) const VIDIOC_ENUM_FRAMEINTERVALS: u32 = iowr::<FrmIvalEnum>(75);

/// Marks the types an ioctl here may be called with, so `ioctl` cannot be
/// handed a pointer to something the kernel would misread.
pub(crate) trait IoctlArg {}
impl IoctlArg for Capability {}
impl IoctlArg for FmtDesc {}
impl IoctlArg for Format {}
impl IoctlArg for RequestBuffers {}
impl IoctlArg for Buffer {}
impl IoctlArg for StreamParm {}
impl IoctlArg for Control {}
impl IoctlArg for FrmSizeEnum {}
impl IoctlArg for FrmIvalEnum {}
impl IoctlArg for i32 {}

/// Issues `request` on `fd` with `arg`, retrying on `EINTR`.
///
/// # Safety
///
/// `request` must be the ioctl whose argument type is `T` (its size is
/// encoded in the number; the constants above pair each with its type),
/// and any pointer inside `arg` (a multi-planar buffer's plane array) must
/// point to memory valid for the call.
pub(crate) unsafe fn ioctl<T: IoctlArg>(
    fd: BorrowedFd<'_>,
    request: u32,
    arg: &mut T,
) -> io::Result<()> {
    loop {
        // SAFETY: `arg` is a valid, exclusive `T` for the call, and the
        // caller pairs `request` with `T` and vouches for inner pointers.
        let r = unsafe {
            libc::ioctl(
                fd.as_raw_fd(),
                request as libc::Ioctl,
                arg as *mut T as *mut libc::c_void,
            )
        };
        if r != -1 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// A fourcc as four characters (`YUYV`).
pub(crate) fn fourcc_bytes(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

/// Four characters as a fourcc value.
pub(crate) fn fourcc_value(cc: [u8; 4]) -> u32 {
    u32::from_le_bytes(cc)
}

/// A NUL-padded C string field as text.
pub(crate) fn c_str(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}
