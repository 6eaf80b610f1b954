//! The linear resize's two passes in SSE2 (every x86-64 CPU has it, so
//! nothing is detected at run time): the horizontal pass a pixel a step
//! (both taps' channels in one 16-bit multiply-add), the vertical pass
//! eight samples a step, OpenCV's own SIMD arithmetic. Both give exactly
//! the portable loops' values; the unit tests compare them on random
//! rows, under AddressSanitizer in CI.

use core::arch::x86_64::*;

/// [`super::hpass`] for 3- and 4-channel rows: the first `n` pixels, each
/// loaded 4 bytes a tap and stored 4 lanes wide. The offsets never
/// decrease, so the last of them bounds them all: if it does not fit, the
/// kernel does nothing. Returns how many pixels it did (the caller does
/// the rest).
#[target_feature(enable = "sse2")]
pub(super) fn hpass<const CN: usize>(
    row: &[u8],
    ofs: &[(usize, usize)],
    w: &[[i32; 2]],
    d: &mut [i32],
    n: usize,
) -> usize {
    let fits = n <= ofs.len()
        && n <= w.len()
        && n.checked_sub(1).is_none_or(|last| {
            let (o0, o1) = ofs[last];
            o0.max(o1) + 4 <= row.len() && last * CN + 4 <= d.len()
        });
    if !fits {
        return 0;
    }
    let zero = _mm_setzero_si128();
    for i in 0..n {
        let (o0, o1) = ofs[i];
        let [a0, a1] = w[i];
        // SAFETY: `o0 + 4` and `o1 + 4` are at most `row.len()` and
        // `i * CN + 4` at most `d.len()`: so for pixel `n - 1` (checked
        // above) and the offsets grow with `i`; unaligned loads and
        // stores.
        unsafe {
            let s0 = _mm_loadu_si32(row.as_ptr().add(o0));
            let s1 = _mm_loadu_si32(row.as_ptr().add(o1));
            // (s0[c], s1[c]) as 16-bit pairs, times (a0, a1), summed.
            let pairs = _mm_unpacklo_epi8(_mm_unpacklo_epi8(s0, s1), zero);
            let weights = _mm_set1_epi32((a0 & 0xffff) | (a1 << 16));
            let sums = _mm_madd_epi16(pairs, weights);
            _mm_storeu_si128(d.as_mut_ptr().add(i * CN).cast(), sums);
        }
    }
    n
}

/// [`super::vpass`] eight samples a step: returns how many it did.
#[target_feature(enable = "sse2")]
pub(super) fn vpass(r0: &[i32], r1: &[i32], b0: i32, b1: i32, out: &mut [u8]) -> usize {
    let n = out.len().min(r0.len()).min(r1.len()) / 8 * 8;
    let (vb0, vb1) = (_mm_set1_epi16(b0 as i16), _mm_set1_epi16(b1 as i16));
    let two = _mm_set1_epi16(2);
    for x in (0..n).step_by(8) {
        // SAFETY: `x + 8 <= n`, which is at most each slice's length.
        unsafe {
            let v = _mm_adds_epi16(
                _mm_mulhi_epi16(load8(r0.as_ptr().add(x)), vb0),
                _mm_mulhi_epi16(load8(r1.as_ptr().add(x)), vb1),
            );
            let v = _mm_srai_epi16::<2>(_mm_adds_epi16(v, two));
            _mm_storel_epi64(out.as_mut_ptr().add(x).cast(), _mm_packus_epi16(v, v));
        }
    }
    n
}

/// Eight horizontal sums at `p`, four bits dropped, packed to 16 bits.
///
/// # Safety
///
/// `p` must be valid for reading 8 `i32`s.
#[target_feature(enable = "sse2")]
unsafe fn load8(p: *const i32) -> __m128i {
    let p = p.cast::<__m128i>();
    // SAFETY: the caller's 8 lanes, as two unaligned 4-lane loads.
    unsafe {
        _mm_packs_epi32(
            _mm_srai_epi32::<4>(_mm_loadu_si128(p)),
            _mm_srai_epi32::<4>(_mm_loadu_si128(p.add(1))),
        )
    }
}
