//! The hand-written V4L2 ABI (`sys.rs`) held to two sources nobody here
//! wrote: the ioctl numbers of `linux-raw-sys` (generated from the
//! kernel's headers; each number encodes its structure's size), and the
//! kernel's own `linux/videodev2.h`, compiled by the system's C compiler
//! to print every structure's size and every field's offset and the
//! constants' values.
//!
//! Test code (`cfg(test)`): a panic here is the test failing.

use std::mem::{offset_of, size_of};
use std::process::Command;

use linux_raw_sys::ioctl as k;

use super::sys::*;

#[test]
fn ioctl_numbers_are_the_kernels() {
    let ours = [
        ("VIDIOC_QUERYCAP", VIDIOC_QUERYCAP, k::VIDIOC_QUERYCAP),
        ("VIDIOC_ENUM_FMT", VIDIOC_ENUM_FMT, k::VIDIOC_ENUM_FMT),
        ("VIDIOC_G_FMT", VIDIOC_G_FMT, k::VIDIOC_G_FMT),
        ("VIDIOC_S_FMT", VIDIOC_S_FMT, k::VIDIOC_S_FMT),
        ("VIDIOC_REQBUFS", VIDIOC_REQBUFS, k::VIDIOC_REQBUFS),
        ("VIDIOC_QUERYBUF", VIDIOC_QUERYBUF, k::VIDIOC_QUERYBUF),
        ("VIDIOC_QBUF", VIDIOC_QBUF, k::VIDIOC_QBUF),
        ("VIDIOC_DQBUF", VIDIOC_DQBUF, k::VIDIOC_DQBUF),
        ("VIDIOC_STREAMON", VIDIOC_STREAMON, k::VIDIOC_STREAMON),
        ("VIDIOC_STREAMOFF", VIDIOC_STREAMOFF, k::VIDIOC_STREAMOFF),
        ("VIDIOC_G_PARM", VIDIOC_G_PARM, k::VIDIOC_G_PARM),
        ("VIDIOC_S_PARM", VIDIOC_S_PARM, k::VIDIOC_S_PARM),
        ("VIDIOC_G_CTRL", VIDIOC_G_CTRL, k::VIDIOC_G_CTRL),
        ("VIDIOC_S_CTRL", VIDIOC_S_CTRL, k::VIDIOC_S_CTRL),
        (
            "VIDIOC_ENUM_FRAMESIZES",
            VIDIOC_ENUM_FRAMESIZES,
            k::VIDIOC_ENUM_FRAMESIZES,
        ),
        (
            "VIDIOC_ENUM_FRAMEINTERVALS",
            VIDIOC_ENUM_FRAMEINTERVALS,
            k::VIDIOC_ENUM_FRAMEINTERVALS,
        ),
    ];
    for (name, mine, kernel) in ours {
        assert_eq!(mine, kernel, "{name}: {mine:#x}, the kernel's {kernel:#x}");
    }
}

/// One line the C program prints and the Rust value it must equal:
/// `C expression`, Rust value.
struct Check {
    c: String,
    rust: u64,
}

/// `size struct`, then `offset struct field` for each (Rust field, C
/// field) pair.
macro_rules! layout {
    ($out:ident, $rust:ty => $c:literal { $($rf:ident : $cf:literal),* $(,)? }) => {
        $out.push(Check {
            c: format!("sizeof(struct {})", $c),
            rust: size_of::<$rust>() as u64,
        });
        $(
            $out.push(Check {
                c: format!("offsetof(struct {}, {})", $c, $cf),
                rust: offset_of!($rust, $rf) as u64,
            });
        )*
    };
}

fn checks() -> Vec<Check> {
    let mut out = Vec::new();
    layout!(out, Capability => "v4l2_capability" {
        driver: "driver", card: "card", bus_info: "bus_info", version: "version",
        capabilities: "capabilities", device_caps: "device_caps", reserved: "reserved",
    });
    layout!(out, FmtDesc => "v4l2_fmtdesc" {
        index: "index", kind: "type", flags: "flags", description: "description",
        pixelformat: "pixelformat", mbus_code: "mbus_code", reserved: "reserved",
    });
    layout!(out, PixFormat => "v4l2_pix_format" {
        width: "width", height: "height", pixelformat: "pixelformat", field: "field",
        bytesperline: "bytesperline", sizeimage: "sizeimage", colorspace: "colorspace",
        private: "priv", flags: "flags", ycbcr_enc: "ycbcr_enc",
        quantization: "quantization", xfer_func: "xfer_func",
    });
    layout!(out, PlanePixFormat => "v4l2_plane_pix_format" {
        sizeimage: "sizeimage", bytesperline: "bytesperline", reserved: "reserved",
    });
    layout!(out, PixFormatMplane => "v4l2_pix_format_mplane" {
        width: "width", height: "height", pixelformat: "pixelformat", field: "field",
        colorspace: "colorspace", plane_fmt: "plane_fmt", num_planes: "num_planes",
        flags: "flags", ycbcr_enc: "ycbcr_enc", quantization: "quantization",
        xfer_func: "xfer_func", reserved: "reserved",
    });
    layout!(out, Format => "v4l2_format" { kind: "type", fmt: "fmt" });
    layout!(out, RequestBuffers => "v4l2_requestbuffers" {
        count: "count", kind: "type", memory: "memory", capabilities: "capabilities",
        flags: "flags", reserved: "reserved",
    });
    layout!(out, Timecode => "v4l2_timecode" {
        kind: "type", flags: "flags", frames: "frames", seconds: "seconds",
        minutes: "minutes", hours: "hours", userbits: "userbits",
    });
    layout!(out, Buffer => "v4l2_buffer" {
        index: "index", kind: "type", bytesused: "bytesused", flags: "flags",
        field: "field", timestamp: "timestamp", timecode: "timecode",
        sequence: "sequence", memory: "memory", m: "m", length: "length",
        reserved2: "reserved2", request_fd: "request_fd",
    });
    layout!(out, Plane => "v4l2_plane" {
        bytesused: "bytesused", length: "length", m: "m", data_offset: "data_offset",
        reserved: "reserved",
    });
    layout!(out, Fract => "v4l2_fract" { numerator: "numerator", denominator: "denominator" });
    layout!(out, CaptureParm => "v4l2_captureparm" {
        capability: "capability", capturemode: "capturemode",
        timeperframe: "timeperframe", extendedmode: "extendedmode",
        readbuffers: "readbuffers", reserved: "reserved",
    });
    layout!(out, StreamParm => "v4l2_streamparm" { kind: "type", parm: "parm" });
    layout!(out, Control => "v4l2_control" { id: "id", value: "value" });
    // The size and interval enumerations end in anonymous unions (C11
    // lets offsetof name their members).
    layout!(out, FrmSizeEnum => "v4l2_frmsizeenum" {
        index: "index", pixel_format: "pixel_format", kind: "type", size: "discrete",
        reserved: "reserved",
    });
    layout!(out, FrmIvalEnum => "v4l2_frmivalenum" {
        index: "index", pixel_format: "pixel_format", width: "width", height: "height",
        kind: "type", ival: "discrete", reserved: "reserved",
    });
    let sizes = [
        (
            "sizeof(((struct v4l2_format *)0)->fmt)",
            size_of::<FormatUnion>(),
        ),
        ("sizeof(((struct v4l2_buffer *)0)->m)", size_of::<BufferM>()),
        ("sizeof(((struct v4l2_plane *)0)->m)", size_of::<PlaneM>()),
        (
            "sizeof(((struct v4l2_streamparm *)0)->parm)",
            size_of::<StreamParmUnion>(),
        ),
        ("sizeof(struct timeval)", size_of::<Timeval>()),
    ];
    for (c, rust) in sizes {
        out.push(Check {
            c: c.to_owned(),
            rust: rust as u64,
        });
    }
    let constants = [
        ("V4L2_BUF_TYPE_VIDEO_CAPTURE", BUF_TYPE_VIDEO_CAPTURE),
        (
            "V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE",
            BUF_TYPE_VIDEO_CAPTURE_MPLANE,
        ),
        ("V4L2_MEMORY_MMAP", MEMORY_MMAP),
        ("V4L2_FIELD_NONE", FIELD_NONE),
        ("V4L2_CAP_VIDEO_CAPTURE", CAP_VIDEO_CAPTURE),
        ("V4L2_CAP_VIDEO_CAPTURE_MPLANE", CAP_VIDEO_CAPTURE_MPLANE),
        ("V4L2_CAP_STREAMING", CAP_STREAMING),
        ("V4L2_CAP_DEVICE_CAPS", CAP_DEVICE_CAPS),
        ("V4L2_BUF_FLAG_ERROR", BUF_FLAG_ERROR),
        ("V4L2_FMT_FLAG_COMPRESSED", FMT_FLAG_COMPRESSED),
        ("V4L2_FRMSIZE_TYPE_DISCRETE", FRMSIZE_TYPE_DISCRETE),
        ("V4L2_FRMIVAL_TYPE_DISCRETE", FRMIVAL_TYPE_DISCRETE),
        ("V4L2_CAP_TIMEPERFRAME", CAP_TIMEPERFRAME),
    ];
    for (c, rust) in constants {
        out.push(Check {
            c: c.to_owned(),
            rust: u64::from(rust),
        });
    }
    out.push(Check {
        c: "VIDEO_MAX_PLANES".to_owned(),
        rust: MAX_PLANES as u64,
    });
    out
}

/// The C program that prints each check's expression, one value a line.
fn program(checks: &[Check]) -> String {
    let mut c = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include <sys/time.h>\n#include <time.h>\n\
         #include <linux/videodev2.h>\nint main(void) {\n",
    );
    for k in checks {
        c.push_str(&format!(
            "    printf(\"%llu\\n\", (unsigned long long)({}));\n",
            k.c
        ));
    }
    c.push_str("    return 0;\n}\n");
    c
}

#[test]
fn structures_and_constants_are_the_kernel_headers() {
    let header = std::path::Path::new("/usr/include/linux/videodev2.h");
    let cc = Command::new("cc").arg("--version").output();
    if !header.exists() || cc.is_err() {
        assert!(
            !memview_testkit::in_ci(),
            "CI must check the V4L2 ABI: no C compiler or no {}",
            header.display()
        );
        memview_testkit::skip("the V4L2 ABI against videodev2.h (no cc or no kernel headers)");
        return;
    }
    let checks = checks();
    let dir = memview_testkit::fresh_dir("capture", "v4l2-abi");
    let src = dir.join("abi.c");
    let bin = dir.join("abi");
    // A failure here is the test failing (no panic reachable from input).
    std::fs::write(&src, program(&checks))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", src.display()));
    let built = Command::new("cc")
        .args(["-std=gnu11", "-O0", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run cc: {e}"));
    assert!(
        built.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let out = Command::new(&bin)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let values: Vec<u64> = text
        .lines()
        .map(|l| {
            l.parse()
                .unwrap_or_else(|e| panic!("the C program printed {l:?}: {e}"))
        })
        .collect();
    assert_eq!(values.len(), checks.len());
    let wrong: Vec<String> = checks
        .iter()
        .zip(&values)
        .filter(|(k, &v)| k.rust != v)
        .map(|(k, v)| format!("{}: the header says {v}, sys.rs {}", k.c, k.rust))
        .collect();
    assert!(
        wrong.is_empty(),
        "the V4L2 ABI differs:\n{}",
        wrong.join("\n")
    );
}
