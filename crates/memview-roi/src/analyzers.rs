//! The built-in analyzers, each over row slices of the zone's luma plane.
//!
//! Luma samples are 8-bit bytes or 16-bit little-endian words (10-, 12-
//! and 16-bit formats, MSB-aligned ones such as P010 included), described
//! by [`Samples`]: every analyzer works on the sample *values*, never on
//! the raw bytes of a deep sample. The histogram always has 256 bins; a
//! deep format's value `v` of `depth` bits lands in bin `v >> (depth - 8)`
//! (its mean and variance are still computed from the exact values).

use memview_core::View;
use memview_pixel::PixelFormat;

/// One zone's results for one frame. Every field is preallocated; each
/// analyzer fills its own.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneResult {
    /// Mean luma.
    pub mean: f64,
    /// Luma variance.
    pub variance: f64,
    /// 256-bin luma histogram (a deep format's values binned by their top
    /// 8 bits). Counts are 64-bit: a zone can hold more than `u32::MAX`
    /// samples.
    pub histogram: [u64; 256],
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

/// How the luma samples of a zone are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Samples {
    /// Bytes per sample: 1, or 2 (little-endian).
    pub bytes: usize,
    /// Bits the value is shifted up by in its sample (6 for P010).
    pub shift: u32,
    /// Significant bits of the value (8, 10, 12, 16).
    pub depth: u32,
}

impl Samples {
    /// 8-bit samples, one byte each.
    pub const U8: Samples = Samples {
        bytes: 1,
        shift: 0,
        depth: 8,
    };

    /// How `format` stores its luma (or first) component, if the
    /// analyzers can read it: a plane of its own (planar or semi-planar
    /// YUV, gray) of 8- or 16-bit samples. Packed formats (YUYV, RGB24),
    /// whose first plane interleaves other components, give `None`.
    pub fn of(format: &PixelFormat) -> Option<Samples> {
        let luma = format.components.first()?;
        let alone = format
            .components
            .iter()
            .filter(|c| c.plane == luma.plane)
            .count()
            == 1;
        let bytes = format.sample_bytes;
        (alone && luma.step == bytes && (bytes == 1 || bytes == 2)).then_some(Samples {
            bytes,
            shift: luma.shift,
            depth: luma.depth,
        })
    }

    /// Why the analyzers cannot read `format`'s luma, if they cannot.
    pub fn check(format: &PixelFormat) -> Result<Samples, String> {
        Samples::of(format).ok_or_else(|| {
            format!(
                "the analyzers need a luma plane of its own (planar or semi-planar YUV, gray); \
                 {} interleaves it with other components",
                format.name
            )
        })
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
    /// How the samples of both are stored.
    pub samples: Samples,
}

impl<'a, 'f> ZoneInput<'a, 'f> {
    /// The input for a zone of 8-bit luma.
    pub fn new(luma: &'a View<'f>, previous: Option<&'a View<'f>>) -> ZoneInput<'a, 'f> {
        ZoneInput {
            luma,
            previous,
            samples: Samples::U8,
        }
    }
}

/// The value of the 16-bit little-endian sample `c`, shifted down.
#[inline(always)]
fn value16(c: &[u8], shift: u32) -> u64 {
    u64::from(u16::from_le_bytes([c[0], c[1]]) >> shift)
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
fn moments(out: &mut ZoneResult, sum: u128, sq: u128, n: u64) {
    if n > 0 {
        let mean = sum as f64 / n as f64;
        out.mean = mean;
        out.variance = sq as f64 / n as f64 - mean * mean;
    }
}

/// Sum, sum of squares and count of a zone's 16-bit sample values.
fn sum_sq_rows16<'r>(rows: impl Iterator<Item = &'r [u8]>, shift: u32) -> (u128, u128, u64) {
    let (mut sum, mut sq, mut n) = (0u128, 0u128, 0u64);
    for row in rows {
        // Per row in u64: a row holds at most 2^16 values below 2^16.
        let (mut s, mut q) = (0u64, 0u64);
        for c in row.chunks_exact(2) {
            let v = value16(c, shift);
            s += v;
            q += v * v;
        }
        sum += u128::from(s);
        sq += u128::from(q);
        n += (row.len() / 2) as u64;
    }
    (sum, sq, n)
}

/// Luma mean and variance.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanVariance;

impl Analyzer for MeanVariance {
    fn name(&self) -> &'static str {
        "mean"
    }

    fn analyze(&self, input: &ZoneInput<'_, '_>, out: &mut ZoneResult) {
        let (sum, sq, n) = match (input.luma.rows(), input.samples.bytes) {
            (Ok(rows), 2) => sum_sq_rows16(rows, input.samples.shift),
            (Ok(rows), _) => {
                let (s, q, n) = crate::kernels::sum_sq_rows(rows);
                (u128::from(s), u128::from(q), n)
            }
            (Err(_), _) => (0, 0, 0),
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
        out.histogram = [0; 256];
        let Ok(rows) = input.luma.rows() else {
            moments(out, 0, 0, 0);
            return;
        };
        if input.samples.bytes == 2 {
            return histogram16(rows, input.samples, out);
        }
        // Four sub-histograms break the store-to-load chain on runs of
        // equal values. Their u32 counts are flushed into the u64 result
        // before any could wrap (a zone may hold 2^32 equal samples).
        let mut h = [[0u32; 256]; 4];
        let mut since_flush = 0usize;
        let flush = |h: &mut [[u32; 256]; 4], out: &mut [u64; 256]| {
            for (i, o) in out.iter_mut().enumerate() {
                *o += u64::from(h[0][i])
                    + u64::from(h[1][i])
                    + u64::from(h[2][i])
                    + u64::from(h[3][i]);
            }
            *h = [[0u32; 256]; 4];
        };
        for row in rows {
            if since_flush > (u32::MAX as usize) - row.len() {
                flush(&mut h, &mut out.histogram);
                since_flush = 0;
            }
            since_flush += row.len();
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
        flush(&mut h, &mut out.histogram);
        let (mut sum, mut sq, mut n) = (0u128, 0u128, 0u64);
        for (i, &c) in out.histogram.iter().enumerate() {
            // The moments fall out of the histogram exactly: the same
            // integer sums a pass over the samples gives.
            let (v, c) = (i as u128, u128::from(c));
            sum += v * c;
            sq += v * v * c;
            n += c as u64;
        }
        moments(out, sum, sq, n);
    }

    fn also_computes(&self) -> &'static [&'static str] {
        &["mean"]
    }
}

/// The histogram of 16-bit samples (value `v` of `depth` bits in bin
/// `v >> (depth - 8)`), with the exact moments of the values in the same
/// pass.
fn histogram16<'r>(rows: impl Iterator<Item = &'r [u8]>, samples: Samples, out: &mut ZoneResult) {
    let bin_shift = samples.depth.saturating_sub(8);
    let (mut sum, mut sq, mut n) = (0u128, 0u128, 0u64);
    for row in rows {
        let (mut s, mut q) = (0u64, 0u64);
        for c in row.chunks_exact(2) {
            let v = value16(c, samples.shift);
            // Values of `depth` bits; a sample with stray high bits still
            // lands in the last bin rather than out of the table.
            out.histogram[((v >> bin_shift) as usize).min(255)] += 1;
            s += v;
            q += v * v;
        }
        sum += u128::from(s);
        sq += u128::from(q);
        n += (row.len() / 2) as u64;
    }
    moments(out, sum, sq, n);
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
        out.motion = if input.samples.bytes == 2 {
            let shift = input.samples.shift;
            a.zip(b)
                .map(|(x, y)| {
                    x.chunks_exact(2)
                        .zip(y.chunks_exact(2))
                        .map(|(p, q)| value16(p, shift).abs_diff(value16(q, shift)))
                        .sum::<u64>()
                })
                .sum()
        } else {
            crate::kernels::sad_rows(a, b)
        };
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
        out.edges = 0;
        let Ok(rows) = input.luma.rows() else { return };
        if input.samples.bytes == 2 {
            let shift = input.samples.shift;
            out.edges = sobel(rows, 2, |r, i| value16(&r[2 * i..], shift) as i64);
            return;
        }
        out.edges = sobel(rows, 1, |r, i| i64::from(r[i]));
    }
}

/// The sum of Sobel |gx| + |gy| over the interior of rows of samples of
/// `bytes` bytes each, sample `i` of a row read by `at` (inlined: one
/// loop for 8- and 16-bit samples).
#[inline(always)]
fn sobel<'r>(
    mut rows: impl Iterator<Item = &'r [u8]>,
    bytes: usize,
    at: impl Fn(&[u8], usize) -> i64,
) -> u64 {
    let (Some(mut r0), Some(mut r1)) = (rows.next(), rows.next()) else {
        return 0;
    };
    let mut total = 0u64;
    for r2 in rows {
        let w = r0.len().min(r1.len()).min(r2.len()) / bytes;
        for x in 1..w.saturating_sub(1) {
            let gx = at(r0, x + 1) + 2 * at(r1, x + 1) + at(r2, x + 1)
                - at(r0, x - 1)
                - 2 * at(r1, x - 1)
                - at(r2, x - 1);
            let gy = at(r2, x - 1) + 2 * at(r2, x) + at(r2, x + 1)
                - at(r0, x - 1)
                - 2 * at(r0, x)
                - at(r0, x + 1);
            total += gx.unsigned_abs() + gy.unsigned_abs();
        }
        r0 = r1;
        r1 = r2;
    }
    total
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
