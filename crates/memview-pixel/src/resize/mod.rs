//! Resizing 8-bit packed images (GRAY8, RGB24, BGR24, RGBA, BGRA), byte for
//! byte as the libraries models are trained with compute it.
//!
//! - [`Interpolation::Linear`] is OpenCV's `INTER_LINEAR` for 8-bit
//!   images: 11-bit fixed-point weights (`saturate_cast<short>(w * 2048)`,
//!   the source coordinate `(d + 0.5) * scale - 0.5` in `f32`), a horizontal
//!   pass into 32-bit sums, and the vertical pass of its SIMD kernel, which
//!   drops four bits before a 16-bit multiply-high
//!   (`((s0 >> 4) * b0 >> 16) + ((s1 >> 4) * b1 >> 16) + 2 >> 2`). Only the
//!   horizontal coordinate is clamped at the borders; vertically both source
//!   rows are clamped and the weights kept, as OpenCV does.
//! - [`Interpolation::Nearest`] is `INTER_NEAREST`: source index
//!   `floor(d * (1 / (dst / src)))`.
//! - [`Interpolation::Area`] is `INTER_AREA` for integer factors: the block
//!   mean, rounded half up for 2x2 blocks (OpenCV's SIMD path) and half to
//!   even through `f32` for every other factor.
//! - [`Interpolation::Antialias`] is Pillow's `BILINEAR` (and
//!   torchvision's `antialias=True`): a triangle filter widened by the
//!   downscaling factor, 22-bit fixed-point weights, the horizontal pass
//!   first and rounded to 8 bits, then the vertical one.
//!
//! The tests hold each to `cv2.resize` and Pillow on random shapes.
//!
//! A [`Resizer`] keeps its coefficient tables and row buffers between
//! calls: resizing the same shapes again allocates nothing.

// SSE2 and AVX2 kernels of the linear passes: the module's only
// `unsafe` (unaligned loads and stores), allowed there.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2;
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[allow(unsafe_code)]
mod sse2;

use crate::error::PixelError;
use crate::format::ColorFamily;
use crate::frame::{Frame, FrameMut};
use memview_core::Rows;

/// How a resize samples the source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Interpolation {
    /// OpenCV's `INTER_LINEAR` (8-bit fixed point), bit-exact.
    #[default]
    Linear,
    /// OpenCV's `INTER_NEAREST`, bit-exact.
    Nearest,
    /// OpenCV's `INTER_AREA` for integer downscaling factors, bit-exact;
    /// other factors are refused.
    Area,
    /// Pillow's antialiased `BILINEAR` (what torchvision's
    /// `Resize(antialias=True)` models were trained with).
    Antialias,
}

/// A packed 8-bit image read row by row, forward only (every kernel here
/// visits source rows in non-decreasing order): `cn` bytes per pixel.
#[derive(Debug)]
pub(crate) struct Image<'a> {
    rows: RowSource<'a>,
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) cn: usize,
}

/// Rows made on demand, forward only: the tensor path converts a zone a
/// band of rows at a time and hands its rows out through this.
pub(crate) trait RowProvider: std::fmt::Debug {
    /// Row `y`, never below the last row asked for (empty if it cannot
    /// be made).
    fn row(&mut self, y: usize) -> &[u8];
}

// Built once per resize call, on the stack: the size difference is moot.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum RowSource<'a> {
    /// Rows of a slice at a stride (the tests' images).
    #[cfg(test)]
    Slice { data: &'a [u8], stride: usize },
    /// A plane view's rows, walked forward.
    Rows {
        iter: Rows<'a>,
        next: usize,
        current: &'a [u8],
    },
    /// Rows a [`RowProvider`] makes.
    Provided(&'a mut dyn RowProvider),
}

impl<'a> Image<'a> {
    /// A tight image in `data`.
    #[cfg(test)]
    fn tight(data: &'a [u8], width: usize, height: usize, cn: usize) -> Image<'a> {
        Image {
            rows: RowSource::Slice {
                data,
                stride: width * cn,
            },
            width,
            height,
            cn,
        }
    }

    /// An image whose rows `rows` makes as they are asked for.
    pub(crate) fn provided(
        rows: &'a mut dyn RowProvider,
        width: usize,
        height: usize,
        cn: usize,
    ) -> Image<'a> {
        Image {
            rows: RowSource::Provided(rows),
            width,
            height,
            cn,
        }
    }

    fn from_rows(iter: Rows<'a>, width: usize, height: usize, cn: usize) -> Image<'a> {
        Image {
            rows: RowSource::Rows {
                iter,
                next: 0,
                current: &[],
            },
            width,
            height,
            cn,
        }
    }

    /// Row `y` (`y` never below the last row asked for).
    fn row(&mut self, y: usize) -> &[u8] {
        let n = self.width * self.cn;
        match &mut self.rows {
            #[cfg(test)]
            RowSource::Slice { data, stride } => {
                let start = y * *stride;
                data.get(start..start + n).unwrap_or(&[])
            }
            RowSource::Rows {
                iter,
                next,
                current,
            } => {
                while *next <= y {
                    *current = iter.next().unwrap_or(&[]);
                    *next += 1;
                }
                current.get(..n).unwrap_or(&[])
            }
            RowSource::Provided(rows) => rows.row(y).get(..n).unwrap_or(&[]),
        }
    }
}

/// One axis of a linear resize: per destination index the source offset
/// (in elements: pixel times channels), the next one (clamped), and the
/// two 11-bit weights.
#[derive(Clone, Debug, Default)]
struct LinearAxis {
    ofs: Vec<(usize, usize)>,
    weights: Vec<[i32; 2]>,
    /// How many leading pixels the SIMD pass can do: their 4-byte taps
    /// stay in a source row of `src * cn` bytes and their 4-lane stores in
    /// a destination row of `dst * cn + 1` lanes.
    simd: usize,
    /// How many leading pixels the AVX2 pass can do: as `simd`, and each
    /// pixel's taps read with one 8-byte load (the second tap is the next
    /// pixel, or has weight 0).
    adjacent: usize,
    /// Each pixel's two weights packed into one 32-bit lane (the first in
    /// the low half), four times: the AVX2 pass's multiply-add operand.
    wide: Vec<[i32; 4]>,
    /// The AVX2 pair pass's byte shuffle and weights for each leading pair
    /// of pixels it can do: as `adjacent`, and both pixels' taps within the
    /// 16 bytes from the first pixel's first tap, which lie in the source
    /// row; their 8-lane store within a destination row of `dst * cn + 2`
    /// lanes.
    pairs: Vec<PairTaps>,
}

/// How the AVX2 pair pass takes two pixels from the 16 source bytes at
/// the first one's first tap (in both 128-bit lanes): `shuffle` widens
/// each tap's byte to 16 bits beside its partner for one multiply-add
/// with `weights`, laid out so the eight 32-bit sums are the two pixels'
/// channels in order (3 channels: six sums, then two zeros).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(32))]
pub(super) struct PairTaps {
    pub(super) shuffle: [u8; 32],
    pub(super) weights: [i32; 8],
}

impl PairTaps {
    /// Pixels whose first taps are `d` bytes apart (both second taps
    /// `cn` bytes after, or of weight 0); `None` if the second pixel's
    /// taps do not end within the 16 bytes.
    fn new(cn: usize, d: usize, w0: [i32; 2], w1: [i32; 2]) -> Option<PairTaps> {
        if d + 2 * cn > 16 || !(cn == 3 || cn == 4) {
            return None;
        }
        let pack = |[a, b]: [i32; 2]| (a & 0xffff) | (b << 16);
        // Sum `k` (of 8): pixel `k / cn`'s channel `k % cn`.
        let mut t = PairTaps {
            shuffle: [0x80; 32],
            weights: [0; 8],
        };
        for k in 0..2 * cn {
            let (px, c) = (k / cn, k % cn);
            // Sum `k` is the multiply-add of 16-bit lanes `2k`, `2k + 1`:
            // bytes `4k..4k + 4`, indexing their 128-bit lane's copy of
            // the 16 bytes (the high byte of each lane zero).
            let first = px * d + c;
            t.shuffle[4 * k] = first as u8;
            t.shuffle[4 * k + 2] = (first + cn) as u8;
            t.weights[k] = pack(if px == 0 { w0 } else { w1 });
        }
        Some(t)
    }
}

/// OpenCV's `INTER_RESIZE_COEF_SCALE`.
const COEF_SCALE: f32 = 2048.0;

impl LinearAxis {
    /// `scale` is source per destination pixel; `clamp` clamps the
    /// coordinate (and so the weights) at the borders, as OpenCV does
    /// horizontally only.
    fn build(&mut self, src: usize, dst: usize, scale: f64, clamp: bool, cn: usize) {
        self.ofs.clear();
        self.weights.clear();
        let last = src as i64 - 1;
        for d in 0..dst {
            let fx = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let mut s = fx.floor() as i64;
            let mut f = fx - s as f32;
            if clamp {
                if s < 0 {
                    f = 0.0;
                    s = 0;
                }
                if s >= last {
                    f = 0.0;
                    s = last;
                }
            }
            let s0 = s.clamp(0, last) as usize;
            let s1 = (s + 1).clamp(0, last) as usize;
            self.ofs.push((s0 * cn, s1 * cn));
            self.weights.push([
                ((1.0 - f) * COEF_SCALE).round_ties_even() as i32,
                (f * COEF_SCALE).round_ties_even() as i32,
            ]);
        }
        self.simd = self
            .ofs
            .iter()
            .zip(0..)
            .take_while(|&(&(o0, o1), i)| o0.max(o1) + 4 <= src * cn && i * cn + 4 <= dst * cn + 1)
            .count();
        self.adjacent = self
            .ofs
            .iter()
            .zip(&self.weights)
            .zip(0..)
            .take_while(|&((&(o0, o1), w), i)| {
                (o1 == o0 + cn || w[1] == 0) && o0 + 8 <= src * cn && i * cn + 4 <= dst * cn + 1
            })
            .count();
        self.wide.clear();
        self.wide.extend(
            self.weights
                .iter()
                .map(|&[a0, a1]| [(a0 & 0xffff) | (a1 << 16); 4]),
        );
        self.pairs.clear();
        for (i, (o, w)) in self
            .ofs
            .chunks_exact(2)
            .zip(self.weights.chunks_exact(2))
            .enumerate()
        {
            let fits = 2 * i + 2 <= self.adjacent
                && o[0].0 + 16 <= src * cn
                && 2 * i * cn + 8 <= dst * cn + 2;
            let taps = (o[1].0.checked_sub(o[0].0)).and_then(|d| PairTaps::new(cn, d, w[0], w[1]));
            match taps {
                Some(t) if fits => self.pairs.push(t),
                _ => break,
            }
        }
    }
}

/// Pillow's coefficients for one axis: per destination index the first
/// source index and a run of 22-bit weights in `weights[start..start + n]`.
#[derive(Clone, Debug, Default)]
struct AntialiasAxis {
    bounds: Vec<(usize, usize, usize)>,
    weights: Vec<i32>,
    scratch: Vec<f64>,
    /// The AVX2 pass's tables (see [`AntialiasAxis::simd_tables`]).
    first: Vec<usize>,
    wide: Vec<[i32; 16]>,
    pairs: usize,
    simd: usize,
    /// How many leading pixels the AVX2 one-load pass can do: as `simd`,
    /// every pixel's taps within the 16 bytes from its first one (at most
    /// `16 / cn` taps: downscales up to about 2x), which lie in the row.
    one_load: usize,
}

/// Pillow's `PRECISION_BITS` for 8-bit images.
const PRECISION_BITS: u32 = 32 - 8 - 2;

impl AntialiasAxis {
    fn build(&mut self, src: usize, dst: usize) {
        self.bounds.clear();
        self.weights.clear();
        let scale = src as f64 / dst as f64;
        let filterscale = scale.max(1.0);
        // The bilinear filter's support is 1 source pixel, widened when
        // downscaling.
        let support = filterscale;
        let ss = 1.0 / filterscale;
        for d in 0..dst {
            let center = (d as f64 + 0.5) * scale;
            // C's truncating casts, as Pillow has them.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(src as i64) as usize;
            let n = xmax.saturating_sub(xmin);
            self.scratch.clear();
            let mut total = 0.0;
            for x in 0..n {
                let t = ((x + xmin) as f64 - center + 0.5) * ss;
                let w = (1.0 - t.abs()).max(0.0);
                self.scratch.push(w);
                total += w;
            }
            let start = self.weights.len();
            for &w in &self.scratch {
                let k = if total != 0.0 { w / total } else { 0.0 };
                let fixed = k * f64::from(1u32 << PRECISION_BITS);
                self.weights.push(if fixed < 0.0 {
                    fixed - 0.5
                } else {
                    fixed + 0.5
                } as i32);
            }
            self.bounds.push((xmin, start, n));
        }
    }

    /// The AVX2 horizontal pass's tables for rows of `src` pixels of `cn`
    /// bytes: each pixel's first tap in bytes, its taps padded with zero
    /// weights to `2 * pairs` (the most any pixel has, rounded up to
    /// even), each weight split into its high and low 11 bits and packed
    /// two taps to a lane for pixels `2g` and `2g + 1` (see
    /// `avx2::aa_row`), and how many leading pixels the pass can do: those
    /// whose last pair's 8-byte load stays in the row and whose 4-byte
    /// store stays in `dst * cn + 1` bytes.
    fn simd_tables(&mut self, src: usize, cn: usize) {
        let dst = self.bounds.len();
        let most = self.bounds.iter().map(|b| b.2).max().unwrap_or(0);
        self.pairs = most.div_ceil(2);
        self.first.clear();
        self.first
            .extend(self.bounds.iter().map(|&(x0, _, _)| x0 * cn));
        self.wide.clear();
        let tap = |i: usize, k: usize| -> i32 {
            self.bounds.get(i).map_or(
                0,
                |&(_, start, n)| {
                    if k < n {
                        self.weights[start + k]
                    } else {
                        0
                    }
                },
            )
        };
        for g in 0..dst.div_ceil(2) {
            for p in 0..self.pairs {
                let mut lanes = [0i32; 16];
                for (half, i) in [2 * g, 2 * g + 1].into_iter().enumerate() {
                    let (a, b) = (tap(i, 2 * p), tap(i, 2 * p + 1));
                    // w = hi * 2048 + lo, lo in 0..2048.
                    let pack = |f: fn(i32) -> i32| (f(a) & 0xffff) | (f(b) << 16);
                    let lo = pack(|w| w & 0x7ff);
                    let hi = pack(|w| w >> 11);
                    lanes[4 * half..4 * half + 4].fill(lo);
                    lanes[8 + 4 * half..8 + 4 * half + 4].fill(hi);
                }
                self.wide.push(lanes);
            }
        }
        let reach = (2 * self.pairs).saturating_sub(2) * cn + 8;
        self.simd = self
            .first
            .iter()
            .zip(0..)
            .take_while(|&(&f, i)| f + reach <= src * cn && i * cn + 4 <= dst * cn + 1)
            .count();
        self.one_load = match most * cn <= 16 && (cn == 3 || cn == 4) {
            true => {
                self.first[..self.simd]
                    .iter()
                    .take_while(|&&f| f + 16 <= src * cn)
                    .count()
                    / 2
                    * 2
            }
            false => 0,
        };
    }
}

/// Resizes packed 8-bit images, keeping its tables and buffers between
/// calls (nothing is allocated when the shapes repeat).
#[derive(Clone, Debug, Default)]
pub struct Resizer {
    key: Option<Key>,
    x: LinearAxis,
    y: LinearAxis,
    ax: AntialiasAxis,
    ay: AntialiasAxis,
    /// Two horizontally resized rows (linear), keyed by source row.
    rows: [Vec<i32>; 2],
    have: [usize; 2],
    /// The destination row being built, and (antialias) the horizontally
    /// resized image.
    out: Vec<u8>,
    mid: Vec<u8>,
    sums: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Key {
    src: (usize, usize),
    dst: (usize, usize),
    scale: (u64, u64),
    cn: usize,
    interp: Interpolation,
}

impl Resizer {
    /// A resizer with empty tables.
    pub fn new() -> Resizer {
        Resizer::default()
    }

    /// Resizes `src` into `dst`: both packed 8-bit frames of the same
    /// format (GRAY8, RGB24, BGR24, RGBA, BGRA), of any sizes, strided
    /// (ROIs) or not. The scale is `dst / src` on each axis.
    ///
    /// ```
    /// use memview_pixel::format::GRAY8;
    /// use memview_pixel::resize::{Interpolation, Resizer};
    /// use memview_pixel::{Frame, FrameLayout, FrameMut};
    ///
    /// let (ls, ld) = (FrameLayout::tight(&GRAY8, 4, 1)?, FrameLayout::tight(&GRAY8, 2, 1)?);
    /// let src = [10u8, 20, 30, 40];
    /// let mut dst = [0u8; 2];
    /// Resizer::new().resize(
    ///     &Frame::from_bytes(&src, &ls)?,
    ///     &mut FrameMut::from_bytes(&mut dst, &ld)?,
    ///     Interpolation::Linear,
    /// )?;
    /// assert_eq!(dst, [15, 35]);
    /// # Ok::<(), memview_pixel::PixelError>(())
    /// ```
    pub fn resize(
        &mut self,
        src: &Frame<'_>,
        dst: &mut FrameMut<'_>,
        interp: Interpolation,
    ) -> Result<(), PixelError> {
        let unsupported = PixelError::Unsupported {
            from: src.format().name,
            to: dst.format().name,
        };
        let f = src.format();
        if f != dst.format()
            || f.planes != 1
            || f.sample_bytes != 1
            || !matches!(f.family, ColorFamily::Gray | ColorFamily::Rgb)
        {
            return Err(unsupported);
        }
        let cn = f.plane_group_bytes(0);
        let rows = src.rows(0).ok_or(unsupported.clone())?;
        let image = Image::from_rows(rows, src.width(), src.height(), cn);
        let (dw, dh) = (dst.width(), dst.height());
        let dplane = dst.plane_mut(0).ok_or(unsupported)?;
        let mut rows = dplane.rows_mut()?;
        self.run(image, (dw, dh), None, interp, |_, row| {
            if let Some(out) = rows.next() {
                out[..row.len()].copy_from_slice(row);
            }
        })
    }

    /// Resizes `src` to `dst` pixels, handing each destination row to
    /// `emit` in order. `scale` overrides the factors (destination per
    /// source, OpenCV's `fx`/`fy`), which otherwise are `dst / src`.
    pub(crate) fn run(
        &mut self,
        mut src: Image<'_>,
        dst: (usize, usize),
        scale: Option<(f64, f64)>,
        interp: Interpolation,
        mut emit: impl FnMut(usize, &[u8]),
    ) -> Result<(), PixelError> {
        let cn = src.cn;
        self.prepare((src.width, src.height), dst, scale, interp, cn)?;
        let (dw, dh) = dst;
        match interp {
            Interpolation::Linear => self.linear(src, dh, &mut emit),
            Interpolation::Nearest => {
                for dy in 0..dh {
                    let row = src.row(self.y.ofs[dy].0);
                    for (o, &(s, _)) in self.out.chunks_exact_mut(cn).zip(&self.x.ofs) {
                        o.copy_from_slice(&row[s..s + cn]);
                    }
                    emit(dy, &self.out);
                }
            }
            Interpolation::Area => self.area(src, (dw, dh), &mut emit),
            Interpolation::Antialias => self.antialias(src, (dw, dh), &mut emit),
        }
        Ok(())
    }

    /// Marks in `rows` (one flag per source row, `src.1` of them) the
    /// source rows that [`Resizer::run`] with the same arguments reads;
    /// the others may hold anything (the tensor path converts only the
    /// marked rows of a zone).
    pub(crate) fn rows_read(
        &mut self,
        src: (usize, usize),
        dst: (usize, usize),
        scale: Option<(f64, f64)>,
        interp: Interpolation,
        cn: usize,
        rows: &mut Vec<bool>,
    ) -> Result<(), PixelError> {
        self.prepare(src, dst, scale, interp, cn)?;
        rows.clear();
        rows.resize(src.1, false);
        let mut mark = |y: usize| {
            if let Some(r) = rows.get_mut(y) {
                *r = true;
            }
        };
        match interp {
            Interpolation::Linear => (0..dst.1).for_each(|dy| {
                let (s0, s1) = self.linear_rows(dy);
                mark(s0);
                mark(s1);
            }),
            Interpolation::Nearest => (0..dst.1).for_each(|dy| mark(self.y.ofs[dy].0)),
            Interpolation::Area | Interpolation::Antialias => rows.fill(true),
        }
        Ok(())
    }

    /// Checks the sizes and scale and builds the tables for them (kept
    /// while they repeat).
    fn prepare(
        &mut self,
        src: (usize, usize),
        dst: (usize, usize),
        scale: Option<(f64, f64)>,
        interp: Interpolation,
        cn: usize,
    ) -> Result<(), PixelError> {
        let (sw, sh) = src;
        let (dw, dh) = dst;
        let bad = |why| PixelError::BadResize {
            from: (sw, sh),
            to: (dw, dh),
            why,
        };
        if sw == 0 || sh == 0 || dw == 0 || dh == 0 {
            return Err(bad("a side is 0 pixels"));
        }
        let (fx, fy) = scale.unwrap_or((dw as f64 / sw as f64, dh as f64 / sh as f64));
        if !(fx > 0.0 && fy > 0.0 && fx.is_finite() && fy.is_finite()) {
            return Err(bad("the scale is not a positive number"));
        }
        if interp == Interpolation::Area
            && (sw % dw != 0 || sh % dh != 0 || scale.is_some_and(|_| sw / dw != sh / dh))
        {
            return Err(bad("area resizing takes integer downscaling factors only"));
        }
        let key = Key {
            src: (sw, sh),
            dst,
            scale: (fx.to_bits(), fy.to_bits()),
            cn,
            interp,
        };
        self.out.resize(dw * cn, 0);
        if self.key == Some(key) {
            return Ok(());
        }
        match interp {
            Interpolation::Linear => {
                self.x.build(sw, dw, 1.0 / fx, true, cn);
                self.y.build(sh, dh, 1.0 / fy, false, 1);
            }
            Interpolation::Nearest => {
                // OpenCV: `floor(d * (1 / fx))`, clamped.
                let axis = |s: usize, d: usize, f: f64, cn: usize, a: &mut LinearAxis| {
                    a.ofs.clear();
                    let inv = 1.0 / f;
                    for i in 0..d {
                        let v = ((i as f64 * inv).floor() as usize).min(s - 1) * cn;
                        a.ofs.push((v, v));
                    }
                };
                axis(sw, dw, fx, cn, &mut self.x);
                axis(sh, dh, fy, 1, &mut self.y);
            }
            Interpolation::Area => {}
            Interpolation::Antialias => {
                self.ax.build(sw, dw);
                self.ax.simd_tables(sw, cn);
                self.ay.build(sh, dh);
            }
        }
        self.key = Some(key);
        Ok(())
    }

    /// The two source rows destination row `dy` of the linear pass reads:
    /// its taps' rows, except that a tap of weight 0 adds exactly 0 to
    /// OpenCV's vertical sum whatever its row holds, so the other tap's
    /// row stands in for it (integer downscaling, as a letterbox of a
    /// 1080p frame to 640 is, then reads half the rows).
    fn linear_rows(&self, dy: usize) -> (usize, usize) {
        let (s0, s1) = self.y.ofs[dy];
        match self.y.weights[dy] {
            [_, 0] => (s0, s0),
            [0, _] => (s1, s1),
            _ => (s0, s1),
        }
    }

    fn linear(&mut self, mut src: Image<'_>, dh: usize, emit: &mut impl FnMut(usize, &[u8])) {
        // Two lanes more than the row: the SIMD passes store 4 lanes a
        // pixel, or 8 a pair of 3-lane pixels.
        let n = self.out.len() + 2;
        for r in &mut self.rows {
            r.resize(n, 0);
        }
        self.have = [usize::MAX; 2];
        for dy in 0..dh {
            let (s0, s1) = self.linear_rows(dy);
            let [b0, b1] = self.y.weights[dy];
            let i0 = self.horizontal(&mut src, s0, None);
            let i1 = self.horizontal(&mut src, s1, Some(i0));
            let (r0, r1) = (&self.rows[i0], &self.rows[i1]);
            vpass(r0, r1, b0, b1, &mut self.out);
            emit(dy, &self.out);
        }
    }

    /// The slot holding source row `y` resized horizontally, computed if
    /// neither slot has it (never evicting `keep`).
    fn horizontal(&mut self, src: &mut Image<'_>, y: usize, keep: Option<usize>) -> usize {
        if let Some(i) = self.have.iter().position(|&h| h == y) {
            return i;
        }
        let slot = match keep {
            Some(k) => 1 - k,
            None => usize::from(self.have[0] != usize::MAX && self.have[1] == usize::MAX),
        };
        let cn = src.cn;
        let row = src.row(y);
        let d = &mut self.rows[slot];
        match cn {
            1 => hpass::<1>(row, &self.x, d),
            3 => hpass::<3>(row, &self.x, d),
            _ => hpass::<4>(row, &self.x, d),
        }
        self.have[slot] = y;
        slot
    }

    fn area(
        &mut self,
        mut src: Image<'_>,
        dst: (usize, usize),
        emit: &mut impl FnMut(usize, &[u8]),
    ) {
        let (dw, dh) = dst;
        let (kx, ky) = (src.width / dw, src.height / dh);
        let cn = src.cn;
        let area = (kx * ky) as u32;
        let inv = 1.0f32 / area as f32;
        self.sums.resize(dw * cn, 0);
        for dy in 0..dh {
            self.sums.fill(0);
            for y in dy * ky..(dy + 1) * ky {
                let row = src.row(y);
                for (s, block) in self
                    .sums
                    .chunks_exact_mut(cn)
                    .zip(row.chunks_exact(kx * cn))
                {
                    for px in block.chunks_exact(cn) {
                        for (a, &v) in s.iter_mut().zip(px) {
                            *a += u32::from(v);
                        }
                    }
                }
            }
            for (o, &s) in self.out.iter_mut().zip(&self.sums) {
                *o = if kx == 2 && ky == 2 {
                    ((s + 2) >> 2) as u8
                } else {
                    (s as f32 * inv).round_ties_even().min(255.0) as u8
                };
            }
            emit(dy, &self.out);
        }
    }

    fn antialias(
        &mut self,
        mut src: Image<'_>,
        dst: (usize, usize),
        emit: &mut impl FnMut(usize, &[u8]),
    ) {
        let (dw, dh) = dst;
        let cn = src.cn;
        // Horizontal pass over every source row, rounded to 8 bits.
        let line = dw * cn;
        // A byte of slack: the SIMD pass stores 4 bytes a pixel.
        self.mid.resize(src.height * line + 1, 0);
        for y in 0..src.height {
            let row = src.row(y);
            let out = &mut self.mid[y * line..(y + 1) * line + 1];
            match cn {
                1 => aa_row::<1>(row, &self.ax, out),
                3 => aa_row::<3>(row, &self.ax, out),
                _ => aa_row::<4>(row, &self.ax, out),
            }
        }
        // Vertical pass: a whole row of sums per tap, so the inner loop
        // runs along the row (vectorised).
        self.sums.resize(line, 0);
        #[cfg(target_arch = "x86_64")]
        let simd = avx2::available();
        for dy in 0..dh {
            let (y0, start, n) = self.ay.bounds[dy];
            let k = &self.ay.weights[start..start + n];
            let rows = &self.mid[y0 * line..];
            let acc = &mut self.sums[..line];
            #[cfg(target_arch = "x86_64")]
            if simd {
                // SAFETY: the CPU has AVX2, checked above (the function
                // is safe code compiled for AVX2).
                #[allow(unsafe_code)]
                unsafe {
                    avx2::aa_column(rows, line, k, acc, &mut self.out)
                }
            } else {
                aa_column(rows, line, k, acc, &mut self.out);
            }
            #[cfg(not(target_arch = "x86_64"))]
            aa_column(rows, line, k, acc, &mut self.out);
            emit(dy, &self.out);
        }
    }
}

/// Pillow's horizontal pass over one row, `CN` channels at once (AVX2 for
/// 3 and 4 channels where the row allows). `out` may be longer than the
/// row's pixels (slack for the SIMD stores).
#[inline(always)]
#[allow(unsafe_code)]
fn aa_row<const CN: usize>(row: &[u8], axis: &AntialiasAxis, out: &mut [u8]) {
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if CN >= 3 && avx2::available() {
        // SAFETY: the CPU has AVX2, checked just above; the kernel checks
        // its own bounds, and `simd` counts the pixels its loads and
        // stores stay within.
        done = unsafe {
            avx2::aa_row::<CN>(
                row,
                &axis.first,
                &axis.wide,
                axis.pairs,
                out,
                axis.simd,
                axis.one_load,
            )
        };
    }
    aa_row_portable::<CN>(
        row,
        &axis.bounds[done..],
        &axis.weights,
        &mut out[done * CN..],
    );
}

/// Pillow's vertical pass for one destination row: the taps `k` of the
/// rows of `line` bytes in `rows` summed along the row (so the loops
/// vectorise) into `acc`, then shifted and clamped into `out`.
#[inline(always)]
fn aa_column(rows: &[u8], line: usize, k: &[i32], acc: &mut [u32], out: &mut [u8]) {
    // Pillow's sums are 32-bit: the weights add up to 2^22, so a sum is
    // at most 255 * 2^22 plus the rounding half.
    acc.fill(1 << (PRECISION_BITS - 1));
    for (r, &w) in rows.chunks_exact(line).zip(k) {
        for (a, &v) in acc.iter_mut().zip(r) {
            // Two's complement: negative weights wrap and unwrap.
            *a = a.wrapping_add((i32::from(v) * w) as u32);
        }
    }
    for (o, &a) in out.iter_mut().zip(acc.iter()) {
        *o = ((a as i32) >> PRECISION_BITS).clamp(0, 255) as u8;
    }
}

/// [`aa_row`] without SIMD (the tests' reference for the SIMD kernel).
#[inline(always)]
fn aa_row_portable<const CN: usize>(
    row: &[u8],
    bounds: &[(usize, usize, usize)],
    weights: &[i32],
    out: &mut [u8],
) {
    let half = 1i32 << (PRECISION_BITS - 1);
    for (px, &(x0, start, n)) in out.chunks_exact_mut(CN).zip(bounds) {
        let (Some(k), Some(taps)) = (
            weights.get(start..start + n),
            row.get(x0 * CN..(x0 + n) * CN),
        ) else {
            continue;
        };
        let mut ss = [half; CN];
        for (&w, t) in k.iter().zip(taps.chunks_exact(CN)) {
            for c in 0..CN {
                ss[c] += i32::from(t[c]) * w;
            }
        }
        for c in 0..CN {
            px[c] = (ss[c] >> PRECISION_BITS).clamp(0, 255) as u8;
        }
    }
}

/// OpenCV's horizontal linear pass over one row: `CN` channels as a
/// constant, so each pixel's taps are two fixed-size loads (AVX2 or SSE2
/// for 3 and 4 channels where the row allows).
#[inline(always)]
#[allow(unsafe_code)]
fn hpass<const CN: usize>(row: &[u8], axis: &LinearAxis, d: &mut [i32]) {
    let (ofs, w) = (&axis.ofs[..], &axis.weights[..]);
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if CN >= 3 && avx2::available() {
        // SAFETY: the CPU has AVX2, checked just above; the kernels check
        // their own bounds, `pairs` and `adjacent` cover the pixels whose
        // taps their loads cover, and the second starts where the first
        // stopped (the offsets are into the whole row).
        unsafe {
            done = avx2::hpass_pairs::<CN>(row, ofs, &axis.pairs, d);
            done += avx2::hpass::<CN>(
                row,
                &ofs[done..],
                &axis.wide[done..],
                &mut d[done * CN..],
                axis.adjacent.saturating_sub(done),
            );
        }
    }
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if CN >= 3 && done == 0 {
        // SAFETY: SSE2 is enabled (x86-64's baseline), as the cfg says;
        // the kernel checks its own bounds.
        done = unsafe { sse2::hpass::<CN>(row, ofs, w, d, axis.simd) };
    }
    hpass_portable::<CN>(row, &ofs[done..], &w[done..], &mut d[done * CN..]);
}

/// [`hpass`] without SIMD (the tests' reference for the SIMD kernel).
#[inline(always)]
fn hpass_portable<const CN: usize>(
    row: &[u8],
    ofs: &[(usize, usize)],
    w: &[[i32; 2]],
    d: &mut [i32],
) {
    for ((px, &(o0, o1)), &[a0, a1]) in d.chunks_exact_mut(CN).zip(ofs).zip(w) {
        let (Some(s0), Some(s1)) = (row.get(o0..o0 + CN), row.get(o1..o1 + CN)) else {
            continue;
        };
        for c in 0..CN {
            px[c] = i32::from(s0[c]) * a0 + i32::from(s1[c]) * a1;
        }
    }
}

#[allow(unsafe_code)]
/// OpenCV's SIMD vertical linear pass: four bits dropped from each
/// horizontal sum, a 16-bit multiply-high by each row's weight, the two
/// added and rounded by two more bits (AVX2 sixteen samples a step, then
/// SSE2 eight).
#[inline(always)]
fn vpass(r0: &[i32], r1: &[i32], b0: i32, b1: i32, out: &mut [u8]) {
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: the CPU has AVX2, checked just above; the kernel stays
        // within the slices.
        done = unsafe { avx2::vpass(r0, r1, b0, b1, out) };
    }
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: SSE2 is enabled (x86-64's baseline), as the cfg says;
        // the kernel stays within the slices.
        done += unsafe { sse2::vpass(&r0[done..], &r1[done..], b0, b1, &mut out[done..]) };
    }
    vpass_portable(&r0[done..], &r1[done..], b0, b1, &mut out[done..]);
}

fn vpass_portable(r0: &[i32], r1: &[i32], b0: i32, b1: i32, out: &mut [u8]) {
    for ((o, &a), &b) in out.iter_mut().zip(r0).zip(r1) {
        let v = (((a >> 4) * b0) >> 16) + (((b >> 4) * b1) >> 16);
        *o = ((v + 2) >> 2).clamp(0, 255) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    /// Each SIMD pass against the portable loops (the kernel's pixels and
    /// the portable rest of the row), on random rows, every channel count,
    /// downscaling and upscaling, sizes around the vector widths.
    #[test]
    #[allow(unsafe_code)]
    fn simd_passes_equal_the_portable_loops() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        let (mut kernels, mut pairs) = (0, 0);
        for case in 0..600 {
            let cn = [1, 3, 4][case % 3];
            let sw = 1 + (rng(&mut seed) % 70) as usize;
            let dw = 1 + (rng(&mut seed) % 70) as usize;
            let row: Vec<u8> = (0..sw * cn).map(|_| rng(&mut seed) as u8).collect();
            let mut axis = LinearAxis::default();
            axis.build(sw, dw, sw as f64 / dw as f64, true, cn);
            let (ofs, w) = (&axis.ofs[..], &axis.weights[..]);
            let n = dw * cn;
            let mut want = vec![0i32; n + 2];
            hpass_portable_cn(cn, &row, ofs, w, &mut want);
            let mut got = vec![0i32; n + 2];
            match cn {
                1 => hpass::<1>(&row, &axis, &mut got),
                3 => hpass::<3>(&row, &axis, &mut got),
                _ => hpass::<4>(&row, &axis, &mut got),
            }
            assert_eq!(got[..n], want[..n], "dispatched: {sw} -> {dw} x {cn}");
            #[cfg(target_arch = "x86_64")]
            if cn >= 3 {
                let mut got = vec![0i32; n + 2];
                // SAFETY: SSE2 is x86-64's baseline.
                let done = unsafe {
                    match cn {
                        3 => sse2::hpass::<3>(&row, ofs, w, &mut got, axis.simd),
                        _ => sse2::hpass::<4>(&row, ofs, w, &mut got, axis.simd),
                    }
                };
                hpass_portable_cn(cn, &row, &ofs[done..], &w[done..], &mut got[done * cn..]);
                assert_eq!(got[..n], want[..n], "SSE2: {sw} -> {dw} x {cn}");
                if avx2::available() {
                    let mut got = vec![0i32; n + 2];
                    // SAFETY: the CPU has AVX2, checked just above.
                    let done = unsafe {
                        match cn {
                            3 => avx2::hpass::<3>(&row, ofs, &axis.wide, &mut got, axis.adjacent),
                            _ => avx2::hpass::<4>(&row, ofs, &axis.wide, &mut got, axis.adjacent),
                        }
                    };
                    kernels += usize::from(done > 0);
                    hpass_portable_cn(cn, &row, &ofs[done..], &w[done..], &mut got[done * cn..]);
                    assert_eq!(got[..n], want[..n], "AVX2: {sw} -> {dw} x {cn}");
                    // The pair pass, then the portable loop for the rest.
                    let mut got = vec![0i32; n + 2];
                    // SAFETY: as above.
                    let done = unsafe {
                        match cn {
                            3 => avx2::hpass_pairs::<3>(&row, ofs, &axis.pairs, &mut got),
                            _ => avx2::hpass_pairs::<4>(&row, ofs, &axis.pairs, &mut got),
                        }
                    };
                    assert_eq!(done, 2 * axis.pairs.len(), "{sw} -> {dw} x {cn}");
                    pairs += usize::from(done > 0);
                    hpass_portable_cn(cn, &row, &ofs[done..], &w[done..], &mut got[done * cn..]);
                    assert_eq!(got[..n], want[..n], "AVX2 pairs: {sw} -> {dw} x {cn}");
                }
            }
            let r0 = &want[..n];
            let r1: Vec<i32> = (0..n).map(|_| (rng(&mut seed) % 522_241) as i32).collect();
            let b0 = (rng(&mut seed) % 2049) as i32;
            let (mut x, mut y) = (vec![0u8; n], vec![0u8; n]);
            vpass(r0, &r1, b0, 2048 - b0, &mut x);
            vpass_portable(r0, &r1, b0, 2048 - b0, &mut y);
            assert_eq!(x, y, "{n} samples");
            #[cfg(target_arch = "x86_64")]
            if avx2::available() {
                let mut x = vec![0u8; n];
                // SAFETY: the CPU has AVX2, checked just above.
                let done = unsafe { avx2::vpass(r0, &r1, b0, 2048 - b0, &mut x) };
                vpass_portable(&r0[done..], &r1[done..], b0, 2048 - b0, &mut x[done..]);
                assert_eq!(x, y, "AVX2: {n} samples");
            }
        }
        #[cfg(target_arch = "x86_64")]
        if avx2::available() {
            assert!(kernels > 100, "the AVX2 pass ran on {kernels} rows only");
            assert!(pairs > 100, "the AVX2 pair pass ran on {pairs} rows only");
        }
    }

    /// The AVX2 antialiased horizontal pass against the portable one, on
    /// random rows: downscaling by up to 9 (many taps) and upscaling.
    #[test]
    fn antialias_rows_equal_the_portable_pass() {
        let mut seed = 0x0123_4567_89ab_cdefu64;
        let (mut simd, mut one_load) = (0, 0);
        for case in 0..1000 {
            let cn = [1, 3, 4][case % 3];
            let sw = 1 + (rng(&mut seed) % 300) as usize;
            // Every other case a gentle one (at most 2x down, up to 2x
            // up), where the one-load pass takes over.
            let dw = match case % 2 {
                0 => 1 + (rng(&mut seed) % 90) as usize,
                _ => sw.div_ceil(2) + (rng(&mut seed) % (2 * sw as u64)) as usize,
            };
            let row: Vec<u8> = (0..sw * cn).map(|_| rng(&mut seed) as u8).collect();
            let mut axis = AntialiasAxis::default();
            axis.build(sw, dw);
            axis.simd_tables(sw, cn);
            let mut want = vec![0u8; dw * cn + 1];
            let mut got = vec![0u8; dw * cn + 1];
            match cn {
                1 => aa_row_portable::<1>(&row, &axis.bounds, &axis.weights, &mut want),
                3 => aa_row_portable::<3>(&row, &axis.bounds, &axis.weights, &mut want),
                _ => aa_row_portable::<4>(&row, &axis.bounds, &axis.weights, &mut want),
            }
            match cn {
                1 => aa_row::<1>(&row, &axis, &mut got),
                3 => aa_row::<3>(&row, &axis, &mut got),
                _ => aa_row::<4>(&row, &axis, &mut got),
            }
            if cn >= 3 {
                simd += axis.simd;
                one_load += axis.one_load;
            }
            assert_eq!(got[..dw * cn], want[..dw * cn], "{sw} -> {dw} x {cn}");
        }
        #[cfg(target_arch = "x86_64")]
        if avx2::available() {
            assert!(simd > 5000, "the AVX2 pass covered {simd} pixels only");
            assert!(
                one_load > 5000,
                "the one-load pass covered {one_load} pixels only"
            );
        }
    }

    fn hpass_portable_cn(
        cn: usize,
        row: &[u8],
        ofs: &[(usize, usize)],
        w: &[[i32; 2]],
        d: &mut [i32],
    ) {
        match cn {
            1 => hpass_portable::<1>(row, ofs, w, d),
            3 => hpass_portable::<3>(row, ofs, w, d),
            _ => hpass_portable::<4>(row, ofs, w, d),
        }
    }

    /// Rows `rows_read` leaves unmarked may hold anything: `run` gives the
    /// same bytes when they are replaced by other noise. Integer factors
    /// (whose taps of weight 0 are skipped) and random sizes.
    #[test]
    fn rows_read_marks_every_row_run_reads() {
        let mut seed = 0x51ed_270b_2714_8c8d;
        let mut shapes = vec![
            ((1920, 1080), (640, 360)),
            ((300, 300), (60, 60)),
            ((15, 9), (45, 27)),
            ((7, 7), (35, 35)),
        ];
        for _ in 0..200 {
            let s = 1 + (rng(&mut seed) % 90) as usize;
            let d = 1 + (rng(&mut seed) % 90) as usize;
            shapes.push(((s, s + 1), (d, d)));
        }
        let mut resizer = Resizer::default();
        let mut rows = Vec::new();
        for (case, &((sw, sh), dst)) in shapes.iter().enumerate() {
            let interp = [Interpolation::Linear, Interpolation::Nearest][case % 2];
            resizer
                .rows_read((sw, sh), dst, None, interp, 3, &mut rows)
                .unwrap_or_else(|e| panic!("{e}"));
            if case == 0 {
                // A third: each output row sits on one source row.
                assert_eq!(rows.iter().filter(|&&r| r).count(), 360);
            }
            let a: Vec<u8> = (0..sw * sh * 3).map(|_| rng(&mut seed) as u8).collect();
            let mut b = a.clone();
            for (row, _) in b.chunks_exact_mut(sw * 3).zip(&rows).filter(|(_, r)| !**r) {
                row.iter_mut().for_each(|v| *v = rng(&mut seed) as u8);
            }
            let mut outs = [Vec::new(), Vec::new()];
            for (img, out) in [&a, &b].into_iter().zip(&mut outs) {
                resizer
                    .run(Image::tight(img, sw, sh, 3), dst, None, interp, |_, r| {
                        out.extend_from_slice(r)
                    })
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            assert_eq!(outs[0], outs[1], "{interp:?} {sw}x{sh} -> {dst:?}");
        }
    }
}
