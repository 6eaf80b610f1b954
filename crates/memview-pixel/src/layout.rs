//! Frame layouts: where each plane lies in a buffer.

use crate::error::PixelError;
use crate::format::PixelFormat;

/// The largest width or height memview accepts: 65536. Headers from
/// untrusted sources are checked against it before anything is sized from
/// them.
pub const MAX_DIMENSION: usize = 1 << 16;

/// Where one plane lies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PlaneLayout {
    /// Byte offset of the plane's first line.
    pub offset: usize,
    /// Bytes from one line to the next (FFmpeg's linesize, V4L2's
    /// bytesperline), padding included.
    pub stride: usize,
    /// Lines in the plane.
    pub rows: usize,
    /// Bytes of a line that hold samples.
    pub row_bytes: usize,
}

impl PlaneLayout {
    /// Bytes from the plane's start to the end of its last sample.
    pub fn span(&self) -> Option<usize> {
        if self.rows == 0 {
            return Some(0);
        }
        self.stride
            .checked_mul(self.rows - 1)
            .and_then(|s| s.checked_add(self.row_bytes))
    }
}

/// A frame's layout: its format, size, and every plane's offset and stride.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FrameLayout {
    format: &'static PixelFormat,
    width: usize,
    height: usize,
    planes: [PlaneLayout; 3],
    len: usize,
}

/// `ceil(v / 2^s)`.
fn ceil_shift(v: usize, s: u32) -> usize {
    (v >> s) + usize::from(v & ((1 << s) - 1) != 0)
}

impl FrameLayout {
    /// Lines and line bytes of each plane, FFmpeg's rules (odd sizes round
    /// chroma up).
    fn geometry(
        format: &'static PixelFormat,
        width: usize,
        height: usize,
    ) -> Result<[(usize, usize); 3], PixelError> {
        if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
            return Err(PixelError::BadDimensions { width, height });
        }
        let mut g = [(0, 0); 3];
        for (p, slot) in g.iter_mut().enumerate().take(format.planes) {
            let (sw, sh) = format.plane_subsampling(p);
            let row_bytes = ceil_shift(width, sw)
                .checked_mul(format.plane_group_bytes(p))
                .ok_or(PixelError::TooLarge)?;
            *slot = (ceil_shift(height, sh), row_bytes);
        }
        Ok(g)
    }

    /// The tight layout FFmpeg's rawvideo (and Y4M) writes: lines without
    /// padding, planes one after the other.
    ///
    /// ```
    /// use memview_pixel::{FrameLayout, format::I420};
    /// let l = FrameLayout::tight(&I420, 641, 479)?;
    /// assert_eq!(l.plane(1).map(|p| p.row_bytes), Some(321)); // chroma rounds up
    /// assert_eq!(l.len(), 641 * 479 + 2 * 321 * 240);
    /// # Ok::<(), memview_pixel::PixelError>(())
    /// ```
    pub fn tight(
        format: &'static PixelFormat,
        width: usize,
        height: usize,
    ) -> Result<FrameLayout, PixelError> {
        FrameLayout::aligned(format, width, height, 1)
    }

    /// Every line padded to a multiple of `align` bytes (a power of two),
    /// and every plane starting on such a multiple, as GStreamer and
    /// decoders lay frames out.
    pub fn aligned(
        format: &'static PixelFormat,
        width: usize,
        height: usize,
        align: usize,
    ) -> Result<FrameLayout, PixelError> {
        if !align.is_power_of_two() {
            return Err(PixelError::BadAlignment { align });
        }
        let geo = FrameLayout::geometry(format, width, height)?;
        let round = |v: usize| v.checked_add(align - 1).map(|v| v & !(align - 1));
        let mut planes = [PlaneLayout::default(); 3];
        let mut offset = 0usize;
        for (p, &(rows, row_bytes)) in geo.iter().enumerate().take(format.planes) {
            let stride = round(row_bytes).ok_or(PixelError::TooLarge)?;
            offset = round(offset).ok_or(PixelError::TooLarge)?;
            planes[p] = PlaneLayout {
                offset,
                stride,
                rows,
                row_bytes,
            };
            offset = stride
                .checked_mul(rows)
                .and_then(|b| offset.checked_add(b))
                .ok_or(PixelError::TooLarge)?;
        }
        Ok(FrameLayout {
            format,
            width,
            height,
            planes,
            len: offset,
        })
    }

    /// A producer's layout: one `(offset, stride)` per plane (a V4L2
    /// bytesperline, a decoder's linesize), checked: every stride holds a
    /// line, every plane lies inside `buf_len` bytes, and no two planes
    /// overlap.
    pub fn with_planes(
        format: &'static PixelFormat,
        width: usize,
        height: usize,
        planes: &[(usize, usize)],
        buf_len: usize,
    ) -> Result<FrameLayout, PixelError> {
        let geo = FrameLayout::geometry(format, width, height)?;
        if planes.len() != format.planes {
            return Err(PixelError::WrongPlaneCount {
                expected: format.planes,
                got: planes.len(),
            });
        }
        let mut out = [PlaneLayout::default(); 3];
        for (p, (&(offset, stride), &(rows, row_bytes))) in planes.iter().zip(&geo).enumerate() {
            if stride < row_bytes {
                return Err(PixelError::StrideTooSmall {
                    plane: p,
                    stride,
                    row_bytes,
                });
            }
            out[p] = PlaneLayout {
                offset,
                stride,
                rows,
                row_bytes,
            };
        }
        let l = FrameLayout {
            format,
            width,
            height,
            planes: out,
            len: buf_len,
        };
        l.validate(buf_len)?;
        Ok(l)
    }

    /// Checks the layout against a buffer of `buf_len` bytes.
    pub fn validate(&self, buf_len: usize) -> Result<(), PixelError> {
        let mut ranges = [(0usize, 0usize); 3];
        for (p, pl) in self.planes().iter().enumerate() {
            let end = pl
                .span()
                .and_then(|s| pl.offset.checked_add(s))
                .ok_or(PixelError::TooLarge)?;
            if end > buf_len {
                return Err(PixelError::BufferTooSmall {
                    needed: end,
                    len: buf_len,
                });
            }
            for (q, &(s, e)) in ranges[..p].iter().enumerate() {
                if pl.offset < e && s < end {
                    return Err(PixelError::PlanesOverlap { a: q, b: p });
                }
            }
            ranges[p] = (pl.offset, end);
        }
        Ok(())
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

    /// The planes.
    pub fn planes(&self) -> &[PlaneLayout] {
        &self.planes[..self.format.planes]
    }

    /// One plane.
    pub fn plane(&self, p: usize) -> Option<&PlaneLayout> {
        self.planes().get(p)
    }

    /// Bytes the layout needs (for `with_planes`, the buffer length given).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the layout needs no bytes (never, for a valid frame).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
