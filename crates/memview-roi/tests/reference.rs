//! The naive single-threaded reference the analyzers are held to, and a
//! snapshot of the runner's typed outputs to compare with it.

use memview_capture::{BufferPool, FrameLease, Synthetic};
use memview_pixel::{Frame, FrameLayout, PixelFormat, Rect};
use memview_roi::analyzers::{
    Colour, ColourOut, Edges, EdgesOut, Histogram, HistogramOut, MeanVariance, Moments, Motion,
    MotionOut,
};
use memview_roi::{BoxedAnalyzer, FrameResults, Zone, ZoneReport};

/// Every built-in analyzer.
pub fn all() -> Vec<BoxedAnalyzer> {
    vec![
        MeanVariance.into(),
        Histogram.into(),
        Motion.into(),
        Edges.into(),
        Colour.into(),
    ]
}

/// A zone around each of `src`'s boxes (where they start), and `extra`.
pub fn box_zones(src: &Synthetic, extra: Rect) -> Vec<Zone> {
    src.boxes()
        .into_iter()
        .chain([extra])
        .enumerate()
        .map(|(i, r)| Zone::new(format!("z{i}"), r))
        .collect()
}

/// One zone's built-in results, gathered from whichever outputs the
/// runner has (a field no analyzer wrote stays at its default).
#[derive(Clone, Debug, PartialEq)]
pub struct Got {
    pub mean: f64,
    pub variance: f64,
    pub histogram: [u64; 256],
    pub motion: u64,
    pub edges: u64,
    pub colour: Option<ColourOut>,
    pub error: Option<String>,
}

impl Default for Got {
    fn default() -> Got {
        Got {
            mean: 0.0,
            variance: 0.0,
            histogram: [0; 256],
            motion: 0,
            edges: 0,
            colour: None,
            error: None,
        }
    }
}

/// The built-in outputs of one zone.
pub fn got(z: &ZoneReport<'_>) -> Got {
    let mut g = Got {
        error: z.error().map(str::to_owned),
        ..Got::default()
    };
    if let Some(m) = z.get::<Moments>() {
        (g.mean, g.variance) = (m.mean, m.variance);
    }
    if let Some(h) = z.get::<HistogramOut>() {
        (g.mean, g.variance) = (h.moments.mean, h.moments.variance);
        g.histogram = h.bins;
    }
    g.motion = z.get::<MotionOut>().map_or(0, |m| m.sad);
    g.edges = z.get::<EdgesOut>().map_or(0, |e| e.edges);
    g.colour = z.get::<ColourOut>().copied();
    g
}

/// Every zone's built-in outputs.
pub fn snapshot(r: &FrameResults<'_>) -> Vec<Got> {
    r.iter().map(|z| got(&z)).collect()
}

/// The results every built-in luma analyzer must give for a zone's sample
/// values `cur` (and `prev`, the previous frame's), computed the slow way;
/// values land in histogram bin `v >> bin_shift`.
pub fn naive(cur: &[Vec<u64>], prev: Option<&[Vec<u64>]>, bin_shift: u32) -> Got {
    let px: Vec<f64> = cur.iter().flatten().map(|&v| v as f64).collect();
    let n = px.len() as f64;
    let mean = px.iter().sum::<f64>() / n;
    let mut r = Got {
        mean,
        variance: px.iter().map(|v| v * v).sum::<f64>() / n - mean * mean,
        ..Got::default()
    };
    for &v in cur.iter().flatten() {
        r.histogram[(v >> bin_shift) as usize] += 1;
    }
    r.motion = prev.map_or(0, |p| {
        cur.iter()
            .flatten()
            .zip(p.iter().flatten())
            .map(|(&a, &b)| a.abs_diff(b))
            .sum()
    });
    for y in 1..cur.len() - 1 {
        for x in 1..cur[y].len() - 1 {
            let p = |dy: usize, xx: usize| cur[y + dy - 1][xx] as i64;
            let gx = p(0, x + 1) + 2 * p(1, x + 1) + p(2, x + 1)
                - p(0, x - 1)
                - 2 * p(1, x - 1)
                - p(2, x - 1);
            let gy =
                p(2, x - 1) + 2 * p(2, x) + p(2, x + 1) - p(0, x - 1) - 2 * p(0, x) - p(0, x + 1);
            r.edges += (gx.abs() + gy.abs()) as u64;
        }
    }
    r
}

/// The zone's luma values over its effective rectangle, read pixel by
/// pixel through `Frame::sample` (not through the analyzers' channels).
pub fn luma_values(frame: &Frame<'_>, r: Rect) -> Vec<Vec<u64>> {
    let e = frame.roi(r).unwrap().effective();
    (e.y..e.y + e.h)
        .map(|y| {
            (e.x..e.x + e.w)
                .map(|x| u64::from(frame.sample('Y', x, y).unwrap()))
                .collect()
        })
        .collect()
}

/// The mean of every component over the zone's effective rectangle, each
/// on its own plane's grid, the slow way.
pub fn naive_colour(frame: &Frame<'_>, r: Rect) -> Vec<(char, f64)> {
    let f = frame.format();
    let e = frame.roi(r).unwrap().effective();
    f.components
        .iter()
        .map(|c| {
            // Chroma on the chroma grid, everything else per pixel (a
            // packed plane's luma too).
            let (sw, sh) = if c.is_chroma() {
                (f.log2_chroma_w, f.log2_chroma_h)
            } else {
                (0, 0)
            };
            let (x0, x1) = (e.x >> sw, (e.x + e.w).div_ceil(1 << sw));
            let (y0, y1) = (e.y >> sh, (e.y + e.h).div_ceil(1 << sh));
            let mut sum = 0f64;
            for gy in y0..y1 {
                for gx in x0..x1 {
                    sum += f64::from(frame.sample(c.name, gx << sw, gy << sh).unwrap());
                }
            }
            (c.name, sum / ((x1 - x0) * (y1 - y0)) as f64)
        })
        .collect()
}

/// `n` frames of ffmpeg's `testsrc2` pattern (moving, coloured, textured)
/// at `w x h` in `format`, decoded by ffmpeg into a pool: recorded frames
/// nobody here drew. `None` (skipped loudly) without ffmpeg.
pub fn recorded(
    format: &'static PixelFormat,
    w: usize,
    h: usize,
    n: usize,
) -> Option<(BufferPool, Vec<FrameLease>)> {
    let size = format!("testsrc2=size={w}x{h}:rate=25");
    let raw = memview_testkit::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &size,
        "-frames:v",
        &n.to_string(),
        "-pix_fmt",
        format.ffmpeg.unwrap(),
        "-f",
        "rawvideo",
        "-",
    ])?;
    let layout = FrameLayout::tight(format, w, h).unwrap();
    assert_eq!(raw.len(), layout.len() * n, "{}", format.name);
    let mut pool = BufferPool::new(n, layout.len()).unwrap();
    let leases = raw
        .chunks_exact(layout.len())
        .enumerate()
        .map(|(i, bytes)| {
            let mut slot = pool.try_acquire().unwrap();
            slot.bytes_mut().unwrap().copy_from_slice(bytes);
            slot.publish(
                layout.clone(),
                i as u64,
                std::time::Duration::from_millis(40 * i as u64),
            )
            .unwrap()
        })
        .collect();
    Some((pool, leases))
}
