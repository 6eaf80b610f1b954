//! Zones from an external detector, and named static zones from a file.
//!
//! A detector writes JSON Lines, one line per frame it has looked at:
//!
//! ```text
//! {"frame": 12, "zones": [{"id": "face-3", "rect": [640, 200, 96, 96]}, {"id": "plate-1", "name": "plate", "rect": [100, 700, 180, 40]}]}
//! ```
//!
//! [`Detections`] reads them in step with the stream: before frame N is
//! analysed, every line up to frame N is taken, and the last one's zones
//! become the detected zones. Zones appear, move and vanish with them; a
//! frame without a line keeps the last zones. Ids are strings (a number is
//! taken as its decimal text; a whole number only), unique in a line; `name` (or `label`) is
//! optional and defaults to the id; other members (`score`, ...) are
//! ignored. Frame numbers never go backwards. A rectangle partly out of
//! the frame is clamped to it; one wholly out of it, an empty one, a
//! malformed line or an id that a static zone already has is an error
//! naming the line.

use std::io::{BufRead, Read};

use memview_pixel::Rect;
use serde_json::Value;

use crate::{RoiRunner, Zone, MAX_ZONES, MAX_ZONE_ID};

/// The longest line a detector may write (a budget: 4096 zones of about
/// 100 bytes each fit).
pub const MAX_LINE: usize = 1 << 20;

/// One detected zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// Its id.
    pub id: String,
    /// Its name (the id unless given).
    pub name: String,
    /// Where it is, as the detector wrote it (before clamping).
    pub rect: Rect,
}

/// Reads a detector's JSON Lines in step with the frames.
#[derive(Debug)]
pub struct Detections<R> {
    reader: R,
    line: String,
    line_no: u64,
    /// A line read ahead: for a frame not reached yet.
    ahead: Option<(u64, u64, Vec<Detection>)>,
    /// The zones in force, the line they came from, and whether they
    /// changed since last applied.
    current: Vec<Detection>,
    current_line: u64,
    changed: bool,
    last_frame: Option<u64>,
    ended: bool,
    /// Ids of the zones these detections put in the runner.
    placed: Vec<String>,
}

/// The value of `v` as a rectangle `[x, y, w, h]`.
fn rect_of(v: &Value) -> Result<Rect, String> {
    let a = v
        .as_array()
        .filter(|a| a.len() == 4)
        .ok_or("rect must be [x, y, w, h]")?;
    let mut n = [0usize; 4];
    for (o, x) in n.iter_mut().zip(a) {
        *o = x
            .as_u64()
            .and_then(|x| usize::try_from(x).ok())
            .ok_or("rect must be [x, y, w, h] of whole numbers of at least 0")?;
    }
    Ok(Rect::new(n[0], n[1], n[2], n[3]))
}

/// A zone's id: a string, or a number's decimal text.
fn id_of(v: Option<&Value>) -> Result<String, String> {
    let id = match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(_) => return Err("a zone's id must be a string or a whole number".into()),
        None => return Err("a zone has no id".into()),
    };
    if id.is_empty() || id.len() > MAX_ZONE_ID {
        return Err(format!("zone id {id:?} is not 1 to {MAX_ZONE_ID} bytes"));
    }
    Ok(id)
}

/// One zone object: `id`, `rect`, optional `name` or `label`.
pub(crate) fn zone_of(v: &Value) -> Result<Detection, String> {
    let o = v.as_object().ok_or("a zone must be an object")?;
    let id = id_of(o.get("id"))?;
    let rect = rect_of(
        o.get("rect")
            .ok_or_else(|| format!("zone {id:?} has no rect"))?,
    )
    .map_err(|e| format!("zone {id:?}: {e}"))?;
    let name = match o.get("name").or_else(|| o.get("label")) {
        None | Some(Value::Null) => id.clone(),
        Some(Value::String(s)) if s.len() <= MAX_ZONE_ID => s.clone(),
        Some(_) => {
            return Err(format!(
                "zone {id:?}: name must be a string of at most {MAX_ZONE_ID} bytes"
            ))
        }
    };
    Ok(Detection { id, name, rect })
}

/// A list of zone objects, ids unique.
pub(crate) fn zones_of(v: &Value) -> Result<Vec<Detection>, String> {
    let a = v.as_array().ok_or("zones must be an array")?;
    if a.len() > MAX_ZONES {
        return Err(format!(
            "{} zones is more than the {MAX_ZONES} a runner takes",
            a.len()
        ));
    }
    let zones = a.iter().map(zone_of).collect::<Result<Vec<_>, _>>()?;
    for (i, z) in zones.iter().enumerate() {
        if zones[..i].iter().any(|o| o.id == z.id) {
            return Err(format!("two zones have the id {:?}", z.id));
        }
    }
    Ok(zones)
}

/// `rect` clamped to a `width x height` frame, or `None` if nothing of it
/// is left.
fn clamp(rect: Rect, width: usize, height: usize) -> Option<Rect> {
    let x1 = rect.x.saturating_add(rect.w).min(width);
    let y1 = rect.y.saturating_add(rect.h).min(height);
    (rect.x < x1 && rect.y < y1).then(|| Rect::new(rect.x, rect.y, x1 - rect.x, y1 - rect.y))
}

impl<R: BufRead> Detections<R> {
    /// Detections read from `reader`.
    pub fn new(reader: R) -> Detections<R> {
        Detections {
            reader,
            line: String::new(),
            line_no: 0,
            ahead: None,
            current: Vec::new(),
            current_line: 0,
            changed: false,
            last_frame: None,
            ended: false,
            placed: Vec::new(),
        }
    }

    fn error(&self, line: u64, what: impl std::fmt::Display) -> String {
        format!("detections line {line}: {what}")
    }

    /// The next line with content: its frame, line number and zones, or
    /// `None` at the end.
    fn read(&mut self) -> Result<Option<(u64, u64, Vec<Detection>)>, String> {
        loop {
            self.line.clear();
            let n = (&mut self.reader)
                .take(MAX_LINE as u64 + 1)
                .read_line(&mut self.line)
                .map_err(|e| format!("reading detections after line {}: {e}", self.line_no))?;
            if n == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            let at = self.line_no;
            if n > MAX_LINE {
                return Err(self.error(at, format_args!("longer than {MAX_LINE} bytes")));
            }
            if self.line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(&self.line).map_err(|e| self.error(at, e))?;
            let o = v.as_object().ok_or_else(|| {
                self.error(at, "expected an object {\"frame\": N, \"zones\": [...]}")
            })?;
            let frame = o
                .get("frame")
                .and_then(Value::as_u64)
                .ok_or_else(|| self.error(at, "\"frame\" must be a whole number of at least 0"))?;
            if let Some(last) = self.last_frame.filter(|&l| frame < l) {
                return Err(self.error(
                    at,
                    format_args!("frame {frame} comes after frame {last}: frames never go back"),
                ));
            }
            self.last_frame = Some(frame);
            let zones =
                zones_of(o.get("zones").unwrap_or(&Value::Null)).map_err(|e| self.error(at, e))?;
            return Ok(Some((frame, at, zones)));
        }
    }

    /// Takes every line up to frame `seq`; `true` if the zones in force
    /// changed.
    pub fn advance(&mut self, seq: u64) -> Result<bool, String> {
        loop {
            if self.ahead.is_none() && !self.ended {
                self.ahead = self.read()?;
                self.ended = self.ahead.is_none();
            }
            match self.ahead.take() {
                Some((frame, line, zones)) if frame <= seq => {
                    self.current = zones;
                    self.current_line = line;
                    self.changed = true;
                }
                other => {
                    self.ahead = other;
                    break;
                }
            }
        }
        Ok(std::mem::take(&mut self.changed))
    }

    /// The zones in force.
    pub fn zones(&self) -> &[Detection] {
        &self.current
    }

    /// Takes every line up to frame `seq` and makes the runner's detected
    /// zones those in force: new ids added, known ones moved, missing ones
    /// removed; zones the detections did not place (static zones) stay.
    /// Rectangles are clamped to the `width x height` frame.
    pub fn apply(
        &mut self,
        seq: u64,
        runner: &mut RoiRunner,
        width: usize,
        height: usize,
    ) -> Result<(), String> {
        if !self.advance(seq)? {
            return Ok(());
        }
        let line = self.current_line;
        // Zones gone from the detector's view.
        let mut i = 0;
        while i < self.placed.len() {
            if self.current.iter().any(|d| d.id == self.placed[i]) {
                i += 1;
            } else {
                runner.remove_zone(&self.placed[i]);
                self.placed.swap_remove(i);
            }
        }
        for d in &self.current {
            let rect = clamp(d.rect, width, height).ok_or_else(|| {
                format!(
                    "detections line {line}: zone {:?} at {},{},{},{} lies outside the {width}x{height} frame",
                    d.id, d.rect.x, d.rect.y, d.rect.w, d.rect.h
                )
            })?;
            if self.placed.contains(&d.id) {
                runner.move_zone(&d.id, rect);
            } else if runner.zone(&d.id).is_some() {
                return Err(format!(
                    "detections line {line}: zone id {:?} is a static zone's",
                    d.id
                ));
            } else {
                runner
                    .add_zone(Zone::named(d.id.clone(), d.name.clone(), rect))
                    .map_err(|e| format!("detections line {line}: {e}"))?;
                self.placed.push(d.id.clone());
            }
        }
        Ok(())
    }
}

/// Named static zones from a file: JSON (`{"zones": [...]}` or a bare
/// array) or TOML (`[[zone]]` tables, or `zones = [...]`), each zone
/// `id`, `rect = [x, y, w, h]` and an optional `name`.
pub fn parse_zones_file(text: &str, toml_syntax: bool) -> Result<Vec<Zone>, String> {
    let v: Value = if toml_syntax {
        let t: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            e.to_string()
                .lines()
                .next()
                .unwrap_or("bad TOML")
                .to_owned()
        })?;
        serde_json::to_value(t).map_err(|e| e.to_string())?
    } else {
        serde_json::from_str(text).map_err(|e| e.to_string())?
    };
    let list = match &v {
        Value::Array(_) => &v,
        Value::Object(o) => o
            .get("zones")
            .or_else(|| o.get("zone"))
            .ok_or("expected a list of zones under \"zones\" (or [[zone]] tables)")?,
        _ => return Err("expected a list of zones".into()),
    };
    let zones = zones_of(list)?;
    if zones.is_empty() {
        return Err("the file names no zones".into());
    }
    Ok(zones
        .into_iter()
        .map(|d| Zone::named(d.id, d.name, d.rect))
        .collect())
}
