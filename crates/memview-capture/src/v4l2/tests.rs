//! The streaming state machine against a fake device that keeps a
//! driver's queue in memory: which buffers it holds, in what order it
//! fills them, sequence numbers with gaps, errors on demand.
//!
//! Test code (`cfg(test)`): each `unwrap()` here is an assertion, and a
//! failure fails the test.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use memview_core::Shared;

use super::stream::{Dequeued, Device, PlaneInfo, PLANES};
use super::{V4l2Stream, MIN_QUEUED};
use crate::error::CaptureError;

#[derive(Default)]
struct FakeState {
    /// Buffers queued, in order.
    queue: VecDeque<u32>,
    /// Filled buffers waiting for DQBUF: (index, sequence).
    done: VecDeque<(u32, u32)>,
    streaming: bool,
    next_seq: u32,
    /// Sequence numbers skipped before the next fill.
    skip: u32,
    fail_qbuf: bool,
    corrupt_next: bool,
    corrupt: Vec<u32>,
    freed: bool,
    log: Vec<String>,
}

#[derive(Clone, Default)]
struct Fake {
    s: Arc<Mutex<FakeState>>,
    planes: usize,
}

impl Fake {
    fn new(planes: usize) -> Fake {
        Fake {
            s: Arc::default(),
            planes,
        }
    }

    fn st(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.s.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The driver fills the oldest queued buffer (a frame period passes);
    /// with none queued the frame is lost and its number skipped.
    fn tick(&self) {
        let mut s = self.st();
        let seq = s.next_seq.wrapping_add(s.skip);
        s.skip = 0;
        s.next_seq = seq.wrapping_add(1);
        match s.queue.pop_front() {
            Some(i) => {
                if std::mem::take(&mut s.corrupt_next) {
                    s.corrupt.push(i);
                }
                s.done.push_back((i, seq));
            }
            None => s.log.push(format!("lost {seq}")),
        }
    }

    fn queued(&self) -> Vec<u32> {
        self.st().queue.iter().copied().collect()
    }
}

const LEN: u32 = 4096;

impl Device for Fake {
    fn query(&self, index: u32) -> io::Result<Vec<PlaneInfo>> {
        Ok((0..self.planes as u32)
            .map(|p| PlaneInfo {
                length: LEN,
                offset: (index * 8 + p) * LEN,
            })
            .collect())
    }

    fn map(&self, plane: PlaneInfo) -> io::Result<Shared> {
        // Each plane's bytes say where they were mapped from.
        let tag = (plane.offset / LEN) as u8;
        Ok(Shared::from(vec![tag; plane.length as usize]))
    }

    fn queue(&self, index: u32) -> io::Result<()> {
        let mut s = self.st();
        if s.fail_qbuf {
            return Err(io::Error::from_raw_os_error(libc::ENODEV));
        }
        if s.queue.contains(&index) || s.done.iter().any(|d| d.0 == index) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        s.queue.push_back(index);
        s.log.push(format!("q {index}"));
        Ok(())
    }

    fn dequeue(&self) -> io::Result<Option<Dequeued>> {
        let mut s = self.st();
        let Some((index, sequence)) = s.done.pop_front() else {
            return Ok(None);
        };
        let error = s.corrupt.contains(&index);
        s.corrupt.retain(|&i| i != index);
        let mut bytesused = [0u32; PLANES];
        for (p, u) in bytesused.iter_mut().take(self.planes).enumerate() {
            *u = 100u32.wrapping_add(sequence).wrapping_add(p as u32) % 4000;
        }
        Ok(Some(Dequeued {
            index,
            sequence,
            timestamp: Duration::from_millis(u64::from(sequence) * 16),
            bytesused,
            error,
        }))
    }

    fn wait(&self, _timeout: Duration) -> io::Result<bool> {
        let s = self.st();
        if !s.streaming {
            return Err(io::Error::from_raw_os_error(libc::EPIPE));
        }
        Ok(!s.done.is_empty())
    }

    fn stream_on(&self) -> io::Result<()> {
        self.st().streaming = true;
        Ok(())
    }

    fn stream_off(&self) -> io::Result<()> {
        let mut s = self.st();
        s.streaming = false;
        s.queue.clear();
        s.done.clear();
        Ok(())
    }

    fn free_buffers(&self) -> io::Result<()> {
        self.st().freed = true;
        Ok(())
    }
}

fn start(n: u32, planes: usize) -> (Fake, V4l2Stream) {
    let fake = Fake::new(planes);
    let stream = match V4l2Stream::start(Box::new(fake.clone()), n) {
        Ok(s) => s,
        Err(e) => panic!("start: {e}"),
    };
    (fake, stream)
}

const T: Duration = Duration::from_millis(10);

#[test]
fn every_buffer_is_queued_at_start_and_requeued_when_its_last_lease_drops() {
    let (fake, mut stream) = start(4, 1);
    assert_eq!(fake.queued(), [0, 1, 2, 3]);
    assert_eq!(stream.queued(), 4);
    fake.tick();
    let a = stream.next(T).unwrap().unwrap();
    assert_eq!((a.index(), a.seq()), (0, 0));
    assert_eq!(a.bytes(0).unwrap(), &[0u8; 100][..]);
    assert_eq!(fake.queued(), [1, 2, 3]);
    let b = a.clone();
    drop(a);
    // One clone still alive: the buffer stays out.
    assert_eq!(fake.queued(), [1, 2, 3]);
    assert_eq!(b.bytes_used(0), Some(100));
    drop(b);
    assert_eq!(fake.queued(), [1, 2, 3, 0]);
    assert_eq!(stream.queued(), 4);
    assert_eq!(stream.stats().delivered, 1);
}

#[test]
fn nothing_ready_is_a_timeout_not_an_error() {
    let (_fake, mut stream) = start(3, 1);
    assert!(stream.next(T).unwrap().is_none());
}

#[test]
fn at_least_two_buffers_stay_queued_whatever_consumers_keep() {
    let (fake, mut stream) = start(5, 1);
    let mut kept = Vec::new();
    for _ in 0..10 {
        fake.tick();
        if let Some(b) = stream.next(T).unwrap() {
            kept.push(b);
        }
        assert!(stream.queued() >= MIN_QUEUED, "queued {}", stream.queued());
        assert!(fake.queued().len() >= MIN_QUEUED);
    }
    // Five buffers, two always with the driver: three frames kept, the
    // other seven given straight back.
    assert_eq!(kept.len(), 3);
    let st = stream.stats();
    assert_eq!((st.delivered, st.held_back), (3, 7));
    kept.clear();
    assert_eq!(stream.queued(), 5);
}

#[test]
fn sequence_gaps_count_as_drops_and_seq_extends_past_32_bits() {
    let (fake, mut stream) = start(4, 1);
    fake.tick();
    let first = stream.next(T).unwrap().unwrap().seq();
    fake.st().skip = 3;
    fake.tick();
    let b = stream.next(T).unwrap().unwrap();
    assert_eq!(b.seq(), first + 4);
    assert_eq!(stream.stats().gaps, 3);
    drop(b);
    // The driver's counter wraps at 2^32; memview's keeps counting.
    fake.st().next_seq = u32::MAX;
    fake.tick();
    let c = stream.next(T).unwrap().unwrap();
    let before = c.seq();
    drop(c);
    fake.tick();
    let d = stream.next(T).unwrap().unwrap();
    assert_eq!(d.seq(), before + 1);
    assert_eq!(stream.stats().gaps, 3 + u64::from(u32::MAX - 5));
}

#[test]
fn a_slow_consumer_makes_the_driver_lose_frames_which_are_counted() {
    let (fake, mut stream) = start(4, 1);
    // Four frame periods pass with nobody dequeuing, then four more: the
    // driver fills its four buffers and loses the rest.
    for _ in 0..8 {
        fake.tick();
    }
    let mut seqs = Vec::new();
    while let Some(b) = stream.next(T).unwrap() {
        seqs.push(b.seq());
    }
    assert_eq!(seqs, [0, 1, 2, 3]);
    fake.tick();
    let b = stream.next(T).unwrap().unwrap();
    assert_eq!(b.seq(), 8);
    assert_eq!(stream.stats().gaps, 4);
}

#[test]
fn corrupt_buffers_are_given_back_not_delivered() {
    let (fake, mut stream) = start(4, 1);
    fake.st().corrupt_next = true;
    fake.tick();
    fake.tick();
    let b = stream.next(T).unwrap().unwrap();
    assert_eq!(b.seq(), 1);
    assert_eq!(stream.stats().corrupt, 1);
    assert_eq!(fake.queued(), [2, 3, 0]);
}

#[test]
fn stop_with_leases_alive_keeps_their_bytes_and_does_not_requeue() {
    let (fake, mut stream) = start(4, 2);
    fake.tick();
    let a = stream.next(T).unwrap().unwrap();
    assert_eq!(a.planes(), 2);
    stream.stop().unwrap();
    assert!(!stream.is_streaming());
    assert_eq!(stream.queued(), 0);
    // The lease's memory is still mapped and readable.
    assert_eq!(a.bytes(0).unwrap()[0], 0);
    assert_eq!(a.bytes(1).unwrap(), &vec![1u8; 101][..]);
    let err = stream.next(T).unwrap_err();
    assert!(err.to_string().contains("stopped"), "{err}");
    drop(stream);
    // The stream is gone but a lease keeps the buffers allocated.
    assert!(!fake.st().freed);
    drop(a);
    assert!(fake.queued().is_empty(), "nothing queued after STREAMOFF");
    assert!(fake.st().freed, "REQBUFS(0) once the last lease went");
}

#[test]
fn a_failed_requeue_is_reported_by_the_next_dequeue() {
    let (fake, mut stream) = start(4, 1);
    fake.tick();
    let a = stream.next(T).unwrap().unwrap();
    fake.st().fail_qbuf = true;
    drop(a);
    let err = stream.next(T).unwrap_err();
    assert!(
        matches!(
            err,
            CaptureError::V4l2 {
                op: "VIDIOC_QBUF",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn too_few_buffers_is_a_clear_error() {
    let fake = Fake::new(1);
    let err = V4l2Stream::start(Box::new(fake), 2).unwrap_err();
    assert!(err.to_string().contains("needs more than 2"), "{err}");
}

#[test]
fn leases_from_several_threads_all_come_back_exactly_once() {
    let (fake, mut stream) = start(6, 1);
    let mut handles = Vec::new();
    for _ in 0..40 {
        fake.tick();
        if let Some(b) = stream.next(T).unwrap() {
            let c = b.clone();
            handles.push(std::thread::spawn(move || {
                let sum: u64 = c.bytes(0).unwrap().iter().map(|&x| u64::from(x)).sum();
                drop(c);
                sum
            }));
            drop(b);
        }
        handles.retain(|h| !h.is_finished());
    }
    for h in handles {
        h.join().unwrap();
    }
    let q = fake.queued();
    let mut sorted = q.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), q.len(), "no buffer queued twice: {q:?}");
    assert_eq!(stream.queued() + fake.st().done.len(), 6);
}
