//! The `y4m` crate as a second oracle for the Y4M parser: the same
//! streams, the same header fields and the same frame bytes, plane by
//! plane, for every colour space both read.

use memview_capture::{BufferPool, FrameSource, Y4mSource};
use memview_testkit::Rng;

/// A stream of `frames` frames of `len` random bytes each.
fn stream(header: &str, len: usize, frames: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut s = format!("{header}\n").into_bytes();
    for _ in 0..frames {
        s.extend_from_slice(b"FRAME\n");
        s.extend((0..len).map(|_| rng.next_u64() as u8));
    }
    s
}

#[test]
fn frames_and_headers_agree_with_the_y4m_crate() {
    // (colour space tag, bytes a sample, chroma width and height divisors;
    // 0: no chroma)
    // Every colour space both read (the y4m crate has no `mono16`; memview
    // none of the 12-bit ones nor 4:2:2 and 4:4:4 at 10 bits).
    let cases: [(&str, usize, usize, usize); 7] = [
        ("C420jpeg", 1, 2, 2),
        ("C420paldv", 1, 2, 2),
        ("C420mpeg2", 1, 2, 2),
        ("C422", 1, 2, 1),
        ("C444", 1, 1, 1),
        ("Cmono", 1, 0, 0),
        ("C420p10", 2, 2, 2),
    ];
    for (k, (tag, sb, dx, dy)) in cases.into_iter().enumerate() {
        let (w, h) = (38usize, 22usize);
        let chroma = if dx == 0 {
            0
        } else {
            w.div_ceil(dx) * h.div_ceil(dy)
        };
        let len = (w * h + 2 * chroma) * sb;
        let header = format!("YUV4MPEG2 W{w} H{h} F25:2 It A4:3 {tag} XCOLORRANGE=FULL");
        let s = stream(&header, len, 3, k as u64);

        let mut theirs = y4m::decode(&s[..]).unwrap();
        let mut ours = Y4mSource::new(&s[..]).unwrap();
        let hd = ours.header().clone();
        assert_eq!(
            (hd.width, hd.height),
            (theirs.get_width(), theirs.get_height()),
            "{tag}"
        );
        let r = theirs.get_framerate();
        assert_eq!(hd.rate, (r.num as u32, r.den as u32), "{tag}");
        let a = theirs.get_pixel_aspect();
        assert_eq!(hd.aspect, (a.num as u32, a.den as u32), "{tag}");
        assert_eq!(theirs.get_bytes_per_sample(), sb, "{tag}");
        assert_eq!(hd.layout.len(), len, "{tag}: frame size");

        let mut pool = BufferPool::new(1, ours.frame_len()).unwrap();
        let mut n = 0;
        while let Some(lease) = ours.next_frame(pool.try_acquire().unwrap()).unwrap() {
            let f = theirs.read_frame().unwrap();
            let mut planes = vec![f.get_y_plane()];
            if chroma > 0 {
                planes.extend([f.get_u_plane(), f.get_v_plane()]);
            }
            for (p, want) in planes.iter().enumerate() {
                let got = lease
                    .frame()
                    .plane(p)
                    .unwrap()
                    .to_bytes(memview_core::MemOrder::C);
                assert_eq!(&got[..], *want, "{tag}: frame {n} plane {p}");
            }
            n += 1;
        }
        assert!(
            theirs.read_frame().is_err(),
            "{tag}: the y4m crate has no more frames"
        );
        assert_eq!(n, 3, "{tag}");
    }
}
