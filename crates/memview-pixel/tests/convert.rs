//! Colour conversion against FFmpeg's swscale.
//!
//! Reference: ffmpeg converts the same testsrc2 frame with
//! `scale=in_color_matrix=M:in_range=R:flags=FLAGS,format=DST`. The
//! tolerance held is stated in `TOLERANCE`.

use memview_pixel::convert::{rgb_to_gray, yuv_to_rgb, yuv_to_rgb_par, Matrix, Range};
use memview_pixel::format::{BGRA, GRAY8, I420, NV12, RGB24, RGBA, YUYV};
use memview_pixel::{Frame, FrameLayout, FrameMut, PixelFormat};
use memview_testkit::ffmpeg;

/// swscale flags of the reference: `bitexact`, which keeps swscale on its
/// C yuv2rgb path (chroma repeated, like ours, not interpolated; tables of
/// limited precision). `accurate_rnd` would switch to a path that
/// interpolates chroma vertically.
const FLAGS: &str = "bitexact";
/// Largest difference per channel allowed from swscale: its tables round
/// differently from our 16-bit fixed point.
const TOLERANCE: u8 = 3;

fn source(pix: &str, w: usize, h: usize, range: &str) -> Option<Vec<u8>> {
    crate::ffmpeg::testsrc2(w, h, &format!("scale=out_range={range},format={pix}"))
}

fn swscale(src: &[u8], from: &str, to: &str, w: usize, h: usize, vf: &str) -> Option<Vec<u8>> {
    let dir = std::env::temp_dir().join(format!(
        "memview-conv-{}-{from}-{to}.raw",
        std::process::id()
    ));
    std::fs::write(&dir, src).unwrap();
    let size = format!("{w}x{h}");
    let path = dir.to_str().unwrap().to_owned();
    let out = ffmpeg(&[
        "-f", "rawvideo", "-pix_fmt", from, "-s", &size, "-i", &path, "-vf", vf, "-f", "rawvideo",
        "-pix_fmt", to, "-",
    ]);
    let _ = std::fs::remove_file(&dir);
    out
}

fn max_diff(a: &[u8], b: &[u8]) -> (u8, usize) {
    assert_eq!(a.len(), b.len());
    let mut worst = 0;
    let mut over = 0;
    for (x, y) in a.iter().zip(b) {
        let d = x.abs_diff(*y);
        worst = worst.max(d);
        over += usize::from(d > 1);
    }
    (worst, over)
}

#[test]
fn yuv_to_rgb_matches_swscale() {
    let (w, h) = (320, 240);
    let mut checked = 0;
    for src_f in [&I420, &NV12, &YUYV] {
        for dst_f in [&RGB24, &RGBA, &BGRA] {
            for (m, mname) in [(Matrix::Bt601, "bt601"), (Matrix::Bt709, "bt709")] {
                for (r, rname) in [(Range::Limited, "tv"), (Range::Full, "pc")] {
                    let ff_src = src_f.ffmpeg.unwrap();
                    let Some(yuv) = source(ff_src, w, h, rname) else {
                        return;
                    };
                    // swscale's repeating path takes planar input only:
                    // repack NV12 and YUYV first (lossless).
                    let planar = if src_f.log2_chroma_h == 1 {
                        "yuv420p"
                    } else {
                        "yuv422p"
                    };
                    let vf = format!("format={planar},scale=in_color_matrix={mname}:in_range={rname}:flags={FLAGS}");
                    let Some(want) = swscale(&yuv, ff_src, dst_f.ffmpeg.unwrap(), w, h, &vf) else {
                        return;
                    };
                    let li = FrameLayout::tight(src_f, w, h).unwrap();
                    let lo = FrameLayout::tight(dst_f, w, h).unwrap();
                    let mut got = vec![0u8; lo.len()];
                    let src = Frame::from_bytes(&yuv, &li).unwrap();
                    yuv_to_rgb(
                        &src,
                        &mut FrameMut::from_bytes(&mut got, &lo).unwrap(),
                        m,
                        r,
                    )
                    .unwrap();
                    let (worst, over) = max_diff(&got, &want);
                    eprintln!("{} -> {} {mname} {rname}: max diff {worst}, {over} samples off by more than 1", src_f.name, dst_f.name);
                    assert!(
                        worst <= TOLERANCE,
                        "{} -> {} {mname} {rname}: max diff {worst}",
                        src_f.name,
                        dst_f.name
                    );
                    // The parallel version is the same computation.
                    let mut par = vec![0u8; lo.len()];
                    yuv_to_rgb_par(
                        &src,
                        &mut FrameMut::from_bytes(&mut par, &lo).unwrap(),
                        m,
                        r,
                    )
                    .unwrap();
                    assert!(par == got);
                    checked += 1;
                }
            }
        }
    }
    eprintln!("swscale conversion differential: {checked} combinations");
}

#[test]
fn rgb_to_gray_matches_swscale() {
    let (w, h) = (320, 240);
    let Some(rgb) = source("rgb24", w, h, "pc") else {
        return;
    };
    let Some(want) = swscale(&rgb, "rgb24", "gray", w, h, &format!("scale=flags={FLAGS}")) else {
        return;
    };
    let li = FrameLayout::tight(&RGB24, w, h).unwrap();
    let lo = FrameLayout::tight(&GRAY8, w, h).unwrap();
    let mut got = vec![0u8; lo.len()];
    rgb_to_gray(
        &Frame::from_bytes(&rgb, &li).unwrap(),
        &mut FrameMut::from_bytes(&mut got, &lo).unwrap(),
        Matrix::Bt601,
        Range::Full,
    )
    .unwrap();
    let (worst, over) = max_diff(&got, &want);
    eprintln!("rgb24 -> gray (bt601, full range): max diff {worst}, {over} off by more than 1");
    assert!(worst <= TOLERANCE);
}

#[test]
fn unsupported_pairs_are_errors() {
    let l = FrameLayout::tight(&RGB24, 4, 4).unwrap();
    let d = vec![0u8; l.len()];
    let mut o = vec![0u8; l.len()];
    let f = Frame::from_bytes(&d, &l).unwrap();
    let err = yuv_to_rgb(
        &f,
        &mut FrameMut::from_bytes(&mut o, &l).unwrap(),
        Matrix::Bt601,
        Range::Full,
    );
    assert!(err.is_err());
    let _: &PixelFormat = &GRAY8;
}

/// The SIMD kernels (AVX2 where the CPU has it) give the portable kernel's
/// bytes exactly: random frames of every convertible format, sizes with
/// odd widths and tails shorter than a SIMD step, padded lines, both
/// matrices and ranges, every destination order.
#[test]
fn simd_kernels_equal_the_portable_kernel_byte_for_byte() {
    use memview_pixel::convert::yuv_to_rgb_portable;
    use memview_pixel::format::{BGR24, I422, NV21, UYVY, YV12};
    let mut rng = memview_testkit::Rng::new(7);
    let sources: [&'static PixelFormat; 7] = [&I420, &YV12, &NV12, &NV21, &I422, &YUYV, &UYVY];
    let dests: [&'static PixelFormat; 4] = [&RGB24, &BGR24, &RGBA, &BGRA];
    let mut cases = 0;
    for &(w, h) in &[
        (1, 1),
        (15, 3),
        (16, 2),
        (17, 5),
        (33, 4),
        (45, 3),
        (64, 2),
        (70, 2),
        (100, 3),
        (130, 2),
        (250, 7),
        (641, 3),
        (1920, 2),
    ] {
        for sf in sources {
            for df in dests {
                let align = [1usize, 32, 64][rng.below(3)];
                let li = FrameLayout::aligned(sf, w, h, align).unwrap();
                let lo = FrameLayout::tight(df, w, h).unwrap();
                let src: Vec<u8> = (0..li.len()).map(|_| rng.next_u64() as u8).collect();
                let frame = Frame::from_bytes(&src, &li).unwrap();
                for m in [Matrix::Bt601, Matrix::Bt709] {
                    for r in [Range::Limited, Range::Full] {
                        let (mut a, mut b) = (vec![0u8; lo.len()], vec![1u8; lo.len()]);
                        // Every other case with AVX-512 off, so the AVX2
                        // kernel meets every shape on AVX-512 machines too
                        // (harmless to tests running beside: every kernel
                        // gives the same bytes).
                        memview_pixel::convert::use_avx512(cases % 2 == 0);
                        yuv_to_rgb(
                            &frame,
                            &mut FrameMut::from_bytes(&mut a, &lo).unwrap(),
                            m,
                            r,
                        )
                        .unwrap();
                        memview_pixel::convert::use_avx512(true);
                        yuv_to_rgb_portable(
                            &frame,
                            &mut FrameMut::from_bytes(&mut b, &lo).unwrap(),
                            m,
                            r,
                        )
                        .unwrap();
                        assert!(a == b, "{} -> {} {w}x{h} {m:?} {r:?}", sf.name, df.name);
                        cases += 1;
                    }
                }
            }
        }
    }
    assert_eq!(cases, 13 * 7 * 4 * 4);
}
