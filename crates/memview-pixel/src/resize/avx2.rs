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

/// The byte shuffle that takes two neighbouring `CN`-byte pixels, widened
/// to 16 bits, to each channel's two taps side by side (channel c of the
/// first, channel c of the second) for a 16-bit multiply-add; a 3-channel
/// pixel's fourth pair is zero.
#[inline]
#[target_feature(enable = "avx2")]
fn tap_pairs<const CN: usize>() -> __m128i {
    if CN == 3 {
        _mm_setr_epi8(0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11, -1, -1, -1, -1)
    } else {
        _mm_setr_epi8(0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15)
    }
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
    let pairs = tap_pairs::<CN>();
    let pairs2 = _mm256_broadcastsi128_si256(pairs);
    let (src, dst) = (row.as_ptr(), d.as_mut_ptr());
    let (ofs, w) = (&ofs[..n], &w[..n]);
    for (k, (o, ws)) in ofs.chunks_exact(2).zip(w.chunks_exact(2)).enumerate() {
        let i = 2 * k;
        // SAFETY: pixels `i` and `i + 1` are below `n`, so their 8-byte
        // loads end within `row` and their 4-lane stores within `d`
        // (checked above for pixel `n - 1`, and the offsets grow with the
        // index); `ws` is two weights, 32 bytes; unaligned loads and
        // stores.
        unsafe {
            let a = _mm_loadl_epi64(src.add(o[0].0).cast());
            let b = _mm_loadl_epi64(src.add(o[1].0).cast());
            let x = _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(a, b));
            let sums = _mm256_madd_epi16(
                _mm256_shuffle_epi8(x, pairs2),
                _mm256_loadu_si256(ws.as_ptr().cast()),
            );
            _mm_storeu_si128(dst.add(i * CN).cast(), _mm256_castsi256_si128(sums));
            _mm_storeu_si128(
                dst.add((i + 1) * CN).cast(),
                _mm256_extracti128_si256::<1>(sums),
            );
        }
    }
    if n % 2 == 1 {
        let i = n - 1;
        // SAFETY: as above, for the last pixel.
        unsafe {
            let x = _mm_cvtepu8_epi16(_mm_loadl_epi64(src.add(ofs[i].0).cast()));
            let sums = _mm_madd_epi16(
                _mm_shuffle_epi8(x, pairs),
                _mm_loadu_si128(w[i].as_ptr().cast()),
            );
            _mm_storeu_si128(dst.add(i * CN).cast(), sums);
        }
    }
    n
}

/// [`super::hpass`] for 3- and 4-channel rows two pixels a step with one
/// load: the 16 bytes at the first pixel's first tap, in both 128-bit
/// lanes, hold both pixels' taps ([`super::LinearAxis`] checked), and one
/// byte shuffle, one multiply-add and one 8-lane store do the pair
/// (`pairs[k]` is pair `k`'s shuffle and weights; a 3-channel pair's last
/// two lanes are zeros the next pair overwrites, or the row's slack).
/// Does the first `2 * pairs.len()` pixels if the last pair's load ends
/// within `row` and its store within `d` (the offsets never decrease, so
/// it bounds them all), else nothing. Returns how many pixels it did.
///
/// # Safety
///
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn hpass_pairs<const CN: usize>(
    row: &[u8],
    ofs: &[(usize, usize)],
    pairs: &[super::PairTaps],
    d: &mut [i32],
) -> usize {
    let k = pairs.len();
    let fits = 2 * k <= ofs.len()
        && k.checked_sub(1)
            .is_none_or(|last| ofs[2 * last].0 + 16 <= row.len() && 2 * last * CN + 8 <= d.len());
    if !fits || !(CN == 3 || CN == 4) {
        return 0;
    }
    let (src, dst) = (row.as_ptr(), d.as_mut_ptr());
    let (ofs, pairs) = (ofs.as_ptr(), pairs.as_ptr());
    for i in 0..k {
        // SAFETY: pair `i` is below `k`, so its offset and taps are in
        // `ofs` and `pairs` (checked above), its 16-byte load ends within
        // `row` and its 8-lane store within `d` (checked for pair
        // `k - 1`, and the offsets grow with the index); unaligned loads
        // and stores.
        unsafe {
            let t = &*pairs.add(i);
            let o = (*ofs.add(2 * i)).0;
            let x = _mm256_broadcastsi128_si256(_mm_loadu_si128(src.add(o).cast()));
            let sums = _mm256_madd_epi16(
                _mm256_shuffle_epi8(x, _mm256_load_si256(t.shuffle.as_ptr().cast())),
                _mm256_load_si256(t.weights.as_ptr().cast()),
            );
            _mm256_storeu_si256(dst.add(2 * i * CN).cast(), sums);
        }
    }
    2 * k
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

/// Pillow's horizontal pass ([`super::aa_row`]) for 3- and 4-channel rows,
/// two pixels a step, over the first `n` pixels: each pixel's taps taken
/// two at a time with one 8-byte load, the 22-bit weights split into
/// their high and low 11 bits (`w = hi * 2048 + lo`) so that 16-bit
/// multiply-adds give the same 32-bit sums. `first[i]` is pixel `i`'s
/// first tap (in bytes); `w[g * pairs + p]` holds tap pair `p`'s weights
/// packed two to a lane, four times: the low ones of pixel `2g` (lanes
/// 0-3) and `2g + 1` (4-7), then the high ones (8-11, 12-15). [`super::AntialiasAxis`]
/// checked that every load of these pixels ends within `row` and each
/// 4-byte store within `out`; the kernel checks pixel `n - 1` again.
/// Returns how many pixels it did.
///
/// # Safety
///
/// The CPU must have AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn aa_row<const CN: usize>(
    row: &[u8],
    first: &[usize],
    w: &[[i32; 16]],
    pairs: usize,
    out: &mut [u8],
    n: usize,
    one_load: usize,
) -> usize {
    let fits = n <= first.len()
        && n.div_ceil(2) * pairs <= w.len()
        && n.checked_sub(1).is_none_or(|last| {
            first[last] + (2 * pairs).saturating_sub(2) * CN + 8 <= row.len()
                && last * CN + 4 <= out.len()
        });
    if !fits || pairs == 0 || !(CN == 3 || CN == 4) {
        return 0;
    }
    // The leading pixels whose taps one 16-byte load holds (an even count,
    // so the rest starts on a weight group), then the rest.
    let m = one_load.min(n) / 2 * 2;
    let fits16 = pairs <= 3
        && m.checked_sub(1)
            .is_none_or(|last| first[last] + 16 <= row.len());
    let m = if fits16 { m } else { 0 };
    if m > 0 {
        match pairs {
            1 => aa_pixels16::<CN, 1>(row, &first[..m], w, out),
            2 => aa_pixels16::<CN, 2>(row, &first[..m], w, out),
            _ => aa_pixels16::<CN, 3>(row, &first[..m], w, out),
        }
    }
    let (w, out) = (&w[m / 2 * pairs..], &mut out[m * CN..]);
    // The usual tap counts as constants, so the tap loop unrolls.
    let rest = &first[m..n];
    match pairs {
        1 => aa_pixels::<CN>(row, rest, w, 1, out),
        2 => aa_pixels::<CN>(row, rest, w, 2, out),
        3 => aa_pixels::<CN>(row, rest, w, 3, out),
        4 => aa_pixels::<CN>(row, rest, w, 4, out),
        _ => aa_pixels::<CN>(row, rest, w, pairs, out),
    }
    n
}

/// The byte shuffles of [`aa_pixels16`]: for tap pair `p`, each 128-bit
/// lane's 16 bytes (a pixel's, from its first tap) to channel `c` of taps
/// `2p` and `2p + 1` widened to 16 bits side by side (16-bit lanes `2c`,
/// `2c + 1`); a channel past `CN` or a byte past the 16 is zero.
const fn aa_masks(cn: usize) -> [[u8; 32]; 3] {
    let mut m = [[0x80u8; 32]; 3];
    let mut p = 0;
    while p < 3 {
        let mut c = 0;
        while c < cn && c < 4 {
            let mut t = 0;
            while t < 2 {
                let at = (2 * p + t) * cn + c;
                if at < 16 {
                    m[p][4 * c + 2 * t] = at as u8;
                    m[p][16 + 4 * c + 2 * t] = at as u8;
                }
                t += 1;
            }
            c += 1;
        }
        p += 1;
    }
    m
}

const AA_MASKS: [[[u8; 32]; 3]; 2] = [aa_masks(3), aa_masks(4)];

/// [`aa_pixels`] where each pixel's taps lie in the 16 bytes from its
/// first one (the caller checked that those bytes are in `row`, and that
/// every tap past them has weight 0): one load per pixel, the two pixels
/// of a step in the two 128-bit lanes, and one shuffle per tap pair.
#[inline]
#[target_feature(enable = "avx2")]
fn aa_pixels16<const CN: usize, const PAIRS: usize>(
    row: &[u8],
    first: &[usize],
    w: &[[i32; 16]],
    out: &mut [u8],
) {
    let masks = &AA_MASKS[usize::from(CN == 4)];
    // SAFETY: each mask is 32 bytes; unaligned loads.
    let masks: [__m256i; PAIRS] =
        core::array::from_fn(|p| unsafe { _mm256_loadu_si256(masks[p].as_ptr().cast()) });
    let half = _mm256_set1_epi32(1 << (super::PRECISION_BITS - 1));
    let (src, dst) = (row.as_ptr(), out.as_mut_ptr());
    for (g, (fs, ws)) in first.chunks_exact(2).zip(w.chunks_exact(PAIRS)).enumerate() {
        let i = 2 * g;
        // SAFETY: both pixels' 16-byte loads end within `row` (the caller
        // checked the last pixel; the first taps grow with the index);
        // each `wp` is 16 lanes; unaligned loads.
        let (mut lo, mut hi) = unsafe {
            let v = _mm256_inserti128_si256::<1>(
                _mm256_castsi128_si256(_mm_loadu_si128(src.add(fs[0]).cast())),
                _mm_loadu_si128(src.add(fs[1]).cast()),
            );
            let (mut lo, mut hi) = (_mm256_setzero_si256(), _mm256_setzero_si256());
            for (p, wp) in ws.iter().enumerate() {
                let x = _mm256_shuffle_epi8(v, masks[p]);
                let wl = _mm256_loadu_si256(wp.as_ptr().cast());
                let wh = _mm256_loadu_si256(wp.as_ptr().add(8).cast());
                lo = _mm256_add_epi32(lo, _mm256_madd_epi16(x, wl));
                hi = _mm256_add_epi32(hi, _mm256_madd_epi16(x, wh));
            }
            (lo, hi)
        };
        // As in `aa_pixels`.
        lo = _mm256_add_epi32(_mm256_add_epi32(_mm256_slli_epi32::<11>(hi), lo), half);
        hi = _mm256_srai_epi32::<{ super::PRECISION_BITS as i32 }>(lo);
        let b = _mm256_packus_epi16(_mm256_packus_epi32(hi, hi), _mm256_setzero_si256());
        // SAFETY: each pixel's 4-byte store ends within `out` (`aa_row`
        // checked the last pixel of the row); the fourth byte is the next
        // pixel's first, rewritten after.
        unsafe {
            dst.add(i * CN)
                .cast::<i32>()
                .write_unaligned(_mm256_extract_epi32::<0>(b));
            dst.add((i + 1) * CN)
                .cast::<i32>()
                .write_unaligned(_mm256_extract_epi32::<4>(b));
        }
    }
}

/// [`super::aa_column`] compiled for AVX2 (the compiler vectorises its
/// loops eight lanes wide; the same integer arithmetic).
#[target_feature(enable = "avx2")]
pub(super) fn aa_column(rows: &[u8], line: usize, k: &[i32], acc: &mut [u32], out: &mut [u8]) {
    super::aa_column(rows, line, k, acc, out);
}

/// [`aa_row`]'s loop over the pixels of `first`, whose bounds it checked
/// (inlined there, each tap count its own copy).
#[inline]
#[target_feature(enable = "avx2")]
fn aa_pixels<const CN: usize>(
    row: &[u8],
    first: &[usize],
    w: &[[i32; 16]],
    pairs: usize,
    out: &mut [u8],
) {
    let shuffle = _mm256_broadcastsi128_si256(tap_pairs::<CN>());
    let half = _mm256_set1_epi32(1 << (super::PRECISION_BITS - 1));
    let (src, dst) = (row.as_ptr(), out.as_mut_ptr());
    for (g, (fs, ws)) in first.chunks(2).zip(w.chunks_exact(pairs)).enumerate() {
        let i = 2 * g;
        // The step's second pixel, or the first again (its result then
        // not stored).
        let (fi, fj) = (fs[0], fs.get(1).copied().unwrap_or(fs[0]));
        let (mut lo, mut hi) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        for (p, wp) in ws.iter().enumerate() {
            // SAFETY: both pixels' taps' 8-byte loads end within `row`
            // (`aa_row` checked the last pixel; the first taps grow with
            // the index); `wp` is 16 lanes.
            unsafe {
                let a = _mm_loadl_epi64(src.add(fi + 2 * p * CN).cast());
                let b = _mm_loadl_epi64(src.add(fj + 2 * p * CN).cast());
                let x =
                    _mm256_shuffle_epi8(_mm256_cvtepu8_epi16(_mm_unpacklo_epi64(a, b)), shuffle);
                let wl = _mm256_loadu_si256(wp.as_ptr().cast());
                let wh = _mm256_loadu_si256(wp.as_ptr().add(8).cast());
                lo = _mm256_add_epi32(lo, _mm256_madd_epi16(x, wl));
                hi = _mm256_add_epi32(hi, _mm256_madd_epi16(x, wh));
            }
        }
        // hi * 2048 + lo + half, wrapping as Pillow's 32-bit sums do, then
        // shifted down and clamped to 0..=255 by the saturating packs.
        let s = _mm256_add_epi32(_mm256_add_epi32(_mm256_slli_epi32::<11>(hi), lo), half);
        let s = _mm256_srai_epi32::<{ super::PRECISION_BITS as i32 }>(s);
        let b = _mm256_packus_epi16(_mm256_packus_epi32(s, s), _mm256_setzero_si256());
        // SAFETY: each pixel's 4-byte store ends within `out` (`aa_row`
        // checked the last pixel); the fourth byte is the next pixel's
        // first (or the slack byte), rewritten after.
        unsafe {
            dst.add(i * CN)
                .cast::<i32>()
                .write_unaligned(_mm256_extract_epi32::<0>(b));
            if fs.len() == 2 {
                dst.add((i + 1) * CN)
                    .cast::<i32>()
                    .write_unaligned(_mm256_extract_epi32::<4>(b));
            }
        }
    }
}
