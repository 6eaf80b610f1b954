//! Export counting under every interleaving loom finds: no resize, free or
//! exporter write while a view on another thread lives, no lost count,
//! mutable and read-only exports never coexist.

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;

use crate::{BufferError, ByteArray, Slice};

#[test]
fn loom_no_resize_while_a_view_lives() {
    loom::model(|| {
        let mut b = ByteArray::from(vec![1u8; 4]);
        let v = b.export_shared().unwrap();
        let released = Arc::new(AtomicBool::new(false));
        let r2 = released.clone();
        let t = thread::spawn(move || {
            let s = v.slice_axis(0, Slice::range(1, 3)).unwrap();
            drop(v);
            r2.store(true, Ordering::Relaxed);
            drop(s);
        });
        match b.resize(8, 0) {
            // Success means the last view was gone: its release happened
            // before, so the flag set before it is visible.
            Ok(()) => assert!(released.load(Ordering::Relaxed)),
            Err(BufferError::Exported { exports }) => assert!(exports >= 1),
            Err(e) => panic!("{e}"),
        }
        t.join().unwrap();
        // After the join the count is zero: resizing must now succeed.
        assert_eq!(b.exports(), 0);
        b.resize(2, 0).unwrap();
    });
}

#[test]
fn loom_concurrent_releases_lose_no_count() {
    loom::model(|| {
        let b = ByteArray::from(vec![0u8; 8]);
        let v = b.export_shared().unwrap();
        let (v1, v2) = (v.clone(), v.cast("B", Some(&[2, 4])).unwrap());
        assert_eq!(b.exports(), 3);
        let t1 = thread::spawn(move || drop(v1));
        let t2 = thread::spawn(move || drop(v2));
        drop(v);
        t1.join().unwrap();
        t2.join().unwrap();
        // Every release counted: the count reached zero, and freeing works.
        assert_eq!(b.exports(), 0);
        assert!(b.try_into_inner().is_ok());
    });
}

#[test]
fn loom_view_sees_no_exporter_write() {
    loom::model(|| {
        let mut b = ByteArray::from(vec![7u8; 2]);
        let v = b.export_shared().unwrap();
        let t = thread::spawn(move || {
            let first = v.as_bytes().unwrap()[0];
            thread::yield_now();
            let again = v.as_bytes().unwrap()[0];
            assert_eq!(first, again, "the exporter wrote under a live view");
            assert_eq!(first, 7);
        });
        if let Ok(bytes) = b.bytes_mut() {
            bytes[0] = 9;
        }
        t.join().unwrap();
    });
}

#[test]
fn loom_writers_exclude_readers() {
    loom::model(|| {
        let mut b = ByteArray::from(vec![0u8; 4]);
        let w = b.export_shared_mut().unwrap();
        let t = thread::spawn(move || {
            let mut w = w;
            w.fill(5);
        });
        match b.export_shared() {
            Ok(v) => assert_eq!(v.as_bytes().unwrap(), &[5, 5, 5, 5]),
            Err(BufferError::MutablyExported { writers }) => assert_eq!(writers, 1),
            Err(e) => panic!("{e}"),
        }
        t.join().unwrap();
        assert!(b.export_shared().is_ok());
    });
}
