//! `Axes`, the shape and strides of a view, and `Small<T>`, a short
//! inline array for index counters. Up to 4 axes live inline
//! in a fixed-size array, so cloning a view is a fixed-size copy the
//! compiler inlines (no `memmove` call, no allocation); more axes (up to
//! 64) go to the heap.

use core::ops::{Deref, DerefMut};

/// Axes kept inline.
const INLINE: usize = 4;

/// The length is a full word and every field is word-sized, so copies are
/// plain word moves (narrow fields make the compiler copy byte by byte and
/// then stall reading them back wide).
#[derive(Clone, Debug)]
pub(crate) struct Small<T: Copy + Default> {
    len: usize,
    inline: [T; INLINE],
    heap: Option<Box<[T]>>,
}

impl<T: Copy + Default> Small<T> {
    pub(crate) fn from_slice(s: &[T]) -> Small<T> {
        let mut inline = [T::default(); INLINE];
        let heap = if s.len() <= INLINE {
            inline[..s.len()].copy_from_slice(s);
            None
        } else {
            Some(s.into())
        };
        Small {
            len: s.len(),
            inline,
            heap,
        }
    }

    pub(crate) fn one(v: T) -> Small<T> {
        Small::from_slice(&[v])
    }

    pub(crate) fn filled(v: T, n: usize) -> Small<T> {
        if n <= INLINE {
            Small {
                len: n,
                inline: [v; INLINE],
                heap: None,
            }
        } else {
            Small::from_slice(&vec![v; n])
        }
    }
}

impl<T: Copy + Default> Deref for Small<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match &self.heap {
            None => &self.inline[..self.len],
            Some(b) => b,
        }
    }
}

impl<T: Copy + Default> DerefMut for Small<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.heap {
            None => &mut self.inline[..self.len],
            Some(b) => b,
        }
    }
}

impl<T: Copy + Default> FromIterator<T> for Small<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Small<T> {
        let mut inline = [T::default(); INLINE];
        let mut it = iter.into_iter();
        for len in 0..INLINE {
            match it.next() {
                Some(v) => inline[len] = v,
                None => {
                    return Small {
                        len,
                        inline,
                        heap: None,
                    }
                }
            }
        }
        match it.next() {
            None => Small {
                len: INLINE,
                inline,
                heap: None,
            },
            Some(v) => {
                let mut all = inline.to_vec();
                all.push(v);
                all.extend(it);
                Small {
                    len: all.len(),
                    inline,
                    heap: Some(all.into()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Small;

    #[test]
    fn inline_and_heap_behave_alike() {
        for n in 0..10usize {
            let v: Vec<usize> = (0..n).collect();
            let s: Small<usize> = v.iter().copied().collect();
            assert_eq!(&*s, v.as_slice());
            assert_eq!(&*Small::from_slice(&v), v.as_slice());
            let strides: Vec<isize> = (0..n as isize).map(|x| -x).collect();
            let mut a = super::Axes::new(&v, &strides);
            assert_eq!((a.shape(), a.strides()), (v.as_slice(), strides.as_slice()));
            a.remove_front(n.min(2));
            assert_eq!(a.shape(), &v[n.min(2)..]);
            assert_eq!(a.strides(), &strides[n.min(2)..]);
            assert_eq!(&*Small::filled(7usize, n), vec![7; n].as_slice());
        }
    }
}

impl<'a, T: Copy + Default> IntoIterator for &'a Small<T> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Axes kept inline in [`Axes`]: enough for video (height, width,
/// component). `with_first_two` relies on it being 3.
pub(crate) const AXES_INLINE: usize = 3;

/// Shape and strides of a view with more than `AXES_INLINE` axes.
type HeapAxes = (Box<[usize]>, Box<[isize]>);

/// The shape and strides of a view, together: up to 3 axes inline, more on
/// the heap. 64 bytes of plain words, so a whole view stays small enough to
/// be copied with a few register moves.
#[derive(Clone, Debug)]
pub(crate) struct Axes {
    len: usize,
    shape: [usize; AXES_INLINE],
    strides: [isize; AXES_INLINE],
    heap: Option<Box<HeapAxes>>,
}

impl Axes {
    /// Axes from equal-length slices.
    pub(crate) fn new(shape: &[usize], strides: &[isize]) -> Axes {
        debug_assert_eq!(shape.len(), strides.len());
        let n = shape.len().min(strides.len());
        let mut a = Axes {
            len: n,
            shape: [0; AXES_INLINE],
            strides: [0; AXES_INLINE],
            heap: None,
        };
        if n <= AXES_INLINE {
            a.shape[..n].copy_from_slice(&shape[..n]);
            a.strides[..n].copy_from_slice(&strides[..n]);
        } else {
            a.heap = Some(Box::new((shape[..n].into(), strides[..n].into())));
        }
        a
    }

    #[inline]
    pub(crate) fn shape(&self) -> &[usize] {
        match &self.heap {
            None => &self.shape[..self.len],
            Some(h) => &h.0,
        }
    }

    #[inline]
    pub(crate) fn strides(&self) -> &[isize] {
        match &self.heap {
            None => &self.strides[..self.len],
            Some(h) => &h.1,
        }
    }

    /// The inline shape (entries past the length unspecified), or `None`
    /// when the axes live on the heap.
    #[inline(always)]
    pub(crate) fn inline_shape(&self) -> Option<[usize; AXES_INLINE]> {
        match self.heap {
            None => Some(self.shape),
            Some(_) => None,
        }
    }

    /// The inline shape, for axes known to be inline (at most
    /// `AXES_INLINE` of them, which `Axes::new` always keeps inline).
    #[inline(always)]
    pub(crate) fn inline_shape_ref(&self) -> &[usize; AXES_INLINE] {
        &self.shape
    }

    /// The number of axes, read without looking at the heap: for axes known
    /// to be inline (as [`crate::ViewRef`]'s parents are).
    #[inline(always)]
    pub(crate) fn inline_len(&self) -> usize {
        self.len
    }

    /// The inline strides: for axes known to be inline.
    #[inline(always)]
    pub(crate) fn inline_strides(&self) -> &[isize; AXES_INLINE] {
        &self.strides
    }

    /// Both, writable.
    pub(crate) fn both_mut(&mut self) -> (&mut [usize], &mut [isize]) {
        match &mut self.heap {
            None => (&mut self.shape[..self.len], &mut self.strides[..self.len]),
            Some(h) => {
                let (a, b) = &mut **h;
                (a, b)
            }
        }
    }

    /// A copy with the first two extents replaced (`len >= 2`), built in one
    /// go so the copy is never written piecewise and read back whole.
    #[inline(always)]
    pub(crate) fn with_first_two(&self, a: usize, b: usize) -> Axes {
        match &self.heap {
            None => Axes {
                len: self.len,
                shape: [a, b, self.shape[2]],
                strides: self.strides,
                heap: None,
            },
            Some(h) => {
                let mut shape = h.0.clone();
                shape[0] = a;
                shape[1] = b;
                Axes {
                    len: self.len,
                    shape: self.shape,
                    strides: self.strides,
                    heap: Some(Box::new((shape, h.1.clone()))),
                }
            }
        }
    }

    /// Removes the first `k` axes.
    pub(crate) fn remove_front(&mut self, k: usize) {
        if self.heap.is_none() {
            // Inline: shift in place.
            self.shape.copy_within(k..self.len, 0);
            self.strides.copy_within(k..self.len, 0);
            self.len -= k;
        } else {
            *self = Axes::new(&self.shape()[k..], &self.strides()[k..]);
        }
    }
}
