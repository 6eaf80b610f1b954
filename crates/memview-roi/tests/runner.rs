//! The runner against a naive single-threaded reference, faults, drops, and
//! allocations.

use std::time::Duration;

use memview_capture::{BufferPool, Capture, FrameSource, Policy, Synthetic};
use memview_pixel::format::I420;
use memview_pixel::Rect;
use memview_roi::analyzers::{Histogram, MeanVariance};
use memview_roi::{Analyzer, RoiRunner, Zone, ZoneInput};

use crate::reference::{all, box_zones, got, snapshot, Got};

/// The zone's luma copied out, row by row.
fn copy_zone(frame: &memview_pixel::Frame<'_>, r: Rect) -> Vec<Vec<u8>> {
    let roi = frame.roi(r).unwrap();
    roi.plane(0)
        .unwrap()
        .rows()
        .unwrap()
        .map(<[u8]>::to_vec)
        .collect()
}

/// The naive reference over 8-bit samples.
fn naive(cur: &[Vec<u8>], prev: Option<&[Vec<u8>]>) -> Got {
    let wide = |rows: &[Vec<u8>]| -> Vec<Vec<u64>> {
        rows.iter()
            .map(|r| r.iter().map(|&b| u64::from(b)).collect())
            .collect()
    };
    let prev = prev.map(wide);
    crate::reference::naive(&wide(cur), prev.as_deref(), 0)
}

#[test]
fn results_equal_a_naive_reference() {
    let mut src = Synthetic::new(&I420, 320, 180, 6).unwrap();
    let zones = box_zones(&src, Rect::new(3, 5, 40, 31));
    let mut runner = RoiRunner::new(zones.clone(), all(), 2).unwrap();
    let mut pool = BufferPool::new(4, src.frame_len()).unwrap();
    let mut prev: Option<Vec<Vec<Vec<u8>>>> = None;
    for _ in 0..12 {
        let lease = src
            .next_frame(pool.try_acquire().unwrap())
            .unwrap()
            .unwrap();
        let copies: Vec<Vec<Vec<u8>>> = zones
            .iter()
            .map(|z| copy_zone(lease.frame(), z.rect))
            .collect();
        let got = snapshot(&runner.process(lease));
        for (i, (g, c)) in got.iter().zip(&copies).enumerate() {
            let want = naive(c, prev.as_ref().map(|p| p[i].as_slice()));
            assert!(
                (g.mean - want.mean).abs() < 1e-9 && (g.variance - want.variance).abs() < 1e-6,
                "zone {i}"
            );
            assert_eq!(
                (g.histogram, g.motion, g.edges, &g.error),
                (want.histogram, want.motion, want.edges, &None),
                "zone {i}"
            );
        }
        prev = Some(copies);
    }
}

struct Panicky;

impl Analyzer for Panicky {
    type Output = ();
    fn name(&self) -> &'static str {
        "panicky"
    }
    fn output(&self, _: &'static memview_pixel::PixelFormat) {}
    fn analyze(&self, input: &ZoneInput<'_, '_>, _out: &mut ()) {
        if input.roi.width() == 10 {
            panic!("cannot handle narrow zones");
        }
    }
}

#[test]
fn a_panicking_analyzer_is_that_zone_error_only() {
    let mut src = Synthetic::new(&I420, 160, 90, 2).unwrap();
    let zones = vec![
        Zone::new("narrow", Rect::new(0, 0, 10, 10)),
        Zone::new("wide", Rect::new(20, 20, 40, 10)),
        Zone::new("off", Rect::new(150, 0, 20, 10)),
    ];
    let mut runner = RoiRunner::new(zones, vec![MeanVariance.into(), Panicky.into()], 2).unwrap();
    let mut pool = BufferPool::new(3, src.frame_len()).unwrap();
    for _ in 0..3 {
        let lease = src
            .next_frame(pool.try_acquire().unwrap())
            .unwrap()
            .unwrap();
        let r = snapshot(&runner.process(lease));
        assert_eq!(
            r[0].error.as_deref(),
            Some("panicky: cannot handle narrow zones")
        );
        // A failed zone reports its error alone: no field keeps a number
        // that might be another frame's.
        assert_eq!(r[0].mean, 0.0);
        assert_eq!(r[1].error, None);
        assert!(r[1].mean > 0.0);
        assert!(r[2]
            .error
            .as_deref()
            .unwrap()
            .contains("leaves the 160x90 frame"));
    }
    assert_eq!(runner.frames(), 3);
}

/// Issue 13: a zone that starts failing (moved out of the frame) reports
/// its error with every other field reset, not the previous frame's
/// numbers beside it; moved back, it reports fresh numbers again.
#[test]
fn a_failing_zone_keeps_no_stale_numbers() {
    let mut src = Synthetic::new(&I420, 160, 90, 2).unwrap();
    let zones = vec![Zone::new("z", Rect::new(10, 10, 40, 30))];
    let mut runner = RoiRunner::new(zones, all(), 1).unwrap();
    let mut pool = BufferPool::new(3, src.frame_len()).unwrap();
    let mut next = |runner: &mut RoiRunner| {
        let lease = src
            .next_frame(pool.try_acquire().unwrap())
            .unwrap()
            .unwrap();
        got(&runner.process(lease).zone(0).unwrap())
    };
    let good = next(&mut runner);
    assert!(good.error.is_none() && good.mean > 0.0 && good.edges > 0);
    assert!(good.colour.is_some_and(|c| c.mean('V').unwrap() > 0.0));
    assert!(runner.move_zone("z", Rect::new(150, 80, 40, 30)));
    for _ in 0..3 {
        let bad = next(&mut runner);
        assert!(bad
            .error
            .as_deref()
            .unwrap()
            .contains("leaves the 160x90 frame"));
        let colour = bad.colour.unwrap();
        assert!(colour.means[..colour.len].iter().all(|m| m.1 == 0.0));
        let cleared = Got {
            error: bad.error.clone(),
            colour: bad.colour,
            ..Got::default()
        };
        assert_eq!(bad, cleared);
    }
    runner.move_zone_at(0, Rect::new(0, 0, 0, 8));
    assert!(next(&mut runner)
        .error
        .as_deref()
        .unwrap()
        .contains("empty"));
    runner.move_zone_at(0, Rect::new(10, 10, 40, 30));
    let again = next(&mut runner);
    assert!(again.error.is_none() && again.mean > 0.0);
}

/// Issue 13: one buffer under Block feeding a runner (which keeps the
/// previous frame) deadlocked after the first frame; it is refused up
/// front, and two buffers run to the end.
#[test]
fn a_pool_too_small_for_the_runner_is_refused() {
    let src = Synthetic::new(&I420, 64, 48, 1).unwrap().with_frames(5);
    let err = Capture::start(src, 1, 1, Policy::Block).unwrap_err();
    assert!(err.to_string().contains("too small"), "{err}");
    let src = Synthetic::new(&I420, 64, 48, 1).unwrap().with_frames(5);
    let capture = Capture::start(src, 2, 1, Policy::Block).unwrap();
    let mut runner =
        RoiRunner::new(vec![Zone::new("z", Rect::new(0, 0, 16, 16))], all(), 1).unwrap();
    let mut n = 0;
    while let Some(f) = capture.recv() {
        runner.process(f.unwrap());
        n += 1;
    }
    assert_eq!(n, 5);
}

struct Slow;

impl Analyzer for Slow {
    type Output = ();
    fn name(&self) -> &'static str {
        "slow"
    }
    fn output(&self, _: &'static memview_pixel::PixelFormat) {}
    fn analyze(&self, _input: &ZoneInput<'_, '_>, _out: &mut ()) {
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_slow_analyzer_drops_frames_with_bounded_memory() {
    let src = Synthetic::new(&I420, 160, 90, 2)
        .unwrap()
        .realtime(2000, 1)
        .with_frames(300);
    let zones = vec![Zone::new("a", Rect::new(0, 0, 32, 32))];
    let mut runner = RoiRunner::new(zones, vec![Slow.into()], 1).unwrap();
    let capture = Capture::start(src, 4, 1, Policy::KeepLatest).unwrap();
    let mut n = 0u64;
    while let Some(f) = capture.recv() {
        runner.process(f.unwrap());
        n += 1;
    }
    let s = capture.stats();
    assert!(
        s.dropped > 0,
        "frames at 2000/s into a 2 ms analyzer must drop"
    );
    assert_eq!(n + s.dropped, 300, "every frame delivered or dropped");
}

#[test]
fn masks_pixelate_zones_in_place_and_nothing_else() {
    use memview_pixel::{Frame, FrameLayout, FrameMut, PixelError};
    use memview_roi::mask::mask_zones;
    let l = FrameLayout::tight(&I420, 64, 48).unwrap();
    let orig: Vec<u8> = (0..l.len()).map(|i| (i * 37 % 251) as u8).collect();
    let mut data = orig.clone();
    let zones = [Rect::new(0, 0, 16, 16), Rect::new(32, 16, 16, 16)];
    mask_zones(FrameMut::from_bytes(&mut data, &l).unwrap(), &zones, 8).unwrap();
    let (a, b) = (
        Frame::from_bytes(&orig, &l).unwrap(),
        Frame::from_bytes(&data, &l).unwrap(),
    );
    for y in 0..48 {
        for x in 0..64 {
            let inside = zones
                .iter()
                .any(|z| x >= z.x && x < z.x + z.w && y >= z.y && y < z.y + z.h);
            let (o, m) = (a.sample('Y', x, y).unwrap(), b.sample('Y', x, y).unwrap());
            if inside {
                // Constant over its 8x8 cell, equal to the cell's mean.
                let (cx, cy) = (x / 8 * 8, y / 8 * 8);
                let sum: u32 = (cy..cy + 8)
                    .flat_map(|yy| (cx..cx + 8).map(move |xx| (xx, yy)))
                    .map(|(xx, yy)| u32::from(a.sample('Y', xx, yy).unwrap()))
                    .sum();
                assert_eq!(u32::from(m), (sum + 32) / 64, "({x},{y})");
            } else {
                assert_eq!(o, m, "outside the zones at ({x},{y})");
            }
        }
    }
    let err = mask_zones(
        FrameMut::from_bytes(&mut data, &l).unwrap(),
        &[Rect::new(0, 0, 9, 9), Rect::new(9, 9, 4, 4)],
        4,
    )
    .unwrap_err();
    assert_eq!(err, PixelError::RoisOverlap { a: 0, b: 1 });
}

#[test]
fn overlapping_detections_are_masked_in_rounds() {
    use memview_pixel::{FrameLayout, FrameMut};
    use memview_roi::mask::{mask_all, mask_zones};
    let l = FrameLayout::tight(&I420, 64, 48).unwrap();
    let orig: Vec<u8> = (0..l.len()).map(|i| (i * 37 % 251) as u8).collect();
    let zones = [
        Rect::new(0, 0, 16, 16),
        Rect::new(8, 8, 16, 16),
        Rect::new(40, 0, 8, 8),
    ];
    let mut a = orig.clone();
    mask_all(&mut FrameMut::from_bytes(&mut a, &l).unwrap(), &zones, 8).unwrap();
    // The same as masking the zones one after another.
    let mut b = orig.clone();
    for z in &zones {
        mask_zones(
            FrameMut::from_bytes(&mut b, &l).unwrap(),
            std::slice::from_ref(z),
            8,
        )
        .unwrap();
    }
    assert!(a == b);
    assert!(a != orig);
}

/// The histogram pass writes the mean and variance as well (the fused
/// kernel), exactly as the mean pass computes them, and a runner given
/// both runs only the histogram.
#[test]
fn the_histogram_pass_gives_the_moments_and_the_mean_pass_is_skipped() {
    let mut src = Synthetic::new(&I420, 320, 180, 4).unwrap();
    let mut pool = BufferPool::new(2, src.frame_len()).unwrap();
    let lease = src
        .next_frame(pool.try_acquire().unwrap())
        .unwrap()
        .unwrap();
    let zones: Vec<Zone> = [Rect::new(0, 0, 320, 180), Rect::new(10, 20, 33, 17)]
        .into_iter()
        .enumerate()
        .map(|(i, r)| Zone::new(format!("z{i}"), r))
        .collect();
    let mut fused = RoiRunner::new(
        zones.clone(),
        vec![MeanVariance.into(), Histogram.into()],
        1,
    )
    .unwrap();
    let shown = format!("{fused:?}");
    assert!(shown.contains("[\"histogram\"]"), "{shown}");
    let mut alone = RoiRunner::new(zones, vec![MeanVariance.into()], 1).unwrap();
    let a = snapshot(&fused.process(lease.clone()));
    let b = snapshot(&alone.process(lease));
    for (x, y) in a.iter().zip(&b) {
        assert!(x.mean > 0.0 && x.variance > 0.0);
        assert_eq!(x.mean.to_bits(), y.mean.to_bits());
        assert_eq!(x.variance.to_bits(), y.variance.to_bits());
        assert!(x.histogram.iter().any(|&c| c > 0));
    }
}
