//! Zones into model inputs: a batch of a frame's ROIs cropped, converted to
//! RGB, resized, fitted, normalised and laid out as an `N x 3 x H x W`
//! (or `N x H x W x 3`) tensor in a caller-owned buffer, one zone per
//! rayon task, nothing allocated once the zones' shapes have been seen.
//!
//! Each ROI is converted with memview's own colour conversion
//! ([`crate::convert`], held to swscale by its tests), then treated exactly
//! as OpenCV's `cv2.dnn.blobFromImagesWithParams` treats an RGB image: the
//! same fits ([`Fit::Stretch`] is `DNN_PMODE_NULL`, [`Fit::Letterbox`]
//! `DNN_PMODE_LETTERBOX`, [`Fit::CenterCrop`] `DNN_PMODE_CROP_CENTER`),
//! the same `INTER_LINEAR` resize ([`crate::resize`]), and the same `f32`
//! arithmetic (`(x - mean) * scale` per output channel), so the tests find
//! no differing bit. [`Fit::Yolo`] is Ultralytics' `LetterBox` (Python's
//! half-to-even `round`, grey 114 borders), and [`Normalize::MeanStd`]
//! torchvision's `ToTensor` + `Normalize`.
//!
//! ```
//! use memview_pixel::format::I420;
//! use memview_pixel::tensor::{Fit, Normalize, Preprocessor, TensorSpec};
//! use memview_pixel::{Frame, FrameLayout, Rect};
//!
//! let layout = FrameLayout::tight(&I420, 64, 48)?;
//! let yuv = vec![128u8; layout.len()];
//! let frame = Frame::from_bytes(&yuv, &layout)?;
//! let mut spec = TensorSpec::new(16, 16);
//! spec.fit = Fit::Letterbox { fill: [0, 0, 0] };
//! spec.normalize = Normalize::MeanScale { mean: [0.0; 3], scale: [1.0 / 255.0; 3] };
//! let mut pre = Preprocessor::new(spec)?;
//! let zones = [Rect::new(0, 0, 32, 16), Rect::new(10, 10, 20, 30)];
//! let mut batch = vec![0f32; zones.len() * pre.slot_len()];
//! let mut maps = [Default::default(); 2];
//! pre.run(&frame, &zones, &mut batch, &mut maps)?;
//! // The first zone is twice as wide as high: 16x8 in the middle rows.
//! assert_eq!(maps[0].apply(0.0, 4.0), (0.0, 0.0));
//! assert_eq!(maps[0].apply(16.0, 12.0), (32.0, 16.0));
//! # Ok::<(), memview_pixel::PixelError>(())
//! ```

use rayon::prelude::*;

use crate::convert::{Matrix, Range};
use crate::error::PixelError;
use crate::format::{ColorFamily, RGB24};
use crate::frame::{Frame, FrameMut, Rect, Roi, RoiRef};
use crate::layout::{FrameLayout, MAX_DIMENSION};
use crate::resize::{Image, Interpolation, Resizer, RowProvider};

// The AVX2 row split: the module's only `unsafe` (intrinsics, unaligned
// loads and stores), allowed there.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2;

/// How a ROI is fitted to the tensor's size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Fit {
    /// Resized to the tensor's size, aspect ratio not kept (OpenCV's
    /// `DNN_PMODE_NULL`).
    #[default]
    Stretch,
    /// Scaled to fit inside, centred, the rest `fill` (RGB): OpenCV's
    /// `DNN_PMODE_LETTERBOX` (an `f32` factor, sides truncated, the odd
    /// pixel of padding at the bottom and right).
    Letterbox {
        /// The border's colour, R, G, B.
        fill: [u8; 3],
    },
    /// Ultralytics' YOLO `LetterBox`: the factor in `f64`, sides rounded
    /// half to even, borders `round(d -/+ 0.1)` (114 grey by default).
    Yolo {
        /// The border's colour, R, G, B.
        fill: [u8; 3],
    },
    /// Scaled to cover, centre cropped (OpenCV's `DNN_PMODE_CROP_CENTER`).
    CenterCrop,
}

/// The order of the tensor's three channels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ChannelOrder {
    /// Red, green, blue.
    #[default]
    Rgb,
    /// Blue, green, red (Caffe-era models; OpenCV's `swapRB=False` on its
    /// own BGR images).
    Bgr,
}

/// Where channels go in the tensor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TensorLayout {
    /// `N x C x H x W` (planes).
    #[default]
    Nchw,
    /// `N x H x W x C` (interleaved).
    Nhwc,
}

/// What becomes of each 8-bit sample `x` (per output channel).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Normalize {
    /// `x` as it is.
    #[default]
    None,
    /// OpenCV's `(x - mean) * scale`, in `f32`.
    MeanScale {
        /// Subtracted first.
        mean: [f32; 3],
        /// Then multiplied.
        scale: [f32; 3],
    },
    /// torchvision's `(x / 255 - mean) / std`, in `f32`.
    MeanStd {
        /// Subtracted from `x / 255`.
        mean: [f32; 3],
        /// Then divided by.
        std: [f32; 3],
    },
}

impl Normalize {
    fn apply(&self, c: usize, x: u8) -> f32 {
        let x = f32::from(x);
        match *self {
            Normalize::None => x,
            Normalize::MeanScale { mean, scale } => (x - mean[c]) * scale[c],
            Normalize::MeanStd { mean, std } => (x / 255.0 - mean[c]) / std[c],
        }
    }
}

/// What a model wants: size, fit, resampling, channel order, layout,
/// normalisation, and the matrix and range the YUV source is read with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TensorSpec {
    /// Tensor width in pixels.
    pub width: usize,
    /// Tensor height in pixels.
    pub height: usize,
    /// How a ROI of another aspect ratio is fitted.
    pub fit: Fit,
    /// How it is resampled.
    pub interpolation: Interpolation,
    /// Channel order.
    pub order: ChannelOrder,
    /// Layout.
    pub layout: TensorLayout,
    /// Normalisation (only [`Normalize::None`] for `u8` tensors).
    pub normalize: Normalize,
    /// YUV matrix of the source.
    pub matrix: Matrix,
    /// YUV range of the source.
    pub range: Range,
}

impl TensorSpec {
    /// A `width x height` RGB NCHW tensor, stretched, `INTER_LINEAR`, not
    /// normalised, from BT.601 limited-range YUV.
    pub fn new(width: usize, height: usize) -> TensorSpec {
        TensorSpec {
            width,
            height,
            fit: Fit::Stretch,
            interpolation: Interpolation::Linear,
            order: ChannelOrder::Rgb,
            layout: TensorLayout::Nchw,
            normalize: Normalize::None,
            matrix: Matrix::Bt601,
            range: Range::Limited,
        }
    }

    /// Elements of one zone's slot: `3 * width * height`.
    pub fn slot_len(&self) -> usize {
        3 * self.width * self.height
    }

    /// Whether the spec can be met at all (a size of 1 to 65536 a side).
    pub fn check(&self) -> Result<(), PixelError> {
        if self.width == 0 || self.height == 0 {
            return Err(PixelError::BadTensor(
                "the tensor size must be at least 1x1",
            ));
        }
        if self.width > MAX_DIMENSION || self.height > MAX_DIMENSION {
            return Err(PixelError::BadTensor(
                "the tensor size is larger than 65536",
            ));
        }
        Ok(())
    }

    /// One zone (a borrowed ROI, exactly its requested rectangle) into one
    /// `f32` slot of [`TensorSpec::slot_len`], on this thread, with the
    /// zone's own scratch: what an analyzer calls per zone.
    pub fn zone_into(
        &self,
        scratch: &mut TensorScratch,
        roi: &RoiRef<'_>,
        out: &mut [f32],
    ) -> Result<Affine, PixelError> {
        if out.len() != self.slot_len() {
            return Err(PixelError::WrongLength {
                expected: self.slot_len(),
                got: out.len(),
            });
        }
        zone(self, scratch, &roi.to_roi(), out)
    }
}

/// The map from a zone's tensor coordinates back to frame pixels:
/// `x = sx * u + tx`, `y = sy * v + ty` (continuous coordinates, pixel
/// edges on integers), so a detector's box in the tensor lands on the
/// frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Affine {
    /// Frame pixels per tensor pixel, horizontally.
    pub sx: f64,
    /// Frame pixels per tensor pixel, vertically.
    pub sy: f64,
    /// Frame x of tensor x 0.
    pub tx: f64,
    /// Frame y of tensor y 0.
    pub ty: f64,
}

impl Affine {
    /// The frame point of tensor point `(u, v)`.
    pub fn apply(&self, u: f64, v: f64) -> (f64, f64) {
        (self.sx * u + self.tx, self.sy * v + self.ty)
    }

    /// The frame rectangle `[x, y, w, h]` of a tensor box.
    pub fn rect(&self, u: f64, v: f64, w: f64, h: f64) -> [f64; 4] {
        let (x, y) = self.apply(u, v);
        [x, y, w * self.sx, h * self.sy]
    }
}

/// Where a `w x h` ROI goes in the tensor: resized to `resized` (with
/// OpenCV's `fx`/`fy` where the fit passes factors rather than a size),
/// its pixel `crop` at tensor pixel `at`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    /// Size after resizing (`None` when the ROI already has the tensor's
    /// size and is not resized).
    pub resized: Option<(usize, usize)>,
    /// Resize factors (destination per source) when the fit gives them
    /// instead of a size (centre crop).
    pub factors: Option<(f64, f64)>,
    /// The first resized pixel that lands in the tensor.
    pub crop: (usize, usize),
    /// The tensor pixel it lands on.
    pub at: (usize, usize),
    /// Source pixels per resized pixel (for the affine map).
    pub scale: (f64, f64),
}

impl TensorSpec {
    /// Where a `w x h` ROI goes under this spec's fit, or why it cannot.
    pub fn place(&self, w: usize, h: usize) -> Result<Placement, PixelError> {
        let (tw, th) = (self.width, self.height);
        let bad = |why| PixelError::BadResize {
            from: (w, h),
            to: (tw, th),
            why,
        };
        if w == 0 || h == 0 {
            return Err(bad("the zone is empty"));
        }
        let identity = Placement {
            resized: None,
            factors: None,
            crop: (0, 0),
            at: (0, 0),
            scale: (1.0, 1.0),
        };
        if (w, h) == (tw, th) {
            return Ok(identity);
        }
        // OpenCV's scale when it is given a size: `1 / (dst / src)`.
        let sized =
            |rw: usize, rh: usize| (1.0 / (rw as f64 / w as f64), 1.0 / (rh as f64 / h as f64));
        match self.fit {
            Fit::Stretch => Ok(Placement {
                resized: Some((tw, th)),
                scale: sized(tw, th),
                ..identity
            }),
            Fit::Letterbox { .. } => {
                let f = (tw as f32 / w as f32).min(th as f32 / h as f32);
                let (rw, rh) = ((w as f32 * f) as usize, (h as f32 * f) as usize);
                if rw == 0 || rh == 0 {
                    return Err(bad("letterboxing leaves a side of 0 pixels"));
                }
                let (rw, rh) = (rw.min(tw), rh.min(th));
                Ok(Placement {
                    resized: Some((rw, rh)),
                    at: ((tw - rw) / 2, (th - rh) / 2),
                    scale: sized(rw, rh),
                    ..identity
                })
            }
            Fit::Yolo { .. } => {
                let r = (th as f64 / h as f64).min(tw as f64 / w as f64);
                let (nw, nh) = (
                    (w as f64 * r).round_ties_even() as usize,
                    (h as f64 * r).round_ties_even() as usize,
                );
                if nw == 0 || nh == 0 {
                    return Err(bad("letterboxing leaves a side of 0 pixels"));
                }
                let (nw, nh) = (nw.min(tw), nh.min(th));
                let (dw, dh) = ((tw - nw) as f64 / 2.0, (th - nh) as f64 / 2.0);
                let left = (dw - 0.1).round_ties_even().max(0.0) as usize;
                let top = (dh - 0.1).round_ties_even().max(0.0) as usize;
                Ok(Placement {
                    resized: ((nw, nh) != (w, h)).then_some((nw, nh)),
                    at: (left, top),
                    scale: if (nw, nh) != (w, h) {
                        sized(nw, nh)
                    } else {
                        (1.0, 1.0)
                    },
                    ..identity
                })
            }
            Fit::CenterCrop => {
                let f = (tw as f32 / w as f32).max(th as f32 / h as f32);
                let fd = f64::from(f);
                // `resize(src, Size(), f, f)`: cvRound of the scaled sides.
                let (rw, rh) = (
                    (w as f64 * fd).round_ties_even() as usize,
                    (h as f64 * fd).round_ties_even() as usize,
                );
                if rw < tw || rh < th {
                    return Err(bad("the centre crop is larger than the resized zone"));
                }
                Ok(Placement {
                    resized: Some((rw, rh)),
                    factors: Some((fd, fd)),
                    crop: (
                        (0.5 * (rw - tw) as f64) as usize,
                        (0.5 * (rh - th) as f64) as usize,
                    ),
                    scale: (1.0 / fd, 1.0 / fd),
                    ..identity
                })
            }
        }
    }
}

impl Placement {
    /// The tensor-to-frame map of a zone whose top-left frame pixel is
    /// `origin`.
    pub fn affine(&self, origin: (usize, usize)) -> Affine {
        let (sx, sy) = self.scale;
        Affine {
            sx,
            sy,
            tx: origin.0 as f64 + (self.crop.0 as f64 - self.at.0 as f64) * sx,
            ty: origin.1 as f64 + (self.crop.1 as f64 - self.at.1 as f64) * sy,
        }
    }
}

/// One zone's working buffers: a band of its RGB pixels, a resizer and
/// its tables, a row split into planes. Kept between frames, they stop
/// growing once the zone's shape has been seen: nothing is allocated
/// after that.
#[derive(Clone, Debug, Default)]
pub struct TensorScratch {
    rgb: Vec<u8>,
    resizer: Resizer,
    /// One resized row split into its three channels (NCHW).
    planar: Vec<u8>,
    /// Which of the zone's rows the resizer reads (only those are
    /// converted from YUV).
    rows: Vec<bool>,
}

/// A tensor element type: `f32` (normalised) or `u8` (as resized).
pub trait Element: Copy + Send + Sync + Default + 'static {
    #[doc(hidden)]
    fn one(norm: &Normalize, c: usize, x: u8) -> Self;
    #[doc(hidden)]
    const NORMALISES: bool;
    /// `dst[i]` from `src[i]` for output channel `c`: the same values as
    /// [`Element::one`], in loops the compiler vectorises.
    #[doc(hidden)]
    fn map(src: &[u8], dst: &mut [Self], norm: &Normalize, c: usize);
    /// The leading pixels of the tight RGB row `src` into `planes`
    /// (plane `c` from channel `pick[c]`, as [`Element::map`] maps it)
    /// where a SIMD kernel can: how many it did.
    #[doc(hidden)]
    fn split(src: &[u8], planes: [&mut [Self]; 3], pick: [usize; 3], norm: &Normalize) -> usize;
}

impl Element for f32 {
    #[inline(always)]
    fn one(norm: &Normalize, c: usize, x: u8) -> f32 {
        norm.apply(c, x)
    }
    const NORMALISES: bool = true;
    #[inline(always)]
    fn map(src: &[u8], dst: &mut [f32], norm: &Normalize, c: usize) {
        let pairs = dst.iter_mut().zip(src);
        match *norm {
            Normalize::None => pairs.for_each(|(d, &x)| *d = f32::from(x)),
            Normalize::MeanScale { mean, scale } => {
                let (m, k) = (mean[c], scale[c]);
                pairs.for_each(|(d, &x)| *d = (f32::from(x) - m) * k);
            }
            Normalize::MeanStd { mean, std } => {
                let (m, k) = (mean[c], std[c]);
                pairs.for_each(|(d, &x)| *d = (f32::from(x) / 255.0 - m) / k);
            }
        }
    }
    #[inline(always)]
    #[allow(unsafe_code)]
    fn split(src: &[u8], planes: [&mut [f32]; 3], pick: [usize; 3], norm: &Normalize) -> usize {
        #[cfg(target_arch = "x86_64")]
        if avx2::available() {
            // SAFETY: the CPU has AVX2, checked just above; the kernel
            // stays within the slices.
            return unsafe { avx2::split_f32(src, planes, pick, norm) };
        }
        let _ = (src, planes, pick, norm);
        0
    }
}

impl Element for u8 {
    #[inline(always)]
    fn one(_: &Normalize, _: usize, x: u8) -> u8 {
        x
    }
    const NORMALISES: bool = false;
    #[inline(always)]
    fn map(src: &[u8], dst: &mut [u8], _: &Normalize, _: usize) {
        dst.copy_from_slice(src);
    }
    #[inline(always)]
    #[allow(unsafe_code)]
    fn split(src: &[u8], planes: [&mut [u8]; 3], pick: [usize; 3], _: &Normalize) -> usize {
        #[cfg(target_arch = "x86_64")]
        if avx2::available() {
            // SAFETY: as for `f32`.
            return unsafe { avx2::split_u8(src, planes, pick) };
        }
        let _ = (src, planes, pick);
        0
    }
}

/// Turns a frame's zones into a tensor batch (see the module docs).
#[derive(Debug)]
pub struct Preprocessor {
    spec: TensorSpec,
    scratch: Vec<TensorScratch>,
}

impl Preprocessor {
    /// A preprocessor for `spec`, or why the spec cannot be met.
    pub fn new(spec: TensorSpec) -> Result<Preprocessor, PixelError> {
        spec.check()?;
        Ok(Preprocessor {
            spec,
            scratch: Vec::new(),
        })
    }

    /// The spec.
    pub fn spec(&self) -> &TensorSpec {
        &self.spec
    }

    /// Elements per zone.
    pub fn slot_len(&self) -> usize {
        self.spec.slot_len()
    }

    /// Fills `out` (`rects.len()` slots of [`Preprocessor::slot_len`]) with
    /// the zones `rects` of `frame` and `maps` with their tensor-to-frame
    /// maps, one zone per rayon task.
    pub fn run(
        &mut self,
        frame: &Frame<'_>,
        rects: &[Rect],
        out: &mut [f32],
        maps: &mut [Affine],
    ) -> Result<(), PixelError> {
        self.run_as(frame, rects, out, maps)
    }

    /// [`Preprocessor::run`] into a `u8` tensor (the spec must not
    /// normalise).
    pub fn run_u8(
        &mut self,
        frame: &Frame<'_>,
        rects: &[Rect],
        out: &mut [u8],
        maps: &mut [Affine],
    ) -> Result<(), PixelError> {
        if self.spec.normalize != Normalize::None {
            return Err(PixelError::BadTensor("a u8 tensor cannot be normalised"));
        }
        self.run_as(frame, rects, out, maps)
    }

    fn run_as<T: Element>(
        &mut self,
        frame: &Frame<'_>,
        rects: &[Rect],
        out: &mut [T],
        maps: &mut [Affine],
    ) -> Result<(), PixelError> {
        let slot = self.slot_len();
        let want = rects.len() * slot;
        if out.len() != want {
            return Err(PixelError::WrongLength {
                expected: want,
                got: out.len(),
            });
        }
        if maps.len() != rects.len() {
            return Err(PixelError::BadTensor("one map per zone is needed"));
        }
        if self.scratch.len() < rects.len() {
            self.scratch
                .resize_with(rects.len(), TensorScratch::default);
        }
        let spec = &self.spec;
        out.par_chunks_mut(slot.max(1))
            .zip(self.scratch.par_iter_mut())
            .zip(rects.par_iter())
            .zip(maps.par_iter_mut())
            .try_for_each(|(((o, s), &rect), m)| {
                *m = zone(spec, s, &frame.roi(rect)?, o)?;
                Ok(())
            })
    }

    /// One zone into one slot, on this thread.
    pub fn run_one(
        &mut self,
        frame: &Frame<'_>,
        rect: Rect,
        out: &mut [f32],
    ) -> Result<Affine, PixelError> {
        if out.len() != self.slot_len() {
            return Err(PixelError::WrongLength {
                expected: self.slot_len(),
                got: out.len(),
            });
        }
        if self.scratch.is_empty() {
            self.scratch.push(TensorScratch::default());
        }
        zone(&self.spec, &mut self.scratch[0], &frame.roi(rect)?, out)
    }
}

/// How much RGB one band of a zone holds, at most: the most a zone's
/// scratch holds, whatever the zone (a whole 1080p frame's RGB is 6 MB).
/// Smaller bands, which stay in L2, were no faster: a 1080p letterbox to
/// 640x640 took 446 us in 1 MiB bands, 453 us whole, 453-478 us in
/// 256 KiB bands and 497-502 us in 64 KiB ones (their set-up adds up).
const BAND_BYTES: usize = 1 << 20;

/// A zone's RGB rows, converted from the frame a band of rows at a time
/// into a buffer of at most [`BAND_BYTES`], and handed to the resizer (or
/// the writer) row by row, each exactly the requested rectangle's part of
/// its snapped row (nothing copied to cut it back). Rows are asked for in
/// order, so each band is converted once; with a mask, only its rows.
#[derive(Debug)]
struct Bands<'s, 'f> {
    spec: &'s TensorSpec,
    /// The zone snapped outward to the format's subsampling.
    frame: &'s Frame<'f>,
    rgb: &'s mut Vec<u8>,
    /// Which rows of the zone to convert (row `i` of the rectangle asked
    /// for); the others may hold anything.
    want: Option<&'s [bool]>,
    /// Where the rectangle asked for starts in `frame`, and its width.
    at: (usize, usize),
    width: usize,
    /// Frame rows per band (even, so 4:2:0 chroma pairs stay whole), and
    /// the rows of `frame` that `rgb` holds.
    band: usize,
    held: std::ops::Range<usize>,
    /// A band that could not be converted (none can once the first has
    /// been: the format is the same).
    error: Option<PixelError>,
}

impl<'s, 'f> Bands<'s, 'f> {
    /// The zone's first band converted; a band holds at most `bytes` of
    /// RGB (but two rows at least).
    fn new(
        spec: &'s TensorSpec,
        roi: &'s Roi<'f>,
        rgb: &'s mut Vec<u8>,
        want: Option<&'s [bool]>,
        bytes: usize,
    ) -> Result<Bands<'s, 'f>, PixelError> {
        let (rect, e) = (roi.requested(), roi.effective());
        let frame = roi.frame();
        let h = frame.height();
        let band = match frame.width() * 3 {
            0 => h,
            line => (bytes / line).max(2) & !1,
        };
        let mut bands = Bands {
            spec,
            frame,
            rgb,
            want,
            at: (rect.x - e.x, rect.y - e.y),
            width: rect.w,
            band: band.min(h),
            held: 0..0,
            error: None,
        };
        bands.convert(bands.at.1)?;
        Ok(bands)
    }

    /// Converts the band that starts at frame row `fy` (rounded down to
    /// even).
    fn convert(&mut self, fy: usize) -> Result<(), PixelError> {
        let h = self.frame.height();
        let a = fy - fy % 2;
        let b = (a + self.band).min(h);
        let sub;
        let src = if (a, b) == (0, h) {
            self.frame
        } else {
            sub = self.frame.roi(Rect::new(0, a, self.frame.width(), b - a))?;
            sub.frame()
        };
        // Mask row `i` is frame row `at.1 + i`: row `at.1 + i - a` of
        // the band.
        let oy = self.at.1;
        let want = self.want.map(|mask| match a.checked_sub(oy) {
            Some(skip) => (mask.get(skip..).unwrap_or(&[]), 0),
            None => (mask, oy - a),
        });
        self.held = 0..0;
        frame_rgb(self.spec, self.rgb, src, want)?;
        self.held = a..b;
        Ok(())
    }
}

impl RowProvider for Bands<'_, '_> {
    fn row(&mut self, y: usize) -> &[u8] {
        let fy = self.at.1 + y;
        if fy >= self.frame.height() {
            return &[];
        }
        if !self.held.contains(&fy) {
            if let Err(e) = self.convert(fy) {
                self.error.get_or_insert(e);
                return &[];
            }
        }
        let from = ((fy - self.held.start) * self.frame.width() + self.at.0) * 3;
        self.rgb.get(from..from + self.width * 3).unwrap_or(&[])
    }
}

/// Converts all of `frame` to tight RGB24 in `rgb`; with `want`, 4:2:x
/// YUV converts only the rows it marks (mask row `i` is frame row
/// `from + i`; the others hold anything).
fn frame_rgb(
    spec: &TensorSpec,
    rgb: &mut Vec<u8>,
    frame: &Frame<'_>,
    want: Option<(&[bool], usize)>,
) -> Result<(), PixelError> {
    let (w, h) = (frame.width(), frame.height());
    rgb.resize(w * h * 3, 0);
    let f = frame.format();
    let unsupported = PixelError::Unsupported {
        from: f.name,
        to: "a tensor",
    };
    match (f.family, f.sample_bytes) {
        (ColorFamily::Yuv, 1) if f.log2_chroma_w == 1 => {
            let layout = FrameLayout::tight(&RGB24, w, h)?;
            let mut dst = FrameMut::from_bytes(rgb, &layout)?;
            crate::convert::yuv_to_rgb_rows(frame, &mut dst, spec.matrix, spec.range, want)?;
        }
        (ColorFamily::Yuv, 1) if f.log2_chroma_w == 0 && f.log2_chroma_h == 0 => {
            crate::convert::yuv444_to_rgb24(frame, rgb, spec.matrix, spec.range)?;
        }
        (ColorFamily::Rgb, 1) | (ColorFamily::Gray, 1) => {
            let pick: [usize; 3] = if f.family == ColorFamily::Gray {
                [0, 0, 0]
            } else {
                let off = |n| f.component(n).map(|c| c.offset).ok_or(unsupported.clone());
                [off('R')?, off('G')?, off('B')?]
            };
            let cn = f.plane_group_bytes(0);
            let rows = frame.rows(0).ok_or(unsupported)?;
            for (row, out) in rows.zip(rgb.chunks_exact_mut(w * 3)) {
                for (px, o) in row.chunks_exact(cn).zip(out.chunks_exact_mut(3)) {
                    o[0] = px[pick[0]];
                    o[1] = px[pick[1]];
                    o[2] = px[pick[2]];
                }
            }
        }
        _ => return Err(unsupported),
    }
    Ok(())
}

fn zone<T: Element>(
    spec: &TensorSpec,
    s: &mut TensorScratch,
    roi: &Roi<'_>,
    out: &mut [T],
) -> Result<Affine, PixelError> {
    zone_in_bands(spec, s, roi, out, BAND_BYTES)
}

/// [`zone`], converting bands of at most `band_bytes` of RGB.
fn zone_in_bands<T: Element>(
    spec: &TensorSpec,
    s: &mut TensorScratch,
    roi: &Roi<'_>,
    out: &mut [T],
    band_bytes: usize,
) -> Result<Affine, PixelError> {
    let rect = roi.requested();
    let place = spec.place(rect.w, rect.h)?;
    let TensorScratch {
        rgb,
        resizer,
        planar,
        rows,
    } = s;
    let want = match place.resized {
        Some(size) => {
            let (w, h) = (rect.w, rect.h);
            let (f, i) = (place.factors, spec.interpolation);
            resizer.rows_read((w, h), size, f, i, 3, rows)?;
            Some(&rows[..])
        }
        None => None,
    };
    let mut bands = Bands::new(spec, roi, rgb, want, band_bytes)?;
    fill(spec, &place, (rect.w, rect.h), out);
    let mut writer = Writer {
        spec,
        out,
        place: &place,
        planar,
    };
    match place.resized {
        None => {
            for y in 0..rect.h {
                writer.row(y, bands.row(y));
            }
        }
        Some(size) => {
            let image = Image::provided(&mut bands, rect.w, rect.h, 3);
            resizer.run(image, size, place.factors, spec.interpolation, |y, row| {
                writer.row(y, row)
            })?
        }
    }
    match bands.error.take() {
        Some(e) => Err(e),
        None => Ok(place.affine((rect.x, rect.y))),
    }
}

/// The fill colour everywhere the letterboxed zone does not cover.
fn fill<T: Element>(spec: &TensorSpec, place: &Placement, zone: (usize, usize), out: &mut [T]) {
    let rgb = match spec.fit {
        Fit::Letterbox { fill } | Fit::Yolo { fill } => fill,
        _ => return,
    };
    let (tw, th) = (spec.width, spec.height);
    let (rw, rh) = place.resized.unwrap_or(zone);
    let (x0, y0) = place.at;
    let (x1, y1) = ((x0 + rw).min(tw), (y0 + rh).min(th));
    if (x0, y0, x1, y1) == (0, 0, tw, th) {
        return;
    }
    let px = channels(spec.order).map(|(c, src)| T::one(&spec.normalize, c, rgb[src]));
    // Whole rows above and below the zone, the margins beside it.
    match spec.layout {
        TensorLayout::Nchw => {
            for (c, plane) in out.chunks_exact_mut(tw * th).enumerate() {
                for (y, row) in plane.chunks_exact_mut(tw).enumerate() {
                    if y < y0 || y >= y1 {
                        row.fill(px[c]);
                    } else {
                        row[..x0].fill(px[c]);
                        row[x1..].fill(px[c]);
                    }
                }
            }
        }
        TensorLayout::Nhwc => {
            for (y, row) in out.chunks_exact_mut(tw * 3).enumerate() {
                let (a, b) = if y < y0 || y >= y1 {
                    (tw, tw)
                } else {
                    (x0, x1)
                };
                let (left, rest) = row.split_at_mut(a * 3);
                let right = &mut rest[(b - a) * 3..];
                for v in left.chunks_exact_mut(3).chain(right.chunks_exact_mut(3)) {
                    v.copy_from_slice(&px);
                }
            }
        }
    }
}

/// Output channel `c` takes RGB channel `src`.
fn channels(order: ChannelOrder) -> [(usize, usize); 3] {
    match order {
        ChannelOrder::Rgb => [(0, 0), (1, 1), (2, 2)],
        ChannelOrder::Bgr => [(0, 2), (1, 1), (2, 0)],
    }
}

/// Writes resized rows into a zone's slot.
struct Writer<'s, T> {
    spec: &'s TensorSpec,
    out: &'s mut [T],
    place: &'s Placement,
    planar: &'s mut Vec<u8>,
}

impl<T: Element> Writer<'_, T> {
    /// Resized row `y` (RGB, tight).
    fn row(&mut self, y: usize, row: &[u8]) {
        let (tw, th) = (self.spec.width, self.spec.height);
        let p = self.place;
        let Some(ty) = (y + p.at.1).checked_sub(p.crop.1).filter(|&t| t < th) else {
            return;
        };
        if y < p.crop.1 {
            return;
        }
        let px0 = p.crop.0;
        let n = (row.len() / 3).saturating_sub(px0).min(tw - p.at.0.min(tw));
        let src = &row[px0 * 3..(px0 + n) * 3];
        let x0 = p.at.0;
        let norm = &self.spec.normalize;
        match self.spec.layout {
            TensorLayout::Nchw => {
                let plane = tw * th;
                let at = ty * tw + x0;
                let ch = channels(self.spec.order);
                let mut planes = self.out.chunks_exact_mut(plane.max(1));
                let (Some(a), Some(b), Some(c)) = (planes.next(), planes.next(), planes.next())
                else {
                    return;
                };
                let done = T::split(
                    src,
                    [&mut a[at..at + n], &mut b[at..at + n], &mut c[at..at + n]],
                    ch.map(|(_, s)| s),
                    norm,
                );
                // The rest: split the row into its channels, then map
                // each plane's run contiguously.
                let rest = n - done;
                let src = &src[done * 3..];
                self.planar.resize(3 * rest, 0);
                let (p0, tail) = self.planar.split_at_mut(rest);
                let (p1, p2) = tail.split_at_mut(rest);
                for (((px, a), b), c) in src
                    .chunks_exact(3)
                    .zip(p0.iter_mut())
                    .zip(p1.iter_mut())
                    .zip(p2.iter_mut())
                {
                    (*a, *b, *c) = (px[0], px[1], px[2]);
                }
                let start = at + done;
                for ((c, s), plane) in ch.into_iter().zip([a, b, c]) {
                    let from = &self.planar[s * rest..(s + 1) * rest];
                    T::map(from, &mut plane[start..start + rest], norm, c);
                }
            }
            TensorLayout::Nhwc => {
                let start = (ty * tw + x0) * 3;
                let dst = &mut self.out[start..start + n * 3];
                let ch = channels(self.spec.order);
                for (d, px) in dst.chunks_exact_mut(3).zip(src.chunks_exact(3)) {
                    for (c, s) in ch {
                        d[c] = T::one(norm, c, px[s]);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three fits, a letterbox with a fill colour.
    const FITS: [Fit; 3] = [
        Fit::Stretch,
        Fit::Letterbox { fill: [9, 8, 7] },
        Fit::CenterCrop,
    ];

    /// A xorshift64 generator from `seed` (not 0).
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    #[test]
    fn letterbox_geometry_follows_opencv() {
        let mut spec = TensorSpec::new(640, 640);
        spec.fit = Fit::Letterbox { fill: [0; 3] };
        let p = spec.place(1920, 1080).unwrap_or_else(|e| panic!("{e}"));
        // f = 1/3 in f32; 1080 / 3 = 360 (truncated).
        assert_eq!(p.resized, Some((640, 360)));
        assert_eq!(p.at, (0, 140));
        let m = p.affine((0, 0));
        assert_eq!(m.apply(0.0, 140.0), (0.0, 0.0));
        assert_eq!(m.apply(640.0, 500.0), (1920.0, 1080.0));
    }

    #[test]
    fn yolo_rounds_half_to_even() {
        let mut spec = TensorSpec::new(640, 640);
        spec.fit = Fit::Yolo { fill: [114; 3] };
        // 5 x 2 -> r = 128: 640 x 256, padding (0, 192).
        let p = spec.place(5, 2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.resized, p.at), (Some((640, 256)), (0, 192)));
        // 3 x 1 into 5 x 5: r = 5/3, 1 * 5/3 = 1.67 -> 2; dh = 1.5: top round(1.4) = 1.
        let mut s = TensorSpec::new(5, 5);
        s.fit = Fit::Yolo { fill: [114; 3] };
        let p = s.place(3, 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.resized, p.at), (Some((5, 2)), (0, 1)));
    }

    /// The SIMD row split against the portable one (the element's own
    /// `one`), bit for bit: random rows, lengths around the vector width,
    /// every normalisation and channel order.
    #[test]
    fn row_splits_equal_the_portable_values() {
        let mut next = xorshift(0x2545_f491_4f6c_dd1du64);
        let norms = [
            Normalize::None,
            Normalize::MeanScale {
                mean: [127.5, 104.0, 0.3],
                scale: [1.0 / 128.0, 0.017, 1.0 / 255.0],
            },
            Normalize::MeanStd {
                mean: [0.485, 0.456, 0.406],
                std: [0.229, 0.224, 0.225],
            },
        ];
        let mut simd = 0;
        for case in 0..300 {
            let n = (next() % 80) as usize;
            let src: Vec<u8> = (0..n * 3).map(|_| next() as u8).collect();
            let norm = norms[case % 3];
            let order = if case % 2 == 0 {
                ChannelOrder::Rgb
            } else {
                ChannelOrder::Bgr
            };
            let pick = channels(order).map(|(_, s)| s);
            let mut f = vec![f32::NAN; 3 * n];
            let (a, rest) = f.split_at_mut(n);
            let (b, c) = rest.split_at_mut(n);
            let done = f32::split(&src, [a, b, c], pick, &norm);
            assert!(done <= n);
            simd += done;
            for (i, &v) in f[..].iter().enumerate() {
                let (c, x) = (i / n.max(1), i % n.max(1));
                if x < done {
                    let want = f32::one(&norm, c, src[x * 3 + pick[c]]);
                    assert_eq!(
                        v.to_bits(),
                        want.to_bits(),
                        "f32 {n} px, channel {c}, pixel {x}"
                    );
                } else {
                    assert!(v.is_nan(), "pixel {x} of {n} written past {done}");
                }
            }
            let mut u = vec![0u8; 3 * n];
            let (a, rest) = u.split_at_mut(n);
            let (b, c) = rest.split_at_mut(n);
            let done = u8::split(&src, [a, b, c], pick, &Normalize::None);
            for (i, &v) in u.iter().enumerate() {
                let (c, x) = (i / n.max(1), i % n.max(1));
                if x < done {
                    assert_eq!(v, src[x * 3 + pick[c]], "u8 {n} px, channel {c}, pixel {x}");
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        if avx2::available() {
            assert!(simd > 1000, "the AVX2 split did {simd} pixels only");
        }
    }

    /// Converting a zone in bands of two rows, of a few rows, or all at
    /// once gives the same tensor, bit for bit: every fit and
    /// interpolation (with the rows they skip), odd offsets (snapped
    /// zones), planar, semi-planar and packed formats.
    #[test]
    fn bands_give_the_tensor_of_the_whole_zone() {
        use crate::format::{I420, I422, NV12, UYVY, YUYV};
        let mut next = xorshift(0x3c6e_f372_fe94_f82bu64);
        let (fw, fh) = (200, 150);
        let (mut compared, mut banded) = (0, 0);
        for format in [&I420, &NV12, &I422, &YUYV, &UYVY, &RGB24] {
            let layout = FrameLayout::tight(format, fw, fh).unwrap_or_else(|e| panic!("{e}"));
            let data: Vec<u8> = (0..layout.len()).map(|_| next() as u8).collect();
            let frame = Frame::from_bytes(&data, &layout).unwrap_or_else(|e| panic!("{e}"));
            for case in 0..40 {
                let (w, h) = (1 + (next() % 160) as usize, 1 + (next() % 140) as usize);
                let x = (next() as usize) % (fw - w + 1);
                let y = (next() as usize) % (fh - h + 1);
                let (tw, th) = match case % 3 {
                    // Down by 2, so that area applies.
                    0 => (w.div_ceil(2), h.div_ceil(2)),
                    1 => (1 + (next() % 60) as usize, 1 + (next() % 60) as usize),
                    _ => (w, h),
                };
                let mut spec = TensorSpec::new(tw, th);
                spec.fit = FITS[case % 3];
                spec.interpolation = [
                    Interpolation::Linear,
                    Interpolation::Nearest,
                    Interpolation::Area,
                    Interpolation::Antialias,
                ][(case / 3) % 4];
                let roi = frame
                    .roi(Rect::new(x, y, w, h))
                    .unwrap_or_else(|e| panic!("{e}"));
                let mut s = TensorScratch::default();
                let mut run = |bytes: usize| {
                    let mut out = vec![0f32; spec.slot_len()];
                    let r = zone_in_bands(&spec, &mut s, &roi, &mut out, bytes);
                    (r.map_err(|e| e.to_string()), out)
                };
                let whole = run(usize::MAX);
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                for bytes in [1, 3 * w * (2 + (next() % 9) as usize)] {
                    let (r, out) = run(bytes);
                    let what = format!("{} {x},{y} {w}x{h} -> {tw}x{th} {bytes}", format.name);
                    assert_eq!(r, whole.0, "{what}");
                    assert_eq!(bits(&out), bits(&whole.1), "{what}");
                    banded += usize::from(whole.0.is_ok() && bytes < 3 * w * h);
                }
                compared += usize::from(whole.0.is_ok());
            }
        }
        assert!(compared >= 200, "{compared} cases compared");
        assert!(banded >= 300, "{banded} banded");
    }

    /// A YUV zone converts only the rows its resizer reads; the tensor
    /// equals the one made from the fully converted RGB24 frame (which
    /// converts nothing), bit for bit: integer factors, whose taps of
    /// weight 0 leave rows out, odd zone origins (snapped chroma), every
    /// 4:2:x layout, each fit.
    #[test]
    fn skipped_rows_leave_the_tensor_as_it_was() {
        use crate::format::{I420, I422, NV12, UYVY, YUYV};
        let mut next = xorshift(0x6a09_e667_f3bc_c908u64);
        let (fw, fh) = (320, 240);
        let mut compared = 0;
        for format in [&I420, &NV12, &I422, &YUYV, &UYVY] {
            let layout = FrameLayout::tight(format, fw, fh).unwrap_or_else(|e| panic!("{e}"));
            let yuv: Vec<u8> = (0..layout.len()).map(|_| next() as u8).collect();
            let frame = Frame::from_bytes(&yuv, &layout).unwrap_or_else(|e| panic!("{e}"));
            let rl = FrameLayout::tight(&RGB24, fw, fh).unwrap_or_else(|e| panic!("{e}"));
            let mut rgb = vec![0u8; rl.len()];
            let mut dst = FrameMut::from_bytes(&mut rgb, &rl).unwrap_or_else(|e| panic!("{e}"));
            crate::convert::yuv_to_rgb(&frame, &mut dst, Matrix::Bt601, Range::Limited)
                .unwrap_or_else(|e| panic!("{e}"));
            let rgb_frame = Frame::from_bytes(&rgb, &rl).unwrap_or_else(|e| panic!("{e}"));
            for case in 0..24 {
                let (tw, th) = (8 + (next() % 40) as usize, 8 + (next() % 40) as usize);
                // Down by 3 or 5, up by 3, or anything.
                let (w, h) = match case % 4 {
                    0 => (tw * 3, th * 3),
                    1 => (tw * 5, th * 5),
                    2 => (tw.div_ceil(3), th.div_ceil(3)),
                    _ => (1 + (next() % 200) as usize, 1 + (next() % 200) as usize),
                };
                let (w, h) = (w.min(fw), h.min(fh));
                let x = (next() as usize) % (fw - w + 1);
                let y = (next() as usize) % (fh - h + 1);
                let mut spec = TensorSpec::new(tw, th);
                spec.fit = FITS[case % 3];
                spec.interpolation = [Interpolation::Linear, Interpolation::Nearest][case / 12];
                let mut pre = Preprocessor::new(spec).unwrap_or_else(|e| panic!("{e}"));
                let rect = [Rect::new(x, y, w, h)];
                let mut outs = [vec![0f32; pre.slot_len()], vec![0f32; pre.slot_len()]];
                let mut maps = [Affine::default()];
                for (f, out) in [&frame, &rgb_frame].into_iter().zip(&mut outs) {
                    pre.run(f, &rect, out, &mut maps)
                        .unwrap_or_else(|e| panic!("{e}"));
                }
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&outs[0]),
                    bits(&outs[1]),
                    "{} {:?} -> {tw}x{th}",
                    format.name,
                    rect[0]
                );
                compared += 1;
            }
        }
        assert_eq!(compared, 120);
    }
}
