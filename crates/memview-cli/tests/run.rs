//! `memview run` end to end: the summary's invariants, and clean errors.

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn memview(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_memview"))
        .args(args)
        .output()
        .unwrap()
}

/// The JSON summary on the last line of `memview run --json`'s stdout.
fn last_json(stdout: &[u8]) -> serde_json::Value {
    let text = std::str::from_utf8(stdout).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

#[test]
fn run_json_summary_holds_together() {
    let out = memview(&["run", "--frames", "120", "--json", "--size", "640x360"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = last_json(&out.stdout);
    assert_eq!(j["frames"], 120);
    assert_eq!(j["zones"], 10);
    assert_eq!(j["dropped"], 0);
    assert_eq!(j["zone_errors"], 0);
    assert!(j["fps"].as_f64().unwrap() > 0.0);
    let l = &j["latency_us"];
    let (p50, p95, p99) = (
        l["p50"].as_f64().unwrap(),
        l["p95"].as_f64().unwrap(),
        l["p99"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p95 && p95 <= p99, "{l}");
    assert_eq!(j["allocations_per_frame"].as_f64().unwrap(), 0.0, "{j}");
    // The pool is five 640x360 I420 frames (two held, two queued, one
    // being filled); nothing per frame on top.
    assert!(
        j["heap_peak_bytes"].as_u64().unwrap() < 5 * 345_600 + (1 << 20) + 512 * 1024,
        "{j}"
    );
    assert!(j["threads"].as_u64().unwrap() >= 1);
    assert_eq!(j["source"], "synthetic 640x360 I420");
    assert!(
        j["last_frame"]["motion_sad"].as_u64().unwrap() > 0,
        "boxes move"
    );
}

#[test]
fn explicit_zones_and_analyzers() {
    let out = memview(&[
        "run",
        "--frames",
        "5",
        "--json",
        "--size",
        "320x240",
        "--zone",
        "0,0,64,64",
        "--zone",
        "100,100,50,40",
        "--analyzers",
        "mean,edges",
    ]);
    assert!(out.status.success());
    let j = last_json(&out.stdout);
    assert_eq!(
        (j["zones"].as_u64(), j["analyzers"][1].as_str()),
        (Some(2), Some("edges"))
    );
}

#[test]
fn errors_are_one_line_and_a_failure_status() {
    for args in [
        &["run", "--source", "/nonexistent.y4m"][..],
        &["run", "--analyzers", "nope"],
        &["run", "--source", "v4l2:/dev/video0"],
        &["run", "--zone", "1,2,3"],
        &["run", "--source", "v4l2:/dev/null"],
        &[
            "run",
            "--source",
            "v4l2:/dev/null",
            "--pixel-format",
            "RGB3",
        ],
        &["run", "--source", "v4l2:/dev/null", "--pixel-format", "NV1"],
    ] {
        let out = memview(args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
    // What the V4L2 errors say.
    let says = |args: &[&str], what: &str| {
        let err = String::from_utf8(memview(args).stderr).unwrap();
        assert!(err.contains(what), "{args:?}: {err}");
    };
    says(
        &["run", "--source", "v4l2:/dev/null"],
        "/dev/null is not a V4L2 device",
    );
    says(
        &[
            "run",
            "--source",
            "v4l2:/dev/null",
            "--pixel-format",
            "RGB3",
        ],
        "RGB24 has no luma",
    );
    says(
        &["run", "--source", "v4l2:/dev/null", "--pixel-format", "NV1"],
        "not a fourcc",
    );
}

#[test]
fn mask_writes_every_frame() {
    let path = std::env::temp_dir().join(format!("memview-mask-{}.y4m", std::process::id()));
    let p = path.to_str().unwrap();
    let out = memview(&[
        "run", "--frames", "60", "--size", "320x180", "--mask", "-o", p, "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Masking ten zones in parallel (disjoint mutable ROIs) and writing
    // the frame allocate nothing per frame either.
    let j = last_json(&out.stdout);
    assert_eq!(j["allocations_per_frame"].as_f64(), Some(0.0), "{j}");
    let probe = memview(&["probe", p, "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    assert_eq!(
        (j["frames"].as_u64(), j["width"].as_u64()),
        (Some(60), Some(320))
    );
    std::fs::remove_file(&path).unwrap();
    // --mask without -o is refused by the argument parser.
    assert!(!memview(&["run", "--mask"]).status.success());
}

#[test]
fn run_reads_ffmpeg_and_stdin_sources() {
    if memview_testkit::ffmpeg(&["-version"]).is_none() {
        return;
    }
    let y4m = memview_testkit::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-frames:v",
        "8",
        "-f",
        "yuv4mpegpipe",
        "-",
    ])
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_memview"))
        .args(["run", "--source", "-", "--zones", "3", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&y4m).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let j = last_json(&out.stdout);
    assert_eq!(
        (j["frames"].as_u64(), j["zones"].as_u64()),
        (Some(8), Some(3))
    );
    // The same stream decoded by an ffmpeg child.
    let path = std::env::temp_dir().join(format!("memview-run-{}.y4m", std::process::id()));
    std::fs::write(&path, &y4m).unwrap();
    let src = format!("ffmpeg:{}", path.display());
    let out = memview(&["run", "--source", &src, "--zones", "2", "--json"]);
    std::fs::remove_file(&path).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = last_json(&out.stdout);
    assert_eq!(
        (j["frames"].as_u64(), j["zones"].as_u64()),
        (Some(8), Some(2))
    );
    // A missing input is ffmpeg's error, on one line.
    let out = memview(&["run", "--source", "ffmpeg:/nonexistent/clip.mp4"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("No such file") && !err.contains("panicked"),
        "{err}"
    );
}

/// A source that fails mid-stream ends the run with the error on stderr
/// and a failure status, after the summary of the frames before it.
#[test]
fn a_truncated_source_reports_the_frames_before_the_fault() {
    let Some(y4m) = memview_testkit::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=30",
        "-frames:v",
        "10",
        "-f",
        "yuv4mpegpipe",
        "-",
    ]) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("memview-trunc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("trunc.y4m");
    // Four whole frames and part of the fifth.
    std::fs::write(&path, &y4m[..500_000]).unwrap();
    let out = memview(&["run", "--source", path.to_str().unwrap(), "--json"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("truncated frame 4"), "{err}");
    let v = last_json(&out.stdout);
    assert_eq!(v["frames"], 4);
    assert!(v["error"].as_str().unwrap().contains("truncated frame 4"));
    std::fs::remove_dir_all(&dir).ok();
}

/// `--ffmpeg-input` goes before ffmpeg's `-i` (here `-f lavfi`, so a
/// filter graph is the input), `--ffmpeg-pix-fmt` picks what ffmpeg hands
/// over (`native`: the input's own, as `crop` and `probe` do by default;
/// `run` asks for yuv420p unless told), and both are refused for other
/// sources and for names that are not pixel formats.
#[test]
fn ffmpeg_takes_input_options_and_a_pixel_format() {
    if memview_testkit::ffmpeg(&["-version"]).is_none() {
        return;
    }
    let graph = "ffmpeg:testsrc2=size=64x48:rate=5:duration=1,format=yuv444p";
    let lavfi = ["--ffmpeg-input", "-f lavfi"];
    let probe = |extra: &[&str]| {
        let mut args = vec!["probe", graph, "--json"];
        args.extend_from_slice(&lavfi);
        args.extend_from_slice(extra);
        let out = memview(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            j["format"].as_str().unwrap().to_owned(),
            j["frames"].as_u64(),
        )
    };
    assert_eq!(
        probe(&[]),
        ("I444".to_owned(), Some(5)),
        "probe keeps the native format"
    );
    assert_eq!(probe(&["--ffmpeg-pix-fmt", "native"]).0, "I444");
    assert_eq!(probe(&["--ffmpeg-pix-fmt", "yuv420p"]).0, "I420");
    assert_eq!(probe(&["--ffmpeg-pix-fmt", "gray"]).0, "GRAY8");
    // run: the graph's five frames, converted to 4:2:0 by default, and in
    // 4:2:2 when asked.
    for fmt in [None, Some("yuv422p"), Some("native")] {
        let mut args = vec![
            "run", "--source", graph, "--zones", "2", "--frames", "0", "--json",
        ];
        args.extend_from_slice(&lavfi);
        if let Some(f) = fmt {
            args.extend(["--ffmpeg-pix-fmt", f]);
        }
        let out = memview(&args);
        assert!(
            out.status.success(),
            "{fmt:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            last_json(&out.stdout)["frames"].as_u64(),
            Some(5),
            "{fmt:?}"
        );
    }
    // Without `-f lavfi`, ffmpeg looks for a file of that name: its error,
    // on one line.
    let out = memview(&["run", "--source", graph]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.lines().count() == 1, "{err}");
    // Refusals, each one line and a failure status.
    for (args, says) in [
        (
            vec!["run", "--ffmpeg-input", "-f lavfi"],
            "--ffmpeg-input applies only to ffmpeg: sources",
        ),
        (
            vec!["probe", "clip.y4m", "--ffmpeg-pix-fmt", "gray"],
            "--ffmpeg-pix-fmt applies only to ffmpeg: sources",
        ),
        (
            vec!["run", "--source", graph, "--ffmpeg-pix-fmt", "yuv 420p"],
            "is not a pixel format name",
        ),
        (
            vec![
                "probe",
                graph,
                "--ffmpeg-input",
                "-f lavfi",
                "--ffmpeg-pix-fmt",
                "notafmt",
            ],
            "notafmt",
        ),
    ] {
        let out = memview(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(says) && err.lines().count() == 1,
            "{args:?}: {err}"
        );
    }
}
