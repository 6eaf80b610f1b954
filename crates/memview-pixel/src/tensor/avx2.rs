//! A resized RGB row into the tensor's three planes in AVX2, selected at
//! run time: sixteen pixels a step, each channel gathered from the
//! interleaved bytes with three byte shuffles, widened to `f32` and
//! normalised with the same `f32` operations as the portable loop (no
//! fused multiply-add), so both give the same bits; the unit tests compare
//! them, under AddressSanitizer in CI.

use core::arch::x86_64::*;

use super::Normalize;

/// Whether this CPU runs the kernel (`is_x86_feature_detected!` caches).
#[inline]
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx2")
}

/// Byte shuffles gathering channel `c` of sixteen 3-byte pixels from each
/// of the three 16-byte vectors that hold them (-1 leaves a zero).
const fn masks(c: usize) -> [[i8; 16]; 3] {
    let mut m = [[-1i8; 16]; 3];
    let mut j = 0;
    while j < 16 {
        let at = c + 3 * j;
        m[at / 16][j] = (at % 16) as i8;
        j += 1;
    }
    m
}

const MASKS: [[[i8; 16]; 3]; 3] = [masks(0), masks(1), masks(2)];

/// Channel `c` of the sixteen pixels in `v`.
#[inline]
#[target_feature(enable = "avx2")]
fn gather(v: [__m128i; 3], c: usize) -> __m128i {
    let m = &MASKS[c];
    // SAFETY: each mask is 16 bytes; unaligned loads.
    let m = unsafe {
        [
            _mm_loadu_si128(m[0].as_ptr().cast()),
            _mm_loadu_si128(m[1].as_ptr().cast()),
            _mm_loadu_si128(m[2].as_ptr().cast()),
        ]
    };
    _mm_or_si128(
        _mm_or_si128(_mm_shuffle_epi8(v[0], m[0]), _mm_shuffle_epi8(v[1], m[1])),
        _mm_shuffle_epi8(v[2], m[2]),
    )
}

/// The pixels both kernels do: whole steps of 16 that `src` and every
/// plane hold (none if a channel index is off).
fn whole_steps(src: &[u8], planes: [usize; 3], pick: [usize; 3]) -> usize {
    if pick.iter().any(|&c| c > 2) {
        return 0;
    }
    planes.into_iter().fold(src.len() / 3, usize::min) / 16 * 16
}

/// The 48 bytes (16 pixels) at `s`.
///
/// # Safety
///
/// `s` must be valid for reading 48 bytes; the CPU must have AVX2.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn load48(s: *const u8) -> [__m128i; 3] {
    // SAFETY: the caller's 48 bytes, as three unaligned loads.
    unsafe {
        [
            _mm_loadu_si128(s.cast()),
            _mm_loadu_si128(s.add(16).cast()),
            _mm_loadu_si128(s.add(32).cast()),
        ]
    }
}

/// Splits the first pixels of `src` (tight RGB, `n = src.len() / 3` of
/// them, as many as each of `planes` holds) into `planes`: plane `c` gets
/// source channel `pick[c]`, normalised with output channel `c`'s
/// constants. Returns how many pixels it did (a multiple of 16; the caller
/// does the rest).
///
/// # Safety
///
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn split_f32(
    src: &[u8],
    planes: [&mut [f32]; 3],
    pick: [usize; 3],
    norm: &Normalize,
) -> usize {
    let n = whole_steps(src, planes.each_ref().map(|p| p.len()), pick);
    // Per output channel, `(x - a) * b` or `(x / 255 - a) / b` or `x`.
    let (a, b, kind) = match *norm {
        Normalize::None => ([0.0; 3], [1.0; 3], 0),
        Normalize::MeanScale { mean, scale } => (mean, scale, 1),
        Normalize::MeanStd { mean, std } => (mean, std, 2),
    };
    let k255 = _mm256_set1_ps(255.0);
    let [p0, p1, p2] = planes;
    let out = [p0.as_mut_ptr(), p1.as_mut_ptr(), p2.as_mut_ptr()];
    for x in (0..n).step_by(16) {
        // SAFETY: pixels `x..x + 16` are below `n`: their 48 bytes are in
        // `src` and their 16 lanes in each plane; unaligned loads and
        // stores.
        unsafe {
            let v = load48(src.as_ptr().add(x * 3));
            for c in 0..3 {
                let bytes = gather(v, pick[c]);
                let (va, vb) = (_mm256_set1_ps(a[c]), _mm256_set1_ps(b[c]));
                for (half, bytes) in [bytes, _mm_srli_si128::<8>(bytes)].into_iter().enumerate() {
                    let f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
                    let f = match kind {
                        0 => f,
                        1 => _mm256_mul_ps(_mm256_sub_ps(f, va), vb),
                        _ => _mm256_div_ps(_mm256_sub_ps(_mm256_div_ps(f, k255), va), vb),
                    };
                    _mm256_storeu_ps(out[c].add(x + half * 8), f);
                }
            }
        }
    }
    n
}

/// [`split_f32`] for a `u8` tensor (no normalisation).
///
/// # Safety
///
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn split_u8(src: &[u8], planes: [&mut [u8]; 3], pick: [usize; 3]) -> usize {
    let n = whole_steps(src, planes.each_ref().map(|p| p.len()), pick);
    let [p0, p1, p2] = planes;
    let out = [p0.as_mut_ptr(), p1.as_mut_ptr(), p2.as_mut_ptr()];
    for x in (0..n).step_by(16) {
        // SAFETY: as in `split_f32`.
        unsafe {
            let v = load48(src.as_ptr().add(x * 3));
            for c in 0..3 {
                _mm_storeu_si128(out[c].add(x).cast(), gather(v, pick[c]));
            }
        }
    }
    n
}
