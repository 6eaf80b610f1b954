//! `cargo xtask bench --peers [--write] [--rounds N]`: memview's workloads
//! beside CPython's struct and memoryview, NumPy, OpenCV and ffmpeg, run
//! interleaved in one session, with a memory comparison, scaling curves,
//! and (with `--write`) BENCHMARKS.md and its SVG plots.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::{cargo, project_root, run, step};

/// One side of the comparison: a long-lived process answering workload
/// names with nanoseconds per iteration.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    fn spawn(mut c: Command) -> Result<Worker> {
        let shown = format!("{c:?}");
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("could not start {shown}"))?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        Ok(Worker {
            child,
            stdin,
            stdout,
        })
    }

    fn ask(&mut self, what: &str) -> Result<String> {
        writeln!(self.stdin, "{what}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        let line = line.trim().to_owned();
        if line.is_empty() || line.starts_with("error") {
            bail!("{what}: the worker answered {line:?}");
        }
        Ok(line)
    }

    fn time(&mut self, what: &str) -> Result<Option<f64>> {
        let a = self.ask(what)?;
        if a == "n/a" {
            return Ok(None);
        }
        Ok(Some(a.parse().with_context(|| format!("{what}: {a:?}"))?))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.wait();
    }
}

/// A workload: memview's command, and each peer's label and command.
struct Workload {
    title: &'static str,
    memview: &'static str,
    peers: &'static [(&'static str, &'static str)],
}

const WORKLOADS: &[Workload] = &[
    Workload {
        title: "format parsing: 4 struct formats",
        memview: "parse",
        peers: &[("CPython struct.Struct", "parse:struct")],
    },
    Workload {
        title: "view of 1 ROI (200x200 of 1080p luma)",
        memview: "view_1",
        peers: &[
            ("NumPy slice", "view_1:numpy"),
            ("memoryview (a 1-D slice per row)", "view_1:memoryview"),
        ],
    },
    Workload {
        title: "views of 10 ROIs (I420, 3 planes each; memview's borrowed RoiRef)",
        memview: "view_10",
        peers: &[("NumPy slices", "view_10:numpy")],
    },
    Workload {
        title: "copy-out of 10 ROIs (I420, tight)",
        memview: "copy_10",
        peers: &[("NumPy ascontiguousarray", "copy_10:numpy")],
    },
    Workload {
        title: "mean/variance + histogram + motion, 10 zones, 1 thread",
        memview: "analyzers",
        peers: &[
            ("OpenCV mean, calcHist, norm L1", "analyzers:opencv"),
            ("NumPy mean, var, bincount, abs-diff sum", "analyzers:numpy"),
        ],
    },
    Workload {
        title: "the same, memview's runner on every core (peers single-threaded, as above)",
        memview: "analyzers_all_cores",
        peers: &[("OpenCV mean, calcHist, norm L1", "analyzers:opencv")],
    },
    Workload {
        title: "1080p I420 -> RGB24, 1 thread",
        memview: "convert",
        peers: &[("OpenCV cvtColor YUV2RGB_I420", "convert:opencv")],
    },
    Workload {
        title: "ten 200x200 zones of 1080p I420 -> 10x3x112x112 f32 tensor, 1 thread",
        memview: "tensor_10",
        peers: &[
            (
                "OpenCV cvtColor + dnn.blobFromImages",
                "tensor_10:opencv_i420",
            ),
            (
                "OpenCV dnn.blobFromImages from a BGR frame",
                "tensor_10:opencv_bgr",
            ),
            (
                "the same into a reused blob (blobFromImagesWithParams, no allocation)",
                "tensor_10:opencv_bgr_reused",
            ),
        ],
    },
    Workload {
        title: "1080p I420 letterboxed -> 1x3x640x640 f32 (YOLO input), 1 thread",
        memview: "letterbox_640",
        peers: &[
            (
                "OpenCV blobFromImageWithParams(LETTERBOX) from a BGR frame",
                "letterbox_640:opencv_bgr",
            ),
            (
                "the same into a reused blob (no allocation)",
                "letterbox_640:opencv_bgr_reused",
            ),
        ],
    },
    Workload {
        title: "ten 200x200 RGB zones resized to 112x112 (INTER_LINEAR), 1 thread",
        memview: "resize_10",
        peers: &[("OpenCV cv2.resize INTER_LINEAR", "resize_10:opencv")],
    },
];

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn human_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn mib(b: f64) -> String {
    format!("{:.2} MiB", b / 1048576.0)
}

/// The Python of the benchmarks: the oracles' venv (NumPy, OpenCV, ...).
fn venv_python() -> Result<PathBuf> {
    crate::oracle_python()
}

pub(crate) fn output(c: &mut Command) -> Result<String> {
    let shown = format!("{c:?}");
    let out = c
        .output()
        .with_context(|| format!("could not start {shown}"))?;
    if !out.status.success() {
        bail!(
            "{shown} failed with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn first_line(c: &mut Command) -> String {
    output(c)
        .ok()
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "n/a".into())
}

fn machine_line() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or("?".into(), |kb| format!("{:.0} GiB", kb / 1048576.0));
    let kernel = first_line(Command::new("uname").arg("-r"));
    // The SIMD the kernels pick at run time.
    let flags = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("flags"))
                .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        })
        .unwrap_or_default();
    let simd: Vec<&str> = ["sse2", "avx2", "avx512bw"]
        .into_iter()
        .filter(|f| flags.iter().any(|g| g == f))
        .collect();
    format!(
        "{cpu} ({}), {cores} cores available, {mem} RAM, Linux {kernel}",
        simd.join(", ")
    )
}

/// The crop workload's input: 60 frames of 1080p testsrc2 as Y4M.
fn crop_input() -> Result<PathBuf> {
    testsrc_1080p(60, 60)
}

/// `target/bench-data/testsrc_1080p_RATE_FRAMES.y4m`: `frames` frames of
/// ffmpeg's `testsrc2` at 1080p and `rate` frames/s, made once.
pub(crate) fn testsrc_1080p(rate: u32, frames: u32) -> Result<PathBuf> {
    let dir = project_root().join("target/bench-data");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("testsrc_1080p_{rate}_{frames}.y4m"));
    if !ensure_tool("ffmpeg", "ffmpeg") {
        bail!("ffmpeg is needed for the benchmark inputs and could not be installed");
    }
    if !path.exists() {
        let mut c = Command::new("ffmpeg");
        c.args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg(format!("testsrc2=size=1920x1080:rate={rate}"))
            .args(["-frames:v", &frames.to_string()])
            .args(["-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe"])
            .arg(&path);
        run(c)?;
    }
    Ok(path)
}

/// Whether `tool` runs, installing Debian's `package` (as root, with
/// apt-get, refreshing the package lists if the first try fails) if not.
fn ensure_tool(tool: &str, package: &str) -> bool {
    let quiet = |c: &mut Command| {
        c.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let there =
        || quiet(Command::new(tool).arg("-version")) || quiet(Command::new(tool).arg("--version"));
    if there() {
        return true;
    }
    eprintln!("{tool} is missing: apt-get install -y {package}");
    let install = || quiet(Command::new("apt-get").args(["install", "-y", "-qq", package]));
    if !install() {
        let _ = quiet(Command::new("apt-get").args(["update", "-qq"]));
        let _ = install();
    }
    there()
}

/// Whether `pv` is there (installed if need be); without it the ingest
/// row is left out, loudly.
fn has_pv() -> bool {
    let ok = ensure_tool("pv", "pv");
    if !ok {
        eprintln!("*** pv is missing and could not be installed: no ingest row ***");
    }
    ok
}

fn wall(c: &mut Command) -> Result<f64> {
    let t = Instant::now();
    output(c)?;
    Ok(t.elapsed().as_secs_f64() * 1e9)
}

struct Row {
    title: String,
    memview: f64,
    peers: Vec<(String, Option<f64>)>,
}

pub(crate) fn peers(args: &[String]) -> Result<()> {
    let write = args.iter().any(|a| a == "--write");
    let rounds: usize = match args.iter().position(|a| a == "--rounds") {
        Some(i) => args
            .get(i + 1)
            .context("--rounds needs a number")?
            .parse()
            .context("--rounds takes a whole number")?,
        None => 5,
    };
    let python = venv_python()?;
    step("peers: building memview-peers and memview (release)");
    let mut c = cargo();
    c.args([
        "build",
        "--release",
        "-p",
        "memview-benches",
        "--bin",
        "memview-peers",
    ])
    .args(["-p", "memview-cli"]);
    run(c)?;
    let bin = project_root().join("target/release");
    let crop_in = crop_input()?;
    let crop_dir = project_root().join("target/bench-data/out");
    std::fs::create_dir_all(&crop_dir)?;

    let mut mv = Worker::spawn(Command::new(bin.join("memview-peers")))?;
    let mut py = {
        let mut c = Command::new(&python);
        c.arg(project_root().join("benches/peers.py"));
        Worker::spawn(c)?
    };
    let versions: Value = serde_json::from_str(&py.ask("versions")?)?;

    step(&format!("peers: {rounds} interleaved rounds"));
    let mut samples: Vec<(Vec<f64>, Vec<Vec<f64>>)> = WORKLOADS
        .iter()
        .map(|w| (Vec::new(), vec![Vec::new(); w.peers.len()]))
        .collect();
    let mut crop = (Vec::new(), Vec::new());
    let mut ingest = (Vec::new(), Vec::new());
    let has_pv = has_pv();
    let (zx, zy, zw, zh) = (640, 360, 400, 300);
    for round in 0..rounds {
        eprintln!("round {}/{rounds}", round + 1);
        for (w, (ours, theirs)) in WORKLOADS.iter().zip(samples.iter_mut()) {
            // Alternate who goes first, so neither always runs warm.
            let mut mine = |mv: &mut Worker| -> Result<()> {
                ours.push(mv.time(w.memview)?.context("memview answered n/a")?);
                Ok(())
            };
            if round % 2 == 0 {
                mine(&mut mv)?;
            }
            for ((_, cmd), t) in w.peers.iter().zip(theirs.iter_mut()) {
                if let Some(v) = py.time(cmd)? {
                    t.push(v);
                }
            }
            if round % 2 == 1 {
                mine(&mut mv)?;
            }
        }
        let mut ours = Command::new(bin.join("memview"));
        ours.arg("crop")
            .arg(&crop_in)
            .args(["--zone", &format!("{zx},{zy},{zw},{zh}"), "-o"])
            .arg(crop_dir.join("memview.y4m"));
        let mut ff = Command::new("ffmpeg");
        ff.args(["-v", "error", "-y", "-i"])
            .arg(&crop_in)
            .args([
                "-vf",
                &format!("crop={zw}:{zh}:{zx}:{zy}"),
                "-f",
                "yuv4mpegpipe",
            ])
            .arg(crop_dir.join("ffmpeg.y4m"));
        if round % 2 == 0 {
            crop.0.push(wall(&mut ours)?);
            crop.1.push(wall(&mut ff)?);
        } else {
            crop.1.push(wall(&mut ff)?);
            crop.0.push(wall(&mut ours)?);
        }
        // Y4M ingest from a pipe: memview's reader against `pv`, which
        // only moves the bytes.
        if has_pv {
            let q = |s: &Path| format!("'{}'", s.display());
            let mut ours = Command::new("sh");
            ours.arg("-c").arg(
                format!("cat {} | {}", q(&crop_in), q(&bin.join("memview-peers"))) + " ingest",
            );
            let mut pv = Command::new("sh");
            pv.arg("-c")
                .arg(format!("cat {} | pv -q >/dev/null", q(&crop_in)));
            if round % 2 == 0 {
                ingest.0.push(wall(&mut ours)?);
                ingest.1.push(wall(&mut pv)?);
            } else {
                ingest.1.push(wall(&mut pv)?);
                ingest.0.push(wall(&mut ours)?);
            }
        }
    }
    let mut rows: Vec<Row> = WORKLOADS
        .iter()
        .zip(samples.iter_mut())
        .map(|(w, (ours, theirs))| Row {
            title: w.title.into(),
            memview: median(ours),
            peers: w
                .peers
                .iter()
                .zip(theirs.iter_mut())
                .map(|((label, _), t)| ((*label).into(), (!t.is_empty()).then(|| median(t))))
                .collect(),
        })
        .collect();
    rows.push(Row {
        title: format!("crop of a Y4M stream (60 frames 1080p, {zw}x{zh} zone), whole process"),
        memview: median(&mut crop.0),
        peers: vec![("ffmpeg -vf crop".into(), Some(median(&mut crop.1)))],
    });
    if has_pv {
        // Here the peer is the baseline memview should match, not beat:
        // the ratio is the share of pv's throughput memview reaches.
        rows.push(Row {
            title: "Y4M ingest from a pipe (60 frames 1080p, `cat FILE \\| ...`), whole pipeline"
                .into(),
            memview: median(&mut ingest.0),
            peers: vec![(
                "`pv -q >/dev/null` (bytes only)".into(),
                Some(median(&mut ingest.1)),
            )],
        });
    }
    drop(mv);

    step("peers: memory (ten zones, 120 frames of 1080p)");
    let ours: Value = serde_json::from_str(&output(
        Command::new(bin.join("memview-peers")).arg("memory"),
    )?)?;
    let numpy: Value = serde_json::from_str(&py.ask("memory:numpy")?)?;
    drop(py);
    step("peers: scaling (zones and threads)");
    let scaling: Value = serde_json::from_str(&output(
        Command::new(bin.join("memview-peers")).arg("scaling"),
    )?)?;

    step("peers: results and events (memview run's loop with and without them)");
    let results: Value = serde_json::from_str(&output(
        Command::new(bin.join("memview-peers")).arg("results"),
    )?)?;

    step("peers: the Rust peers, in one process");
    let rust: Value = serde_json::from_str(&output(
        Command::new(bin.join("memview-peers")).arg("rust"),
    )?)?;

    let report = render(
        &rows, &ours, &numpy, &scaling, &results, &rust, &versions, rounds,
    )?;
    print!("{report}");
    if write {
        // The plots are drawn by memview-peers (plotters lives in the
        // benches crate, not here), from the scaling figures on stdin.
        let plots = project_root().join("benches/plots");
        let mut c = Command::new(bin.join("memview-peers"));
        c.arg("plots").arg(&plots).stdin(Stdio::piped());
        let mut child = c.spawn().context("could not start memview-peers plots")?;
        child
            .stdin
            .take()
            .context("no stdin")?
            .write_all(scaling.to_string().as_bytes())?;
        let status = child.wait()?;
        if !status.success() {
            bail!("memview-peers plots failed with {status}");
        }
        // The streams section is `bench --streams`'s: kept as it was.
        let path = project_root().join("BENCHMARKS.md");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        let report = match crate::streams::section(&old) {
            Some(s) => crate::streams::splice(&report, s),
            None => report,
        };
        std::fs::write(path, report)?;
        eprintln!("wrote BENCHMARKS.md and benches/plots/{{zones,threads}}.svg");
    }
    Ok(())
}

// Each figure comes from its own measurement step of `peers`.
#[allow(clippy::too_many_arguments)]
fn render(
    rows: &[Row],
    ours: &Value,
    numpy: &Value,
    scaling: &Value,
    results: &Value,
    rust: &Value,
    versions: &Value,
    rounds: usize,
) -> Result<String> {
    let mut s = String::new();
    let date = first_line(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]));
    let rustc = first_line(Command::new("rustc").arg("-V"));
    let ffmpeg = first_line(Command::new("ffmpeg").arg("-version"));
    writeln!(s, "# Benchmarks\n")?;
    writeln!(
        s,
        "Generated by `cargo xtask bench --peers --write` (`--rounds {rounds}`); every figure below \
         comes from that one run. Do not edit by hand.\n"
    )?;
    writeln!(s, "- Machine: {}", machine_line())?;
    writeln!(s, "- Date: {date}")?;
    writeln!(
        s,
        "- Software: {rustc}; Python {}, NumPy {}, OpenCV {} (opencv-python-headless, \
         `cv2.setNumThreads(1)`); {ffmpeg}",
        versions["python"].as_str().unwrap_or("?"),
        versions["numpy"].as_str().unwrap_or("?"),
        versions["opencv"].as_str().unwrap_or("n/a"),
    )?;
    writeln!(
        s,
        "- Shared, noisy machine: compare ratios, which were measured side by side, rather \
         than absolute times.\n"
    )?;
    writeln!(s, "## memview beside its peers\n")?;
    writeln!(
        s,
        "Medians of {rounds} rounds; in each round every workload runs in memview \
         (`benches/peers.rs`) and in each peer (`benches/peers.py`) back to back, in alternating \
         order, each a median of seven batches of at least 20 ms. Inputs: the same ten 200x200 \
         zones of a 1080p I420 frame of uniform noise. *peer / memview* above 1 means memview \
         is that many times faster.\n"
    )?;
    writeln!(
        s,
        "| workload | memview | peer | peer time | peer / memview |"
    )?;
    writeln!(s, "|---|---:|---|---:|---:|")?;
    for r in rows {
        for (i, (label, t)) in r.peers.iter().enumerate() {
            let (title, ours) = if i == 0 {
                (r.title.as_str(), human_ns(r.memview))
            } else {
                ("", String::new())
            };
            let (theirs, ratio) = match t {
                Some(t) => (human_ns(*t), format!("{:.2}x", t / r.memview)),
                None => ("n/a".into(), "n/a".into()),
            };
            writeln!(s, "| {title} | {ours} | {label} | {theirs} | {ratio} |")?;
        }
    }
    writeln!(
        s,
        "\nThe crop row times whole processes (`memview crop` against `ffmpeg -v error -i IN -vf \
         crop=...`), both reading and writing Y4M files; their frame data are byte-identical \
         (memview-cli's tests check it). In the ingest row the peer is the bar to reach, not \
         beat: `pv` only moves bytes, memview parses the Y4M stream into pooled frames, and \
         *peer / memview* is the share of pv's throughput memview reaches. OpenCV's blob \
         functions allocate their output per call (memview writes into the caller's batch); \
         on these VMs the page faults of that fresh 1.5 MB (4.9 MB letterboxed) array can \
         cost more than the work, and vary from hour to hour, so each blob row is also \
         measured into an array made once (the `blob` argument of `blobFromImagesWithParams` \
         / `blobFromImageWithParams`, checked equal to the allocating call): the peer at its \
         best.\n"
    )?;
    writeln!(
        s,
        "## Memory: ten zones at 1080p (120 frames after 10 warm-up)\n"
    )?;
    writeln!(
        s,
        "memview's runner views the zones in place; the copying runner is built from the same \
         parts (`benches/lib.rs`: each zone copied out with `Frame::to_vec`, the same analyzers \
         over the copy); the NumPy pipeline copies each zone's planes with \
         `np.ascontiguousarray` and analyses them. Heap peaks include the three 1080p frames \
         (9.3 MB) every pipeline holds. memview's counts come from a counting global \
         allocator; NumPy's peak from `tracemalloc` (which sees NumPy's data buffers), its \
         count is of the arrays the pipeline copies.\n"
    )?;
    writeln!(
        s,
        "| pipeline | allocations / frame | bytes allocated / frame | at 60 fps | heap peak |"
    )?;
    writeln!(s, "|---|---:|---:|---:|---:|")?;
    for (name, key) in [
        ("memview runner (zero-copy)", "zero_copy"),
        ("copying runner (same parts)", "copying"),
    ] {
        let v = &ours[key];
        let bytes = v["bytes_per_frame"].as_f64().unwrap_or(f64::NAN);
        writeln!(
            s,
            "| {name} | {:.2} | {bytes:.0} | {} / s | {} |",
            v["allocations_per_frame"].as_f64().unwrap_or(f64::NAN),
            mib(bytes * 60.0),
            mib(v["heap_peak_bytes"].as_f64().unwrap_or(f64::NAN)),
        )?;
    }
    let nb = numpy["copied_bytes_per_frame"].as_f64().unwrap_or(f64::NAN);
    writeln!(
        s,
        "| NumPy copy pipeline | {:.0} arrays copied (temporaries not counted) | {nb:.0} (the copies) | {} / s | {} |",
        numpy["copies_per_frame"].as_f64().unwrap_or(f64::NAN),
        mib(nb * 60.0),
        mib(numpy["heap_peak_bytes"].as_f64().unwrap_or(f64::NAN)),
    )?;
    writeln!(s, "\n## Scaling\n")?;
    writeln!(
        s,
        "Frames per second of the default analyzers (mean/variance, histogram, motion) through \
         memview's zero-copy runner and the copying runner, on frames of noise held in the \
         pool, against the number of 128x128 zones (all {} cores) and against threads (ten \
         200x200 zones).\n",
        scaling["cores"]
    )?;
    writeln!(s, "![throughput against zones](benches/plots/zones.svg)\n")?;
    writeln!(
        s,
        "| zones | memview frames/s | copying frames/s | memview / copying |"
    )?;
    writeln!(s, "|---:|---:|---:|---:|")?;
    for r in scaling["zones"].as_array().into_iter().flatten() {
        let (n, a, b) = (
            &r[0],
            r[1].as_f64().unwrap_or(0.0),
            r[2].as_f64().unwrap_or(0.0),
        );
        writeln!(s, "| {n} | {a:.0} | {b:.0} | {:.2}x |", a / b)?;
    }
    writeln!(
        s,
        "\n![throughput against threads](benches/plots/threads.svg)\n"
    )?;
    writeln!(
        s,
        "| threads | memview frames/s | copying frames/s | memview speed-up over 1 thread |"
    )?;
    writeln!(s, "|---:|---:|---:|---:|")?;
    let base = scaling["threads"][0][1].as_f64().unwrap_or(f64::NAN);
    for r in scaling["threads"].as_array().into_iter().flatten() {
        let (n, a, b) = (
            &r[0],
            r[1].as_f64().unwrap_or(0.0),
            r[2].as_f64().unwrap_or(0.0),
        );
        writeln!(s, "| {n} | {a:.0} | {b:.0} | {:.2}x |", a / base)?;
    }
    writeln!(s, "\n## Results and events\n")?;
    writeln!(
        s,
        "`memview run`'s loop (`benches/lib.rs`, `run_frames`: the synthetic 1080p source on \
         its capture thread, ten zones, mean/variance + histogram + motion on every core), \
         2000 frames a run, without and with JSON Lines results and motion events written \
         to files in the temporary folder by the writer thread (records waiting for it, so \
         every line is written inside the time measured); eleven rounds alternating, \
         medians. The capture pool has five buffers (two held by the analyzers, two \
         queued, one being filled): with three, capture and analysis ran in lock-step and \
         the writer taking either one's core idled both (0.78 to 0.85 measured).\n"
    )?;
    writeln!(s, "| run | frames/s |")?;
    writeln!(s, "|---|---:|")?;
    let f = |k: &str| results[k].as_f64().unwrap_or(f64::NAN);
    writeln!(s, "| without results | {:.0} |", f("without"))?;
    writeln!(s, "| with `--results` and `--events` | {:.0} |", f("with"))?;
    writeln!(
        s,
        "\nWith / without, the median of the rounds' ratios: **{:.3}**.",
        f("ratio")
    )?;
    writeln!(s, "\n## Rust peers\n")?;
    writeln!(
        s,
        "The crates a Rust user would otherwise pick, in the same process on the same \
         inputs (`memview-peers rust`, workloads in `benches/lib.rs`, `rust_peers`): five \
         rounds alternating memview and the peer, each a median of seven batches of at least \
         20 ms; medians. *peer / memview* above 1 means memview is that many times faster.\n"
    )?;
    writeln!(s, "| job | memview | peer | peer time | peer / memview |")?;
    writeln!(s, "|---|---:|---|---:|---:|")?;
    for r in rust["rows"].as_array().into_iter().flatten() {
        let (a, b) = (
            r["memview_ns"].as_f64().unwrap_or(f64::NAN),
            r["peer_ns"].as_f64().unwrap_or(f64::NAN),
        );
        writeln!(
            s,
            "| {} | {} | {} | {} | {:.2}x |",
            r["job"].as_str().unwrap_or("?"),
            human_ns(a),
            r["peer"].as_str().unwrap_or("?"),
            human_ns(b),
            b / a
        )?;
    }
    let d = &rust["rgb_max_diff"];
    writeln!(
        s,
        "\nThe RGB of each peer against memview's (which is OpenCV's `cvtColor`, byte for \
         byte): at most {} apart for `yuv`, {} for `dcv-color-primitives`. memview keeps its \
         own kernels (AVX-512 BW/VBMI where the CPU has it, else AVX2) for that exactness; \
         the AVX2 row shows what a CPU without AVX-512 gets. Both kernels take the two luma \
         lines of 4:2:0 that share a chroma line in one pass, as `yuv` does. The resize rows compare like with like: memview's \
         OpenCV-exact `INTER_LINEAR` with `fast_image_resize`'s fixed-kernel \
         `Interpolation(Bilinear)`, memview's Pillow `BILINEAR` with its antialiased \
         `Convolution(Bilinear)`. The first Y4M row reads a stream held in memory as \
         memview's frames of it (`MmapSource::y4m`, each frame a view, as from a mapped \
         file), against the `y4m` crate, which copies each frame out; the second puts \
         memview's reader source (which copies into pooled buffers, as it must from a pipe) \
         beside the same decoder.",
        d["yuv"], d["dcv-color-primitives"]
    )?;
    writeln!(
        s,
        "\n## Criterion suites\n\n`cargo xtask bench` runs the full criterion suites \
         (`format/parse`, `core/view`, `core/to_bytes`, `pixel/roi`, `pixel/convert`, \
         `capture/synthetic`, `capture/y4m`, `roi/analyzers`, `roi/pipeline`, \
         `roi/histogram`, `roi/run`, `roi/dispatch`, `rust_peers`), each zero-copy figure beside its \
         copying baseline (the histogram, on noise and on flat colour bars, beside the \
         one-store-per-pixel floor of any exact histogram kept in memory; `roi/run` with and without results; `roi/dispatch`, the \
         type-erased analyzer call beside a fixed-struct call); CI runs each once in test \
         mode."
    )?;
    Ok(s)
}
