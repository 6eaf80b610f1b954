//! Issue 13 and 14: deep (10/12/16-bit) and packed (YUYV, UYVY) luma is
//! analysed by its sample values, colour reads every component, RGB is
//! refused up front for luma, and the privacy mask masks every format.

use memview_capture::{BufferPool, FrameSource, Synthetic};
use memview_pixel::format::{GRAY16LE, I420P10LE, P010LE, RGB24, UYVY, YUYV};
use memview_pixel::{FrameLayout, FrameMut, PixelFormat, Rect};
use memview_roi::analyzers::{Channel, Colour, Edges, MeanVariance, Motion};
use memview_roi::{mask, BoxedAnalyzer, RoiRunner, Zone};

use crate::reference::{all, box_zones, luma_values, naive, naive_colour, snapshot};

/// Every built-in analyzer against the naive reference on synthetic frames
/// of `format`, luma read pixel by pixel through `Frame::sample`.
fn check_format(format: &'static PixelFormat, extra: Rect) -> bool {
    let luma = Channel::luma(format).unwrap();
    let mut src = Synthetic::new(format, 160, 96, 3).unwrap();
    let zones = box_zones(&src, extra);
    let mut above_a_byte = false;
    // One runner with the mean pass, one with the histogram (which
    // computes the moments for both): both must give exact moments.
    for with_hist in [false, true] {
        let analyzers: Vec<BoxedAnalyzer> = if with_hist {
            all()
        } else {
            vec![
                MeanVariance.into(),
                Motion.into(),
                Edges.into(),
                Colour.into(),
            ]
        };
        let mut runner = RoiRunner::new(zones.clone(), analyzers, 2).unwrap();
        runner.check_format(format).unwrap();
        let mut pool = BufferPool::new(4, src.frame_len()).unwrap();
        let mut prev: Option<Vec<Vec<Vec<u64>>>> = None;
        for _ in 0..6 {
            let lease = src
                .next_frame(pool.try_acquire().unwrap())
                .unwrap()
                .unwrap();
            let cur: Vec<_> = zones
                .iter()
                .map(|z| luma_values(lease.frame(), z.rect))
                .collect();
            let colours: Vec<_> = zones
                .iter()
                .map(|z| naive_colour(lease.frame(), z.rect))
                .collect();
            let got = snapshot(&runner.process(lease));
            for (i, g) in got.iter().enumerate() {
                let want = naive(
                    &cur[i],
                    prev.as_ref().map(|p| p[i].as_slice()),
                    luma.depth - 8,
                );
                let at = format!("{} zone {i} histogram {with_hist}", format.name);
                assert_eq!(g.error, None, "{at}");
                assert!(
                    (g.mean - want.mean).abs() < 1e-9,
                    "{at}: {} vs {}",
                    g.mean,
                    want.mean
                );
                assert!((g.variance - want.variance).abs() < 1e-6, "{at}");
                above_a_byte |= want.mean > 255.0;
                assert_eq!((g.motion, g.edges), (want.motion, want.edges), "{at}");
                if with_hist {
                    assert_eq!(g.histogram, want.histogram, "{at}");
                }
                let colour = g.colour.unwrap();
                assert_eq!(colour.len, colours[i].len(), "{at}");
                for &(c, m) in &colours[i] {
                    assert!((colour.mean(c).unwrap() - m).abs() < 1e-9, "{at} {c}");
                }
            }
            prev = Some(cur);
        }
    }
    above_a_byte
}

#[test]
fn deep_luma_is_analysed_by_value() {
    for format in [&I420P10LE, &P010LE, &GRAY16LE] {
        assert_eq!(Channel::luma(format).unwrap().bytes, 2, "{}", format.name);
        // The synthetic boxes sit far above 255 in 10 bits: a byte reading
        // would be nowhere near.
        assert!(
            check_format(format, Rect::new(2, 4, 50, 30)),
            "{}",
            format.name
        );
    }
}

/// YUYV and UYVY, the common USB webcam formats: luma every second byte,
/// zones at odd x snapped outward to the 2-pixel group.
#[test]
fn packed_luma_is_analysed_by_value() {
    for format in [&YUYV, &UYVY] {
        let luma = Channel::luma(format).unwrap();
        assert_eq!((luma.step, luma.bytes), (2, 1), "{}", format.name);
        check_format(format, Rect::new(3, 5, 41, 30));
    }
}

#[test]
fn rgb_is_refused_for_luma_up_front_and_served_by_colour() {
    let mut runner =
        RoiRunner::new(vec![Zone::new("z", Rect::new(0, 0, 16, 16))], all(), 1).unwrap();
    let e = runner.check_format(&RGB24).unwrap_err().to_string();
    assert!(e.contains("RGB24") && e.contains("no luma"), "{e}");
    // Per zone too, when a stream of it arrives anyway.
    let mut src = Synthetic::new(&RGB24, 64, 32, 1).unwrap();
    let mut pool = BufferPool::new(2, src.frame_len()).unwrap();
    let lease = src
        .next_frame(pool.try_acquire().unwrap())
        .unwrap()
        .unwrap();
    let r = &snapshot(&runner.process(lease))[0];
    assert!(r.error.as_deref().unwrap().contains("no luma"), "{r:?}");
    assert_eq!(r.mean, 0.0);
    // Colour alone reads it.
    let mut colour = RoiRunner::new(
        vec![Zone::new("z", Rect::new(3, 2, 16, 16))],
        vec![Colour.into()],
        1,
    )
    .unwrap();
    colour.check_format(&RGB24).unwrap();
    let lease = src
        .next_frame(pool.try_acquire().unwrap())
        .unwrap()
        .unwrap();
    let want = naive_colour(lease.frame(), Rect::new(3, 2, 16, 16));
    let g = &snapshot(&colour.process(lease))[0];
    assert_eq!(g.error, None);
    let c = g.colour.unwrap();
    for (name, m) in want {
        assert!((c.mean(name).unwrap() - m).abs() < 1e-9, "{name}");
    }
}

/// The reference pixelation: each `block` cell of each plane replaced by
/// the rounded mean of its values (shifted down and back up).
fn naive_mask(format: &'static PixelFormat, bytes: &mut [u8], layout: &FrameLayout, block: usize) {
    for c in format.components {
        let pl = layout.plane(c.plane).unwrap();
        let (sw, sh) = format.plane_subsampling(c.plane);
        let (bw, bh) = ((block >> sw).max(1), (block >> sh).max(1));
        let sb = format.sample_bytes;
        let n = pl.row_bytes / c.step;
        let at = |y: usize, x: usize| pl.offset + y * pl.stride + c.offset + x * c.step;
        let get = |b: &[u8], i: usize| {
            let v = if sb == 2 {
                u16::from_le_bytes([b[i], b[i + 1]])
            } else {
                u16::from(b[i])
            };
            u64::from(v >> c.shift)
        };
        for y0 in (0..pl.rows).step_by(bh) {
            for x0 in (0..n).step_by(bw) {
                let cells: Vec<(usize, usize)> = (y0..(y0 + bh).min(pl.rows))
                    .flat_map(|y| (x0..(x0 + bw).min(n)).map(move |x| (y, x)))
                    .collect();
                let sum: u64 = cells.iter().map(|&(y, x)| get(bytes, at(y, x))).sum();
                let cnt = cells.len() as u64;
                let mean = (((sum + cnt / 2) / cnt) as u16) << c.shift;
                for &(y, x) in &cells {
                    let i = at(y, x);
                    if sb == 2 {
                        bytes[i..i + 2].copy_from_slice(&mean.to_le_bytes());
                    } else {
                        bytes[i] = mean as u8;
                    }
                }
            }
        }
    }
}

/// The mask writes deep formats masked (it once wrote them back untouched):
/// equal to the reference, changed where the picture was not flat, and
/// P010's six padding bits still zero.
#[test]
fn the_mask_masks_deep_formats() {
    for format in [&I420P10LE, &P010LE, &GRAY16LE, &memview_pixel::format::I420] {
        let (w, h) = (96, 64);
        let layout = FrameLayout::tight(format, w, h).unwrap();
        let mut src = Synthetic::new(format, w, h, 2).unwrap();
        let mut pool = BufferPool::new(1, src.frame_len()).unwrap();
        let lease = src
            .next_frame(pool.try_acquire().unwrap())
            .unwrap()
            .unwrap();
        let mut orig = vec![0u8; layout.len()];
        lease.frame().copy_to(&mut orig).unwrap();
        let zone = Rect::new(16, 8, 48, 40);
        let mut got = orig.clone();
        {
            let mut f = FrameMut::from_bytes(&mut got, &layout).unwrap();
            mask::mask_all(&mut f, &[zone], 16).unwrap();
        }
        // The reference masks the zone's own tight copy.
        let zl = FrameLayout::tight(format, zone.w, zone.h).unwrap();
        let frame = memview_pixel::Frame::from_bytes(&orig, &layout).unwrap();
        let mut zone_bytes = frame.roi(zone).unwrap().to_vec();
        naive_mask(format, &mut zone_bytes, &zl, 16);
        let got_frame = memview_pixel::Frame::from_bytes(&got, &layout).unwrap();
        let got_zone = got_frame.roi(zone).unwrap().to_vec();
        assert_eq!(got_zone, zone_bytes, "{}", format.name);
        assert_ne!(
            got_zone,
            frame.roi(zone).unwrap().to_vec(),
            "{} unmasked",
            format.name
        );
        // Outside the zone nothing changed.
        let outside = Rect::new(0, 0, w, 8);
        assert_eq!(
            got_frame.roi(outside).unwrap().to_vec(),
            frame.roi(outside).unwrap().to_vec()
        );
        if format.name == "P010LE" {
            assert!(got.chunks_exact(2).all(|c| c[0] & 0x3f == 0));
        }
    }
}

/// Thousands of zones that all overlap are grouped in n^2, not n^3, and all
/// masked.
#[test]
fn the_mask_takes_thousands_of_overlapping_zones() {
    let layout = FrameLayout::tight(&memview_pixel::format::I420, 256, 128).unwrap();
    let mut bytes: Vec<u8> = (0..layout.len()).map(|i| (i * 7 % 251) as u8).collect();
    let zones: Vec<Rect> = (0..3000)
        .map(|i| Rect::new(i % 50, i % 30, 60, 40))
        .collect();
    let mut f = FrameMut::from_bytes(&mut bytes, &layout).unwrap();
    mask::mask_all(&mut f, &zones, 8).unwrap();
    // Zones past usize::MAX are refused, not wrapped into an overlap.
    let far = [Rect::new(usize::MAX - 1, 0, 4, 4), Rect::new(0, 0, 8, 8)];
    let mut f = FrameMut::from_bytes(&mut bytes, &layout).unwrap();
    assert!(mask::mask_all(&mut f, &far, 8).is_err());
}
