//! Colour conversion: YUV (I420, YV12, NV12, NV21, YUYV, UYVY) to RGB24,
//! BGR24, RGBA and BGRA, and RGB to GRAY8, with BT.601 or BT.709 matrices
//! in limited or full range.
//!
//! Kernels work on row slices with the sample steps as constants, in
//! 16-bit fixed point, so the compiler can unroll and vectorise them;
//! [`yuv_to_rgb_par`] runs bands of rows on rayon. Chroma is upsampled by
//! repetition (each chroma sample covers its 2x2 or 2x1 block), as
//! FFmpeg's default swscale path does.

use memview_core::Ahead;
use rayon::prelude::*;

// The AVX2 line kernel: the crate's only `unsafe` (intrinsics), behind a
// safe wrapper that checks the CPU.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2;
// The AVX-512 (BW, VBMI) line kernel for 3-byte destinations, likewise.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx512;

use crate::error::PixelError;
use crate::format::{ColorFamily, PixelFormat};
use crate::frame::{Frame, FrameMut, Rect, Snap};

/// The YUV ↔ RGB matrix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Matrix {
    /// ITU-R BT.601 (SD video, JPEG).
    #[default]
    Bt601,
    /// ITU-R BT.709 (HD video).
    Bt709,
}

/// The value range of luma and chroma.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Range {
    /// Luma 16..=235, chroma 16..=240 ("tv", MPEG).
    #[default]
    Limited,
    /// 0..=255 ("pc", JPEG).
    Full,
}

const SHIFT: u32 = 16;
const HALF: i32 = 1 << (SHIFT - 1);

fn kr_kb(m: Matrix) -> (f64, f64) {
    match m {
        Matrix::Bt601 => (0.299, 0.114),
        Matrix::Bt709 => (0.2126, 0.0722),
    }
}

/// Fixed-point YUV → RGB coefficients, in 16-bit lanes so SSE2 can work
/// on eight pixels at once: luma through an unsigned multiply-high
/// (`y * 257 * yg >> 16` is `y * y_scale * 64`), chroma in 6-bit fixed
/// point, sums saturating.
#[derive(Clone, Copy, Debug)]
pub(crate) struct YuvCoeffs {
    yg: u16,
    y_bias: i16,
    rv: i16,
    gu: i16,
    gv: i16,
    bu: i16,
}

impl YuvCoeffs {
    fn new(m: Matrix, r: Range) -> YuvCoeffs {
        let (kr, kb) = kr_kb(m);
        let kg = 1.0 - kr - kb;
        let (y_off, y_scale, c_scale) = match r {
            Range::Limited => (16u8, 255.0f64 / 219.0, 255.0f64 / 224.0),
            Range::Full => (0, 1.0, 1.0),
        };
        // All of these fit their types for both matrices and ranges.
        let c6 = |v: f64| (v * 64.0).round() as i16;
        YuvCoeffs {
            yg: (y_scale * 64.0 * 65536.0 / 257.0).round() as u16,
            y_bias: (f64::from(y_off) * y_scale * 64.0).round() as i16,
            rv: c6(2.0 * (1.0 - kr) * c_scale),
            gu: c6(2.0 * kb * (1.0 - kb) / kg * c_scale),
            gv: c6(2.0 * kr * (1.0 - kr) / kg * c_scale),
            bu: c6(2.0 * (1.0 - kb) * c_scale),
        }
    }
}

#[inline(always)]
fn clamp8(v: i32) -> u8 {
    (v >> SHIFT).clamp(0, 255) as u8
}

/// One pixel in 16-bit lanes: luma `y`, chroma `u`, `v` centred on 0.
#[inline(always)]
fn yuv16(y: u8, u: i16, v: i16, k: YuvCoeffs) -> (u8, u8, u8) {
    let y1 = ((u32::from(u16::from(y) * 257) * u32::from(k.yg)) >> 16) as i16 - k.y_bias;
    let out = |x: i16| (x.saturating_add(32) >> 6).clamp(0, 255) as u8;
    (
        out(y1.saturating_add(k.rv * v)),
        out(y1.saturating_sub(k.gu * u + k.gv * v)),
        out(y1.saturating_add(k.bu * u)),
    )
}

/// Where the components sit in a source or destination line.
#[derive(Clone, Copy, Debug)]
struct Offsets {
    y: usize,
    u: usize,
    v: usize,
}

#[derive(Clone, Copy, Debug)]
struct RgbOffsets {
    r: usize,
    g: usize,
    b: usize,
    a: Option<usize>,
}

/// One line, or two (`next`: the second line's luma and destination) that
/// share the chroma line, as the two luma lines of 4:2:0 do: `YS`/`CS` are
/// the luma and chroma sample steps, `DS` the destination pixel size and
/// `R`, `G`, `B` the channel offsets in it (an alpha byte, if `DS` is 4, is
/// at the remaining offset); each chroma sample serves two horizontal
/// pixels. Everything the compiler needs to unroll and vectorise is a
/// constant, and the loop runs over zipped slices without indexing.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lines<
    const YS: usize,
    const CS: usize,
    const DS: usize,
    const R: usize,
    const G: usize,
    const B: usize,
>(
    yrow: &[u8],
    out: &mut [u8],
    next: Option<(&[u8], &mut [u8])>,
    urow: &[u8],
    vrow: &[u8],
    src: Offsets,
    k: YuvCoeffs,
    width: usize,
    simd: bool,
) {
    let Some((yrow1, out1)) = next else {
        return line::<YS, CS, DS, R, G, B>(yrow, urow, vrow, src, out, k, width, simd, 0);
    };
    // The SIMD kernels take both lines at once, computing the chroma
    // terms once for the two.
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if simd && YS == 1 && (CS == 1 || CS == 2) {
        if let (Some(y0), Some(y1), Some(u), Some(v)) = (
            yrow.get(src.y..),
            yrow1.get(src.y..),
            urow.get(src.u..),
            vrow.get(src.v..),
        ) {
            // AVX-512 where the CPU has it (3-byte destinations), else AVX2.
            if G == 1 {
                let outs = [&mut *out, &mut *out1];
                done = avx512::try_lines::<2, CS, DS, R, G, B>([y0, y1], u, v, outs, k, width);
            }
            if done == 0 {
                let outs = [&mut *out, &mut *out1];
                done = avx2::try_lines::<2, CS, DS, R, G, B>([y0, y1], u, v, outs, k, width);
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = simd;
    line::<YS, CS, DS, R, G, B>(yrow, urow, vrow, src, out, k, width, simd, done);
    line::<YS, CS, DS, R, G, B>(yrow1, urow, vrow, src, out1, k, width, simd, done);
}

/// How many pixels from the start of `N` lines every slice the SIMD
/// kernels touch holds (at most `width`): the luma lines `ys`, the
/// destinations `outs` (`ds` bytes a pixel) and the chroma lines `us`,
/// `vs` (`cs` bytes a sample, a sample per two pixels). A kernel step over
/// pixels `x..x + n` with `x` even and `x + n <= reach` stays within them.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn reach<const N: usize>(
    ys: &[&[u8]; N],
    outs: &[&mut [u8]; N],
    us: &[u8],
    vs: &[u8],
    cs: usize,
    ds: usize,
    width: usize,
) -> usize {
    ys.iter()
        .map(|y| y.len())
        .chain(outs.iter().map(|o| o.len() / ds))
        .chain([us.len(), vs.len()].map(|c| c / cs * 2))
        .fold(width, usize::min)
}

/// Runs a SIMD kernel's `step` of `n` pixels over the first `reach`
/// pixels of a line and returns how many it wrote: steps from the start,
/// then one more ending at `reach` (or a pixel before it, to start on a
/// chroma pair), which rewrites a few pixels the last step wrote, with the
/// same values, rather than leave the portable kernel a tail. Every step
/// starts at an even pixel. (`step` has one call site, so the compiler
/// inlines it with its constants in registers.)
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn steps(reach: usize, n: usize, mut step: impl FnMut(usize)) -> usize {
    let (mut x, mut tail) = (0, false);
    loop {
        let at = if x + n <= reach {
            x
        } else if !tail && x < reach && reach >= n {
            tail = true;
            let end = (reach - n) & !1;
            if end + n <= x {
                break;
            }
            end
        } else {
            break;
        };
        step(at);
        x = at + n;
    }
    x
}

/// One line from pixel `start` on (the pixels before it done already;
/// the SIMD kernels are tried only when `start` is 0): see [`lines`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn line<
    const YS: usize,
    const CS: usize,
    const DS: usize,
    const R: usize,
    const G: usize,
    const B: usize,
>(
    yrow: &[u8],
    urow: &[u8],
    vrow: &[u8],
    src: Offsets,
    out: &mut [u8],
    k: YuvCoeffs,
    width: usize,
    simd: bool,
    start: usize,
) {
    const fn alpha(r: usize, g: usize, b: usize) -> usize {
        6 - r - g - b
    }
    // Blocks of pixels: gather the samples into plain arrays (chroma
    // repeated to pixel rate), convert with element-wise 16-bit loops the
    // compiler vectorises, then interleave into the destination.
    const BLK: usize = 64;
    let ys = &yrow[src.y..];
    let (us, vs) = (&urow[src.u..], &vrow[src.v..]);
    // The SIMD kernels take what they can in whole steps (always an even
    // count, so chroma stays paired); this loop does the rest.
    #[allow(unused_mut)]
    let mut x0 = start;
    #[cfg(target_arch = "x86_64")]
    if simd && start == 0 && YS == 1 && (CS == 1 || CS == 2) {
        // AVX-512 in steps of 64 pixels where the CPU has it (3-byte
        // destinations), then AVX2 in steps of 32 from where it stopped.
        if G == 1 {
            x0 = avx512::try_lines::<1, CS, DS, R, G, B>([ys], us, vs, [&mut *out], k, width);
        }
        let c0 = x0 / 2 * CS;
        // (Nothing left: skip the AVX2 kernel's set-up, which costs as
        // much as a short row.)
        if let (true, Some(y), Some(u), Some(v), Some(o)) = (
            x0 < width,
            ys.get(x0..),
            us.get(c0..),
            vs.get(c0..),
            out.get_mut(x0 * DS..),
        ) {
            x0 += avx2::try_lines::<1, CS, DS, R, G, B>([y], u, v, [o], k, width - x0);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = simd;
    while x0 < width {
        // (Zeroed here, not above: a row the SIMD kernels finish pays
        // nothing for them.)
        let (mut yb, mut ub, mut vb) = ([0u8; BLK], [0i16; BLK], [0i16; BLK]);
        let (mut rb, mut gb, mut bb) = ([0u8; BLK], [0u8; BLK], [0u8; BLK]);
        let n = BLK.min(width - x0);
        // Exact sub-slices first, so the loops below carry no bounds checks
        // the compiler cannot hoist. `x0` is even, so each chroma sample
        // fills two slots.
        let m = n.div_ceil(2);
        let c0 = x0 / 2 * CS;
        let ysl = &ys[x0 * YS..(x0 + n - 1) * YS + 1];
        let usl = &us[c0..c0 + (m - 1) * CS + 1];
        let vsl = &vs[c0..c0 + (m - 1) * CS + 1];
        if YS == 1 {
            yb[..n].copy_from_slice(ysl);
        } else {
            for (i, d) in yb[..n].iter_mut().enumerate() {
                *d = ysl[i * YS];
            }
        }
        for j in 0..m {
            let (u, v) = (i16::from(usl[j * CS]) - 128, i16::from(vsl[j * CS]) - 128);
            ub[2 * j] = u;
            ub[2 * j + 1] = u;
            vb[2 * j] = v;
            vb[2 * j + 1] = v;
        }
        // Whole blocks as a constant count (the compiler vectorises it);
        // the row's last, partial block only as far as it goes.
        if n == BLK {
            for i in 0..BLK {
                (rb[i], gb[i], bb[i]) = yuv16(yb[i], ub[i], vb[i], k);
            }
        } else {
            for i in 0..n {
                (rb[i], gb[i], bb[i]) = yuv16(yb[i], ub[i], vb[i], k);
            }
        }
        let o = &mut out[x0 * DS..(x0 + n) * DS];
        for (i, px) in o.chunks_exact_mut(DS).enumerate() {
            px[R] = rb[i];
            px[G] = gb[i];
            px[B] = bb[i];
            if DS == 4 {
                px[alpha(R, G, B)] = 255;
            }
        }
        x0 += n;
    }
}

/// Conversions keep the frame size.
fn same_size(src: &Frame<'_>, dst: &FrameMut<'_>) -> Result<(), PixelError> {
    if (src.width(), src.height()) == (dst.width(), dst.height()) {
        Ok(())
    } else {
        Err(PixelError::SizeMismatch(
            src.width(),
            src.height(),
            dst.width(),
            dst.height(),
        ))
    }
}

fn rgb_offsets(f: &PixelFormat) -> Option<(RgbOffsets, usize)> {
    if f.family != ColorFamily::Rgb || f.sample_bytes != 1 {
        return None;
    }
    let off = |n| f.component(n).map(|c| c.offset);
    Some((
        RgbOffsets {
            r: off('R')?,
            g: off('G')?,
            b: off('B')?,
            a: off('A'),
        },
        f.plane_group_bytes(0),
    ))
}

/// Converts a YUV frame (8-bit 4:2:0 or 4:2:2 with horizontal chroma
/// subsampling) to an RGB frame of the same size, on this thread.
///
/// ```
/// use memview_pixel::convert::{yuv_to_rgb, Matrix, Range};
/// use memview_pixel::format::{I420, RGB24};
/// use memview_pixel::{Frame, FrameLayout, FrameMut};
///
/// let (li, lr) = (FrameLayout::tight(&I420, 4, 2)?, FrameLayout::tight(&RGB24, 4, 2)?);
/// let mut yuv = vec![128u8; li.len()];
/// yuv[..8].fill(235); // white luma, neutral chroma
/// let mut rgb = vec![0u8; lr.len()];
/// yuv_to_rgb(&Frame::from_bytes(&yuv, &li)?, &mut FrameMut::from_bytes(&mut rgb, &lr)?, Matrix::Bt601, Range::Limited)?;
/// assert!(rgb.iter().all(|&b| b == 255));
/// # Ok::<(), memview_pixel::PixelError>(())
/// ```
pub fn yuv_to_rgb(
    src: &Frame<'_>,
    dst: &mut FrameMut<'_>,
    m: Matrix,
    r: Range,
) -> Result<(), PixelError> {
    convert_yuv(src, dst, m, r, true, None)
}

/// [`yuv_to_rgb`] of only the rows `want` marks (`want.0[y - want.1]`, a
/// row outside the mask unmarked; every row without a mask); the other
/// rows of `dst` keep what they held. The tensor path converts just the
/// rows its resizer reads.
pub(crate) fn yuv_to_rgb_rows(
    src: &Frame<'_>,
    dst: &mut FrameMut<'_>,
    m: Matrix,
    r: Range,
    want: Option<(&[bool], usize)>,
) -> Result<(), PixelError> {
    convert_yuv(src, dst, m, r, true, want)
}

/// Whether conversions may use the AVX-512 kernel where the CPU has it
/// (the default); `false` leaves its work to the AVX2 kernel, process-wide,
/// so tests and benchmarks reach that kernel on AVX-512 machines too.
/// Every kernel gives the same bytes.
#[doc(hidden)]
pub fn use_avx512(on: bool) {
    #[cfg(target_arch = "x86_64")]
    avx512::OFF.store(!on, core::sync::atomic::Ordering::Relaxed);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = on;
}

/// [`yuv_to_rgb`] with the SIMD kernels off: the portable reference the
/// tests hold them to, byte for byte.
#[doc(hidden)]
pub fn yuv_to_rgb_portable(
    src: &Frame<'_>,
    dst: &mut FrameMut<'_>,
    m: Matrix,
    r: Range,
) -> Result<(), PixelError> {
    convert_yuv(src, dst, m, r, false, None)
}

/// How many rows on a zone's planes are prefetched into L2 as it is
/// converted ([`Ahead`]; zones only, see `convert_yuv`).
const AHEAD: usize = 16;

fn convert_yuv(
    src: &Frame<'_>,
    dst: &mut FrameMut<'_>,
    m: Matrix,
    r: Range,
    simd: bool,
    want: Option<(&[bool], usize)>,
) -> Result<(), PixelError> {
    let wanted = |y: usize| match want {
        None => true,
        Some((mask, from)) => y.checked_sub(from).and_then(|i| mask.get(i)) == Some(&true),
    };
    let (sf, df) = (src.format(), dst.format());
    let unsupported = PixelError::Unsupported {
        from: sf.name,
        to: df.name,
    };
    if sf.family != ColorFamily::Yuv || sf.sample_bytes != 1 || sf.log2_chroma_w != 1 {
        return Err(unsupported);
    }
    let (rgb, ds) = rgb_offsets(df).ok_or(unsupported.clone())?;
    // The kernels put alpha at the byte R, G and B leave free.
    if rgb.a.is_some_and(|a| a != 6 - rgb.r - rgb.g - rgb.b) {
        return Err(unsupported);
    }
    same_size(src, dst)?;
    let (yc, uc, vc) = match (sf.component('Y'), sf.component('U'), sf.component('V')) {
        (Some(y), Some(u), Some(v)) => (y, u, v),
        _ => return Err(unsupported),
    };
    let (_, csh) = sf.plane_subsampling(uc.plane);
    let k = YuvCoeffs::new(m, r);
    let offs = Offsets {
        y: yc.offset,
        u: uc.offset,
        v: vc.offset,
    };
    let (Some(yrows), Some(urows), Some(vrows)) =
        (src.rows(yc.plane), src.rows(uc.plane), src.rows(vc.plane))
    else {
        return Err(unsupported);
    };
    // A region narrower than half its frame is short runs of bytes at a
    // long stride, which the hardware prefetchers follow poorly: its rows
    // are prefetched. Longer rows stream, and prefetching them cost 2-10%
    // (the whole frame converted, or letterboxed into a tensor).
    let sparse = src
        .plane(yc.plane)
        .and_then(|v| v.strides().first())
        .is_some_and(|s| s.unsigned_abs() >= 2 * yrows.row_len());
    let d = if sparse { AHEAD } else { 0 };
    let (mut yrows, mut urows, mut vrows) = (
        Ahead::new(yrows, d),
        Ahead::new(urows, d),
        Ahead::new(vrows, d),
    );
    let width = src.width();
    let steps = (yc.step, uc.step, ds);
    let dplane = dst.plane_mut(0).ok_or(unsupported.clone())?;
    let mut drows = dplane.rows_mut()?;
    let (mut urow, mut vrow): (&[u8], &[u8]) = (&[], &[]);
    let height = src.height();
    let mut y = 0;
    while y < height {
        let first = y;
        let (Some(yrow), Some(out)) = (yrows.next(), drows.next()) else {
            break;
        };
        if y & ((1 << csh) - 1) == 0 {
            urow = urows.next().unwrap_or(&[]);
            vrow = vrows.next().unwrap_or(&[]);
        }
        // 4:2:0: the line below shares this chroma line.
        let next = match csh == 1 && y + 1 < height {
            true => yrows.next().zip(drows.next()),
            false => None,
        };
        y += 1 + usize::from(next.is_some());
        // Rows nobody wants are skipped; a pair with one wanted row
        // converts that one alone (the kernels give the same bytes).
        let (yrow, out, next) = match (wanted(first), next) {
            (true, Some(n)) if wanted(first + 1) => (yrow, out, Some(n)),
            (true, _) => (yrow, out, None),
            (false, Some((y1, o1))) if wanted(first + 1) => (y1, o1, None),
            (false, _) => continue,
        };
        // Every (source steps, destination order) pair the table has.
        macro_rules! dispatch {
            ($(($ys:literal, $cs:literal, $ds:literal, $r:literal, $g:literal, $b:literal)),*) => {
                match (steps, (rgb.r, rgb.g, rgb.b)) {
                    $(
                        (($ys, $cs, $ds), ($r, $g, $b)) => {
                            lines::<$ys, $cs, $ds, $r, $g, $b>(yrow, out, next, urow, vrow, offs, k, width, simd)
                        }
                    )*
                    _ => return Err(unsupported),
                }
            };
        }
        dispatch!(
            (1, 1, 3, 0, 1, 2),
            (1, 1, 3, 2, 1, 0),
            (1, 1, 4, 0, 1, 2),
            (1, 1, 4, 2, 1, 0),
            (1, 2, 3, 0, 1, 2),
            (1, 2, 3, 2, 1, 0),
            (1, 2, 4, 0, 1, 2),
            (1, 2, 4, 2, 1, 0),
            (2, 4, 3, 0, 1, 2),
            (2, 4, 3, 2, 1, 0),
            (2, 4, 4, 0, 1, 2),
            (2, 4, 4, 2, 1, 0)
        )
    }
    Ok(())
}

/// [`yuv_to_rgb`] on rayon: the frame is cut into bands of rows (on the
/// chroma grid), each converted on its own thread into its own disjoint
/// part of `dst`.
pub fn yuv_to_rgb_par(
    src: &Frame<'_>,
    dst: &mut FrameMut<'_>,
    m: Matrix,
    r: Range,
) -> Result<(), PixelError> {
    let (_, gy) = src.format().grid();
    let bands = rayon::current_num_threads().max(1) * 4;
    let band_h = src.height().div_ceil(bands).div_ceil(gy) * gy;
    let rects: Vec<Rect> = (0..src.height())
        .step_by(band_h.max(1))
        .map(|y0| Rect::new(0, y0, src.width(), band_h.min(src.height() - y0)))
        .collect();
    let parts = dst.reborrow().split_rois(&rects, Snap::Strict)?;
    let srcs: Vec<_> = rects
        .iter()
        .map(|&rc| src.roi_with(rc, Snap::Strict))
        .collect::<Result<_, _>>()?;
    parts
        .into_par_iter()
        .zip(srcs.par_iter())
        .map(|(mut part, sroi)| yuv_to_rgb(sroi, part.frame_mut(), m, r))
        .collect()
}

/// Converts an RGB frame (RGB24, BGR24, RGBA, BGRA) to GRAY8: the luma of
/// the matrix, in the given range.
pub fn rgb_to_gray(
    src: &Frame<'_>,
    dst: &mut FrameMut<'_>,
    m: Matrix,
    r: Range,
) -> Result<(), PixelError> {
    let (sf, df) = (src.format(), dst.format());
    let unsupported = PixelError::Unsupported {
        from: sf.name,
        to: df.name,
    };
    let (rgb, ss) = rgb_offsets(sf).ok_or(unsupported.clone())?;
    if df.family != ColorFamily::Gray || df.sample_bytes != 1 {
        return Err(unsupported);
    }
    same_size(src, dst)?;
    let (kr, kb) = kr_kb(m);
    let (scale, off) = match r {
        Range::Limited => (219.0 / 255.0, 16 << SHIFT),
        Range::Full => (1.0, 0),
    };
    let fx = |v: f64| (v * scale * f64::from(1 << SHIFT)).round() as i32;
    let (cr, cg, cb) = (fx(kr), fx(1.0 - kr - kb), fx(kb));
    let srows = src.rows(0).ok_or(unsupported.clone())?;
    let dplane = dst.plane_mut(0).ok_or(unsupported)?;
    let width = src.width();
    for (srow, out) in srows.zip(dplane.rows_mut()?) {
        for (px, o) in srow[..width * ss]
            .chunks_exact(ss)
            .zip(out[..width].iter_mut())
        {
            let v = cr * i32::from(px[rgb.r])
                + cg * i32::from(px[rgb.g])
                + cb * i32::from(px[rgb.b])
                + off
                + HALF;
            *o = clamp8(v);
        }
    }
    Ok(())
}

/// A planar 8-bit 4:4:4 YUV frame into tight RGB24 `out` (the same
/// arithmetic as the subsampled kernels, each pixel with its own chroma).
pub(crate) fn yuv444_to_rgb24(
    src: &Frame<'_>,
    out: &mut [u8],
    m: Matrix,
    r: Range,
) -> Result<(), PixelError> {
    let sf = src.format();
    let unsupported = PixelError::Unsupported {
        from: sf.name,
        to: "RGB24",
    };
    let (Some(yc), Some(uc), Some(vc)) = (sf.component('Y'), sf.component('U'), sf.component('V'))
    else {
        return Err(unsupported);
    };
    let (Some(yrows), Some(urows), Some(vrows)) =
        (src.rows(yc.plane), src.rows(uc.plane), src.rows(vc.plane))
    else {
        return Err(unsupported);
    };
    let width = src.width();
    if out.len() != width * src.height() * 3 {
        return Err(PixelError::WrongLength {
            expected: width * src.height() * 3,
            got: out.len(),
        });
    }
    let k = YuvCoeffs::new(m, r);
    for (((yr, ur), vr), o) in yrows
        .zip(urows)
        .zip(vrows)
        .zip(out.chunks_exact_mut(width * 3))
    {
        let ys = yr.iter().skip(yc.offset).step_by(yc.step);
        let us = ur.iter().skip(uc.offset).step_by(uc.step);
        let vs = vr.iter().skip(vc.offset).step_by(vc.step);
        for (((&y, &u), &v), px) in ys.zip(us).zip(vs).zip(o.chunks_exact_mut(3)) {
            let (r, g, b) = yuv16(y, i16::from(u) - 128, i16::from(v) - 128, k);
            px.copy_from_slice(&[r, g, b]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SIMD kernels add the rounding 32 to the luma term first
    /// (`sat((y1 + 32) + c) >> 6` for `sat(sat(y1 + c) + 32) >> 6`): the same
    /// byte for every input of every matrix and range, as this checks (a
    /// sum saturates only far above 255, where both clamp).
    #[test]
    fn folded_rounding_is_exact() {
        for m in [Matrix::Bt601, Matrix::Bt709] {
            for r in [Range::Limited, Range::Full] {
                let k = YuvCoeffs::new(m, r);
                for y in 0..=255u8 {
                    let y1 = ((u32::from(u16::from(y) * 257) * u32::from(k.yg)) >> 16) as i16;
                    let (plain, folded) = (y1 - k.y_bias, y1 - (k.y_bias - 32));
                    for c in -128..=127i16 {
                        let terms = [k.rv * c, -(k.gu * c), -(k.gv * c), k.bu * c];
                        for u in -128..=127i16 {
                            let g = -(k.gu * u + k.gv * c);
                            for t in terms.iter().copied().chain([g]) {
                                let old =
                                    (plain.saturating_add(t).saturating_add(32) >> 6).clamp(0, 255);
                                let new = (folded.saturating_add(t) >> 6).clamp(0, 255);
                                assert_eq!(old, new, "{m:?} {r:?} y {y} term {t}");
                            }
                        }
                    }
                }
            }
        }
    }
}
