//! The guard of mapped files: a `SIGBUS` handler that turns a read of a
//! page a truncation took away into a read of zeros.
//!
//! A file mapped for reading faults with `SIGBUS` where a process reads a
//! page past the file's end, which a truncation by anyone moves under the
//! reader's feet. [`MmapSource`](crate::MmapSource) checks the length
//! before each frame, but frames already handed out (queued, being
//! analysed) can still be cut. Each mapping is registered here; the
//! handler maps an anonymous zero page over the faulting page of a
//! registered mapping (`mmap` with `MAP_FIXED` is async-signal-safe: one
//! system call), marks the mapping hit, and returns, so the read is
//! retried and sees zeros. The source then ends the stream with
//! [`CaptureError::Truncated`](crate::CaptureError::Truncated). A fault
//! anywhere else goes to the handler that was installed before (Rust's
//! stack-overflow handler, or the default action).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Mappings that can be guarded at once; a mapping past them is read
/// unguarded (the per-frame length check still applies).
const SLOTS: usize = 64;

/// Claimed, its start not yet written.
const CLAIMED: usize = usize::MAX;

struct Range {
    start: AtomicUsize,
    /// 0: free; [`CLAIMED`]: being registered.
    len: AtomicUsize,
    hit: AtomicBool,
}

static RANGES: [Range; SLOTS] = [const {
    Range {
        start: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        hit: AtomicBool::new(false),
    }
}; SLOTS];

static PAGE: AtomicUsize = AtomicUsize::new(4096);

/// The `SIGBUS` action before ours, to pass other faults on to.
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

/// A registered mapping; unregistered when dropped.
#[derive(Debug)]
pub(crate) struct Guard {
    slot: Option<usize>,
}

impl Guard {
    /// Guards the `len` bytes at `start` (a whole mapping, page-aligned),
    /// installing the handler the first time.
    pub(crate) fn register(start: *const u8, len: usize) -> Guard {
        if len == 0 || !install() {
            return Guard { slot: None };
        }
        let slot = RANGES.iter().position(|r| {
            r.len
                .compare_exchange(0, CLAIMED, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        });
        if let Some(i) = slot {
            let r = &RANGES[i];
            r.hit.store(false, Ordering::Relaxed);
            r.start.store(start as usize, Ordering::Release);
            r.len.store(len, Ordering::Release);
        }
        Guard { slot }
    }

    /// Whether a read of the mapping faulted (a truncation took pages
    /// that were read: they read as zeros).
    pub(crate) fn hit(&self) -> bool {
        self.slot
            .is_some_and(|i| RANGES[i].hit.load(Ordering::Acquire))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            RANGES[i].len.store(0, Ordering::Release);
        }
    }
}

/// Installs the handler once; `false` if it could not be.
fn install() -> bool {
    static DONE: OnceLock<bool> = OnceLock::new();
    *DONE.get_or_init(|| {
        PAGE.store(rustix::param::page_size(), Ordering::Relaxed);
        // SAFETY: a zeroed `sigaction` is a valid value to fill in; the
        // handler is an `extern "C"` function of the signature
        // `SA_SIGINFO` asks for; the previous action is stored before the
        // handler can run (`sigaction` fills `old` before returning, and
        // the handler reads `PREVIOUS` only when one of our mappings is
        // not the cause, which needs a registration after this returns).
        unsafe {
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = handler as *const () as libc::sighandler_t;
            new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut new.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, &new, &mut old) != 0 {
                return false;
            }
            let _ = PREVIOUS.set(old);
        }
        true
    })
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid `siginfo_t` with `SA_SIGINFO`.
    let addr = unsafe { (*info).si_addr() } as usize;
    let page = PAGE.load(Ordering::Relaxed);
    for r in &RANGES {
        let len = r.len.load(Ordering::Acquire);
        if len == 0 || len == CLAIMED {
            continue;
        }
        let start = r.start.load(Ordering::Acquire);
        if addr >= start && addr - start < len {
            let at = addr & !(page - 1);
            // SAFETY: the page lies inside a mapping this process made and
            // still holds (it is unregistered before it is unmapped);
            // replacing it with a private zero page changes what the
            // mapping shows, never memory outside it.
            let p = unsafe {
                libc::mmap(
                    at as *mut libc::c_void,
                    page,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if p != libc::MAP_FAILED {
                r.hit.store(true, Ordering::Release);
                return;
            }
        }
    }
    // Not ours: as if this handler were not there.
    match PREVIOUS.get() {
        Some(prev) if prev.sa_sigaction == libc::SIG_IGN => {}
        Some(prev) if prev.sa_sigaction != libc::SIG_DFL => {
            if prev.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous handler was installed with this
                // signature (SA_SIGINFO).
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(prev.sa_sigaction) };
                f(sig, info, ctx);
            } else {
                // SAFETY: a plain handler takes the signal number.
                let f: extern "C" fn(libc::c_int) =
                    unsafe { std::mem::transmute(prev.sa_sigaction) };
                f(sig);
            }
        }
        _ => {
            // The default action: restore it; the read faults again on
            // return and ends the process as it would have.
            // SAFETY: resetting a signal's action is async-signal-safe.
            unsafe {
                libc::signal(libc::SIGBUS, libc::SIG_DFL);
            }
        }
    }
}
