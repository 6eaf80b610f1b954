//! Making, slicing and indexing views allocates nothing: counted by a
//! global allocator that tallies this thread's allocations.

use memview_core::{Slice, View};
use memview_testkit::{thread_allocations, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    thread_allocations(f).0
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
