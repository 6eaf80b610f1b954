//! The fault suite (issue 13): hostile inputs, dying and stalled sources,
//! signals, closed pipes, outputs that are inputs, absurd budgets. Each
//! case checks the exit status, a one-line error that names the cause, no
//! panic text, and that no file the user had is changed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};

use memview_testkit::{children, mkfifo, signal, wait_within};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_memview");

/// A fresh directory for one test.
fn dir(name: &str) -> PathBuf {
    memview_testkit::fresh_dir("faults", name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A Y4M stream of `frames` I420 frames of `w x h` with moving content,
/// with `tags` after the size.
fn y4m(w: usize, h: usize, frames: usize, tags: &str) -> Vec<u8> {
    let mut v = format!("YUV4MPEG2 W{w} H{h}{tags}\n").into_bytes();
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    for f in 0..frames {
        v.extend_from_slice(b"FRAME\n");
        for y in 0..h {
            for x in 0..w {
                v.push(((x * 3 + y * 5 + f * 7) % 200 + 20) as u8);
            }
        }
        v.extend(std::iter::repeat_n(100u8 + f as u8, 2 * cw * ch));
    }
    v
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// Runs with `stdin` as standard input.
fn run_stdin(args: &[&str], stdin: Stdio) -> Output {
    Command::new(BIN).args(args).stdin(stdin).output().unwrap()
}

/// A failure: non-zero status, no panic text, one line on stderr that
/// contains `cause`.
fn fails_with(out: &Output, cause: &str, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what}: succeeded\n{err}");
    assert_ne!(
        out.status.code(),
        Some(101),
        "{what}: a panic's status\n{err}"
    );
    assert!(
        out.status.code().is_some(),
        "{what}: killed by a signal\n{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{what}: {err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{what}: not one line: {err}");
    assert!(
        err.contains(cause),
        "{what}: {err:?} does not say {cause:?}"
    );
}

/// The last line of stdout as JSON.
fn summary(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn hostile_headers_are_one_line_errors() {
    let d = dir("headers");
    for (name, header, cause) in [
        (
            "utf8",
            &b"YUV4MPEG2 W64 H48 \xc3\xa9x\n"[..],
            "not printable ASCII",
        ),
        ("crlf", b"YUV4MPEG2 W64 H48 C420jpeg\r\n", "CR LF"),
        ("dup", b"YUV4MPEG2 W64 H48 H48\n", "duplicate H tag"),
        ("zero", b"YUV4MPEG2 W0 H48\n", "impossible frame size"),
        (
            "huge",
            b"YUV4MPEG2 W65536 H65536 C420p10\n",
            "over the frame budget",
        ),
    ] {
        let p = d.join(format!("{name}.y4m"));
        std::fs::write(&p, header).unwrap();
        for cmd in [
            vec!["probe", s(&p)],
            vec!["run", "--source", s(&p)],
            vec!["crop", s(&p), "--zone", "0,0,2,2", "-o", "/dev/null"],
        ] {
            fails_with(&run(&cmd), cause, &format!("{name}: {cmd:?}"));
        }
        // From stdin too.
        let out = run_stdin(
            &["probe", "-"],
            Stdio::from(std::fs::File::open(&p).unwrap()),
        );
        fails_with(&out, cause, &format!("{name} on stdin"));
    }
}

#[test]
fn directories_and_dev_null_as_inputs() {
    let d = dir("dirs");
    for cmd in [
        vec!["run", "--source", s(&d)],
        vec!["probe", s(&d)],
        vec!["crop", s(&d), "--zone", "0,0,2,2", "-o", "/dev/null"],
    ] {
        fails_with(&run(&cmd), "is a directory", &format!("{cmd:?}"));
    }
    for cmd in [
        vec!["run", "--source", "/dev/null"],
        vec!["probe", "/dev/null"],
    ] {
        fails_with(&run(&cmd), "empty stream", &format!("{cmd:?}"));
    }
    fails_with(
        &run(&["run", "--source", "v4l2:/dev/null"]),
        "/dev/null is not a V4L2 device",
        "v4l2:/dev/null",
    );
}

/// An output that is the input (by name, through a hard link, or behind a
/// stdin redirect) is refused and the input left exactly as it was.
#[test]
fn the_input_is_never_the_output() {
    let d = dir("same");
    let clip = d.join("clip.y4m");
    let bytes = y4m(64, 48, 3, " F25:1");
    std::fs::write(&clip, &bytes).unwrap();
    let link = d.join("link.y4m");
    std::fs::hard_link(&clip, &link).unwrap();
    for out in [&clip, &link] {
        fails_with(
            &run(&["run", "--source", s(&clip), "--mask", "-o", s(out)]),
            "is the input",
            "run --mask -o input",
        );
        fails_with(
            &run(&["crop", s(&clip), "--zone", "0,0,32,32", "-o", s(out)]),
            "is the input",
            "crop -o input",
        );
        let o = run_stdin(
            &["run", "--source", "-", "--mask", "-o", s(out)],
            Stdio::from(std::fs::File::open(&clip).unwrap()),
        );
        fails_with(&o, "is the input", "stdin redirect");
    }
    assert_eq!(std::fs::read(&clip).unwrap(), bytes, "the input changed");
}

/// Failed runs leave no file behind and leave an existing output as it
/// was; zones that are empty, outside the frame or off ffmpeg's grid are
/// errors that say so.
#[test]
fn failed_runs_leave_no_files_and_zones_are_checked() {
    let d = dir("zones");
    let clip = d.join("odd.y4m");
    std::fs::write(&clip, y4m(65, 47, 2, "")).unwrap();
    let out = d.join("out.y4m");
    let kept = b"the user's own file".to_vec();
    for (zone, cause) in [
        ("0,0,0,0", "empty zone"),
        ("0,0,65,47", "would cut 0,0,64,46 instead"),
        ("1,0,10,10", "not on the 2x2 chroma grid"),
        ("60,40,10,10", "leaves the 65x47 frame"),
    ] {
        let _ = std::fs::remove_file(&out);
        fails_with(
            &run(&["crop", s(&clip), "--zone", zone, "-o", s(&out)]),
            cause,
            zone,
        );
        assert!(!out.exists(), "{zone}: a file was left behind");
        std::fs::write(&out, &kept).unwrap();
        fails_with(
            &run(&["crop", s(&clip), "--zone", zone, "-o", s(&out)]),
            cause,
            zone,
        );
        assert_eq!(
            std::fs::read(&out).unwrap(),
            kept,
            "{zone}: the old output changed"
        );
    }
    // run: a zone outside the frame is refused up front.
    fails_with(
        &run(&["run", "--source", s(&clip), "--zone", "60,40,10,10"]),
        "leaves the 65x47 frame",
        "run zone",
    );
    fails_with(
        &run(&["run", "--zone", "0,0,0,8"]),
        "empty zone",
        "run empty zone",
    );
    // A grid too fine for the frame.
    fails_with(
        &run(&["run", "--source", s(&clip), "--zones", "4000"]),
        "do not fit",
        "grid",
    );
    let names: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 2, "temporary files left: {names:?}");
}

/// Budgets: zone and thread counts, frame sizes, and reservations under a
/// memory limit are errors, never a capacity-overflow panic or an abort.
#[test]
fn budgets_are_errors() {
    for (args, cause) in [
        (&["run", "--zones", "18446744073709551615"][..], "zones"),
        (&["run", "--zones", "100000000"], "zones"),
        (&["run", "--zones", "5000"], "zones"),
        (&["run", "--threads", "20000"], "threads"),
        (&["run", "--size", "65537x10"], "width 65537"),
    ] {
        let start = Instant::now();
        let out = run(args);
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{args:?} took long"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && !err.contains("panicked"),
            "{args:?}: {err}"
        );
        assert!(err.contains(cause), "{args:?}: {err}");
    }
    fails_with(
        &run(&["run", "--size", "65536x65536", "--frames", "1"]),
        "over the budget",
        "synthetic 65536x65536",
    );
    // Thousands of zones do run.
    let out = run(&["run", "--zones", "3000", "--frames", "20", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary(&out)["zones"], 3000);
}

/// Under a memory limit (`ulimit -v`), a header claiming a huge frame is
/// refused by the budget, and with the budget raised the reservation
/// fails cleanly: an error, not an abort.
#[test]
fn oversize_headers_under_a_memory_limit() {
    let d = dir("ulimit");
    let p = d.join("huge.y4m");
    std::fs::write(&p, b"YUV4MPEG2 W65536 H65536 C420p10\nFRAME\n").unwrap();
    let crop = format!("crop {} --zone 0,0,2,2 -o /dev/null", s(&p));
    let run = format!("run --source {}", s(&p));
    let big = "--max-frame-bytes 20000000000";
    let mut cases = vec![
        (run.clone(), String::new(), "over the frame budget"),
        // Read (--no-mmap), the frame's buffer cannot be had.
        (run.clone(), format!("--no-mmap {big}"), "cannot reserve"),
        // Mapped (the default), the frame needs no buffer: the file is
        // simply too short.
        (
            run,
            big.to_owned(),
            "truncated frame 0: 0 of 12884901888 bytes",
        ),
    ];
    cases.push((crop.clone(), String::new(), "over the frame budget"));
    cases.push((crop.clone(), format!("--no-mmap {big}"), "cannot reserve"));
    // Mapped (crop's default), the frame needs no buffer: the file is
    // simply too short.
    cases.push((
        crop,
        big.to_owned(),
        "truncated frame 0: 0 of 12884901888 bytes",
    ));
    for (cmd, extra, cause) in cases {
        let line = format!("ulimit -v 1500000; exec {BIN} {cmd} {extra}");
        let out = Command::new("sh").args(["-c", &line]).output().unwrap();
        fails_with(&out, cause, &line);
    }
}

/// A FIFO whose writer stops sending (or never starts) ends the run with a
/// "stalled" error after --source-timeout, and the summary of the frames
/// before it.
#[test]
fn a_stalled_fifo_ends_the_run() {
    let d = dir("fifo");
    let fifo = d.join("in.fifo");
    if !mkfifo(&fifo) {
        return;
    }
    // No writer at all: the open does not block.
    let child = Command::new(BIN)
        .args(["run", "--source", s(&fifo), "--source-timeout", "0.5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_within(child, Duration::from_secs(20), "a FIFO with no writer");
    fails_with(&out, "stalled", "no writer");
    // A writer that sends three frames, then holds the FIFO open silently.
    let child = Command::new(BIN)
        .args([
            "run",
            "--source",
            s(&fifo),
            "--source-timeout",
            "1",
            "--json",
            "--frames",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(&y4m(64, 48, 3, "")).unwrap();
    let out = wait_within(child, Duration::from_secs(20), "a stalled FIFO");
    drop(w);
    fails_with(&out, "stalled", "stalled writer");
    let j = summary(&out);
    assert_eq!(j["frames"], 3, "{j}");
    assert!(j["error"].as_str().unwrap().contains("stalled"));
}

/// An ffmpeg child SIGKILLed mid-stream: the run ends with ffmpeg's exit
/// named (no dangling colon), after the summary of the frames it gave.
#[test]
fn a_killed_ffmpeg_child_ends_the_run() {
    if memview_testkit::ffmpeg(&["-version"]).is_none() {
        return;
    }
    let d = dir("ffkill");
    let fifo = d.join("feed.fifo");
    if !mkfifo(&fifo) {
        return;
    }
    let src = format!("ffmpeg:{}", s(&fifo));
    let child = Command::new(BIN)
        .args([
            "run",
            "--source",
            &src,
            "--json",
            "--frames",
            "0",
            "--source-timeout",
            "30",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(&y4m(64, 48, 5, " F25:1")).unwrap();
    w.flush().unwrap();
    // Let memview see frames, then kill its ffmpeg (the FIFO stays open).
    std::thread::sleep(Duration::from_millis(1500));
    let kids = children(pid, "ffmpeg");
    assert_eq!(kids.len(), 1, "ffmpeg children of {pid}: {kids:?}");
    signal(kids[0], "-9");
    let out = wait_within(child, Duration::from_secs(20), "a killed ffmpeg");
    drop(w);
    fails_with(
        &out,
        "ffmpeg exited with signal: 9 (SIGKILL)",
        "killed ffmpeg",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.trim_end().ends_with(':'), "{err}");
    let j = summary(&out);
    assert!(j["frames"].as_u64().unwrap() >= 1, "{j}");
}

/// SIGINT and SIGTERM during a masked real-time run: the run ends at a
/// frame boundary with status 130 / 143, the summary and JSON line
/// printed, and the masked output holding exactly the frames analysed.
#[test]
fn signals_end_a_masked_run_cleanly() {
    let d = dir("signals");
    for (sig, code, name) in [("-INT", 130, "SIGINT"), ("-TERM", 143, "SIGTERM")] {
        let out_path = d.join(format!("masked-{code}.y4m"));
        let child = Command::new(BIN)
            .args([
                "run",
                "--realtime",
                "--frames",
                "0",
                "--size",
                "320x240",
                "--json",
                "--mask",
                "-o",
                s(&out_path),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        signal(child.id(), sig);
        let out = wait_within(child, Duration::from_secs(20), name);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j = summary(&out);
        assert_eq!(j["signal"], name, "{j}");
        let frames = j["frames"].as_u64().unwrap();
        assert!(frames > 10, "{j}");
        // The output is named and holds whole frames, as many as analysed.
        let probe = run(&["probe", s(&out_path), "--json"]);
        assert!(
            probe.status.success(),
            "{}",
            String::from_utf8_lossy(&probe.stderr)
        );
        let p: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
        assert_eq!(p["frames"].as_u64(), Some(frames), "{p}");
        let len = std::fs::metadata(&out_path).unwrap().len();
        let header = std::fs::read(&out_path)
            .unwrap()
            .iter()
            .position(|&b| b == b'\n')
            .unwrap()
            + 1;
        assert_eq!(len, header as u64 + frames * (6 + 320 * 240 * 3 / 2));
    }
}

/// A closed stdout ends quietly: `memview run | true` used to say "Broken
/// pipe" and exit 1.
#[test]
fn a_closed_stdout_ends_quietly() {
    for args in [
        &["run", "--frames", "30", "--size", "320x240", "--json"][..],
        &["fmt", "--json", "lc0l", "<hH", "3i"][..],
    ] {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(err.is_empty(), "{args:?}: {err}");
        assert!(status.code().is_some(), "{args:?}: {status}");
        if args[0] == "run" {
            assert!(status.success(), "{args:?}: {status}");
        }
    }
}

/// Flags that do not apply to the source are refused, not ignored.
#[test]
fn flags_that_do_not_apply_are_refused() {
    let d = dir("flags");
    let clip = d.join("clip.y4m");
    std::fs::write(&clip, y4m(64, 48, 2, "")).unwrap();
    for (args, cause) in [
        (
            vec!["run", "--source", s(&clip), "--size", "320x240"],
            "--size applies only",
        ),
        (
            vec!["run", "--source", "ffmpeg:x.mp4", "--realtime"],
            "--realtime applies only",
        ),
        (vec!["run", "--fps", "30"], "--fps applies only"),
        (
            vec!["run", "--pixel-format", "NV12"],
            "--pixel-format applies only",
        ),
    ] {
        fails_with(&run(&args), cause, &format!("{args:?}"));
    }
    // clap refuses -o without --mask, and --zones beside --zone.
    for args in [
        vec!["run", "-o", "x.y4m"],
        vec!["run", "--zone", "0,0,8,8", "--zones", "3"],
    ] {
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

/// A truncated stream: the frames before the fault are cut and kept, the
/// run fails naming the truncation.
#[test]
fn a_truncated_stream_keeps_the_frames_before_it() {
    let d = dir("trunc");
    let clip = d.join("t.y4m");
    let bytes = y4m(64, 48, 4, "");
    std::fs::write(&clip, &bytes[..bytes.len() - 100]).unwrap();
    let out = d.join("zone.y4m");
    fails_with(
        &run(&["crop", s(&clip), "--zone", "0,0,32,32", "-o", s(&out)]),
        "truncated frame 3",
        "crop truncated",
    );
    let p = run(&["probe", s(&out), "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&p.stdout).unwrap();
    assert_eq!(j["frames"], 3);
    let o = run(&["run", "--source", s(&clip), "--json"]);
    fails_with(&o, "truncated frame 3", "run truncated");
    assert_eq!(summary(&o)["frames"], 3);
    // A masked run whose very first frame is cut short leaves no file (it
    // once left a header-only one).
    let first = d.join("first.y4m");
    std::fs::write(&first, &bytes[..100]).unwrap();
    let masked = d.join("masked.y4m");
    fails_with(
        &run(&["run", "--source", s(&first), "--mask", "-o", s(&masked)]),
        "truncated frame 0",
        "mask of a truncated first frame",
    );
    assert!(!masked.exists());
    let names: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 3, "files left: {names:?}");
}

/// Deep video: the mask masks 10-bit frames (it once wrote them back
/// unmasked), the output keeps the source's header, and the analyzers
/// report sample values, not bytes.
#[test]
fn deep_video_is_masked_and_measured() {
    let d = dir("deep");
    let (w, h) = (64usize, 48usize);
    let mut clip = format!("YUV4MPEG2 W{w} H{h} F30000:1001 It A10:11 C420p10 XCOLORRANGE=FULL\n")
        .into_bytes();
    let mut luma_sum = 0u64;
    for f in 0..3usize {
        clip.extend_from_slice(b"FRAME\n");
        for y in 0..h {
            for x in 0..w {
                let v = (500 + (x * 7 + y * 3 + f) % 80) as u16;
                if f == 2 && (16..48).contains(&x) && (16..32).contains(&y) {
                    luma_sum += u64::from(v);
                }
                clip.extend_from_slice(&v.to_le_bytes());
            }
        }
        for _ in 0..2 * (w / 2) * (h / 2) {
            clip.extend_from_slice(&512u16.to_le_bytes());
        }
    }
    let src = d.join("deep.y4m");
    std::fs::write(&src, &clip).unwrap();
    let out = d.join("masked.y4m");
    let o = run(&[
        "run",
        "--source",
        s(&src),
        "--zone",
        "16,16,32,16",
        "--mask",
        "-o",
        s(&out),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j = summary(&o);
    let want = luma_sum as f64 / (32.0 * 16.0);
    let got = j["last_frame"]["mean_luma"].as_f64().unwrap();
    assert!(
        (got - want).abs() < 1e-9 && got > 500.0,
        "mean {got}, want {want}"
    );
    let masked = std::fs::read(&out).unwrap();
    let header = masked.iter().position(|&b| b == b'\n').unwrap();
    assert_eq!(
        std::str::from_utf8(&masked[..header]).unwrap(),
        "YUV4MPEG2 W64 H48 F30000:1001 It A10:11 C420p10 XCOLORRANGE=FULL"
    );
    assert_eq!(masked.len(), clip.len());
    // Inside the zone the picture is pixelated (changed, and constant over
    // each 16x16 block); outside it, untouched.
    let luma = |b: &[u8], x: usize, y: usize| {
        let at = header + 1 + 6 + 2 * (y * w + x);
        u16::from_le_bytes([b[at], b[at + 1]])
    };
    let orig_header = clip.iter().position(|&b| b == b'\n').unwrap();
    assert_eq!(orig_header, header);
    assert_ne!(luma(&masked, 20, 20), luma(&clip, 20, 20));
    assert_eq!(luma(&masked, 16, 16), luma(&masked, 31, 31));
    assert_eq!(luma(&masked, 5, 5), luma(&clip, 5, 5));
}

/// `ffmpeg:udp://` with no sender: ffmpeg waits forever, memview does not
/// (the read timeout ends the run, and the child is killed).
#[test]
fn an_ffmpeg_network_input_with_no_sender_times_out() {
    if memview_testkit::ffmpeg(&["-version"]).is_none() {
        return;
    }
    // A loopback port nobody sends to.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let src = format!("ffmpeg:udp://127.0.0.1:{port}");
    let child = Command::new(BIN)
        .args(["run", "--source", &src, "--source-timeout", "1.5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_within(child, Duration::from_secs(30), "udp with no sender");
    fails_with(&out, "stalled", "udp with no sender");
    // No ffmpeg is left listening on that port.
    let needle = format!("127.0.0.1:{port}");
    let left: Vec<_> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(&needle))
        .collect();
    assert!(left.is_empty(), "ffmpeg left running");
}
