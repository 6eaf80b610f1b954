//! Property tests: display round-trips, the normal form keeps the layout,
//! field offsets ascend and fit.

use memview_format::{Dialect, Format};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "x", "c", "b", "B", "?", "h", "H", "i", "I", "l", "L", "q", "Q", "n", "N", "e", "f",
            "d", "s", "p", "P", "g", "O", "u", "w", "t", "Zf", "Zd", "Zg", "&i", "&T{h}", "X{}",
            "@", "=", "<", ">", "!", "^", " ", ":a:", ":b:", "T{", "}", "(2,3)", "(1)", "0", "3",
            "12",
        ])
        .prop_map(str::to_owned),
        (0usize..40).prop_map(|n| n.to_string()),
    ]
}

fn format_text() -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn display_round_trips(text in format_text(), pep in any::<bool>()) {
        let d = if pep { Dialect::Pep3118 } else { Dialect::Struct };
        if let Ok(f) = Format::parse(&text, d) {
            let again = Format::parse(&f.to_string(), d).unwrap();
            prop_assert_eq!(&again, &f);
            prop_assert_eq!(again.layout(), f.layout());
        }
    }

    #[test]
    fn normal_form_keeps_layout_and_is_idempotent(text in format_text(), pep in any::<bool>()) {
        let d = if pep { Dialect::Pep3118 } else { Dialect::Struct };
        if let Ok(f) = Format::parse(&text, d) {
            let n = f.normalized();
            prop_assert_eq!(n.layout(), f.layout(), "{} -> {}", f, n);
            prop_assert_eq!(n.normalized(), n.clone());
            prop_assert!(n.to_string().len() <= f.to_string().len() + 2);
        }
    }

    #[test]
    fn field_offsets_ascend_and_fit(text in format_text()) {
        if let Ok(f) = Format::parse(&text, Dialect::Pep3118) {
            let mut last_end = vec![0usize; 70];
            // Where the struct each depth's fields belong to starts: a
            // field is aligned within its struct, and an aligned struct may
            // sit unaligned in a standard-size scope (`x=T{h}`).
            let mut start = vec![0usize; 70];
            for row in f.fields() {
                prop_assert!(row.offset >= last_end[row.depth], "{}: {:?}", f, row);
                prop_assert!(row.offset + row.size <= f.size() || f.size() == 0 && row.size == 0,
                    "{}: {:?}", f, row);
                if row.align > 1 {
                    prop_assert_eq!((row.offset - start[row.depth]) % row.align, 0, "{}: {:?}", f, row);
                }
                last_end[row.depth] = row.offset + row.size;
                for e in &mut last_end[row.depth + 1..] {
                    *e = row.offset;
                }
                for e in &mut start[row.depth + 1..] {
                    *e = row.offset;
                }
            }
        }
    }

    #[test]
    fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = Format::parse_bytes(&bytes, Dialect::Struct);
        let _ = Format::parse_bytes(&bytes, Dialect::Pep3118);
    }
}
