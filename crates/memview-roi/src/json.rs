//! JSON written by hand into reused buffers: numbers and strings through
//! `serde_json` (its escaping, its shortest round-trip floats, `null` for
//! a float that is not finite), and no allocation once a buffer has grown.

use std::io::Write;

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

/// Writes `v` as a JSON number.
pub(crate) fn u64(out: &mut Vec<u8>, v: u64) {
    let _ = write!(out, "{v}");
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
    let _ = write!(out, "[{},{},{},{}]", r.x, r.y, r.w, r.h);
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
        self.out.push(b'[');
        for (i, &x) in v.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            u64(self.out, x);
        }
        self.out.push(b']');
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
