//! pack and unpack: CPython's rules for strings, ranges and floats.

use memview_format::{check_element, check_match, Be, Dialect, Format, Le, PackError, Value};

fn f(s: &str) -> Format {
    Format::parse(s, Dialect::Struct).unwrap()
}

#[test]
fn strings_follow_s_and_p_rules() {
    let fmt = f("3s4p0p0s");
    let b = fmt
        .pack(&[
            Value::Bytes(b"abcdef".to_vec()),
            Value::Bytes(b"xyzw".to_vec()),
            Value::Bytes(b"q".to_vec()),
            Value::Bytes(Vec::new()),
        ])
        .unwrap();
    assert_eq!(b, b"abc\x03xyz");
    assert_eq!(
        fmt.unpack(&b).unwrap(),
        [
            Value::Bytes(b"abc".to_vec()),
            Value::Bytes(b"xyz".to_vec()),
            Value::Bytes(Vec::new()),
            Value::Bytes(Vec::new()),
        ]
    );
    // A Pascal length byte larger than the field is clamped on unpack.
    assert_eq!(
        f("3p").unpack(b"\xffab").unwrap(),
        [Value::Bytes(b"ab".to_vec())]
    );
}

#[test]
fn integers_are_range_checked_never_wrapped() {
    assert_eq!(
        f("b").pack(&[Value::Int(128)]),
        Err(PackError::OutOfRange {
            code: 'b',
            min: -128,
            max: 127
        })
    );
    assert!(f("<l").pack(&[Value::Int(1 << 31)]).is_err());
    assert!(f("l").pack(&[Value::Int(1 << 31)]).is_ok());
    assert!(f("Q").pack(&[Value::Int(-1)]).is_err());
    assert_eq!(f("P").pack(&[Value::Int(-1)]).unwrap(), [0xff; 8]);
    assert_eq!(
        f(">i").pack(&[Value::Int(-2)]).unwrap(),
        [0xff, 0xff, 0xff, 0xfe]
    );
    assert!(matches!(
        f("i").pack(&[Value::Float(1.0)]),
        Err(PackError::WrongType {
            code: 'i',
            index: 0
        })
    ));
    assert_eq!(f("?").pack(&[Value::Int(7)]).unwrap(), [1]);
    assert_eq!(f("?").unpack(&[2]).unwrap(), [Value::Bool(true)]);
}

#[test]
fn floats_overflow_like_cpython() {
    assert!(f("<f").pack(&[Value::Float(1e39)]).is_err());
    let native = f("f").pack(&[Value::Float(1e39)]).unwrap();
    assert_eq!(
        f32::from_le_bytes(native.try_into().unwrap()),
        f32::INFINITY
    );
    assert!(f("e").pack(&[Value::Float(65520.0)]).is_err());
    assert_eq!(
        f("<e").pack(&[Value::Float(65519.0)]).unwrap(),
        [0xff, 0x7b]
    );
    assert_eq!(f(">d").pack(&[Value::Int(1)]).unwrap(), 1f64.to_be_bytes());
}

#[test]
fn wrong_lengths_are_errors() {
    assert_eq!(
        f("hh").pack(&[Value::Int(1)]),
        Err(PackError::ItemCount {
            expected: 2,
            got: 1
        })
    );
    assert_eq!(
        f("i").unpack(&[0; 5]),
        Err(PackError::BufferSize {
            expected: 4,
            got: 5
        })
    );
    assert_eq!(
        f("i").unpack(&[0; 3]).unwrap_err().to_string(),
        "unpack requires a buffer of 4 bytes (got 3)"
    );
}

#[test]
fn nested_structs_pack_in_order() {
    let fmt = Format::parse("<h(2)T{<bB}", Dialect::Pep3118).unwrap();
    let vals = [1, -1, 2, -3, 4].map(Value::Int);
    let b = fmt.pack(&vals).unwrap();
    assert_eq!(b, [1, 0, 0xff, 2, 0xfd, 4]);
    assert_eq!(fmt.unpack(&b).unwrap(), vals);
    let g = Format::parse("Zd", Dialect::Pep3118).unwrap();
    assert!(matches!(
        g.unpack(&[0; 16]),
        Err(PackError::Unsupported { .. })
    ));
}

#[test]
fn strict_matching() {
    assert!(check_element::<f32>(&f("f")).is_ok());
    assert!(check_element::<f32>(&f("<f")).is_ok());
    assert!(check_element::<f32>(&f(">f")).is_err());
    assert!(check_element::<Be<f32>>(&f(">f")).is_ok());
    assert!(check_element::<Le<u16>>(&f("H")).is_ok());
    assert!(check_element::<i16>(&f("H")).is_err());
    assert!(check_element::<i64>(&f("l")).is_err());
    assert!(check_element::<i64>(&f("q")).is_ok());
    assert!(check_element::<i32>(&f("2i")).is_err());
    // The byte formats are the escape hatch, both ways.
    assert!(check_element::<u8>(&f("d")).is_ok());
    assert!(check_element::<f64>(&f("B")).is_ok());
    assert!(check_element::<f64>(&f("c")).is_ok());
    assert!(check_element::<f64>(&f("<B")).is_err());
    let e = check_match(&f("i"), &f("I")).unwrap_err();
    assert_eq!(e.to_string(), "format mismatch: expected 'i', found 'I'");
    assert!(check_match(&f("<i"), &f("=i")).is_ok());
    let t = Format::parse("T{ii}", Dialect::Pep3118).unwrap();
    assert!(check_match(&f("B"), &t).is_ok());
    assert!(check_match(&f("i"), &t).is_err());
    assert_eq!(Le::<u32>::new(5).get(), 5);
    assert_eq!(Be::<u32>::new(5).get(), 5);
}
