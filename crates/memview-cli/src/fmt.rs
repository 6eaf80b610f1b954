//! `memview fmt`: what a format string means.

use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

use memview_format::{Dialect, Format, ParseError};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DialectArg {
    Struct,
    Pep3118,
}

impl From<DialectArg> for Dialect {
    fn from(d: DialectArg) -> Dialect {
        match d {
            DialectArg::Struct => Dialect::Struct,
            DialectArg::Pep3118 => Dialect::Pep3118,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Grammar to read the formats with.
    #[arg(long, value_enum, default_value = "struct")]
    dialect: DialectArg,
    /// Print one JSON object per format instead of a table.
    #[arg(long)]
    json: bool,
    /// Read formats from stdin, one JSON string per line (JSON Lines), and
    /// answer each line in order. Needs --json.
    #[arg(long, requires = "json", conflicts_with = "formats")]
    batch: bool,
    /// The format strings.
    #[arg(required_unless_present = "batch")]
    formats: Vec<String>,
}

pub fn run(args: &Args) -> io::Result<ExitCode> {
    // A closed stdout (`memview fmt ... | head -1`) ends the job quietly.
    match answer_all(args) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        r => r,
    }
}

fn answer_all(args: &Args) -> io::Result<ExitCode> {
    let dialect = Dialect::from(args.dialect);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut all_ok = true;
    let (mut lines, mut failed) = (0u64, 0u64);
    if args.batch {
        let stdin = io::stdin();
        let mut line = Vec::new();
        let mut input = stdin.lock();
        loop {
            line.clear();
            if input.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\n', '\r']);
            lines += 1;
            let answer = match serde_json::from_str::<Value>(text) {
                Ok(Value::String(f)) => {
                    if Format::parse(&f, dialect).is_err() {
                        failed += 1;
                    }
                    json_answer(&f, dialect)
                }
                Ok(_) | Err(_) => {
                    failed += 1;
                    json!({
                        "format": Value::Null,
                        "line": text,
                        "error": {
                            "kind": "bad-input",
                            "offset": 0,
                            "message": "input line is not a json string",
                        },
                    })
                }
            };
            writeln!(out, "{answer}")?;
        }
        out.flush()?;
        if failed > 0 {
            // Every line was answered; the status and one line on stderr
            // say that some were errors.
            eprintln!("memview fmt: {failed} of {lines} input lines are not valid formats");
            return Ok(ExitCode::FAILURE);
        }
    } else {
        for f in &args.formats {
            let ok = Format::parse(f, dialect).is_ok();
            all_ok &= ok;
            if args.json {
                writeln!(out, "{}", json_answer(f, dialect))?;
            } else {
                write_table(&mut out, f, dialect)?;
            }
        }
    }
    out.flush()?;
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn error_json(e: &ParseError) -> Value {
    json!({
        "kind": e.kind().name(),
        "offset": e.offset(),
        "message": e.kind().message(),
    })
}

fn json_answer(f: &str, dialect: Dialect) -> Value {
    match Format::parse(f, dialect) {
        Ok(fmt) => {
            let l = fmt.layout();
            json!({"format": f, "size": l.size, "align": l.align, "items": l.items})
        }
        Err(e) => json!({"format": f, "error": error_json(&e)}),
    }
}

fn write_table(out: &mut impl Write, f: &str, dialect: Dialect) -> io::Result<()> {
    let fmt = match Format::parse(f, dialect) {
        Ok(fmt) => fmt,
        Err(e) => {
            writeln!(out, "{}\n", e.caret(f))?;
            return Ok(());
        }
    };
    let l = fmt.layout();
    writeln!(
        out,
        "format {:?} ({}): size {}, align {}, items {}, normal form {:?}",
        f,
        dialect.name(),
        l.size,
        l.align,
        l.items,
        fmt.normalized().to_string()
    )?;
    let fields = fmt.fields();
    if !fields.is_empty() {
        writeln!(
            out,
            "  {:>8}  {:>8}  {:>5}  {:>6}  field",
            "offset", "size", "align", "items"
        )?;
    }
    for r in fields {
        let indent = "  ".repeat(r.depth);
        let name = r.name.map(|n| format!(" :{n}:")).unwrap_or_default();
        writeln!(
            out,
            "  {:>8}  {:>8}  {:>5}  {:>6}  {indent}{}{name}",
            r.offset, r.size, r.align, r.items, r.spec
        )?;
    }
    writeln!(out)
}
