//! Random layouts and random chains of view operations (slice, index,
//! cast, transpose, permute, flip, region, and the borrowed ViewRef cut),
//! each checked against a naive reference model that keeps every item's
//! byte offset in a list: shapes, items, C and F copies, contiguity and
//! rows must agree, an operation the model accepts must succeed and one it
//! refuses must fail, and nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memview_core::{MemOrder, Slice, View};

/// Bytes of the input, read as needed (zeros once it runs out).
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }
    fn small(&mut self) -> isize {
        match self.byte() {
            250 => isize::MIN,
            251 => isize::MAX,
            252 => isize::MIN / 2,
            b => isize::from(b % 21) - 10,
        }
    }
    fn opt(&mut self) -> Option<isize> {
        if self.byte().is_multiple_of(4) {
            None
        } else {
            Some(self.small())
        }
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

/// The reference: the byte offset of every item, in C order.
#[derive(Clone, Debug)]
struct Model {
    shape: Vec<usize>,
    offsets: Vec<i128>,
    itemsize: usize,
}

/// Every index tuple of `shape`, in C order.
fn tuples(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for &d in shape {
        let mut next = Vec::new();
        for t in &out {
            for i in 0..d {
                let mut u = t.clone();
                u.push(i);
                next.push(u);
            }
        }
        out = next;
    }
    out
}

fn flat(shape: &[usize], idx: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &d)| acc * d + i)
}

impl Model {
    fn at(&self, idx: &[usize]) -> i128 {
        self.offsets[flat(&self.shape, idx)]
    }

    /// A new model of `shape` whose item at `idx` is `f(idx)` of this one.
    fn remap(&self, shape: Vec<usize>, f: impl Fn(&[usize]) -> Vec<usize>) -> Model {
        let offsets = tuples(&shape).iter().map(|t| self.at(&f(t))).collect();
        Model {
            shape,
            offsets,
            itemsize: self.itemsize,
        }
    }

    fn contiguous(&self, order_f: bool) -> bool {
        let seq: Vec<i128> = if order_f {
            self.f_offsets()
        } else {
            self.offsets.clone()
        };
        seq.windows(2).all(|w| w[1] - w[0] == self.itemsize as i128)
    }

    fn f_offsets(&self) -> Vec<i128> {
        let rev: Vec<usize> = self.shape.iter().rev().copied().collect();
        tuples(&rev)
            .iter()
            .map(|t| {
                let idx: Vec<usize> = t.iter().rev().copied().collect();
                self.at(&idx)
            })
            .collect()
    }

    fn gather(&self, buf: &[u8], offs: &[i128]) -> Vec<u8> {
        let mut out = Vec::new();
        for &o in offs {
            let o = usize::try_from(o).expect("model item before the buffer");
            out.extend_from_slice(&buf[o..o + self.itemsize]);
        }
        out
    }
}

/// Python's slice.indices and range, done the slow way.
fn py_slice(
    start: Option<isize>,
    stop: Option<isize>,
    step: Option<isize>,
    len: usize,
) -> Option<Vec<usize>> {
    let step = i128::from(step.unwrap_or(1) as i64);
    if step == 0 {
        return None;
    }
    let len = len as i128;
    let fix = |v: Option<isize>, default: i128, lo: i128, hi: i128| -> i128 {
        match v {
            None => default,
            Some(v) => {
                let v = v as i128;
                let v = if v < 0 { v + len } else { v };
                v.clamp(lo, hi)
            }
        }
    };
    let (start, stop) = if step > 0 {
        (fix(start, 0, 0, len), fix(stop, len, 0, len))
    } else {
        (fix(start, len - 1, -1, len - 1), fix(stop, -1, -1, len - 1))
    };
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i as usize);
        i += step;
    }
    Some(out)
}

const FORMATS: &[&str] = &[
    "B", "b", "c", "h", "H", "i", "I", "q", "<i", ">H", "?", "2B", "e",
];
const CASTS: &[&str] = &[
    "B", "b", "c", "h", "H", "i", "I", "l", "q", "Q", "?", "@B", "n",
];

fn check(v: &View<'_>, m: &Model, buf: &[u8]) {
    assert_eq!(v.shape(), &m.shape[..]);
    assert_eq!(v.itemsize(), m.itemsize);
    assert_eq!(v.nbytes(), m.offsets.len() * m.itemsize);
    let c = m.gather(buf, &m.offsets);
    let f = m.gather(buf, &m.f_offsets());
    let items: Vec<u8> = v.items().flatten().copied().collect();
    assert_eq!(items, c, "items");
    assert_eq!(v.to_bytes(MemOrder::C), c, "C copy");
    assert_eq!(v.to_bytes(MemOrder::F), f, "F copy");
    // CPython's memoryview: an empty 1-D view is contiguous only if its
    // stride is the itemsize (MV_CONTIGUOUS_NDIM1); the model has no items
    // to tell, so that one case reads the view's stride.
    let (want_c, want_f) = if m.shape == [0] {
        let s = v.strides()[0] == m.itemsize as isize;
        (s, s)
    } else {
        (m.contiguous(false), m.contiguous(true))
    };
    assert_eq!(v.is_c_contiguous(), want_c, "C contiguity");
    assert_eq!(v.is_f_contiguous(), want_f, "F contiguity");
    if let Ok(rows) = v.rows() {
        let joined: Vec<u8> = rows.flatten().copied().collect();
        assert_eq!(joined, c, "rows");
    }
    if let Ok(r) = v.view_ref() {
        let back = r.to_view();
        assert_eq!(
            (back.shape(), back.strides(), back.offset()),
            (v.shape(), v.strides(), v.offset())
        );
    }
    let _ = v.tolist();
    let _ = v.hex();
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let len = input.below(200) + 1;
    let buf: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
    let format = FORMATS[input.below(FORMATS.len())];
    let ndim = input.below(4);
    let shape: Vec<usize> = (0..ndim).map(|_| input.below(5)).collect();
    let strides: Vec<isize> = (0..ndim).map(|_| input.small()).collect();
    let offset = input.small().rem_euclid(len as isize + 2);
    let Ok(mut v) = View::from_parts(&buf, format, offset, &shape, &strides) else {
        return;
    };
    let itemsize = v.itemsize();
    let mut m = Model {
        offsets: tuples(&shape)
            .iter()
            .map(|t| {
                offset as i128
                    + t.iter()
                        .zip(&strides)
                        .map(|(&i, &s)| i as i128 * s as i128)
                        .sum::<i128>()
            })
            .collect(),
        shape,
        itemsize,
    };
    // What from_parts accepts lies inside the buffer.
    for &o in &m.offsets {
        assert!(
            o >= 0 && o as usize + itemsize <= len,
            "item at {o} outside {len}"
        );
    }
    check(&v, &m, &buf);
    let mut steps = 0;
    while !input.done() && steps < 12 {
        steps += 1;
        let nd = m.shape.len();
        match input.below(7) {
            0 => {
                let axis = input.below(nd + 1);
                let (a, b, c) = (input.opt(), input.opt(), input.opt());
                let got = v.slice_axis(axis, Slice::new(a, b, c));
                let want = (axis < nd)
                    .then(|| py_slice(a, b, c, m.shape[axis]))
                    .flatten();
                match (got, want) {
                    (Ok(w), Some(picks)) => {
                        let mut shape = m.shape.clone();
                        shape[axis] = picks.len();
                        m = m.remap(shape, |t| {
                            let mut u = t.to_vec();
                            u[axis] = picks[t[axis]];
                            u
                        });
                        v = w;
                    }
                    // Memview may refuse what overflows isize (a huge
                    // offset step the model does not bound).
                    (Err(memview_core::ViewError::Overflow), Some(_)) => {}
                    (Err(_), None) => {}
                    (got, want) => panic!(
                        "slice {axis} {a:?}:{b:?}:{c:?} of {:?}: {:?} vs {want:?}",
                        m.shape,
                        got.map(|w| w.shape().to_vec())
                    ),
                }
            }
            1 => {
                let k = input.below(nd + 2);
                let idx: Vec<isize> = (0..k).map(|_| input.small()).collect();
                let got = v.index(&idx);
                let resolved: Option<Vec<usize>> = if k > nd || (nd == 0 && k > 0) {
                    None
                } else {
                    idx.iter()
                        .zip(&m.shape)
                        .map(|(&i, &d)| {
                            let i = i as i128;
                            let d = d as i128;
                            let i = if i < 0 { i + d } else { i };
                            (0..d).contains(&i).then_some(i as usize)
                        })
                        .collect()
                };
                match (got, resolved) {
                    (Ok(w), Some(fixed)) => {
                        m = m.remap(m.shape[k..].to_vec(), |t| [&fixed[..], t].concat());
                        v = w;
                    }
                    (Err(memview_core::ViewError::Overflow), Some(_)) => {}
                    (Err(_), None) => {}
                    (got, want) => panic!(
                        "index {idx:?} of {:?}: {:?} vs {want:?}",
                        m.shape,
                        got.is_ok()
                    ),
                }
            }
            2 => {
                v = v.transpose();
                let shape: Vec<usize> = m.shape.iter().rev().copied().collect();
                m = m.remap(shape, |t| t.iter().rev().copied().collect());
            }
            3 => {
                let axis = input.below(nd + 1);
                match (v.flip(axis), axis < nd) {
                    (Ok(w), true) => {
                        let d = m.shape[axis];
                        m = m.remap(m.shape.clone(), |t| {
                            let mut u = t.to_vec();
                            u[axis] = d - 1 - t[axis];
                            u
                        });
                        v = w;
                    }
                    // Negating a stride of isize::MIN overflows.
                    (Err(memview_core::ViewError::Overflow), true) => {}
                    (Err(_), false) => {}
                    (got, want) => {
                        panic!("flip {axis} of {:?}: {} vs {want}", m.shape, got.is_ok())
                    }
                }
            }
            4 => {
                // A permutation of the axes, or a broken one.
                let mut axes: Vec<usize> = (0..nd).collect();
                for i in (1..nd).rev() {
                    axes.swap(i, input.below(i + 1));
                }
                if input.byte() % 8 == 0 && nd > 0 {
                    axes[0] = input.below(nd + 1);
                }
                let mut sorted = axes.clone();
                sorted.sort_unstable();
                let valid = sorted == (0..nd).collect::<Vec<_>>();
                match (v.permute(&axes), valid) {
                    (Ok(w), true) => {
                        let shape: Vec<usize> = axes.iter().map(|&a| m.shape[a]).collect();
                        m = m.remap(shape, |t| {
                            let mut u = vec![0; nd];
                            for (i, &a) in axes.iter().enumerate() {
                                u[a] = t[i];
                            }
                            u
                        });
                        v = w;
                    }
                    (Err(_), false) => {}
                    (got, want) => panic!(
                        "permute {axes:?} of {:?}: {} vs {want}",
                        m.shape,
                        got.is_ok()
                    ),
                }
            }
            5 => {
                let (y0, y1, x0, x1) = (
                    input.below(6),
                    input.below(7),
                    input.below(6),
                    input.below(7),
                );
                let ok = nd >= 2 && y0 <= y1 && x0 <= x1 && y1 <= m.shape[0] && x1 <= m.shape[1];
                match (v.region(y0..y1, x0..x1), ok) {
                    (Ok(w), true) => {
                        let mut shape = m.shape.clone();
                        shape[0] = y1 - y0;
                        shape[1] = x1 - x0;
                        m = m.remap(shape, |t| {
                            let mut u = t.to_vec();
                            u[0] += y0;
                            u[1] += x0;
                            u
                        });
                        // The borrowed cut agrees.
                        if let Ok(r) = v.region_ref(y0..y1, x0..x1) {
                            let back = r.to_view();
                            assert_eq!(
                                (back.shape(), back.strides(), back.offset()),
                                (w.shape(), w.strides(), w.offset())
                            );
                        }
                        v = w;
                    }
                    // An empty region's offset may leave isize.
                    (Err(memview_core::ViewError::Overflow), true) => {}
                    (Err(_), false) => {}
                    (got, want) => panic!(
                        "region {y0}..{y1}, {x0}..{x1} of {:?}: {} vs {want}",
                        m.shape,
                        got.is_ok()
                    ),
                }
            }
            _ => {
                let f = CASTS[input.below(CASTS.len())];
                let shape: Option<Vec<usize>> = match input.below(3) {
                    0 => None,
                    n => Some((0..n).map(|_| input.below(9)).collect()),
                };
                if let Ok(w) = v.cast(f, shape.as_deref()) {
                    // Only a C-contiguous view casts, to the same bytes.
                    assert!(
                        v.is_c_contiguous(),
                        "cast of a non-contiguous {:?}",
                        m.shape
                    );
                    assert_eq!(w.nbytes(), v.nbytes(), "cast changed the size");
                    let base = m.offsets.first().copied().unwrap_or(v.offset() as i128);
                    let n = w.shape().iter().product::<usize>();
                    m = Model {
                        shape: w.shape().to_vec(),
                        offsets: (0..n).map(|i| base + (i * w.itemsize()) as i128).collect(),
                        itemsize: w.itemsize(),
                    };
                    v = w;
                }
            }
        }
        check(&v, &m, &buf);
    }
});
