//! Making, slicing and indexing views allocates nothing: counted by a
//! global allocator that tallies this thread's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use memview_core::{Slice, View};

struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is a const-initialised thread-local Cell, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|a| a.set(a.get() + 1));
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

#[test]
fn roi_views_do_not_allocate() {
    let plane = vec![7u8; 1920 * 1080];
    let v = View::from_parts(&plane, "B", 0, &[1080, 1920], &[1920, 1]).unwrap();
    let rgb = View::from_parts(&plane, "B", 0, &[360, 640, 3], &[5760, 9, 1]).unwrap();
    let n = allocations(|| {
        for i in 0..1000 {
            let roi = v.region(i % 800..i % 800 + 200, 100..300).unwrap();
            let s = v
                .slice(&[Slice::range(10, 210), Slice::new(None, None, Some(-2))])
                .unwrap();
            let row = roi.index(&[3]).unwrap();
            let t = rgb
                .region(1..100, 5..50)
                .unwrap()
                .transpose()
                .flip(0)
                .unwrap();
            let c = roi.cast("B", None).is_err();
            let sum: usize = roi.rows().unwrap().map(|r| r.len()).sum::<usize>()
                + s.ndim()
                + row.ndim()
                + t.ndim();
            assert!(sum > 0 && c);
        }
    });
    assert_eq!(n, 0, "{n} allocations for 1000 frames of ROI views");
    // The counter works: a Vec allocates.
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))), 1);
}
