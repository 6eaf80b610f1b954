//! Property test: for random formats, sizes, paddings and rectangles, the
//! ROI's copy-out equals a naive per-sample copy from the padded frame, and
//! the borrowed ROI (`Frame::roi_ref`) equals the owned one in every way.

use memview_pixel::format::ALL;
use memview_pixel::{Frame, FrameLayout, Rect, Snap};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn roi_bytes_equal_a_naive_copy(
        fi in 0..ALL.len(), w in 1usize..70, h in 1usize..40, align_log in 0u32..7,
        rx in 0.0f64..1.0, ry in 0.0f64..1.0, rw in 0.0f64..1.0, rh in 0.0f64..1.0,
    ) {
        let f = ALL[fi];
        let layout = FrameLayout::aligned(f, w, h, 1 << align_log).unwrap();
        let data: Vec<u8> = (0..layout.len()).map(|i| (i * 31 % 251) as u8).collect();
        let frame = Frame::from_bytes(&data, &layout).unwrap();
        let x = (rx * w as f64) as usize;
        let y = (ry * h as f64) as usize;
        let rect = Rect::new(x, y, ((w - x) as f64 * rw) as usize, ((h - y) as f64 * rh) as usize);
        if rect.w == 0 || rect.h == 0 {
            // Empty rectangles are refused, by both kinds of ROI.
            prop_assert!(frame.roi(rect).is_err() && frame.roi_ref(rect).is_err());
            return Ok(());
        }
        let roi = frame.roi(rect).unwrap();
        let e = roi.effective();
        prop_assert!(e.x <= rect.x && e.y <= rect.y && e.x + e.w >= rect.x + rect.w && e.y + e.h >= rect.y + rect.h);
        // The naive reference: walk each plane's lines in the padded buffer.
        let mut want = Vec::new();
        for (p, pl) in layout.planes().iter().enumerate() {
            let (sw, sh) = f.plane_subsampling(p);
            let g = f.plane_group_bytes(p);
            let up = |v: usize, s: u32| v.div_ceil(1 << s);
            for row in (e.y >> sh)..up(e.y + e.h, sh) {
                for grp in (e.x >> sw)..up(e.x + e.w, sw) {
                    for b in 0..g {
                        want.push(data[pl.offset + row * pl.stride + grp * g + b]);
                    }
                }
            }
        }
        prop_assert_eq!(&roi.to_vec(), &want);

        // The borrowed ROI: the same rectangles, plane layouts and bytes.
        let r = frame.roi_ref(rect).unwrap();
        prop_assert_eq!((r.requested(), r.effective()), (roi.requested(), e));
        prop_assert_eq!((r.width(), r.height(), r.format().name), (roi.width(), roi.height(), f.name));
        for p in 0..4 {
            match (roi.plane(p), r.plane(p)) {
                (Some(a), Some(b)) => {
                    prop_assert_eq!((a.shape(), a.strides(), a.offset()), (b.shape(), b.strides(), b.offset()));
                    prop_assert!(roi.rows(p).unwrap().eq(r.rows(p).unwrap()));
                }
                (None, None) => {}
                (a, b) => prop_assert!(false, "plane {} differs: {:?} {:?}", p, a, b),
            }
        }
        prop_assert_eq!(r.tight_len(), want.len());
        let mut out = vec![0u8; want.len()];
        r.copy_to(&mut out).unwrap();
        prop_assert_eq!(&out, &want);
        prop_assert!(r.copy_to(&mut vec![0u8; want.len() + 1]).is_err());
        prop_assert_eq!(r.to_roi().to_vec(), want);
        // ROIs of ROIs compose the same way.
        let sub = Rect::new(e.w / 3, e.h / 4, (e.w / 2).max(1), (e.h / 2).max(1));
        let (a, b) = (roi.roi(sub).unwrap(), r.roi_ref(sub).unwrap());
        prop_assert_eq!((a.requested(), a.effective()), (b.requested(), b.effective()));
        prop_assert_eq!(a.to_vec(), b.to_roi().to_vec());
        // And a borrowed ROI of the owned ROI's own frame.
        let c = roi.roi_ref(sub).unwrap();
        prop_assert_eq!(c.effective().w, a.effective().w);
        let mut tight = vec![0u8; c.tight_len()];
        c.copy_to(&mut tight).unwrap();
        prop_assert_eq!(tight, a.to_vec());
        // Refusals agree: strict snapping, and rectangles that leave the frame.
        prop_assert_eq!(
            frame.roi_with(rect, Snap::Strict).is_ok(),
            frame.roi_ref_with(rect, Snap::Strict).is_ok()
        );
        let wide = Rect::new(x, y, w - x + 1, rect.h);
        prop_assert_eq!(frame.roi(wide).unwrap_err(), frame.roi_ref(wide).unwrap_err());
    }
}
