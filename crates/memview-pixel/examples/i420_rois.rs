//! ROIs of an I420 frame: two zones cut out of a 1080p frame as views of
//! its three planes (snapped to the 4:2:0 chroma grid), one converted to
//! RGB, the other copied out tight, byte for byte what `ffmpeg -vf crop`
//! writes.
//!
//! ```text
//! cargo run -p memview-pixel --example i420_rois
//! ```

use memview_pixel::convert::{yuv_to_rgb, Matrix, Range};
use memview_pixel::format::{I420, RGB24};
use memview_pixel::{Frame, FrameLayout, FrameMut, Rect};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let layout = FrameLayout::tight(&I420, 1920, 1080)?;
    // A frame as a decoder leaves it: luma a gradient, chroma neutral.
    let mut bytes = vec![128u8; layout.len()];
    for (i, b) in bytes[..1920 * 1080].iter_mut().enumerate() {
        *b = (16 + (i % 1920) * 219 / 1919) as u8;
    }
    let frame = Frame::from_bytes(&bytes, &layout)?;

    // A face and a plate; odd coordinates snap outward to the chroma grid.
    let face = frame.roi(Rect::new(801, 400, 200, 199))?;
    let plate = frame.roi(Rect::new(1300, 900, 240, 60))?;
    assert_eq!(face.effective(), Rect::new(800, 400, 202, 200));
    for (name, roi) in [("face", &face), ("plate", &plate)] {
        let shapes: Vec<_> = (0..3)
            .filter_map(|p| roi.frame().plane(p).map(|v| v.shape().to_vec()))
            .collect();
        println!("{name}: {:?}, plane shapes {shapes:?}", roi.effective());
    }

    // The face to RGB: the ROI is a frame of its own size.
    let e = face.effective();
    let rgb_layout = FrameLayout::tight(&RGB24, e.w, e.h)?;
    let mut rgb = vec![0u8; rgb_layout.len()];
    yuv_to_rgb(
        face.frame(),
        &mut FrameMut::from_bytes(&mut rgb, &rgb_layout)?,
        Matrix::Bt709,
        Range::Limited,
    )?;
    // Neutral chroma: grey pixels, R = G = B.
    assert!(rgb.chunks(3).all(|p| p[0] == p[1] && p[1] == p[2]));
    println!(
        "face as RGB24: {} bytes, first pixel {:?}",
        rgb.len(),
        &rgb[..3]
    );

    // The plate copied out tight: Y, then U, then V.
    let tight = plate.frame().to_vec();
    assert_eq!(tight.len(), 240 * 60 + 2 * 120 * 30);
    println!("plate copied out: {} bytes", tight.len());
    Ok(())
}
