//! Export counting: CPython's bytearray rules, and mutable splits.

use memview_core::{BufferError, ByteArray, Exporter, Region, Shared, Slice, View, ViewMut};

#[test]
fn views_of_views_count_and_block_resize() {
    let mut b = ByteArray::from(vec![7u8; 16]);
    let v = b.export_shared().unwrap();
    let s = v.slice_axis(0, Slice::range(2, 10)).unwrap();
    let c = s.cast("h", None).unwrap();
    assert_eq!(b.exports(), 3);
    let e = b.resize(32, 0).unwrap_err();
    assert_eq!(e, BufferError::Exported { exports: 3 });
    assert_eq!(
        e.to_string(),
        "Existing exports of data: object cannot be re-sized (3 exports)"
    );
    // Releasing the parent does not unlock: its slices share the buffer.
    v.release();
    drop(s);
    assert!(b.bytes_mut().is_err());
    assert!(b.extend_from_slice(b"x").is_err());
    drop(c);
    assert_eq!(b.exports(), 0);
    b.resize(32, 1).unwrap();
    b.extend_from_slice(b"ab").unwrap();
    assert_eq!(b.len(), 34);
    assert_eq!(b.export_shared().unwrap().as_bytes().unwrap()[32..], *b"ab");
}

#[test]
fn free_is_refused_while_exported() {
    let b = Shared::from(vec![1u8, 2, 3].into_boxed_slice());
    assert_eq!(b.export().unwrap().as_bytes().unwrap(), &[1, 2, 3]);
    let v = b.export_shared().unwrap();
    let Err((b, e)) = b.try_into_inner() else {
        panic!("freed while exported");
    };
    assert_eq!(e, BufferError::Exported { exports: 1 });
    drop(v);
    let storage = b.try_into_inner().map_err(|(_, e)| e).unwrap();
    assert_eq!(storage.bytes(), &[1, 2, 3]);
}

#[test]
fn shared_views_outlive_their_exporter_and_cross_threads() {
    let b = ByteArray::from((0..=255u8).collect::<Vec<_>>());
    let v: View<'static> = b.export_shared().unwrap();
    drop(b);
    let handle = std::thread::spawn(move || {
        v.as_bytes()
            .unwrap()
            .iter()
            .map(|&x| u32::from(x))
            .sum::<u32>()
    });
    assert_eq!(handle.join().unwrap(), 255 * 256 / 2);
}

#[test]
fn mutable_exports_exclude_everything_else() {
    let mut b = ByteArray::from(vec![0u8; 12]);
    let w = b.export_shared_mut().unwrap();
    assert!(matches!(
        b.export_shared(),
        Err(BufferError::MutablyExported { writers: 1 })
    ));
    let w = w.cast("B", Some(&[3, 4])).unwrap();
    let mut parts = w
        .split_regions(&[
            Region {
                x: 0,
                y: 0,
                w: 2,
                h: 3,
            },
            Region {
                x: 2,
                y: 0,
                w: 2,
                h: 3,
            },
        ])
        .unwrap();
    assert!(matches!(
        b.export_shared(),
        Err(BufferError::MutablyExported { writers: 2 })
    ));
    std::thread::scope(|s| {
        for (i, p) in parts.iter_mut().enumerate() {
            s.spawn(move || p.fill(i as u8 + 1));
        }
    });
    drop(parts);
    let v = b.export_shared().unwrap();
    assert_eq!(v.as_bytes().unwrap(), &[1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2]);
    drop(v);
    assert!(b.export_shared_mut().is_ok());
}

#[test]
fn overlapping_or_outside_regions_are_refused() {
    let mut data = vec![0u8; 100];
    let v = ViewMut::from_parts(&mut data, "B", 0, &[10, 10], &[10, 1]).unwrap();
    let r = |x, y, w, h| Region { x, y, w, h };
    let e = v
        .split_regions(&[r(0, 0, 5, 5), r(4, 4, 2, 2)])
        .unwrap_err();
    assert_eq!(e.to_string(), "mutable regions 0 and 1 overlap");
    let v = ViewMut::from_parts(&mut data, "B", 0, &[10, 10], &[10, 1]).unwrap();
    assert!(v.split_regions(&[r(8, 8, 3, 1)]).is_err());
    // A mutable layout that aliases itself is refused at construction.
    assert!(ViewMut::from_parts(&mut data, "B", 0, &[10, 10], &[0, 1]).is_err());
    assert!(ViewMut::from_parts(&mut data, "B", 0, &[10, 10], &[5, 1]).is_err());
    assert!(ViewMut::from_parts(&mut data, "B", 0, &[10, 10], &[1, 10]).is_ok());
}

#[cfg(feature = "mmap")]
#[test]
fn memory_maps_export_zero_copy() {
    use memview_core::ExporterMut;
    use std::io::Write;
    let path = std::env::temp_dir().join(format!("memview-mmap-{}.bin", std::process::id()));
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&(0..64u8).collect::<Vec<_>>()).unwrap();
    drop(f);
    let file = std::fs::File::open(&path).unwrap();
    // SAFETY: the file is private to this test and not modified while mapped.
    let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
    let v = map.export().unwrap().cast("B", Some(&[8, 8])).unwrap();
    assert_eq!(
        v.index(&[2, 3]).unwrap().tolist().unwrap(),
        memview_core::List::Item(memview_format::Value::Int(19))
    );
    let mut shared = Shared::from(map);
    assert_eq!(shared.export_mut().unwrap_err(), BufferError::NotWritable);
    let sv = shared.export_shared().unwrap();
    assert_eq!(sv.as_bytes().unwrap()[63], 63);
    drop(sv);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn split_parts_cannot_reach_their_siblings() {
    let mut data = vec![0u8; 100];
    let v = ViewMut::from_parts(&mut data, "B", 0, &[10, 10], &[10, 1]).unwrap();
    let r = |x, y, w, h| Region { x, y, w, h };
    let mut parts = v.split_regions(&[r(0, 0, 10, 5), r(0, 5, 10, 5)]).unwrap();
    let top = parts.remove(0);
    // Re-laying a part out stays inside its own 50 bytes.
    let e = top.with_parts("B", 0, &[60], &[1]).unwrap_err();
    assert_eq!(e, memview_core::ViewError::OutOfBounds);
    let bottom = parts.remove(0);
    let mut flat = bottom.with_parts("B", 10, &[5], &[1]).unwrap();
    flat.fill(7);
    drop(flat);
    assert_eq!(&data[58..64], &[0, 0, 7, 7, 7, 7]);
    // A non-contiguous view cannot be re-laid out at all.
    let d = vec![0u8; 100];
    let col = View::from_parts(&d, "B", 0, &[10, 10], &[10, 1])
        .unwrap()
        .slice_axis(1, Slice::range(0, 2))
        .unwrap();
    assert!(col.with_parts("B", 0, &[2], &[1]).is_err());
}
