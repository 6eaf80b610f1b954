//! Any bytes as a Y4M stream: never panics; never reserves more than the
//! frame budget allows (a counting allocator checks every allocation and
//! the peak); every frame it accepts has the layout its header reports,
//! and the frame's bytes are the stream's bytes after its FRAME line.
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use libfuzzer_sys::fuzz_target;
use memview_capture::{BufferPool, FrameSource, Limits, Y4mSource};

/// The frame budget the target runs under.
const BUDGET: usize = 1 << 20;
/// What the reader itself keeps: its 1 MiB read buffer and a header line.
const READER: usize = (1 << 20) + 8192;

struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to the system allocator unchanged; the
// counters are plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = NOW.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        NOW.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: `p` came from `alloc` with this layout.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fuzz_target!(|data: &[u8]| {
    let base = NOW.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    LARGEST.store(0, Ordering::Relaxed);
    let limits = Limits {
        max_frame_bytes: BUDGET,
        max_pool_bytes: 2 * BUDGET + 256,
        read_timeout: None,
    };
    {
        let Ok(mut src) = Y4mSource::with_limits(data, &limits) else {
            return;
        };
        let header = src.header().clone();
        let len = header.layout.len();
        assert!(
            len <= BUDGET,
            "a header over the budget was accepted: {len}"
        );
        assert_eq!(src.frame_len(), len);
        let Ok(mut pool) = BufferPool::with_limits(2, len, &limits) else {
            panic!("a pool within the budget was refused");
        };
        // Where frame data starts: after the header and each FRAME line.
        let mut at = header.len;
        for i in 0..64u64 {
            // Every other frame skipped, to run both paths.
            if i % 3 == 2 {
                match src.skip() {
                    Ok(true) => {
                        at += data[at..]
                            .iter()
                            .position(|&b| b == b'\n')
                            .map_or(0, |n| n + 1)
                            + len;
                        continue;
                    }
                    _ => break,
                }
            }
            let Some(slot) = pool.try_acquire() else {
                panic!("both buffers held");
            };
            match src.next_frame(slot) {
                Ok(Some(frame)) => {
                    assert_eq!(frame.layout(), &header.layout);
                    assert_eq!(frame.seq(), i);
                    let line = data[at..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .expect("a FRAME line")
                        + 1;
                    assert!(data[at..].starts_with(b"FRAME"));
                    at += line;
                    let got = frame.bytes().as_bytes().expect("frames are contiguous");
                    assert_eq!(got, &data[at..at + len], "frame {i}'s bytes");
                    at += len;
                    let f = frame.frame();
                    for p in 0..header.layout.format().planes {
                        let view = f.plane(p).expect("every plane of the format");
                        let pl = header.layout.plane(p).expect("the layout's plane");
                        assert_eq!(view.shape()[0], pl.rows);
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
    }
    let peak = PEAK.load(Ordering::Relaxed) - base;
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest <= READER.max(BUDGET + 64),
        "one allocation of {largest} bytes"
    );
    assert!(
        peak <= READER + 2 * (BUDGET + 64) + (64 << 10),
        "peak of {peak} bytes"
    );
});
