//! Layouts, ROIs and mutable splits: aligned and producer strides, snapping,
//! and every refusal.

use memview_pixel::format::{I420, NV12, RGB24, YUYV};
use memview_pixel::{Frame, FrameLayout, FrameMut, PixelError, Rect, Snap};

#[test]
fn aligned_layouts_pad_lines_and_planes() {
    let l = FrameLayout::aligned(&I420, 641, 479, 64).unwrap();
    let p: Vec<_> = l
        .planes()
        .iter()
        .map(|p| (p.offset, p.stride, p.rows, p.row_bytes))
        .collect();
    assert_eq!(
        p,
        [
            (0, 704, 479, 641),
            (337_216, 384, 240, 321),
            (429_376, 384, 240, 321)
        ]
    );
    assert_eq!(l.len(), 521_536);
    assert_eq!(
        FrameLayout::aligned(&I420, 64, 64, 3).unwrap_err(),
        PixelError::BadAlignment { align: 3 }
    );
    let y = FrameLayout::tight(&YUYV, 641, 2).unwrap();
    assert_eq!(
        y.plane(0).unwrap().row_bytes,
        1284,
        "yuyv rounds width up to a macropixel"
    );
}

#[test]
fn producer_strides_are_checked() {
    // A V4L2-style NV12 buffer: 1280-byte lines for a 1270-pixel frame.
    let l = FrameLayout::with_planes(
        &NV12,
        1270,
        720,
        &[(0, 1280), (1280 * 720, 1280)],
        1280 * 1080,
    )
    .unwrap();
    assert_eq!(l.plane(1).unwrap().rows, 360);
    let err = FrameLayout::with_planes(
        &NV12,
        1270,
        720,
        &[(0, 1200), (1280 * 720, 1280)],
        1280 * 1080,
    );
    assert!(matches!(
        err,
        Err(PixelError::StrideTooSmall { plane: 0, .. })
    ));
    let err = FrameLayout::with_planes(
        &NV12,
        1270,
        720,
        &[(0, 1280), (1280 * 700, 1280)],
        1280 * 1080,
    );
    assert_eq!(err.unwrap_err(), PixelError::PlanesOverlap { a: 0, b: 1 });
    let err = FrameLayout::with_planes(
        &NV12,
        1270,
        720,
        &[(0, 1280), (1280 * 720, 1280)],
        1280 * 1079,
    );
    assert!(matches!(err, Err(PixelError::BufferTooSmall { .. })));
    let err = FrameLayout::with_planes(&NV12, 1270, 720, &[(0, 1280)], 1 << 30);
    assert!(matches!(
        err,
        Err(PixelError::WrongPlaneCount {
            expected: 2,
            got: 1
        })
    ));
    let err = FrameLayout::with_planes(&NV12, 16, 16, &[(usize::MAX - 10, 16), (0, 16)], 1 << 30);
    assert_eq!(err.unwrap_err(), PixelError::TooLarge);
    assert!(matches!(
        FrameLayout::tight(&I420, 0, 10),
        Err(PixelError::BadDimensions { .. })
    ));
    assert!(matches!(
        FrameLayout::tight(&I420, 1 << 20, 10),
        Err(PixelError::BadDimensions { .. })
    ));
    let short = vec![0u8; 100];
    assert!(matches!(
        Frame::from_bytes(&short, &FrameLayout::tight(&I420, 16, 16).unwrap()),
        Err(PixelError::BufferTooSmall { .. })
    ));
}

#[test]
fn snapping_is_explicit() {
    let l = FrameLayout::tight(&I420, 641, 479).unwrap();
    let d = vec![0u8; l.len()];
    let f = Frame::from_bytes(&d, &l).unwrap();
    let r = f.roi(Rect::new(3, 5, 10, 10)).unwrap();
    assert_eq!(
        (r.requested(), r.effective()),
        (Rect::new(3, 5, 10, 10), Rect::new(2, 4, 12, 12))
    );
    assert!(matches!(
        f.roi_with(Rect::new(3, 5, 10, 10), Snap::Strict),
        Err(PixelError::Misaligned { .. })
    ));
    // The odd right and bottom edges are on the grid: the last chroma
    // sample covers them.
    let edge = f.roi_with(Rect::new(640, 478, 1, 1), Snap::Strict).unwrap();
    assert_eq!(edge.plane(1).unwrap().shape(), &[1, 1]);
    assert!(matches!(
        f.roi(Rect::new(600, 0, 42, 1)),
        Err(PixelError::OutOfFrame { .. })
    ));
    assert!(matches!(
        f.roi(Rect::new(usize::MAX, 0, 2, 1)),
        Err(PixelError::OutOfFrame { .. })
    ));
    assert_eq!(
        f.clamp(Rect::new(600, 470, 100, 100)),
        Rect::new(600, 470, 41, 9)
    );
    // ROIs of ROIs compose, in parent coordinates.
    let outer = f.roi(Rect::new(100, 100, 200, 200)).unwrap();
    let inner = outer.roi(Rect::new(11, 20, 10, 10)).unwrap();
    assert_eq!(inner.effective(), Rect::new(110, 120, 12, 10));
    let direct = f.roi(Rect::new(111, 120, 10, 10)).unwrap();
    assert_eq!(inner.to_vec(), direct.to_vec());
    // Packed 4:2:2 needs an even x.
    let ly = FrameLayout::tight(&YUYV, 64, 8).unwrap();
    let dy = vec![0u8; ly.len()];
    let fy = Frame::from_bytes(&dy, &ly).unwrap();
    assert_eq!(
        fy.roi(Rect::new(3, 3, 4, 2)).unwrap().effective(),
        Rect::new(2, 3, 6, 2)
    );
}

#[test]
fn disjoint_mutable_rois_mask_in_parallel() {
    let l = FrameLayout::tight(&RGB24, 64, 48).unwrap();
    let mut d = vec![0u8; l.len()];
    let f = FrameMut::from_bytes(&mut d, &l).unwrap();
    let rects = [
        Rect::new(0, 0, 10, 10),
        Rect::new(20, 20, 10, 10),
        Rect::new(50, 0, 14, 48),
    ];
    let mut rois = f.split_rois(&rects, Snap::Outward).unwrap();
    std::thread::scope(|s| {
        for (i, r) in rois.iter_mut().enumerate() {
            s.spawn(move || r.frame_mut().plane_mut(0).unwrap().fill(i as u8 + 1));
        }
    });
    drop(rois);
    let px = |x: usize, y: usize| d[(y * 64 + x) * 3];
    assert_eq!(
        (
            px(0, 0),
            px(9, 9),
            px(10, 10),
            px(25, 25),
            px(63, 47),
            px(49, 0)
        ),
        (1, 1, 0, 2, 3, 0)
    );
    let f = FrameMut::from_bytes(&mut d, &l).unwrap();
    let err = f
        .split_rois(
            &[Rect::new(0, 0, 10, 10), Rect::new(9, 9, 2, 2)],
            Snap::Outward,
        )
        .unwrap_err();
    assert_eq!(err, PixelError::RoisOverlap { a: 0, b: 1 });
    // Snapping can create the overlap: 4:2:0 rectangles that touch.
    let li = FrameLayout::tight(&I420, 64, 48).unwrap();
    let mut di = vec![0u8; li.len()];
    let fi = FrameMut::from_bytes(&mut di, &li).unwrap();
    let err = fi
        .split_rois(
            &[Rect::new(0, 0, 3, 3), Rect::new(3, 0, 3, 3)],
            Snap::Outward,
        )
        .unwrap_err();
    assert_eq!(err, PixelError::RoisOverlap { a: 0, b: 1 });
}
