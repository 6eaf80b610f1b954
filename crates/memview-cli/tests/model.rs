//! `memview run --model`: a tiny ONNX model made by the repository's own
//! script (scripts/make-tiny-onnx.py), a clip made by ffmpeg, and the
//! model's outputs per zone in the results file.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Without the `onnx` feature only the refusal test is built.
#![cfg_attr(not(feature = "onnx"), allow(dead_code, unused_imports))]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_memview");

fn dir(name: &str) -> PathBuf {
    memview_testkit::fresh_dir("model", name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// The one line a refused run prints, and its status.
fn refused(out: &Output) -> String {
    assert!(!out.status.success(), "the run succeeded");
    let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    err
}

#[cfg(not(feature = "onnx"))]
#[test]
fn without_onnx_support_model_is_refused() {
    let err = refused(&run(&["run", "--model", "x.onnx", "--frames", "1"]));
    assert!(err.contains("without ONNX support"), "{err}");
}

/// The script makes the model; false (after a loud skip) without the
/// `onnx` package.
#[cfg(feature = "onnx")]
fn make_model(out: &Path, size: &str) -> bool {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make-tiny-onnx.py");
    let probe = Command::new(memview_testkit::python())
        .args(["-c", "import onnx, numpy"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !probe {
        memview_testkit::skip("the onnx Python package (MEMVIEW_PYTHON)");
        return false;
    }
    let made = Command::new(memview_testkit::python())
        .arg(&script)
        .args([s(out), "--size", size])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    true
}

#[cfg(feature = "onnx")]
#[test]
fn model_outputs_land_in_the_results() {
    let d = dir("outputs");
    let model = d.join("tiny.onnx");
    if !make_model(&model, "112x112") {
        return;
    }
    let Some(clip) = memview_testkit::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=30",
        "-frames:v",
        "12",
        "-pix_fmt",
        "yuv420p",
        "-f",
        "yuv4mpegpipe",
        "-",
    ]) else {
        return;
    };
    let clip_path = d.join("clip.y4m");
    std::fs::write(&clip_path, clip).unwrap();
    let results = d.join("results.jsonl");
    let out = run(&[
        "run",
        "--source",
        s(&clip_path),
        "--frames",
        "0",
        "--zone",
        "0,0,200,200",
        "--zone",
        "300,100,250,180",
        "--zone",
        "41,207,99,120",
        "--model",
        s(&model),
        "--input-size",
        "112x112",
        "--scale",
        "1/255",
        "--fit",
        "letterbox",
        "--results",
        s(&results),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = std::fs::read_to_string(&results)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 12);
    let mut distinct = std::collections::BTreeSet::new();
    for line in &lines {
        let zones = line["zones"].as_array().unwrap();
        assert_eq!(zones.len(), 3);
        for z in zones {
            let scores = z["scores"]
                .as_array()
                .unwrap_or_else(|| panic!("no scores: {z}"));
            let features = z["features"].as_array().unwrap();
            assert_eq!((scores.len(), features.len()), (5, 8), "{z}");
            assert!(scores
                .iter()
                .chain(features)
                .all(|v| v.as_f64().is_some_and(f64::is_finite)));
            distinct.insert(scores[0].to_string());
            // The letterbox map: the zone's corner where its content starts.
            let map = z["tensor_map"].as_array().unwrap();
            assert_eq!(map.len(), 4);
        }
    }
    // Different zones (and testsrc2's moving parts) score differently.
    assert!(
        distinct.len() > 3,
        "the scores do not depend on the zones: {distinct:?}"
    );
}

#[cfg(feature = "onnx")]
#[test]
fn bad_models_are_one_line_errors() {
    let d = dir("bad");
    let junk = d.join("junk.onnx");
    std::fs::write(&junk, b"not a model").unwrap();
    let err = refused(&run(&["run", "--model", s(&junk), "--frames", "2"]));
    assert!(err.contains("cannot load"), "{err}");
    let model = d.join("tiny.onnx");
    if !make_model(&model, "112x112") {
        return;
    }
    // A model for 112x112 inputs, asked to take 64x48 ones.
    let err = refused(&run(&[
        "run",
        "--model",
        s(&model),
        "--input-size",
        "64x48",
        "--frames",
        "2",
    ]));
    assert!(
        err.contains("the model takes N x 3 x 112 x 112 tensors"),
        "{err}"
    );
    // Flags of the model without a model.
    let out = run(&["run", "--fit", "letterbox", "--frames", "1"]);
    assert!(!out.status.success());
}

/// Numbers equal within `rtol 1e-4` (tract's sums may round differently
/// on another CPU's SIMD), everything else exactly.
#[cfg(feature = "onnx")]
fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-4 * y.abs().max(1e-3)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| close(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k, a), (l, b))| k == l && close(a, b))
        }
        _ => a == b,
    }
}

/// The README's "Zones into neural networks" path: its commands, and the
/// result line it shows is what they write.
#[cfg(feature = "onnx")]
#[test]
fn the_readme_model_example_is_what_memview_writes() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    for shown in [
        "scripts/make-tiny-onnx.py tiny.onnx --size 112x112",
        "ffmpeg -f lavfi -i testsrc2=size=640x360:rate=30 -frames:v 60 -pix_fmt yuv420p clip.y4m",
        "--zone 0,0,200,200 --zone 300,100,250,180 --analyzers mean",
        "--model tiny.onnx --input-size 112x112 --scale 1/255 --fit letterbox",
    ] {
        assert!(
            readme.contains(shown),
            "the README no longer shows {shown:?}"
        );
    }
    let line = readme
        .lines()
        .find(|l| l.starts_with("{\"frame\":") && l.contains("\"scores\""))
        .expect("the README shows a result line with scores");
    let d = dir("readme");
    let model = d.join("tiny.onnx");
    if !make_model(&model, "112x112") {
        return;
    }
    let clip = d.join("clip.y4m");
    let made = Command::new("ffmpeg")
        .args([
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=30",
        ])
        .args(["-frames:v", "60", "-pix_fmt", "yuv420p", s(&clip)])
        .status();
    if !made.is_ok_and(|s| s.success()) {
        memview_testkit::skip("ffmpeg");
        return;
    }
    let results = d.join("results.jsonl");
    let out = run(&[
        "run",
        "--source",
        s(&clip),
        "--frames",
        "0",
        "--zone",
        "0,0,200,200",
        "--zone",
        "300,100,250,180",
        "--analyzers",
        "mean",
        "--model",
        s(&model),
        "--input-size",
        "112x112",
        "--scale",
        "1/255",
        "--fit",
        "letterbox",
        "--results",
        s(&results),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = std::fs::read_to_string(&results).unwrap();
    let first: Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    let shown: Value = serde_json::from_str(line).unwrap();
    assert!(
        close(&first, &shown),
        "memview wrote\n{first}\nthe README shows\n{shown}"
    );
}
