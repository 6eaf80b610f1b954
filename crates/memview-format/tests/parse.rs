//! Hand-picked cases: CPython's documented surprises and the PEP 3118
//! grammar as NumPy reads it.

use memview_format::{Code, Dialect, ErrorKind, Format, Item, Kind, MAX_DEPTH};

fn size(f: &str, d: Dialect) -> usize {
    Format::parse(f, d)
        .unwrap_or_else(|e| panic!("{f:?}: {e}"))
        .size()
}

fn err(f: &str, d: Dialect) -> (ErrorKind, usize) {
    let e = Format::parse(f, d).expect_err(f);
    (e.kind(), e.offset())
}

#[test]
fn struct_sizes_from_the_reference() {
    use Dialect::Struct as S;
    for (f, n) in [
        ("lc", 9),
        ("lc0l", 16),
        ("c0L", 8),
        ("hq0h", 16),
        ("ci", 8),
        ("cl", 16),
        ("ch", 4),
        ("ce", 4),
        ("c?", 2),
        ("3pQ", 16),
        ("5sd", 16),
        ("x2xl", 16),
        ("cccccccl", 16),
        ("=ci", 5),
        ("<cl", 5),
        ("<3pQ", 11),
        ("!5sd", 13),
        ("< h", 2),
        ("", 0),
        ("<", 0),
        ("9223372036854775807x", isize::MAX as usize),
    ] {
        assert_eq!(size(f, S), n, "{f:?}");
    }
}

#[test]
fn struct_errors_and_offsets() {
    use Dialect::Struct as S;
    use ErrorKind::*;
    for (f, kind, off) in [
        ("2 h", BadChar, 1),
        (" <h", BadChar, 1),
        ("<>h", BadChar, 1),
        ("h<", BadChar, 1),
        ("^h", BadChar, 0),
        ("<n", BadChar, 1),
        (">P", BadChar, 1),
        ("Th", BadChar, 0),
        ("3", CountWithoutCode, 0),
        ("i1", CountWithoutCode, 1),
        ("<3", CountWithoutCode, 1),
        ("Z\0", NulByte, 1),
        ("h\0", NulByte, 1),
        ("é", BadChar, 0),
        ("hé\0", BadChar, 1),
        ("9223372036854775808x", TooLarge, 0),
        ("4611686018427387903b4611686018427387905b", TooLarge, 20),
        ("c1152921504606846975q", TooLarge, 1),
    ] {
        assert_eq!(err(f, S), (kind, off), "{f:?}");
    }
    // Bytes formats: a high byte is an ordinary bad char, NUL still first.
    let e = Format::parse_bytes(b"h\xff\0", S).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (NulByte, 2));
    let e = Format::parse_bytes(b"h\xff", S).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (BadChar, 1));
}

#[test]
fn pep3118_layouts() {
    use Dialect::Pep3118 as P;
    for (f, n) in [
        ("T{<i:x:<d:y:}", 12),
        ("T{i:x:d:y:}", 16),
        ("(4)<i", 16),
        ("(3,2)<i", 24),
        ("&<i", 8),
        ("X{}", 8),
        ("Zf", 8),
        ("Zd", 16),
        ("cZd", 24),
        ("Zg", 32),
        ("g", 16),
        ("cg", 32),
        ("^cg", 17),
        ("O", 8),
        ("3w", 12),
        ("3u", 6),
        ("12t", 2),
        ("<i>h=q", 14),
        ("<c@i", 8),
        ("cT{ci}", 12),
        ("2T{ic}", 16),
        ("T{}", 0),
        ("T{ T{ i } c }", 8),
        ("(2)T{<hc}c", 7),
        ("  i  :a:  h :b:", 6),
        ("lc", 9),
        ("x2xl", 16),
    ] {
        assert_eq!(size(f, P), n, "{f:?}");
    }
}

#[test]
fn pep3118_errors() {
    use Dialect::Pep3118 as P;
    use ErrorKind::*;
    for (f, kind, off) in [
        ("T{i", UnbalancedBrace, 3),
        ("i}", UnbalancedBrace, 1),
        ("(2,3i", BadShape, 4),
        ("(2,3", UnbalancedParen, 0),
        ("(2,)i", BadShape, 3),
        ("()i", BadShape, 1),
        ("i)", UnbalancedParen, 1),
        ("i::", BadFieldName, 2),
        ("i:a b:", BadFieldName, 3),
        ("i:abc", BadFieldName, 2),
        (":a:i", BadFieldName, 0),
        ("i:x:h:y:i:x:", DuplicateFieldName, 10),
        ("Zi", BadChar, 1),
        ("Z", MissingType, 1),
        ("&", MissingType, 1),
        ("(2)", MissingType, 3),
        ("<g", BadChar, 1),
        ("<Zg", BadChar, 1),
        ("=O", BadChar, 1),
        ("X{i}", BadChar, 0),
        ("Ti", BadChar, 0),
        ("3", CountWithoutCode, 0),
        ("T{3}", CountWithoutCode, 2),
        ("y", BadChar, 0),
        ("(9223372036854775807,2)i", TooLarge, 0),
        ("(3037000500,3037000500)c", TooLarge, 0),
    ] {
        assert_eq!(err(f, P), (kind, off), "{f:?}");
    }
    // A duplicate reports where the first name was.
    let e = Format::parse("i:x:h:y:i:x:", P).unwrap_err();
    assert_eq!(e.auxiliary_offset(), Some(2));
    // The same name in different structs is fine.
    assert_eq!(size("i:x:T{i:x:}:y:", P), 8);
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = "T{".repeat(10_000);
    let (kind, off) = err(&deep, Dialect::Pep3118);
    assert_eq!(kind, ErrorKind::NestingTooDeep);
    assert_eq!(off, 2 * MAX_DEPTH);
    let ptrs = "&".repeat(10_000) + "i";
    assert_eq!(err(&ptrs, Dialect::Pep3118).0, ErrorKind::NestingTooDeep);
    // Exactly the limit is fine.
    let ok = "T{".repeat(MAX_DEPTH) + "i" + &"}".repeat(MAX_DEPTH);
    assert_eq!(size(&ok, Dialect::Pep3118), 4);
}

#[test]
fn display_round_trips_and_keeps_structure() {
    let f = Format::parse(" (2, 3)4h :a: & T{ <i :b: Zd } :c:", Dialect::Pep3118).unwrap();
    assert_eq!(f.to_string(), "(2,3)4h:a:&T{<i:b:Zd}:c:");
    let g = Format::parse(&f.to_string(), Dialect::Pep3118).unwrap();
    assert_eq!(f, g);
    match &f.items()[1] {
        Item::Field(field) => {
            assert_eq!(field.name.as_deref(), Some("c"));
            assert!(matches!(field.kind, Kind::Pointer(..)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn fields_give_offsets() {
    let f = Format::parse("c T{ c i:x: } :s: h", Dialect::Pep3118).unwrap();
    let rows: Vec<(usize, usize, usize, String)> = f
        .fields()
        .into_iter()
        .map(|r| (r.depth, r.offset, r.size, r.spec))
        .collect();
    assert_eq!(
        rows,
        [
            (0, 0, 1, "c".to_owned()),
            (0, 4, 8, "T{ci:x:}".to_owned()),
            (1, 4, 1, "c".to_owned()),
            (1, 8, 4, "i".to_owned()),
            (0, 12, 2, "h".to_owned()),
        ]
    );
    assert_eq!(f.size(), 14);
}

#[test]
fn single_and_byte_formats() {
    let p = |s| Format::parse(s, Dialect::Struct).unwrap();
    assert_eq!(p("<h").single().map(|s| s.1), Some(Code::I16));
    assert!(p("B").is_byte_format());
    assert!(p("@c").is_byte_format());
    assert!(!p("<B").is_byte_format());
    assert!(!p("2B").is_byte_format());
}
