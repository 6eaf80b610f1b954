#![doc = include_str!("../README.md")]
//!
//! ## Overview
//!
//! * [`Format::parse`] reads a format in one of two [`Dialect`]s: `Struct`
//!   accepts and rejects exactly what `struct.calcsize` does; `Pep3118`
//!   adds nested `T{...}` structs, `(2,3)` sub-arrays, `:name:` fields,
//!   `&` pointers, `Z` complex numbers, `g`, `O`, `u`, `w`, `t`, `X{}`, `^`
//!   and byte-order changes anywhere.
//! * [`Format::layout`] is `struct.calcsize` plus the alignment and the
//!   number of values; [`Format::fields`] gives every field's offset.
//! * [`Format::pack`] and [`Format::unpack`] convert between bytes and
//!   [`Value`]s with CPython's range checks.
//! * [`Element`] maps Rust types to codes, and [`check_element`] applies
//!   the strict matching rule: a buffer exported with one format is not
//!   read as another, except through the byte formats `B`, `b` and `c`.
//!
//! ## Sizes
//!
//! Native sizes and alignment are those of x86-64 LP64 (`l` is 8 bytes,
//! `g` 16), whatever the host. The top level never gets trailing padding
//! (`'lc'` is 9); a nested `T{...}` is padded to its alignment, as C and
//! NumPy lay out arrays of structs.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// docs.rs builds with `--cfg docsrs` on nightly: items behind a feature
// say so.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_debug_implementations)]

mod ast;
mod element;
mod error;
mod layout;
mod normalize;
mod pack;
mod parse;

use core::fmt;

pub use crate::ast::{Code, CountMeaning, Dialect, Field, Item, Kind, Order};
pub use crate::element::{
    check_element, check_match, element_matches, Be, Element, FormatMismatch, Le,
};
pub use crate::error::{ErrorKind, ParseError};
pub use crate::layout::{FieldLayout, Layout};
pub use crate::pack::{PackError, Value};
pub use crate::parse::MAX_DEPTH;

/// A parsed, validated format string with its layout.
///
/// Two formats are equal when they have the same dialect and the same
/// items; [`Format::normalized`] maps equivalent spellings to one.
#[derive(Clone, Debug)]
pub struct Format {
    dialect: Dialect,
    items: Vec<Item>,
    layout: Layout,
}

impl Format {
    /// Parses a format given as text.
    ///
    /// As in CPython, a non-ASCII character is reported first (as
    /// [`ErrorKind::BadChar`], where CPython's encoder fails), then a NUL
    /// byte, then the first problem of a left-to-right scan.
    pub fn parse(format: &str, dialect: Dialect) -> Result<Format, ParseError> {
        if let Some(pos) = format.bytes().position(|b| !b.is_ascii()) {
            return Err(ParseError::new(ErrorKind::BadChar, pos));
        }
        Format::parse_bytes(format.as_bytes(), dialect)
    }

    /// Parses a format given as bytes, as CPython treats a `bytes` format:
    /// a byte of 0x80 or above is an ordinary bad character.
    pub fn parse_bytes(format: &[u8], dialect: Dialect) -> Result<Format, ParseError> {
        let (items, layout) = parse::parse(format, dialect)?;
        Ok(Format {
            dialect,
            items,
            layout,
        })
    }

    /// Builds a format from items, validating them as the parser would.
    /// Items that would not survive printing and re-parsing (a name with a
    /// colon, a mid-string order change in the struct dialect, ...) are
    /// refused with the error the printed text gives.
    pub fn from_items(dialect: Dialect, items: Vec<Item>) -> Result<Format, ParseError> {
        let text = ast_display(&items);
        let parsed = Format::parse(&text, dialect)?;
        if parsed.items != items {
            // The printed text means something else: point at its start.
            return Err(ParseError::new(ErrorKind::BadChar, 0));
        }
        Ok(parsed)
    }

    /// The dialect the format was parsed with.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The parsed items, in order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Size, alignment and value count.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// `struct.calcsize`: the size in bytes of one item.
    pub fn size(&self) -> usize {
        self.layout.size
    }

    /// Every field with its offset, size and alignment, nested struct
    /// members after their struct (with a larger depth).
    pub fn fields(&self) -> Vec<FieldLayout> {
        let mut out = Vec::new();
        layout::collect_fields(&self.items, 0, 0, &mut out);
        out
    }

    /// If the format is one plain code (no count, shape or name) with an
    /// optional leading order character, that order and code.
    pub fn single(&self) -> Option<(Order, Code)> {
        let (order, rest) = match self.items.as_slice() {
            [Item::Order(o), rest @ ..] => (*o, rest),
            rest => (Order::Native, rest),
        };
        match rest {
            [Item::Field(Field {
                shape: None,
                count: None | Some(1),
                kind: Kind::Scalar(code),
                name: None,
            })] => Some((order, *code)),
            _ => None,
        }
    }

    /// Whether the format is `B`, `b` or `c`, with at most a leading `@`:
    /// the formats memoryview lets any buffer be cast to and from.
    pub fn is_byte_format(&self) -> bool {
        layout::is_plain_byte(&self.items).is_some()
    }
}

impl PartialEq for Format {
    fn eq(&self, other: &Format) -> bool {
        self.dialect == other.dialect && self.items == other.items
    }
}

impl Eq for Format {}

impl fmt::Display for Format {
    /// Prints the format so that parsing the text in the same dialect gives
    /// an equal `Format` (whitespace is not kept).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        ast::write_items(f, &self.items)
    }
}

pub(crate) fn ast_display(items: &[Item]) -> String {
    struct D<'a>(&'a [Item]);
    impl fmt::Display for D<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            ast::write_items(f, self.0)
        }
    }
    D(items).to_string()
}
