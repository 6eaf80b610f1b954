//! Row kernels of the analyzers: sums, sums of squares and sums of
//! absolute differences of bytes. On x86_64 they use AVX2 where the CPU
//! has it (32 bytes a step) and SSE2 (part of the x86_64 baseline) for
//! what is left: `psadbw` sums 16 bytes, or 16 absolute differences, in
//! one instruction, and `pmaddwd` squares and adds eight at a time.
//! Elsewhere, and for the last bytes, plain loops. Tests hold every path
//! to the same results.

use memview_core::Ahead;

/// Sum and sum of squares of the bytes of `row`.
#[inline]
pub(crate) fn sum_sq(row: &[u8]) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    {
        let (wide, rest) = row.split_at(if avx2::available() {
            row.len() / 32 * 32
        } else {
            0
        });
        let (w, wq) = avx2::sum_sq(wide);
        let (body, tail) = rest.split_at(rest.len() / 16 * 16);
        let (s, q) = sse2::sum_sq(body);
        let (ts, tq) = portable_sum_sq(tail);
        (w + s + ts, wq + q + tq)
    }
    #[cfg(not(target_arch = "x86_64"))]
    portable_sum_sq(row)
}

/// [`sum_sq`] summed over rows: a zone's sums for its mean and variance.
/// With AVX2, one pass over all the rows (32, 16 and 8 bytes a step), as
/// [`sad_rows`].
pub(crate) fn sum_sq_rows<'r>(rows: impl Iterator<Item = &'r [u8]> + Clone) -> (u64, u64, u64) {
    let rows = Ahead::new(rows, AHEAD);
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        return avx2::sum_sq_rows(rows);
    }
    rows.fold((0, 0, 0), |(s, q, n), r| {
        let (rs, rq) = sum_sq(r);
        (s + rs, q + rq, n + r.len() as u64)
    })
}

/// [`sad`] summed over pairs of rows (each pair over its common length):
/// a zone's motion. With AVX2, one pass over all the rows with one
/// accumulator, 32, 16 and 8 bytes a step, so short lines (a 200-pixel zone)
/// pay no per-row set-up.
pub(crate) fn sad_rows<'r>(
    a: impl Iterator<Item = &'r [u8]> + Clone,
    b: impl Iterator<Item = &'r [u8]> + Clone,
) -> u64 {
    let (a, b) = (Ahead::new(a, AHEAD), Ahead::new(b, AHEAD));
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        return avx2::sad_rows(a, b);
    }
    a.zip(b).map(|(x, y)| sad(x, y)).sum()
}

/// How many rows ahead the kernels' rows are prefetched into L2
/// ([`Ahead`]). `memview run` on a mapped 1080p file, interleaved medians
/// of seven in three runs: 8250, 9640 and 8240 frames/s with four rows
/// into L1, 12110, 12020 and 9860 with sixteen into L2 (24 or 32 rows a
/// little less, `prefetcht2` the same); none at all, 4160.
pub(crate) const AHEAD: usize = 16;

/// Sum of `|a[i] - b[i]|` over the common length.
#[inline]
pub(crate) fn sad(a: &[u8], b: &[u8]) -> u64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    #[cfg(target_arch = "x86_64")]
    {
        let wide = if avx2::available() { n / 32 * 32 } else { 0 };
        let cut = wide + (n - wide) / 16 * 16;
        avx2::sad(&a[..wide], &b[..wide])
            + sse2::sad(&a[wide..cut], &b[wide..cut])
            + portable_sad(&a[cut..], &b[cut..])
    }
    #[cfg(not(target_arch = "x86_64"))]
    portable_sad(a, b)
}

pub(crate) fn portable_sum_sq(row: &[u8]) -> (u64, u64) {
    row.iter().fold((0u64, 0u64), |(s, q), &b| {
        let w = u64::from(b);
        (s + w, q + w * w)
    })
}

pub(crate) fn portable_sad(a: &[u8], b: &[u8]) -> u64 {
    a.iter()
        .zip(b)
        .map(|(&p, &q)| u64::from(p.abs_diff(q)))
        .sum()
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod sse2 {
    use core::arch::x86_64::*;

    /// Loads one 16-byte chunk.
    #[inline(always)]
    fn load(chunk: &[u8]) -> __m128i {
        let chunk: &[u8; 16] = match chunk.try_into() {
            Ok(c) => c,
            Err(_) => unreachable!("chunks_exact(16) gives 16 bytes"),
        };
        // SAFETY: `chunk` is 16 readable bytes; the load is unaligned.
        unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) }
    }

    /// The two 64-bit lanes of a `psadbw` accumulator, added.
    #[inline(always)]
    fn lanes64(v: __m128i) -> u64 {
        let mut out = [0u64; 2];
        // SAFETY: `out` is 16 writable bytes.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), v) };
        out[0] + out[1]
    }

    /// Sum and sum of squares; `body.len()` is a multiple of 16.
    #[inline]
    pub(super) fn sum_sq(body: &[u8]) -> (u64, u64) {
        // SAFETY (for the intrinsics): SSE2 is part of x86_64.
        unsafe {
            let zero = _mm_setzero_si128();
            let (mut sums, mut squares) = (_mm_setzero_si128(), 0u64);
            // Squares gather in four u32 lanes, each taking at most
            // 4 * 255² per chunk: flushed every 4096 chunks, far below
            // overflow.
            for block in body.chunks(16 * 4096) {
                let mut q = _mm_setzero_si128();
                for c in block.chunks_exact(16) {
                    let v = load(c);
                    sums = _mm_add_epi64(sums, _mm_sad_epu8(v, zero));
                    let (lo, hi) = (_mm_unpacklo_epi8(v, zero), _mm_unpackhi_epi8(v, zero));
                    q = _mm_add_epi32(q, _mm_madd_epi16(lo, lo));
                    q = _mm_add_epi32(q, _mm_madd_epi16(hi, hi));
                }
                let mut lanes = [0u32; 4];
                _mm_storeu_si128(lanes.as_mut_ptr().cast(), q);
                squares += lanes.iter().map(|&l| u64::from(l)).sum::<u64>();
            }
            (lanes64(sums), squares)
        }
    }

    /// Sum of absolute differences; equal lengths, multiples of 16.
    #[inline]
    pub(super) fn sad(a: &[u8], b: &[u8]) -> u64 {
        // SAFETY (for the intrinsics): SSE2 is part of x86_64.
        unsafe {
            let mut acc = _mm_setzero_si128();
            for (x, y) in a.chunks_exact(16).zip(b.chunks_exact(16)) {
                acc = _mm_add_epi64(acc, _mm_sad_epu8(load(x), load(y)));
            }
            lanes64(acc)
        }
    }
}

/// The same kernels 32 bytes at a time, where the CPU has AVX2.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    use core::arch::x86_64::*;

    /// Whether the CPU has AVX2 (`is_x86_feature_detected!` caches it).
    #[inline]
    pub(super) fn available() -> bool {
        is_x86_feature_detected!("avx2")
    }

    /// Sum and sum of squares; `body.len()` is a multiple of 32, and 0
    /// unless [`available`].
    #[inline]
    pub(super) fn sum_sq(body: &[u8]) -> (u64, u64) {
        if body.is_empty() {
            return (0, 0);
        }
        // SAFETY: callers pass a non-empty body only when the CPU has
        // AVX2.
        unsafe { sum_sq_avx2(body) }
    }

    /// Sum of absolute differences; equal lengths, multiples of 32, and 0
    /// unless [`available`].
    #[inline]
    pub(super) fn sad(a: &[u8], b: &[u8]) -> u64 {
        if a.is_empty() {
            return 0;
        }
        // SAFETY: as above.
        unsafe { sad_avx2(a, b) }
    }

    #[inline(always)]
    fn load(chunk: &[u8]) -> __m256i {
        let chunk: &[u8; 32] = match chunk.try_into() {
            Ok(c) => c,
            Err(_) => unreachable!("chunks_exact(32) gives 32 bytes"),
        };
        // SAFETY: `chunk` is 32 readable bytes; the load is unaligned.
        unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) }
    }

    /// The four 64-bit lanes of an accumulator, added.
    #[target_feature(enable = "avx2")]
    fn lanes64(v: __m256i) -> u64 {
        let mut out = [0u64; 4];
        // SAFETY: `out` is 32 writable bytes.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) };
        out.iter().sum()
    }

    #[target_feature(enable = "avx2")]
    fn sum_sq_avx2(body: &[u8]) -> (u64, u64) {
        let zero = _mm256_setzero_si256();
        let (mut sums, mut squares) = (_mm256_setzero_si256(), 0u64);
        // Eight u32 lanes of squares, each taking at most 4 * 255² per
        // chunk: flushed every 4096 chunks.
        for block in body.chunks(32 * 4096) {
            let mut q = _mm256_setzero_si256();
            for c in block.chunks_exact(32) {
                let v = load(c);
                sums = _mm256_add_epi64(sums, _mm256_sad_epu8(v, zero));
                let (lo, hi) = (_mm256_unpacklo_epi8(v, zero), _mm256_unpackhi_epi8(v, zero));
                q = _mm256_add_epi32(q, _mm256_madd_epi16(lo, lo));
                q = _mm256_add_epi32(q, _mm256_madd_epi16(hi, hi));
            }
            let mut lanes = [0u32; 8];
            // SAFETY: `lanes` is 32 writable bytes.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), q) };
            squares += lanes.iter().map(|&l| u64::from(l)).sum::<u64>();
        }
        (lanes64(sums), squares)
    }

    /// [`super::sad_rows`]; the caller has checked [`available`].
    pub(super) fn sad_rows<'r>(
        a: impl Iterator<Item = &'r [u8]>,
        b: impl Iterator<Item = &'r [u8]>,
    ) -> u64 {
        debug_assert!(available());
        // SAFETY: callers call this only when the CPU has AVX2.
        unsafe { sad_rows_avx2(a, b) }
    }

    /// [`super::sum_sq_rows`]; the caller has checked [`available`].
    pub(super) fn sum_sq_rows<'r>(rows: impl Iterator<Item = &'r [u8]>) -> (u64, u64, u64) {
        debug_assert!(available());
        // SAFETY: callers call this only when the CPU has AVX2.
        unsafe { sum_sq_rows_avx2(rows) }
    }

    #[target_feature(enable = "avx2")]
    fn sum_sq_rows_avx2<'r>(rows: impl Iterator<Item = &'r [u8]>) -> (u64, u64, u64) {
        let zero = _mm256_setzero_si256();
        let z128 = _mm_setzero_si128();
        let (mut sums, mut sums16) = (_mm256_setzero_si256(), _mm_setzero_si128());
        let (mut q, mut q16) = (_mm256_setzero_si256(), _mm_setzero_si128());
        let (mut squares, mut rest_sum, mut n) = (0u64, 0u64, 0u64);
        // Square lanes are u32 and take at most 4 * 255² per step: flushed
        // to u64 after at most 4096 steps.
        let mut steps = 0u32;
        let flush = |q: &mut __m256i, q16: &mut __m128i, squares: &mut u64| {
            let mut l8 = [0u32; 8];
            let mut l4 = [0u32; 4];
            // SAFETY: the arrays are 32 and 16 writable bytes.
            unsafe {
                _mm256_storeu_si256(l8.as_mut_ptr().cast(), *q);
                _mm_storeu_si128(l4.as_mut_ptr().cast(), *q16);
            }
            *squares += l8.iter().chain(&l4).map(|&l| u64::from(l)).sum::<u64>();
            *q = _mm256_setzero_si256();
            *q16 = _mm_setzero_si128();
        };
        for row in rows {
            n += row.len() as u64;
            let mut chunks = row.chunks_exact(32);
            for c in &mut chunks {
                let v = load(c);
                sums = _mm256_add_epi64(sums, _mm256_sad_epu8(v, zero));
                let (lo, hi) = (_mm256_unpacklo_epi8(v, zero), _mm256_unpackhi_epi8(v, zero));
                q = _mm256_add_epi32(q, _mm256_madd_epi16(lo, lo));
                q = _mm256_add_epi32(q, _mm256_madd_epi16(hi, hi));
                steps += 1;
                if steps == 4096 {
                    flush(&mut q, &mut q16, &mut squares);
                    steps = 0;
                }
            }
            let mut p = chunks.remainder();
            for width in [16usize, 8] {
                if p.len() >= width {
                    let v = if width == 16 { load16(p) } else { load8(p) };
                    sums16 = _mm_add_epi64(sums16, _mm_sad_epu8(v, z128));
                    let (lo, hi) = (_mm_unpacklo_epi8(v, z128), _mm_unpackhi_epi8(v, z128));
                    q16 = _mm_add_epi32(q16, _mm_madd_epi16(lo, lo));
                    q16 = _mm_add_epi32(q16, _mm_madd_epi16(hi, hi));
                    p = &p[width..];
                    steps += 1;
                }
            }
            if steps >= 4096 {
                flush(&mut q, &mut q16, &mut squares);
                steps = 0;
            }
            let (ts, tq) = super::portable_sum_sq(p);
            rest_sum += ts;
            squares += tq;
        }
        flush(&mut q, &mut q16, &mut squares);
        let mut l2 = [0u64; 2];
        // SAFETY: `l2` is 16 writable bytes.
        unsafe { _mm_storeu_si128(l2.as_mut_ptr().cast(), sums16) };
        (lanes64(sums) + l2[0] + l2[1] + rest_sum, squares, n)
    }

    /// Loads the first 16 bytes of `s` (at least 16 long).
    #[inline(always)]
    fn load16(s: &[u8]) -> __m128i {
        let chunk: &[u8; 16] = match s.first_chunk() {
            Some(c) => c,
            None => unreachable!("callers pass at least 16 bytes"),
        };
        // SAFETY: `chunk` is 16 readable bytes; the load is unaligned.
        unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) }
    }

    /// Loads the first 8 bytes of `s` (at least 8 long) into the low half,
    /// the high half zero.
    #[inline(always)]
    fn load8(s: &[u8]) -> __m128i {
        let chunk: &[u8; 8] = match s.first_chunk() {
            Some(c) => c,
            None => unreachable!("callers pass at least 8 bytes"),
        };
        // SAFETY: `chunk` is 8 readable bytes; `movq` reads exactly 8.
        unsafe { _mm_loadl_epi64(chunk.as_ptr().cast()) }
    }

    #[target_feature(enable = "avx2")]
    fn sad_rows_avx2<'r>(
        a: impl Iterator<Item = &'r [u8]>,
        b: impl Iterator<Item = &'r [u8]>,
    ) -> u64 {
        // Each psadbw lane adds at most 8 * 255 per step: u64 lanes
        // cannot wrap.
        let (mut wide, mut narrow, mut rest) = (_mm256_setzero_si256(), _mm_setzero_si128(), 0);
        for (x, y) in a.zip(b) {
            let n = x.len().min(y.len());
            let (mut xs, mut ys) = (x[..n].chunks_exact(32), y[..n].chunks_exact(32));
            for (p, q) in (&mut xs).zip(&mut ys) {
                wide = _mm256_add_epi64(wide, _mm256_sad_epu8(load(p), load(q)));
            }
            let (mut p, mut q) = (xs.remainder(), ys.remainder());
            if p.len() >= 16 {
                narrow = _mm_add_epi64(narrow, _mm_sad_epu8(load16(p), load16(q)));
                (p, q) = (&p[16..], &q[16..]);
            }
            if p.len() >= 8 {
                narrow = _mm_add_epi64(narrow, _mm_sad_epu8(load8(p), load8(q)));
                (p, q) = (&p[8..], &q[8..]);
            }
            rest += super::portable_sad(p, q);
        }
        let mut lanes = [0u64; 2];
        // SAFETY: `lanes` is 16 writable bytes.
        unsafe { _mm_storeu_si128(lanes.as_mut_ptr().cast(), narrow) };
        lanes64(wide) + lanes[0] + lanes[1] + rest
    }

    #[target_feature(enable = "avx2")]
    fn sad_avx2(a: &[u8], b: &[u8]) -> u64 {
        let mut acc = _mm256_setzero_si256();
        for (x, y) in a.chunks_exact(32).zip(b.chunks_exact(32)) {
            acc = _mm256_add_epi64(acc, _mm256_sad_epu8(load(x), load(y)));
        }
        lanes64(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_and_portable_kernels_agree() {
        let mut rng = memview_testkit::Rng::new(3);
        for len in [0usize, 1, 15, 16, 17, 31, 200, 1920, 70_000] {
            for extreme in [None, Some(0u8), Some(255u8)] {
                let gen = |rng: &mut memview_testkit::Rng| -> Vec<u8> {
                    (0..len)
                        .map(|_| extreme.unwrap_or(rng.next_u64() as u8))
                        .collect()
                };
                let (a, b) = (gen(&mut rng), gen(&mut rng));
                assert_eq!(sum_sq(&a), portable_sum_sq(&a), "len {len}");
                let c: Vec<u8> = b.iter().map(|&x| 255 - x).collect();
                assert_eq!(sad(&a, &c), portable_sad(&a, &c), "len {len}");
                assert_eq!(sad(&a, &b), portable_sad(&a, &b), "len {len}");
                // The SSE2 path on its own over long rows too (with AVX2
                // present it only sees the last 16-byte step).
                #[cfg(target_arch = "x86_64")]
                {
                    let body = len / 16 * 16;
                    assert_eq!(sse2::sum_sq(&a[..body]), portable_sum_sq(&a[..body]));
                    assert_eq!(
                        sse2::sad(&a[..body], &c[..body]),
                        portable_sad(&a[..body], &c[..body])
                    );
                }
            }
        }
        // Lengths that differ: the common prefix counts.
        assert_eq!(sad(&[10, 20, 30], &[0, 0]), 30);
        // Whole zones: rows of every length from 0 to 80 (each step size
        // and tail), pairs of unequal length, extremes.
        for extreme in [None, Some(0u8), Some(255u8)] {
            let mut gen = |len: usize| -> Vec<u8> {
                (0..len)
                    .map(|_| extreme.unwrap_or(rng.next_u64() as u8))
                    .collect()
            };
            let a: Vec<Vec<u8>> = (0..81).map(&mut gen).collect();
            let b: Vec<Vec<u8>> = (0..81)
                .map(|i| gen(if i % 7 == 3 { i / 2 } else { i }))
                .collect();
            let b: Vec<Vec<u8>> = match extreme {
                Some(_) => b
                    .iter()
                    .map(|r| r.iter().map(|&x| 255 - x).collect())
                    .collect(),
                None => b,
            };
            let want: u64 = a.iter().zip(&b).map(|(x, y)| portable_sad(x, y)).sum();
            let want_sq = a.iter().fold((0, 0, 0), |(s, q, n), r| {
                let (rs, rq) = portable_sum_sq(r);
                (s + rs, q + rq, n + r.len() as u64)
            });
            assert_eq!(sum_sq_rows(a.iter().map(Vec::as_slice)), want_sq);
            fn rows(v: &[Vec<u8>]) -> Vec<&[u8]> {
                v.iter().map(Vec::as_slice).collect()
            }
            let (ra, rb) = (rows(&a), rows(&b));
            assert_eq!(sad_rows(ra.iter().copied(), rb.iter().copied()), want);
            #[cfg(target_arch = "x86_64")]
            if avx2::available() {
                assert_eq!(avx2::sad_rows(ra.iter().copied(), rb.iter().copied()), want);
            }
        }
        // Every byte 255 over a long row: the square lanes must not wrap.
        let row = vec![255u8; 16 * 4096 * 3 + 5];
        let n = row.len() as u64;
        assert_eq!(sum_sq(&row), (255 * n, 255 * 255 * n));
        // Nor over many short rows (the 16- and 8-byte steps count too).
        let rows = vec![vec![255u8; 56]; 20_000];
        let n = 56 * 20_000;
        assert_eq!(
            sum_sq_rows(rows.iter().map(Vec::as_slice)),
            (255 * n, 255 * 255 * n, n)
        );
    }
}
