//! Every input the fuzzers ever crashed on, replayed through the same
//! properties the `format_parse` target checks (tests/data/fuzz/).

use memview_format::{Dialect, Format, MAX_DEPTH};

fn check(data: &[u8]) {
    for d in [Dialect::Struct, Dialect::Pep3118] {
        let Ok(f) = Format::parse_bytes(data, d) else {
            continue;
        };
        let again = Format::parse(&f.to_string(), d).unwrap();
        assert_eq!(again, f);
        assert_eq!(f.normalized().layout(), f.layout());
        let mut last_end = [0usize; MAX_DEPTH + 2];
        for row in f.fields() {
            assert!(row.offset >= last_end[row.depth], "{f}: {row:?}");
            assert!(row.offset + row.size <= f.size(), "{f}: {row:?}");
            last_end[row.depth] = row.offset + row.size;
            for e in &mut last_end[row.depth + 1..] {
                *e = row.offset;
            }
        }
    }
}

#[test]
fn fuzz_regressions() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fuzz");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        check(&std::fs::read(&path).unwrap());
        n += 1;
    }
    assert!(n >= 1, "no regression inputs found in {dir}");
}

#[test]
fn zero_count_struct_lists_no_members() {
    // Found by format_parse: `0T{P}` has no instance, so no member rows.
    let f = Format::parse("\tL!0T{P}!\tL", Dialect::Pep3118).unwrap();
    assert_eq!(f.size(), 12);
    assert_eq!(f.fields().len(), 3);
}
