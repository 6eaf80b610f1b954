//! The pixel-format descriptor table: data, not code paths.

use core::fmt;

/// What the components of a format mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ColorFamily {
    /// Luma only.
    Gray,
    /// Luma and two chroma components.
    Yuv,
    /// Red, green, blue (and maybe alpha).
    Rgb,
}

/// One component (Y, U, V, R, G, B or A) of a format, as FFmpeg's
/// `AVComponentDescriptor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Component {
    /// `'Y'`, `'U'`, `'V'`, `'R'`, `'G'`, `'B'` or `'A'`.
    pub name: char,
    /// The plane holding it.
    pub plane: usize,
    /// Byte offset of its first sample in a line.
    pub offset: usize,
    /// Bytes between two horizontally consecutive samples.
    pub step: usize,
    /// Bits per sample that carry the value.
    pub depth: u32,
    /// Bits the value is shifted left inside its sample (P010 keeps 10 bits
    /// in the high bits: shift 6).
    pub shift: u32,
}

impl Component {
    /// Whether this is a chroma component (subsampled in YUV formats).
    pub fn is_chroma(&self) -> bool {
        matches!(self.name, 'U' | 'V')
    }
}

/// A pixel format: planes, components, subsampling, depth and names.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PixelFormat {
    /// memview's name (`I420`, `NV12`, `YUYV`, ...).
    pub name: &'static str,
    /// FFmpeg's `pix_fmt`, if FFmpeg has one (`YV12` has none).
    pub ffmpeg: Option<&'static str>,
    /// The V4L2 fourcc, if one exists.
    pub fourcc: Option<[u8; 4]>,
    /// The YUV4MPEG2 `C` tag, if one exists.
    pub y4m: Option<&'static str>,
    /// What the components mean.
    pub family: ColorFamily,
    /// Number of planes.
    pub planes: usize,
    /// The components.
    pub components: &'static [Component],
    /// log2 of horizontal chroma subsampling (1 for 4:2:0 and 4:2:2).
    pub log2_chroma_w: u32,
    /// log2 of vertical chroma subsampling (1 for 4:2:0).
    pub log2_chroma_h: u32,
    /// Bytes per sample (1 or 2).
    pub sample_bytes: usize,
    /// [`PixelFormat::plane_subsampling`] of planes 0 to 2, worked out once
    /// when the table is built (ROIs look it up for every plane).
    plane_sub: [(u32, u32); 3],
    /// What ROIs read of the format, worked out when the table is built.
    roi_grid: RoiGrid,
}

/// What cutting an ROI needs of a format, together: a frame keeps a copy,
/// so every zone of every frame reads it without a hop through the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RoiGrid {
    /// `(2^log2_chroma_w - 1, 2^log2_chroma_h - 1)`: the chroma grid as
    /// masks, for snapping without shifts.
    pub(crate) mask: (usize, usize),
    /// `(log2_chroma_w, log2_chroma_h)`.
    pub(crate) log2: (u32, u32),
    /// Per plane, whether its rows and its columns follow the chroma grid
    /// (else the pixel grid): `plane_sub` as flags, so an ROI works out the
    /// chroma ranges once for all its planes and picks a plane's with
    /// selects.
    pub(crate) on_chroma: [(bool, bool); 3],
}

impl RoiGrid {
    /// Whether plane `p`'s rows and columns follow the chroma grid; planes
    /// past the table's three follow the pixel grid.
    #[inline(always)]
    pub(crate) fn on_chroma(&self, p: usize) -> (bool, bool) {
        self.on_chroma.get(p).copied().unwrap_or((false, false))
    }
}

/// FFmpeg's addressing rule for each plane (see
/// [`PixelFormat::plane_subsampling`]), at compile time.
const fn plane_sub_of(comps: &[Component], cw: u32, ch: u32) -> [(u32, u32); 3] {
    let mut out = [(0, 0); 3];
    let mut p = 0;
    while p < 3 {
        // The plane's widest-stepping component (the first of equals).
        let (mut best, mut chroma, mut i) = (0, false, 0);
        while i < comps.len() {
            let c = &comps[i];
            if c.plane == p && (best == 0 || c.step > best) {
                best = c.step;
                chroma = matches!(c.name, 'U' | 'V');
            }
            i += 1;
        }
        out[p] = (
            if chroma { cw } else { 0 },
            if p == 1 || p == 2 { ch } else { 0 },
        );
        p += 1;
    }
    out
}

/// `plane_sub` as flags; a plane's subsampling is 0 or the chroma's along
/// each axis (a compile error otherwise, so the flags lose nothing).
const fn on_chroma(sub: [(u32, u32); 3], cw: u32, ch: u32) -> [(bool, bool); 3] {
    let mut out = [(false, false); 3];
    let mut p = 0;
    while p < 3 {
        let (sw, sh) = sub[p];
        // Each axis of a plane follows the pixel grid or the chroma grid.
        assert!(sw == 0 || sw == cw);
        assert!(sh == 0 || sh == ch);
        out[p] = (sh != 0, sw != 0);
        p += 1;
    }
    out
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

const fn c(
    name: char,
    plane: usize,
    offset: usize,
    step: usize,
    depth: u32,
    shift: u32,
) -> Component {
    Component {
        name,
        plane,
        offset,
        step,
        depth,
        shift,
    }
}

macro_rules! formats {
    ($($id:ident = $name:literal, $ff:expr, $cc:expr, $y4m:expr, $fam:ident, $planes:literal,
       ($cw:literal, $ch:literal), $sb:literal, [$($comp:expr),* $(,)?];)*) => {
        $(
            #[doc = concat!("`", $name, "`.")]
            pub static $id: PixelFormat = PixelFormat {
                name: $name,
                ffmpeg: $ff,
                fourcc: $cc,
                y4m: $y4m,
                family: ColorFamily::$fam,
                planes: $planes,
                components: &[$($comp),*],
                log2_chroma_w: $cw,
                log2_chroma_h: $ch,
                sample_bytes: $sb,
                plane_sub: plane_sub_of(&[$($comp),*], $cw, $ch),
                roi_grid: RoiGrid {
                    mask: ((1 << $cw) - 1, (1 << $ch) - 1),
                    log2: ($cw, $ch),
                    on_chroma: on_chroma(plane_sub_of(&[$($comp),*], $cw, $ch), $cw, $ch),
                },
            };
        )*
        /// Every format in the table.
        pub static ALL: &[&PixelFormat] = &[$(&$id),*];
    };
}

formats! {
    GRAY8 = "GRAY8", Some("gray"), Some(*b"GREY"), Some("mono"), Gray, 1, (0, 0), 1,
        [c('Y', 0, 0, 1, 8, 0)];
    GRAY16LE = "GRAY16LE", Some("gray16le"), Some(*b"Y16 "), Some("mono16"), Gray, 1, (0, 0), 2,
        [c('Y', 0, 0, 2, 16, 0)];
    I420 = "I420", Some("yuv420p"), Some(*b"YU12"), Some("420jpeg"), Yuv, 3, (1, 1), 1,
        [c('Y', 0, 0, 1, 8, 0), c('U', 1, 0, 1, 8, 0), c('V', 2, 0, 1, 8, 0)];
    YV12 = "YV12", None, Some(*b"YV12"), None, Yuv, 3, (1, 1), 1,
        [c('Y', 0, 0, 1, 8, 0), c('U', 2, 0, 1, 8, 0), c('V', 1, 0, 1, 8, 0)];
    NV12 = "NV12", Some("nv12"), Some(*b"NV12"), None, Yuv, 2, (1, 1), 1,
        [c('Y', 0, 0, 1, 8, 0), c('U', 1, 0, 2, 8, 0), c('V', 1, 1, 2, 8, 0)];
    NV21 = "NV21", Some("nv21"), Some(*b"NV21"), None, Yuv, 2, (1, 1), 1,
        [c('Y', 0, 0, 1, 8, 0), c('U', 1, 1, 2, 8, 0), c('V', 1, 0, 2, 8, 0)];
    I422 = "I422", Some("yuv422p"), Some(*b"422P"), Some("422"), Yuv, 3, (1, 0), 1,
        [c('Y', 0, 0, 1, 8, 0), c('U', 1, 0, 1, 8, 0), c('V', 2, 0, 1, 8, 0)];
    I444 = "I444", Some("yuv444p"), Some(*b"YM24"), Some("444"), Yuv, 3, (0, 0), 1,
        [c('Y', 0, 0, 1, 8, 0), c('U', 1, 0, 1, 8, 0), c('V', 2, 0, 1, 8, 0)];
    YUYV = "YUYV", Some("yuyv422"), Some(*b"YUYV"), None, Yuv, 1, (1, 0), 1,
        [c('Y', 0, 0, 2, 8, 0), c('U', 0, 1, 4, 8, 0), c('V', 0, 3, 4, 8, 0)];
    UYVY = "UYVY", Some("uyvy422"), Some(*b"UYVY"), None, Yuv, 1, (1, 0), 1,
        [c('Y', 0, 1, 2, 8, 0), c('U', 0, 0, 4, 8, 0), c('V', 0, 2, 4, 8, 0)];
    RGB24 = "RGB24", Some("rgb24"), Some(*b"RGB3"), None, Rgb, 1, (0, 0), 1,
        [c('R', 0, 0, 3, 8, 0), c('G', 0, 1, 3, 8, 0), c('B', 0, 2, 3, 8, 0)];
    BGR24 = "BGR24", Some("bgr24"), Some(*b"BGR3"), None, Rgb, 1, (0, 0), 1,
        [c('R', 0, 2, 3, 8, 0), c('G', 0, 1, 3, 8, 0), c('B', 0, 0, 3, 8, 0)];
    RGBA = "RGBA", Some("rgba"), Some(*b"AB24"), None, Rgb, 1, (0, 0), 1,
        [c('R', 0, 0, 4, 8, 0), c('G', 0, 1, 4, 8, 0), c('B', 0, 2, 4, 8, 0), c('A', 0, 3, 4, 8, 0)];
    BGRA = "BGRA", Some("bgra"), Some(*b"AR24"), None, Rgb, 1, (0, 0), 1,
        [c('R', 0, 2, 4, 8, 0), c('G', 0, 1, 4, 8, 0), c('B', 0, 0, 4, 8, 0), c('A', 0, 3, 4, 8, 0)];
    P010LE = "P010LE", Some("p010le"), Some(*b"P010"), None, Yuv, 2, (1, 1), 2,
        [c('Y', 0, 0, 2, 10, 6), c('U', 1, 0, 4, 10, 6), c('V', 1, 2, 4, 10, 6)];
    I420P10LE = "I420P10LE", Some("yuv420p10le"), None, Some("420p10"), Yuv, 3, (1, 1), 2,
        [c('Y', 0, 0, 2, 10, 0), c('U', 1, 0, 2, 10, 0), c('V', 2, 0, 2, 10, 0)];
}

/// Y4M `C` tags that share a layout with a table entry under another name
/// (they differ only in chroma siting, which memview does not model).
const Y4M_ALIASES: &[(&str, &PixelFormat)] = &[
    ("420", &I420),
    ("420mpeg2", &I420),
    ("420paldv", &I420),
    ("mono8", &GRAY8),
];

impl PixelFormat {
    /// Looks a format up by any of its names: memview's, FFmpeg's
    /// `pix_fmt`, the V4L2 fourcc or the Y4M `C` tag (case-sensitive, as
    /// each of those is).
    ///
    /// ```
    /// use memview_pixel::PixelFormat;
    /// assert_eq!(PixelFormat::lookup("yuv420p").map(|f| f.name), Some("I420"));
    /// assert_eq!(PixelFormat::lookup("YUYV").and_then(|f| f.ffmpeg), Some("yuyv422"));
    /// assert_eq!(PixelFormat::lookup("420mpeg2").map(|f| f.name), Some("I420"));
    /// assert!(PixelFormat::lookup("nope").is_none());
    /// ```
    pub fn lookup(name: &str) -> Option<&'static PixelFormat> {
        let by_fourcc =
            |f: &PixelFormat| f.fourcc.is_some_and(|cc| cc.as_slice() == name.as_bytes());
        ALL.iter()
            .copied()
            .find(|f| {
                f.name == name || f.ffmpeg == Some(name) || f.y4m == Some(name) || by_fourcc(f)
            })
            .or_else(|| {
                Y4M_ALIASES
                    .iter()
                    .find(|(tag, _)| *tag == name)
                    .map(|(_, f)| *f)
            })
    }

    /// The format FFmpeg calls `pix_fmt`.
    pub fn from_ffmpeg(pix_fmt: &str) -> Option<&'static PixelFormat> {
        ALL.iter().copied().find(|f| f.ffmpeg == Some(pix_fmt))
    }

    /// The format with this V4L2 fourcc.
    pub fn from_fourcc(fourcc: [u8; 4]) -> Option<&'static PixelFormat> {
        ALL.iter().copied().find(|f| f.fourcc == Some(fourcc))
    }

    /// The format a Y4M `C` tag names.
    pub fn from_y4m(tag: &str) -> Option<&'static PixelFormat> {
        ALL.iter()
            .copied()
            .find(|f| f.y4m == Some(tag))
            .or_else(|| Y4M_ALIASES.iter().find(|(t, _)| *t == tag).map(|(_, f)| *f))
    }

    /// The components stored in `plane`.
    pub fn plane_components(&self, plane: usize) -> impl Iterator<Item = &Component> + '_ {
        self.components.iter().filter(move |c| c.plane == plane)
    }

    /// The component called `name`.
    pub fn component(&self, name: char) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }

    /// What ROIs read of the format.
    #[inline]
    pub(crate) fn roi_grid(&self) -> &RoiGrid {
        &self.roi_grid
    }

    /// `(log2 horizontal, log2 vertical)` subsampling of a plane's
    /// addressing, FFmpeg's rule: a plane whose widest-stepping component is
    /// chroma advances one sample group per `2^log2_chroma_w` pixels; planes
    /// 1 and 2 have `2^log2_chroma_h` times fewer lines.
    #[inline]
    pub fn plane_subsampling(&self, plane: usize) -> (u32, u32) {
        if let Some(&s) = self.plane_sub.get(plane) {
            return s;
        }
        let widest = self
            .plane_components(plane)
            .fold(None::<&Component>, |best, c| match best {
                Some(b) if b.step >= c.step => Some(b),
                _ => Some(c),
            });
        let sw = if widest.is_some_and(Component::is_chroma) {
            self.log2_chroma_w
        } else {
            0
        };
        let sh = if plane == 1 || plane == 2 {
            self.log2_chroma_h
        } else {
            0
        };
        (sw, sh)
    }

    /// Bytes of one sample group of a plane: its widest component step
    /// (4 for YUYV's Y0 U Y1 V, 3 for RGB24, 2 for NV12's UV plane).
    pub fn plane_group_bytes(&self, plane: usize) -> usize {
        self.plane_components(plane)
            .map(|c| c.step)
            .max()
            .unwrap_or(1)
    }

    /// Whether rectangles must sit on a grid coarser than one pixel:
    /// `(horizontal, vertical)` multiples.
    pub fn grid(&self) -> (usize, usize) {
        (1 << self.log2_chroma_w, 1 << self.log2_chroma_h)
    }
}
