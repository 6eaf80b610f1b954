//! Rust element types and the strict matching rule.

use core::fmt;

use crate::ast::{Code, Order};
use crate::Format;

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that is the item of a one-code format: `u8` is `B`, `i16`
/// is `h`, `f32` is `f`, [`Le<u32>`] is `<I`, and so on.
///
/// The trait is sealed: every implementor is a plain number (or a
/// transparent wrapper of one) valid for every bit pattern, with no padding,
/// whose size is the code's size. Lower layers rely on that to view bytes
/// as `[T]`.
pub trait Element: sealed::Sealed + Copy + Send + Sync + 'static {
    /// The type's code.
    const CODE: Code;
    /// `Order::Native` for plain types, `Little` or `Big` for the wrappers.
    const ORDER: Order;
    /// The format string a buffer of this type exports (`"h"`, `"<I"`).
    const FORMAT: &'static str;
}

macro_rules! element {
    ($($t:ty => $code:ident, $c:literal;)*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const CODE: Code = Code::$code;
            const ORDER: Order = Order::Native;
            const FORMAT: &'static str = $c;
        }
    )*};
}

macro_rules! ordered_element {
    ($($t:ty => $code:ident, $c:literal;)*) => {$(
        impl sealed::Sealed for Le<$t> {}
        impl Element for Le<$t> {
            const CODE: Code = Code::$code;
            const ORDER: Order = Order::Little;
            const FORMAT: &'static str = concat!("<", $c);
        }
        impl sealed::Sealed for Be<$t> {}
        impl Element for Be<$t> {
            const CODE: Code = Code::$code;
            const ORDER: Order = Order::Big;
            const FORMAT: &'static str = concat!(">", $c);
        }
    )*};
}

element! {
    u8 => U8, "B";
    i8 => I8, "b";
    u16 => U16, "H";
    i16 => I16, "h";
    u32 => UInt, "I";
    i32 => Int, "i";
    u64 => U64, "Q";
    i64 => I64, "q";
    usize => USize, "N";
    isize => ISize, "n";
    f32 => F32, "f";
    f64 => F64, "d";
}

ordered_element! {
    u8 => U8, "B";
    i8 => I8, "b";
    u16 => U16, "H";
    i16 => I16, "h";
    u32 => UInt, "I";
    i32 => Int, "i";
    u64 => U64, "Q";
    i64 => I64, "q";
    f32 => F32, "f";
    f64 => F64, "d";
}

/// A value stored little-endian, whatever the host's order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Le<T>(T);

/// A value stored big-endian, whatever the host's order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Be<T>(T);

macro_rules! endian_wrappers {
    ($($t:ty),*) => {$(
        impl Le<$t> {
            /// Stores `v` little-endian.
            pub fn new(v: $t) -> Self { Le(<$t>::from_ne_bytes(v.to_le_bytes())) }
            /// The value, in the host's order.
            pub fn get(self) -> $t { <$t>::from_le_bytes(self.0.to_ne_bytes()) }
        }
        impl Be<$t> {
            /// Stores `v` big-endian.
            pub fn new(v: $t) -> Self { Be(<$t>::from_ne_bytes(v.to_be_bytes())) }
            /// The value, in the host's order.
            pub fn get(self) -> $t { <$t>::from_be_bytes(self.0.to_ne_bytes()) }
        }
    )*};
}

endian_wrappers!(u8, i8, u16, i16, u32, i32, u64, i64, f32, f64);

/// A typed request over data exported with another format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatMismatch {
    /// The format the consumer asked for.
    pub expected: String,
    /// The format the data was exported with.
    pub found: String,
}

impl fmt::Display for FormatMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "format mismatch: expected '{}', found '{}'",
            self.expected, self.found
        )
    }
}

impl std::error::Error for FormatMismatch {}

/// What one item of a single-code format is: code, size, little-endian.
fn effective(order: Order, code: Code) -> Option<(Code, usize, bool)> {
    let size = if order.native_sizes() {
        code.native_size_align().0
    } else {
        code.standard_size()?
    };
    Some((code, size, order.is_little_endian() || size == 1))
}

/// The strict matching rule between two formats.
///
/// It succeeds when either side is a byte format (`B`, `b`, `c`, with at
/// most a leading `@`), the escape hatch of `memoryview.cast`; or when both
/// are one and the same code with the same size and byte order (`<h`
/// matches `h` on a little-endian host, `h` never matches `H`, `l` never
/// matches `q`). Everything else is a [`FormatMismatch`].
pub fn check_match(expected: &Format, found: &Format) -> Result<(), FormatMismatch> {
    if expected.is_byte_format() || found.is_byte_format() {
        return Ok(());
    }
    let same = match (expected.single(), found.single()) {
        (Some((eo, ec)), Some((fo, fc))) => {
            effective(eo, ec).is_some() && effective(eo, ec) == effective(fo, fc)
        }
        _ => false,
    };
    if same {
        Ok(())
    } else {
        Err(FormatMismatch {
            expected: expected.to_string(),
            found: found.to_string(),
        })
    }
}

/// Whether data exported as `found` may be read as `[T]`: the strict
/// matching rule of [`check_match`] with `T`'s own format.
///
/// ```
/// use memview_format::{check_element, Dialect, Format};
/// let f = Format::parse("f", Dialect::Struct)?;
/// assert!(check_element::<f32>(&f).is_ok());
/// assert!(check_element::<u8>(&f).is_ok()); // bytes are the escape hatch
/// let err = check_element::<i32>(&f).unwrap_err();
/// assert_eq!(err.to_string(), "format mismatch: expected 'i', found 'f'");
/// # Ok::<(), memview_format::ParseError>(())
/// ```
pub fn check_element<T: Element>(found: &Format) -> Result<(), FormatMismatch> {
    if element_matches::<T>(found.single(), found.is_byte_format()) {
        Ok(())
    } else {
        Err(FormatMismatch {
            expected: T::FORMAT.to_string(),
            found: found.to_string(),
        })
    }
}

/// The strict matching rule for `T`, given what a format is: its single
/// code with its order (`None` when it is not one plain code) and whether
/// it is a byte format. For callers that cache those two facts instead of
/// keeping a parsed [`Format`].
pub fn element_matches<T: Element>(single: Option<(Order, Code)>, is_byte_format: bool) -> bool {
    if (T::CODE.is_byte_code() && T::ORDER == Order::Native) || is_byte_format {
        return true;
    }
    single
        .and_then(|(o, c)| effective(o, c))
        .is_some_and(|f| effective(T::ORDER, T::CODE) == Some(f))
}
