//! `pack` and `unpack` with CPython's rules.

use core::fmt;

use crate::ast::{Code, CountMeaning, Item, Kind, Order};
use crate::layout::{field_units, struct_layout, Acc};
use crate::Format;

/// One value of a packed item, as Python would hold it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `?`
    Bool(bool),
    /// The integer codes (`b` to `Q`, `n`, `N`, `P`).
    Int(i128),
    /// `e`, `f` and `d`.
    Float(f64),
    /// `c` (length 1), `s` and `p`.
    Bytes(Vec<u8>),
}

/// Why values could not be packed or unpacked.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PackError {
    /// `pack expected N items for packing (got M)`.
    ItemCount {
        /// Values the format takes.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// `unpack requires a buffer of N bytes` (or pack into a buffer of the
    /// wrong size).
    BufferSize {
        /// Bytes the format takes.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// An integer outside the code's range.
    OutOfRange {
        /// The code.
        code: char,
        /// Smallest value allowed.
        min: i128,
        /// Largest value allowed.
        max: i128,
    },
    /// A float too large for `e`, or for `f` under a standard prefix.
    FloatOverflow {
        /// The code.
        code: char,
    },
    /// A value of the wrong type for its code (value index given).
    WrongType {
        /// The code.
        code: char,
        /// The index of the value among all values.
        index: usize,
    },
    /// A code pack and unpack do not handle (PEP 3118 only: `g`, `O`, `Z`,
    /// `&`, `u`, `w`, `t`, `X{}`).
    Unsupported {
        /// The code's text.
        code: String,
    },
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PackError::ItemCount { expected, got } => {
                write!(f, "pack expected {expected} items for packing (got {got})")
            }
            PackError::BufferSize { expected, got } => write!(
                f,
                "unpack requires a buffer of {expected} bytes (got {got})"
            ),
            PackError::OutOfRange { code, min, max } => {
                write!(f, "'{code}' format requires {min} <= number <= {max}")
            }
            PackError::FloatOverflow { code } => {
                write!(f, "float too large to pack with {code} format")
            }
            PackError::WrongType { code, index } => match code {
                'c' => write!(
                    f,
                    "char format requires a bytes object of length 1 (item {index})"
                ),
                's' | 'p' => write!(
                    f,
                    "argument for '{code}' must be a bytes object (item {index})"
                ),
                'e' | 'f' | 'd' => write!(f, "required argument is not a float (item {index})"),
                _ => write!(f, "required argument is not an integer (item {index})"),
            },
            PackError::Unsupported { code } => {
                write!(f, "format code '{code}' cannot be packed or unpacked")
            }
        }
    }
}

impl std::error::Error for PackError {}

/// One leaf of a format: a code at an offset, expanded from counts.
#[derive(Clone, Copy, Debug)]
struct Leaf {
    offset: usize,
    code: Code,
    /// For `s` and `p`: the string length.
    len: usize,
    order: Order,
}

/// Calls `f` for every value slot of `items`, in order.
fn walk<E>(
    items: &[Item],
    base: usize,
    f: &mut impl FnMut(Leaf) -> Result<(), E>,
    unsupported: impl Fn(String) -> E + Copy,
) -> Result<(), E> {
    let mut acc = Acc::new();
    for item in items {
        let field = match item {
            Item::Order(o) => {
                acc.mode = *o;
                continue;
            }
            Item::Field(field) => field,
        };
        let inner = match &field.kind {
            Kind::Struct(i) => Some(struct_layout(i)),
            _ => None,
        };
        let Ok(units) = field_units(field, acc.mode, inner) else {
            return Err(unsupported(String::from("?")));
        };
        let Ok(offset) = acc.place(units) else {
            return Err(unsupported(String::from("?")));
        };
        let offset = base + offset;
        match &field.kind {
            Kind::Struct(inner_items) => {
                let stride = units.unit;
                for k in 0..units.n {
                    walk(inner_items, offset + k * stride, f, unsupported)?;
                }
            }
            Kind::Scalar(code) if code.is_struct_code() => {
                let count = field.count.unwrap_or(1);
                let shape_n: usize = field.shape.iter().flatten().product();
                match code.count_meaning() {
                    CountMeaning::Padding => {}
                    CountMeaning::Length => {
                        for k in 0..shape_n {
                            f(Leaf {
                                offset: offset + k * count,
                                code: *code,
                                len: count,
                                order: acc.mode,
                            })?;
                        }
                    }
                    _ => {
                        for k in 0..units.n {
                            f(Leaf {
                                offset: offset + k * units.unit,
                                code: *code,
                                len: units.unit,
                                order: acc.mode,
                            })?;
                        }
                    }
                }
            }
            other => {
                let mut tmp = field.clone();
                tmp.kind = other.clone();
                tmp.shape = None;
                tmp.count = None;
                tmp.name = None;
                return Err(unsupported(crate::ast_display(&[Item::Field(tmp)])));
            }
        }
    }
    Ok(())
}

fn int_range(code: Code, order: Order) -> (i128, i128) {
    let native = order.native_sizes();
    match code {
        Code::I8 => (-128, 127),
        Code::U8 => (0, 255),
        Code::I16 => (i16::MIN.into(), i16::MAX.into()),
        Code::U16 => (0, u16::MAX.into()),
        Code::Int => (i32::MIN.into(), i32::MAX.into()),
        Code::UInt => (0, u32::MAX.into()),
        Code::Long if !native => (i32::MIN.into(), i32::MAX.into()),
        Code::ULong if !native => (0, u32::MAX.into()),
        Code::Long | Code::I64 | Code::ISize => (i64::MIN.into(), i64::MAX.into()),
        Code::ULong | Code::U64 | Code::USize => (0, u64::MAX.into()),
        // `P` takes negative values too: pack('P', -1) is all 0xff.
        Code::VoidPtr => (i64::MIN.into(), u64::MAX.into()),
        _ => (0, 0),
    }
}

fn put(out: &mut [u8], bytes: &[u8], little: bool) {
    // `bytes` is little-endian; reverse for big-endian formats.
    if little {
        out.copy_from_slice(bytes);
    } else {
        for (o, b) in out.iter_mut().zip(bytes.iter().rev()) {
            *o = *b;
        }
    }
}

fn get(inp: &[u8], little: bool) -> [u8; 8] {
    let mut le = [0u8; 8];
    let n = inp.len().min(8);
    if little {
        le[..n].copy_from_slice(&inp[..n]);
    } else {
        for (d, s) in le[..n].iter_mut().zip(inp[..n].iter().rev()) {
            *d = *s;
        }
    }
    le
}

impl Format {
    /// Packs `values` into a new buffer of [`Format::size`] bytes.
    pub fn pack(&self, values: &[Value]) -> Result<Vec<u8>, PackError> {
        let mut out = vec![0u8; self.size()];
        self.pack_into(&mut out, values)?;
        Ok(out)
    }

    /// Packs `values` into `out`, which must be exactly [`Format::size`]
    /// bytes long. Pad bytes and string padding are written as zeros.
    pub fn pack_into(&self, out: &mut [u8], values: &[Value]) -> Result<(), PackError> {
        let items = self.layout().items;
        if values.len() != items {
            return Err(PackError::ItemCount {
                expected: items,
                got: values.len(),
            });
        }
        if out.len() != self.size() {
            return Err(PackError::BufferSize {
                expected: self.size(),
                got: out.len(),
            });
        }
        out.fill(0);
        let mut index = 0;
        walk(
            self.items(),
            0,
            &mut |leaf| {
                let v = &values[index];
                pack_one(
                    &mut out[leaf.offset..leaf.offset + leaf.len],
                    leaf,
                    v,
                    index,
                )?;
                index += 1;
                Ok(())
            },
            |code| PackError::Unsupported { code },
        )
    }

    /// Unpacks a buffer of exactly [`Format::size`] bytes.
    pub fn unpack(&self, buf: &[u8]) -> Result<Vec<Value>, PackError> {
        if buf.len() != self.size() {
            return Err(PackError::BufferSize {
                expected: self.size(),
                got: buf.len(),
            });
        }
        let mut out = Vec::with_capacity(self.layout().items.min(1 << 16));
        walk(
            self.items(),
            0,
            &mut |leaf| {
                out.push(unpack_one(&buf[leaf.offset..leaf.offset + leaf.len], leaf));
                Ok(())
            },
            |code| PackError::Unsupported { code },
        )?;
        Ok(out)
    }
}

fn pack_one(out: &mut [u8], leaf: Leaf, v: &Value, index: usize) -> Result<(), PackError> {
    let little = leaf.order.is_little_endian();
    let code = leaf.code;
    let wrong = || PackError::WrongType {
        code: code.as_char(),
        index,
    };
    match code {
        Code::Bool => {
            let truth = match v {
                Value::Bool(b) => *b,
                Value::Int(i) => *i != 0,
                Value::Float(x) => *x != 0.0,
                Value::Bytes(b) => !b.is_empty(),
            };
            out[0] = u8::from(truth);
        }
        Code::Char => match v {
            Value::Bytes(b) if b.len() == 1 => out[0] = b[0],
            _ => return Err(wrong()),
        },
        Code::Str => match v {
            Value::Bytes(b) => {
                let n = b.len().min(out.len());
                out[..n].copy_from_slice(&b[..n]);
            }
            _ => return Err(wrong()),
        },
        Code::Pascal => match v {
            Value::Bytes(b) => {
                if let Some((first, data)) = out.split_first_mut() {
                    let n = b.len().min(data.len()).min(255);
                    data[..n].copy_from_slice(&b[..n]);
                    *first = n as u8;
                }
            }
            _ => return Err(wrong()),
        },
        Code::F16 | Code::F32 | Code::F64 => {
            let x = match v {
                Value::Float(x) => *x,
                Value::Int(i) => *i as f64,
                Value::Bool(b) => f64::from(u8::from(*b)),
                Value::Bytes(_) => return Err(wrong()),
            };
            let overflow = PackError::FloatOverflow {
                code: code.as_char(),
            };
            match code {
                Code::F16 => put(out, &f64_to_f16(x).ok_or(overflow)?.to_le_bytes(), little),
                Code::F32 => {
                    let y = x as f32;
                    // Native `f` packs an out-of-range value as inf, as a C
                    // cast does; the standard sizes raise.
                    if y.is_infinite() && x.is_finite() && !leaf.order.native_sizes() {
                        return Err(overflow);
                    }
                    put(out, &y.to_le_bytes(), little);
                }
                _ => put(out, &x.to_le_bytes(), little),
            }
        }
        _ => {
            let i = match v {
                Value::Int(i) => *i,
                Value::Bool(b) => i128::from(*b),
                _ => return Err(wrong()),
            };
            let (min, max) = int_range(code, leaf.order);
            if i < min || i > max {
                return Err(PackError::OutOfRange {
                    code: code.as_char(),
                    min,
                    max,
                });
            }
            // Two's complement truncation is exact here: `i` is in range.
            let bytes = (i as u128).to_le_bytes();
            put(out, &bytes[..out.len()], little);
        }
    }
    Ok(())
}

fn unpack_one(inp: &[u8], leaf: Leaf) -> Value {
    let little = leaf.order.is_little_endian();
    match leaf.code {
        Code::Bool => Value::Bool(inp[0] != 0),
        Code::Char | Code::Str => Value::Bytes(inp.to_vec()),
        Code::Pascal => match inp.split_first() {
            Some((&n, data)) => Value::Bytes(data[..usize::from(n).min(data.len())].to_vec()),
            None => Value::Bytes(Vec::new()),
        },
        Code::F16 => {
            let b = get(inp, little);
            Value::Float(f16_to_f64(u16::from_le_bytes([b[0], b[1]])))
        }
        Code::F32 => {
            let b = get(inp, little);
            Value::Float(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        }
        Code::F64 => Value::Float(f64::from_le_bytes(get(inp, little))),
        code => {
            let raw = u64::from_le_bytes(get(inp, little));
            let bits = inp.len() * 8;
            let signed = matches!(
                code,
                Code::I8 | Code::I16 | Code::Int | Code::Long | Code::I64 | Code::ISize
            );
            let v = if signed && bits < 64 {
                let shift = 64 - bits;
                i128::from(((raw << shift) as i64) >> shift)
            } else if signed {
                i128::from(raw as i64)
            } else {
                i128::from(raw)
            };
            Value::Int(v)
        }
    }
}

/// Rounds half to even; `q` is non-negative and exact.
fn round_half_even(q: f64) -> u32 {
    let fl = q.floor();
    let diff = q - fl;
    let fl = fl as u32;
    if diff > 0.5 || (diff == 0.5 && fl % 2 == 1) {
        fl + 1
    } else {
        fl
    }
}

/// IEEE binary16 bits of `x`, rounded to nearest with ties to even, or
/// `None` when it is too large (`|x| >= 65520`), as `PyFloat_Pack2`.
pub(crate) fn f64_to_f16(x: f64) -> Option<u16> {
    let sign = u16::from(x.is_sign_negative()) << 15;
    if x.is_nan() {
        return Some(sign | 0x7e00);
    }
    if x.is_infinite() {
        return Some(sign | 0x7c00);
    }
    let a = x.abs();
    if a == 0.0 {
        return Some(sign);
    }
    if a < 2f64.powi(-14) {
        // Subnormal: units of 2^-24. A result of 1024 is the smallest
        // normal number, whose bits are exactly 0x0400.
        let r = round_half_even(a * 2f64.powi(24));
        return Some(sign | r as u16);
    }
    let mut e = ((a.to_bits() >> 52) & 0x7ff) as i32 - 1023;
    if e > 15 {
        return None;
    }
    let mant = a / 2f64.powi(e);
    let mut r = round_half_even((mant - 1.0) * 1024.0);
    if r == 1024 {
        r = 0;
        e += 1;
        if e > 15 {
            return None;
        }
    }
    Some(sign | (((e + 15) as u16) << 10) | r as u16)
}

/// The value of IEEE binary16 bits.
pub(crate) fn f16_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let e = i32::from((bits >> 10) & 0x1f);
    let m = f64::from(bits & 0x3ff);
    sign * match e {
        0 => m * 2f64.powi(-24),
        31 if m == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1.0 + m / 1024.0) * 2f64.powi(e - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_rounding_matches_cpython() {
        // Values checked with CPython: struct.pack('<e', x).
        assert_eq!(f64_to_f16(65519.0), Some(0x7bff));
        assert_eq!(f64_to_f16(65520.0), None);
        assert_eq!(f64_to_f16(1.0), Some(0x3c00));
        assert_eq!(f64_to_f16(-2.0), Some(0xc000));
        assert_eq!(f64_to_f16(5.960464477539063e-08), Some(0x0001));
        assert_eq!(f64_to_f16(2.9802322387695312e-08), Some(0x0000));
        assert_eq!(f64_to_f16(6.103515625e-05), Some(0x0400));
        assert_eq!(f64_to_f16(f64::NEG_INFINITY), Some(0xfc00));
        assert_eq!(f16_to_f64(0x7bff), 65504.0);
        assert_eq!(f16_to_f64(0x0001), 5.960464477539063e-08);
        assert!(f16_to_f64(0x7e00).is_nan());
    }
}
