//! Frames over memview-core views, and their regions of interest.

use core::fmt;

use memview_core::{Region, Rows, View, ViewMut, ViewRef};
use smallvec::SmallVec;

use crate::error::PixelError;
use crate::format::{PixelFormat, RoiGrid};
use crate::layout::FrameLayout;

/// The most planes a format of the table has.
const MAX_PLANES: usize = 3;

/// A rectangle in pixels of the frame (luma samples for YUV).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left column.
    pub x: usize,
    /// Top row.
    pub y: usize,
    /// Width.
    pub w: usize,
    /// Height.
    pub h: usize,
}

impl fmt::Display for Rect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}+{}+{}", self.w, self.h, self.x, self.y)
    }
}

impl Rect {
    /// `w x h` at `(x, y)`.
    pub fn new(x: usize, y: usize, w: usize, h: usize) -> Rect {
        Rect { x, y, w, h }
    }

    /// Whether two rectangles share a pixel (memview-core's region test).
    pub fn overlaps(&self, o: &Rect) -> bool {
        self.region().overlaps(&o.region())
    }

    fn region(&self) -> Region {
        Region {
            x: self.x,
            y: self.y,
            w: self.w,
            h: self.h,
        }
    }
}

/// How a rectangle off the chroma grid is treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Snap {
    /// Grow it to the enclosing grid-aligned rectangle (the default); the
    /// ROI reports both rectangles.
    #[default]
    Outward,
    /// Refuse it with [`PixelError::Misaligned`].
    Strict,
}

/// Shape and strides of plane `p`'s view as [`Frame::plane`] describes it
/// (2-D planar, 3-D packed), and how many axes it has.
fn plane_parts(
    format: &PixelFormat,
    p: usize,
    pl: &crate::layout::PlaneLayout,
) -> ([usize; 3], [isize; 3], usize) {
    let group = format.plane_group_bytes(p);
    let sb = format.sample_bytes;
    let (groups, comps) = (pl.row_bytes / group, group / sb);
    if comps == 1 {
        (
            [pl.rows, groups, 0],
            [pl.stride as isize, sb as isize, 0],
            2,
        )
    } else {
        (
            [pl.rows, groups, comps],
            [pl.stride as isize, group as isize, sb as isize],
            3,
        )
    }
}

fn sample_format(format: &PixelFormat) -> &'static str {
    if format.sample_bytes == 2 {
        "<H"
    } else {
        "B"
    }
}

/// Snaps `r` to the format's grid inside a `width x height` frame, or
/// refuses it.
#[inline]
fn snap(
    grid: &RoiGrid,
    width: usize,
    height: usize,
    r: Rect,
    mode: Snap,
) -> Result<Rect, PixelError> {
    let out = || PixelError::OutOfFrame {
        rect: r,
        width,
        height,
    };
    if r.w == 0 || r.h == 0 {
        return Err(PixelError::EmptyRect { rect: r });
    }
    let x1 =
        r.x.checked_add(r.w)
            .filter(|&e| e <= width)
            .ok_or_else(out)?;
    let y1 =
        r.y.checked_add(r.h)
            .filter(|&e| e <= height)
            .ok_or_else(out)?;
    // The grid is a power of two: masks, not divisions (this runs for
    // every zone of every frame).
    let (mx, my) = grid.mask;
    let aligned = |v: usize, m: usize, end: usize| v & m == 0 || v == end;
    if mode == Snap::Strict
        && !(aligned(r.x, mx, width)
            && aligned(x1, mx, width)
            && aligned(r.y, my, height)
            && aligned(y1, my, height))
    {
        let (gx, gy) = (mx + 1, my + 1);
        return Err(PixelError::Misaligned { rect: r, gx, gy });
    }
    // x1, y1 <= width, height < 2^16 (layouts refuse more): no overflow.
    let (x0, y0) = (r.x & !mx, r.y & !my);
    let x1 = ((x1 + mx) & !mx).min(width);
    let y1 = ((y1 + my) & !my).min(height);
    Ok(Rect::new(x0, y0, x1 - x0, y1 - y0))
}

/// The rows and sample groups of plane `p` that an aligned rectangle covers.
#[inline]
fn plane_ranges(
    grid: &RoiGrid,
    p: usize,
    e: Rect,
) -> (core::ops::Range<usize>, core::ops::Range<usize>) {
    plane_cut(grid, p, &grid_ranges(grid, e))
}

/// A rectangle's ranges on both grids: rows `[0..1]` and columns `[2..3]`
/// of pixels, then rows `[4..5]` and sample groups `[6..7]` of the chroma
/// grid (ends rounded up, as the layouts round chroma up).
#[inline]
fn grid_ranges(grid: &RoiGrid, e: Rect) -> [usize; 8] {
    let (cw, ch) = grid.log2;
    let (mx, my) = grid.mask;
    let (y1, x1) = (e.y + e.h, e.x + e.w);
    // The ends are at most a frame dimension (< 2^16): no overflow.
    [
        e.y,
        y1,
        e.x,
        x1,
        e.y >> ch,
        (y1 + my) >> ch,
        e.x >> cw,
        (x1 + mx) >> cw,
    ]
}

/// The rectangle whose [`grid_ranges`] are `g`.
#[inline]
fn rect_of(g: &[usize; 8]) -> Rect {
    Rect::new(g[2], g[0], g[3] - g[2], g[1] - g[0])
}

/// Plane `p`'s rows and sample groups of a rectangle, given its
/// [`grid_ranges`]: each axis of a plane follows the pixel grid or the
/// chroma grid (the format table checks it).
#[inline(always)]
fn plane_cut(
    grid: &RoiGrid,
    p: usize,
    g: &[usize; 8],
) -> (core::ops::Range<usize>, core::ops::Range<usize>) {
    // Selects, not indexing: the ranges stay in registers.
    let (cy, cx) = grid.on_chroma(p);
    let ys = if cy { g[4]..g[5] } else { g[0]..g[1] };
    let xs = if cx { g[6]..g[7] } else { g[2]..g[3] };
    (ys, xs)
}

/// A plane view that can write itself tight: [`View`] and [`ViewRef`].
trait TightPlane {
    fn nbytes(&self) -> usize;
    fn copy_into(&self, out: &mut [u8]) -> Result<(), memview_core::ViewError>;
}

impl TightPlane for &View<'_> {
    fn nbytes(&self) -> usize {
        View::nbytes(self)
    }

    fn copy_into(&self, out: &mut [u8]) -> Result<(), memview_core::ViewError> {
        View::copy_into(self, out, memview_core::MemOrder::C)
    }
}

impl TightPlane for ViewRef<'_> {
    fn nbytes(&self) -> usize {
        ViewRef::nbytes(self)
    }

    fn copy_into(&self, out: &mut [u8]) -> Result<(), memview_core::ViewError> {
        ViewRef::copy_into(self, out, memview_core::MemOrder::C)
    }
}

/// Writes `planes` one after the other, lines without padding, into `out`,
/// which must hold exactly their bytes.
fn copy_tight<T: TightPlane>(
    planes: impl Iterator<Item = T> + Clone,
    out: &mut [u8],
) -> Result<(), PixelError> {
    let need: usize = planes.clone().map(|v| v.nbytes()).sum();
    if out.len() != need {
        return Err(PixelError::WrongLength {
            expected: need,
            got: out.len(),
        });
    }
    let mut at = 0;
    for v in planes {
        let n = v.nbytes();
        v.copy_into(&mut out[at..at + n])?;
        at += n;
    }
    Ok(())
}

/// A frame: its format, size, and a view of each plane.
///
/// Plane views are 2-D `(rows, samples)` for planar formats and 3-D
/// `(rows, groups, samples per group)` for packed ones (RGB24 is
/// `(h, w, 3)`, YUYV `(h, ceil(w/2), 4)`, NV12's chroma plane
/// `(ceil(h/2), ceil(w/2), 2)`); 16-bit formats have items `<H`.
#[derive(Clone, Debug)]
pub struct Frame<'a> {
    format: &'static PixelFormat,
    width: usize,
    height: usize,
    planes: [Option<View<'a>>; MAX_PLANES],
    /// The format's [`RoiGrid`], kept here so that cutting a zone reads
    /// only the frame.
    grid: RoiGrid,
    /// Whether every plane view has two or three axes and covers the rows
    /// and sample groups of the whole frame ([`covers`]), checked when the
    /// frame is made: it lets [`RoiRef::plane`] cut planes without
    /// per-plane checks.
    covers: bool,
}

/// A frame whose planes can be written.
#[derive(Debug)]
pub struct FrameMut<'a> {
    format: &'static PixelFormat,
    width: usize,
    height: usize,
    planes: [Option<ViewMut<'a>>; MAX_PLANES],
}

/// Whether each of `planes` has two or three (inline) axes and at least the
/// rows and sample groups that a `width x height` frame of `format` covers,
/// as [`plane_cut`] works them out for the whole frame.
fn covers(
    format: &PixelFormat,
    width: usize,
    height: usize,
    planes: &[Option<View<'_>>; MAX_PLANES],
) -> bool {
    let grid = format.roi_grid();
    let g = grid_ranges(grid, Rect::new(0, 0, width, height));
    planes.iter().enumerate().all(|(p, v)| {
        let Some(v) = v else { return true };
        let (ys, xs) = plane_cut(grid, p, &g);
        let shape = v.shape();
        // At least two axes, at most three kept inline (what `view_ref`
        // accepts), and long enough on both.
        shape.len() >= 2 && v.view_ref().is_ok() && ys.end <= shape[0] && xs.end <= shape[1]
    })
}

impl<'a> Frame<'a> {
    /// A frame of `planes`, with its [`covers`] flag worked out.
    fn assemble(
        format: &'static PixelFormat,
        width: usize,
        height: usize,
        planes: [Option<View<'a>>; MAX_PLANES],
    ) -> Frame<'a> {
        let covers = covers(format, width, height, &planes);
        Frame {
            grid: *format.roi_grid(),
            format,
            width,
            height,
            planes,
            covers,
        }
    }

    /// A frame laid out by `layout` in `buf` (a 1-D byte view from any
    /// exporter; a shared exporter's view makes a `'static` frame).
    pub fn new(buf: &View<'a>, layout: &FrameLayout) -> Result<Frame<'a>, PixelError> {
        let bytes = buf.nbytes();
        layout.validate(bytes)?;
        let format = layout.format();
        let mut planes: [Option<View<'a>>; MAX_PLANES] = [None, None, None];
        for (p, pl) in layout.planes().iter().enumerate() {
            let (shape, strides, n) = plane_parts(format, p, pl);
            let v = buf.with_parts(
                sample_format(format),
                pl.offset as isize,
                &shape[..n],
                &strides[..n],
            )?;
            planes[p] = Some(v);
        }
        Ok(Frame::assemble(
            format,
            layout.width(),
            layout.height(),
            planes,
        ))
    }

    /// A frame over a byte slice.
    pub fn from_bytes(bytes: &'a [u8], layout: &FrameLayout) -> Result<Frame<'a>, PixelError> {
        Frame::new(&View::from_bytes(bytes), layout)
    }

    /// The pixel format.
    pub fn format(&self) -> &'static PixelFormat {
        self.format
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The view of plane `p` (`None` past the format's planes).
    pub fn plane(&self, p: usize) -> Option<&View<'a>> {
        self.planes.get(p).and_then(Option::as_ref)
    }

    /// The rows of plane `p` as byte slices: the analyzers' fast path.
    pub fn rows(&self, p: usize) -> Option<Rows<'_>> {
        self.plane(p).and_then(|v| v.rows().ok())
    }

    /// The value of component `name` at pixel `(x, y)`, shifted down to its
    /// depth (P010's 10 bits come back as 0..=1023).
    pub fn sample(&self, name: char, x: usize, y: usize) -> Option<u16> {
        let c = self.format.component(name)?;
        let (sw, sh) = self.format.plane_subsampling(c.plane);
        let plane = self.plane(c.plane)?;
        let group_bytes = self.format.plane_group_bytes(c.plane);
        // The sample's byte offset in its group (a luma sample of YUYV is
        // at 0 or 2), then its index along the plane's last axis.
        let within = if c.step < group_bytes {
            (x & ((1 << sw) - 1)) * c.step
        } else {
            0
        };
        let in_group = (c.offset + within) / self.format.sample_bytes;
        let (row, gx) = (
            isize::try_from(y >> sh).ok()?,
            isize::try_from(x >> sw).ok()?,
        );
        let item = if plane.ndim() == 3 {
            plane
                .item(&[row, gx, isize::try_from(in_group).ok()?])
                .ok()?
        } else {
            plane.item(&[row, gx]).ok()?
        };
        let raw = match item {
            [lo, hi] => u16::from_le_bytes([*lo, *hi]),
            [b] => u16::from(*b),
            _ => return None,
        };
        Some((raw >> c.shift) & (((1u32 << c.depth) - 1) as u16))
    }

    /// The region `rect` snapped outward to the chroma grid: per-plane
    /// views in O(1), no allocation, no copy.
    pub fn roi(&self, rect: Rect) -> Result<Roi<'a>, PixelError> {
        self.roi_with(rect, Snap::Outward)
    }

    /// The region `rect` under an explicit snapping policy.
    pub fn roi_with(&self, rect: Rect, mode: Snap) -> Result<Roi<'a>, PixelError> {
        let e = snap(&self.grid, self.width, self.height, rect, mode)?;
        // Built where it is returned, each plane view written in place.
        let mut roi = Roi {
            requested: rect,
            frame: Frame {
                format: self.format,
                width: e.w,
                height: e.h,
                planes: [None, None, None],
                grid: self.grid,
                covers: false,
            },
            origin: e,
        };
        for (p, (slot, v)) in roi.frame.planes.iter_mut().zip(&self.planes).enumerate() {
            if let Some(v) = v {
                let (ys, xs) = plane_ranges(&self.grid, p, e);
                *slot = Some(v.region(ys, xs)?);
            }
        }
        // Each plane view is exactly the plane's range of `e`, which sits
        // on the chroma grid: a rectangle of `e`'s size at the origin has
        // the same ranges, so the ROI covers its planes when the frame does
        // (the unit tests recompute it for every format, size and layout).
        roi.frame.covers = self.covers;
        debug_assert_eq!(
            roi.frame.covers,
            self.covers && {
                let f = &roi.frame;
                covers(f.format, f.width, f.height, &f.planes)
            }
        );
        Ok(roi)
    }

    /// The region `rect` snapped outward to the chroma grid, as
    /// [`Frame::roi`], borrowed from this frame: `Copy`, nothing to drop,
    /// no owner to share, and each plane a [`ViewRef`] made in O(1) when
    /// asked for. The per-frame fast path (the three plane views of an I420
    /// zone in a few nanoseconds); [`RoiRef::to_roi`] gives the [`Roi`]
    /// when a full frame is wanted.
    #[inline]
    pub fn roi_ref(&self, rect: Rect) -> Result<RoiRef<'_>, PixelError> {
        self.roi_ref_with(rect, Snap::Outward)
    }

    /// [`Frame::roi_ref`] under an explicit snapping policy.
    #[inline]
    pub fn roi_ref_with(&self, rect: Rect, mode: Snap) -> Result<RoiRef<'_>, PixelError> {
        let e = snap(&self.grid, self.width, self.height, rect, mode)?;
        Ok(RoiRef::new(self, rect, e))
    }

    /// `rect` clamped to the frame: the explicit alternative to an
    /// out-of-frame error.
    pub fn clamp(&self, rect: Rect) -> Rect {
        let x = rect.x.min(self.width);
        let y = rect.y.min(self.height);
        Rect::new(
            x,
            y,
            rect.w.min(self.width - x),
            rect.h.min(self.height - y),
        )
    }

    /// Bytes of the frame written tight (as [`Frame::copy_to`] does).
    pub fn tight_len(&self) -> usize {
        self.planes.iter().flatten().map(|v| v.nbytes()).sum()
    }

    /// Writes the frame tight (lines without padding, planes one after the
    /// other): FFmpeg's rawvideo layout, and for an ROI, byte for byte what
    /// FFmpeg's `crop` filter outputs. `out` must hold [`Frame::tight_len`]
    /// bytes.
    pub fn copy_to(&self, out: &mut [u8]) -> Result<(), PixelError> {
        copy_tight(self.planes.iter().flatten(), out)
    }

    /// [`Frame::copy_to`] into a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = vec![0; self.tight_len()];
        // Lengths agree by construction; nothing else can fail.
        let _ = self.copy_to(&mut out);
        out
    }
}

/// A region of interest: a sub-frame of per-plane views, with the
/// rectangle asked for and the one actually covered after snapping.
#[derive(Clone, Debug)]
pub struct Roi<'a> {
    requested: Rect,
    origin: Rect,
    frame: Frame<'a>,
}

impl<'a> Roi<'a> {
    /// The rectangle asked for.
    pub fn requested(&self) -> Rect {
        self.requested
    }

    /// The rectangle covered, on the chroma grid.
    pub fn effective(&self) -> Rect {
        self.origin
    }

    /// The ROI as a frame of its own size: plane views, rows, copy-out,
    /// and ROIs of the ROI (in its own coordinates).
    pub fn frame(&self) -> &Frame<'a> {
        &self.frame
    }

    /// An ROI of this ROI, `rect` in this ROI's coordinates; the result
    /// reports rectangles in the parent frame's coordinates.
    pub fn roi(&self, rect: Rect) -> Result<Roi<'a>, PixelError> {
        let inner = self.frame.roi(rect)?;
        let shift = |r: Rect| Rect::new(r.x + self.origin.x, r.y + self.origin.y, r.w, r.h);
        Ok(Roi {
            requested: shift(inner.requested),
            origin: shift(inner.origin),
            frame: inner.frame,
        })
    }
}

impl<'a> core::ops::Deref for Roi<'a> {
    type Target = Frame<'a>;

    fn deref(&self) -> &Frame<'a> {
        &self.frame
    }
}

/// [`RoiRef::plane`]'s checks for a frame whose planes did not pass
/// [`covers`] (none that a layout makes), out of the fast path's way.
#[cold]
#[inline(never)]
fn region_fits(v: &View<'_>, ys: core::ops::Range<usize>, xs: core::ops::Range<usize>) -> bool {
    // By value: the fast path keeps the ranges in registers.
    v.region_ref(ys, xs).is_ok()
}

/// A region of interest borrowed from its frame: [`Frame::roi_ref`].
///
/// The same rectangles, snapping and plane layouts as [`Roi`]; each plane is
/// a `Copy` [`ViewRef`] cut from the frame's plane when asked for (O(1): a
/// few loads and one multiply-add), and the ROI itself is a pointer, a
/// rectangle and eight range ends, `Copy`.
#[derive(Clone, Copy, Debug)]
pub struct RoiRef<'f> {
    frame: &'f Frame<'f>,
    requested: Rect,
    /// The effective rectangle's [`grid_ranges`] (worked out once for all
    /// planes); the rectangle is inside the frame and on its chroma grid
    /// (checked when made).
    ranges: [usize; 8],
}

impl<'f> RoiRef<'f> {
    #[inline]
    fn new(frame: &'f Frame<'f>, requested: Rect, e: Rect) -> RoiRef<'f> {
        RoiRef {
            frame,
            requested,
            ranges: grid_ranges(&frame.grid, e),
        }
    }

    /// The rectangle asked for.
    pub fn requested(&self) -> Rect {
        self.requested
    }

    /// The rectangle covered, on the chroma grid.
    pub fn effective(&self) -> Rect {
        rect_of(&self.ranges)
    }

    /// The pixel format.
    pub fn format(&self) -> &'static PixelFormat {
        self.frame.format
    }

    /// Width in pixels (of the effective rectangle).
    pub fn width(&self) -> usize {
        self.ranges[3] - self.ranges[2]
    }

    /// Height in pixels (of the effective rectangle).
    pub fn height(&self) -> usize {
        self.ranges[1] - self.ranges[0]
    }

    /// The view of plane `p`, laid out as [`Frame::plane`] describes
    /// (`None` past the format's planes).
    #[inline(always)]
    pub fn plane(&self, p: usize) -> Option<ViewRef<'f>> {
        let v = self.frame.planes.get(p)?.as_ref()?;
        let (ys, xs) = plane_cut(&self.frame.grid, p, &self.ranges);
        // One construction for both paths, so that the views are written
        // straight where the caller keeps them.
        if !(self.frame.covers || region_fits(v, ys.clone(), xs.clone())) {
            return None;
        }
        // SAFETY: either `region_fits` checked the region, or: the
        // effective rectangle lies inside the frame (`snap` checked it
        // against the frame's size, or against an ROI's inside the frame),
        // so its ranges on plane `p` lie inside the frame's whole ranges
        // (`grid_ranges` is monotonic: starts shifted down, ends rounded
        // up, and `ranges` are the effective rectangle's), and `covers`
        // checked that plane `p` has two or three axes and extends at least
        // to the frame's ranges on both.
        #[allow(unsafe_code)]
        let cut = unsafe { v.region_ref_unchecked(ys, xs) };
        Some(cut)
    }

    /// The rows of plane `p` as byte slices.
    pub fn rows(&self, p: usize) -> Option<Rows<'f>> {
        self.plane(p).and_then(|v| v.rows().ok())
    }

    /// Bytes of the region written tight.
    pub fn tight_len(&self) -> usize {
        (0..MAX_PLANES)
            .filter_map(|p| self.plane(p))
            .map(|v| v.nbytes())
            .sum()
    }

    /// Writes the region tight, as [`Frame::copy_to`] does (byte for byte
    /// what FFmpeg's `crop` filter outputs). `out` must hold
    /// [`RoiRef::tight_len`] bytes.
    pub fn copy_to(&self, out: &mut [u8]) -> Result<(), PixelError> {
        copy_tight((0..MAX_PLANES).filter_map(|p| self.plane(p)), out)
    }

    /// An ROI of this ROI, `rect` in this ROI's coordinates; the result
    /// reports rectangles in the frame's coordinates, as [`Roi::roi`].
    pub fn roi_ref(&self, rect: Rect) -> Result<RoiRef<'f>, PixelError> {
        let (f, origin) = (self.frame, self.effective());
        let e = snap(&f.grid, origin.w, origin.h, rect, Snap::Outward)?;
        let shift = |r: Rect| Rect::new(r.x + origin.x, r.y + origin.y, r.w, r.h);
        Ok(RoiRef::new(f, shift(rect), shift(e)))
    }

    /// The same region as a [`Roi`] of full [`View`]s borrowed for `'f`:
    /// sampling, conversion and everything else a [`Frame`] offers.
    pub fn to_roi(&self) -> Roi<'f> {
        let origin = self.effective();
        Roi {
            requested: self.requested,
            origin,
            frame: Frame::assemble(
                self.frame.format,
                origin.w,
                origin.h,
                [0, 1, 2].map(|p| self.plane(p).map(|v| v.to_view())),
            ),
        }
    }
}

impl<'a> FrameMut<'a> {
    /// A writable frame laid out by `layout` in `buf`.
    pub fn new(buf: ViewMut<'a>, layout: &FrameLayout) -> Result<FrameMut<'a>, PixelError> {
        let bytes = buf.shape().iter().product::<usize>() * buf.itemsize();
        layout.validate(bytes)?;
        let format = layout.format();
        let mut planes: [Option<ViewMut<'a>>; MAX_PLANES] = [None, None, None];
        // One writable view of everything, split into the (disjoint) planes
        // (no allocation: a frame is made per frame where masks are drawn).
        let regions: SmallVec<[Region; MAX_PLANES]> = layout
            .planes()
            .iter()
            .map(|pl| Region {
                x: pl.offset,
                y: 0,
                w: pl.span().unwrap_or(0),
                h: 1,
            })
            .collect();
        let whole = buf.cast("B", Some(&[1, bytes]))?;
        let mut parts: SmallVec<[ViewMut<'a>; MAX_PLANES]> = SmallVec::new();
        whole.split_regions_with(&regions, |v| parts.push(v))?;
        for (p, (part, pl)) in parts.into_iter().zip(layout.planes()).enumerate() {
            let (shape, strides, n) = plane_parts(format, p, pl);
            let v = part.with_parts(sample_format(format), 0, &shape[..n], &strides[..n])?;
            planes[p] = Some(v);
        }
        Ok(FrameMut {
            format,
            width: layout.width(),
            height: layout.height(),
            planes,
        })
    }

    /// A writable frame over a byte slice.
    pub fn from_bytes(
        bytes: &'a mut [u8],
        layout: &FrameLayout,
    ) -> Result<FrameMut<'a>, PixelError> {
        FrameMut::new(ViewMut::from_bytes(bytes), layout)
    }

    /// A read-only frame of the same planes, borrowed.
    pub fn as_frame(&self) -> Frame<'_> {
        let mut planes: [Option<View<'_>>; MAX_PLANES] = [None, None, None];
        for (slot, p) in planes.iter_mut().zip(&self.planes) {
            *slot = p.as_ref().map(ViewMut::as_view);
        }
        Frame::assemble(self.format, self.width, self.height, planes)
    }

    /// A shorter-lived writable frame of the same planes.
    pub fn reborrow(&mut self) -> FrameMut<'_> {
        let mut planes: [Option<ViewMut<'_>>; MAX_PLANES] = [None, None, None];
        for (slot, p) in planes.iter_mut().zip(&mut self.planes) {
            *slot = p.as_mut().map(ViewMut::reborrow);
        }
        FrameMut {
            format: self.format,
            width: self.width,
            height: self.height,
            planes,
        }
    }

    /// The pixel format.
    pub fn format(&self) -> &'static PixelFormat {
        self.format
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The writable view of plane `p`.
    pub fn plane_mut(&mut self, p: usize) -> Option<&mut ViewMut<'a>> {
        self.planes.get_mut(p).and_then(Option::as_mut)
    }

    /// Splits the frame into writable ROIs, one per rectangle (snapped
    /// under `mode`); snapped rectangles that overlap are refused, so the
    /// ROIs can be written from different threads (in-place masking).
    pub fn split_rois(self, rects: &[Rect], mode: Snap) -> Result<Vec<RoiMut<'a>>, PixelError> {
        Ok(self.split_rois_inline(rects, mode)?.into_vec())
    }

    /// [`FrameMut::split_rois`] into a vector that holds up to
    /// [`INLINE_ROIS`] ROIs without allocating: the per-frame form (a
    /// privacy mask over ten zones allocates nothing).
    pub fn split_rois_inline(self, rects: &[Rect], mode: Snap) -> Result<RoiMuts<'a>, PixelError> {
        let snapped: SmallVec<[Rect; INLINE_ROIS]> = rects
            .iter()
            .map(|&r| snap(self.format.roi_grid(), self.width, self.height, r, mode))
            .collect::<Result<_, _>>()?;
        for (i, a) in snapped.iter().enumerate() {
            if let Some(j) = snapped[..i].iter().position(|b| b.overlaps(a)) {
                return Err(PixelError::RoisOverlap { a: j, b: i });
            }
        }
        let mut out: RoiMuts<'a> = rects
            .iter()
            .zip(&snapped)
            .map(|(&r, &e)| RoiMut {
                requested: r,
                effective: e,
                frame: FrameMut {
                    format: self.format,
                    width: e.w,
                    height: e.h,
                    planes: [None, None, None],
                },
            })
            .collect();
        for (p, plane) in self.planes.into_iter().enumerate() {
            let Some(plane) = plane else { continue };
            let regions: SmallVec<[Region; INLINE_ROIS]> = snapped
                .iter()
                .map(|&e| {
                    let (ys, xs) = plane_ranges(self.format.roi_grid(), p, e);
                    Region {
                        x: xs.start,
                        y: ys.start,
                        w: xs.len(),
                        h: ys.len(),
                    }
                })
                .collect();
            let mut rois = out.iter_mut();
            plane.split_regions_with(&regions, |part| {
                if let Some(roi) = rois.next() {
                    roi.frame.planes[p] = Some(part);
                }
            })?;
        }
        Ok(out)
    }
}

/// ROIs [`FrameMut::split_rois_inline`] holds without allocating.
pub const INLINE_ROIS: usize = 16;

/// Writable ROIs of one frame, up to [`INLINE_ROIS`] of them inline.
pub type RoiMuts<'a> = SmallVec<[RoiMut<'a>; INLINE_ROIS]>;

/// A writable region of a frame; see [`FrameMut::split_rois`].
#[derive(Debug)]
pub struct RoiMut<'a> {
    requested: Rect,
    effective: Rect,
    frame: FrameMut<'a>,
}

impl<'a> RoiMut<'a> {
    /// The rectangle asked for.
    pub fn requested(&self) -> Rect {
        self.requested
    }

    /// The rectangle covered, on the chroma grid.
    pub fn effective(&self) -> Rect {
        self.effective
    }

    /// The region as a writable frame of its own size.
    pub fn frame_mut(&mut self) -> &mut FrameMut<'a> {
        &mut self.frame
    }
}

// Test code: each `unwrap` below is an assertion that a valid fixture
// (a layout of a table format, an in-frame rectangle) is accepted.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ALL;

    /// Every frame a layout makes, and every ROI's frame, passes `covers`
    /// (so `RoiRef` takes its unchecked fast path), and a frame that did not
    /// would cut exactly the same plane views through the checked path.
    #[test]
    fn layout_frames_cover_and_both_cuts_agree() {
        let (mut checked, mut inner_checked) = (0, 0);
        for &f in ALL {
            for (w, h) in [(1, 1), (2, 2), (7, 5), (64, 48), (641, 479)] {
                let tight = FrameLayout::tight(f, w, h).unwrap();
                let aligned = FrameLayout::aligned(f, w, h, 64).unwrap();
                // A producer's layout: planes in reverse order, wide lines.
                let spans: Vec<(usize, usize)> = tight
                    .planes()
                    .iter()
                    .map(|pl| (pl.rows, pl.row_bytes + 3))
                    .collect();
                let len: usize = spans.iter().map(|(r, s)| r * s).sum();
                let mut at = len;
                let planes: Vec<(usize, usize)> = spans
                    .iter()
                    .map(|&(r, s)| {
                        at -= r * s;
                        (at, s)
                    })
                    .collect();
                let producer = FrameLayout::with_planes(f, w, h, &planes, len).unwrap();
                for layout in [tight, aligned, producer] {
                    let data = vec![0u8; layout.len()];
                    let frame = Frame::from_bytes(&data, &layout).unwrap();
                    assert!(frame.covers, "{} {w}x{h}", f.name);
                    let mut slow = frame.clone();
                    slow.covers = false;
                    // Odd and even corners and sizes, the whole frame, the
                    // last pixel; an empty one is refused.
                    let (x1, y1) = (1.min(w - 1), 1.min(h - 1));
                    let empty = Rect::new(w / 2, h / 3, 0, 0);
                    assert_eq!(
                        frame.roi(empty).err(),
                        Some(PixelError::EmptyRect { rect: empty })
                    );
                    assert!(frame.roi_ref(Rect::new(0, 0, w, 0)).is_err());
                    for rect in [
                        Rect::new(0, 0, w, h),
                        Rect::new(w / 3, h / 2, w - w / 3, h - h / 2),
                        Rect::new(x1, y1, w - x1, h - y1),
                        Rect::new(x1, y1, (w - x1) / 2, (h - y1) / 3),
                        Rect::new(w - 1, h - 1, 1, 1),
                    ]
                    .into_iter()
                    .filter(|r| r.w > 0 && r.h > 0)
                    {
                        let roi = frame.roi(rect).unwrap();
                        // An ROI's frame inherits `covers`; recompute it, for
                        // the ROI and for an ROI of it at odd coordinates.
                        let rf = roi.frame();
                        assert!(rf.covers && covers(rf.format, rf.width, rf.height, &rf.planes));
                        let e = roi.effective();
                        let sub = Rect::new((e.w / 3) | 1, (e.h / 2) | 1, e.w / 2, e.h / 3);
                        if let Ok(inner) = roi.roi(sub) {
                            let f2 = inner.frame();
                            assert!(
                                f2.covers && covers(f2.format, f2.width, f2.height, &f2.planes)
                            );
                            inner_checked += 1;
                        }
                        let (a, b) = (frame.roi_ref(rect).unwrap(), slow.roi_ref(rect).unwrap());
                        assert!(a.to_roi().frame().covers);
                        for p in 0..=MAX_PLANES {
                            let (x, y) = (a.plane(p), b.plane(p));
                            assert_eq!(x.is_some(), y.is_some());
                            if let (Some(x), Some(y)) = (x, y) {
                                assert_eq!(
                                    (x.shape(), x.strides(), x.offset()),
                                    (y.shape(), y.strides(), y.offset())
                                );
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 500, "{checked} plane cuts compared");
        assert!(inner_checked > 300, "{inner_checked} ROIs of ROIs checked");
    }
}
