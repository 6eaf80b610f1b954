//! Several streams in one run (issue 17): repeated `--source`s and
//! `--config` cameras give each stream what a run of it alone gives; a
//! stream that stalls ends alone while the others keep their frame rate;
//! a live stream whose ffmpeg is killed and whose sender goes away
//! reconnects, announced by `stream_down`/`stream_up` events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use memview_testkit::{children, mkfifo, signal, wait_within};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_memview");

fn dir(name: &str) -> PathBuf {
    memview_testkit::fresh_dir("streams", name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs memview to success. Runs that write results or events write every
/// record (`--sink-policy block`): these tests compare whole outputs, and
/// a writer that falls behind a fast run would drop some, counted.
fn run(args: &[&str]) -> Output {
    let outputs = args
        .iter()
        .any(|a| matches!(*a, "--results" | "--events" | "--config"));
    let mut c = Command::new(BIN);
    c.args(args);
    if outputs {
        c.args(["--sink-policy", "block"]);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn summary(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The lines of a shared output, split by their `stream` member (which
/// is taken out).
fn by_stream(p: &Path) -> BTreeMap<String, Vec<Value>> {
    let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for mut v in lines(p) {
        let name = v
            .as_object_mut()
            .unwrap()
            .remove("stream")
            .unwrap_or_else(|| panic!("a line without a stream: {v}"));
        m.entry(name.as_str().unwrap().to_owned())
            .or_default()
            .push(v);
    }
    m
}

/// A test Y4M file made by ffmpeg (moving content).
fn testsrc(path: &Path, size: &str, frames: u32) -> bool {
    let lavfi = format!("testsrc2=size={size}:rate=30");
    let n = frames.to_string();
    let args = [
        "-y",
        "-f",
        "lavfi",
        "-i",
        &lavfi,
        "-frames:v",
        &n,
        "-pix_fmt",
        "yuv420p",
        s(path),
    ];
    if memview_testkit::ffmpeg(&["-version"]).is_none() {
        memview_testkit::skip("ffmpeg");
        return false;
    }
    memview_testkit::ffmpeg(&args).is_some()
}

/// Each stream of a run with several gives exactly the records and events
/// a run of that source alone gives.
#[test]
fn each_stream_equals_its_own_run() {
    let d = dir("equal");
    let file = d.join("clip.y4m");
    if !testsrc(&file, "320x240", 40) {
        return;
    }
    let (res, ev) = (d.join("all.jsonl"), d.join("events.jsonl"));
    let sources = ["synthetic", s(&file)];
    let mut args = vec!["run", "--frames", "50", "--json"];
    for src in &sources {
        args.extend(["--source", src]);
    }
    args.extend(["--results", s(&res), "--events", s(&ev)]);
    let j = summary(&run(&args));
    assert_eq!(j["streams"].as_array().unwrap().len(), 2, "{j}");
    assert_eq!(j["frames"], 90, "{j}");
    let (all, events) = (by_stream(&res), by_stream(&ev));
    for (i, src) in sources.iter().enumerate() {
        let (r1, e1) = (
            d.join(format!("one{i}.jsonl")),
            d.join(format!("ev{i}.jsonl")),
        );
        run(&[
            "run",
            "--frames",
            "50",
            "--source",
            src,
            "--results",
            s(&r1),
            "--events",
            s(&e1),
        ]);
        let name = format!("stream{i}");
        assert_eq!(all[&name], lines(&r1), "{src}: results");
        assert_eq!(
            events.get(&name).cloned().unwrap_or_default(),
            lines(&e1),
            "{src}: events"
        );
        assert!(!lines(&e1).is_empty(), "{src}: no events to compare");
    }
}

/// Eight synthetic streams of different sizes at once.
#[test]
fn eight_streams_share_one_pool() {
    let d = dir("eight");
    let cfg = d.join("cams.toml");
    let mut text = format!("frames = 30\nresults = \"{}\"\n", s(&d.join("all.jsonl")));
    for i in 0..8 {
        let w = 320 + 64 * i;
        text += &format!(
            "[[camera]]\nname = \"cam{i}\"\nsource = \"synthetic\"\nsize = \"{w}x240\"\nzones = {}\n",
            i + 1
        );
    }
    std::fs::write(&cfg, text).unwrap();
    let j = summary(&run(&["run", "--config", s(&cfg), "--json"]));
    let streams = j["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 8);
    let all = by_stream(&d.join("all.jsonl"));
    for (i, st) in streams.iter().enumerate() {
        let name = format!("cam{i}");
        assert_eq!(st["name"], name.as_str());
        assert_eq!(st["frames"], 30, "{st}");
        assert_eq!(st["zones"], i + 1, "{st}");
        let w = 320 + 64 * i;
        let one = d.join(format!("{name}.jsonl"));
        let z = (i + 1).to_string();
        run(&[
            "run",
            "--frames",
            "30",
            "--size",
            &format!("{w}x240"),
            "--zones",
            &z,
            "--results",
            s(&one),
        ]);
        assert_eq!(all[&name], lines(&one), "{name}");
    }
}

/// A config's per-camera outputs, analyzers and zones; and its mistakes
/// are one-line errors naming the file.
#[test]
fn config_cameras_and_their_errors() {
    let d = dir("config");
    let file = d.join("clip.y4m");
    if !testsrc(&file, "320x240", 20) {
        return;
    }
    let door = d.join("door.jsonl");
    let cfg = d.join("cams.toml");
    std::fs::write(
        &cfg,
        format!(
            "frames = 0\n[[camera]]\nname = \"door\"\nsource = \"{}\"\nzone = [\"0,0,64,64\", \"100,50,32,32\"]\nanalyzers = \"mean,motion\"\nresults = \"{}\"\n\
             [[camera]]\nname = \"lavfi\"\nsource = \"ffmpeg:testsrc2=size=160x120:rate=30:duration=1\"\nffmpeg_input = \"-f lavfi\"\nzones = 2\n",
            s(&file),
            s(&door)
        ),
    )
    .unwrap();
    let j = summary(&run(&["run", "--config", s(&cfg), "--json"]));
    assert_eq!(j["streams"][0]["frames"], 20, "{j}");
    assert_eq!(j["streams"][1]["frames"], 30, "{j}");
    let one = d.join("one.jsonl");
    run(&[
        "run",
        "--frames",
        "0",
        "--source",
        s(&file),
        "--zone",
        "0,0,64,64",
        "--zone",
        "100,50,32,32",
        "--analyzers",
        "mean,motion",
        "--results",
        s(&one),
    ]);
    assert_eq!(lines(&door), lines(&one));
    for (text, cause) in [
        ("[[camera]]\nname = \"a\"\nsorce = \"synthetic\"\n", "unknown field `sorce`"),
        ("[[camera]]\nname = \"a/b\"\nsource = \"synthetic\"\n", "camera name \"a/b\""),
        (
            "[[camera]]\nname = \"a\"\nsource = \"synthetic\"\n[[camera]]\nname = \"a\"\nsource = \"synthetic\"\n",
            "two cameras are named \"a\"",
        ),
        ("threads = 2\n", "no [[camera]]"),
        ("[[camera]]\nname = \"a\"\nsource = \"synthetic\"\nzone = [\"0,0,0,5\"]\n", "empty zone"),
        ("[[camera]]\nname = \"a\"\nsource = \"/nonexistent.y4m\"\n", "a: opening /nonexistent.y4m"),
    ] {
        std::fs::write(&cfg, text).unwrap();
        let out = Command::new(BIN).args(["run", "--config", s(&cfg)]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{text}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(cause), "{err:?} does not say {cause:?}");
    }
}

/// A FIFO whose writer stops after three frames stalls its stream, which
/// ends with the error; the paced synthetic stream beside it keeps its 60
/// frames/s to the end, and the run fails naming the stalled stream.
#[test]
fn a_stalled_stream_ends_alone() {
    let d = dir("stall");
    let fifo = d.join("in.fifo");
    if !mkfifo(&fifo) {
        return;
    }
    let cfg = d.join("cams.toml");
    std::fs::write(
        &cfg,
        format!(
            "frames = 150\n[[camera]]\nname = \"fifo\"\nsource = \"{}\"\n\
             [[camera]]\nname = \"paced\"\nsource = \"synthetic\"\nrealtime = true\nzones = 4\n",
            s(&fifo)
        ),
    )
    .unwrap();
    let child = Command::new(BIN)
        .args([
            "run",
            "--json",
            "--source-timeout",
            "1",
            "--config",
            s(&cfg),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    let mut frames = b"YUV4MPEG2 W64 H48 F30:1 C420jpeg\n".to_vec();
    for i in 0..3u8 {
        frames.extend_from_slice(b"FRAME\n");
        frames.extend(std::iter::repeat_n(i * 40, 64 * 48 * 3 / 2));
    }
    w.write_all(&frames).unwrap();
    let out = wait_within(child, Duration::from_secs(30), "a stalled stream");
    drop(w);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("fifo: the source stalled"), "{err}");
    let j = summary(&out);
    let (stalled, paced) = (&j["streams"][0], &j["streams"][1]);
    assert_eq!(stalled["frames"], 3, "{j}");
    assert!(
        stalled["error"].as_str().unwrap().contains("stalled"),
        "{j}"
    );
    assert_eq!(paced["frames"], 150, "{j}");
    assert_eq!(paced["error"], Value::Null, "{j}");
    assert_eq!(paced["dropped"], 0, "{j}");
    let fps = paced["fps"].as_f64().unwrap();
    assert!(
        (50.0..70.0).contains(&fps),
        "the paced stream ran at {fps} frames/s"
    );
}

/// ffmpeg serving MPEG-TS on a loopback TCP port, one client at a time,
/// as a network camera would.
fn serve(port: u16) -> Child {
    Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=30",
            "-f",
            "mpegts",
            &format!("tcp://127.0.0.1:{port}?listen=1"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `p` has a line for which `f` holds, at most `limit`.
fn wait_line(p: &Path, limit: Duration, what: &str, f: impl Fn(&Value) -> bool) {
    let t = Instant::now();
    loop {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        if text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|v| f(&v))
        {
            return;
        }
        assert!(t.elapsed() < limit, "{what}: not within {limit:?}:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A live TCP stream beside a paced synthetic one: memview's ffmpeg is
/// SIGKILLed (the server then goes too), the server is restarted, and the
/// stream reconnects; the events say so, the summary counts it, and the
/// synthetic stream never stops.
#[test]
fn a_killed_live_stream_reconnects_while_the_others_run() {
    if memview_testkit::ffmpeg(&["-version"]).is_none() {
        memview_testkit::skip("ffmpeg");
        return;
    }
    let d = dir("reconnect");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = serve(port);
    std::thread::sleep(Duration::from_millis(300));
    let (cfg, ev, res) = (
        d.join("cams.toml"),
        d.join("events.jsonl"),
        d.join("all.jsonl"),
    );
    std::fs::write(
        &cfg,
        format!(
            "frames = 0\nresults = \"{}\"\nevents = \"{}\"\n\
             [[camera]]\nname = \"gate\"\nsource = \"ffmpeg:tcp://127.0.0.1:{port}\"\nffmpeg_input = \"-probesize 32 -analyzeduration 0\"\nzones = 2\n\
             [[camera]]\nname = \"yard\"\nsource = \"synthetic\"\nsize = \"640x360\"\nrealtime = true\nzones = 3\n",
            s(&res),
            s(&ev)
        ),
    )
    .unwrap();
    let child = Command::new(BIN)
        .args(["run", "--json", "--config", s(&cfg)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let gate_frames = |n: u64| {
        move |v: &Value| v["stream"] == "gate" && v["frame"].as_u64().is_some_and(|f| f >= n)
    };
    wait_line(
        &res,
        Duration::from_secs(20),
        "gate's first frames",
        gate_frames(20),
    );
    let kids = children(pid, "ffmpeg");
    assert_eq!(kids.len(), 1, "ffmpeg children of {pid}: {kids:?}");
    signal(kids[0], "-9");
    wait_line(&ev, Duration::from_secs(10), "stream_down", |v| {
        v["event"] == "stream_down" && v["stream"] == "gate"
    });
    // The one-client server ends with its client; a new one takes its port.
    let _ = server.wait();
    let mut server = serve(port);
    wait_line(&ev, Duration::from_secs(30), "stream_up", |v| {
        v["event"] == "stream_up" && v["stream"] == "gate"
    });
    let seen = lines(&res).iter().filter(|v| v["stream"] == "gate").count() as u64;
    wait_line(
        &res,
        Duration::from_secs(20),
        "gate's frames after it came back",
        gate_frames(seen + 10),
    );
    signal(pid, "-INT");
    let out = wait_within(child, Duration::from_secs(20), "the interrupted run");
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = summary(&out);
    let (gate, yard) = (&j["streams"][0], &j["streams"][1]);
    assert_eq!(gate["reconnects"], 1, "{j}");
    assert_eq!(gate["error"], Value::Null, "{j}");
    assert_eq!(yard["reconnects"], Value::Null, "{j}");
    let fps = yard["fps"].as_f64().unwrap();
    assert!(
        (50.0..70.0).contains(&fps),
        "the paced stream ran at {fps} frames/s"
    );
    let down: Vec<Value> = lines(&ev)
        .into_iter()
        .filter(|v| v["event"] == "stream_down")
        .collect();
    assert_eq!(down.len(), 1, "{down:?}");
    assert!(
        down[0]["reason"].as_str().unwrap().contains("signal: 9"),
        "{}",
        down[0]
    );
    // Frame numbers go on across the outage.
    let gate_seqs: Vec<u64> = lines(&res)
        .iter()
        .filter(|v| v["stream"] == "gate")
        .map(|v| v["frame"].as_u64().unwrap())
        .collect();
    assert!(
        gate_seqs.windows(2).all(|w| w[1] > w[0]),
        "frame numbers went back"
    );
}

/// Whether a program is on the PATH (skipped loudly where it is not).
fn have(program: &str) -> bool {
    let ok = Command::new(program)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        memview_testkit::skip(program);
    }
    ok
}

/// A mosquitto broker on a loopback port, killed when dropped.
struct Broker {
    child: Child,
    port: u16,
    conf: PathBuf,
}

impl Broker {
    fn start(d: &Path, port: Option<u16>) -> Broker {
        let port = port.unwrap_or_else(|| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        });
        let conf = d.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\n"),
        )
        .unwrap();
        let child = Command::new("mosquitto")
            .args(["-c", s(&conf)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "mosquitto did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Broker { child, port, conf }
    }

    /// A subscriber to `memview/#` writing `topic payload` lines to `out`,
    /// started once it receives a probe message (the caller kills and
    /// reaps it).
    #[allow(clippy::zombie_processes)]
    fn subscribe(&self, out: &Path) -> Child {
        let f = std::fs::File::create(out).unwrap();
        let port = self.port.to_string();
        let mut sub = Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-t",
                "memview/#",
                "-v",
                "-q",
                "1",
            ])
            .stdout(f)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        loop {
            let _ = Command::new("mosquitto_pub")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-t",
                    "memview/probe",
                    "-m",
                    "{}",
                ])
                .status();
            if std::fs::read_to_string(out)
                .unwrap_or_default()
                .contains("memview/probe")
            {
                return sub;
            }
            if t.elapsed() > Duration::from_secs(10) {
                let _ = sub.kill();
                let _ = sub.wait();
                panic!("the subscriber did not start");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self, topic: &str) -> String {
        format!("mqtt://127.0.0.1:{}/{topic}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.conf;
    }
}

/// The messages a subscriber got, by topic (the probe left out).
fn messages(p: &Path) -> BTreeMap<String, Vec<Value>> {
    let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in std::fs::read_to_string(p).unwrap().lines() {
        let (topic, payload) = line.split_once(' ').unwrap();
        if topic != "memview/probe" {
            m.entry(topic.to_owned())
                .or_default()
                .push(serde_json::from_str(payload).unwrap());
        }
    }
    m
}

/// Waits until the subscriber's file has `n` messages besides the probe.
fn wait_messages(p: &Path, n: usize) {
    let t = Instant::now();
    while messages(p).values().map(Vec::len).sum::<usize>() < n {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{n} messages did not arrive"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Two streams publishing to a real broker: every result arrives on its
/// stream's topic equal to the JSON line a file gets, and every motion
/// episode arrives as Frigate's `new` and `end` (with `update`s between).
#[test]
fn every_result_and_event_reaches_a_real_broker() {
    if !have("mosquitto") || !have("mosquitto_sub") {
        return;
    }
    let d = dir("mqtt");
    let broker = Broker::start(&d, None);
    let got = d.join("sub.txt");
    let mut sub = broker.subscribe(&got);
    let cfg = d.join("cams.toml");
    let cams = "[[camera]]\nname = \"front\"\nsource = \"synthetic\"\nsize = \"640x360\"\nzones = 6\n\
                [[camera]]\nname = \"back\"\nsource = \"synthetic\"\nsize = \"320x240\"\nzones = 3\n";
    std::fs::write(&cfg, cams).unwrap();
    let j = summary(&run(&[
        "run",
        "--json",
        "--frames",
        "120",
        "--config",
        s(&cfg),
        "--results",
        &broker.url("memview/results"),
        "--events",
        &broker.url("memview/events"),
    ]));
    let m = &j["mqtt"];
    assert_eq!(m["results"]["published"], 240, "{j}");
    assert_eq!(m["results"]["dropped"], 0, "{j}");
    let (res, ev) = (d.join("all.jsonl"), d.join("events.jsonl"));
    run(&[
        "run",
        "--frames",
        "120",
        "--config",
        s(&cfg),
        "--results",
        s(&res),
        "--events",
        s(&ev),
    ]);
    let (files, events) = (by_stream(&res), by_stream(&ev));
    let sent = m["events"]["published"].as_u64().unwrap() as usize;
    wait_messages(&got, 240 + sent);
    let _ = sub.kill();
    let _ = sub.wait();
    let got = messages(&got);
    for name in ["front", "back"] {
        let mut results = got[&format!("memview/results/{name}")].clone();
        for v in &mut results {
            assert_eq!(v.as_object_mut().unwrap().remove("stream").unwrap(), name);
        }
        assert_eq!(results, files[name], "{name}: results");
        let episodes = &got[&format!("memview/events/{name}")];
        let kinds = |k: &str| {
            episodes
                .iter()
                .filter(|e| e["type"] == k)
                .collect::<Vec<_>>()
        };
        let lines = &events[name];
        let starts: Vec<&Value> = lines
            .iter()
            .filter(|e| e["event"] == "motion_start")
            .collect();
        let ends: Vec<&Value> = lines
            .iter()
            .filter(|e| e["event"] == "motion_end")
            .collect();
        assert!(!starts.is_empty(), "{name}: no motion to compare");
        let (new, end) = (kinds("new"), kinds("end"));
        assert_eq!(new.len(), starts.len(), "{name}: new");
        assert_eq!(end.len(), ends.len(), "{name}: end");
        for (n, s) in new.iter().zip(&starts) {
            assert_eq!(n["after"]["zone"], s["zone"]["id"]);
            assert_eq!(n["after"]["start_frame"], s["frame"]);
            assert_eq!(n["after"]["camera"], name);
            assert_eq!(n["after"]["label"], "motion");
            assert_eq!(n["before"], n["after"]);
            assert_eq!(n["after"]["active"], true);
        }
        for (e, l) in end.iter().zip(&ends) {
            assert_eq!(e["after"]["zone"], l["zone"]["id"]);
            assert_eq!(e["after"]["active"], false);
            assert!(
                e["after"]["end_time"].as_f64().unwrap()
                    >= e["after"]["start_time"].as_f64().unwrap()
            );
            assert_eq!(
                e["after"]["top_score"].as_f64().unwrap(),
                l["peak"]
                    .as_f64()
                    .unwrap()
                    .max(e["before"]["top_score"].as_f64().unwrap())
            );
        }
        for u in kinds("update") {
            assert!(
                u["after"]["top_score"].as_f64() > u["before"]["top_score"].as_f64(),
                "{u}"
            );
        }
        assert_eq!(
            new.len() + end.len() + kinds("update").len(),
            episodes.len()
        );
    }
}

/// The broker killed in the middle of a paced run and started again: the
/// run keeps its frame rate, messages that found the small queue full are
/// dropped and counted, and the client reconnects and publishes again.
#[test]
fn a_broker_that_goes_away_costs_counted_drops_not_a_stall() {
    if !have("mosquitto") || !have("mosquitto_sub") {
        return;
    }
    let d = dir("mqtt-down");
    let broker = Broker::start(&d, None);
    let port = broker.port;
    let url = broker.url("memview/results");
    let child = Command::new(BIN)
        .args([
            "run",
            "--json",
            "--realtime",
            "--frames",
            "300",
            "--zones",
            "4",
            "--mqtt-queue",
            "8",
            "--results",
            &url,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    drop(broker);
    std::thread::sleep(Duration::from_millis(1500));
    let broker = Broker::start(&d, Some(port));
    let got = d.join("after.txt");
    let mut sub = broker.subscribe(&got);
    let out = wait_within(
        child,
        Duration::from_secs(30),
        "a run whose broker went away",
    );
    let _ = sub.kill();
    let _ = sub.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = summary(&out);
    assert_eq!(j["frames"], 300, "{j}");
    let fps = j["fps"].as_f64().unwrap();
    assert!(
        (50.0..70.0).contains(&fps),
        "the paced run went at {fps} frames/s"
    );
    let r = &j["mqtt"]["results"];
    assert!(r["connects"].as_u64().unwrap() >= 2, "{j}");
    assert!(r["dropped"].as_u64().unwrap() >= 1, "{j}");
    assert_eq!(j["result_records_written"], 300, "{j}");
    // Frames published after the broker came back reached the subscriber.
    let after = messages(&got);
    let frames: Vec<u64> = after
        .get("memview/results")
        .map(|v| v.iter().map(|m| m["frame"].as_u64().unwrap()).collect())
        .unwrap_or_default();
    assert!(frames.last().is_some_and(|&f| f >= 250), "{frames:?}");
}

/// `run` maps a regular file: its results equal a read run's (`--no-mmap`), and
/// a file truncated in the middle of a paced mapped run
/// ends it with a one-line error after the frames before the cut, with no
/// SIGBUS.
#[test]
fn a_mapped_run_equals_a_read_run_and_survives_truncation() {
    let d = dir("mmap");
    let file = d.join("clip.y4m");
    if !testsrc(&file, "320x240", 90) {
        return;
    }
    let (a, b) = (d.join("mapped.jsonl"), d.join("read.jsonl"));
    run(&[
        "run",
        "--frames",
        "0",
        "--source",
        s(&file),
        "--results",
        s(&a),
    ]);
    run(&[
        "run",
        "--frames",
        "0",
        "--source",
        s(&file),
        "--no-mmap",
        "--results",
        s(&b),
    ]);
    assert_eq!(lines(&a).len(), 90);
    assert_eq!(lines(&a), lines(&b));
    // Paced at 30 frames/s, the file is cut to 10 frames after a second.
    let frame = 320 * 240 * 3 / 2 + "FRAME\n".len();
    let header = std::fs::read(&file)
        .unwrap()
        .iter()
        .position(|&c| c == b'\n')
        .unwrap()
        + 1;
    let child = Command::new(BIN)
        .args([
            "run",
            "--json",
            "--realtime",
            "--frames",
            "0",
            "--source",
            s(&file),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len((header + 10 * frame) as u64)
        .unwrap();
    let out = wait_within(child, Duration::from_secs(20), "a truncated mapped file");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("the file was cut to"), "{err}");
    let j = summary(&out);
    let n = j["frames"].as_u64().unwrap();
    assert!((10..=40).contains(&n), "{j}");
}
