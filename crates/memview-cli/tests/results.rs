//! Issue 14 end to end: `memview run` streams results and events out,
//! takes zones from a detector and a zones file, flushes on a signal, and
//! allocates nothing per frame while it does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_memview");

fn dir(name: &str) -> PathBuf {
    memview_testkit::fresh_dir("results", name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn summary(text: &[u8]) -> Value {
    let text = std::str::from_utf8(text).unwrap();
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

fn lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn results_and_events_stream_out_and_allocate_nothing() {
    let d = dir("stream");
    let (r, e) = (d.join("r.jsonl"), d.join("e.jsonl"));
    let out = run(&[
        "run",
        "--size",
        "640x360",
        "--frames",
        "300",
        "--analyzers",
        "mean,histogram,motion,edges,colour",
        "--results",
        s(&r),
        "--events",
        s(&e),
        "--sink-policy",
        "block",
        "--json",
    ]);
    ok(&out);
    let j = summary(&out.stdout);
    // The pipeline threads and the writer thread, once warm.
    assert_eq!(j["allocations_per_frame"], 0.0, "{j}");
    assert_eq!(j["writer_allocations_per_frame"], 0.0, "{j}");
    assert_eq!(j["result_records_dropped"], 0, "{j}");
    assert_eq!(j["result_records_written"], 300, "{j}");
    let results = lines(&r);
    assert_eq!(results.len(), 300);
    for (f, line) in results.iter().enumerate() {
        assert_eq!(line["frame"], f as u64);
        let zones = line["zones"].as_array().unwrap();
        assert_eq!(zones.len(), 10);
        for (i, z) in zones.iter().enumerate() {
            assert_eq!(z["id"], format!("zone{i}"));
            assert_eq!(z["histogram"].as_array().unwrap().len(), 256);
            for k in ["mean", "variance", "motion", "edges", "colour_u"] {
                assert!(z[k].is_number(), "{k} in {z}");
            }
        }
    }
    // The summary's last-frame figures are the last line's.
    let last = &results[299]["zones"];
    let mean: f64 = (0..10)
        .map(|i| last[i]["mean"].as_f64().unwrap())
        .sum::<f64>()
        / 10.0;
    assert!((mean - j["last_frame"]["mean_luma"].as_f64().unwrap()).abs() < 1e-9);
    let motion: u64 = (0..10).map(|i| last[i]["motion"].as_u64().unwrap()).sum();
    assert_eq!(j["last_frame"]["motion_sad"], motion);
    // The boxes move from the start: every zone starts once, and the run
    // ends every episode.
    let events = lines(&e);
    assert_eq!(j["events"], events.len() as u64);
    let starts = events
        .iter()
        .filter(|v| v["event"] == "motion_start")
        .count();
    let ends = events.iter().filter(|v| v["event"] == "motion_end").count();
    assert!(
        starts >= 1 && starts == ends,
        "{starts} starts, {ends} ends"
    );
}

/// The README's quick start: its example lines are what the command it
/// shows writes, byte for byte (the synthetic source is deterministic).
#[test]
fn the_readme_examples_are_what_memview_writes() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let pick = |prefix: &str| -> String {
        readme
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("the README has no line starting {prefix}"))
            .to_owned()
    };
    let result_line = pick("{\"frame\":");
    let event_line = pick("{\"event\":");
    let command = pick("cargo run --release -p memview-cli -- run --size 640x360 --zones 2");
    let args: Vec<&str> = command
        .split_whitespace()
        .skip_while(|a| *a != "--")
        .skip(1)
        .collect();
    let d = dir("readme");
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            if a.ends_with(".jsonl") {
                s(&d.join(a)).to_owned()
            } else {
                (*a).to_owned()
            }
        })
        .collect();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&argv);
    ok(&out);
    let results = std::fs::read_to_string(d.join("results.jsonl")).unwrap();
    assert_eq!(results.lines().next(), Some(result_line.as_str()));
    let events = std::fs::read_to_string(d.join("events.jsonl")).unwrap();
    assert_eq!(events.lines().next(), Some(event_line.as_str()));
    serde_json::from_str::<Value>(&result_line).unwrap();
    serde_json::from_str::<Value>(&event_line).unwrap();
}

/// Zones from a detector writing into a pipe: they appear, move and
/// vanish with its lines; a frame without a line keeps the last zones.
#[test]
fn detections_feed_zones_through_a_pipe() {
    let d = dir("detect");
    let r = d.join("r.jsonl");
    let mut child = Command::new(BIN)
        .args([
            "run",
            "--size",
            "320x240",
            "--frames",
            "8",
            "--analyzers",
            "mean",
            "--detections",
            "-",
            "--results",
            s(&r),
            "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let script = [
        r#"{"frame": 0, "zones": [{"id": "face-3", "rect": [10, 10, 40, 40]}]}"#,
        r#"{"frame": 3, "zones": [{"id": "face-3", "rect": [20, 10, 40, 40]}, {"id": "plate-1", "name": "plate", "rect": [300, 200, 64, 64]}]}"#,
        r#"{"frame": 6, "zones": [{"id": "plate-1", "rect": [0, 0, 16, 16]}]}"#,
    ];
    for line in script {
        writeln!(stdin, "{line}").unwrap();
        // A detector writes as it goes.
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    ok(&out);
    let got: Vec<Vec<(String, String, Value)>> = lines(&r)
        .iter()
        .map(|l| {
            l["zones"]
                .as_array()
                .unwrap()
                .iter()
                .map(|z| {
                    (
                        z["id"].as_str().unwrap().to_owned(),
                        z["name"].as_str().unwrap().to_owned(),
                        z["rect"].clone(),
                    )
                })
                .collect()
        })
        .collect();
    let face = |x: u64| {
        (
            "face-3".to_owned(),
            "face-3".to_owned(),
            serde_json::json!([x, 10, 40, 40]),
        )
    };
    // The plate ran off the frame's corner: clamped to it.
    let plate = |r: Value| ("plate-1".to_owned(), "plate".to_owned(), r);
    let clamped = serde_json::json!([300, 200, 20, 40]);
    assert_eq!(got.len(), 8);
    for (f, zones) in got.iter().enumerate() {
        let want = match f {
            0..3 => vec![face(10)],
            3..6 => vec![face(20), plate(clamped.clone())],
            _ => vec![plate(serde_json::json!([0, 0, 16, 16]))],
        };
        assert_eq!(*zones, want, "frame {f}");
    }
}

#[test]
fn bad_detections_and_zone_files_are_one_line_errors() {
    let d = dir("bad");
    let det = d.join("det.jsonl");
    std::fs::write(
        &det,
        "{\"frame\": 0, \"zones\": []}\n{\"frame\": 1, \"zones\": [{\"id\": \"a\", \"rect\": [1, 2]}]}\n",
    )
    .unwrap();
    let zt = d.join("zones.toml");
    std::fs::write(&zt, "[[zone]]\nid = \"door\"\nrect = [0, 0, 4000, 10]\n").unwrap();
    let zj = d.join("zones.json");
    std::fs::write(&zj, "{\"zones\": [{\"id\": \"door\", \"rect\": [0, 0]}]}").unwrap();
    let det_s = format!("--detections={}", s(&det));
    for (args, want) in [
        (
            vec!["run", "--size", "320x240", &det_s],
            "detections line 2: zone \"a\": rect must be",
        ),
        (
            vec!["run", "--size", "320x240", "--zones-file", s(&zt)],
            "zone \"door\": zone 0,0,4000,10 leaves the 320x240 frame",
        ),
        (vec!["run", "--zones-file", s(&zj)], "rect must be"),
        (
            vec!["run", "--results", "-", "--events", "-"],
            "both write to stdout",
        ),
        (
            vec!["run", "--source", "-", "--detections", "-"],
            "both read stdin",
        ),
        (
            vec!["run", "--results", "x.jsonl", "--results-arrays", "a.csv"],
            "--results-format csv",
        ),
        (vec!["run", "--results", s(&d)], "is a directory"),
        (
            vec!["run", "--events", "e.jsonl", "--motion-threshold=-1"],
            "--motion-threshold",
        ),
        (
            vec!["run", "--detections", "/nonexistent/det.jsonl"],
            "--detections /nonexistent",
        ),
    ] {
        let out = run(&args);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn named_zones_from_a_toml_file_and_csv_results() {
    let d = dir("csv");
    let zt = d.join("zones.toml");
    std::fs::write(
        &zt,
        "[[zone]]\nid = \"door\"\nname = \"front, door\"\nrect = [0, 0, 64, 48]\n\n[[zone]]\nid = \"till\"\nrect = [100, 20, 30, 30]\n",
    )
    .unwrap();
    let (r, a) = (d.join("r.csv"), d.join("h.csv"));
    let out = run(&[
        "run",
        "--size",
        "320x240",
        "--frames",
        "5",
        "--zones-file",
        s(&zt),
        "--results",
        s(&r),
        "--results-format",
        "csv",
        "--results-arrays",
        s(&a),
    ]);
    ok(&out);
    let text = std::fs::read_to_string(&r).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(
        rows[0],
        "frame,pts,zone_id,zone_name,x,y,w,h,error,mean,variance,motion,motion_per_pixel"
    );
    assert_eq!(rows.len(), 1 + 5 * 2);
    assert!(
        rows[1].starts_with("0,0.0,door,\"front, door\",0,0,64,48,,"),
        "{}",
        rows[1]
    );
    assert!(
        rows[2].starts_with("0,0.0,till,till,100,20,30,30,,"),
        "{}",
        rows[2]
    );
    let hist = std::fs::read_to_string(&a).unwrap();
    let hrows: Vec<&str> = hist.lines().collect();
    assert_eq!(hrows.len(), 1 + 5 * 2);
    let counts: u64 = hrows[1]
        .split(',')
        .skip(3)
        .map(|v| v.parse::<u64>().unwrap())
        .sum();
    assert_eq!(counts, 64 * 48, "the door's histogram counts its pixels");
}

/// SIGINT and SIGTERM end a run with results and events flushed: every
/// frame analysed is in the results, each line whole.
#[test]
fn a_signal_flushes_the_results() {
    let d = dir("signal");
    for (sig, code) in [("-INT", 130), ("-TERM", 143)] {
        let (r, e) = (
            d.join(format!("r{code}.jsonl")),
            d.join(format!("e{code}.jsonl")),
        );
        let child = Command::new(BIN)
            .args([
                "run",
                "--realtime",
                "--frames",
                "0",
                "--size",
                "320x240",
                "--results",
                s(&r),
                "--events",
                s(&e),
                "--sink-policy",
                "block",
                "--json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let pid = child.id();
        Command::new("sh")
            .args(["-c", &format!("kill {sig} {pid}")])
            .status()
            .unwrap();
        let start = Instant::now();
        let out = child.wait_with_output().unwrap();
        assert!(start.elapsed() < Duration::from_secs(20));
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j = summary(&out.stdout);
        let frames = j["frames"].as_u64().unwrap();
        assert!(frames > 10, "{j}");
        let results = lines(&r);
        assert_eq!(results.len() as u64, frames, "{j}");
        assert_eq!(j["result_records_written"], frames);
        // Episodes in progress were ended by the stream's end.
        let events = lines(&e);
        let starts = events
            .iter()
            .filter(|v| v["event"] == "motion_start")
            .count();
        let ends = events.iter().filter(|v| v["event"] == "motion_end").count();
        assert_eq!(starts, ends, "{events:?}");
    }
}

/// Results on stdout move the summary to stderr; a reader that goes away
/// (`| head -1`) ends the run quietly.
#[test]
fn results_on_stdout_and_a_reader_that_leaves() {
    let out = run(&[
        "run",
        "--size",
        "320x240",
        "--frames",
        "4",
        "--results",
        "-",
        "--json",
    ]);
    ok(&out);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 4);
    for l in stdout.lines() {
        assert!(serde_json::from_str::<Value>(l).unwrap()["zones"].is_array());
    }
    let j = summary(&out.stderr);
    assert_eq!(j["frames"], 4);
    let out = Command::new("sh")
        .args([
            "-c",
            &format!("{BIN} run --size 320x240 --frames 0 --results - | head -1"),
        ])
        .output()
        .unwrap();
    ok(&out);
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("memview:"), "{err}");
}
