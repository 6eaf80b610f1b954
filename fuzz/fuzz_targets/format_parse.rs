//! Any bytes, either dialect: never panics; what parses round-trips through
//! Display, keeps its layout in normal form, and has field offsets that
//! ascend and fit inside the itemsize.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memview_format::{Dialect, Format};

fuzz_target!(|data: &[u8]| {
    for d in [Dialect::Struct, Dialect::Pep3118] {
        let Ok(f) = Format::parse_bytes(data, d) else {
            continue;
        };
        let text = f.to_string();
        let again = Format::parse(&text, d).expect("display output must parse");
        assert_eq!(again, f, "display round-trip of {text:?}");
        assert_eq!(again.layout(), f.layout());
        let n = f.normalized();
        assert_eq!(n.layout(), f.layout(), "normal form {n} of {f}");
        let mut last_end = [0usize; memview_format::MAX_DEPTH + 2];
        for row in f.fields() {
            assert!(row.offset >= last_end[row.depth], "{f}: {row:?}");
            assert!(row.offset + row.size <= f.size(), "{f}: {row:?}");
            last_end[row.depth] = row.offset + row.size;
            for e in &mut last_end[row.depth + 1..] {
                *e = row.offset;
            }
        }
    }
});
