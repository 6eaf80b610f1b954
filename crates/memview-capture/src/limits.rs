//! Resource budgets: what a source may make memview reserve, checked
//! before anything is allocated.

use std::time::Duration;

/// The default largest frame: 256 MiB, enough for 8K (7680x4320) at 16
/// bits in 4:4:4 (199 MB), far below what a hostile header can claim
/// (65536x65536 at 16 bits in 4:4:4 is 24 GiB).
pub const DEFAULT_MAX_FRAME_BYTES: usize = 256 << 20;

/// The default largest pool: 1 GiB in all buffers together.
pub const DEFAULT_MAX_POOL_BYTES: usize = 1 << 30;

/// How much memory a source may make memview reserve, and how long a
/// read from it may wait. Sizes come from untrusted headers (a 30-byte
/// Y4M header can claim a 65536x65536 frame), so they are checked against
/// these limits before any buffer is sized from them, and every buffer is
/// then reserved fallibly: a limit or a refused reservation is an error,
/// never an abort.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// The largest frame a source may declare, in bytes.
    pub max_frame_bytes: usize,
    /// The most bytes a buffer pool may hold in all.
    pub max_pool_bytes: usize,
    /// How long one read from a file, pipe, FIFO or child may wait for
    /// data before the source is declared stalled (`None`: forever).
    pub read_timeout: Option<Duration>,
}

impl Limits {
    /// [`DEFAULT_MAX_FRAME_BYTES`], [`DEFAULT_MAX_POOL_BYTES`], and no read
    /// timeout.
    pub const DEFAULT: Limits = Limits {
        max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        max_pool_bytes: DEFAULT_MAX_POOL_BYTES,
        read_timeout: None,
    };

    /// These limits with reads timing out after `timeout`.
    pub fn with_read_timeout(mut self, timeout: Option<Duration>) -> Limits {
        self.read_timeout = timeout;
        self
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}
