//! The linear resize's two passes in AVX2, selected at run time: the
//! horizontal pass two pixels a step, each pixel's two taps read with one
//! 8-byte load (they are neighbours in the source row, or the second has
//! weight 0), and the vertical pass sixteen samples a step. Both give
//! exactly the portable loops' values (the same integer arithmetic, lane
//! for lane); the unit tests compare them on random rows, under
//! AddressSanitizer in CI.

use core::arch::x86_64::*;

/// Whether this CPU runs the kernels (`is_x86_feature_detected!` caches).
#[inline]
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx2")
}

/// [`super::hpass`] for 3- and 4-channel rows over the first `n` pixels,
/// whose taps [`super::LinearAxis`] checked: each pixel's second tap is
/// `CN` bytes after its first or has weight 0, `o0 + 8 <= row.len()` and
/// `i * CN + 4 <= d.len()`. `w` holds each pixel's two weights packed in
/// one 32-bit lane, four times. The offsets never decrease, so pixel
/// `n - 1` bounds them all: if it does not fit, the kernel does nothing.
/// Returns how many pixels it did.
///
/// # Safety
///
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn hpass<const CN: usize>(
    row: &[u8],
    ofs: &[(usize, usize)],
    w: &[[i32; 4]],
    d: &mut [i32],
    n: usize,
) -> usize {
    let fits = n <= ofs.len()
        && n <= w.len()
        && n.checked_sub(1)
            .is_none_or(|last| ofs[last].0 + 8 <= row.len() && last * CN + 4 <= d.len());
    if !fits || !(CN == 3 || CN == 4) {
        return 0;
    }
    // From a pixel's 8 bytes widened to 16 bits, each channel's two taps
    // side by side (channel c of tap 0, channel c of tap 1) for the
    // multiply-add; a 3-channel pixel's fourth pair is zero.
    let pairs = if CN == 3 {
        _mm_setr_epi8(0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11, -1, -1, -1, -1)
    } else {
        _mm_setr_epi8(0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15)
    };
    let pairs2 = _mm256_broadcastsi128_si256(pairs);
    let (src, dst, ws) = (row.as_ptr(), d.as_mut_ptr(), w.as_ptr());
    let mut i = 0;
    while i + 2 <= n {
        let (o0, o1) = (ofs[i].0, ofs[i + 1].0);
        // SAFETY: pixels `i` and `i + 1` are below `n`, so their 8-byte
        // loads end within `row`, their 4-lane stores within `d`, and
        // their weights are in `w` (checked above for pixel `n - 1`, and
        // the offsets grow with the index); unaligned loads and stores.
        unsafe {
            let a = _mm_loadl_epi64(src.add(o0).cast());
            let b = _mm_loadl_epi64(src.add(o1).cast());
            let x = _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(a, b));
            let sums = _mm256_madd_epi16(
                _mm256_shuffle_epi8(x, pairs2),
                _mm256_loadu_si256(ws.add(i).cast()),
            );
            _mm_storeu_si128(dst.add(i * CN).cast(), _mm256_castsi256_si128(sums));
            _mm_storeu_si128(
                dst.add((i + 1) * CN).cast(),
                _mm256_extracti128_si256::<1>(sums),
            );
        }
        i += 2;
    }
    if i < n {
        // SAFETY: as above, for the one pixel `i < n`.
        unsafe {
            let x = _mm_cvtepu8_epi16(_mm_loadl_epi64(src.add(ofs[i].0).cast()));
            let sums = _mm_madd_epi16(
                _mm_shuffle_epi8(x, pairs),
                _mm_loadu_si128(ws.add(i).cast()),
            );
            _mm_storeu_si128(dst.add(i * CN).cast(), sums);
        }
    }
    n
}

/// [`super::vpass`] sixteen samples a step: returns how many it did.
///
/// # Safety
///
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn vpass(r0: &[i32], r1: &[i32], b0: i32, b1: i32, out: &mut [u8]) -> usize {
    let n = out.len().min(r0.len()).min(r1.len()) / 16 * 16;
    let (vb0, vb1) = (_mm256_set1_epi16(b0 as i16), _mm256_set1_epi16(b1 as i16));
    let two = _mm256_set1_epi16(2);
    // `packs` and `packus` work within 128-bit lanes: this puts the
    // sixteen bytes back in order (see `load16`).
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for x in (0..n).step_by(16) {
        // SAFETY: `x + 16 <= n`, which is at most each slice's length.
        unsafe {
            let v = _mm256_adds_epi16(
                _mm256_mulhi_epi16(load16(r0.as_ptr().add(x)), vb0),
                _mm256_mulhi_epi16(load16(r1.as_ptr().add(x)), vb1),
            );
            let v = _mm256_srai_epi16::<2>(_mm256_adds_epi16(v, two));
            let bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(v, v), order);
            _mm_storeu_si128(
                out.as_mut_ptr().add(x).cast(),
                _mm256_castsi256_si128(bytes),
            );
        }
    }
    n
}

/// Sixteen horizontal sums at `p`, four bits dropped, packed to 16 bits
/// in the lanes' order: samples 0-3, 8-11 | 4-7, 12-15.
///
/// # Safety
///
/// `p` must be valid for reading 16 `i32`s; the CPU must have AVX2.
#[target_feature(enable = "avx2")]
unsafe fn load16(p: *const i32) -> __m256i {
    let p = p.cast::<__m256i>();
    // SAFETY: the caller's 16 lanes, as two unaligned 8-lane loads.
    unsafe {
        _mm256_packs_epi32(
            _mm256_srai_epi32::<4>(_mm256_loadu_si256(p)),
            _mm256_srai_epi32::<4>(_mm256_loadu_si256(p.add(1))),
        )
    }
}
