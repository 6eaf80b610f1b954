//! The naive single-threaded reference the analyzers are held to.

use memview_capture::Synthetic;
use memview_pixel::Rect;
use memview_roi::analyzers::{Edges, Histogram, MeanVariance, Motion};
use memview_roi::{Analyzer, Zone, ZoneResult};

/// Every built-in analyzer.
pub fn all() -> Vec<Box<dyn Analyzer>> {
    vec![
        Box::new(MeanVariance),
        Box::new(Histogram),
        Box::new(Motion),
        Box::new(Edges),
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

/// The results every built-in analyzer must give for a zone's sample
/// values `cur` (and `prev`, the previous frame's), computed the slow way;
/// values land in histogram bin `v >> bin_shift`.
pub fn naive(cur: &[Vec<u64>], prev: Option<&[Vec<u64>]>, bin_shift: u32) -> ZoneResult {
    let px: Vec<f64> = cur.iter().flatten().map(|&v| v as f64).collect();
    let n = px.len() as f64;
    let mean = px.iter().sum::<f64>() / n;
    let mut r = ZoneResult {
        mean,
        variance: px.iter().map(|v| v * v).sum::<f64>() / n - mean * mean,
        ..ZoneResult::default()
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
