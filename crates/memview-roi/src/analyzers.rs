//! The built-in analyzers: mean and variance, histogram, motion and edges
//! over the zone's luma, and `colour`, the mean of every component.
//!
//! They read samples through a [`Channel`]: where a component lives in its
//! plane's rows (first byte, step between samples, bytes per sample). So
//! they serve every format in the pixel table that has a luma: planar and
//! semi-planar 8-bit YUV and gray at full speed (SIMD row kernels), packed
//! YUYV and UYVY (luma every second byte), and 10-, 12- and 16-bit
//! formats, P010's MSB-aligned samples included, whose *values* are read
//! as 16-bit little-endian samples shifted down, never as bytes. RGB
//! formats have no luma: the luma analyzers refuse them when a stream
//! starts; `colour` reads them.
//!
//! The histogram always has 256 bins: a value `v` of `depth` bits lands in
//! bin `v >> (depth - 8)` (a 10-bit value in bin `v / 4`); the mean and
//! variance are still those of the exact values.

use memview_core::Rows;
use memview_pixel::{Component, PixelFormat};

use crate::analyzer::{Analyzer, Fields, Output, ZoneInput};
use crate::BoxedAnalyzer;

/// Where one component's samples lie in its plane's rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Channel {
    /// The component's name (`Y`, `U`, `R`, ...).
    pub name: char,
    /// Its plane.
    pub plane: usize,
    /// Byte of the first sample in a row.
    pub offset: usize,
    /// Bytes from one sample to the next.
    pub step: usize,
    /// Bytes per sample: 1, or 2 (little-endian).
    pub bytes: usize,
    /// Bits the value is shifted up by in its sample (6 for P010).
    pub shift: u32,
    /// Significant bits of the value (8, 10, 12, 16).
    pub depth: u32,
}

impl Channel {
    /// The channel of `component` of `format`.
    pub fn of(format: &PixelFormat, component: &Component) -> Channel {
        Channel {
            name: component.name,
            plane: component.plane,
            offset: component.offset,
            step: component.step,
            bytes: format.sample_bytes,
            shift: component.shift,
            depth: component.depth,
        }
    }

    /// The luma channel of `format`, or why it has none.
    pub fn luma(format: &PixelFormat) -> Result<Channel, String> {
        match format.component('Y') {
            Some(c) if matches!(format.sample_bytes, 1 | 2) => Ok(Channel::of(format, c)),
            Some(_) => Err(format!(
                "{} has {}-byte samples; the analyzers read 1- and 2-byte samples",
                format.name, format.sample_bytes
            )),
            None => Err(format!(
                "{} has no luma (Y) component: mean, histogram, motion and edges read luma; \
                 colour reads every component",
                format.name
            )),
        }
    }

    /// Whether the samples are bytes, one after another: the SIMD path.
    #[inline(always)]
    fn dense8(&self) -> bool {
        self.bytes == 1 && self.step == 1 && self.offset == 0
    }

    /// Samples of this channel in a row of `len` bytes.
    #[inline(always)]
    pub fn count(&self, len: usize) -> usize {
        if len < self.offset + self.bytes {
            0
        } else {
            (len - self.offset - self.bytes) / self.step + 1
        }
    }

    /// The value of sample `i` of `row` (in range: `i <`
    /// [`Channel::count`]).
    #[inline(always)]
    pub fn at(&self, row: &[u8], i: usize) -> u64 {
        let j = self.offset + i * self.step;
        if self.bytes == 2 {
            u64::from(u16::from_le_bytes([row[j], row[j + 1]]) >> self.shift)
        } else {
            u64::from(row[j])
        }
    }

    /// Sum, sum of squares and count of the channel's values over `rows`.
    fn sums(&self, rows: Rows<'_>) -> (u128, u128, u64) {
        if self.dense8() {
            let (s, q, n) = crate::kernels::sum_sq_rows(rows);
            return (u128::from(s), u128::from(q), n);
        }
        let (mut sum, mut sq, mut n) = (0u128, 0u128, 0u64);
        for row in rows {
            // Per row in u64: a row holds at most 2^16 values below 2^16.
            let (mut s, mut q) = (0u64, 0u64);
            let c = self.count(row.len());
            for i in 0..c {
                let v = self.at(row, i);
                s += v;
                q += v * v;
            }
            sum += u128::from(s);
            sq += u128::from(q);
            n += c as u64;
        }
        (sum, sq, n)
    }
}

/// The luma channel, checked when the stream starts.
fn luma_check(format: &'static PixelFormat) -> Result<(), String> {
    Channel::luma(format).map(|_| ())
}

/// The zone's luma rows now and, if given, in the previous frame.
fn luma_rows<'f>(zone: &ZoneInput<'_, 'f>) -> Option<(Channel, Rows<'f>)> {
    let ch = Channel::luma(zone.roi.format()).ok()?;
    Some((ch, zone.roi.rows(ch.plane)?))
}

/// Mean and variance.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Moments {
    /// Mean luma.
    pub mean: f64,
    /// Luma variance (of the population).
    pub variance: f64,
}

impl Moments {
    /// From sums and sums of squares over `n` values.
    fn from_sums(sum: u128, sq: u128, n: u64) -> Moments {
        if n == 0 {
            return Moments::default();
        }
        let mean = sum as f64 / n as f64;
        Moments {
            mean,
            variance: sq as f64 / n as f64 - mean * mean,
        }
    }
}

impl Output for Moments {
    fn fields(&self, out: &mut dyn Fields) {
        out.f64("mean", self.mean);
        out.f64("variance", self.variance);
    }

    fn reset(&mut self) {
        *self = Moments::default();
    }
}

/// Luma mean and variance: fields `mean`, `variance`.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanVariance;

impl Analyzer for MeanVariance {
    type Output = Moments;

    fn name(&self) -> &'static str {
        "mean"
    }

    fn check(&self, format: &'static PixelFormat) -> Result<(), String> {
        luma_check(format)
    }

    fn output(&self, _: &'static PixelFormat) -> Moments {
        Moments::default()
    }

    fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut Moments) {
        *out = match luma_rows(zone) {
            Some((ch, rows)) => {
                let (s, q, n) = ch.sums(rows);
                Moments::from_sums(s, q, n)
            }
            None => Moments::default(),
        };
    }
}

/// A 256-bin luma histogram and the moments that follow from it.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramOut {
    /// Mean and variance of the exact values.
    pub moments: Moments,
    /// Counts per bin (a deep format's values binned by their top 8 bits).
    /// 64-bit: a zone can hold more than `u32::MAX` samples.
    pub bins: [u64; 256],
}

impl Default for HistogramOut {
    fn default() -> HistogramOut {
        HistogramOut {
            moments: Moments::default(),
            bins: [0; 256],
        }
    }
}

impl Output for HistogramOut {
    fn fields(&self, out: &mut dyn Fields) {
        self.moments.fields(out);
        out.u64s("histogram", &self.bins);
    }

    fn reset(&mut self) {
        *self = HistogramOut::default();
    }
}

/// 256-bin luma histogram: fields `mean`, `variance` (which follow exactly
/// from it, so a runner given both skips [`MeanVariance`]) and
/// `histogram`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Histogram;

impl Analyzer for Histogram {
    type Output = HistogramOut;

    fn name(&self) -> &'static str {
        "histogram"
    }

    fn check(&self, format: &'static PixelFormat) -> Result<(), String> {
        luma_check(format)
    }

    fn output(&self, _: &'static PixelFormat) -> HistogramOut {
        HistogramOut::default()
    }

    fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut HistogramOut) {
        out.bins = [0; 256];
        out.moments = Moments::default();
        let Some((ch, rows)) = luma_rows(zone) else {
            return;
        };
        if ch.dense8() {
            histogram_bytes(rows, out);
        } else {
            histogram_channel(rows, ch, out);
        }
    }

    fn also_computes(&self) -> &'static [&'static str] {
        &["mean"]
    }
}

/// The histogram of rows of 8-bit samples, and the moments that follow
/// from it.
///
/// Eight sub-histograms (sample `i` of each 32-byte block into table
/// `i % 8`) break the store-to-load chain that equal neighbours make, and
/// a block of 32 equal samples (flat areas: black borders, sky, a
/// saturated wall, a synthetic test pattern) is counted in a register,
/// the block's eight-byte words compared with its first byte, with no
/// store at all until the value changes. Flat bars take a third of the
/// time they took with four sub-histograms and no check; noise about a
/// tenth more (`roi/histogram` times both kinds of content).
fn histogram_bytes(rows: Rows<'_>, out: &mut HistogramOut) {
    const BLOCK: usize = 32;
    // The u32 counts are flushed into the u64 result before any could
    // wrap (a zone may hold 2^32 equal samples); the run is counted in
    // 64 bits.
    let mut h = [[0u32; 256]; 8];
    let mut since_flush = 0usize;
    let flush = |h: &mut [[u32; 256]; 8], out: &mut [u64; 256]| {
        for (i, o) in out.iter_mut().enumerate() {
            *o += h.iter().map(|t| u64::from(t[i])).sum::<u64>();
        }
        *h = [[0u32; 256]; 8];
    };
    // The run of equal blocks being counted: its value and length.
    let (mut run_value, mut run) = (0usize, 0u64);
    for row in memview_core::Ahead::new(rows, crate::kernels::AHEAD) {
        if since_flush > (u32::MAX as usize) - row.len() {
            flush(&mut h, &mut out.bins);
            since_flush = 0;
        }
        since_flush += row.len();
        let mut blocks = row.chunks_exact(BLOCK);
        for b in &mut blocks {
            let v = usize::from(b[0]);
            let splat = u64::from(b[0]) * 0x0101_0101_0101_0101;
            let (words, _) = b.as_chunks::<8>();
            let differs = words
                .iter()
                .fold(0, |d, &w| d | (u64::from_le_bytes(w) ^ splat));
            if differs == 0 {
                if v != run_value {
                    out.bins[run_value] += run;
                    (run_value, run) = (v, 0);
                }
                run += BLOCK as u64;
                continue;
            }
            for (i, &x) in b.iter().enumerate() {
                h[i % 8][usize::from(x)] += 1;
            }
        }
        let (words, rest) = blocks.remainder().as_chunks::<8>();
        for w in words {
            for (t, &x) in h.iter_mut().zip(w) {
                t[usize::from(x)] += 1;
            }
        }
        for &x in rest {
            h[0][usize::from(x)] += 1;
        }
    }
    out.bins[run_value] += run;
    flush(&mut h, &mut out.bins);
    let (mut sum, mut sq, mut n) = (0u128, 0u128, 0u64);
    for (i, &c) in out.bins.iter().enumerate() {
        // The moments fall out of the histogram exactly: the same
        // integer sums a pass over the samples gives.
        let (v, c) = (i as u128, u128::from(c));
        sum += v * c;
        sq += v * v * c;
        n += c as u64;
    }
    out.moments = Moments::from_sums(sum, sq, n);
}

/// The histogram of a strided or deep channel (value `v` of `depth` bits
/// in bin `v >> (depth - 8)`), with the exact moments of the values in the
/// same pass.
fn histogram_channel(rows: Rows<'_>, ch: Channel, out: &mut HistogramOut) {
    let bin_shift = ch.depth.saturating_sub(8);
    let (mut sum, mut sq, mut n) = (0u128, 0u128, 0u64);
    for row in rows {
        let (mut s, mut q) = (0u64, 0u64);
        let c = ch.count(row.len());
        for i in 0..c {
            let v = ch.at(row, i);
            // Values of `depth` bits; a sample with stray high bits still
            // lands in the last bin rather than out of the table.
            out.bins[((v >> bin_shift) as usize).min(255)] += 1;
            s += v;
            q += v * v;
        }
        sum += u128::from(s);
        sq += u128::from(q);
        n += c as u64;
    }
    out.moments = Moments::from_sums(sum, sq, n);
}

/// What [`Motion`] writes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MotionOut {
    /// Sum of absolute luma differences against the same rectangle of the
    /// previous frame (0 for the first frame).
    pub sad: u64,
    /// The same per luma sample: the mean absolute difference, in sample
    /// values (what motion events are thresholded on).
    pub per_pixel: f64,
}

impl Output for MotionOut {
    fn fields(&self, out: &mut dyn Fields) {
        out.u64("motion", self.sad);
        out.f64("motion_per_pixel", self.per_pixel);
    }

    fn reset(&mut self) {
        *self = MotionOut::default();
    }
}

/// Motion: the sum of absolute luma differences against the previous
/// frame; fields `motion` and `motion_per_pixel`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Motion;

impl Analyzer for Motion {
    type Output = MotionOut;

    fn name(&self) -> &'static str {
        "motion"
    }

    fn check(&self, format: &'static PixelFormat) -> Result<(), String> {
        luma_check(format)
    }

    fn output(&self, _: &'static PixelFormat) -> MotionOut {
        MotionOut::default()
    }

    fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut MotionOut) {
        *out = MotionOut::default();
        let (Some((ch, a)), Some(prev)) = (luma_rows(zone), zone.previous) else {
            return;
        };
        let Some(b) = prev.rows(ch.plane) else { return };
        let n = (zone.roi.width() * zone.roi.height()) as f64;
        out.sad = if ch.dense8() {
            crate::kernels::sad_rows(a, b)
        } else {
            a.zip(b)
                .map(|(x, y)| {
                    (0..ch.count(x.len()).min(ch.count(y.len())))
                        .map(|i| ch.at(x, i).abs_diff(ch.at(y, i)))
                        .sum::<u64>()
                })
                .sum()
        };
        if n > 0.0 {
            out.per_pixel = out.sad as f64 / n;
        }
    }
}

/// What [`Edges`] writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EdgesOut {
    /// Sum of Sobel gradient magnitudes (|gx| + |gy|) over the interior.
    pub edges: u64,
}

impl Output for EdgesOut {
    fn fields(&self, out: &mut dyn Fields) {
        out.u64("edges", self.edges);
    }

    fn reset(&mut self) {
        self.edges = 0;
    }
}

/// Edge energy: the sum of Sobel |gx| + |gy| over the zone's interior;
/// field `edges`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Edges;

impl Analyzer for Edges {
    type Output = EdgesOut;

    fn name(&self) -> &'static str {
        "edges"
    }

    fn check(&self, format: &'static PixelFormat) -> Result<(), String> {
        luma_check(format)
    }

    fn output(&self, _: &'static PixelFormat) -> EdgesOut {
        EdgesOut::default()
    }

    fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut EdgesOut) {
        out.edges = 0;
        let Some((ch, rows)) = luma_rows(zone) else {
            return;
        };
        out.edges = if ch.dense8() {
            sobel(rows, |r| r.len(), |r, i| i64::from(r[i]))
        } else {
            sobel(rows, |r| ch.count(r.len()), |r, i| ch.at(r, i) as i64)
        };
    }
}

/// The sum of Sobel |gx| + |gy| over the interior of rows holding
/// `count(row)` samples each, sample `i` of a row read by `at` (inlined:
/// one loop for every channel layout).
#[inline(always)]
fn sobel(
    mut rows: Rows<'_>,
    count: impl Fn(&[u8]) -> usize,
    at: impl Fn(&[u8], usize) -> i64,
) -> u64 {
    let (Some(mut r0), Some(mut r1)) = (rows.next(), rows.next()) else {
        return 0;
    };
    let mut total = 0u64;
    for r2 in rows {
        let w = count(r0).min(count(r1)).min(count(r2));
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

/// The most components a format has.
const MAX_COMPONENTS: usize = 4;

/// What [`Colour`] writes: the mean of each component, in the format's
/// component order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColourOut {
    /// Each component's field name and mean value.
    pub means: [(&'static str, f64); MAX_COMPONENTS],
    /// Components in use.
    pub len: usize,
}

impl ColourOut {
    /// The mean of component `name` (`'U'`), if the format has it.
    pub fn mean(&self, name: char) -> Option<f64> {
        let field = field_name(name)?;
        self.means[..self.len]
            .iter()
            .find(|(f, _)| *f == field)
            .map(|&(_, v)| v)
    }
}

impl Output for ColourOut {
    fn fields(&self, out: &mut dyn Fields) {
        for &(name, v) in &self.means[..self.len] {
            out.f64(name, v);
        }
    }

    fn reset(&mut self) {
        for m in &mut self.means {
            m.1 = 0.0;
        }
    }
}

/// The field name of component `c`'s mean.
fn field_name(c: char) -> Option<&'static str> {
    Some(match c {
        'Y' => "colour_y",
        'U' => "colour_u",
        'V' => "colour_v",
        'R' => "colour_r",
        'G' => "colour_g",
        'B' => "colour_b",
        'A' => "colour_a",
        _ => return None,
    })
}

/// Colour: the mean of every component of the zone, each over its own
/// plane's grid (a 4:2:0 zone's U and V over its quarter-size chroma);
/// fields `colour_y`, `colour_u`, `colour_v` (or `colour_r`, `colour_g`,
/// `colour_b`, `colour_a`), in sample values.
#[derive(Clone, Copy, Debug, Default)]
pub struct Colour;

impl Analyzer for Colour {
    type Output = ColourOut;

    fn name(&self) -> &'static str {
        "colour"
    }

    fn check(&self, format: &'static PixelFormat) -> Result<(), String> {
        if !matches!(format.sample_bytes, 1 | 2) {
            return Err(format!(
                "{} has {}-byte samples; colour reads 1- and 2-byte samples",
                format.name, format.sample_bytes
            ));
        }
        match format
            .components
            .iter()
            .find(|c| field_name(c.name).is_none())
        {
            Some(c) => Err(format!(
                "colour has no field for {}'s {}",
                format.name, c.name
            )),
            None if format.components.len() > MAX_COMPONENTS => Err(format!(
                "{} has more than {MAX_COMPONENTS} components",
                format.name
            )),
            None => Ok(()),
        }
    }

    fn output(&self, format: &'static PixelFormat) -> ColourOut {
        let mut out = ColourOut {
            means: [("", 0.0); MAX_COMPONENTS],
            len: 0,
        };
        for c in format.components.iter().take(MAX_COMPONENTS) {
            if let Some(f) = field_name(c.name) {
                out.means[out.len] = (f, 0.0);
                out.len += 1;
            }
        }
        out
    }

    fn analyze(&self, zone: &ZoneInput<'_, '_>, out: &mut ColourOut) {
        let format = zone.roi.format();
        for (slot, c) in out.means[..out.len].iter_mut().zip(format.components) {
            let ch = Channel::of(format, c);
            slot.1 = match zone.roi.rows(ch.plane) {
                Some(rows) => {
                    let (s, _, n) = ch.sums(rows);
                    if n == 0 {
                        0.0
                    } else {
                        s as f64 / n as f64
                    }
                }
                None => 0.0,
            };
        }
    }
}

/// The names [`by_name`] knows.
pub const NAMES: &str = "mean, histogram, motion, edges, colour";

/// The built-in analyzer called `name`, if there is one.
pub fn by_name(name: &str) -> Option<BoxedAnalyzer> {
    Some(match name {
        "mean" => MeanVariance.into(),
        "histogram" | "hist" => Histogram.into(),
        "motion" => Motion.into(),
        "edges" | "sobel" => Edges.into(),
        "colour" | "color" => Colour.into(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zone of 2^32 equal samples: 64-bit bins, no wrap. A stride-0
    /// view repeats one 65536-byte row 65536 times, so no 4 GiB buffer is
    /// needed.
    #[test]
    fn histogram_counts_past_u32() {
        let row = vec![7u8; 1 << 16];
        let v = memview_core::View::from_parts(&row, "B", 0, &[1 << 16, 1 << 16], &[0, 1])
            .unwrap_or_else(|e| panic!("{e}"));
        let mut out = HistogramOut::default();
        histogram_bytes(v.rows().unwrap_or_else(|e| panic!("{e}")), &mut out);
        assert_eq!(out.bins[7], 1u64 << 32);
        assert_eq!(out.bins.iter().sum::<u64>(), 1u64 << 32);
        assert_eq!((out.moments.mean, out.moments.variance), (7.0, 0.0));
    }

    /// The blocked, run-counting kernel against one count per sample, on
    /// noise, flat runs that start and end mid-block, runs of a value
    /// that comes back after another run, and mixtures, over widths that
    /// leave every kind of remainder and a stride wider than the zone.
    #[test]
    fn histogram_bytes_counts_every_sample_once() {
        let mut rng = memview_testkit::Rng::new(0x9e37_79b9_7f4a_7c15);
        let mut next = move || rng.next_u64();
        for case in 0..200 {
            let width = 1 + (next() % 300) as usize;
            let height = 1 + (next() % 20) as usize;
            let stride = width + (next() % 40) as usize;
            let mut data = vec![0u8; stride * height];
            let mut i = 0;
            while i < data.len() {
                // A run of 1 to 160 equal samples, or as many noisy ones.
                let len = (1 + next() % 160) as usize;
                let value = (next() % 4) as u8 * 60;
                let noisy = case % 3 == 0 || next() % 4 == 0;
                for x in data.iter_mut().skip(i).take(len) {
                    *x = if noisy { next() as u8 } else { value };
                }
                i += len;
            }
            let v = memview_core::View::from_parts(
                &data,
                "B",
                0,
                &[height, width],
                &[stride as isize, 1],
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let mut want = [0u64; 256];
            for row in data.chunks(stride) {
                for &x in &row[..width] {
                    want[usize::from(x)] += 1;
                }
            }
            let mut out = HistogramOut::default();
            histogram_bytes(v.rows().unwrap_or_else(|e| panic!("{e}")), &mut out);
            assert_eq!(
                out.bins, want,
                "case {case}: {width}x{height}, stride {stride}"
            );
        }
    }
}
