//! Test support shared by the memview crates' test suites: running python3
//! (CPython, NumPy) as an oracle, and a small deterministic generator.
//!
//! Only dev-dependencies use this crate. It panics on failures of the test
//! machinery itself (a python3 that crashes, unreadable output), since the
//! test that called it must then fail.

#![deny(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Whether the tests run in CI (`CI` set to anything but empty, `0` or
/// `false`), where every oracle must run.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Says loudly that an oracle is missing and the test is skipping; in CI
/// it panics instead, since CI must run every oracle.
pub fn skip(what: &str) {
    if in_ci() {
        panic!("{what} is required in CI");
    }
    eprintln!("\n*** SKIPPING: {what} is not available; this oracle did not run ***\n");
}

/// The Python the oracles run under: `$MEMVIEW_PYTHON` (`cargo xtask`
/// points it at a venv under `target/` with NumPy, OpenCV, Pillow, onnx
/// and onnxruntime at pinned versions), else `python3`.
pub fn python() -> std::ffi::OsString {
    std::env::var_os("MEMVIEW_PYTHON")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into())
}

/// Runs `script` under [`python`] with `input` on stdin and returns its
/// stdout, or `None` (after [`skip`]) when python3 cannot be started or
/// lacks a module the script imports (NumPy, say): the script then exits
/// before reading its input, which is a missing oracle, not a failure of
/// the code under test.
pub fn run_python(script: &str, input: &str) -> Option<String> {
    let child = Command::new(python())
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            skip(&format!("python3 ({e})"));
            return None;
        }
    };
    // Test support only: past the skips, any failure of the oracle must
    // fail the calling test loudly, so these `expect`s are the assertions
    // (stdin is always there: it was piped just above).
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child
        .wait_with_output()
        .expect("python3 could not be waited for");
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprint!("{stderr}");
    if !out.status.success() {
        if let Some(line) = stderr
            .lines()
            .find(|l| l.contains("ModuleNotFoundError") || l.contains("No module named"))
        {
            skip(&format!("a python3 module ({})", line.trim()));
            return None;
        }
        panic!("python3 oracle failed: {:?}\n{stderr}", out.status);
    }
    // A script that exits cleanly without reading all its input (it found
    // its oracle missing and said so on stdout) leaves the writer a broken
    // pipe; the caller reads what it said. Any other write error is real.
    match writer.join().expect("the stdin writer panicked") {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => panic!("writing python3's input: {e}"),
    }
    Some(String::from_utf8(out.stdout).expect("python3 wrote non-UTF-8"))
}

/// A fresh, empty directory `memview-GROUP-PID-NAME` under the system's
/// temporary directory, for one test's files.
pub fn fresh_dir(group: &str, name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("memview-{group}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    if let Err(e) = std::fs::create_dir_all(&d) {
        panic!("cannot create {}: {e}", d.display());
    }
    d
}

/// Lowercase hex of bytes, as Python's `bytes.hex()`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced by 1).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A random element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// Runs `ffmpeg -hide_banner -loglevel error ARGS` and returns its stdout
/// (give `-f rawvideo -` or similar as the output), or `None` (after
/// [`skip`]) when ffmpeg is not installed. A failing ffmpeg panics with its
/// stderr.
pub fn ffmpeg(args: &[&str]) -> Option<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
        .args(args)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(o.stdout),
        Ok(o) => panic!(
            "ffmpeg {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => {
            skip(&format!("ffmpeg ({e})"));
            None
        }
    }
}

/// A counting global allocator for tests: the system allocator, with a
/// count of allocations per thread and for the whole process. Install it
/// in a test binary with
/// `#[global_allocator] static A: memview_testkit::Counting = memview_testkit::Counting;`.
#[derive(Debug)]
pub struct Counting;

static PROCESS_ALLOCS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    static THREAD_ALLOCS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are an atomic and a const-initialised thread-local Cell, neither
// of which allocates.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        HEAP_LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

static PROCESS_BYTES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static HEAP_LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static HEAP_PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn grew(size: usize) {
    use std::sync::atomic::Ordering::Relaxed;
    PROCESS_ALLOCS.fetch_add(1, Relaxed);
    PROCESS_BYTES.fetch_add(size, Relaxed);
    let live = HEAP_LIVE.fetch_add(size, Relaxed) + size;
    HEAP_PEAK.fetch_max(live, Relaxed);
    let _ = THREAD_ALLOCS.try_with(|a| a.set(a.get() + 1));
}

/// Allocations and bytes allocated by the whole process so far (needs
/// [`Counting`] installed).
pub fn process_counts() -> (usize, usize) {
    use std::sync::atomic::Ordering::Relaxed;
    (PROCESS_ALLOCS.load(Relaxed), PROCESS_BYTES.load(Relaxed))
}

/// The largest live heap since the last [`reset_heap_peak`].
pub fn heap_peak() -> usize {
    HEAP_PEAK.load(std::sync::atomic::Ordering::Relaxed)
}

/// Starts a new peak measurement from the heap live now.
pub fn reset_heap_peak() {
    use std::sync::atomic::Ordering::Relaxed;
    HEAP_PEAK.store(HEAP_LIVE.load(Relaxed), Relaxed);
}

/// Allocations this thread made while `f` ran (needs [`Counting`]
/// installed).
pub fn thread_allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = THREAD_ALLOCS.with(std::cell::Cell::get);
    let out = f();
    (THREAD_ALLOCS.with(std::cell::Cell::get) - before, out)
}

/// Allocations any thread made while `f` ran (needs [`Counting`]
/// installed, and no other test running in the process).
pub fn process_allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = PROCESS_ALLOCS.load(std::sync::atomic::Ordering::Relaxed);
    let out = f();
    (
        PROCESS_ALLOCS.load(std::sync::atomic::Ordering::Relaxed) - before,
        out,
    )
}

/// Waits for `child` at most `limit`, killing it and failing if it hangs.
pub fn wait_within(mut child: Child, limit: Duration, what: &str) -> Output {
    let start = Instant::now();
    loop {
        let done = child
            .try_wait()
            .unwrap_or_else(|e| panic!("{what}: cannot wait for the child: {e}"));
        if done.is_some() {
            return child
                .wait_with_output()
                .unwrap_or_else(|e| panic!("{what}: cannot read the child's output: {e}"));
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Makes a FIFO at `p` (`false`, skipped loudly, where mkfifo is missing).
pub fn mkfifo(p: &Path) -> bool {
    let ok = Command::new("mkfifo")
        .arg(p)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip("mkfifo");
    }
    ok
}

/// The pids of `parent`'s children named `name`.
pub fn children(parent: u32, name: &str) -> Vec<u32> {
    let mut out = Vec::new();
    // No /proc: no children to find (the caller's count says so).
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in procs.flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        let ppid = stat[close + 2..]
            .split(' ')
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if comm == name && ppid == Some(parent) {
            out.extend(stat[..open].trim().parse::<u32>().ok());
        }
    }
    out
}

/// Sends `sig` (`-INT`, `-9`) with the shell's own `kill`.
pub fn signal(pid: u32, sig: &str) {
    let sent = Command::new("sh")
        .args(["-c", &format!("kill {sig} {pid}")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(sent, "kill {sig} {pid} failed");
}
