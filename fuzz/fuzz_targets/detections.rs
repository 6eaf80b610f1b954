//! Any bytes as a detector's JSON Lines, applied frame by frame to a
//! runner with one static zone: never panics; after every frame the
//! runner holds the static zone and exactly the zones of the last line
//! taken (found by id), each clamped inside the frame and not empty; an
//! error ends the stream, as it ends a run.
#![no_main]

use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use memview_pixel::Rect;
use memview_roi::analyzers::MeanVariance;
use memview_roi::detections::Detections;
use memview_roi::{RoiRunner, Zone};

const W: usize = 160;
const H: usize = 96;

/// One runner for every input (a rayon pool per input would be slow).
static RUNNER: Mutex<Option<RoiRunner>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let mut guard = RUNNER.lock().unwrap_or_else(|e| e.into_inner());
    let runner = guard.get_or_insert_with(|| {
        RoiRunner::new(Vec::new(), vec![MeanVariance.into()], 1).expect("a runner")
    });
    runner.clear_zones();
    runner
        .add_zone(Zone::new("static", Rect::new(0, 0, 8, 8)))
        .expect("the static zone");
    let mut d = Detections::new(std::io::Cursor::new(data));
    for seq in 0..8 {
        if d.apply(seq, runner, W, H).is_err() {
            break;
        }
        let zones: Vec<&Zone> = runner.zones().collect();
        assert_eq!(&*zones[0].id, "static");
        assert_eq!(zones.len(), 1 + d.zones().len());
        // By id: zones keep their places in the runner as they move, so
        // the runner's order need not be the line's.
        for det in d.zones() {
            let z = runner.zone(&det.id).expect("every detected zone is in the runner");
            let r = z.rect;
            assert!(r.w > 0 && r.h > 0 && r.x + r.w <= W && r.y + r.h <= H, "{r:?}");
            assert_eq!((r.x, r.y), (det.rect.x, det.rect.y));
        }
    }
});
