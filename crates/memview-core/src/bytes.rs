//! `bytes` interop (feature `bytes`): `Bytes` and `BytesMut` as storage of
//! a [`Shared`](crate::Shared) (a network buffer becomes `'static`, export-counted views
//! with no copy), and a contiguous `View<'static>` as a `Bytes` (a frame
//! or ROI handed to a network stack with no copy, the view kept alive by
//! the `Bytes`).

use crate::export::Storage;
use crate::{View, ViewError};

impl Storage for bytes::Bytes {
    fn bytes(&self) -> &[u8] {
        self
    }
    /// `Bytes` is shared and immutable: its views are read-only.
    fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        None
    }
}

impl Storage for bytes::BytesMut {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        Some(self)
    }
}

/// A C-contiguous view as the owner of a `Bytes`.
struct Owned(View<'static>);

impl AsRef<[u8]> for Owned {
    fn as_ref(&self) -> &[u8] {
        // Checked contiguous when the owner was made; a view's layout never
        // changes.
        self.0.as_bytes().unwrap_or(&[])
    }
}

impl TryFrom<View<'static>> for bytes::Bytes {
    type Error = ViewError;

    /// The view's bytes as a `Bytes`, no copy: the `Bytes` holds the view
    /// (so a pooled frame stays out of its pool, and a `Shared` counts the
    /// export, until the last clone of the `Bytes` drops). The view must
    /// be C-contiguous ([`View::as_bytes`]).
    fn try_from(v: View<'static>) -> Result<bytes::Bytes, ViewError> {
        v.as_bytes()?;
        Ok(bytes::Bytes::from_owner(Owned(v)))
    }
}
