//! Operations that read values: `hex`, `tolist` and equality, with
//! memoryview's rules.

use memview_format::{Code, Dialect, Format, Value};

use crate::error::ViewError;
use crate::view::View;

/// The result of [`View::tolist`]: a value, or a list of them (nested as
/// deep as the view has dimensions).
#[derive(Clone, Debug, PartialEq)]
pub enum List {
    /// An item (0-d views give one).
    Item(Value),
    /// One axis.
    List(Vec<List>),
}

pub(crate) fn hex(bytes: &[u8], sep: Option<char>, per: isize) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 3);
    let n = per.unsigned_abs();
    for (i, b) in bytes.iter().enumerate() {
        if let Some(s) = sep {
            if n > 0 && i > 0 {
                // Positive groups count from the right, negative from the left.
                let boundary = if per > 0 {
                    (bytes.len() - i).is_multiple_of(n)
                } else {
                    i % n == 0
                };
                if boundary {
                    out.push(s);
                }
            }
        }
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// The codes memoryview's `tolist` and item access understand (3.11).
fn tolist_code(v: &View<'_>) -> Result<Format, ViewError> {
    let fmt = v.item_format();
    let unsupported = || ViewError::UnsupportedFormat {
        format: fmt.as_str().to_owned(),
        single_char: fmt.as_str().strip_prefix('@').unwrap_or(fmt.as_str()).len() == 1,
    };
    let code = fmt.native_code().ok_or_else(unsupported)?;
    let ok = matches!(
        code,
        Code::Char
            | Code::Bool
            | Code::I8
            | Code::U8
            | Code::I16
            | Code::U16
            | Code::Int
            | Code::UInt
            | Code::Long
            | Code::ULong
            | Code::I64
            | Code::U64
            | Code::ISize
            | Code::USize
            | Code::VoidPtr
            | Code::F32
            | Code::F64
    );
    if !ok {
        return Err(unsupported());
    }
    Format::parse(fmt.as_str(), Dialect::Struct).map_err(ViewError::Format)
}

fn unpack1(f: &Format, item: &[u8]) -> Value {
    match f.unpack(item) {
        Ok(mut v) if v.len() == 1 => v.swap_remove(0),
        // Unreachable for the single codes `tolist_code` admits, whose
        // item is exactly the format's size.
        _ => Value::Bytes(item.to_vec()),
    }
}

pub(crate) fn tolist(v: &View<'_>) -> Result<List, ViewError> {
    let f = tolist_code(v)?;
    // Every list is reserved before it is filled, fallibly: a view with a
    // zero extent holds no items but can still ask for any number of
    // empty lists (shape `[1 << 40, 0]`), which must be an error, not an
    // abort.
    let entries = list_entries(v.shape());
    let mut items = v.items().map(|it| unpack1(&f, it));
    build(v.shape(), &mut items).ok_or(ViewError::ListTooLarge { entries })
}

/// How many entries the nested lists of `shape` hold in all (saturating).
fn list_entries(shape: &[usize]) -> usize {
    let (mut level, mut total) = (1usize, 0usize);
    for &d in shape {
        level = level.saturating_mul(d);
        total = total.saturating_add(level);
    }
    total
}

/// The nested lists, or `None` where one could not be reserved.
fn build(shape: &[usize], items: &mut impl Iterator<Item = Value>) -> Option<List> {
    match shape.split_first() {
        None => Some(List::Item(items.next().unwrap_or(Value::Int(0)))),
        Some((&d, rest)) => {
            let mut list = Vec::new();
            list.try_reserve_exact(d).ok()?;
            for _ in 0..d {
                list.push(build(rest, items)?);
            }
            Some(List::List(list))
        }
    }
}

/// Python's `==` between two unpacked values.
fn py_eq(a: &Value, b: &Value) -> bool {
    fn num(v: &Value) -> Option<f64> {
        match v {
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Float(x) => Some(*x),
            _ => None,
        }
    }
    match (a, b) {
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::Bytes(_), _) | (_, Value::Bytes(_)) => false,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int(x), Value::Bool(y)) | (Value::Bool(y), Value::Int(x)) => *x == i128::from(*y),
        (Value::Int(i), other) | (other, Value::Int(i)) => {
            // int == float compares exactly in Python.
            num(other).is_some_and(|f| {
                f.fract() == 0.0 && f.is_finite() && (f as i128) == *i && (*i as f64) == f
            })
        }
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

impl PartialEq for View<'_> {
    /// memoryview's `==`: logical and element-wise, strides ignored;
    /// shapes equal up to the first zero extent; the same native single
    /// code compares as C values (NaN is never equal, even to itself; `?`
    /// items compare their stored bytes, as CPython's do);
    /// anything else goes through `struct`, so `'c'` never equals `'B'`
    /// and a format struct rejects is never equal.
    fn eq(&self, other: &View<'_>) -> bool {
        if self.ndim() != other.ndim() {
            return false;
        }
        for (a, b) in self.shape().iter().zip(other.shape()) {
            if a != b {
                return false;
            }
            if *a == 0 {
                return true;
            }
        }
        let (fa, fb) = (self.item_format(), other.item_format());
        if let (Some(ca), Some(cb)) = (fa.native_code(), fb.native_code()) {
            if ca == cb && self.itemsize() == other.itemsize() {
                return native_eq(ca, self, other);
            }
        }
        let (Ok(pa), Ok(pb)) = (
            Format::parse(fa.as_str(), Dialect::Struct),
            Format::parse(fb.as_str(), Dialect::Struct),
        ) else {
            return false;
        };
        self.items()
            .zip(other.items())
            .all(|(x, y)| match (pa.unpack(x), pb.unpack(y)) {
                (Ok(xs), Ok(ys)) => {
                    xs.len() == ys.len() && xs.iter().zip(&ys).all(|(p, q)| py_eq(p, q))
                }
                _ => false,
            })
    }
}

fn native_eq(code: Code, a: &View<'_>, b: &View<'_>) -> bool {
    let mut pairs = a.items().zip(b.items());
    match code {
        Code::F32 => pairs
            .map(|(x, y)| (f32_of(x), f32_of(y)))
            .all(|(x, y)| x == y),
        Code::F64 => pairs
            .map(|(x, y)| (f64_of(x), f64_of(y)))
            .all(|(x, y)| x == y),
        // `?` compares the stored bytes as CPython's `unpack_cmp` does
        // (`memoryview(b'\x01').cast('?') != memoryview(b'\x02').cast('?')`),
        // like every other native integer code.
        _ => pairs.all(|(x, y)| x == y),
    }
}

fn f32_of(b: &[u8]) -> f32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    f32::from_ne_bytes(a)
}

fn f64_of(b: &[u8]) -> f64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    f64::from_ne_bytes(a)
}
