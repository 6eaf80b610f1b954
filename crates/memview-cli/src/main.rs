//! The `memview` command.
//!
//! Subcommands live in their own modules; `main` only parses arguments,
//! dispatches, and turns an error into one line on stderr and exit status 1.

// `unsafe` only for the counting allocator (alloc.rs) and the memory map
// of a regular file that `crop` and `probe` read (crop.rs).
#![deny(unsafe_code)]
#![warn(missing_debug_implementations)]

#[allow(unsafe_code)]
mod alloc;
mod crop;
mod fmt;
mod mqtt;
mod multi;
mod output;
mod run;
mod signals;
mod stream;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Zero-copy views of video frames and Python-style format strings.
#[derive(Debug, Parser)]
#[command(name = "memview", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The main job: frames from a source, zones cut out as zero-copy
    /// views, analyzers in parallel, and what it cost.
    Run(Box<run::Args>),
    /// Write each zone of a Y4M stream as its own Y4M stream (byte-identical
    /// to ffmpeg's crop filter for rectangles on the chroma grid).
    Crop(crop::CropArgs),
    /// Print a stream's format, size, frame rate and frame count.
    Probe(crop::ProbeArgs),
    /// Print the size, alignment and field offsets of struct / PEP 3118
    /// format strings.
    Fmt(fmt::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let result: Result<ExitCode, Box<dyn std::error::Error>> = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Crop(args) => crop::crop(&args),
        Command::Probe(args) => crop::probe(&args),
        Command::Fmt(args) => fmt::run(&args).map_err(Into::into),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // One line, whatever the error carries (a child's stderr).
            let text = e.to_string();
            let line: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            eprintln!("memview: {}", line.join(" / "));
            ExitCode::FAILURE
        }
    }
}

/// A command line clap refused, as one line on stderr and status 2 (help
/// and version print as clap prints them).
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = e.to_string();
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .collect();
    let line = parts.join(" ");
    eprintln!("memview: {}", line.strip_prefix("error: ").unwrap_or(&line));
    ExitCode::from(2)
}
