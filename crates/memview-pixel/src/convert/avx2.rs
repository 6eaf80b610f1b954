//! The YUV → RGB line kernel in AVX2, 32 pixels a step, for planar
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

/// [`lines()`] where the CPU has AVX2; 0 pixels done where it has not.
#[inline]
pub(super) fn try_lines<
    const N: usize,
    const CS: usize,
    const DS: usize,
    const R: usize,
    const G: usize,
    const B: usize,
>(
    ys: [&[u8]; N],
    us: &[u8],
    vs: &[u8],
    outs: [&mut [u8]; N],
    k: YuvCoeffs,
    width: usize,
) -> usize {
    if !available() {
        return 0;
    }
    // SAFETY: the CPU has AVX2, checked just above.
    unsafe { lines::<N, CS, DS, R, G, B>(ys, us, vs, outs, k, width) }
}

/// Interleaving 16 R, G, B bytes into 48 bytes of 3-byte pixels with
/// three shuffles and six blends (rather than nine shuffles): output byte
/// `i` of block `k` holds channel `(16k + i) % 3` of pixel `(16k + i) / 3`.
/// As 16 = 1 (mod 3), for each position `i` and channel `c` exactly one
/// block `k` wants channel `c` there, so one shuffle per channel serves
/// all three blocks (`ROT`), and block `k` takes byte `i` from the
/// shuffled channel `(k + i) % 3`: two blend masks (`SEL`: all ones where
/// `i % 3` is 1, resp. 2) serve every block, the shuffled channels taken
/// in rotated order.
const fn rgb24_tables() -> ([[u8; 16]; 3], [[u8; 16]; 2]) {
    let (mut rot, mut sel) = ([[0u8; 16]; 3], [[0u8; 16]; 2]);
    let mut i = 0;
    while i < 16 {
        let mut c = 0;
        while c < 3 {
            let k = (c + 3 - i % 3) % 3;
            rot[c][i] = ((16 * k + i) / 3) as u8;
            c += 1;
        }
        if i % 3 > 0 {
            sel[i % 3 - 1][i] = 0xff;
        }
        i += 1;
    }
    (rot, sel)
}

const RGB24: ([[u8; 16]; 3], [[u8; 16]; 2]) = rgb24_tables();

/// `_mm256_mulhi_epu16` as one `vpmulhuw` the compiler cannot see into.
/// Given a luma vector unpacked with itself (`y * 257`), LLVM rewrites the
/// intrinsic into a widening sequence (two zero-extends, an extract, two
/// multiplies, a pack and a permute: seven instructions, four of them
/// shuffles) that made the whole kernel a fifth slower.
///
/// # Safety
///
/// The CPU must have AVX2.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn mulhi_epu16(a: __m256i, b: __m256i) -> __m256i {
    let out: __m256i;
    // SAFETY: one AVX2 register-to-register instruction; no memory.
    unsafe {
        core::arch::asm!(
            "vpmulhuw {o}, {a}, {b}",
            o = lateout(ymm_reg) out,
            a = in(ymm_reg) a,
            b = in(ymm_reg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    out
}

/// Converts the longest prefix of `N` lines (one, or the two luma lines
/// of 4:2:0 that share a chroma line) that the kernel can take in whole
/// steps of 32 pixels and returns how many pixels of each it wrote (a
/// multiple of 32); the caller does the rest.
///
/// Each step keeps pixels 0-15 in the low 128-bit lane and 16-31 in the
/// high one, so every shuffle stays inside its lane: luma is widened (and
/// scaled by 257) by unpacking with itself, the chroma terms are computed
/// once per chroma sample (and once for all `N` lines) and repeated per
/// pixel by unpacking with themselves, and packing the two halves back to
/// bytes gives the pixels in order without a cross-lane permute.
///
/// `ys[i]`, `us`, `vs` start at line `i`'s first luma sample and the
/// chroma line's first U and V samples (U and V may be the same
/// interleaved row at different offsets); chroma sample `j` is at
/// `us[j * CS]`. `outs[i]` is line `i`'s destination, `DS` bytes per pixel
/// with channels at `R`, `G`, `B` (and alpha, for `DS` 4, at 3).
///
/// # Safety
///
/// The CPU must have AVX2 ([`available`]). Every load and store stays
/// within the slices (see `reach`).
#[target_feature(enable = "avx2")]
unsafe fn lines<
    const N: usize,
    const CS: usize,
    const DS: usize,
    const R: usize,
    const G: usize,
    const B: usize,
>(
    ys: [&[u8]; N],
    us: &[u8],
    vs: &[u8],
    mut outs: [&mut [u8]; N],
    k: YuvCoeffs,
    width: usize,
) -> usize {
    let yg = _mm256_set1_epi16(k.yg as i16);
    // The rounding 32 folded into the bias: no sum saturates for any
    // input (`convert::tests::folded_rounding_is_exact` checks all of
    // them), so `(y1 + c + 32) >> 6` is `((y1 + 32) + c) >> 6`.
    let y_bias = _mm256_set1_epi16(k.y_bias - 32);
    let (rv, gu, gv, bu) = (
        _mm256_set1_epi16(k.rv),
        _mm256_set1_epi16(k.gu),
        _mm256_set1_epi16(k.gv),
        _mm256_set1_epi16(k.bu),
    );
    let c128 = _mm256_set1_epi16(128);
    // SAFETY (the table loads): each row is 16 bytes, as loaded.
    let load16 =
        |t: &[u8; 16]| unsafe { _mm256_broadcastsi128_si256(_mm_loadu_si128(t.as_ptr().cast())) };
    let rot = RGB24.0.each_ref().map(load16);
    let sel = RGB24.1.each_ref().map(load16);
    // How far every slice reaches, in pixels: a step at an even `x` with
    // `x + 32 <= reach` reads and writes only bytes the slices hold (32
    // luma bytes from `x`, 16 chroma samples (`16 * CS` bytes) from `x / 2 * CS`, and
    // `32 * DS` bytes from `x * DS`).
    let reach = super::reach(&ys, &outs, us, vs, CS, DS, width);
    // One step of 32 pixels at an even `x` on every line, with
    // `x + 32 <= reach`.
    let step = |x: usize| {
        let c0 = x / 2 * CS;
        // SAFETY: `us` and `vs` hold `16 * CS` bytes from `c0` (`reach`);
        // unaligned loads need no alignment.
        let (tr, tg, tb) = unsafe {
            // The sixteen chroma samples widened to 16 bits, samples 0-7
            // in the low lane and 8-15 in the high one (planar: widened
            // bytes; interleaved: the low byte of each U-V or V-U pair).
            let (uw, vw) = if CS == 1 {
                (
                    _mm256_cvtepu8_epi16(_mm_loadu_si128(us.as_ptr().add(c0).cast())),
                    _mm256_cvtepu8_epi16(_mm_loadu_si128(vs.as_ptr().add(c0).cast())),
                )
            } else {
                let low = _mm256_set1_epi16(0xff);
                (
                    _mm256_and_si256(_mm256_loadu_si256(us.as_ptr().add(c0).cast()), low),
                    _mm256_and_si256(_mm256_loadu_si256(vs.as_ptr().add(c0).cast()), low),
                )
            };
            // The chroma terms once per sample (each serves two pixels,
            // on each of the lines): the same 16-bit products the
            // portable kernel forms per pixel.
            let (u, v) = (_mm256_sub_epi16(uw, c128), _mm256_sub_epi16(vw, c128));
            (
                _mm256_mullo_epi16(rv, v),
                _mm256_add_epi16(_mm256_mullo_epi16(gu, u), _mm256_mullo_epi16(gv, v)),
                _mm256_mullo_epi16(bu, u),
            )
        };
        // Each term unpacked with itself repeats it per pixel: `lo` for
        // pixels 0-7 and 16-23 (chroma samples 0-3 and 8-11), `hi` for
        // 8-15 and 24-31.
        let terms = [
            (
                _mm256_unpacklo_epi16(tr, tr),
                _mm256_unpacklo_epi16(tg, tg),
                _mm256_unpacklo_epi16(tb, tb),
            ),
            (
                _mm256_unpackhi_epi16(tr, tr),
                _mm256_unpackhi_epi16(tg, tg),
                _mm256_unpackhi_epi16(tb, tb),
            ),
        ];
        for (y32, o) in ys.iter().zip(outs.iter_mut()) {
            // SAFETY: `y32` holds 32 bytes from `x` and `o` holds
            // `32 * DS` from `x * DS` (`reach`); unaligned loads and stores
            // need no alignment.
            unsafe {
                let yv = _mm256_loadu_si256(y32.as_ptr().add(x).cast());
                let half = |h: usize| {
                    // y * 257, as the portable kernel's `u16::from(y) * 257`.
                    let y = if h == 0 {
                        _mm256_unpacklo_epi8(yv, yv)
                    } else {
                        _mm256_unpackhi_epi8(yv, yv)
                    };
                    let (r2, g2, b2) = terms[h];
                    let y1 = _mm256_sub_epi16(mulhi_epu16(y, yg), y_bias);
                    let r = _mm256_adds_epi16(y1, r2);
                    let g = _mm256_subs_epi16(y1, g2);
                    let b = _mm256_adds_epi16(y1, b2);
                    let s = |c: __m256i| _mm256_srai_epi16(c, 6);
                    (s(r), s(g), s(b))
                };
                let ((ra, ga, ba), (rb, gb, bb)) = (half(0), half(1));
                // Lane 0: pixels 0-15, lane 1: pixels 16-31.
                let (r8, g8, b8) = (
                    _mm256_packus_epi16(ra, rb),
                    _mm256_packus_epi16(ga, gb),
                    _mm256_packus_epi16(ba, bb),
                );
                let dst = o.as_mut_ptr().add(x * DS);
                store::<DS, R, G>(dst, [r8, g8, b8], &rot, &sel);
            }
        }
    };
    super::steps(reach, 32, step)
}

/// Writes 32 pixels from their R, G and B bytes (`rgb`, lane 0: pixels
/// 0-15, lane 1: 16-31) to `dst`, `DS` bytes each with red at `R` and
/// green at `G` (alpha 255 at 3 when `DS` is 4).
///
/// # Safety
///
/// The CPU must have AVX2, and `dst` must be valid for `32 * DS` bytes of
/// writes.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn store<const DS: usize, const R: usize, const G: usize>(
    dst: *mut u8,
    [r8, g8, b8]: [__m256i; 3],
    rot: &[__m256i; 3],
    sel: &[__m256i; 2],
) {
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
        // Per lane, blocks of 16 output bytes; then the lanes' blocks put
        // back in memory order.
        let v = [0, 1, 2].map(|c| _mm256_shuffle_epi8(by_pos(c), rot[c]));
        // Block `k` takes byte `i` from `v[(k + i) % 3]`.
        let [s1, s2] = *sel;
        let blk = [0, 1, 2].map(|k| {
            let pick = |j: usize| v[(k + j) % 3];
            _mm256_blendv_epi8(_mm256_blendv_epi8(pick(0), pick(1), s1), pick(2), s2)
        });
        let stores = [
            _mm256_permute2x128_si256(blk[0], blk[1], 0x20),
            _mm256_permute2x128_si256(blk[2], blk[0], 0x30),
            _mm256_permute2x128_si256(blk[1], blk[2], 0x31),
        ];
        for (i, st) in stores.into_iter().enumerate() {
            // SAFETY: within the caller's `32 * DS` bytes.
            unsafe { _mm256_storeu_si256(dst.add(32 * i).cast(), st) };
        }
    } else {
        let a = _mm256_set1_epi8(-1);
        let (p01_lo, p01_hi) = (
            _mm256_unpacklo_epi8(by_pos(0), by_pos(1)),
            _mm256_unpackhi_epi8(by_pos(0), by_pos(1)),
        );
        let (p23_lo, p23_hi) = (
            _mm256_unpacklo_epi8(by_pos(2), a),
            _mm256_unpackhi_epi8(by_pos(2), a),
        );
        // Pixels 0-3 | 16-19, 4-7 | 20-23, 8-11 | 24-27, 12-15 | 28-31.
        let q = [
            _mm256_unpacklo_epi16(p01_lo, p23_lo),
            _mm256_unpackhi_epi16(p01_lo, p23_lo),
            _mm256_unpacklo_epi16(p01_hi, p23_hi),
            _mm256_unpackhi_epi16(p01_hi, p23_hi),
        ];
        let stores = [
            _mm256_permute2x128_si256(q[0], q[1], 0x20),
            _mm256_permute2x128_si256(q[2], q[3], 0x20),
            _mm256_permute2x128_si256(q[0], q[1], 0x31),
            _mm256_permute2x128_si256(q[2], q[3], 0x31),
        ];
        for (i, st) in stores.into_iter().enumerate() {
            // SAFETY: within the caller's `32 * DS` bytes.
            unsafe { _mm256_storeu_si256(dst.add(32 * i).cast(), st) };
        }
    }
}
