//! MQTT outputs: `--results mqtt://HOST[:PORT]/TOPIC` and `--events
//! mqtt://...` publish to a broker with rumqttc.
//!
//! - Results: each frame's JSON line (the JSON Lines schema) is one
//!   message on `TOPIC/STREAM` (`TOPIC` for the one stream of a plain
//!   run), QoS 0.
//! - Events: in the shape Frigate publishes on `frigate/events`, one
//!   message per change of a zone's motion episode on `TOPIC/STREAM`, QoS
//!   1: `{"type": "new" | "update" | "end", "before": {...}, "after":
//!   {...}}`, where each side is the episode (`id`, `camera`, `label`
//!   `"motion"`, `zone`, `zone_name`, `current_zones`, `entered_zones`,
//!   `box`, `start_time`, `end_time`, `frame_time` as Unix seconds (the
//!   first frame's arrival plus stream time), `pts`
//!   and `start_pts` as stream seconds, `frame`, `start_frame`, `score`,
//!   `top_score`, `active`, `has_clip`, `has_snapshot`, `false_positive`).
//!   `new` comes with `motion_start`, `end` with `motion_end`, and
//!   `update` when the episode's top score rises, at most once a second
//!   of stream time. A live stream's `stream_down` / `stream_up` are
//!   published on the same topic as their JSON lines.
//!
//! Publishing never blocks analysis: messages wait in rumqttc's bounded
//! request queue ([`QUEUE`] by default); one that finds it full (the broker is slow
//! or gone) is dropped and counted. The connection is kept by its own
//! thread, which reconnects with backoff when the broker goes away.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use memview_roi::events::EventKind;
use memview_roi::record::FrameRecord;
use memview_roi::sink::Sink;
use rumqttc::{Client, Event, MqttOptions, Outgoing, Packet, QoS};
use serde_json::{json, Value};

/// Messages that may wait for the broker, per connection, by default
/// (`--mqtt-queue`).
pub const QUEUE: usize = 1024;

/// The largest message: a frame's results with every histogram.
const MAX_PACKET: usize = 4 << 20;

/// How long the end of a run waits for queued messages to leave.
const DRAIN: Duration = Duration::from_secs(5);

/// A parsed `mqtt://HOST[:PORT]/TOPIC`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub topic: String,
}

impl Target {
    /// `Some` for an `mqtt://` URL (or why it is not a usable one), `None`
    /// for anything else (a file).
    pub fn parse(url: &str) -> Option<Result<Target, String>> {
        let rest = url.strip_prefix("mqtt://")?;
        Some((|| {
            let (authority, topic) = rest
                .split_once('/')
                .ok_or_else(|| format!("{url}: no topic (mqtt://HOST[:PORT]/TOPIC)"))?;
            let topic = topic.trim_end_matches('/');
            if topic.is_empty() || topic.contains(['+', '#']) || topic.contains('\0') {
                return Err(format!(
                    "{url}: the topic must be non-empty, without wildcards"
                ));
            }
            let (host, port) = match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h,
                    p.parse::<u16>()
                        .ok()
                        .filter(|&p| p > 0)
                        .ok_or_else(|| format!("{url}: bad port {p:?}"))?,
                ),
                None => (authority, 1883),
            };
            if host.is_empty() {
                return Err(format!("{url}: no host"));
            }
            Ok(Target {
                host: host.to_owned(),
                port,
                topic: topic.to_owned(),
            })
        })())
    }

    /// The topic for `stream` (the base topic for an unnamed stream).
    pub fn topic_for(&self, stream: Option<&str>) -> String {
        match stream {
            Some(s) => format!("{}/{s}", self.topic),
            None => self.topic.clone(),
        }
    }
}

/// What a connection did, for the summary.
#[derive(Debug, Default)]
pub struct Counters {
    /// Messages handed to the broker's connection.
    pub published: AtomicU64,
    /// Messages dropped: the queue was full.
    pub dropped: AtomicU64,
    /// Connections made (the first, then each reconnect).
    pub connects: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    /// The connection's last error, if it had one.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }
}

/// A connection to a broker, kept by its own thread.
pub struct Broker {
    client: Client,
    target: Target,
    counters: Arc<Counters>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("target", &self.target)
            .finish()
    }
}

impl Broker {
    /// Connects to `target` (in the background: a broker that is not there
    /// yet is retried, and messages wait or are dropped meanwhile).
    pub fn connect(target: Target, role: &str, queue: usize) -> io::Result<Broker> {
        let id = format!("memview-{}-{role}", std::process::id());
        let mut o = MqttOptions::new(id, target.host.clone(), target.port);
        o.set_keep_alive(Duration::from_secs(15))
            .set_max_packet_size(MAX_PACKET, MAX_PACKET);
        let (client, mut connection) = Client::new(o, queue.max(1));
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let thread = std::thread::Builder::new()
            .name(format!("memview-mqtt-{role}"))
            .spawn(move || {
                // Output work, counted with the result writer's.
                crate::alloc::mark_writer();
                let mut wait = Duration::from_millis(100);
                for event in connection.iter() {
                    match event {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            c.connects.fetch_add(1, Ordering::Relaxed);
                            wait = Duration::from_millis(100);
                        }
                        Ok(Event::Outgoing(Outgoing::Publish(_))) => {
                            c.published.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Event::Outgoing(Outgoing::Disconnect)) => break,
                        Ok(_) => {}
                        Err(e) => {
                            if let Ok(mut last) = c.last_error.lock() {
                                *last = Some(e.to_string());
                            }
                            // The next poll reconnects; not at once.
                            std::thread::sleep(wait);
                            wait = (wait * 2).min(Duration::from_secs(5));
                        }
                    }
                }
            })?;
        Ok(Broker {
            client,
            target,
            counters,
            thread: Some(thread),
        })
    }

    /// The counters, shared.
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// A publisher of `stream`'s messages at `qos`.
    pub fn publisher(&self, stream: Option<&str>, qos: QoS) -> Publisher {
        Publisher {
            client: self.client.clone(),
            topic: self.target.topic_for(stream),
            qos,
            counters: self.counters.clone(),
        }
    }

    /// Sends what is queued (waiting at most [`DRAIN`]) and disconnects.
    pub fn finish(mut self) {
        let _ = self.client.try_disconnect();
        let Some(t) = self.thread.take() else { return };
        let start = Instant::now();
        while !t.is_finished() && start.elapsed() < DRAIN {
            std::thread::sleep(Duration::from_millis(10));
        }
        if t.is_finished() {
            let _ = t.join();
        }
    }
}

/// Publishes messages on one topic, never waiting: a message that finds
/// the queue full is dropped and counted.
#[derive(Clone)]
pub struct Publisher {
    client: Client,
    topic: String,
    qos: QoS,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("topic", &self.topic)
            .finish()
    }
}

impl Publisher {
    /// Queues `payload`.
    pub fn send(&self, payload: Vec<u8>) {
        if self
            .client
            .try_publish(self.topic.as_str(), self.qos, false, payload)
            .is_err()
        {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Each `write` is one line, published as one message (without its
/// newline): what the JSON Lines sinks write, as MQTT messages.
impl Write for Publisher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let line = buf.strip_suffix(b"\n").unwrap_or(buf);
        if !line.is_empty() {
            self.send(line.to_vec());
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One zone's motion episode, as last published.
#[derive(Debug)]
struct Episode {
    last: Value,
    top: f64,
    /// Stream time of the last message.
    sent_pts: Duration,
}

/// Motion episodes as Frigate-style `new`/`update`/`end` messages (the
/// module docs have the shape).
#[derive(Debug)]
pub struct FrigateEvents {
    out: Publisher,
    camera: String,
    episodes: HashMap<Arc<str>, Episode>,
    /// The Unix time of stream time 0: the first record's arrival less
    /// its timestamp (a live source's clock runs with the wall clock; a
    /// file read faster than real time is dated as if it began then).
    epoch: Option<f64>,
}

/// How often an episode's rising score is published, in stream time.
const UPDATE_EVERY: Duration = Duration::from_secs(1);

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl FrigateEvents {
    /// Episodes of the stream `camera` (its name, or its source's label),
    /// published by `out`.
    pub fn new(out: Publisher, camera: &str) -> FrigateEvents {
        FrigateEvents {
            out,
            camera: camera.to_owned(),
            episodes: HashMap::new(),
            epoch: None,
        }
    }

    fn publish(&self, kind: &str, before: &Value, after: &Value) {
        let msg = json!({"type": kind, "before": before, "after": after});
        self.out.send(msg.to_string().into_bytes());
    }
}

impl Sink for FrigateEvents {
    fn frame(&mut self, record: &FrameRecord) -> io::Result<()> {
        let pts = record.frame.pts;
        let epoch = *self
            .epoch
            .get_or_insert_with(|| unix_now() - pts.as_secs_f64());
        // The Unix time of a stream time.
        let at = |t: Duration| epoch + t.as_secs_f64();
        let now = at(pts);
        for e in record.events() {
            let zone = record.zones().iter().find(|z| z.id == e.zone_id);
            match e.kind {
                EventKind::MotionStart => {
                    let start = at(e.pts);
                    let after = json!({
                        "id": format!("{start:.6}-{}-{}", self.camera, e.zone_id),
                        "camera": self.camera,
                        "label": "motion",
                        "zone": &*e.zone_id,
                        "zone_name": &*e.zone_name,
                        "current_zones": [&*e.zone_id],
                        "entered_zones": [&*e.zone_id],
                        "box": zone.map(|z| [z.rect.x, z.rect.y, z.rect.w, z.rect.h]),
                        "start_time": start,
                        "end_time": null,
                        "frame_time": now,
                        "start_pts": e.pts.as_secs_f64(),
                        "pts": pts.as_secs_f64(),
                        "start_frame": e.frame,
                        "frame": record.frame.seq,
                        "score": e.peak,
                        "top_score": e.peak,
                        "active": true,
                        "has_clip": false,
                        "has_snapshot": false,
                        "false_positive": false,
                    });
                    self.publish("new", &after, &after);
                    self.episodes.insert(
                        e.zone_id.clone(),
                        Episode {
                            last: after,
                            top: e.peak,
                            sent_pts: pts,
                        },
                    );
                }
                EventKind::MotionEnd => {
                    // An end without its start (the start's message was
                    // dropped with its record) still ends the episode.
                    let Some(ep) = self.episodes.remove(&e.zone_id) else {
                        continue;
                    };
                    let mut after = ep.last.clone();
                    after["end_time"] = at(e.pts).into();
                    after["frame_time"] = now.into();
                    after["pts"] = pts.as_secs_f64().into();
                    after["frame"] = record.frame.seq.into();
                    after["top_score"] = e.peak.max(ep.top).into();
                    after["active"] = false.into();
                    after["current_zones"] = json!([]);
                    self.publish("end", &ep.last, &after);
                }
            }
        }
        // Most frames have no zone in motion, and need no lookups.
        if self.episodes.is_empty() {
            return Ok(());
        }
        for z in record.zones() {
            let Some(ep) = self.episodes.get_mut(&z.id) else {
                continue;
            };
            let Some(score) = z.scalar("motion_per_pixel") else {
                continue;
            };
            if score > ep.top && pts.saturating_sub(ep.sent_pts) >= UPDATE_EVERY {
                let mut after = ep.last.clone();
                after["score"] = score.into();
                after["top_score"] = score.into();
                after["frame_time"] = now.into();
                after["pts"] = pts.as_secs_f64().into();
                after["frame"] = record.frame.seq.into();
                after["box"] = json!([z.rect.x, z.rect.y, z.rect.w, z.rect.h]);
                ep.top = score;
                ep.sent_pts = pts;
                let before = std::mem::replace(&mut ep.last, after);
                let msg = json!({"type": "update", "before": before, "after": &ep.last});
                self.out.send(msg.to_string().into_bytes());
            }
        }
        Ok(())
    }
}

/// The brokers a run's `--results` and `--events` name, where they are
/// `mqtt://` URLs.
#[derive(Debug, Default)]
pub struct Brokers {
    results: Option<Broker>,
    events: Option<Broker>,
}

impl Brokers {
    /// Connects to the brokers of `results` and `events` that are MQTT
    /// URLs (in the background); a bad URL is refused.
    pub fn connect(
        results: Option<&str>,
        events: Option<&str>,
        queue: usize,
    ) -> Result<Brokers, String> {
        let open = |url: Option<&str>, role: &str| -> Result<Option<Broker>, String> {
            match url.and_then(Target::parse) {
                Some(t) => Broker::connect(t?, role, queue)
                    .map(Some)
                    .map_err(|e| format!("cannot start the MQTT connection: {e}")),
                None => Ok(None),
            }
        };
        Ok(Brokers {
            results: open(results, "results")?,
            events: open(events, "events")?,
        })
    }

    /// Whether `url` names a broker (`mqtt://`), checked.
    pub fn check(url: Option<&str>) -> Result<bool, String> {
        match url.and_then(Target::parse) {
            Some(t) => t.map(|_| true),
            None => Ok(false),
        }
    }

    /// The sink publishing `stream`'s results, if results go to a broker.
    pub fn results_sink(&self, stream: Option<&str>) -> Option<Box<dyn Sink>> {
        let b = self.results.as_ref()?;
        let out = memview_roi::sink::JsonLines::new(b.publisher(stream, QoS::AtMostOnce));
        Some(Box::new(match stream {
            Some(name) => out.stream(name),
            None => out,
        }))
    }

    /// The sink publishing `stream`'s motion episodes, if events go to a
    /// broker; `lines` (the stream's changes) then go there too.
    pub fn events_sink(
        &self,
        stream: Option<&str>,
        camera: &str,
        lines: Option<&crate::stream::SharedLines>,
    ) -> io::Result<Option<Box<dyn Sink>>> {
        let Some(b) = self.events.as_ref() else {
            return Ok(None);
        };
        let out = b.publisher(stream, QoS::AtLeastOnce);
        if let Some(l) = lines {
            l.set(Box::new(out.clone()))?;
        }
        Ok(Some(Box::new(FrigateEvents::new(out, camera))))
    }

    /// Sends what is queued, disconnects, and says what each connection
    /// did (`None` without brokers).
    pub fn finish(self) -> Option<Value> {
        let mut m = serde_json::Map::new();
        for (role, b) in [("results", self.results), ("events", self.events)] {
            let Some(b) = b else { continue };
            let c = b.counters();
            b.finish();
            m.insert(
                role.into(),
                json!({
                    "published": c.published.load(Ordering::Relaxed),
                    "dropped": c.dropped.load(Ordering::Relaxed),
                    "connects": c.connects.load(Ordering::Relaxed),
                    "last_error": c.last_error(),
                }),
            );
        }
        (!m.is_empty()).then_some(Value::Object(m))
    }
}

/// The summary's line for what [`Brokers::finish`] said.
pub fn describe(v: &Value) -> String {
    let part = |role: &str| -> Option<String> {
        let r = v.get(role)?;
        Some(format!(
            "{role} {} published, {} dropped, {} connects",
            r["published"], r["dropped"], r["connects"]
        ))
    };
    [part("results"), part("events")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ")
}
