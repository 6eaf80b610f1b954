//! Structure-aware: an arbitrary AST that the library accepts prints to text
//! that parses back to the same AST.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memview_format::{Dialect, Format, Item};

fuzz_target!(|input: (bool, Vec<Item>)| {
    let (pep, items) = input;
    let d = if pep {
        Dialect::Pep3118
    } else {
        Dialect::Struct
    };
    // Reject what cannot be judged: ASTs the printed form cannot represent.
    let Ok(f) = Format::from_items(d, items.clone()) else {
        return;
    };
    assert_eq!(f.items(), items.as_slice());
    let again = Format::parse(&f.to_string(), d).expect("printed AST must parse");
    assert_eq!(again, f);
});
