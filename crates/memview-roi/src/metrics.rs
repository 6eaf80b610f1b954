//! Latency percentiles from fixed log-linear buckets: recording allocates
//! nothing, and every duration up to about 19 hours lands in a bucket.

use std::time::Duration;

/// Bits of precision below each power of two: durations under 512 µs get
/// 1 µs buckets, longer ones 256 buckets per power of two (a
/// relative error below 0.4%).
const SUB_BITS: u32 = 9;
const SUB: u64 = 1 << SUB_BITS;
/// Powers of two covered above the exact range: up to 2^36 µs (19 hours);
/// longer samples fall in the last bucket (and still set the maximum).
const OCTAVES: u64 = 36 - SUB_BITS as u64 + 1;
const BUCKETS: usize = (SUB + OCTAVES * SUB / 2) as usize;

/// The bucket of a duration of `us` microseconds.
fn bucket(us: u64) -> usize {
    if us < SUB {
        return us as usize;
    }
    // `us` has its top bit at `msb` >= SUB_BITS; keep SUB_BITS bits.
    let msb = 63 - u64::from(us.leading_zeros());
    let shift = msb + 1 - u64::from(SUB_BITS);
    let top = us >> shift; // in SUB/2..SUB
    let b = SUB + (shift - 1) * (SUB / 2) + (top - SUB / 2);
    (b as usize).min(BUCKETS - 1)
}

/// The largest duration (µs) that lands in bucket `b`.
fn upper_edge(b: usize) -> f64 {
    let b = b as u64;
    if b < SUB {
        return b as f64;
    }
    let shift = (b - SUB) / (SUB / 2) + 1;
    let top = (b - SUB) % (SUB / 2) + SUB / 2;
    (((top + 1) << shift) - 1) as f64
}

/// A histogram of durations with fixed log-linear buckets (1 µs wide below
/// 512 µs, then at most 0.4% of the value wide).
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    counts: Box<[u32]>,
    max: Duration,
    total: u64,
}

/// Percentiles in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram (its buckets are allocated here, once).
    pub fn new() -> LatencyHistogram {
        LatencyHistogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            max: Duration::ZERO,
            total: 0,
        }
    }

    /// Records one sample.
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        if let Some(c) = self.counts.get_mut(bucket(us)) {
            *c = c.saturating_add(1);
        }
        self.max = self.max.max(d);
        self.total += 1;
    }

    /// Samples recorded.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    fn quantile(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let max = self.max.as_secs_f64() * 1e6;
        let rank = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                // The bucket's upper edge, but never above the largest
                // sample: a percentile cannot exceed the maximum.
                return (upper_edge(b) + 1.0).min(max);
            }
        }
        max
    }

    /// p50, p95, p99 and the maximum, in microseconds. A percentile is the
    /// upper edge of its bucket (within 1 µs below 512 µs, within 0.4%
    /// above), capped at the maximum, so `p50 <= p95 <= p99 <= max`.
    pub fn percentiles(&self) -> Percentiles {
        Percentiles {
            p50: self.quantile(0.50),
            p95: self.quantile(0.95),
            p99: self.quantile(0.99),
            max: self.max.as_secs_f64() * 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_edges_hold_their_values() {
        let mut last = 0;
        let mut values: Vec<u64> = (0..5000u64)
            .chain((12..37).flat_map(|e| [(1 << e) - 1, 1 << e, (1 << e) + 7]))
            .collect();
        values.sort_unstable();
        for us in values {
            let b = bucket(us);
            assert!(b >= last, "{us}");
            last = b;
            assert!(upper_edge(b) >= us as f64, "{us} above edge of bucket {b}");
            if b > 0 {
                assert!(upper_edge(b - 1) < us as f64, "{us} fits bucket {}", b - 1);
            }
            // Relative width within 0.4%.
            if us >= SUB {
                assert!((upper_edge(b) - us as f64) / (us as f64) < 0.004, "{us}");
            }
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    /// Issue 13: percentiles past 10 ms are real values, not the maximum,
    /// and none exceeds the maximum.
    #[test]
    fn long_latencies_have_true_percentiles() {
        let mut h = LatencyHistogram::new();
        // 100 samples: 1..=100 ms.
        for ms in 1..=100u64 {
            h.record(Duration::from_millis(ms));
        }
        let p = h.percentiles();
        let near = |got: f64, want_ms: f64| (got - want_ms * 1e3).abs() <= want_ms * 1e3 * 0.003;
        assert!(near(p.p50, 50.0), "{p:?}");
        assert!(near(p.p95, 95.0), "{p:?}");
        assert!(near(p.p99, 99.0), "{p:?}");
        assert_eq!(p.max, 100_000.0);
        // One sample inside a bucket: p99 is capped at that sample.
        let mut h = LatencyHistogram::new();
        h.record(Duration::from_micros(20_001));
        let p = h.percentiles();
        assert!(
            p.p50 <= p.max && p.p99 <= p.max && p.max == 20_001.0,
            "{p:?}"
        );
        let mut h = LatencyHistogram::new();
        h.record(Duration::from_nanos(1_500));
        let p = h.percentiles();
        assert!(p.p99 <= p.max, "{p:?}");
        // Hours still land in a bucket.
        h.record(Duration::from_secs(3 * 3600));
        assert!(h.percentiles().p99 <= h.percentiles().max);
    }
}
