//! Issue 13: deep (10/12/16-bit) luma is analysed by its sample values,
//! the histogram cannot wrap, and the privacy mask masks every format.

use memview_capture::{BufferPool, FrameSource, Synthetic};
use memview_core::View;
use memview_pixel::format::{GRAY16LE, I420P10LE, P010LE, YUYV};
use memview_pixel::{FrameLayout, FrameMut, PixelFormat, Rect};
use memview_roi::analyzers::{Edges, Histogram, MeanVariance, Motion};
use memview_roi::{mask, Analyzer, RoiRunner, Samples, Zone, ZoneInput, ZoneResult};

use crate::reference::{all, box_zones, naive};

/// The zone's luma values (shifted down), row by row, read the slow way.
fn values(frame: &memview_pixel::Frame<'_>, r: Rect, s: Samples) -> Vec<Vec<u64>> {
    let roi = frame.roi(r).unwrap();
    roi.plane(0)
        .unwrap()
        .rows()
        .unwrap()
        .map(|row| {
            row.chunks_exact(2)
                .map(|c| u64::from(u16::from_le_bytes([c[0], c[1]]) >> s.shift))
                .collect()
        })
        .collect()
}

#[test]
fn deep_luma_is_analysed_by_value() {
    for format in [&I420P10LE, &P010LE, &GRAY16LE] {
        let s = Samples::of(format).unwrap();
        assert_eq!(s.bytes, 2, "{}", format.name);
        let mut src = Synthetic::new(format, 160, 96, 3).unwrap();
        let zones = box_zones(&src, Rect::new(2, 4, 50, 30));
        // One runner with the mean pass, one with the histogram (which
        // computes the moments for both): both must give exact moments.
        // The synthetic boxes sit far above 255 in 10 bits: a byte reading
        // would be nowhere near.
        let mut above_a_byte = false;
        for with_hist in [false, true] {
            let analyzers: Vec<Box<dyn Analyzer>> = if with_hist {
                all()
            } else {
                vec![Box::new(MeanVariance), Box::new(Motion), Box::new(Edges)]
            };
            let mut runner = RoiRunner::new(zones.clone(), analyzers, 2).unwrap();
            let mut pool = BufferPool::new(4, src.frame_len()).unwrap();
            let mut prev: Option<Vec<Vec<Vec<u64>>>> = None;
            for _ in 0..6 {
                let lease = src
                    .next_frame(pool.try_acquire().unwrap())
                    .unwrap()
                    .unwrap();
                let cur: Vec<_> = zones
                    .iter()
                    .map(|z| values(lease.frame(), z.rect, s))
                    .collect();
                let got = runner.process(lease).to_vec();
                for (i, g) in got.iter().enumerate() {
                    let want = naive(&cur[i], prev.as_ref().map(|p| p[i].as_slice()), s.depth - 8);
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
                }
                prev = Some(cur);
            }
        }
        assert!(above_a_byte, "{}", format.name);
    }
}

#[test]
fn packed_luma_is_refused_up_front_and_per_zone() {
    let e = RoiRunner::check_format(&YUYV).unwrap_err().to_string();
    assert!(e.contains("YUYV") && e.contains("luma"), "{e}");
    let mut src = Synthetic::new(&YUYV, 64, 32, 1).unwrap();
    let mut runner =
        RoiRunner::new(vec![Zone::new("z", Rect::new(0, 0, 16, 16))], all(), 1).unwrap();
    let mut pool = BufferPool::new(2, src.frame_len()).unwrap();
    let lease = src
        .next_frame(pool.try_acquire().unwrap())
        .unwrap()
        .unwrap();
    let r = &runner.process(lease)[0];
    assert!(r.error.as_deref().unwrap().contains("interleaves"), "{r:?}");
    assert_eq!(r.mean, 0.0);
}

/// A zone of 2^32 equal samples: 64-bit bins, no wrap. A stride-0 view
/// repeats one 65536-byte row 65536 times, so no 4 GiB buffer is needed.
#[test]
fn histogram_counts_past_u32() {
    let row = vec![7u8; 1 << 16];
    let v = View::from_parts(&row, "B", 0, &[1 << 16, 1 << 16], &[0, 1]).unwrap();
    let mut out = ZoneResult::default();
    Histogram.analyze(&ZoneInput::new(&v, None), &mut out);
    assert_eq!(out.histogram[7], 1u64 << 32);
    assert_eq!(out.histogram.iter().sum::<u64>(), 1u64 << 32);
    assert_eq!((out.mean, out.variance), (7.0, 0.0));
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
