//! The built-in analyzers, each over row slices of the zone's luma plane.

use memview_core::View;

/// One zone's results for one frame. Every field is preallocated; each
/// analyzer fills its own.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneResult {
    /// Mean luma.
    pub mean: f64,
    /// Luma variance.
    pub variance: f64,
    /// 256-bin luma histogram.
    pub histogram: [u32; 256],
    /// Sum of absolute luma differences against the same zone of the
    /// previous frame (0 for the first frame).
    pub motion: u64,
    /// Sum of Sobel gradient magnitudes (|gx| + |gy|) over the interior.
    pub edges: u64,
    /// The panic message of an analyzer that failed on this zone.
    pub error: Option<String>,
}

impl Default for ZoneResult {
    fn default() -> ZoneResult {
        ZoneResult {
            mean: 0.0,
            variance: 0.0,
            histogram: [0; 256],
            motion: 0,
            edges: 0,
            error: None,
        }
    }
}

/// What an analyzer sees: the zone's luma plane now and, if there is one,
/// in the previous frame.
#[derive(Debug)]
pub struct ZoneInput<'a, 'f> {
    /// The zone's luma (or first) plane.
    pub luma: &'a View<'f>,
    /// The same zone in the previous frame.
    pub previous: Option<&'a View<'f>>,
}

/// An analysis of one zone; implementations write into their fields of the
/// result and allocate nothing.
pub trait Analyzer: Send + Sync {
    /// The analyzer's name on the command line.
    fn name(&self) -> &'static str;
    /// Analyses one zone.
    fn analyze(&self, input: &ZoneInput<'_, '_>, out: &mut ZoneResult);
    /// Names of other analyzers whose results this one writes as well, in
    /// the same pass (a fused kernel): a runner given both runs only this
    /// one.
    fn also_computes(&self) -> &'static [&'static str] {
        &[]
    }
}

/// Mean and variance from sums and sums of squares over `n` samples.
fn moments(out: &mut ZoneResult, sum: u64, sq: u64, n: u64) {
    if n > 0 {
        let mean = sum as f64 / n as f64;
        out.mean = mean;
        out.variance = sq as f64 / n as f64 - mean * mean;
    }
}

/// Luma mean and variance.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanVariance;

impl Analyzer for MeanVariance {
    fn name(&self) -> &'static str {
        "mean"
    }

    fn analyze(&self, input: &ZoneInput<'_, '_>, out: &mut ZoneResult) {
        let (sum, sq, n) = match input.luma.rows() {
            Ok(rows) => crate::kernels::sum_sq_rows(rows),
            Err(_) => (0, 0, 0),
        };
        moments(out, sum, sq, n);
    }
}

/// 256-bin luma histogram; it writes the mean and variance too, which
/// follow exactly from it (so a runner with both skips [`MeanVariance`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Histogram;

impl Analyzer for Histogram {
    fn name(&self) -> &'static str {
        "histogram"
    }

    fn analyze(&self, input: &ZoneInput<'_, '_>, out: &mut ZoneResult) {
        // Four sub-histograms break the store-to-load chain on runs of
        // equal values.
        let mut h = [[0u32; 256]; 4];
        if let Ok(rows) = input.luma.rows() {
            for row in rows {
                let mut chunks = row.chunks_exact(4);
                for c in &mut chunks {
                    h[0][usize::from(c[0])] += 1;
                    h[1][usize::from(c[1])] += 1;
                    h[2][usize::from(c[2])] += 1;
                    h[3][usize::from(c[3])] += 1;
                }
                for &b in chunks.remainder() {
                    h[0][usize::from(b)] += 1;
                }
            }
        }
        let (mut sum, mut sq, mut n) = (0u64, 0u64, 0u64);
        for (i, o) in out.histogram.iter_mut().enumerate() {
            *o = h[0][i] + h[1][i] + h[2][i] + h[3][i];
            // The moments fall out of the histogram exactly: the same
            // integer sums a pass over the samples gives.
            let (v, c) = (i as u64, u64::from(*o));
            sum += v * c;
            sq += v * v * c;
            n += c;
        }
        moments(out, sum, sq, n);
    }

    fn also_computes(&self) -> &'static [&'static str] {
        &["mean"]
    }
}

/// Motion: the sum of absolute luma differences against the previous frame.
#[derive(Clone, Copy, Debug, Default)]
pub struct Motion;

impl Analyzer for Motion {
    fn name(&self) -> &'static str {
        "motion"
    }

    fn analyze(&self, input: &ZoneInput<'_, '_>, out: &mut ZoneResult) {
        let Some(prev) = input.previous else {
            out.motion = 0;
            return;
        };
        let (Ok(a), Ok(b)) = (input.luma.rows(), prev.rows()) else {
            return;
        };
        out.motion = crate::kernels::sad_rows(a, b);
    }
}

/// Edge energy: the sum of Sobel |gx| + |gy| over the zone's interior.
#[derive(Clone, Copy, Debug, Default)]
pub struct Edges;

impl Analyzer for Edges {
    fn name(&self) -> &'static str {
        "edges"
    }

    fn analyze(&self, input: &ZoneInput<'_, '_>, out: &mut ZoneResult) {
        let Ok(rows) = input.luma.rows() else { return };
        let mut rows = rows.peekable();
        let (Some(mut r0), Some(mut r1)) = (rows.next(), rows.next()) else {
            return;
        };
        let mut total = 0u64;
        for r2 in rows {
            let w = r0.len().min(r1.len()).min(r2.len());
            for x in 1..w.saturating_sub(1) {
                let p = |r: &[u8], i: usize| i32::from(r[i]);
                let gx = p(r0, x + 1) + 2 * p(r1, x + 1) + p(r2, x + 1)
                    - p(r0, x - 1)
                    - 2 * p(r1, x - 1)
                    - p(r2, x - 1);
                let gy = p(r2, x - 1) + 2 * p(r2, x) + p(r2, x + 1)
                    - p(r0, x - 1)
                    - 2 * p(r0, x)
                    - p(r0, x + 1);
                total += u64::from(gx.unsigned_abs() + gy.unsigned_abs());
            }
            r0 = r1;
            r1 = r2;
        }
        out.edges = total;
    }
}

/// The analyzer called `name`, if there is one.
pub fn by_name(name: &str) -> Option<Box<dyn Analyzer>> {
    Some(match name {
        "mean" => Box::new(MeanVariance),
        "histogram" | "hist" => Box::new(Histogram),
        "motion" => Box::new(Motion),
        "edges" | "sobel" => Box::new(Edges),
        _ => return None,
    })
}
