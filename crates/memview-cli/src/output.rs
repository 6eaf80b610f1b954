//! Output files that never destroy what the user had: an output that is
//! an input is refused, and a regular file is written under a temporary
//! name and renamed into place only when the run has something to show.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Identifies a file (device and inode), to tell an output that is an
/// input under another name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The file at `path`, if it exists.
    pub fn of_path(path: &Path) -> Option<FileId> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| FileId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }

    /// The file behind standard input, if it is one (a redirect).
    pub fn of_stdin() -> Option<FileId> {
        use std::os::fd::AsFd;
        use std::os::unix::fs::MetadataExt;
        let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
        let m = File::from(fd).metadata().ok()?;
        m.is_file().then(|| FileId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

/// An output being written.
#[derive(Debug)]
pub struct Output {
    path: PathBuf,
    /// The temporary name written to, renamed to `path` on commit; `None`
    /// when `path` is written directly (a FIFO, a device, `/dev/null`).
    tmp: Option<PathBuf>,
    out: Option<BufWriter<File>>,
}

/// What is at `path` now, unless it is one of `inputs` or a directory.
fn refuse(path: &str, inputs: &[Option<FileId>]) -> Result<Option<std::fs::Metadata>, String> {
    let p = Path::new(path);
    if let Some(id) = FileId::of_path(p) {
        if inputs.contains(&Some(id)) {
            return Err(format!(
                "output {path} is the input: refusing to overwrite it"
            ));
        }
    }
    let existing = std::fs::metadata(p).ok();
    if existing.as_ref().is_some_and(|m| m.is_dir()) {
        return Err(format!("output {path} is a directory"));
    }
    Ok(existing)
}

impl Output {
    /// Starts writing `path`, refusing it if it is one of `inputs`.
    pub fn create(path: &str, inputs: &[Option<FileId>]) -> Result<Output, String> {
        let p = Path::new(path);
        let existing = refuse(path, inputs)?;
        // Regular files (and new ones) go through a temporary name in the
        // same directory; anything else (a FIFO, /dev/null) is written as
        // it is.
        let direct = existing.as_ref().is_some_and(|m| !m.is_file());
        let tmp = (!direct).then(|| {
            let name = p
                .file_name()
                .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
            p.with_file_name(format!(".{name}.memview-{}.tmp", std::process::id()))
        });
        let target = tmp.as_deref().unwrap_or(p);
        let f = File::create(target).map_err(|e| format!("cannot create {path}: {e}"))?;
        Ok(Output {
            path: p.to_path_buf(),
            tmp,
            out: Some(BufWriter::with_capacity(1 << 20, f)),
        })
    }

    /// Flushes the output and gives it its name.
    /// An output written in place as it comes (a results stream a
    /// consumer follows), with the same refusals as [`Output::create`]:
    /// never the input, never a directory.
    pub fn create_streaming(path: &str, inputs: &[Option<FileId>]) -> Result<Output, String> {
        let p = Path::new(path);
        refuse(path, inputs)?;
        let f = File::create(p).map_err(|e| format!("cannot create {path}: {e}"))?;
        Ok(Output {
            path: p.to_path_buf(),
            tmp: None,
            out: Some(BufWriter::with_capacity(1 << 16, f)),
        })
    }

    pub fn commit(mut self) -> io::Result<()> {
        if let Some(mut out) = self.out.take() {
            out.flush()?;
        }
        if let Some(tmp) = self.tmp.take() {
            std::fs::rename(&tmp, &self.path)?;
        }
        Ok(())
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.out.as_mut() {
            Some(o) => o.write(buf),
            None => Err(io::Error::other("output already committed")),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self.out.as_mut() {
            Some(o) => o.write_all(buf),
            None => Err(io::Error::other("output already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.out.as_mut() {
            Some(o) => o.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for Output {
    /// An output never committed (the run failed before it had frames to
    /// show) leaves nothing behind: the user's file, if any, is as it was.
    fn drop(&mut self) {
        drop(self.out.take());
        if let Some(tmp) = self.tmp.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Treats a closed standard output as the end of the job: `memview run |
/// head` ends quietly instead of reporting "Broken pipe".
pub fn quiet_if_closed(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}
