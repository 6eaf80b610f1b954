//! SIGINT and SIGTERM end a run at a frame boundary: a handler thread
//! (signal-hook; the signal handler itself only wakes it) records the
//! signal and stops the capture, the run loop ends after the frame it is
//! on, outputs are flushed and named, the summary is printed, and the exit
//! status is 128 + the signal (130, 143). A second signal ends the process
//! at once.

use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use memview_capture::Stopper;
use signal_hook::consts::{SIGINT, SIGTERM};

/// The handler thread's shared state.
#[derive(Debug, Clone)]
pub struct Signals {
    got: Arc<AtomicI32>,
    stoppers: Arc<Mutex<Vec<Stopper>>>,
}

impl Signals {
    /// Starts the handler thread.
    pub fn install() -> std::io::Result<Signals> {
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        let s = Signals {
            got: Arc::new(AtomicI32::new(0)),
            stoppers: Arc::new(Mutex::new(Vec::new())),
        };
        let shared = s.clone();
        std::thread::Builder::new()
            .name("memview-signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if shared.got.swap(sig, Ordering::SeqCst) != 0 {
                        // A second signal: the user wants out now.
                        std::process::exit(128 + sig);
                    }
                    if let Ok(guard) = shared.stoppers.lock() {
                        for stop in guard.iter() {
                            stop.stop();
                        }
                    }
                }
            })?;
        Ok(s)
    }

    /// Stops `stopper`'s capture when a signal comes (at once if one came
    /// already), with every capture given before.
    pub fn stop_on_signal(&self, stopper: Stopper) {
        if let Ok(mut guard) = self.stoppers.lock() {
            if self.received().is_some() {
                stopper.stop();
            }
            guard.push(stopper);
        }
    }

    /// The signal received, if any.
    pub fn received(&self) -> Option<i32> {
        match self.got.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }

    /// The signal's name, for the summary.
    pub fn name(sig: i32) -> &'static str {
        match sig {
            SIGINT => "SIGINT",
            SIGTERM => "SIGTERM",
            _ => "a signal",
        }
    }

    /// 128 + the signal received, if any.
    pub fn exit_code(&self) -> Option<ExitCode> {
        self.received().map(|s| ExitCode::from((128 + s) as u8))
    }
}
