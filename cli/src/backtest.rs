//! `leadwatch backtest` and `leadwatch history generate`: replay a lead history through
//! one or two contracts, and write seeded synthetic histories. The work is in
//! `leadwatch_backtest`; this module reads files, parses arguments and renders (the
//! terminal layout is in `render`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;

use leadwatch_backtest::generate::{generate_history, GeneratorOptions};
use leadwatch_backtest::{
    backtest, compare, parse_history, write_history, BacktestOptions, BacktestResult, Comparison,
    HistoryRecord,
};

use super::{load_contract, print_out, Failure};

mod render;

use render::{render, render_comparison};

/// More than this is a typo for a smaller number, and would only exhaust memory.
const MAX_GENERATED_LEADS: usize = 2_000_000;

#[derive(Args)]
pub struct BacktestArgs {
    /// History CSV, one lead per row (columns in docs/backtest.md); `-` reads stdin.
    history: PathBuf,
    /// Contract to test; defaults to the contract shipped with Leadwatch.
    #[arg(long)]
    contract: Option<PathBuf>,
    /// A second contract to compare with the first, side by side with deltas (B - A).
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Bands with fewer leads are shown but not held to monotone calibration.
    #[arg(long, default_value_t = 30)]
    min_band_leads: usize,
    /// Width of a score band in points; defaults to a tenth of the contract's scale.
    #[arg(long)]
    band_width: Option<u32>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum HistoryAction {
    /// Write a seeded synthetic lead history (CSV) for tests and demos; the same seed
    /// always gives the same file.
    Generate {
        /// Number of leads.
        #[arg(long, default_value_t = 1000)]
        leads: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file; stdout when absent.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Contract whose vocabulary (signal types, countries, industries) the leads use.
        #[arg(long)]
        contract: Option<PathBuf>,
        /// First day leads are created (YYYY-MM-DD or RFC 3339); defaults to 2026-08-03.
        #[arg(long)]
        start: Option<String>,
        /// Leads are created over this many days from the start.
        #[arg(long, default_value_t = 91)]
        days: u32,
    },
}

pub fn run(args: &BacktestArgs) -> Result<(), Failure> {
    let contract_a = load_contract(args.contract.as_deref())?;
    let contract_b = args
        .compare
        .as_deref()
        .map(|p| load_contract(Some(p)))
        .transpose()?;
    let records = read_history(&args.history)?;
    if args.band_width == Some(0) {
        return Err(Failure::input("--band-width: must be at least 1"));
    }
    let options = BacktestOptions {
        band_width: args.band_width,
        min_band_leads: args.min_band_leads,
        threads: None,
    };
    let history = args.history.display().to_string();
    let source_a = source(args.contract.as_deref());
    match contract_b {
        None => {
            let result = backtest(&records, &contract_a, &options);
            if args.json {
                json_out(&SingleJson {
                    history: &history,
                    contract: Source {
                        version: &result.contract_version,
                        file: &source_a,
                    },
                    backtest: &result,
                })
            } else {
                print_out(&render(&history, &source_a, &result))
            }
        }
        Some(contract_b) => {
            let source_b = source(args.compare.as_deref());
            let comparison = compare(&records, &contract_a, &contract_b, &options);
            if args.json {
                json_out(&CompareJson {
                    history: &history,
                    a: Source {
                        version: &comparison.a.contract_version,
                        file: &source_a,
                    },
                    b: Source {
                        version: &comparison.b.contract_version,
                        file: &source_b,
                    },
                    comparison: &comparison,
                })
            } else {
                print_out(&render_comparison(
                    &history,
                    (&source_a, &source_b),
                    &comparison,
                ))
            }
        }
    }
}

pub fn history(action: HistoryAction) -> Result<(), Failure> {
    let HistoryAction::Generate {
        leads,
        seed,
        out,
        contract,
        start,
        days,
    } = action;
    if leads == 0 || leads > MAX_GENERATED_LEADS {
        return Err(Failure::input(format!(
            "--leads: must be from 1 to {MAX_GENERATED_LEADS}"
        )));
    }
    if days == 0 {
        return Err(Failure::input("--days: must be at least 1"));
    }
    let contract = load_contract(contract.as_deref())?;
    let mut options = GeneratorOptions {
        leads,
        seed,
        days,
        ..GeneratorOptions::default()
    };
    if let Some(text) = start {
        options.start = parse_start(&text)?;
    }
    let records = generate_history(&contract, &options);
    match out {
        Some(path) => {
            let file = std::fs::File::create(&path)
                .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
            write_csv(&records, std::io::BufWriter::new(file))
                .map_err(|e| Failure::input(format!("{}: {e}", path.display())))
        }
        None => match write_csv(&records, std::io::BufWriter::new(std::io::stdout().lock())) {
            // `leadwatch history generate | head` closes the pipe early; not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(Failure {
                message: format!("cannot write to stdout: {e}"),
                code: 1,
            }),
            Ok(()) => Ok(()),
        },
    }
}

fn write_csv(records: &[HistoryRecord], mut out: impl Write) -> std::io::Result<()> {
    write_history(records, &mut out)?;
    out.flush()
}

fn parse_start(text: &str) -> Result<DateTime<Utc>, Failure> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            Failure::input(format!(
                "--start: \"{text}\" is not a date such as 2026-08-03 or an RFC 3339 time"
            ))
        })
}

fn read_history(path: &Path) -> Result<Vec<HistoryRecord>, Failure> {
    let shown = path.display();
    let bytes = if path == Path::new("-") {
        let mut buffer = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut buffer)
            .map_err(|e| Failure::input(format!("stdin: {e}")))?;
        buffer
    } else {
        std::fs::read(path).map_err(|e| Failure::input(format!("{shown}: {e}")))?
    };
    parse_history(&bytes).map_err(|errors| {
        let lines: Vec<String> = errors
            .to_string()
            .lines()
            .map(|l| format!("  {l}"))
            .collect();
        Failure::input(format!(
            "{shown}: invalid lead history (see docs/backtest.md):\n{}",
            lines.join("\n")
        ))
    })
}

fn source(path: Option<&Path>) -> String {
    path.map_or_else(|| "built-in".to_string(), |p| p.display().to_string())
}

/// The JSON documents, as structs so that keys keep a reading order.
#[derive(Serialize)]
struct Source<'a> {
    version: &'a str,
    file: &'a str,
}

#[derive(Serialize)]
struct SingleJson<'a> {
    history: &'a str,
    contract: Source<'a>,
    backtest: &'a BacktestResult,
}

#[derive(Serialize)]
struct CompareJson<'a> {
    history: &'a str,
    a: Source<'a>,
    b: Source<'a>,
    comparison: &'a Comparison,
}

fn json_out(doc: &impl Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(doc).map_err(|e| Failure {
        message: format!("cannot encode the result: {e}"),
        code: 1,
    })?;
    print_out(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_accepts_a_date_or_a_time() {
        assert_eq!(
            parse_start("2026-08-03").ok().map(|t| t.to_rfc3339()),
            Some("2026-08-03T00:00:00+00:00".to_string())
        );
        assert!(parse_start("2026-08-03T09:00:00+02:00").is_ok());
        assert!(parse_start("last monday").is_err());
    }
}
