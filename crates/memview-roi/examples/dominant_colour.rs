//! A user analyzer outside memview-roi: the dominant colour of each zone,
//! read from its U and V planes, written as JSON Lines beside the
//! built-ins' fields.
//!
//! ```text
//! cargo run -p memview-roi --example dominant_colour
//! ```

use std::error::Error;

use memview_capture::{Capture, Policy, Synthetic};
use memview_pixel::format::I420;
use memview_pixel::PixelFormat;
use memview_roi::analyzers::{Channel, MeanVariance};
use memview_roi::record::FrameRecord;
use memview_roi::sink::{JsonLines, Sink};
use memview_roi::{Analyzer, Fields, Output, RoiRunner, Zone, ZoneInput};

/// Names the hue the zone's mean chroma points to.
struct DominantColour;

/// Its output: a name and the chroma's distance from grey.
#[derive(Clone, Debug, Default)]
struct Dominant {
    colour: &'static str,
    saturation: f64,
}

impl Output for Dominant {
    fn fields(&self, out: &mut dyn Fields) {
        out.str("dominant", self.colour);
        out.f64("saturation", self.saturation);
    }

    fn reset(&mut self) {
        *self = Dominant::default();
    }
}

/// The mean of component `name` over the zone.
fn mean(zone: &ZoneInput<'_, '_>, name: char) -> Option<f64> {
    let format = zone.roi.format();
    let ch = Channel::of(format, format.component(name)?);
    let (mut sum, mut n) = (0u64, 0u64);
    for row in zone.roi.rows(ch.plane)? {
        for i in 0..ch.count(row.len()) {
            sum += ch.at(row, i);
            n += 1;
        }
    }
    (n > 0).then(|| sum as f64 / n as f64)
}

impl Analyzer for DominantColour {
    type Output = Dominant;

    fn name(&self) -> &'static str {
        "dominant"
    }

    fn check(&self, format: &'static PixelFormat) -> Result<(), String> {
        match (format.component('U'), format.component('V')) {
            (Some(_), Some(_)) => Ok(()),
            _ => Err(format!("{} has no U and V to read", format.name)),
        }
    }

    fn output(&self, _: &'static PixelFormat) -> Dominant {
        Dominant::default()
    }

    fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut Dominant) {
        let (Some(u), Some(v)) = (mean(zone, 'U'), mean(zone, 'V')) else {
            return out.reset();
        };
        let (u, v) = (u - 128.0, v - 128.0);
        out.saturation = u.hypot(v);
        // The hue angle in the U-V plane, in sixths of a turn.
        let angle = v.atan2(u).to_degrees().rem_euclid(360.0);
        out.colour = if out.saturation < 8.0 {
            "grey"
        } else {
            ["blue", "magenta", "red", "yellow", "green", "cyan"][(angle / 60.0) as usize % 6]
        };
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let source = Synthetic::new(&I420, 640, 360, 3)?.with_frames(3);
    let zones: Vec<Zone> = source
        .boxes()
        .into_iter()
        .enumerate()
        .map(|(i, r)| Zone::new(format!("box{i}"), r))
        .collect();
    let mut runner = RoiRunner::new(zones, vec![MeanVariance.into(), DominantColour.into()], 2)?;
    runner.check_format(&I420)?;
    let capture = Capture::start(source, 3, 2, Policy::Block)?;
    let mut sink = JsonLines::new(std::io::stdout());
    let mut record = FrameRecord::new();
    while let Some(frame) = capture.recv() {
        let results = runner.process(frame?);
        for zone in results.iter() {
            if let Some(d) = zone.get::<Dominant>() {
                eprintln!("{}: {} ({:.1})", zone.zone().id, d.colour, d.saturation);
            }
        }
        record.fill(&results);
        sink.frame(&record)?;
    }
    sink.finish()?;
    Ok(())
}
