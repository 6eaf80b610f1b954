//! `cargo xtask`: the project's automation, in Rust so it runs anywhere
//! cargo does.
//!
//! Tasks: `ci` (everything CI runs), `lint`, `loom`, `asan`, `fuzz`,
//! `bench`. Run `cargo xtask help` for the flags.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

mod peers;
mod streams;

const HELP: &str = "\
cargo xtask <task> [args]

tasks:
  ci                    fmt check, clippy -D warnings, all tests and doctests,
                        loom models, the AddressSanitizer run, benches once in
                        test mode, fuzz targets built and run briefly
  lint                  fmt check and clippy -D warnings
  loom [FILTER]         the loom models (release, debug assertions, --cfg loom)
  asan                  memview-core's tests under AddressSanitizer (nightly)
  fuzz [TARGET] [--seconds N]
                        run fuzz targets (default: all, 60 s each)
  py                    the Python package: pip install into target/py-venv,
                        then pytest crates/memview-py/tests
  bench [ARGS]          criterion benches (ARGS go to criterion)
  bench --peers [--write] [--rounds N]
                        memview beside CPython struct/memoryview, NumPy,
                        OpenCV and ffmpeg (a venv under target/), memory and
                        scaling; --write regenerates BENCHMARKS.md and plots
  bench --streams [--write] [--rounds N] [--seconds S] [--max-streams N]
                        memview run on a 1080p file (mapped, read) beside
                        OpenCV-Python, and streams per machine (paced 30 fps
                        1080p streams, one process against one per stream)
  package               cargo package (verified) of every published crate, in
                        dependency order, against each other's packages
  examples              build and run every crate's examples
  docs                  cargo doc, public and private items, warnings denied
  msrv                  cargo check of every crate with the rust-version
                        toolchain of Cargo.toml
  vivid                 the V4L2 backend's tests against the kernel's vivid
                        camera in a qemu VM (shared/vivid-vm), single-planar
                        and multi-planar
";

/// Fuzz targets, all run by `fuzz` and briefly by `ci`.
const FUZZ_TARGETS: &[&str] = &[
    "format_parse",
    "format_ast_roundtrip",
    "y4m_stream",
    "view_ops",
    "detections",
];

fn main() -> Result<()> {
    let mut args = env::args().skip(1);
    let task = args.next().unwrap_or_else(|| "help".to_owned());
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "ci" => ci(),
        "lint" => lint(),
        "loom" => loom(rest.first().map(String::as_str)),
        "asan" => asan(),
        "fuzz" => {
            let (target, secs) = fuzz_args(&rest)?;
            fuzz(target.as_deref(), secs.unwrap_or(60))
        }
        "bench" => bench(&rest),
        "vivid" => vivid(),
        "py" => py(),
        "package" => package(),
        "docs" => docs(),
        "examples" => examples(),
        "msrv" => msrv(),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => bail!("unknown task {other:?}\n\n{HELP}"),
    }
}

pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the root")
        .to_path_buf()
}

pub(crate) fn cargo() -> Command {
    let mut c = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(project_root());
    c
}

/// `cargo +nightly`, through rustup rather than `$CARGO` (which is stable).
fn cargo_nightly() -> Command {
    let mut c = Command::new("cargo");
    c.arg("+nightly").current_dir(project_root());
    // The stable toolchain's variables must not leak into the nightly run.
    c.env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("CARGO");
    c
}

pub(crate) fn run(mut c: Command) -> Result<()> {
    let shown = format!("{c:?}");
    eprintln!("$ {shown}");
    let status = c
        .status()
        .with_context(|| format!("could not start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

pub(crate) fn step(name: &str) {
    eprintln!("\n==== xtask: {name} ====");
}

fn in_ci() -> bool {
    env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn lint() -> Result<()> {
    step("cargo fmt --check");
    let mut c = cargo();
    c.args(["fmt", "--all", "--", "--check"]);
    run(c)?;
    step("clippy -D warnings");
    let mut c = cargo();
    c.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]);
    run(c)
}

/// The oracles' Python packages, pinned: the tests hold memview to their
/// exact bytes, and those change between releases (OpenCV 5 changed
/// `INTER_LINEAR`'s rounding at the borders).
const ORACLES: &[&str] = &[
    "numpy==2.4.6",
    "opencv-python-headless==5.0.0.93",
    "pillow==13.0.0",
    "onnx==1.23.2",
    "onnxruntime==1.32.0",
];

/// The venv under `target/oracle-venv` with [`ORACLES`]: its python, which
/// the tests find through `MEMVIEW_PYTHON`.
pub(crate) fn oracle_python() -> Result<PathBuf> {
    venv("oracle-venv", "numpy, cv2, PIL, onnx, onnxruntime", ORACLES)
}

fn ci() -> Result<()> {
    lint()?;
    step("tests and doctests");
    let python = oracle_python()?;
    let mut c = cargo();
    c.args(["test", "--workspace", "--all-features"])
        .env("MEMVIEW_PYTHON", &python);
    run(c)?;
    loom(None)?;
    asan()?;
    step("benches, once each in test mode");
    let mut c = cargo();
    c.args(["bench", "--workspace", "--", "--test"]);
    run(c)?;
    fuzz(None, 10)?;
    examples()?;
    docs()?;
    msrv()?;
    package()?;
    py()?;
    vivid()?;
    eprintln!("\nxtask ci: all steps passed");
    Ok(())
}

/// `cargo metadata` of the workspace's own packages.
fn metadata() -> Result<serde_json::Value> {
    let out = cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .stderr(Stdio::inherit())
        .output()
        .context("could not run cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed with {}", out.status);
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// The workspace's crates that are published (those without
/// `publish = false`), from `cargo metadata`.
fn published() -> Result<(Vec<String>, Vec<String>)> {
    let meta = metadata()?;
    let mut yes = Vec::new();
    let mut no = Vec::new();
    for p in meta["packages"].as_array().context("no packages")? {
        let name = p["name"]
            .as_str()
            .context("a package without a name")?
            .to_owned();
        // `publish = false` is an empty list of registries.
        match p["publish"].as_array() {
            Some(r) if r.is_empty() => no.push(name),
            _ => yes.push(name),
        }
    }
    Ok((yes, no))
}

/// `cargo package --workspace`, verified: each crate is packaged and built
/// from its `.crate` file, its memview dependencies resolved to the
/// packages made in the same run (cargo's local overlay), so a crate that
/// needs a file outside its folder or a dependency it does not declare
/// fails here. Unpublished crates (the testkit, benches, xtask, the Python
/// extension) are left out; a published crate may only dev-depend on them
/// by path.
fn package() -> Result<()> {
    step("cargo package (verified) of the published crates");
    let (yes, no) = published()?;
    eprintln!(
        "published: {}; not published: {}",
        yes.join(", "),
        no.join(", ")
    );
    // The packages of an earlier run share this run's versions, and cargo
    // keeps the overlay's unpacked sources under `$CARGO_HOME/registry/src`
    // in folders named `-<hash>`, never unpacking the same version again:
    // the dependents would be verified against stale sources.
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    for (n, dir) in std::fs::read_dir(cargo_home.join("registry/src"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|d| (d.file_name(), d.path()))
    {
        if !n.to_string_lossy().starts_with('-') {
            continue;
        }
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if yes.iter().any(|c| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{c}-"))
            }) {
                std::fs::remove_dir_all(e.path())
                    .with_context(|| format!("could not remove {}", e.path().display()))?;
            }
        }
    }
    let mut c = cargo();
    c.args(["package", "--workspace", "--allow-dirty"]);
    for n in &no {
        c.args(["--exclude", n]);
    }
    run(c)
}

/// Every example of every workspace crate, from `cargo metadata`, built
/// and run (each asserts what it shows, so a wrong example fails here).
fn examples() -> Result<()> {
    step("examples, built and run");
    let meta = metadata()?;
    let mut n = 0;
    for p in meta["packages"].as_array().context("no packages")? {
        let package = p["name"].as_str().context("a package without a name")?;
        for t in p["targets"].as_array().into_iter().flatten() {
            let is_example = t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "example"));
            if !is_example {
                continue;
            }
            let name = t["name"].as_str().context("an example without a name")?;
            let mut c = cargo();
            c.args(["run", "--quiet", "-p", package, "--example", name]);
            run(c)?;
            n += 1;
        }
    }
    if n == 0 {
        bail!("no examples found");
    }
    Ok(())
}

/// `cargo doc` with warnings denied, public items and then private ones,
/// and as docs.rs builds it (nightly, `--cfg docsrs`, every feature).
fn docs() -> Result<()> {
    for private in [false, true] {
        step(if private {
            "cargo doc --document-private-items"
        } else {
            "cargo doc"
        });
        let mut c = cargo();
        c.args(["doc", "--workspace", "--no-deps", "--all-features"]);
        if private {
            c.arg("--document-private-items");
        }
        c.env("RUSTDOCFLAGS", "-D warnings");
        run(c)?;
    }
    // Only what docs.rs would build: the published crates (the Python
    // extension and the benches would compile pyo3 and criterion again).
    step("cargo +nightly doc --cfg docsrs (as docs.rs), published crates");
    let (_, unpublished) = published()?;
    let mut c = cargo_nightly();
    c.args(["doc", "--workspace", "--no-deps", "--all-features"]);
    for n in &unpublished {
        c.args(["--exclude", n]);
    }
    c.env("RUSTDOCFLAGS", "-D warnings --cfg docsrs")
        .env("CARGO_TARGET_DIR", project_root().join("target/docsrs"));
    run(c)
}

/// `cargo check` with the toolchain named by `rust-version` (the
/// workspace's MSRV): the default toolchain where it is that version,
/// else rustup's toolchain of that name.
fn msrv() -> Result<()> {
    let manifest = std::fs::read_to_string(project_root().join("Cargo.toml"))?;
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .context("Cargo.toml has no rust-version")?;
    let toolchain = if version.matches('.').count() == 1 {
        format!("{version}.0")
    } else {
        version
    };
    let rustc = Command::new(env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .arg("--version")
        .output()
        .context("could not run rustc --version")?;
    let default_is_msrv =
        String::from_utf8_lossy(&rustc.stdout).starts_with(&format!("rustc {toolchain} "));
    step(&format!("MSRV: cargo check with Rust {toolchain}"));
    let mut c = if default_is_msrv {
        cargo()
    } else {
        let mut c = Command::new("cargo");
        c.arg(format!("+{toolchain}"))
            .current_dir(project_root())
            .env_remove("RUSTC")
            .env_remove("RUSTDOC")
            .env_remove("CARGO");
        c
    };
    c.args(["check", "--workspace", "--all-targets", "--all-features"]);
    run(c)
}

/// Crates that have loom models.
const LOOM_CRATES: &[&str] = &["memview-core", "memview-capture"];

fn loom(filter: Option<&str>) -> Result<()> {
    step("loom models");
    if LOOM_CRATES.is_empty() {
        eprintln!("no crate has loom models yet");
        return Ok(());
    }
    for krate in LOOM_CRATES {
        let mut c = cargo();
        c.args(["test", "--release", "-p", krate, "--lib", "--target-dir"])
            .arg(project_root().join("target/loom"))
            .env("RUSTFLAGS", "--cfg loom -C debug-assertions")
            .env(
                "LOOM_MAX_PREEMPTIONS",
                env::var("LOOM_MAX_PREEMPTIONS").unwrap_or_else(|_| "2".into()),
            );
        c.arg("--").arg(filter.unwrap_or("loom"));
        run(c)?;
    }
    Ok(())
}

/// Crates whose tests run under AddressSanitizer (the ones with `unsafe`).
const ASAN_CRATES: &[&str] = &[
    "memview-core",
    "memview-pixel",
    "memview-capture",
    "memview-roi",
];

/// Whether `cargo +nightly` runs (rustup has a nightly toolchain).
fn has_nightly() -> bool {
    Command::new("cargo")
        .args(["+nightly", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn asan() -> Result<()> {
    step("AddressSanitizer");
    if ASAN_CRATES.is_empty() {
        eprintln!("no crate has unsafe code yet");
        return Ok(());
    }
    // As the fuzz and vivid steps: skip loudly without the tool, fail in CI.
    if !has_nightly() {
        if in_ci() {
            bail!("the nightly toolchain is missing (rustup toolchain install nightly); CI must run AddressSanitizer");
        }
        eprintln!(
            "\n*** SKIPPING AddressSanitizer: no nightly toolchain (rustup toolchain install nightly) ***\n"
        );
        return Ok(());
    }
    // The oracles run under ASan too (the pixel crate's SIMD kernels are
    // driven by the OpenCV tests).
    let python = oracle_python()?;
    for krate in ASAN_CRATES {
        let mut c = cargo_nightly();
        // Every feature but memview-roi's `onnx` (tract, no unsafe of
        // ours, and a long build under the sanitizer).
        let features: &[&str] = if *krate == "memview-roi" {
            &[]
        } else {
            &["--all-features"]
        };
        c.args(["test", "-p", krate, "--lib", "--tests"])
            .args(features)
            .env("MEMVIEW_PYTHON", &python)
            .args(["--target", "x86_64-unknown-linux-gnu", "--target-dir"])
            .arg(project_root().join("target/asan"))
            .env("RUSTFLAGS", "-Zsanitizer=address")
            .env("RUSTDOCFLAGS", "-Zsanitizer=address")
            // A refused allocation returns null, as the system allocator's
            // does, so fallible reservations (tolist of a huge empty view,
            // oversize pools) are tested as errors, not ASan aborts.
            .env("ASAN_OPTIONS", "detect_leaks=1:allocator_may_return_null=1");
        run(c)?;
    }
    Ok(())
}

fn fuzz_args(rest: &[String]) -> Result<(Option<String>, Option<u64>)> {
    let mut target = None;
    let mut secs = None;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        if a == "--seconds" {
            let v = it.next().context("--seconds needs a value")?;
            secs = Some(v.parse().context("--seconds takes whole seconds")?);
        } else if FUZZ_TARGETS.contains(&a.as_str()) {
            target = Some(a.clone());
        } else {
            bail!("unknown fuzz target or flag {a:?}; targets: {FUZZ_TARGETS:?}");
        }
    }
    Ok((target, secs))
}

fn has_cargo_fuzz() -> bool {
    Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn fuzz(target: Option<&str>, seconds: u64) -> Result<()> {
    step("fuzz targets");
    if !has_cargo_fuzz() {
        if in_ci() {
            bail!("cargo-fuzz is not installed (cargo install cargo-fuzz); CI must run the fuzz targets");
        }
        eprintln!(
            "\n*** SKIPPING fuzz: cargo-fuzz is not installed (cargo install cargo-fuzz) ***\n"
        );
        return Ok(());
    }
    let targets: Vec<&str> = match target {
        Some(t) => vec![t],
        None => FUZZ_TARGETS.to_vec(),
    };
    let fuzz_dir = project_root().join("fuzz");
    let mut c = cargo_nightly();
    c.current_dir(&fuzz_dir).args(["fuzz", "build"]);
    run(c)?;
    for t in targets {
        let corpus = fuzz_dir.join("corpus").join(t);
        std::fs::create_dir_all(&corpus)?;
        let mut c = cargo_nightly();
        c.current_dir(&fuzz_dir)
            .args(["fuzz", "run", t])
            .arg(&corpus);
        // Tracked seeds (valid inputs to mutate from), read but not
        // written: new finds go to the corpus.
        let seeds = fuzz_dir.join("seeds").join(t);
        if seeds.is_dir() {
            c.arg(&seeds);
        }
        c.arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-print_final_stats=1");
        run(c)?;
    }
    Ok(())
}

fn bench(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "--peers") {
        return peers::peers(args);
    }
    if args.iter().any(|a| a == "--streams") {
        return streams::streams(args);
    }
    step("criterion benches");
    let mut c = cargo();
    c.args(["bench", "--workspace", "--"]).args(args);
    run(c)
}

/// Where `shared/` is: `MEMVIEW_SHARED_DIR`, or beside the checkout.
fn shared_dir() -> PathBuf {
    env::var_os("MEMVIEW_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("../shared"))
}

/// The vivid configurations the V4L2 tests run under: vivid's parameters
/// and whether the device is multi-planar.
const VIVID_RUNS: &[(&str, bool)] = &[
    ("n_devs=1 node_types=0x1", false),
    ("n_devs=1 node_types=0x1 multiplanar=2", true),
];

/// A venv under `target/NAME` in which `import IMPORTS` works, `PACKAGES`
/// installed from PyPI if not; its python.
pub(crate) fn venv(name: &str, imports: &str, packages: &[&str]) -> Result<PathBuf> {
    let venv = project_root().join("target").join(name);
    let python = venv.join("bin/python");
    if !python.exists() {
        step(&format!("python venv under target/{name}"));
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .context("could not start python3")?;
        if !made.success() {
            // Debian keeps venv support in its own package.
            let mut c = Command::new("apt-get");
            c.args(["install", "-y", "-qq", "python3-venv"]);
            run(c).context("python3 -m venv failed and python3-venv could not be installed")?;
            let mut c = Command::new("python3");
            c.args(["-m", "venv"]).arg(&venv);
            run(c)?;
        }
    }
    let ok = Command::new(&python)
        .args(["-c", &format!("import {imports}")])
        .stderr(Stdio::null())
        .status()?;
    if !ok.success() {
        let mut c = Command::new(&python);
        c.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(packages);
        run(c)?;
    }
    Ok(python)
}

/// The Python package: `pip install ./crates/memview-py` (the README's
/// command; maturin builds the abi3 wheel) into a venv under
/// `target/py-venv` (with NumPy and pytest from PyPI), and pytest runs
/// `crates/memview-py/tests` (`CI=true`: nothing skipped).
fn py() -> Result<()> {
    step("Python package: pip install ./crates/memview-py, pytest");
    let python = match venv(
        "py-venv",
        "maturin, numpy, pytest",
        &["maturin", "numpy", "pytest"],
    ) {
        Ok(p) => p,
        Err(e) if !in_ci() => {
            eprintln!("\n*** SKIPPING the Python package: {e:#} ***\n");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let bin = python
        .parent()
        .context("the venv has no bin/")?
        .to_path_buf();
    let venv_dir = bin.parent().context("the venv has no root")?.to_path_buf();
    let path = env::join_paths(
        std::iter::once(bin.clone())
            .chain(env::split_paths(&env::var_os("PATH").unwrap_or_default())),
    )?;
    // The README's command: pip builds the abi3 wheel through maturin (the
    // PEP 517 backend) and installs it, as a user's fresh clone would.
    let mut c = Command::new(&python);
    c.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--force-reinstall",
        "--no-deps",
        "./crates/memview-py",
    ])
    .current_dir(project_root())
    .env("VIRTUAL_ENV", &venv_dir)
    .env("PATH", &path);
    run(c)?;
    let mut c = Command::new(&python);
    c.args(["-m", "pytest", "-q", "crates/memview-py/tests"])
        .current_dir(project_root())
        .env("CI", if in_ci() { "true" } else { "" });
    run(c)
}

fn vivid() -> Result<()> {
    step("V4L2 against vivid in a VM");
    let vm = shared_dir().join("vivid-vm");
    let runner = vm.join("run-in-vivid-vm.sh");
    if !runner.exists() {
        if in_ci() {
            bail!(
                "{} is missing: CI must run the V4L2 tests",
                runner.display()
            );
        }
        eprintln!(
            "\n*** SKIPPING the vivid tests: no {} ***\n",
            runner.display()
        );
        return Ok(());
    }
    let runner = runner.canonicalize()?;
    let dir = project_root().join("target/vivid-vm");
    if !dir.join("out/base-initrd.img").exists() {
        let mut c = Command::new(vm.join("build.sh"));
        c.env("VIVID_VM_DIR", &dir);
        run(c)?;
    }
    // Build first, so the runs below only boot the VM.
    let mut c = cargo();
    c.args(["test", "-p", "memview-capture", "--features", "v4l2"])
        .args(["--test", "vivid", "--no-run"]);
    run(c)?;
    for &(params, mplane) in VIVID_RUNS {
        let mut c = cargo();
        c.args(["test", "-p", "memview-capture", "--features", "v4l2"])
            .args(["--test", "vivid", "--", "--test-threads=1"])
            .env("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER", &runner)
            .env("VIVID_VM_DIR", &dir)
            .env("VIVID_PARAMS", params)
            .env("VIVID_VM_ENV", "MEMVIEW_VIVID_MPLANE")
            .env_remove("MEMVIEW_VIVID_MPLANE");
        if mplane {
            c.env("MEMVIEW_VIVID_MPLANE", "1");
        }
        eprintln!("$ {c:?}");
        let mut out = c.output().context("could not start cargo test")?;
        // 124, 125 and 127 are the VM's own failures (a timeout, a boot
        // or setup failure, a binary it could not start), not the tests':
        // boot it once more before giving up.
        if matches!(out.status.code(), Some(124 | 125 | 127)) {
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            eprintln!(
                "*** the vivid VM failed ({}); booting it once more ***",
                out.status
            );
            out = c.output().context("could not start cargo test")?;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        print!("{text}");
        eprint!("{err}");
        if !out.status.success() {
            bail!("the vivid tests failed ({params}) with {}", out.status);
        }
        // The binary skips outside the VM: make sure it really ran there.
        if text.contains("SKIPPING")
            || err.contains("SKIPPING")
            || !text.contains("test result: ok")
        {
            bail!("the vivid tests did not run inside the VM ({params})");
        }
    }
    // End to end: `memview run` on the camera, zero-copy from the driver.
    let mut c = cargo();
    c.args(["build", "--release", "-p", "memview-cli"]);
    run(c)?;
    let mut c = Command::new(&runner);
    c.arg(project_root().join("target/release/memview"))
        .args(["run", "--source", "v4l2:/dev/video0", "--size", "320x180"])
        .args(["--fps", "60", "--frames", "60", "--json"])
        .env("VIVID_VM_DIR", &dir);
    eprintln!("$ {c:?}");
    let out = c.output().context("could not start the vivid VM")?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    if !out.status.success() {
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        bail!("memview run on vivid failed with {}", out.status);
    }
    let last = text.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(last)
        .with_context(|| format!("memview run --json printed no JSON last: {last:?}"))?;
    if v["frames"] != 60 || v["allocations_per_frame"] != 0.0 || v["zone_errors"] != 0 {
        bail!("memview run on vivid: unexpected summary {v}");
    }
    Ok(())
}
