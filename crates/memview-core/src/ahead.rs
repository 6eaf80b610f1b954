//! [`Ahead`]: rows with a software prefetch a fixed distance ahead.

/// Rows, with the row `distance` rows on asked of the L2 cache as each
/// is yielded: a hint, with no effect on what is yielded (and none at all
/// off x86_64).
///
/// A region's rows are short runs at a frame's stride (a 200-pixel zone
/// of 1080p luma is 200 bytes every 1920), which hardware prefetchers
/// follow poorly; where the frame is not already in cache (a view of the
/// page cache, or a frame the capture thread wrote a while ago) the first
/// pass over a zone otherwise waits on memory row by row. Into L2
/// (`prefetcht1`), not L1: an L1 prefetch holds one of the core's few L1
/// miss buffers until its line arrives, so only a few rows could be in
/// flight.
///
/// ```
/// use memview_core::Ahead;
///
/// let frame = vec![7u8; 1920 * 8];
/// let rows = frame.chunks(1920).map(|r| &r[100..300]);
/// assert_eq!(Ahead::new(rows, 4).map(<[u8]>::len).sum::<usize>(), 8 * 200);
/// ```
#[derive(Debug, Clone)]
pub struct Ahead<I> {
    rows: I,
    /// `rows` `distance` on; none for a distance of 0.
    ahead: Option<I>,
}

impl<'r, I: Iterator<Item = &'r [u8]> + Clone> Ahead<I> {
    /// `rows`, the first `distance` of them asked for at once; a
    /// distance of 0 prefetches nothing.
    pub fn new(rows: I, distance: usize) -> Ahead<I> {
        let ahead = (distance > 0).then(|| {
            let mut ahead = rows.clone();
            for row in ahead.by_ref().take(distance) {
                prefetch(row);
            }
            ahead
        });
        Ahead { rows, ahead }
    }
}

impl<'r, I: Iterator<Item = &'r [u8]>> Iterator for Ahead<I> {
    type Item = &'r [u8];

    #[inline]
    fn next(&mut self) -> Option<&'r [u8]> {
        if let Some(row) = self.ahead.as_mut().and_then(Iterator::next) {
            prefetch(row);
        }
        self.rows.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.rows.size_hint()
    }
}

impl<'r, I: ExactSizeIterator<Item = &'r [u8]>> ExactSizeIterator for Ahead<I> {}

/// Asks the L2 cache for the lines `row` spans.
#[inline]
fn prefetch(row: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
        let Some(last) = row.len().checked_sub(1) else {
            return;
        };
        let base = row.as_ptr();
        // A line every 64 bytes, and the one holding the last byte.
        for off in (0..last).step_by(64).chain([last]) {
            // SAFETY: `off` <= `last` < `row.len()`, so the pointer is
            // inside `row`; a prefetch reads nothing architecturally and
            // never faults.
            unsafe { _mm_prefetch::<_MM_HINT_T1>(base.add(off).cast()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Ahead` yields exactly its rows, in order, whether there are fewer
    /// rows than it looks ahead or more, and rows of any length (empty
    /// ones included: nothing to prefetch).
    #[test]
    fn ahead_yields_its_rows() {
        let data: Vec<u8> = (0..=255).cycle().take(5000).collect();
        for distance in [0usize, 1, 4, 16] {
            for n in [
                0usize,
                1,
                distance.saturating_sub(1),
                distance,
                distance + 1,
                40,
            ] {
                for len in [0usize, 1, 63, 64, 65, 200] {
                    let rows: Vec<&[u8]> = (0..n).map(|i| &data[i * 97..i * 97 + len]).collect();
                    let ahead = Ahead::new(rows.iter().copied(), distance);
                    assert_eq!(ahead.size_hint(), (n, Some(n)));
                    let got: Vec<&[u8]> = ahead.collect();
                    assert_eq!(got, rows, "{n} rows of {len}, {distance} ahead");
                }
            }
        }
    }
}
