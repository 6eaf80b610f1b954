//! Row kernels of the analyzers: sums, sums of squares and sums of
//! absolute differences of bytes. On x86_64 they use AVX2 where the CPU
//! has it (32 bytes a step) and SSE2 (part of the x86_64 baseline) for
//! what is left: `psadbw` sums 16 bytes, or 16 absolute differences, in
//! one instruction, and `pmaddwd` squares and adds eight at a time.
//! Elsewhere, and for the last bytes, plain loops. Tests hold every path
//! to the same results.

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
        // Every byte 255 over a long row: the square lanes must not wrap.
        let row = vec![255u8; 16 * 4096 * 3 + 5];
        let n = row.len() as u64;
        assert_eq!(sum_sq(&row), (255 * n, 255 * 255 * n));
    }
}
