//! A counting global allocator: allocations, bytes, live and peak heap, so
//! `memview run` can report allocations per frame and peak heap honestly.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The system allocator, counted.
pub struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static WRITER_ALLOCS: AtomicUsize = AtomicUsize::new(0);
static WRITER_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Which counts a thread's allocations go to.
const PIPELINE: u8 = 0;
const UNCOUNTED_THREAD: u8 = 1;
const WRITER: u8 = 2;

thread_local! {
    /// Set while this thread draws the progress bar, which is not part of
    /// the pipeline: its allocations are left out of the per-frame counts
    /// (they still count towards the heap peak).
    /// The result writer's thread counts apart ([`writer_counts`]).
    static CLASS: std::cell::Cell<u8> = const { std::cell::Cell::new(PIPELINE) };
}

fn grew(size: usize) {
    match CLASS.try_with(std::cell::Cell::get).unwrap_or(PIPELINE) {
        PIPELINE => {
            ALLOCS.fetch_add(1, Relaxed);
            BYTES.fetch_add(size, Relaxed);
        }
        WRITER => {
            WRITER_ALLOCS.fetch_add(1, Relaxed);
            WRITER_BYTES.fetch_add(size, Relaxed);
        }
        _ => {}
    }
    let live = LIVE.fetch_add(size, Relaxed) + size;
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// bookkeeping is plain atomics, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size);
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` with this thread's allocations left out of [`counts`].
pub fn uncounted<T>(f: impl FnOnce() -> T) -> T {
    let was = CLASS.with(|c| c.replace(UNCOUNTED_THREAD));
    let out = f();
    CLASS.with(|c| c.set(was));
    out
}

/// Marks this thread as the result writer: its allocations count in
/// [`writer_counts`], not in [`counts`].
pub fn mark_writer() {
    CLASS.with(|c| c.set(WRITER));
}

/// The result writer's allocations and bytes allocated so far.
pub fn writer_counts() -> (usize, usize) {
    (WRITER_ALLOCS.load(Relaxed), WRITER_BYTES.load(Relaxed))
}

/// Allocations and bytes allocated so far by the pipeline (every thread
/// but the result writer's and the progress bar's).
pub fn counts() -> (usize, usize) {
    (ALLOCS.load(Relaxed), BYTES.load(Relaxed))
}

/// The largest live heap seen.
pub fn peak() -> usize {
    PEAK.load(Relaxed)
}

/// Peak resident set size (`VmHWM`), where the kernel reports it.
pub fn rss_peak() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
