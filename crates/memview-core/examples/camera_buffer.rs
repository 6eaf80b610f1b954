//! A strided view over a camera's buffer: a YUYV 4:2:2 frame as a V4L2
//! driver hands it over, each line padded to a 64-byte `bytesperline`.
//! The luma of a zone is a view of every second byte of its rows: no copy.
//!
//! ```text
//! cargo run -p memview-core --example camera_buffer
//! ```

use memview_core::{MemOrder, View};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (width, height) = (100usize, 60usize);
    // YUYV: 2 bytes a pixel; the driver pads each line to 64 bytes.
    let bytesperline = (width * 2).div_ceil(64) * 64;
    let mut buffer = vec![0u8; bytesperline * height];
    for (y, line) in buffer.chunks_mut(bytesperline).enumerate() {
        for x in 0..width {
            line[2 * x] = (x + y) as u8; // Y
            line[2 * x + 1] = 128; // U or V
        }
    }

    // The luma plane: byte 0 of every pixel, a 2-D view whose strides
    // skip the chroma bytes and the line padding.
    let luma = View::from_parts(
        &buffer,
        "B",
        0,
        &[height, width],
        &[bytesperline as isize, 2],
    )?;
    // U: byte 1 of every pixel pair (4 bytes a pair), half the width.
    let u = View::from_parts(
        &buffer,
        "B",
        1,
        &[height, width / 2],
        &[bytesperline as isize, 4],
    )?;
    assert_eq!(u.get::<u8>(&[5, 7])?, 128);
    assert!(!luma.is_c_contiguous());

    // A zone of it, O(1); read in place, copied only when asked.
    let zone = luma.region(10..20, 30..46)?;
    let mut sum = 0u64;
    for y in 0..zone.shape()[0] {
        for x in 0..zone.shape()[1] {
            sum += u64::from(zone.get::<u8>(&[y as isize, x as isize])?);
        }
    }
    let tight = zone.to_bytes(MemOrder::C);
    assert_eq!(tight.len(), 10 * 16);
    assert_eq!(sum, tight.iter().map(|&b| u64::from(b)).sum::<u64>());
    println!(
        "zone 16x10 at (30, 10): strides {:?}, mean luma {:.2}, {} bytes when copied out",
        zone.strides(),
        sum as f64 / tight.len() as f64,
        tight.len()
    );
    Ok(())
}
