//! Sizes, alignment and offsets, computed exactly as `struct.calcsize`.

use crate::ast::{Code, CountMeaning, Field, Item, Kind, Order};

/// The largest size a format may have: `isize::MAX`, as in CPython.
pub(crate) const MAX_SIZE: usize = isize::MAX as usize;

/// The size, alignment and value count of a whole format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    /// `struct.calcsize`: bytes taken by one item of the format.
    pub size: usize,
    /// The largest alignment of any field placed with native alignment
    /// (`@`), or 1.
    pub align: usize,
    /// The number of values `pack` takes and `unpack` returns (`s` and `p`
    /// count one, `x` none), as in CPython.
    pub items: usize,
}

/// One row of [`crate::Format::fields`]: where a field lies inside one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldLayout {
    /// Nesting depth: 0 for top-level fields, 1 inside a `T{...}`, ...
    pub depth: usize,
    /// Byte offset from the start of the item (for fields of a nested
    /// struct: of its first element).
    pub offset: usize,
    /// Bytes taken by the field, counts and sub-array shape included.
    pub size: usize,
    /// Alignment the field was placed with (1 when not aligned).
    pub align: usize,
    /// Number of values the field contributes to `pack`.
    pub items: usize,
    /// The field as written, without its name (e.g. `3h`, `(2,2)T{ii}`).
    pub spec: String,
    /// The `:name:`, if any.
    pub name: Option<String>,
}

/// Why a field could not be placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PlaceError {
    /// A size or count went past `isize::MAX`.
    TooLarge,
    /// A native-only code under a standard-size mode.
    NativeOnly,
}

/// A field reduced to what layout needs: `n` units of `unit` bytes each,
/// aligned to `align`, contributing `items` values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Units {
    pub unit: usize,
    pub align: usize,
    pub n: usize,
    pub items: usize,
}

/// Size and alignment of one value of a non-struct kind under `mode`.
#[inline]
pub(crate) fn kind_size_align(kind: &Kind, mode: Order) -> Result<(usize, usize), PlaceError> {
    match kind {
        Kind::Scalar(code) | Kind::Complex(code) => {
            let mul = if matches!(kind, Kind::Complex(_)) {
                2
            } else {
                1
            };
            let (native, align) = code.native_size_align();
            let size = if mode.native_sizes() {
                native
            } else {
                code.standard_size().ok_or(PlaceError::NativeOnly)?
            };
            Ok((size * mul, align))
        }
        Kind::Pointer(..) | Kind::Function => Ok((8, 8)),
        // Structs are measured by their caller, which has their items.
        Kind::Struct(_) => Ok((0, 1)),
    }
}

/// Reduces a field to units, given the layout of its struct if it is one.
#[inline]
pub(crate) fn field_units(
    field: &Field,
    mode: Order,
    inner: Option<Layout>,
) -> Result<Units, PlaceError> {
    let count = field.count.unwrap_or(1);
    let mut u = match (&field.kind, inner) {
        (Kind::Struct(_), Some(l)) => Units {
            unit: l.size,
            align: l.align,
            n: count,
            items: count.checked_mul(l.items).ok_or(PlaceError::TooLarge)?,
        },
        (Kind::Scalar(code), _) => {
            let (size, align) = kind_size_align(&field.kind, mode)?;
            match code.count_meaning() {
                CountMeaning::Repeat => Units {
                    unit: size,
                    align,
                    n: count,
                    items: count,
                },
                CountMeaning::Length => Units {
                    unit: size,
                    align,
                    n: count,
                    items: 1,
                },
                CountMeaning::Padding => Units {
                    unit: 1,
                    align: 1,
                    n: count,
                    items: 0,
                },
                CountMeaning::BitWidth => Units {
                    unit: 1,
                    align: 1,
                    n: count.div_ceil(8),
                    items: 1,
                },
            }
        }
        (kind, _) => {
            let (size, align) = kind_size_align(kind, mode)?;
            Units {
                unit: size,
                align,
                n: count,
                items: count,
            }
        }
    };
    if let Some(shape) = &field.shape {
        for &d in shape {
            u.n = u.n.checked_mul(d).ok_or(PlaceError::TooLarge)?;
            u.items = u.items.checked_mul(d).ok_or(PlaceError::TooLarge)?;
        }
        if u.n > MAX_SIZE {
            return Err(PlaceError::TooLarge);
        }
    }
    Ok(u)
}

/// The running layout of one struct scope, placing fields one by one with
/// `_struct.c`'s arithmetic.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Acc {
    pub size: usize,
    pub align: usize,
    pub items: usize,
    pub mode: Order,
}

impl Acc {
    pub(crate) fn new() -> Acc {
        Acc {
            size: 0,
            align: 1,
            items: 0,
            mode: Order::Native,
        }
    }

    /// Places `u` and returns its offset.
    #[inline]
    pub(crate) fn place(&mut self, u: Units) -> Result<usize, PlaceError> {
        if self.mode.aligned() && u.align > 1 {
            self.align = self.align.max(u.align);
            // CPython pads only when something came before (the struct is
            // assumed to start aligned).
            if self.size > 0 {
                // Alignments are powers of two, so `% align` is a mask.
                debug_assert!(u.align.is_power_of_two());
                let extra = (u.align - 1) - ((self.size - 1) & (u.align - 1));
                if extra > MAX_SIZE - self.size {
                    return Err(PlaceError::TooLarge);
                }
                self.size += extra;
            }
        }
        let offset = self.size;
        // `n * unit > MAX - size`, CPython's test, without its division.
        self.size =
            u.n.checked_mul(u.unit)
                .and_then(|bytes| self.size.checked_add(bytes))
                .filter(|&total| total <= MAX_SIZE)
                .ok_or(PlaceError::TooLarge)?;
        self.items = self
            .items
            .checked_add(u.items)
            .ok_or(PlaceError::TooLarge)?;
        Ok(offset)
    }

    /// The layout of a finished top-level format (no trailing padding).
    pub(crate) fn finish(self) -> Layout {
        Layout {
            size: self.size,
            align: self.align,
            items: self.items,
        }
    }

    /// The layout of a finished nested struct: padded at the end to its
    /// alignment, as C (and NumPy) lay out an element of an array of them.
    pub(crate) fn finish_nested(self) -> Result<Layout, PlaceError> {
        let mut l = self.finish();
        let rem = l.size & (l.align - 1);
        if rem != 0 {
            l.size = l
                .size
                .checked_add(l.align - rem)
                .filter(|&s| s <= MAX_SIZE)
                .ok_or(PlaceError::TooLarge)?;
        }
        Ok(l)
    }
}

/// Walks validated items and records every field's placement.
pub(crate) fn collect_fields(
    items: &[Item],
    depth: usize,
    base: usize,
    out: &mut Vec<FieldLayout>,
) {
    let mut acc = Acc::new();
    for item in items {
        let field = match item {
            Item::Order(o) => {
                acc.mode = *o;
                continue;
            }
            Item::Field(f) => f,
        };
        let inner = match &field.kind {
            Kind::Struct(inner_items) => Some(struct_layout(inner_items)),
            _ => None,
        };
        // The items were validated when the format was built, so placing
        // them again cannot fail; stop quietly if it somehow does.
        let Ok(units) = field_units(field, acc.mode, inner) else {
            return;
        };
        let Ok(offset) = acc.place(units) else {
            return;
        };
        let mut spec_field = field.clone();
        spec_field.name = None;
        out.push(FieldLayout {
            depth,
            offset: base + offset,
            size: units.unit * units.n,
            align: if acc.mode.aligned() { units.align } else { 1 },
            items: units.items,
            spec: crate::ast_display(&[Item::Field(spec_field)]),
            name: field.name.as_deref().map(str::to_owned),
        });
        // A zero-count struct has no instance whose members could be listed.
        if let (Kind::Struct(inner_items), true) = (&field.kind, units.n > 0) {
            collect_fields(inner_items, depth + 1, base + offset, out);
        }
    }
}

/// The layout of validated nested-struct items.
pub(crate) fn struct_layout(items: &[Item]) -> Layout {
    let mut acc = Acc::new();
    for item in items {
        match item {
            Item::Order(o) => acc.mode = *o,
            Item::Field(f) => {
                let inner = match &f.kind {
                    Kind::Struct(i) => Some(struct_layout(i)),
                    _ => None,
                };
                if let Ok(u) = field_units(f, acc.mode, inner) {
                    let _ = acc.place(u);
                }
            }
        }
    }
    acc.finish_nested().unwrap_or(acc.finish())
}

/// Whether `code` is a byte code under no prefix or `@`.
pub(crate) fn is_plain_byte(items: &[Item]) -> Option<Code> {
    let mut it = items.iter();
    let mut first = it.next()?;
    if let Item::Order(Order::Native) = first {
        first = it.next()?;
    }
    if it.next().is_some() {
        return None;
    }
    match first {
        Item::Field(Field {
            shape: None,
            count: None,
            kind: Kind::Scalar(code),
            name: None,
        }) if code.is_byte_code() => Some(*code),
        _ => None,
    }
}
