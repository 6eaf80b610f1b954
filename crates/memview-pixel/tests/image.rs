//! `image` interop (feature `image`): image-rs's own buffers, crops and
//! strided samples as the oracle.

use image::flat::{FlatSamples, SampleLayout};
use image::{imageops, GenericImageView, ImageBuffer, Luma, Rgb, Rgba};
use memview_pixel::format::RGB24;
use memview_pixel::image::view_of_flat;
use memview_pixel::{Frame, PixelError, Rect};

fn rgb(w: u32, h: u32) -> ImageBuffer<Rgb<u8>, Vec<u8>> {
    ImageBuffer::from_fn(w, h, |x, y| Rgb([x as u8, y as u8, (x * 7 + y * 3) as u8]))
}

#[test]
fn an_image_is_a_frame_of_its_own_bytes() {
    let img = rgb(64, 40);
    let frame = Frame::from_image(&img).unwrap();
    assert!(core::ptr::eq(frame.format(), &RGB24));
    let plane = frame.plane(0).unwrap();
    assert_eq!(plane.as_ptr(), img.as_raw().as_ptr(), "no copy");
    // An ROI's pixels are image's, and its tight copy is image's crop.
    let r = Rect::new(9, 5, 20, 11);
    let roi = frame.roi(r).unwrap();
    for y in 0..r.h {
        for x in 0..r.w {
            let p = img.get_pixel((r.x + x) as u32, (r.y + y) as u32);
            for c in 0..3 {
                let got: u8 = roi
                    .frame()
                    .plane(0)
                    .unwrap()
                    .get(&[y as isize, x as isize, c as isize])
                    .unwrap();
                assert_eq!(got, p.0[c]);
            }
        }
    }
    let crop = imageops::crop_imm(&img, r.x as u32, r.y as u32, r.w as u32, r.h as u32).to_image();
    assert_eq!(roi.frame().to_image_owned::<Rgb<u8>>().unwrap(), crop);
    // The ROI's lines have gaps: no zero-copy image of it.
    assert!(matches!(
        roi.frame().to_image::<Rgb<u8>>(),
        Err(PixelError::View(_))
    ));
}

#[test]
fn a_packed_frame_is_an_image_without_a_copy() {
    let img: ImageBuffer<Rgba<u8>, Vec<u8>> =
        ImageBuffer::from_fn(33, 17, |x, y| Rgba([x as u8, y as u8, 9, 255]));
    let frame = Frame::from_image(&img).unwrap();
    let back = frame.to_image::<Rgba<u8>>().unwrap();
    assert_eq!(back.as_raw().as_ptr(), img.as_raw().as_ptr());
    assert_eq!(back.get_pixel(32, 16), img.get_pixel(32, 16));
    // Strict formats: RGBA bytes are not luma, nor RGB.
    assert!(matches!(
        frame.to_image::<Luma<u8>>(),
        Err(PixelError::Unsupported { .. })
    ));
    assert!(matches!(
        frame.to_image_owned::<Rgb<u8>>(),
        Err(PixelError::Unsupported { .. })
    ));
    let gray: ImageBuffer<Luma<u8>, Vec<u8>> =
        ImageBuffer::from_fn(5, 3, |x, y| Luma([(x + 10 * y) as u8]));
    let g = Frame::from_image(&gray).unwrap();
    assert_eq!(g.format().name, "GRAY8");
    assert_eq!(
        *g.to_image::<Luma<u8>>().unwrap().as_raw(),
        &gray.as_raw()[..]
    );
}

#[test]
fn flat_samples_are_views_with_images_strides() {
    let img = rgb(12, 7);
    let flat = img.as_flat_samples();
    let v = view_of_flat(&flat).unwrap();
    assert_eq!(v.shape(), &[7, 12, 3]);
    // A column-major layout of the same samples: image's strides, kept.
    let (w, h) = (6u32, 4u32);
    let samples: Vec<u8> = (0..(w * h * 3) as u8).collect();
    let cm = FlatSamples {
        samples: &samples[..],
        layout: SampleLayout::column_major_packed(3, w, h),
        color_hint: None,
    };
    let v = view_of_flat(&cm).unwrap();
    assert_eq!(v.strides(), &[3, 3 * h as isize, 1]);
    let view = cm.as_view::<Rgb<u8>>().unwrap();
    for y in 0..h {
        for x in 0..w {
            let p = view.get_pixel(x, y);
            for c in 0..3 {
                assert_eq!(
                    v.get::<u8>(&[y as isize, x as isize, c as isize]).unwrap(),
                    p.0[c]
                );
            }
        }
    }
}
