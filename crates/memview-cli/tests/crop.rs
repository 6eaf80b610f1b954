//! `memview crop` against ffmpeg's crop filter, and `memview probe`.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use memview_testkit::ffmpeg;

fn tmp(name: &str) -> String {
    std::env::temp_dir()
        .join(format!("memview-cli-{}-{name}", std::process::id()))
        .to_str()
        .unwrap()
        .to_owned()
}

#[test]
fn crop_equals_ffmpeg_crop() {
    let src = tmp("src.y4m");
    // Four 641x479 yuv420p frames of testsrc2 (odd sizes: drawn one pixel
    // larger and cropped), through `extra` filters, written as `format` to
    // `out`.
    let gen = |extra: &str, format: &str, out: &str| {
        ffmpeg(&[
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=642x480:rate=25",
            "-frames:v",
            "4",
            "-vf",
            &format!("format=rgb24,crop=641:479:0:0,format=yuv420p{extra}"),
            "-f",
            format,
            out,
        ])
    };
    let Some(_) = gen("", "yuv4mpegpipe", &src) else {
        return;
    };
    let zones = [
        (100, 50, 200, 120),
        (0, 0, 64, 32),
        (576, 446, 64, 32),
        (10, 400, 630, 78),
    ];
    let out = tmp("zone_%d.y4m");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_memview"));
    cmd.args(["crop", &src, "-o", &out]);
    for (x, y, w, h) in zones {
        cmd.args(["--zone", &format!("{x},{y},{w},{h}")]);
    }
    let st = cmd.output().unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    // The file is memory-mapped by default; read with --no-mmap, the
    // outputs are the same bytes.
    let unmapped = tmp("unmapped_%d.y4m");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_memview"));
    cmd.args(["crop", &src, "--no-mmap", "-o", &unmapped]);
    for (x, y, w, h) in zones {
        cmd.args(["--zone", &format!("{x},{y},{w},{h}")]);
    }
    assert!(cmd.output().unwrap().status.success());
    for i in 0..zones.len() {
        let (a, b) = (
            out.replace("%d", &i.to_string()),
            unmapped.replace("%d", &i.to_string()),
        );
        assert!(
            std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
            "zone {i}: mapped and read crops differ"
        );
        std::fs::remove_file(&b).unwrap();
    }
    for (i, (x, y, w, h)) in zones.into_iter().enumerate() {
        let want = gen(&format!(",crop={w}:{h}:{x}:{y}"), "rawvideo", "-").unwrap();
        let path = out.replace("%d", &i.to_string());
        let got = std::fs::read(&path).unwrap();
        assert!(got.starts_with(format!("YUV4MPEG2 W{w} H{h} F25:1").as_bytes()));
        // Strip the headers: 4 frames of w*h*3/2 bytes each.
        let fl = w * h * 3 / 2;
        let mut data = Vec::new();
        let mut at = got.iter().position(|&b| b == b'\n').unwrap() + 1;
        for _ in 0..4 {
            assert_eq!(&got[at..at + 6], b"FRAME\n");
            at += 6;
            data.extend_from_slice(&got[at..at + fl]);
            at += fl;
        }
        assert_eq!(at, got.len());
        assert!(data == want, "zone {i}: bytes differ from ffmpeg crop");
        std::fs::remove_file(&path).unwrap();
    }
    // Probe.
    let p = Command::new(env!("CARGO_BIN_EXE_memview"))
        .args(["probe", &src, "--json"])
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    assert_eq!(
        (
            j["format"].as_str(),
            j["width"].as_u64(),
            j["height"].as_u64(),
            j["frames"].as_u64()
        ),
        (Some("I420"), Some(641), Some(479), Some(4))
    );
    assert_eq!(j["frame_rate"], "25/1");
    let p = Command::new(env!("CARGO_BIN_EXE_memview"))
        .args(["probe", &src, "--json", "--no-mmap"])
        .output()
        .unwrap();
    let k: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    assert_eq!(j, k, "probe with and without the map");
    // A zone off the chroma grid is refused, not silently grown.
    let bad = Command::new(env!("CARGO_BIN_EXE_memview"))
        .args(["crop", &src, "-o", &tmp("bad.y4m"), "--zone", "1,0,10,10"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let text = String::from_utf8_lossy(&bad.stderr);
    assert!(text.contains("not on the 2x2 chroma grid"), "{text}");
    // And it leaves no file behind (it once left a header-only one).
    assert!(!std::path::Path::new(&tmp("bad.y4m")).exists());
    std::fs::remove_file(&src).unwrap();
}
