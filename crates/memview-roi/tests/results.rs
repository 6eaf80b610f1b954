//! Issue 14: the built-ins on recorded frames, a user analyzer through
//! the runner and the sinks, JSON Lines and CSV against the runner's
//! results, motion events, a slow sink, detections and zone files.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use memview_capture::{BufferPool, FrameLease};
use memview_pixel::format::{GRAY8, I420, NV12};
use memview_pixel::{FrameLayout, PixelFormat, Rect};
use memview_roi::analyzers::ColourOut;
use memview_roi::detections::{parse_zones_file, Detections};
use memview_roi::events::{EventKind, MotionEvents, MotionOptions};
use memview_roi::record::FrameRecord;
use memview_roi::sink::{
    Csv, EventLines, JsonLines, ResultWriter, Sink, SinkPolicy, WriterOptions,
};
use memview_roi::{Analyzer, Fields, Output, RoiRunner, Zone, ZoneInput};
use serde_json::Value;

use crate::reference::{all, got, luma_values, naive, naive_colour, recorded, snapshot};

/// A writer into a buffer the test keeps.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn zones_for(w: usize, h: usize) -> Vec<Zone> {
    [
        Rect::new(0, 0, w, h),
        Rect::new(3, 5, 41, 30),
        Rect::new(w - 50, h - 40, 50, 40),
        Rect::new(17, 9, 1, 1),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, r)| Zone::named(format!("z{i}"), format!("zone, \"{i}\""), r))
    .collect()
}

#[test]
fn builtins_equal_the_naive_reference_on_recorded_frames() {
    for format in [&I420, &NV12] {
        let Some((_pool, leases)) = recorded(format, 160, 96, 5) else {
            return;
        };
        let zones = zones_for(160, 96);
        let mut runner = RoiRunner::new(zones.clone(), all(), 2).unwrap();
        runner.check_format(format).unwrap();
        let mut prev: Option<Vec<Vec<Vec<u64>>>> = None;
        for lease in leases {
            let cur: Vec<_> = zones
                .iter()
                .map(|z| luma_values(lease.frame(), z.rect))
                .collect();
            let colours: Vec<_> = zones
                .iter()
                .map(|z| naive_colour(lease.frame(), z.rect))
                .collect();
            let seq = lease.seq();
            let results = runner.process(lease);
            assert_eq!(results.frame().seq, seq);
            assert_eq!(results.frame().pts, Duration::from_millis(40 * seq));
            for (i, g) in snapshot(&results).iter().enumerate() {
                let at = format!("{} frame {seq} zone {i}", format.name);
                let want = naive(&cur[i], prev.as_ref().map(|p| p[i].as_slice()), 0);
                assert_eq!(g.error, None, "{at}");
                assert!((g.mean - want.mean).abs() < 1e-9, "{at}");
                assert!((g.variance - want.variance).abs() < 1e-6, "{at}");
                assert_eq!(
                    (g.histogram, g.motion, g.edges),
                    (want.histogram, want.motion, want.edges),
                    "{at}"
                );
                let c = g.colour.unwrap();
                assert_eq!(c.len, 3, "{at}");
                for &(name, m) in &colours[i] {
                    assert!((c.mean(name).unwrap() - m).abs() < 1e-9, "{at} {name}");
                }
            }
            prev = Some(cur);
        }
    }
}

/// A user analyzer, defined only here: the dominant chroma of the zone
/// (which of U and V is further from neutral), with a field of its own.
struct Dominant;

#[derive(Clone, Debug, Default)]
struct DominantOut {
    channel: &'static str,
    distance: f64,
}

impl Output for DominantOut {
    fn fields(&self, out: &mut dyn Fields) {
        out.str("dominant", self.channel);
        out.f64("dominant_distance", self.distance);
    }

    fn reset(&mut self) {
        *self = DominantOut::default();
    }
}

impl Analyzer for Dominant {
    type Output = DominantOut;

    fn name(&self) -> &'static str {
        "dominant"
    }

    fn check(&self, format: &'static PixelFormat) -> Result<(), String> {
        match (format.component('U'), format.component('V')) {
            (Some(_), Some(_)) => Ok(()),
            _ => Err(format!("{} has no chroma", format.name)),
        }
    }

    fn output(&self, _: &'static PixelFormat) -> DominantOut {
        DominantOut::default()
    }

    fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut DominantOut) {
        let f = zone.roi.format();
        let mean = |name| {
            let c = f.component(name).unwrap();
            let ch = memview_roi::analyzers::Channel::of(f, c);
            let (mut s, mut n) = (0u64, 0u64);
            for row in zone.roi.rows(ch.plane).unwrap() {
                for i in 0..ch.count(row.len()) {
                    s += ch.at(row, i);
                    n += 1;
                }
            }
            s as f64 / n as f64
        };
        let (u, v) = ((mean('U') - 128.0).abs(), (mean('V') - 128.0).abs());
        *out = if u >= v {
            DominantOut {
                channel: "U",
                distance: u,
            }
        } else {
            DominantOut {
                channel: "V",
                distance: v,
            }
        };
    }
}

/// Frames, each through the runner, its record through every sink.
fn through_sinks(
    runner: &mut RoiRunner,
    leases: Vec<FrameLease>,
    sinks: &mut [Box<dyn Sink>],
) -> Vec<Vec<Value>> {
    let mut rec = FrameRecord::new();
    let mut want = Vec::new();
    for lease in leases {
        let results = runner.process(lease);
        rec.fill(&results);
        for s in sinks.iter_mut() {
            s.frame(&rec).unwrap();
        }
        // The runner's own view of each zone, as JSON values.
        want.push(
            results
                .iter()
                .map(|z| {
                    let g = got(&z);
                    serde_json::json!({
                        "id": &*z.zone().id,
                        "mean": g.mean,
                        "variance": g.variance,
                        "histogram": g.histogram.to_vec(),
                        "motion": g.motion,
                        "edges": g.edges,
                        "colour": g.colour.map(|c: ColourOut| [c.mean('Y'), c.mean('U'), c.mean('V')]),
                        "dominant": z.get::<DominantOut>().map(|d| d.channel),
                    })
                })
                .collect(),
        );
    }
    for s in sinks.iter_mut() {
        s.finish().unwrap();
    }
    want
}

#[test]
fn json_lines_and_csv_equal_the_runners_results() {
    let Some((_pool, leases)) = recorded(&NV12, 160, 96, 6) else {
        return;
    };
    let mut analyzers = all();
    analyzers.push(Dominant.into());
    let mut runner = RoiRunner::new(zones_for(160, 96), analyzers, 2).unwrap();
    runner.check_format(&NV12).unwrap();
    let (jsonl, csv, arrays) = (Shared::default(), Shared::default(), Shared::default());
    let mut sinks: Vec<Box<dyn Sink>> = vec![
        Box::new(JsonLines::new(jsonl.clone())),
        Box::new(Csv::new(
            Box::new(csv.clone()),
            Some(Box::new(arrays.clone())),
        )),
    ];
    let want = through_sinks(&mut runner, leases, &mut sinks);
    let lines: Vec<Value> = jsonl
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), want.len());
    for (f, (line, zones)) in lines.iter().zip(&want).enumerate() {
        assert_eq!(line["frame"], f as u64);
        assert!((line["pts"].as_f64().unwrap() - 0.04 * f as f64).abs() < 1e-9);
        let got = line["zones"].as_array().unwrap();
        assert_eq!(got.len(), zones.len());
        for (g, w) in got.iter().zip(zones) {
            for key in ["id", "histogram", "motion", "edges", "dominant"] {
                assert_eq!(g[key], w[key], "frame {f} {key}");
            }
            // serde_json's parser rounds the last digit of some floats its
            // printer wrote exactly: equal to a part in 10^15.
            for key in ["mean", "variance"] {
                close(&g[key], &w[key], &format!("frame {f} {key}"));
            }
            for (i, key) in ["colour_y", "colour_u", "colour_v"].iter().enumerate() {
                close(&g[*key], &w["colour"][i], &format!("frame {f} {key}"));
            }
            assert!(g["motion_per_pixel"].is_number());
            assert!(g["name"].as_str().unwrap().starts_with("zone, \""));
        }
    }
    // CSV: a header, then one row per frame and zone, parsed by a real
    // CSV reader (Python's csv module) where there is one, else by the
    // quoting rules here.
    let text = csv.text();
    let rows = parse_csv(&text);
    let header = &rows[0];
    assert_eq!(
        header[..13],
        [
            "frame",
            "pts",
            "zone_id",
            "zone_name",
            "x",
            "y",
            "w",
            "h",
            "error",
            "mean",
            "variance",
            "motion",
            "motion_per_pixel"
        ]
    );
    assert!(
        !header.iter().any(|h| h == "histogram"),
        "arrays stay out of the rows"
    );
    assert_eq!(rows.len() - 1, want.len() * 4);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (k, row) in rows[1..].iter().enumerate() {
        let (f, z) = (k / 4, k % 4);
        let w = &want[f][z];
        assert_eq!(row[col("frame")], f.to_string());
        assert_eq!(row[col("zone_id")], w["id"].as_str().unwrap());
        assert_eq!(row[col("zone_name")], format!("zone, \"{z}\""));
        let num = |name: &str| row[col(name)].parse::<f64>().unwrap();
        // Rust's own parser is exact: the CSV's floats round-trip.
        assert_eq!(num("mean"), w["mean"].as_f64().unwrap());
        assert_eq!(num("motion"), w["motion"].as_f64().unwrap());
        assert_eq!(num("edges"), w["edges"].as_f64().unwrap());
        assert_eq!(row[col("dominant")], w["dominant"].as_str().unwrap());
    }
    let arrays = parse_csv(&arrays.text());
    assert_eq!(arrays[0], ["frame", "zone_id", "field", "values"]);
    assert_eq!(arrays.len() - 1, want.len() * 4);
    for (k, row) in arrays[1..].iter().enumerate() {
        let w = &want[k / 4][k % 4];
        assert_eq!(row[2], "histogram");
        let bins: Vec<u64> = row[3..].iter().map(|v| v.parse().unwrap()).collect();
        assert_eq!(serde_json::json!(bins), w["histogram"]);
    }
}

/// Two JSON numbers equal to a part in 10^15.
fn close(a: &Value, b: &Value, at: &str) {
    let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
    assert!(
        (x - y).abs() <= 1e-15 * x.abs().max(1.0),
        "{at}: {x} vs {y}"
    );
}

/// Rows of `text` as CSV: through Python's `csv` module when Python is
/// here (an oracle nobody here wrote), else by RFC 4180's quoting.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let script = "import csv, json, sys\nprint(json.dumps(list(csv.reader(sys.stdin))))";
    if let Some(out) = memview_testkit::run_python(script, text) {
        return serde_json::from_str(&out).unwrap();
    }
    let mut rows = Vec::new();
    for line in text.lines() {
        let (mut row, mut field, mut quoted, mut chars) =
            (Vec::new(), String::new(), false, line.chars().peekable());
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => row.push(std::mem::take(&mut field)),
                (c, _) => field.push(c),
            }
        }
        row.push(field);
        rows.push(row);
    }
    rows
}

/// A still clip of GRAY8 frames in which a box moves during frames
/// 10..20 and 40..50 and stands still otherwise.
fn moving_box_clip(n: usize) -> (BufferPool, Vec<FrameLease>) {
    let (w, h) = (96, 64);
    let layout = FrameLayout::tight(&GRAY8, w, h).unwrap();
    let mut pool = BufferPool::new(n, layout.len()).unwrap();
    let mut x = 10usize;
    let leases = (0..n)
        .map(|f| {
            if (10..20).contains(&f) || (40..50).contains(&f) {
                x += if f < 40 { 3 } else { 1000 - 3 * (f - 39) } % 3 + 1;
            }
            let mut slot = pool.try_acquire().unwrap();
            let bytes = slot.bytes_mut().unwrap();
            for (i, b) in bytes.iter_mut().enumerate() {
                let (px, py) = (i % w, i / w);
                *b = if (x..x + 12).contains(&px) && (20..32).contains(&py) {
                    220
                } else {
                    30 + ((px ^ py) & 15) as u8
                };
            }
            slot.publish(
                layout.clone(),
                f as u64,
                Duration::from_millis(100 * f as u64),
            )
            .unwrap()
        })
        .collect();
    (pool, leases)
}

#[test]
fn motion_events_start_and_end_with_the_motion() {
    let (_pool, leases) = moving_box_clip(70);
    let zones = vec![Zone::named("lane", "the lane", Rect::new(0, 10, 96, 32))];
    let mut runner = RoiRunner::new(zones, vec![memview_roi::analyzers::Motion.into()], 1).unwrap();
    let (k, m) = (3, 4);
    let mut events = MotionEvents::new(MotionOptions {
        threshold: 0.5,
        start_frames: k,
        end_frames: m,
    })
    .unwrap();
    let out = Shared::default();
    let mut sink = EventLines::new(out.clone());
    let mut rec = FrameRecord::new();
    let mut raised_at = Vec::new();
    for lease in leases {
        let results = runner.process(lease);
        events.update(&results);
        for e in events.pending() {
            raised_at.push((e.kind, e.frame, results.frame().seq));
        }
        rec.fill(&results);
        rec.push_events(events.pending());
        sink.frame(&rec).unwrap();
        events.clear_pending();
    }
    use EventKind::{MotionEnd, MotionStart};
    // Each event names the frame where the change began, and is raised
    // K (or M) frames into it.
    assert_eq!(
        raised_at,
        [
            (MotionStart, 10, 10 + u64::from(k) - 1),
            (MotionEnd, 20, 20 + u64::from(m) - 1),
            (MotionStart, 40, 40 + u64::from(k) - 1),
            (MotionEnd, 50, 50 + u64::from(m) - 1),
        ]
    );
    let lines: Vec<Value> = out
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["event"], "motion_start");
    assert_eq!(lines[0]["zone"]["id"], "lane");
    assert_eq!(lines[0]["zone"]["name"], "the lane");
    assert!((lines[0]["pts"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    assert_eq!(lines[1]["event"], "motion_end");
    assert!(lines[1]["peak"].as_f64().unwrap() >= lines[0]["peak"].as_f64().unwrap());
    assert!(lines[0]["peak"].as_f64().unwrap() > 0.5);
}

/// A zone that vanishes mid-episode, and a stream that ends in one, end
/// their episodes.
#[test]
fn episodes_end_when_zones_vanish_or_the_stream_ends() {
    let (_pool, leases) = moving_box_clip(16);
    let mk = |id: &str| Zone::new(id, Rect::new(0, 10, 96, 32));
    let mut runner = RoiRunner::new(
        vec![mk("a"), mk("b")],
        vec![memview_roi::analyzers::Motion.into()],
        1,
    )
    .unwrap();
    let mut events = MotionEvents::new(MotionOptions {
        threshold: 0.5,
        start_frames: 1,
        end_frames: 1,
    })
    .unwrap();
    let mut all = Vec::new();
    for lease in leases {
        if lease.seq() == 14 {
            runner.remove_zone("a").unwrap();
        }
        let results = runner.process(lease);
        events.update(&results);
        all.extend(
            events
                .pending()
                .iter()
                .map(|e| (e.kind, e.zone_id.to_string(), e.frame)),
        );
        events.clear_pending();
    }
    events.finish(runner.results().frame());
    all.extend(
        events
            .pending()
            .iter()
            .map(|e| (e.kind, e.zone_id.to_string(), e.frame)),
    );
    use EventKind::{MotionEnd, MotionStart};
    assert_eq!(
        all,
        [
            (MotionStart, "a".into(), 10),
            (MotionStart, "b".into(), 10),
            (MotionEnd, "a".into(), 14),
            (MotionEnd, "b".into(), 15),
        ]
    );
}

/// A sink that takes 3 ms a record.
struct Slow(Arc<Mutex<Vec<usize>>>);

impl Sink for Slow {
    fn frame(&mut self, record: &FrameRecord) -> std::io::Result<()> {
        std::thread::sleep(Duration::from_millis(3));
        self.0
            .lock()
            .unwrap()
            .push(record as *const FrameRecord as usize);
        Ok(())
    }
}

#[test]
fn a_slow_sink_drops_counted_records_in_a_bounded_ring() {
    let Some((_pool, leases)) = recorded(&I420, 64, 48, 2) else {
        return;
    };
    let mut runner = RoiRunner::new(zones_for(64, 48), all(), 1).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut writer = ResultWriter::start(
        vec![Box::new(Slow(seen.clone()))],
        WriterOptions {
            capacity: 4,
            policy: SinkPolicy::Drop,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    let mut pushed = 0u64;
    for i in 0..300 {
        let results = runner.process(leases[i % 2].clone());
        pushed += u64::from(writer.push(|rec| rec.fill(&results)));
    }
    let dropped = writer.dropped();
    let written = writer.finish().unwrap().records;
    assert!(
        dropped > 0,
        "300 frames into a 3 ms sink with 4 records must drop"
    );
    assert_eq!(written, pushed);
    assert_eq!(written + dropped, 300, "every record written or counted");
    // Memory is the ring's: the sink only ever saw its four records.
    let mut records = seen.lock().unwrap().clone();
    records.sort_unstable();
    records.dedup();
    assert!(records.len() <= 4, "{} distinct records", records.len());
    // Blocking instead: nothing dropped.
    let mut writer = ResultWriter::start(
        vec![Box::new(Slow(seen))],
        WriterOptions {
            capacity: 2,
            policy: SinkPolicy::Block,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    for i in 0..20 {
        let results = runner.process(leases[i % 2].clone());
        assert!(writer.push(|rec| rec.fill(&results)));
    }
    assert_eq!(writer.dropped(), 0);
    assert_eq!(writer.finish().unwrap().records, 20);
}

fn detections(text: &str) -> Detections<std::io::Cursor<Vec<u8>>> {
    Detections::new(std::io::Cursor::new(text.as_bytes().to_vec()))
}

#[test]
fn zones_follow_the_detections() {
    let text = r#"{"frame": 0, "zones": [{"id": "face-3", "rect": [10, 10, 20, 20]}]}
{"frame": 2, "zones": [{"id": "face-3", "rect": [12, 10, 20, 20]}, {"id": 7, "label": "plate", "rect": [150, 90, 40, 40], "score": 0.9}]}

{"frame": 5, "zones": []}
"#;
    let mut d = detections(text);
    let mut runner = RoiRunner::new(
        vec![Zone::new("static", Rect::new(0, 0, 8, 8))],
        vec![memview_roi::analyzers::MeanVariance.into()],
        1,
    )
    .unwrap();
    let ids = |r: &RoiRunner| -> Vec<(String, String, Rect)> {
        r.zones()
            .map(|z| (z.id.to_string(), z.name.to_string(), z.rect))
            .collect()
    };
    let s = (
        "static".to_string(),
        "static".to_string(),
        Rect::new(0, 0, 8, 8),
    );
    let face = |x| {
        (
            "face-3".to_string(),
            "face-3".to_string(),
            Rect::new(x, 10, 20, 20),
        )
    };
    d.apply(0, &mut runner, 160, 96).unwrap();
    assert_eq!(ids(&runner), [s.clone(), face(10)]);
    // Frame 1 has no line: the zones stay.
    d.apply(1, &mut runner, 160, 96).unwrap();
    assert_eq!(ids(&runner), [s.clone(), face(10)]);
    // The plate runs off the frame's corner: clamped to it.
    d.apply(2, &mut runner, 160, 96).unwrap();
    let plate = (
        "7".to_string(),
        "plate".to_string(),
        Rect::new(150, 90, 10, 6),
    );
    assert_eq!(ids(&runner), [s.clone(), face(12), plate]);
    d.apply(4, &mut runner, 160, 96).unwrap();
    assert_eq!(ids(&runner).len(), 3);
    d.apply(9, &mut runner, 160, 96).unwrap();
    assert_eq!(ids(&runner), [s]);
}

#[test]
fn bad_detections_are_errors_naming_the_line() {
    let mut runner = RoiRunner::new(
        vec![Zone::new("door", Rect::new(0, 0, 8, 8))],
        vec![memview_roi::analyzers::MeanVariance.into()],
        1,
    )
    .unwrap();
    let cases = [
        ("{\"frame\": 0, \"zones\": []}\n{\"frame\": 1, \"zones\": [", "line 2"),
        ("{\"frame\": -1, \"zones\": []}", "line 1: \"frame\" must be"),
        ("[1, 2]", "line 1: expected an object"),
        ("{\"frame\": 0, \"zones\": [{\"rect\": [0, 0, 4, 4]}]}", "a zone has no id"),
        ("{\"frame\": 0, \"zones\": [{\"id\": \"a\", \"rect\": [0, 0, 4]}]}", "rect must be"),
        (
            "{\"frame\": 0, \"zones\": [{\"id\": \"a\", \"rect\": [0, 0, 4, 4]}, {\"id\": \"a\", \"rect\": [1, 1, 4, 4]}]}",
            "two zones have the id \"a\"",
        ),
        (
            "{\"frame\": 0, \"zones\": [{\"id\": \"a\", \"rect\": [500, 0, 4, 4]}]}",
            "line 1: zone \"a\" at 500,0,4,4 lies outside the 160x96 frame",
        ),
        (
            "{\"frame\": 0, \"zones\": [{\"id\": \"a\", \"rect\": [5, 5, 0, 4]}]}",
            "lies outside",
        ),
        (
            "{\"frame\": 0, \"zones\": [{\"id\": \"door\", \"rect\": [5, 5, 4, 4]}]}",
            "line 1: zone id \"door\" is a static zone's",
        ),
        (
            "{\"frame\": 3, \"zones\": []}\n{\"frame\": 2, \"zones\": []}",
            "line 2: frame 2 comes after frame 3",
        ),
    ];
    for (text, want) in cases {
        let err = detections(text)
            .apply(10, &mut runner, 160, 96)
            .unwrap_err();
        assert!(err.contains(want), "{text}: {err}");
        assert!(
            err.starts_with("detections line") || err.starts_with("reading"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // A line past the budget is refused without being held whole.
    let long = format!(
        "{{\"frame\": 0, \"zones\": [], \"pad\": \"{}\"}}",
        "x".repeat(2 << 20)
    );
    let err = detections(&long)
        .apply(0, &mut runner, 160, 96)
        .unwrap_err();
    assert!(err.contains("longer than"), "{err}");
}

#[test]
fn zone_files_in_json_and_toml() {
    let json = r#"{"zones": [{"id": "door", "name": "front door", "rect": [0, 0, 64, 48]}, {"id": "till", "rect": [100, 20, 30, 30]}]}"#;
    let toml = r#"
[[zone]]
id = "door"
name = "front door"
rect = [0, 0, 64, 48]

[[zone]]
id = "till"
rect = [100, 20, 30, 30]
"#;
    let want = vec![
        Zone::named("door", "front door", Rect::new(0, 0, 64, 48)),
        Zone::new("till", Rect::new(100, 20, 30, 30)),
    ];
    assert_eq!(parse_zones_file(json, false).unwrap(), want);
    assert_eq!(parse_zones_file(toml, true).unwrap(), want);
    let bare = r#"[{"id": "door", "name": "front door", "rect": [0, 0, 64, 48]}, {"id": "till", "rect": [100, 20, 30, 30]}]"#;
    assert_eq!(parse_zones_file(bare, false).unwrap(), want);
    for (text, toml, want) in [
        ("{\"zones\": []}", false, "names no zones"),
        ("{\"zones\": [{\"id\": \"a\"}]}", false, "has no rect"),
        (
            "[[zone]]\nid = 1.5\nrect = [0, 0, 1, 1]",
            true,
            "id must be",
        ),
        ("[[zone]\nid = 1", true, ""),
        ("{\"nothing\": 1}", false, "expected a list of zones"),
    ] {
        let err = parse_zones_file(text, toml).unwrap_err();
        assert!(err.contains(want), "{text}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
