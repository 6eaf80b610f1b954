//! The `memview` command.
//!
//! Subcommands live in their own modules; `main` only parses arguments,
//! dispatches, and turns an error into one line on stderr and exit status 1.

#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod fmt;

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
    /// Print the size, alignment and field offsets of struct / PEP 3118
    /// format strings.
    Fmt(fmt::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fmt(args) => fmt::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("memview: {e}");
            ExitCode::FAILURE
        }
    }
}
