//! `bytes` interop (feature `bytes`): `Bytes` and `BytesMut` as exporters,
//! and contiguous views as `Bytes`, all without a copy.

use bytes::{Bytes, BytesMut};
use memview_core::{BufferError, Shared, Slice, View, ViewError};

#[test]
fn bytes_become_export_counted_views_without_a_copy() {
    let packet = Bytes::from((0u8..64).collect::<Vec<u8>>());
    let addr = packet.as_ptr();
    let mut shared = Shared::from(packet.clone());
    let v = shared.export_shared().unwrap();
    assert_eq!(v.as_ptr(), addr, "the view is of the Bytes' own memory");
    let words = v.cast("I", None).unwrap(); // native, as memoryview casts
    assert_eq!(words.shape(), &[16]);
    assert_eq!(
        words.get::<u32>(&[1]).unwrap(),
        u32::from_ne_bytes([4, 5, 6, 7])
    );
    assert_eq!(shared.exports(), 2);
    // Bytes are immutable: no writable view, whatever the exports.
    drop((v, words));
    assert_eq!(
        shared.export_shared_mut().unwrap_err(),
        BufferError::NotWritable
    );
}

#[test]
fn bytes_mut_is_writable_when_no_view_lives() {
    let mut buf = BytesMut::zeroed(12);
    buf[0] = 1;
    let mut shared = Shared::from(buf);
    {
        let mut w = shared.export_shared_mut().unwrap();
        w.as_bytes_mut().unwrap()[11] = 9;
    }
    let v = shared.export_shared().unwrap();
    assert_eq!(v.as_bytes().unwrap()[0], 1);
    assert_eq!(v.as_bytes().unwrap()[11], 9);
    assert!(matches!(
        shared.export_shared_mut(),
        Err(BufferError::Exported { exports: 1 })
    ));
}

#[test]
fn a_contiguous_view_is_a_bytes_holding_its_export() {
    let shared = Shared::from((0u8..100).collect::<Vec<u8>>());
    let view = shared.export_shared().unwrap();
    let rows = view.cast("B", Some(&[10, 10])).unwrap();
    // Rows 2..5 are contiguous: 30 bytes, no copy.
    let band = rows.slice(&[Slice::range(2, 5)]).unwrap();
    let addr = band.as_ptr();
    let b = Bytes::try_from(band).unwrap();
    assert_eq!((b.as_ptr(), b.len()), (addr, 30));
    assert_eq!(&b[..3], &[20, 21, 22]);
    let clone = b.clone();
    drop(b);
    assert!(shared.exports() >= 1, "the Bytes keeps its export");
    drop((clone, view, rows));
    assert_eq!(shared.exports(), 0, "the last clone released it");
    // A column is not contiguous: refused, nothing copied behind the back.
    let v = shared.export_shared().unwrap();
    let column = v
        .cast("B", Some(&[10, 10]))
        .unwrap()
        .slice_axis(1, Slice::range(0, 1))
        .unwrap();
    assert_eq!(
        Bytes::try_from(column).unwrap_err(),
        ViewError::NotCContiguous
    );
    // A borrowed view with 'static bytes works the same way.
    static HEADER: [u8; 4] = *b"YUV4";
    assert_eq!(
        &Bytes::try_from(View::from_bytes(&HEADER)).unwrap()[..],
        b"YUV4"
    );
}
