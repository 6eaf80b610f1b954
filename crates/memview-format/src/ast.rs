//! The format AST: what a format string says, item by item.
//!
//! The types here are plain data. A [`crate::Format`] wraps a validated
//! sequence of [`Item`]s together with its computed layout; build one with
//! [`crate::Format::parse`] or [`crate::Format::from_items`].

use core::fmt;

/// Which grammar a format string is read with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Dialect {
    /// Exactly what CPython 3.11's `struct` module accepts.
    Struct,
    /// The PEP 3118 extended grammar, as NumPy reads it (a superset of
    /// `Struct`, with nested structs, sub-arrays, field names, ...).
    Pep3118,
}

impl Dialect {
    /// The dialect's lowercase name, as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Struct => "struct",
            Dialect::Pep3118 => "pep3118",
        }
    }
}

/// A byte-order / size / alignment mode character.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Order {
    /// `@`: native order, native sizes, native alignment (the default).
    Native,
    /// `=`: native order, standard sizes, no alignment.
    NativeStandard,
    /// `<`: little-endian, standard sizes, no alignment.
    Little,
    /// `>`: big-endian, standard sizes, no alignment.
    Big,
    /// `!`: network order (big-endian), standard sizes, no alignment.
    Network,
    /// `^`: native order, native sizes, no alignment (PEP 3118 only).
    Unaligned,
}

impl Order {
    /// The order's character.
    pub fn as_char(self) -> char {
        match self {
            Order::Native => '@',
            Order::NativeStandard => '=',
            Order::Little => '<',
            Order::Big => '>',
            Order::Network => '!',
            Order::Unaligned => '^',
        }
    }

    pub(crate) fn from_byte(b: u8) -> Option<Order> {
        Some(match b {
            b'@' => Order::Native,
            b'=' => Order::NativeStandard,
            b'<' => Order::Little,
            b'>' => Order::Big,
            b'!' => Order::Network,
            b'^' => Order::Unaligned,
            _ => return None,
        })
    }

    /// Whether items use native sizes (`@` and `^`) rather than standard ones.
    pub fn native_sizes(self) -> bool {
        matches!(self, Order::Native | Order::Unaligned)
    }

    /// Whether items are padded to their natural alignment (`@` only).
    pub fn aligned(self) -> bool {
        matches!(self, Order::Native)
    }

    /// Whether multi-byte values are stored little-endian.
    pub fn is_little_endian(self) -> bool {
        match self {
            Order::Native | Order::NativeStandard | Order::Unaligned => {
                cfg!(target_endian = "little")
            }
            Order::Little => true,
            Order::Big | Order::Network => false,
        }
    }
}

/// A one-character type code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[allow(missing_docs)] // each variant is documented by its character
pub enum Code {
    /// `x`: a pad byte.
    Pad,
    /// `c`: a char (bytes of length 1).
    Char,
    /// `b`
    I8,
    /// `B`
    U8,
    /// `?`
    Bool,
    /// `h`
    I16,
    /// `H`
    U16,
    /// `i`
    Int,
    /// `I`
    UInt,
    /// `l`
    Long,
    /// `L`
    ULong,
    /// `q`
    I64,
    /// `Q`
    U64,
    /// `n`: ssize_t (native only)
    ISize,
    /// `N`: size_t (native only)
    USize,
    /// `e`: IEEE 754 binary16
    F16,
    /// `f`
    F32,
    /// `d`
    F64,
    /// `s`: a byte string (the count is its length)
    Str,
    /// `p`: a Pascal string (the count is its length)
    Pascal,
    /// `P`: void* (native only)
    VoidPtr,
    /// `g`: long double (PEP 3118, native only)
    LongDouble,
    /// `O`: a Python object pointer (PEP 3118, native only)
    Object,
    /// `u`: a UCS-2 character (PEP 3118; the count is the length)
    Ucs2,
    /// `w`: a UCS-4 character (PEP 3118; the count is the length)
    Ucs4,
    /// `t`: a bit field (PEP 3118; the count is the width in bits)
    Bits,
}

/// How a code's count is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountMeaning {
    /// `N` repeats the item N times (`3h` is three values).
    Repeat,
    /// `N` is the length of one value (`3s` is one 3-byte value).
    Length,
    /// `N` pad bytes, no value.
    Padding,
    /// `N` bits in one value.
    BitWidth,
}

impl Code {
    /// Every code, in the order of the tables of CPython's documentation.
    pub const ALL: [Code; 26] = [
        Code::Pad,
        Code::Char,
        Code::I8,
        Code::U8,
        Code::Bool,
        Code::I16,
        Code::U16,
        Code::Int,
        Code::UInt,
        Code::Long,
        Code::ULong,
        Code::I64,
        Code::U64,
        Code::ISize,
        Code::USize,
        Code::F16,
        Code::F32,
        Code::F64,
        Code::Str,
        Code::Pascal,
        Code::VoidPtr,
        Code::LongDouble,
        Code::Object,
        Code::Ucs2,
        Code::Ucs4,
        Code::Bits,
    ];

    /// The code's character.
    pub fn as_char(self) -> char {
        self.as_byte() as char
    }

    pub(crate) fn as_byte(self) -> u8 {
        match self {
            Code::Pad => b'x',
            Code::Char => b'c',
            Code::I8 => b'b',
            Code::U8 => b'B',
            Code::Bool => b'?',
            Code::I16 => b'h',
            Code::U16 => b'H',
            Code::Int => b'i',
            Code::UInt => b'I',
            Code::Long => b'l',
            Code::ULong => b'L',
            Code::I64 => b'q',
            Code::U64 => b'Q',
            Code::ISize => b'n',
            Code::USize => b'N',
            Code::F16 => b'e',
            Code::F32 => b'f',
            Code::F64 => b'd',
            Code::Str => b's',
            Code::Pascal => b'p',
            Code::VoidPtr => b'P',
            Code::LongDouble => b'g',
            Code::Object => b'O',
            Code::Ucs2 => b'u',
            Code::Ucs4 => b'w',
            Code::Bits => b't',
        }
    }

    /// The code for a character, in either dialect.
    pub fn from_char(c: char) -> Option<Code> {
        u8::try_from(c).ok().and_then(Code::from_byte)
    }

    pub(crate) fn from_byte(b: u8) -> Option<Code> {
        Some(match b {
            b'x' => Code::Pad,
            b'c' => Code::Char,
            b'b' => Code::I8,
            b'B' => Code::U8,
            b'?' => Code::Bool,
            b'h' => Code::I16,
            b'H' => Code::U16,
            b'i' => Code::Int,
            b'I' => Code::UInt,
            b'l' => Code::Long,
            b'L' => Code::ULong,
            b'q' => Code::I64,
            b'Q' => Code::U64,
            b'n' => Code::ISize,
            b'N' => Code::USize,
            b'e' => Code::F16,
            b'f' => Code::F32,
            b'd' => Code::F64,
            b's' => Code::Str,
            b'p' => Code::Pascal,
            b'P' => Code::VoidPtr,
            b'g' => Code::LongDouble,
            b'O' => Code::Object,
            b'u' => Code::Ucs2,
            b'w' => Code::Ucs4,
            b't' => Code::Bits,
            _ => return None,
        })
    }

    /// Whether CPython 3.11's `struct` module knows this code.
    pub fn is_struct_code(self) -> bool {
        !matches!(
            self,
            Code::LongDouble | Code::Object | Code::Ucs2 | Code::Ucs4 | Code::Bits
        )
    }

    /// Whether the code exists only with native sizes (`@`, `^`, no prefix).
    pub fn native_only(self) -> bool {
        matches!(
            self,
            Code::ISize | Code::USize | Code::VoidPtr | Code::LongDouble | Code::Object
        )
    }

    /// How a count in front of this code is read.
    pub fn count_meaning(self) -> CountMeaning {
        match self {
            Code::Pad => CountMeaning::Padding,
            Code::Str | Code::Pascal | Code::Ucs2 | Code::Ucs4 => CountMeaning::Length,
            Code::Bits => CountMeaning::BitWidth,
            _ => CountMeaning::Repeat,
        }
    }

    /// `(size, alignment)` of one item with native sizes on x86-64 LP64.
    pub fn native_size_align(self) -> (usize, usize) {
        match self {
            Code::Pad | Code::Char | Code::I8 | Code::U8 | Code::Bool => (1, 1),
            Code::Str | Code::Pascal | Code::Bits => (1, 1),
            Code::I16 | Code::U16 | Code::F16 | Code::Ucs2 => (2, 2),
            Code::Int | Code::UInt | Code::F32 | Code::Ucs4 => (4, 4),
            Code::Long | Code::ULong | Code::I64 | Code::U64 => (8, 8),
            Code::ISize | Code::USize | Code::F64 | Code::VoidPtr | Code::Object => (8, 8),
            Code::LongDouble => (16, 16),
        }
    }

    /// Size of one item with standard sizes (`=`, `<`, `>`, `!`), or `None`
    /// for the native-only codes.
    pub fn standard_size(self) -> Option<usize> {
        if self.native_only() {
            return None;
        }
        Some(match self {
            Code::Long | Code::ULong => 4,
            other => other.native_size_align().0,
        })
    }

    /// Whether this is one of the byte formats `B`, `b` and `c`, the escape
    /// hatch of strict matching.
    pub fn is_byte_code(self) -> bool {
        matches!(self, Code::U8 | Code::I8 | Code::Char)
    }
}

/// What one field holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Kind {
    /// A plain code such as `h` or `3s`.
    Scalar(Code),
    /// `Z` followed by `f`, `d` or `g`: a complex number (PEP 3118).
    Complex(Code),
    /// `&` followed by a type, which may start with its own byte order
    /// (`&<i`, as ctypes writes it): a pointer to it (PEP 3118).
    Pointer(Option<Order>, Box<Kind>),
    /// `T{...}`: a nested structure (PEP 3118).
    Struct(Box<[Item]>),
    /// `X{}`: a function pointer (PEP 3118).
    Function,
}

/// One field: an optional sub-array shape, an optional count, what it holds
/// and an optional name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Field {
    /// `(2,3)` in front of the field (PEP 3118).
    pub shape: Option<Box<[usize]>>,
    /// The decimal count written in front of the code, if any.
    pub count: Option<usize>,
    /// What the field holds.
    pub kind: Kind,
    /// `:name:` after the field (PEP 3118).
    pub name: Option<Box<str>>,
}

impl Field {
    /// A field holding `count` (or one) of `code`, with no shape or name.
    pub fn scalar(count: Option<usize>, code: Code) -> Field {
        Field {
            shape: None,
            count,
            kind: Kind::Scalar(code),
            name: None,
        }
    }
}

/// One element of a format: a mode change or a field.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Item {
    /// A byte-order character; in the struct dialect only the first item.
    Order(Order),
    /// A field.
    Field(Field),
}

pub(crate) fn write_items(f: &mut fmt::Formatter<'_>, items: &[Item]) -> fmt::Result {
    for item in items {
        match item {
            Item::Order(o) => write!(f, "{}", o.as_char())?,
            Item::Field(field) => write_field(f, field)?,
        }
    }
    Ok(())
}

fn write_field(f: &mut fmt::Formatter<'_>, field: &Field) -> fmt::Result {
    if let Some(shape) = &field.shape {
        f.write_str("(")?;
        for (i, d) in shape.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str(")")?;
    }
    if let Some(n) = field.count {
        write!(f, "{n}")?;
    }
    write_kind(f, &field.kind)?;
    if let Some(name) = &field.name {
        write!(f, ":{name}:")?;
    }
    Ok(())
}

fn write_kind(f: &mut fmt::Formatter<'_>, kind: &Kind) -> fmt::Result {
    match kind {
        Kind::Scalar(c) => write!(f, "{}", c.as_char()),
        Kind::Complex(c) => write!(f, "Z{}", c.as_char()),
        Kind::Pointer(order, inner) => {
            f.write_str("&")?;
            if let Some(o) = order {
                write!(f, "{}", o.as_char())?;
            }
            write_kind(f, inner)
        }
        Kind::Struct(items) => {
            f.write_str("T{")?;
            write_items(f, items)?;
            f.write_str("}")
        }
        Kind::Function => f.write_str("X{}"),
    }
}
