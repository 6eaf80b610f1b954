//! The YUV → RGB24 / BGR24 line kernel in AVX-512 (BW and VBMI), 64
//! pixels a step: the AVX2 kernel's 16-bit arithmetic (`yuv16`) lane for
//! lane on registers twice as wide, and the 3-byte interleave done by
//! VBMI's byte permutes (two per 64 output bytes) rather than shuffles and
//! blends. Selected at run time when the CPU has both extensions; the
//! tests compare it with the portable kernel on random frames.

use core::arch::x86_64::*;

use super::YuvCoeffs;

/// Set by [`super::use_avx512`]: the kernel is skipped (the AVX2 one
/// does its work), for tests and measurements of the AVX2 kernel on
/// AVX-512 machines.
pub(super) static OFF: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Whether this CPU runs the kernel (`is_x86_feature_detected!` caches).
fn available() -> bool {
    !OFF.load(core::sync::atomic::Ordering::Relaxed)
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vbmi")
}

/// [`lines()`] where the CPU has AVX-512 BW and VBMI and the destination
/// is 3 bytes a pixel; 0 pixels done otherwise.
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
    if DS != 3 || !available() {
        return 0;
    }
    // SAFETY: the CPU has AVX-512 BW and VBMI, checked just above.
    unsafe { lines::<N, CS, R>(ys, us, vs, outs, k, width) }
}

/// The byte permutes of the 3-byte interleave, for the channel order with
/// red at byte `r` of a pixel (0 or 2; green is always 1): for output
/// block `k` of 64 bytes, `rg[k]` picks each byte from the red (index
/// below 64) or green (64 and up) register, and `b[k]`/`bmask[k]` put the
/// blue bytes over it.
const fn interleave(r: usize) -> ([[u8; 64]; 3], [[u8; 64]; 3], [u64; 3]) {
    let (mut rg, mut b, mut bmask) = ([[0u8; 64]; 3], [[0u8; 64]; 3], [0u64; 3]);
    let mut k = 0;
    while k < 3 {
        let mut j = 0;
        while j < 64 {
            let (p, c) = ((64 * k + j) / 3, (64 * k + j) % 3);
            if c == 1 {
                rg[k][j] = 64 + p as u8;
            } else if c == r {
                rg[k][j] = p as u8;
            } else {
                b[k][j] = p as u8;
                bmask[k] |= 1 << j;
            }
            j += 1;
        }
        k += 1;
    }
    (rg, b, bmask)
}

const RGB: ([[u8; 64]; 3], [[u8; 64]; 3], [u64; 3]) = interleave(0);
const BGR: ([[u8; 64]; 3], [[u8; 64]; 3], [u64; 3]) = interleave(2);

/// Chroma shuffles: `[step][half]`, per 128-bit lane, as in the AVX2
/// kernel. Planar chroma arrives as 32 samples arranged so lane `L` holds
/// samples `16 * (L / 2)` onwards; each lane picks its eight from there
/// (`8 * (L % 2)` in), repeated for two pixels and widened to 16 bits
/// (0x80 writes a zero byte). Interleaved chroma (NV12) holds each lane's
/// own eight pairs.
const fn chroma_masks() -> [[[u8; 64]; 2]; 2] {
    let mut m = [[[0x80u8; 64]; 2]; 2];
    let mut step = 0;
    while step < 2 {
        let mut half = 0;
        while half < 2 {
            let mut lane = 0;
            while lane < 4 {
                let mut i = 0;
                while i < 8 {
                    let sample = if step == 0 {
                        8 * (lane % 2) + 4 * half + i / 2
                    } else {
                        2 * (4 * half + i / 2)
                    };
                    m[step][half][16 * lane + 2 * i] = sample as u8;
                    i += 1;
                }
                lane += 1;
            }
            half += 1;
        }
        step += 1;
    }
    m
}

const CHROMA: [[[u8; 64]; 2]; 2] = chroma_masks();

/// `_mm512_mulhi_epu16` as one `vpmulhuw` the compiler cannot see into:
/// as in the AVX2 kernel, LLVM rewrites the intrinsic on luma unpacked
/// with itself into a widening sequence several times as long.
///
/// # Safety
///
/// The CPU must have AVX-512BW.
#[inline]
#[target_feature(enable = "avx512bw,avx512vbmi")]
unsafe fn mulhi_epu16(a: __m512i, b: __m512i) -> __m512i {
    let out: __m512i;
    // SAFETY: one AVX-512 register-to-register instruction; no memory.
    unsafe {
        core::arch::asm!(
            "vpmulhuw {o}, {a}, {b}",
            o = lateout(zmm_reg) out,
            a = in(zmm_reg) a,
            b = in(zmm_reg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    out
}

/// Converts the longest prefix of `N` lines (one, or the two luma lines
/// of 4:2:0 that share a chroma line) that the kernel can take in whole
/// steps of 64 pixels into 3-byte pixels (red at byte `R`, 0 or 2) and
/// returns how many pixels of each it wrote; the caller does the rest.
/// Lane `L` of each register holds pixels `16L` to `16L + 15`, so every
/// shuffle and pack stays in its lane, as in the AVX2 kernel; the chroma
/// terms are formed once for all `N` lines.
///
/// # Safety
///
/// The CPU must have AVX-512 BW and VBMI ([`available`]). Every load and
/// store stays within the slices (see `reach`).
#[target_feature(enable = "avx512bw,avx512vbmi")]
unsafe fn lines<const N: usize, const CS: usize, const R: usize>(
    ys: [&[u8]; N],
    us: &[u8],
    vs: &[u8],
    mut outs: [&mut [u8]; N],
    k: YuvCoeffs,
    width: usize,
) -> usize {
    let yg = _mm512_set1_epi16(k.yg as i16);
    // The rounding 32 folded into the bias: no sum saturates for any
    // input (`convert::tests::folded_rounding_is_exact` checks all of
    // them), so `(y1 + c + 32) >> 6` is `((y1 + 32) + c) >> 6`.
    let y_bias = _mm512_set1_epi16(k.y_bias - 32);
    let (rv, gu, gv, bu) = (
        _mm512_set1_epi16(k.rv),
        _mm512_set1_epi16(k.gu),
        _mm512_set1_epi16(k.gv),
        _mm512_set1_epi16(k.bu),
    );
    let c128 = _mm512_set1_epi16(128);
    // SAFETY (the table loads): each table row is 64 bytes, as loaded.
    let load64 = |t: &[u8; 64]| unsafe { _mm512_loadu_si512(t.as_ptr().cast()) };
    let cm = CHROMA[usize::from(CS == 2)].each_ref().map(load64);
    let tables = if R == 0 { &RGB } else { &BGR };
    let rg = tables.0.each_ref().map(load64);
    let bl = tables.1.each_ref().map(load64);
    let bmask = tables.2;
    // How far every slice reaches, in pixels: a step at an even `x` with
    // `x + 64 <= reach` reads and writes only bytes the slices hold (64
    // luma bytes from `x`, 32 chroma samples (`32 * CS` bytes) from
    // `x / 2 * CS`, and 192 bytes from `3 * x`).
    let reach = super::reach(&ys, &outs, us, vs, CS, 3, width);
    // One step of 64 pixels at an even `x` on every line, with
    // `x + 64 <= reach`.
    let step = |x: usize| {
        let c0 = x / 2 * CS;
        // SAFETY: `us` and `vs` hold `32 * CS` bytes from `c0` (`reach`);
        // unaligned loads need no alignment.
        let (uc, vc) = unsafe {
            if CS == 1 {
                // Lanes: samples 0-15, 0-15, 16-31, 16-31.
                let spread = |p: *const u8| {
                    let c = _mm512_castsi256_si512(_mm256_loadu_si256(p.cast()));
                    _mm512_shuffle_i64x2::<0x50>(c, c)
                };
                (spread(us.as_ptr().add(c0)), spread(vs.as_ptr().add(c0)))
            } else {
                (
                    _mm512_loadu_si512(us.as_ptr().add(c0).cast()),
                    _mm512_loadu_si512(vs.as_ptr().add(c0).cast()),
                )
            }
        };
        // The chroma terms of each half (pixels 0-7 of each lane, or
        // 8-15), each sample repeated for its two pixels.
        let term = |h: usize| {
            let u = _mm512_sub_epi16(_mm512_shuffle_epi8(uc, cm[h]), c128);
            let v = _mm512_sub_epi16(_mm512_shuffle_epi8(vc, cm[h]), c128);
            (
                _mm512_mullo_epi16(rv, v),
                _mm512_add_epi16(_mm512_mullo_epi16(gu, u), _mm512_mullo_epi16(gv, v)),
                _mm512_mullo_epi16(bu, u),
            )
        };
        let terms = [term(0), term(1)];
        for (y64, o) in ys.iter().zip(outs.iter_mut()) {
            // SAFETY: `y64` holds 64 bytes from `x` and `o` 192 from
            // `3 * x` (`reach`); unaligned loads and stores need no
            // alignment.
            unsafe {
                let yv = _mm512_loadu_si512(y64.as_ptr().add(x).cast());
                let half = |h: usize| {
                    let y = if h == 0 {
                        _mm512_unpacklo_epi8(yv, yv)
                    } else {
                        _mm512_unpackhi_epi8(yv, yv)
                    };
                    let (tr, tg, tb) = terms[h];
                    let y1 = _mm512_sub_epi16(mulhi_epu16(y, yg), y_bias);
                    let r = _mm512_adds_epi16(y1, tr);
                    let g = _mm512_subs_epi16(y1, tg);
                    let b = _mm512_adds_epi16(y1, tb);
                    let s = |c: __m512i| _mm512_srai_epi16::<6>(c);
                    (s(r), s(g), s(b))
                };
                let ((ra, ga, ba), (rb, gb, bb)) = (half(0), half(1));
                // Red, green and blue of pixels 0-63, in order.
                let (r8, g8, b8) = (
                    _mm512_packus_epi16(ra, rb),
                    _mm512_packus_epi16(ga, gb),
                    _mm512_packus_epi16(ba, bb),
                );
                let dst = o.as_mut_ptr().add(3 * x);
                for i in 0..3 {
                    let t = _mm512_permutex2var_epi8(r8, rg[i], g8);
                    let block = _mm512_mask_permutexvar_epi8(t, bmask[i], bl[i], b8);
                    _mm512_storeu_si512(dst.add(64 * i).cast(), block);
                }
            }
        }
    };
    super::steps(reach, 64, step)
}
