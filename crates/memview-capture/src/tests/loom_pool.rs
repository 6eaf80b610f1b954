//! A capture thread and a consumer over a two-buffer pool, under every
//! interleaving loom explores: every frame is delivered or dropped exactly
//! once, no buffer is filled while a view of it lives (the fill would fail
//! and end the run with an error), and buffers are conserved.
//!
//! Test code: each `unwrap()` here is an assertion, and a failure fails
//! the model.

use loom::thread;

use crate::pool::BufferPool;
use crate::queue::{run, FrameQueue, Policy};
use crate::source::{FrameSource, Synthetic};

fn model(policy: Policy) {
    loom::model(move || {
        let mut src = Synthetic::new(&memview_pixel::format::GRAY8, 4, 2, 1)
            .unwrap()
            .with_frames(3);
        let mut pool = BufferPool::new(2, src.frame_len()).unwrap();
        let stats = pool.inner().clone();
        let q = FrameQueue::new(1, policy, pool.inner().clone());
        let qp = q.clone();
        let producer = thread::spawn(move || {
            let r = run(&mut src, &mut pool, &qp, policy);
            let ok = r.is_ok();
            qp.close(r.err());
            assert!(ok, "the producer failed: a buffer was filled while viewed?");
            pool
        });
        let mut seqs = Vec::new();
        while let Some(f) = q.recv() {
            let f = f.unwrap();
            // Take a view, as an analyzer would; it borrows the lease.
            let view = f.frame().plane(0).unwrap().clone();
            seqs.push(f.seq());
            drop(view);
            drop(f);
        }
        let pool = producer.join().unwrap();
        use crate::sync::Ordering::Relaxed;
        let (captured, delivered, dropped) = (
            stats.captured.load(Relaxed),
            stats.delivered.load(Relaxed),
            stats.dropped.load(Relaxed),
        );
        assert_eq!(delivered as usize, seqs.len());
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        // Every frame of the 3 is delivered or dropped exactly once.
        assert_eq!(delivered + dropped, 3, "captured {captured}");
        // Conservation: every buffer is back and free.
        assert_eq!(pool.free(), pool.count());
    });
}

#[test]
fn loom_block_delivers_every_frame_once() {
    model(Policy::Block);
}

#[test]
fn loom_keep_latest_conserves_buffers() {
    model(Policy::KeepLatest);
}

/// Issue 13: the consumer holds every buffer and stops the stream. Under
/// every interleaving the producer (waiting for a buffer, or about to)
/// wakes and returns: loom fails the model if any thread blocks for good.
/// (Its `unwrap()`s are the model's assertions on fixed, valid fixtures,
/// as in the models above.)
fn close_while_held(policy: Policy) {
    loom::model(move || {
        let mut src = Synthetic::new(&memview_pixel::format::GRAY8, 4, 2, 1)
            .unwrap()
            .with_frames(4);
        let mut pool = BufferPool::new(2, src.frame_len()).unwrap();
        let inner = pool.inner().clone();
        let q = FrameQueue::new(1, policy, pool.inner().clone());
        let qp = q.clone();
        let producer = thread::spawn(move || {
            let r = run(&mut src, &mut pool, &qp, policy);
            qp.close(r.err());
        });
        // Hold the first frame (and the second, if it comes before the
        // stream ends), then stop.
        let first = q.recv().unwrap().unwrap();
        let second = q.recv();
        q.stop();
        inner.close();
        producer.join().unwrap();
        drop((first, second));
        // Conservation: every frame captured was delivered or dropped
        // exactly once, stopped ones included.
        use crate::sync::Ordering::Relaxed;
        let (captured, delivered, dropped) = (
            inner.captured.load(Relaxed),
            inner.delivered.load(Relaxed),
            inner.dropped.load(Relaxed),
        );
        assert_eq!(captured, delivered + dropped);
        // Every buffer back once the queue and its frames are gone.
        drop(q);
        assert_eq!(inner.held.load(Relaxed), 0);
    });
}

#[test]
fn loom_close_while_every_buffer_is_held_block() {
    close_while_held(Policy::Block);
}

#[test]
fn loom_close_while_every_buffer_is_held_keep_latest() {
    close_while_held(Policy::KeepLatest);
}
