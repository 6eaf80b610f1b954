//! Parse errors, their kinds, and the caret rendering.

use core::fmt;

/// A format string that could not be parsed.
///
/// It carries what went wrong ([`ErrorKind`]), where ([`ParseError::offset`],
/// a byte offset into the input) and, for duplicate field names, where the
/// first occurrence was ([`ParseError::auxiliary_offset`]). Render it under
/// the input with [`ParseError::caret`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    kind: ErrorKind,
    offset: usize,
    aux: Option<usize>,
}

/// What made a format string invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An unknown code, whitespace between a count and its code, a prefix
    /// anywhere but first (struct dialect), a native-only code such as `n`
    /// under a standard prefix, or a non-ASCII character. Example: `'2 h'`.
    BadChar,
    /// Digits at the end of the format, with no code after them. Example:
    /// `'i3'`.
    CountWithoutCode,
    /// A count, a shape product or the total size exceeds `isize::MAX`.
    /// Example: `'9223372036854775808x'`.
    TooLarge,
    /// A NUL byte anywhere in the format. Example: `'h\0'`.
    NulByte,
    /// `T{` without its closing `}`, or a `}` with no `T{`. Example: `'T{i'`.
    UnbalancedBrace,
    /// A sub-array shape without its `)`, or a stray `)`. Example: `'(2,3i'`.
    UnbalancedParen,
    /// A shape that is not a comma-separated list of decimal extents.
    /// Example: `'(2,)i'`.
    BadShape,
    /// A `:name:` that is empty, unterminated, holds a character other than
    /// printable ASCII, or follows nothing. Example: `'i::'`.
    BadFieldName,
    /// The same field name twice in one struct. Example: `'i:x:i:x:'`.
    DuplicateFieldName,
    /// Structs, pointers or sub-arrays nested deeper than [`crate::MAX_DEPTH`].
    NestingTooDeep,
    /// A type that is missing where one is required, e.g. after `&`, `Z`
    /// or a shape. Example: `'(2)'`.
    MissingType,
}

impl ErrorKind {
    /// The kind's stable kebab-case name, as the CLI's JSON reports it.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::BadChar => "bad-char",
            ErrorKind::CountWithoutCode => "count-without-code",
            ErrorKind::TooLarge => "too-large",
            ErrorKind::NulByte => "nul-byte",
            ErrorKind::UnbalancedBrace => "unbalanced-brace",
            ErrorKind::UnbalancedParen => "unbalanced-paren",
            ErrorKind::BadShape => "bad-shape",
            ErrorKind::BadFieldName => "bad-field-name",
            ErrorKind::DuplicateFieldName => "duplicate-field-name",
            ErrorKind::NestingTooDeep => "nesting-too-deep",
            ErrorKind::MissingType => "missing-type",
        }
    }

    /// The message, lowercase with no trailing period. The struct kinds
    /// use CPython 3.11's exact texts.
    pub fn message(self) -> &'static str {
        match self {
            ErrorKind::BadChar => "bad char in struct format",
            ErrorKind::CountWithoutCode => "repeat count given without format specifier",
            ErrorKind::TooLarge => "total struct size too long",
            ErrorKind::NulByte => "embedded null character",
            ErrorKind::UnbalancedBrace => "unbalanced brace in struct",
            ErrorKind::UnbalancedParen => "unbalanced parenthesis in sub-array shape",
            ErrorKind::BadShape => "sub-array shape must be comma-separated decimal extents",
            ErrorKind::BadFieldName => {
                "field name must be non-empty printable ascii between colons after a field"
            }
            ErrorKind::DuplicateFieldName => "duplicate field name",
            ErrorKind::NestingTooDeep => "nesting too deep",
            ErrorKind::MissingType => "expected a type",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl ParseError {
    pub(crate) fn new(kind: ErrorKind, offset: usize) -> ParseError {
        ParseError {
            kind,
            offset,
            aux: None,
        }
    }

    pub(crate) fn with_aux(mut self, aux: usize) -> ParseError {
        self.aux = Some(aux);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The byte offset in the input where the problem was found.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// For [`ErrorKind::DuplicateFieldName`], the byte offset of the first
    /// occurrence of the name.
    pub fn auxiliary_offset(&self) -> Option<usize> {
        self.aux
    }

    /// Renders the input with a caret under the offending byte (and a dash
    /// under the first occurrence of a duplicate name), then the message.
    /// Control characters and non-ASCII bytes are shown escaped, and the
    /// caret follows the escaped text.
    ///
    /// ```
    /// use memview_format::{Dialect, Format};
    /// let err = Format::parse("<h 2 i", Dialect::Struct).unwrap_err();
    /// assert_eq!(
    ///     err.caret("<h 2 i"),
    ///     "<h 2 i\n    ^\nerror at byte 4: bad char in struct format",
    /// );
    /// ```
    pub fn caret(&self, input: &str) -> String {
        CaretFormatter {
            err: self,
            input: input.as_bytes(),
        }
        .to_string()
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error at byte {}: {}", self.offset, self.kind)
    }
}

impl std::error::Error for ParseError {}

/// Draws an error under its input; kept apart from `ParseError` so the
/// error itself stays small.
struct CaretFormatter<'a> {
    err: &'a ParseError,
    input: &'a [u8],
}

impl fmt::Display for CaretFormatter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = String::new();
        // Column (in rendered characters) where each input byte starts.
        let mut cols = Vec::with_capacity(self.input.len() + 1);
        for &b in self.input {
            cols.push(line.len());
            match b {
                0x20..=0x7e => line.push(b as char),
                b'\t' => line.push_str("\\t"),
                b'\n' => line.push_str("\\n"),
                b'\r' => line.push_str("\\r"),
                0 => line.push_str("\\0"),
                _ => line.push_str(&format!("\\x{b:02x}")),
            }
        }
        cols.push(line.len());
        let col_of = |off: usize| cols.get(off).copied().unwrap_or(line.len());
        let mut marks = vec![b' '; line.len() + 1];
        if let Some(aux) = self.err.aux {
            if let Some(m) = marks.get_mut(col_of(aux)) {
                *m = b'-';
            }
        }
        if let Some(m) = marks.get_mut(col_of(self.err.offset)) {
            *m = b'^';
        }
        while marks.last() == Some(&b' ') {
            marks.pop();
        }
        let marks = String::from_utf8_lossy(&marks);
        write!(f, "{line}\n{marks}\n{}", self.err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_escapes_control_characters() {
        let err = ParseError::new(ErrorKind::NulByte, 2);
        assert_eq!(
            err.caret("h\n\0"),
            "h\\n\\0\n   ^\nerror at byte 2: embedded null character"
        );
    }

    #[test]
    fn caret_marks_the_first_duplicate() {
        let err = ParseError::new(ErrorKind::DuplicateFieldName, 6).with_aux(2);
        assert_eq!(
            err.caret("i:x:i:x:"),
            "i:x:i:x:\n  -   ^\nerror at byte 6: duplicate field name"
        );
    }

    #[test]
    fn caret_past_the_end() {
        let err = ParseError::new(ErrorKind::UnbalancedBrace, 3);
        assert_eq!(
            err.caret("T{i"),
            "T{i\n   ^\nerror at byte 3: unbalanced brace in struct"
        );
    }
}
