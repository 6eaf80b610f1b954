//! Latency percentiles from fixed buckets: recording allocates nothing.

use std::time::Duration;

/// Buckets: 1 µs wide up to 10 ms, then one overflow bucket.
const BUCKETS: usize = 10_000;

/// A histogram of durations with fixed 1 µs buckets up to 10 ms.
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    counts: Box<[u32]>,
    overflow: u64,
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
            overflow: 0,
            max: Duration::ZERO,
            total: 0,
        }
    }

    /// Records one sample.
    pub fn record(&mut self, d: Duration) {
        let us = d.as_micros();
        match self.counts.get_mut(us as usize) {
            Some(c) if us < BUCKETS as u128 => *c = c.saturating_add(1),
            _ => self.overflow += 1,
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
        let rank = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (us, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                // The bucket's upper edge.
                return (us + 1) as f64;
            }
        }
        self.max.as_secs_f64() * 1e6
    }

    /// p50, p95, p99 and the maximum, in microseconds (bucket upper edges,
    /// so within 1 µs above the true value below 10 ms).
    pub fn percentiles(&self) -> Percentiles {
        Percentiles {
            p50: self.quantile(0.50),
            p95: self.quantile(0.95),
            p99: self.quantile(0.99),
            max: self.max.as_secs_f64() * 1e6,
        }
    }
}
