//! JSON written by hand into reused buffers: numbers and strings through
//! `serde_json` (its escaping, its shortest round-trip floats, `null` for
//! a float that is not finite), and no allocation once a buffer has grown.

use crate::analyzer::Fields;

/// Writes `s` as a JSON string.
pub(crate) fn str(out: &mut Vec<u8>, s: &str) {
    // Writing to a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Writes `v` as a JSON number (`null` if it is not finite).
pub(crate) fn f64(out: &mut Vec<u8>, v: f64) {
    let _ = serde_json::to_writer(&mut *out, &v);
}

/// Writes `v` as a JSON number (itoa: several times `write!`'s speed, and
/// a histogram is 256 of them per zone).
#[inline]
pub(crate) fn u64(out: &mut Vec<u8>, v: u64) {
    if v < 10 {
        out.push(b'0' + v as u8);
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
}

/// Writes `v` as a JSON array of numbers: a histogram per zone and frame,
/// so the hot path of a sink (most bins of a zone are 0 or small).
pub(crate) fn u64_list(out: &mut Vec<u8>, v: &[u64]) {
    // At most 20 digits and a comma each: one reservation for the list.
    out.reserve(2 + 21 * v.len());
    out.push(b'[');
    let mut digits = itoa::Buffer::new();
    for &x in v {
        if x < 10 {
            out.extend_from_slice(&[b'0' + x as u8, b',']);
        } else {
            out.extend_from_slice(digits.format(x).as_bytes());
            out.push(b',');
        }
    }
    if !v.is_empty() {
        out.pop();
    }
    out.push(b']');
}

/// Writes `"name":` after a comma (none before the first member).
pub(crate) fn key(out: &mut Vec<u8>, first: &mut bool, name: &str) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    str(out, name);
    out.push(b':');
}

/// A rectangle as `[x, y, w, h]`.
pub(crate) fn rect(out: &mut Vec<u8>, r: memview_pixel::Rect) {
    for (i, v) in [r.x, r.y, r.w, r.h].into_iter().enumerate() {
        out.push(if i == 0 { b'[' } else { b',' });
        u64(out, v as u64);
    }
    out.push(b']');
}

/// [`Fields`] written as JSON members (after others: each starts with a
/// comma).
pub(crate) struct Members<'a> {
    pub(crate) out: &'a mut Vec<u8>,
}

impl Fields for Members<'_> {
    fn u64(&mut self, name: &'static str, v: u64) {
        key(self.out, &mut false, name);
        u64(self.out, v);
    }

    fn f64(&mut self, name: &'static str, v: f64) {
        key(self.out, &mut false, name);
        f64(self.out, v);
    }

    fn str(&mut self, name: &'static str, v: &str) {
        key(self.out, &mut false, name);
        str(self.out, v);
    }

    fn u64s(&mut self, name: &'static str, v: &[u64]) {
        key(self.out, &mut false, name);
        u64_list(self.out, v);
    }

    fn f32s(&mut self, name: &'static str, v: &[f32]) {
        key(self.out, &mut false, name);
        self.out.push(b'[');
        for (i, &x) in v.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            let _ = serde_json::to_writer(&mut *self.out, &x);
        }
        self.out.push(b']');
    }
}
