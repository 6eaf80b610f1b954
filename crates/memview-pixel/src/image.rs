//! `image` interop (feature `image`): an `ImageBuffer` as a [`Frame`] and
//! a packed frame as an `ImageBuffer`, and `FlatSamples` (image's strided
//! layout) as a [`View`], all without a copy where the layouts allow.
//!
//! Formats both know: `Luma<u8>` (GRAY8), `Rgb<u8>` (RGB24) and
//! `Rgba<u8>` (RGBA). An image of another pixel type, or a frame of
//! another format, is refused rather than reinterpreted.

use core::ops::Deref;

use image::flat::{FlatSamples, SampleLayout};
use image::{ImageBuffer, Luma, Pixel, Rgb, Rgba};
use memview_core::View;

use crate::format::{PixelFormat, GRAY8, RGB24, RGBA};
use crate::{Frame, FrameLayout, PixelError};

/// An `image` pixel type with a memview pixel format of the same bytes.
pub trait ImagePixel: Pixel<Subpixel = u8> + sealed::Sealed {
    /// The frame format of an image of these pixels.
    const FORMAT: &'static PixelFormat;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for image::Luma<u8> {}
    impl Sealed for image::Rgb<u8> {}
    impl Sealed for image::Rgba<u8> {}
}

impl ImagePixel for Luma<u8> {
    const FORMAT: &'static PixelFormat = &GRAY8;
}
impl ImagePixel for Rgb<u8> {
    const FORMAT: &'static PixelFormat = &RGB24;
}
impl ImagePixel for Rgba<u8> {
    const FORMAT: &'static PixelFormat = &RGBA;
}

fn unsupported(format: &PixelFormat) -> PixelError {
    PixelError::Unsupported {
        from: format.name,
        to: "an image::ImageBuffer of that pixel type",
    }
}

impl<'a> Frame<'a> {
    /// The image as a frame of [`ImagePixel::FORMAT`] over its own bytes,
    /// no copy: ROIs, views and conversions of memview apply to it.
    ///
    /// ```
    /// use image::{ImageBuffer, Rgb};
    /// use memview_pixel::{Frame, Rect};
    ///
    /// let img: ImageBuffer<Rgb<u8>, Vec<u8>> = ImageBuffer::from_fn(64, 48, |x, y| Rgb([x as u8, y as u8, 0]));
    /// let frame = Frame::from_image(&img)?;
    /// let roi = frame.roi(Rect::new(10, 5, 8, 4))?;
    /// assert_eq!(roi.frame().plane(0).unwrap().get::<u8>(&[0, 0, 0])?, 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_image<P, C>(img: &'a ImageBuffer<P, C>) -> Result<Frame<'a>, PixelError>
    where
        P: ImagePixel,
        C: Deref<Target = [u8]>,
    {
        let layout = FrameLayout::tight(P::FORMAT, img.width() as usize, img.height() as usize)?;
        let bytes: &'a [u8] = img.as_raw();
        Frame::from_bytes(&bytes[..layout.len()], &layout)
    }

    /// The frame as an `ImageBuffer` over its bytes, no copy: the frame
    /// must be of `P`'s format with tight lines (a whole packed frame; an
    /// ROI narrower than its frame has gaps between its lines, so copy it
    /// with [`Frame::to_image_owned`]).
    pub fn to_image<P: ImagePixel>(&self) -> Result<ImageBuffer<P, &[u8]>, PixelError> {
        if !core::ptr::eq(self.format(), P::FORMAT) {
            return Err(unsupported(self.format()));
        }
        let plane = self.plane(0).ok_or_else(|| unsupported(self.format()))?;
        let bytes = plane.as_bytes()?;
        let (w, h) = dims(self.width(), self.height())?;
        ImageBuffer::from_raw(w, h, bytes).ok_or(PixelError::WrongLength {
            got: bytes.len(),
            expected: self.tight_len(),
        })
    }

    /// The frame copied into an owned `ImageBuffer` (any frame of `P`'s
    /// format, ROIs included).
    pub fn to_image_owned<P: ImagePixel>(&self) -> Result<ImageBuffer<P, Vec<u8>>, PixelError> {
        if !core::ptr::eq(self.format(), P::FORMAT) {
            return Err(unsupported(self.format()));
        }
        let bytes = self.to_vec();
        let (w, h) = dims(self.width(), self.height())?;
        let len = bytes.len();
        ImageBuffer::from_raw(w, h, bytes).ok_or(PixelError::WrongLength {
            got: len,
            expected: self.tight_len(),
        })
    }
}

fn dims(w: usize, h: usize) -> Result<(u32, u32), PixelError> {
    match (u32::try_from(w), u32::try_from(h)) {
        (Ok(w), Ok(h)) => Ok((w, h)),
        _ => Err(PixelError::TooLarge),
    }
}

/// `FlatSamples` of `u8` as a 3-D `B` view `[height, width, channels]`
/// with image's strides, no copy (image's strided layout maps onto
/// memview's directly, any strides it accepts).
pub fn view_of_flat<'a>(flat: &FlatSamples<&'a [u8]>) -> Result<View<'a>, PixelError> {
    let SampleLayout {
        channels,
        channel_stride,
        width,
        width_stride,
        height,
        height_stride,
    } = flat.layout;
    let stride = |s: usize| isize::try_from(s).map_err(|_| PixelError::TooLarge);
    Ok(View::from_parts(
        flat.samples,
        "B",
        0,
        &[height as usize, width as usize, usize::from(channels)],
        &[
            stride(height_stride)?,
            stride(width_stride)?,
            stride(channel_stride)?,
        ],
    )?)
}
