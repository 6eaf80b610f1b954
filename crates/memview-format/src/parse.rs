//! The parser. nom stays in this module: it reads the tokens, the loop here
//! follows `_struct.c`'s single left-to-right scan, and every failure
//! becomes a [`ParseError`] with the byte offset of the first problem.

use nom::bytes::complete::{take_till, take_while, take_while1};
use nom::Parser;

use crate::ast::{Code, Dialect, Field, Item, Kind, Order};
use crate::error::{ErrorKind, ParseError};
use crate::layout::{field_units, Acc, Layout, PlaceError, MAX_SIZE};

/// How deep `T{` and `&` may nest before the parser refuses.
pub const MAX_DEPTH: usize = 64;

type In<'a> = &'a [u8];
type NomResult<'a, T> = nom::IResult<In<'a>, T, nom::error::Error<In<'a>>>;

/// C-locale `isspace`, what `_struct.c` skips.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn ws(input: In<'_>) -> In<'_> {
    let r: NomResult<'_, In<'_>> = take_while(is_c_space).parse(input);
    match r {
        Ok((rest, _)) => rest,
        Err(_) => input,
    }
}

fn digits(input: In<'_>) -> Option<(In<'_>, In<'_>)> {
    let r: NomResult<'_, In<'_>> = take_while1(|b: u8| b.is_ascii_digit()).parse(input);
    r.ok()
}

/// Parses a format string.
pub(crate) fn parse(input: &[u8], dialect: Dialect) -> Result<(Vec<Item>, Layout), ParseError> {
    // CPython checks for NUL before it scans (`'Z\0'` reports the NUL).
    if let Some(pos) = input.iter().position(|&b| b == 0) {
        return Err(ParseError::new(ErrorKind::NulByte, pos));
    }
    let mut p = Parser_ { input, dialect };
    match dialect {
        Dialect::Struct => p.struct_format(),
        Dialect::Pep3118 => {
            let (rest, items, acc) = p.scope(input, 0)?;
            if !rest.is_empty() {
                // `scope` returns early only at a `}`.
                return Err(ParseError::new(ErrorKind::UnbalancedBrace, p.off(rest)));
            }
            Ok((items, acc.finish()))
        }
    }
}

struct Parser_<'a> {
    input: In<'a>,
    dialect: Dialect,
}

impl<'a> Parser_<'a> {
    fn off(&self, rest: In<'a>) -> usize {
        self.input.len() - rest.len()
    }

    fn err(&self, kind: ErrorKind, at: In<'a>) -> ParseError {
        ParseError::new(kind, self.off(at))
    }

    /// A decimal count, checked against `isize::MAX` digit by digit.
    fn count(&self, input: In<'a>) -> Result<(In<'a>, Option<usize>), ParseError> {
        let Some((rest, ds)) = digits(input) else {
            return Ok((input, None));
        };
        let mut n: usize = 0;
        for &d in ds {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(d - b'0')))
                .filter(|&n| n <= MAX_SIZE)
                .ok_or_else(|| self.err(ErrorKind::TooLarge, input))?;
        }
        Ok((rest, Some(n)))
    }

    fn place(
        &self,
        acc: &mut Acc,
        field: &Field,
        inner: Option<Layout>,
        at: In<'a>,
        code_at: In<'a>,
    ) -> Result<(), ParseError> {
        field_units(field, acc.mode, inner)
            .and_then(|u| acc.place(u))
            .map(|_| ())
            .map_err(|e| match e {
                PlaceError::TooLarge => self.err(ErrorKind::TooLarge, at),
                PlaceError::NativeOnly => self.err(ErrorKind::BadChar, code_at),
            })
    }

    /// The struct dialect: `_struct.c`'s `prepare_s` loop.
    fn struct_format(&mut self) -> Result<(Vec<Item>, Layout), ParseError> {
        // Typical formats have a handful of items: allocate once.
        let mut items = Vec::with_capacity(self.input.len().min(8));
        let mut acc = Acc::new();
        let mut rest = self.input;
        if let Some((&b, tail)) = rest.split_first() {
            if let Some(order) = Order::from_byte(b).filter(|&o| o != Order::Unaligned) {
                items.push(Item::Order(order));
                acc.mode = order;
                rest = tail;
            }
        }
        loop {
            rest = ws(rest);
            if rest.is_empty() {
                break;
            }
            let start = rest;
            let (after, count) = self.count(rest)?;
            rest = after;
            let Some((&b, tail)) = rest.split_first() else {
                return Err(self.err(ErrorKind::CountWithoutCode, start));
            };
            let code = Code::from_byte(b)
                .filter(|c| c.is_struct_code())
                .ok_or_else(|| self.err(ErrorKind::BadChar, rest))?;
            let field = Field::scalar(count, code);
            self.place(&mut acc, &field, None, start, rest)?;
            items.push(Item::Field(field));
            rest = tail;
        }
        Ok((items, acc.finish()))
    }

    /// One PEP 3118 struct scope: items until the end or a `}` (not
    /// consumed). Each scope starts in native (`@`) mode, as in NumPy.
    fn scope(
        &mut self,
        input: In<'a>,
        depth: usize,
    ) -> Result<(In<'a>, Vec<Item>, Acc), ParseError> {
        let mut items = Vec::new();
        let mut acc = Acc::new();
        // Names seen in this scope and where, for duplicate detection.
        let mut names: Vec<(In<'a>, usize)> = Vec::new();
        let mut rest = input;
        loop {
            rest = ws(rest);
            let Some(&b) = rest.first() else { break };
            if b == b'}' {
                break;
            }
            if let Some(order) = Order::from_byte(b) {
                items.push(Item::Order(order));
                acc.mode = order;
                rest = &rest[1..];
                continue;
            }
            match b {
                b')' => return Err(self.err(ErrorKind::UnbalancedParen, rest)),
                b':' => return Err(self.err(ErrorKind::BadFieldName, rest)),
                _ => {}
            }
            let start = rest;
            let (after, shape) = self.shape(rest)?;
            rest = ws(after);
            // ctypes writes `(4)<i`: an order change between a shape and its
            // type applies from that field on, as if written before it.
            while let Some(order) = rest.first().and_then(|&b| Order::from_byte(b)) {
                if shape.is_none() {
                    break;
                }
                items.push(Item::Order(order));
                acc.mode = order;
                rest = ws(&rest[1..]);
            }
            let count_at = rest;
            let (after, count) = self.count(rest)?;
            rest = ws(after);
            if rest.is_empty() || rest[0] == b'}' {
                let kind = if count.is_some() {
                    ErrorKind::CountWithoutCode
                } else {
                    ErrorKind::MissingType
                };
                let at = if count.is_some() { count_at } else { rest };
                return Err(self.err(kind, at));
            }
            let code_at = rest;
            let (after, kind, inner) = self.kind(rest, depth)?;
            rest = ws(after);
            let mut name = None;
            if rest.first() == Some(&b':') {
                let (after, n) = self.name(rest)?;
                if let Some(&(_, first)) = names.iter().find(|(seen, _)| *seen == n) {
                    return Err(self
                        .err(ErrorKind::DuplicateFieldName, &rest[1..])
                        .with_aux(first));
                }
                names.push((n, self.off(&rest[1..])));
                name = Some(String::from_utf8_lossy(n).into());
                rest = after;
            }
            let field = Field {
                shape: shape.map(Vec::into_boxed_slice),
                count,
                kind,
                name,
            };
            self.place(&mut acc, &field, inner, start, code_at)?;
            items.push(Item::Field(field));
        }
        Ok((rest, items, acc))
    }

    /// An optional `(d1,d2,...)` shape.
    fn shape(&self, input: In<'a>) -> Result<(In<'a>, Option<Vec<usize>>), ParseError> {
        if input.first() != Some(&b'(') {
            return Ok((input, None));
        }
        let mut dims = Vec::new();
        let mut rest = &input[1..];
        loop {
            rest = ws(rest);
            let (after, d) = self.count(rest)?;
            let Some(d) = d else {
                return Err(self.shape_err(input, rest));
            };
            dims.push(d);
            rest = ws(after);
            match rest.first() {
                Some(b',') => rest = &rest[1..],
                Some(b')') => return Ok((&rest[1..], Some(dims))),
                _ => return Err(self.shape_err(input, rest)),
            }
        }
    }

    fn shape_err(&self, open: In<'a>, at: In<'a>) -> ParseError {
        if at.is_empty() {
            self.err(ErrorKind::UnbalancedParen, open)
        } else {
            self.err(ErrorKind::BadShape, at)
        }
    }

    /// `:name:`; the input starts at the first colon.
    fn name(&self, input: In<'a>) -> Result<(In<'a>, In<'a>), ParseError> {
        let body = &input[1..];
        let r: NomResult<'_, In<'_>> = take_till(|b: u8| b == b':').parse(body);
        let (rest, name) = r.map_err(|_| self.err(ErrorKind::BadFieldName, body))?;
        if rest.is_empty() || name.is_empty() {
            return Err(self.err(ErrorKind::BadFieldName, body));
        }
        if let Some(i) = name.iter().position(|&b| !(0x21..=0x7e).contains(&b)) {
            return Err(ParseError::new(ErrorKind::BadFieldName, self.off(body) + i));
        }
        Ok((&rest[1..], name))
    }

    /// A type: a code, `Zx`, `&type`, `T{...}` or `X{}`.
    fn kind(
        &mut self,
        input: In<'a>,
        depth: usize,
    ) -> Result<(In<'a>, Kind, Option<Layout>), ParseError> {
        let Some((&b, rest)) = input.split_first() else {
            return Err(self.err(ErrorKind::MissingType, input));
        };
        match b {
            b'T' => {
                let body = ws(rest);
                if body.first() != Some(&b'{') {
                    return Err(self.err(ErrorKind::BadChar, input));
                }
                if depth + 1 > MAX_DEPTH {
                    return Err(self.err(ErrorKind::NestingTooDeep, input));
                }
                let (after, items, acc) = self.scope(&body[1..], depth + 1)?;
                if after.first() != Some(&b'}') {
                    return Err(self.err(ErrorKind::UnbalancedBrace, after));
                }
                let layout = acc
                    .finish_nested()
                    .map_err(|_| self.err(ErrorKind::TooLarge, input))?;
                Ok((
                    &after[1..],
                    Kind::Struct(items.into_boxed_slice()),
                    Some(layout),
                ))
            }
            b'Z' => match rest.split_first() {
                Some((&c, tail)) if matches!(c, b'f' | b'd' | b'g') => {
                    let code =
                        Code::from_byte(c).ok_or_else(|| self.err(ErrorKind::BadChar, rest))?;
                    Ok((tail, Kind::Complex(code), None))
                }
                Some(_) => Err(self.err(ErrorKind::BadChar, rest)),
                None => Err(self.err(ErrorKind::MissingType, rest)),
            },
            b'&' => {
                if depth + 1 > MAX_DEPTH {
                    return Err(self.err(ErrorKind::NestingTooDeep, input));
                }
                let mut target = ws(rest);
                let order = target.first().and_then(|&b| Order::from_byte(b));
                if order.is_some() {
                    target = ws(&target[1..]);
                }
                if target.is_empty() || target[0] == b'}' || target[0] == b':' {
                    return Err(self.err(ErrorKind::MissingType, target));
                }
                let (after, inner, _) = self.kind(target, depth + 1)?;
                Ok((after, Kind::Pointer(order, Box::new(inner)), None))
            }
            b'X' => {
                if rest.starts_with(b"{}") {
                    Ok((&rest[2..], Kind::Function, None))
                } else {
                    Err(self.err(ErrorKind::BadChar, input))
                }
            }
            _ => {
                let code = Code::from_byte(b).ok_or_else(|| self.err(ErrorKind::BadChar, input))?;
                debug_assert!(self.dialect == Dialect::Pep3118);
                Ok((rest, Kind::Scalar(code), None))
            }
        }
    }
}
