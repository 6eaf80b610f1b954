//! The YUV → RGB line kernel in AVX2, sixteen pixels a step, for planar
//! and semi-planar 8-bit 4:2:0 / 4:2:2 sources (luma step 1, chroma step
//! 1 or 2). It does exactly the portable kernel's 16-bit arithmetic
//! (`yuv16`), lane for lane, so both give the same bytes; the tests
//! compare them on random frames. Selected at run time when the CPU has
//! AVX2.

use core::arch::x86_64::*;

use super::YuvCoeffs;

/// Whether this CPU runs the kernel (`is_x86_feature_detected!` caches).
fn available() -> bool {
    is_x86_feature_detected!("avx2")
}

/// [`line`] where the CPU has AVX2; 0 pixels done where it has not.
#[inline]
pub(super) fn try_line<
    const CS: usize,
    const DS: usize,
    const R: usize,
    const G: usize,
    const B: usize,
>(
    ys: &[u8],
    us: &[u8],
    vs: &[u8],
    out: &mut [u8],
    k: YuvCoeffs,
    width: usize,
) -> usize {
    if !available() {
        return 0;
    }
    // SAFETY: the CPU has AVX2, checked just above.
    unsafe { line::<CS, DS, R, G, B>(ys, us, vs, out, k, width) }
}

/// Interleaving 16 R, G, B bytes into 48 bytes of 3-byte pixels with
/// three shuffles and six blends (rather than nine shuffles): output byte
/// `i` of block `k` holds channel `(16k + i) % 3` of pixel `(16k + i) / 3`.
/// As 16 = 1 (mod 3), for each position `i` and channel `c` exactly one
/// block `k` wants channel `c` there, so one shuffle per channel serves
/// all three blocks (`ROT`), and per block two blends pick the channel
/// (`SEL`: all ones where channel 1, resp. 2, goes).
const fn rgb24_tables() -> ([[u8; 16]; 3], [[[u8; 16]; 2]; 3]) {
    let (mut rot, mut sel) = ([[0u8; 16]; 3], [[[0u8; 16]; 2]; 3]);
    let mut i = 0;
    while i < 16 {
        let mut c = 0;
        while c < 3 {
            let k = (c + 3 - i % 3) % 3;
            rot[c][i] = ((16 * k + i) / 3) as u8;
            c += 1;
        }
        let mut k = 0;
        while k < 3 {
            let c = (16 * k + i) % 3;
            if c > 0 {
                sel[k][c - 1][i] = 0xff;
            }
            k += 1;
        }
        i += 1;
    }
    (rot, sel)
}

const RGB24: ([[u8; 16]; 3], [[[u8; 16]; 2]; 3]) = rgb24_tables();

/// Picks bytes 0, 2, 4, ... 14 into the low eight.
const EVEN: [u8; 16] = [
    0, 2, 4, 6, 8, 10, 12, 14, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
];

/// Converts the longest prefix of the line that the kernel can take in
/// whole steps of sixteen pixels and returns how many pixels it wrote (a
/// multiple of 16); the caller does the rest.
///
/// `ys`, `us`, `vs` start at the line's first luma, U and V samples (U and
/// V may be the same interleaved row at different offsets); chroma sample
/// `j` is at `us[j * CS]`. `out` is the destination line, `DS` bytes per
/// pixel with channels at `R`, `G`, `B` (and alpha, for `DS` 4, at 3).
///
/// # Safety
///
/// The CPU must have AVX2 ([`available`]). Every load and store goes
/// through a slice checked to hold the bytes it touches.
#[target_feature(enable = "avx2")]
unsafe fn line<const CS: usize, const DS: usize, const R: usize, const G: usize, const B: usize>(
    ys: &[u8],
    us: &[u8],
    vs: &[u8],
    out: &mut [u8],
    k: YuvCoeffs,
    width: usize,
) -> usize {
    let yg = _mm256_set1_epi16(k.yg as i16);
    let y_bias = _mm256_set1_epi16(k.y_bias);
    let (rv, gu, gv, bu) = (
        _mm256_set1_epi16(k.rv),
        _mm256_set1_epi16(k.gu),
        _mm256_set1_epi16(k.gv),
        _mm256_set1_epi16(k.bu),
    );
    let c128 = _mm256_set1_epi16(128);
    let c257 = _mm256_set1_epi16(257);
    let c32 = _mm256_set1_epi16(32);
    // SAFETY (all loads of constants below): each array is 16 bytes.
    let even = unsafe { _mm_loadu_si128(EVEN.as_ptr().cast()) };
    // SAFETY: each table row is 16 bytes.
    let load = |t: &[u8; 16]| unsafe { _mm_loadu_si128(t.as_ptr().cast()) };
    let rot = RGB24.0.each_ref().map(load);
    let sel = RGB24.1.each_ref().map(|b| b.each_ref().map(load));
    // What a chroma load reads: 8 samples, 16 bytes when interleaved.
    let cbytes = if CS == 1 { 8 } else { 16 };
    let mut x = 0;
    while x + 16 <= width {
        let c0 = x / 2 * CS;
        let (Some(y16), Some(u_in), Some(v_in), Some(o)) = (
            ys.get(x..x + 16),
            us.get(c0..c0 + cbytes),
            vs.get(c0..c0 + cbytes),
            out.get_mut(x * DS..(x + 16) * DS),
        ) else {
            break;
        };
        // SAFETY: every pointer below comes from a slice just checked to
        // hold the bytes read or written (16 luma, `cbytes` chroma,
        // `16 * DS` out); unaligned loads and stores need no alignment.
        unsafe {
            let yv = _mm_loadu_si128(y16.as_ptr().cast());
            let (u8s, v8s) = if CS == 1 {
                (
                    _mm_loadl_epi64(u_in.as_ptr().cast()),
                    _mm_loadl_epi64(v_in.as_ptr().cast()),
                )
            } else {
                (
                    _mm_shuffle_epi8(_mm_loadu_si128(u_in.as_ptr().cast()), even),
                    _mm_shuffle_epi8(_mm_loadu_si128(v_in.as_ptr().cast()), even),
                )
            };
            // Each chroma sample serves two pixels.
            let u = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_unpacklo_epi8(u8s, u8s)), c128);
            let v = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_unpacklo_epi8(v8s, v8s)), c128);
            let y = _mm256_mullo_epi16(_mm256_cvtepu8_epi16(yv), c257);
            let y1 = _mm256_sub_epi16(_mm256_mulhi_epu16(y, yg), y_bias);
            let r = _mm256_adds_epi16(y1, _mm256_mullo_epi16(rv, v));
            let g = _mm256_subs_epi16(
                y1,
                _mm256_add_epi16(_mm256_mullo_epi16(gu, u), _mm256_mullo_epi16(gv, v)),
            );
            let b = _mm256_adds_epi16(y1, _mm256_mullo_epi16(bu, u));
            let to8 = |c: __m256i| {
                let s = _mm256_srai_epi16(_mm256_adds_epi16(c, c32), 6);
                _mm_packus_epi16(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1))
            };
            let (r8, g8, b8) = (to8(r), to8(g), to8(b));
            // The channels by their position in a pixel.
            let by_pos = |p: usize| {
                if p == R {
                    r8
                } else if p == G {
                    g8
                } else {
                    b8
                }
            };
            if DS == 3 {
                let v = [0, 1, 2].map(|c| _mm_shuffle_epi8(by_pos(c), rot[c]));
                for (blk, [s1, s2]) in sel.iter().enumerate() {
                    let px = _mm_blendv_epi8(_mm_blendv_epi8(v[0], v[1], *s1), v[2], *s2);
                    _mm_storeu_si128(o.as_mut_ptr().add(16 * blk).cast(), px);
                }
            } else {
                let a = _mm_set1_epi8(-1);
                let (p01_lo, p01_hi) = (
                    _mm_unpacklo_epi8(by_pos(0), by_pos(1)),
                    _mm_unpackhi_epi8(by_pos(0), by_pos(1)),
                );
                let (p23_lo, p23_hi) = (
                    _mm_unpacklo_epi8(by_pos(2), a),
                    _mm_unpackhi_epi8(by_pos(2), a),
                );
                let quads = [
                    _mm_unpacklo_epi16(p01_lo, p23_lo),
                    _mm_unpackhi_epi16(p01_lo, p23_lo),
                    _mm_unpacklo_epi16(p01_hi, p23_hi),
                    _mm_unpackhi_epi16(p01_hi, p23_hi),
                ];
                for (i, q) in quads.into_iter().enumerate() {
                    _mm_storeu_si128(o.as_mut_ptr().add(16 * i).cast(), q);
                }
            }
        }
        x += 16;
    }
    x
}
