//! `cargo xtask bench --streams [--write] [--rounds N] [--seconds S]`:
//! `memview run` on a 1080p Y4M file (mapped and read) against the same
//! job in OpenCV-Python (`benches/streams.py`), and streams per machine:
//! how many 1080p streams paced at 30 frames/s one memview process keeps
//! with no drops and a p99 under 33 ms, against one OpenCV-Python process
//! per stream. `--write` puts the section into BENCHMARKS.md (between
//! its markers, which `bench --peers --write` keeps).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::{cargo, project_root, run, step};

/// Where the section goes in BENCHMARKS.md.
pub(crate) const BEGIN: &str = "<!-- streams: cargo xtask bench --streams --write -->";
pub(crate) const END: &str = "<!-- /streams -->";

/// The stream rate, and the latency a stream must keep.
const FPS: u32 = 30;
const BUDGET_US: f64 = 33_000.0;

/// The last line of a command's stdout as JSON.
fn json_of(c: &mut Command) -> Result<Value> {
    let text = crate::peers::output(c)?;
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).with_context(|| format!("{c:?}: not JSON: {last}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// One load: `n` streams, each one's worst drops and p99.
#[derive(Debug, Clone, Copy)]
struct Load {
    n: usize,
    dropped: u64,
    p99_us: f64,
}

impl Load {
    fn sustained(&self) -> bool {
        self.dropped == 0 && self.p99_us < BUDGET_US
    }
}

/// `n` paced streams of `file` in one memview process.
fn memview_load(bin: &Path, file: &Path, n: usize, frames: u32, dir: &Path) -> Result<Load> {
    let cfg = dir.join(format!("streams-{n}.toml"));
    let mut text = format!("frames = {frames}\n");
    for i in 0..n {
        text += &format!(
            "[[camera]]\nname = \"cam{i}\"\nsource = \"{}\"\nrealtime = true\n",
            file.display()
        );
    }
    std::fs::write(&cfg, text)?;
    let j = json_of(
        Command::new(bin)
            .args(["run", "--json", "--config"])
            .arg(&cfg),
    )?;
    let streams = j["streams"]
        .as_array()
        .context("no streams in the summary")?;
    Ok(Load {
        n,
        dropped: streams
            .iter()
            .map(|s| s["dropped"].as_u64().unwrap_or(0))
            .sum(),
        p99_us: streams
            .iter()
            .map(|s| s["latency_us"]["p99"].as_f64().unwrap_or(f64::INFINITY))
            .fold(0.0, f64::max),
    })
}

/// `n` paced streams of `file`, one OpenCV-Python process each.
fn python_load(python: &Path, file: &Path, n: usize, frames: u32) -> Result<Load> {
    let script = project_root().join("benches/streams.py");
    let children: Vec<Child> = (0..n)
        .map(|_| {
            Command::new(python)
                .arg(&script)
                .arg("paced")
                .arg(file)
                .arg(frames.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .context("could not start benches/streams.py")
        })
        .collect::<Result<_>>()?;
    let mut load = Load {
        n,
        dropped: 0,
        p99_us: 0.0,
    };
    for c in children {
        let out = c.wait_with_output()?;
        if !out.status.success() {
            bail!("benches/streams.py failed with {}", out.status);
        }
        let j: Value = serde_json::from_slice(&out.stdout)?;
        load.dropped += j["dropped"].as_u64().unwrap_or(0);
        load.p99_us = load
            .p99_us
            .max(j["p99_us"].as_f64().unwrap_or(f64::INFINITY));
    }
    Ok(load)
}

/// Loads of 1, 2, 4, ... streams until two in a row are not sustained (or
/// `max`), and the largest that was.
fn climb(max: usize, mut at: impl FnMut(usize) -> Result<Load>) -> Result<(Vec<Load>, usize)> {
    let mut loads = Vec::new();
    let mut best = 0;
    let mut failed = 0;
    let mut n = 1;
    while n <= max && failed < 2 {
        let l = at(n)?;
        eprintln!(
            "  {n} streams: dropped {}, p99 {:.0} us",
            l.dropped, l.p99_us
        );
        if l.sustained() {
            best = best.max(n);
            failed = 0;
        } else {
            failed += 1;
        }
        loads.push(l);
        n = if n < 4 { n * 2 } else { n + 4 };
    }
    Ok((loads, best))
}

/// A small SVG plot of p99 latency against streams, both peers.
fn plot(ours: &[Load], theirs: &[Load]) -> String {
    let (w, h, pad) = (560.0, 300.0, 40.0);
    let xmax = ours.iter().chain(theirs).map(|l| l.n).max().unwrap_or(1) as f64;
    let ymax = ours
        .iter()
        .chain(theirs)
        .map(|l| l.p99_us.min(4.0 * BUDGET_US))
        .fold(BUDGET_US * 1.2, f64::max);
    let x = |n: usize| pad + (n as f64 / xmax) * (w - 2.0 * pad);
    let y = |us: f64| h - pad - (us.min(4.0 * BUDGET_US) / ymax) * (h - 2.0 * pad);
    let line = |ls: &[Load], colour: &str| {
        let pts: Vec<String> = ls
            .iter()
            .map(|l| format!("{:.1},{:.1}", x(l.n), y(l.p99_us)))
            .collect();
        format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
            pts.join(" ")
        )
    };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n\
         <line x1=\"{pad}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"black\"/>\n\
         <line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{b}\" stroke=\"black\"/>\n\
         <line x1=\"{pad}\" y1=\"{yb:.1}\" x2=\"{r}\" y2=\"{yb:.1}\" stroke=\"grey\" stroke-dasharray=\"4\"/>\n\
         <text x=\"{r}\" y=\"{yt:.1}\" text-anchor=\"end\">33 ms</text>\n\
         <text x=\"{cx}\" y=\"{h2}\" text-anchor=\"middle\">streams (1080p, 30 frames/s)</text>\n\
         <text x=\"12\" y=\"{pad}\">p99 per frame</text>\n\
         {}\n{}\n\
         <text x=\"{lx}\" y=\"{ly1}\" fill=\"#1f77b4\">memview, one process</text>\n\
         <text x=\"{lx}\" y=\"{ly2}\" fill=\"#d62728\">OpenCV-Python, a process per stream</text>\n\
         </svg>\n",
        line(ours, "#1f77b4"),
        line(theirs, "#d62728"),
        b = h - pad,
        r = w - pad,
        yb = y(BUDGET_US),
        yt = y(BUDGET_US) - 4.0,
        cx = w / 2.0,
        h2 = h - 8.0,
        lx = pad + 10.0,
        ly1 = pad + 10.0,
        ly2 = pad + 24.0,
    )
}

pub(crate) fn streams(args: &[String]) -> Result<()> {
    let write = args.iter().any(|a| a == "--write");
    let num = |flag: &str, default: usize| -> Result<usize> {
        match args.iter().position(|a| a == flag) {
            Some(i) => args
                .get(i + 1)
                .with_context(|| format!("{flag} needs a number"))?
                .parse()
                .with_context(|| format!("{flag} takes a whole number")),
            None => Ok(default),
        }
    };
    let rounds = num("--rounds", 9)?;
    let seconds = num("--seconds", 5)?;
    let max = num("--max-streams", 240)?;
    let python = crate::oracle_python()?;
    step("streams: building memview (release)");
    let mut c = cargo();
    c.args(["build", "--release", "-p", "memview-cli"]);
    run(c)?;
    let bin = project_root().join("target/release/memview");
    // Paced streams play 150 frames (5 s); the throughput runs take a
    // 600-frame file (1.9 GB): 150 frames are some 25 ms of memview, too
    // short to time on a shared machine.
    let file = crate::peers::testsrc_1080p(FPS, 150)?;
    let long = crate::peers::testsrc_1080p(FPS, 600)?;
    let dir = project_root().join("target/bench-data/streams");
    std::fs::create_dir_all(&dir)?;

    step(&format!(
        "streams: memview run on a 1080p file, {rounds} rounds"
    ));
    let script = project_root().join("benches/streams.py");
    let (mut mapped, mut read, mut cv, mut synth) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let fps = |j: &Value| j["fps"].as_f64().unwrap_or(f64::NAN);
    // Warm the page cache once: every run reads the file from it.
    std::fs::read(&long).map(drop)?;
    for round in 0..rounds {
        let mut m = Command::new(&bin);
        m.args(["run", "--frames", "0", "--json", "--source"])
            .arg(&long);
        let mut r = Command::new(&bin);
        r.args(["run", "--frames", "0", "--json", "--no-mmap", "--source"])
            .arg(&long);
        let mut p = Command::new(&python);
        p.arg(&script).arg("file").arg(&long);
        // The same job on the synthetic source, which reads no file (but
        // draws each frame).
        let mut y = Command::new(&bin);
        y.args(["run", "--frames", "600", "--json"]);
        // Rotate who goes first.
        let mut jobs: Vec<(&mut Vec<f64>, &mut Command)> = vec![
            (&mut mapped, &mut m),
            (&mut read, &mut r),
            (&mut cv, &mut p),
            (&mut synth, &mut y),
        ];
        jobs.rotate_left(round % 4);
        for (out, cmd) in jobs {
            out.push(fps(&json_of(cmd)?));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (mapped, read, cv, synth) = (median(mapped), median(read), median(cv), median(synth));
    eprintln!(
        "  mapped {mapped:.0}, read {read:.0}, OpenCV-Python {cv:.0}, synthetic {synth:.0} frames/s"
    );

    let frames = (seconds as u32) * FPS;
    step(&format!(
        "streams: paced 1080p streams, {seconds} s each load"
    ));
    eprintln!(" memview, one process:");
    let (ours, ours_best) = climb(max, |n| memview_load(&bin, &file, n, frames, &dir))?;
    eprintln!(" OpenCV-Python, a process per stream:");
    let (theirs, theirs_best) = climb(max, |n| python_load(&python, &file, n, frames))?;

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut md = String::new();
    md += &format!("{BEGIN}\n## Files and streams per machine\n\n");
    md += &format!(
        "`cargo xtask bench --streams` on this machine ({cores} cores): `memview run` on a \
         600-frame 1080p Y4M file (ten zones, the default analyzers), medians of {rounds} rotated \
         rounds, against the same job in OpenCV-Python (`benches/streams.py`: `readinto` one \
         reused buffer, `np.frombuffer`, `cv2.calcHist`, `cv2.meanStdDev`, `cv2.norm`).\n\n"
    );
    md += "| job | frames/s | memview (mapped) / this |\n|---|---:|---:|\n";
    md += &format!(
        "| `memview run` (the file mapped, frames are views of the page cache: the default) | {mapped:.0} | 1.00x |\n"
    );
    md += &format!(
        "| `memview run --no-mmap` (each frame read into the pool, as `run` did before it mapped files) | {read:.0} | {:.2}x |\n",
        mapped / read
    );
    md += &format!("| OpenCV-Python | {cv:.0} | {:.2}x |\n", mapped / cv);
    md += &format!(
        "| `memview run` on the synthetic 1080p source (reads no file, draws each frame) | {synth:.0} | {:.2}x |\n\n",
        mapped / synth
    );
    md += &format!(
        "Streams per machine: N streams of a 150-frame file of the same video paced at {FPS} frames/s for {seconds} s \
         (`--realtime`, ten zones each): one memview process (`--config` with N cameras, one \
         shared analysis pool, the files mapped) against N OpenCV-Python processes. A load is sustained with no \
         frame dropped and every stream's p99 analysis time per frame under 33 ms.\n\n"
    );
    md += "| streams | memview dropped | memview worst p99 (ms) | OpenCV-Python dropped | OpenCV-Python worst p99 (ms) |\n|---:|---:|---:|---:|---:|\n";
    let ns: std::collections::BTreeSet<usize> = ours.iter().chain(&theirs).map(|l| l.n).collect();
    let cell = |ls: &[Load], n: usize| match ls.iter().find(|l| l.n == n) {
        Some(l) => (l.dropped.to_string(), format!("{:.1}", l.p99_us / 1000.0)),
        None => ("-".into(), "-".into()),
    };
    for n in ns {
        let (a, b) = cell(&ours, n);
        let (c, d) = cell(&theirs, n);
        md += &format!("| {n} | {a} | {b} | {c} | {d} |\n");
    }
    // A peer that sustained the climb's last load may sustain more.
    let capped = |ls: &[Load], best: usize| {
        let top = ls.last().is_some_and(|l| l.n == best && l.sustained());
        if top {
            format!("; every load up to the climb's limit, `--max-streams {max}`: at least that")
        } else {
            String::new()
        }
    };
    md += &format!(
        "\nSustained: memview **{ours_best}** streams ({:.1} per core{}), OpenCV-Python \
         **{theirs_best}** ({:.1} per core{}): **{}**.\n\n![p99 against streams](benches/plots/streams.svg)\n{END}\n",
        ours_best as f64 / cores as f64,
        capped(&ours, ours_best),
        theirs_best as f64 / cores as f64,
        capped(&theirs, theirs_best),
        if theirs_best > 0 {
            format!("{:.1}x the streams", ours_best as f64 / theirs_best as f64)
        } else {
            "OpenCV-Python sustained none".into()
        }
    );
    print!("{md}");
    if write {
        let plots = project_root().join("benches/plots");
        std::fs::create_dir_all(&plots)?;
        std::fs::write(plots.join("streams.svg"), plot(&ours, &theirs))?;
        let path = project_root().join("BENCHMARKS.md");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::write(&path, splice(&old, &md))?;
        eprintln!("wrote the streams section of BENCHMARKS.md and benches/plots/streams.svg");
    }
    Ok(())
}

/// `doc` with its streams section replaced by `section` (appended if it
/// has none).
pub(crate) fn splice(doc: &str, section: &str) -> String {
    match (doc.find(BEGIN), doc.find(END)) {
        (Some(a), Some(b)) if b > a => {
            let tail = &doc[b + END.len()..];
            format!("{}{}{}", &doc[..a], section.trim_end(), tail)
        }
        _ => format!("{}\n{}", doc.trim_end(), section),
    }
}

/// The streams section of `doc`, if it has one (kept by `bench --peers`).
pub(crate) fn section(doc: &str) -> Option<&str> {
    let a = doc.find(BEGIN)?;
    let b = doc.find(END)?;
    (b > a).then(|| &doc[a..b + END.len()])
}
