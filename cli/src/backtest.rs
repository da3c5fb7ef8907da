//! `leadwatch backtest` and `leadwatch history generate`: replay a lead history through
//! one or two contracts, and write seeded synthetic histories. The work is in
//! `leadwatch_backtest`; this module reads files, parses arguments and renders.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;

use leadwatch_backtest::generate::{generate_history, GeneratorOptions};
use leadwatch_backtest::{
    backtest, compare, parse_history, write_history, BacktestOptions, BacktestResult, Band,
    Calibration, Comparison, HistoryRecord,
};

use super::{load_contract, print_out, Failure};

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

// ---------------------------------------------------------------------------------------
// Rendering. Writing to a String cannot fail, so the `fmt::Result`s are ignored.

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |v| format!("{:.1} %", v * 100.0))
}

fn share(part: usize, whole: usize) -> String {
    if whole == 0 {
        "n/a".into()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / whole as f64)
    }
}

fn points(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |v| format!("{:+.1} pp", v * 100.0))
}

fn signed(n: i64) -> String {
    format!("{n:+}")
}

fn counts(map: &std::collections::BTreeMap<String, usize>) -> String {
    let mut items: Vec<(&String, &usize)> = map.iter().collect();
    items.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    items
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn monotone_word(c: &Calibration) -> &'static str {
    match (c.judged_bands >= 2, c.monotone) {
        (false, _) => "not judged",
        (true, true) => "yes",
        (true, false) => "no",
    }
}

fn render(history: &str, source: &str, r: &BacktestResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Backtest of {} leads from {history} against contract {} ({source})",
        r.leads, r.contract_version
    );
    let _ = writeln!(out, "\nVolume");
    let _ = writeln!(out, "  leads                         {:>7}", r.leads);
    let _ = writeln!(
        out,
        "  disqualified by the gates     {:>7}  {:>7}",
        r.disqualified,
        share(r.disqualified, r.leads)
    );
    if !r.disqualified_by_gate.is_empty() {
        let _ = writeln!(out, "    by gate: {}", counts(&r.disqualified_by_gate));
    }
    let _ = writeln!(
        out,
        "  MQLs                          {:>7}  {:>7}",
        r.mqls,
        share(r.mqls, r.leads)
    );
    let _ = write!(
        out,
        "    of which fast lane          {:>7}",
        r.fast_lane_mqls
    );
    if r.fast_lane_mqls > 0 {
        let _ = write!(
            out,
            "  ({} of them became SQLs)",
            share(r.fast_lane_sqls, r.fast_lane_mqls)
        );
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "  SQLs (the outcome)            {:>7}  {:>7}",
        r.sqls,
        share(r.sqls, r.leads)
    );

    let _ = writeln!(
        out,
        "\nCalibration: SQL rate per score band (a lead's band is its peak score)"
    );
    let _ = writeln!(out, "  {BAND_HEADER}");
    for band in &r.calibration.bands {
        let _ = writeln!(out, "  {}", band_cells(band));
    }
    let c = &r.calibration;
    let _ = writeln!(
        out,
        "  {:<12} {:>7} {:>7} {:>7}  {:>8}",
        "gates failed",
        c.disqualified_leads,
        "-",
        c.disqualified_sqls,
        share(c.disqualified_sqls, c.disqualified_leads)
    );
    let _ = writeln!(out, "  {}", monotone_line(c));

    let k = &r.confusion;
    let _ = writeln!(out, "\nMQL decision against the SQL outcome");
    let _ = writeln!(
        out,
        "  MQL and SQL (true positives)      {:>7}",
        k.true_positives
    );
    let _ = writeln!(
        out,
        "  MQL, no SQL (false positives)     {:>7}",
        k.false_positives
    );
    let _ = writeln!(
        out,
        "  SQL, never MQL (missed)           {:>7}",
        k.false_negatives
    );
    let _ = writeln!(
        out,
        "  neither                           {:>7}",
        k.true_negatives
    );
    let _ = writeln!(
        out,
        "  precision  {:>7}  (share of MQLs that became SQLs)",
        pct(r.precision)
    );
    let _ = writeln!(
        out,
        "  recall     {:>7}  (share of SQLs the contract made MQLs)",
        pct(r.recall)
    );
    let _ = writeln!(out, "  F1         {:>7}", pct(r.f1));
    if !r.rejected_mqls_by_reason.is_empty() {
        let _ = writeln!(
            out,
            "\nMQLs sales rejected, by reason: {}",
            counts(&r.rejected_mqls_by_reason)
        );
    }
    unknown_types(&mut out, &r.contract_version, r);
    out.trim_end().to_string()
}

const BAND_HEADER: &str = "band           leads    MQLs    SQLs  SQL rate";

fn band_cells(b: &Band) -> String {
    format!(
        "{:<12} {:>7} {:>7} {:>7}  {:>8}{}",
        b.label(),
        b.leads,
        b.mqls,
        b.sqls,
        pct(b.sql_rate),
        if b.thin && b.leads > 0 {
            "  (few leads)"
        } else {
            ""
        }
    )
}

fn monotone_line(c: &Calibration) -> String {
    if c.judged_bands < 2 {
        return format!(
            "monotone: not judged (fewer than two bands with {} leads or more)",
            c.min_band_leads
        );
    }
    if c.monotone {
        return format!(
            "monotone: yes (a higher band never converts worse; bands under {} leads not judged)",
            c.min_band_leads
        );
    }
    let detail: Vec<String> = c
        .inversions
        .iter()
        .map(|i| {
            format!(
                "{} converts at {:.1} %, below {} at {:.1} %{}",
                i.higher,
                i.higher_rate * 100.0,
                i.lower,
                i.lower_rate * 100.0,
                if i.within_noise {
                    " (within noise)"
                } else {
                    ""
                }
            )
        })
        .collect();
    format!("monotone: NO: {}", detail.join("; "))
}

fn unknown_types(out: &mut String, version: &str, r: &BacktestResult) {
    if !r.unknown_signal_types.is_empty() {
        let _ = writeln!(
            out,
            "\nNote: signal types contract {version} does not know (they score nothing): {}",
            counts(&r.unknown_signal_types)
        );
    }
}

fn render_comparison(history: &str, sources: (&str, &str), c: &Comparison) -> String {
    let (a, b, d) = (&c.a, &c.b, &c.delta);
    let mut out = String::new();
    let _ = writeln!(out, "Backtest of {} leads from {history}", a.leads);
    let _ = writeln!(out, "  A: contract {} ({})", a.contract_version, sources.0);
    let _ = writeln!(out, "  B: contract {} ({})", b.contract_version, sources.1);
    out.push('\n');
    let mut row = |name: &str, x: String, y: String, delta: String| {
        let line = format!("  {name:<30} {x:>10} {y:>10} {delta:>10}");
        let _ = writeln!(out, "{}", line.trim_end());
    };
    row("", "A".into(), "B".into(), "B - A".into());
    row(
        "leads",
        a.leads.to_string(),
        b.leads.to_string(),
        String::new(),
    );
    row(
        "SQLs (the outcome)",
        a.sqls.to_string(),
        b.sqls.to_string(),
        String::new(),
    );
    row(
        "disqualified by the gates",
        a.disqualified.to_string(),
        b.disqualified.to_string(),
        signed(d.disqualified),
    );
    row(
        "MQLs",
        a.mqls.to_string(),
        b.mqls.to_string(),
        signed(d.mqls),
    );
    row(
        "  of which fast lane",
        a.fast_lane_mqls.to_string(),
        b.fast_lane_mqls.to_string(),
        signed(d.fast_lane_mqls),
    );
    row(
        "MQL and SQL (true positives)",
        a.confusion.true_positives.to_string(),
        b.confusion.true_positives.to_string(),
        signed(d.true_positives),
    );
    row(
        "MQL, no SQL (false positives)",
        a.confusion.false_positives.to_string(),
        b.confusion.false_positives.to_string(),
        signed(d.false_positives),
    );
    row(
        "SQL, never MQL (missed)",
        a.confusion.false_negatives.to_string(),
        b.confusion.false_negatives.to_string(),
        signed(d.false_negatives),
    );
    row(
        "precision",
        pct(a.precision),
        pct(b.precision),
        points(d.precision),
    );
    row("recall", pct(a.recall), pct(b.recall), points(d.recall));
    row("F1", pct(a.f1), pct(b.f1), points(d.f1));
    row(
        "calibration monotone",
        monotone_word(&a.calibration).into(),
        monotone_word(&b.calibration).into(),
        String::new(),
    );
    let _ = writeln!(out);
    for (name, flip, meaning) in [
        ("A", c.only_a, "B would stop sending these to sales"),
        ("B", c.only_b, "B would add these"),
    ] {
        let _ = write!(out, "  MQL under {name} only: {:>6} leads", flip.leads);
        if flip.leads > 0 {
            let _ = write!(
                out,
                ", {} became SQLs ({}); {meaning}",
                flip.sqls,
                share(flip.sqls, flip.leads)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "  MQL under both:   {:>6} leads", c.both);

    let same_bands = a.calibration.bands.len() == b.calibration.bands.len()
        && a.calibration
            .bands
            .iter()
            .zip(&b.calibration.bands)
            .all(|(x, y)| x.low == y.low && x.high == y.high);
    let _ = writeln!(
        out,
        "\nCalibration: SQL rate per score band (a lead's band is its peak score)"
    );
    if same_bands {
        let _ = writeln!(
            out,
            "             A ---------------------------  B ---------------------------"
        );
        let _ = writeln!(
            out,
            "  band       leads   MQLs   SQLs  SQL rate    leads   MQLs   SQLs  SQL rate"
        );
        for (x, y) in a.calibration.bands.iter().zip(&b.calibration.bands) {
            let _ = writeln!(
                out,
                "  {:<8} {:>7} {:>6} {:>6}  {:>8}  {:>7} {:>6} {:>6}  {:>8}",
                x.label(),
                x.leads,
                x.mqls,
                x.sqls,
                pct(x.sql_rate),
                y.leads,
                y.mqls,
                y.sqls,
                pct(y.sql_rate)
            );
        }
    } else {
        for (name, r) in [("A", a), ("B", b)] {
            let _ = writeln!(out, "  {name}: {BAND_HEADER}");
            for band in &r.calibration.bands {
                let _ = writeln!(out, "     {}", band_cells(band));
            }
        }
    }
    let _ = writeln!(out, "  A {}", monotone_line(&a.calibration));
    let _ = writeln!(out, "  B {}", monotone_line(&b.calibration));
    for r in [a, b] {
        unknown_types(&mut out, &r.contract_version, r);
    }
    out.trim_end().to_string()
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

    #[test]
    fn percentages_and_deltas() {
        assert_eq!(pct(Some(0.4123)), "41.2 %");
        assert_eq!(pct(None), "n/a");
        assert_eq!(points(Some(-0.111)), "-11.1 pp");
        assert_eq!(share(1, 0), "n/a");
        assert_eq!(signed(0), "+0");
    }
}
