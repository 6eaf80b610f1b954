//! The canonical normal form of a format.

use crate::ast::{CountMeaning, Field, Item, Kind, Order};
use crate::Format;

impl Format {
    /// The canonical spelling of this format: same dialect, same layout and
    /// values, and one spelling for equivalent formats.
    ///
    /// * `!` becomes `>`, and `=` becomes `<` or `>` for the host's order;
    /// * an order character that does not change the mode is dropped
    ///   (including a leading `@`);
    /// * a count of 1 is dropped (`1h` is `h`);
    /// * adjacent unnamed repeat or pad codes merge (`hh` is `2h`);
    /// * zero-count repeat and pad codes are dropped where they cannot
    ///   align anything (outside `@` mode).
    ///
    /// ```
    /// use memview_format::{Dialect, Format};
    /// let f = Format::parse("@ h h 1i 0q", Dialect::Struct)?;
    /// assert_eq!(f.normalized().to_string(), "2hi0q");
    /// let g = Format::parse("!HH0L", Dialect::Struct)?;
    /// assert_eq!(g.normalized().to_string(), ">2H");
    /// # Ok::<(), memview_format::ParseError>(())
    /// ```
    pub fn normalized(&self) -> Format {
        let items = normalize_scope(&self.items);
        Format::from_items(self.dialect, items).unwrap_or_else(|_| self.clone())
    }
}

fn canonical_order(o: Order) -> Order {
    match o {
        Order::Network => Order::Big,
        Order::NativeStandard if cfg!(target_endian = "little") => Order::Little,
        Order::NativeStandard => Order::Big,
        other => other,
    }
}

fn normalize_kind(kind: &Kind) -> Kind {
    match kind {
        Kind::Struct(items) => Kind::Struct(normalize_scope(items).into_boxed_slice()),
        Kind::Pointer(order, inner) => {
            Kind::Pointer(order.map(canonical_order), Box::new(normalize_kind(inner)))
        }
        other => other.clone(),
    }
}

/// A field that can merge with a neighbour of the same code: unnamed,
/// unshaped, and repeating or padding.
fn mergeable(f: &Field) -> Option<crate::Code> {
    match (&f.kind, &f.shape, &f.name) {
        (Kind::Scalar(code), None, None)
            if matches!(
                code.count_meaning(),
                CountMeaning::Repeat | CountMeaning::Padding
            ) =>
        {
            Some(*code)
        }
        _ => None,
    }
}

fn normalize_scope(items: &[Item]) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    let mut mode = Order::Native;
    for item in items {
        let field = match item {
            Item::Order(o) => {
                let o = canonical_order(*o);
                if o != mode {
                    mode = o;
                    out.push(Item::Order(o));
                }
                continue;
            }
            Item::Field(f) => f,
        };
        let mut field = Field {
            shape: field.shape.clone(),
            count: field.count.filter(|&n| n != 1),
            kind: normalize_kind(&field.kind),
            name: field.name.clone(),
        };
        let n = field.count.unwrap_or(1);
        if let Some(code) = mergeable(&field) {
            if n == 0 && !mode.aligned() {
                continue;
            }
            if let Some(Item::Field(prev)) = out.last_mut() {
                if mergeable(prev) == Some(code) {
                    if let Some(sum) = prev.count.unwrap_or(1).checked_add(n) {
                        prev.count = Some(sum).filter(|&s| s != 1);
                        continue;
                    }
                }
            }
        }
        field.count = field.count.filter(|&c| c != 1);
        out.push(Item::Field(field));
    }
    out
}
