//! `memview fmt` end to end: the JSON Lines batch protocol.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

/// The answers, whether the run succeeded, and its stderr.
fn batch(dialect: &str, input: &str) -> (Vec<serde_json::Value>, bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_memview"))
        .args(["fmt", "--json", "--batch", "--dialect", dialect])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        lines,
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn batch_answers_every_line_in_order() {
    let (out, ok, err) = batch(
        "struct",
        "\"lc0l\"\n\"2 h\"\n\"h\\u0000\"\n42\nnot json\n\"\\u00e9\"\n",
    );
    // Every line is answered; five failed, and the status and one line on
    // stderr say so (issue 13: it once exited 0 silently).
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "memview fmt: 5 of 6 input lines are not valid formats"
    );
    assert_eq!(out.len(), 6);
    assert_eq!(
        out[0],
        serde_json::json!({"format": "lc0l", "size": 16, "align": 8, "items": 2})
    );
    assert_eq!(out[1]["error"]["kind"], "bad-char");
    assert_eq!(out[1]["error"]["offset"], 1);
    assert_eq!(out[1]["error"]["message"], "bad char in struct format");
    assert_eq!(out[2]["error"]["kind"], "nul-byte");
    assert_eq!(out[3]["error"]["kind"], "bad-input");
    assert_eq!(out[4]["error"]["kind"], "bad-input");
    assert_eq!(out[5]["error"]["kind"], "bad-char");
}

#[test]
fn pep3118_dialect_and_exit_status() {
    let (out, ok, _) = batch("pep3118", "\"T{<i:x:<d:y:}\"\n\"T{i\"\n");
    assert!(!ok);
    let (good, ok, err) = batch("pep3118", "\"T{<i:x:<d:y:}\"\n\"<hH\"\n");
    assert!(ok && err.is_empty() && good.len() == 2, "{err}");
    assert_eq!(out[0]["size"], 12);
    assert_eq!(out[1]["error"]["kind"], "unbalanced-brace");
    let status = Command::new(env!("CARGO_BIN_EXE_memview"))
        .args(["fmt", "3"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(
        !status.success(),
        "an invalid format on the command line fails"
    );
}
