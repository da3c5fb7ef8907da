//! `leadwatch report` and `leadwatch export`: the ops views, computed by the very
//! functions the report Lambda serves (`leadwatch_api::report::sla_report`, `export_csv`),
//! so the terminal and `GET /reports/sla` never disagree.

use std::io::Write;
use std::path::PathBuf;

use chrono::Utc;
use clap::ValueEnum;

use leadwatch_adapters::store::Store;
use leadwatch_api::report::{export_csv, sla_report, ReportQuery};
use leadwatch_api::web::dashboard::{report_document, report_with_review, DashboardView, Slice};
use leadwatch_core::lifecycle::Status;
use leadwatch_core::report::{render_table, write_csv, Month};
use leadwatch_core::Contract;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// A table for people.
    Table,
    Csv,
    Json,
}

/// Why an ops command failed: bad input (exit 2) or the store (exit 1).
pub enum OpsError {
    Input(String),
    Store(String),
}

/// The table named by `--table`, else `LEADWATCH_TABLE`, else `leadwatch`.
pub fn table_name(table: Option<String>) -> String {
    table
        .or_else(|| std::env::var("LEADWATCH_TABLE").ok())
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "leadwatch".into())
}

async fn store(table: String) -> Store {
    let config =
        leadwatch_adapters::aws::sdk_config(leadwatch_adapters::aws::TimeBudget::CLI).await;
    Store::new(aws_sdk_dynamodb::Client::new(&config), table)
}

pub struct ReportArgs {
    pub table: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub team: Option<String>,
    pub format: ReportFormat,
    /// Write the review as one HTML file here instead.
    pub html: Option<PathBuf>,
}

/// The SLA report, written to `out`. Without `--to` the range ends this month; without
/// `--from` it starts two months before `--to`.
pub async fn report(
    args: ReportArgs,
    contract: &Contract,
    out: &mut impl Write,
) -> Result<(), OpsError> {
    // An entry point: the wall clock only picks the default range.
    let this_month = Month::of(Utc::now().date_naive()).to_string();
    let to = args.to.unwrap_or(this_month);
    let from = match args.from {
        Some(f) => f,
        None => match Month::parse(&to) {
            Ok(m) => m.previous().previous().to_string(),
            Err(_) => to.clone(),
        },
    };
    let query = ReportQuery::parse(Some(&from), Some(&to), args.team.as_deref(), contract)
        .map_err(|errors| {
            OpsError::Input(
                errors
                    .iter()
                    .map(|e| format!("--{}: {}", e.field, e.problem))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
    let store = store(table_name(args.table)).await;
    if let Some(path) = &args.html {
        return report_html(&store, &query, contract, path, out).await;
    }
    let report = sla_report(&store, &query)
        .await
        .map_err(|e| OpsError::Store(format!("cannot read the rollups: {e}")))?;
    let written = match args.format {
        ReportFormat::Table => out.write_all(render_table(&report).as_bytes()),
        ReportFormat::Json => serde_json::to_writer_pretty(&mut *out, &report)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out)),
        ReportFormat::Csv => write_csv(&mut *out, &report).map_err(std::io::Error::other),
    };
    finish(written, out)
}

/// The monthly review as one self-contained HTML file: the web dashboard's body
/// (`leadwatch_api::web::dashboard`), the same charts and figures, with the contract
/// review as the watchdog makes it.
async fn report_html(
    store: &Store,
    query: &ReportQuery,
    contract: &Contract,
    path: &std::path::Path,
    out: &mut impl Write,
) -> Result<(), OpsError> {
    // An entry point: the wall clock names the last closed month and the file's date.
    let now = Utc::now();
    let (report, review) = report_with_review(store, query, contract, Month::of(now.date_naive()))
        .await
        .map_err(|e| OpsError::Store(format!("cannot read the rollups: {e}")))?;
    let slice = match &query.team {
        Some(t) => Slice {
            dimension: "team".into(),
            value: t.clone(),
        },
        None => Slice::all(),
    };
    let view = DashboardView {
        report: &report,
        slice,
        contract,
        review: Some(review),
    };
    std::fs::write(path, report_document(&view, now))
        .map_err(|e| OpsError::Input(format!("--html {}: {e}", path.display())))?;
    finish(
        writeln!(
            out,
            "wrote {} ({} to {})",
            path.display(),
            query.from,
            query.to
        ),
        out,
    )
}

pub struct ExportArgs {
    pub table: Option<String>,
    pub status: Option<String>,
    pub team: Option<String>,
    pub out: Option<PathBuf>,
}

/// The CSV dossier to `--out` or to `out`.
pub async fn export(
    args: ExportArgs,
    contract: &Contract,
    out: &mut impl Write,
) -> Result<(), OpsError> {
    let status = match args.status.as_deref() {
        None => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            let known: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
            OpsError::Input(format!(
                "--status: \"{s}\" is not a status ({})",
                known.join(", ")
            ))
        })?),
    };
    if let Some(team) = &args.team {
        if !contract.spec.teams.contains_key(team) {
            let known: Vec<&str> = contract.spec.teams.keys().map(String::as_str).collect();
            return Err(OpsError::Input(format!(
                "--team: \"{team}\" is not a team of the contract ({})",
                known.join(", ")
            )));
        }
    }
    let store = store(table_name(args.table)).await;
    let csv = export_csv(&store, status, args.team.as_deref())
        .await
        .map_err(|e| OpsError::Store(format!("cannot read the leads: {e}")))?;
    match &args.out {
        Some(path) => std::fs::write(path, &csv)
            .map_err(|e| OpsError::Input(format!("--out {}: {e}", path.display()))),
        None => finish(out.write_all(&csv), out),
    }
}

/// A reader that went away (`| head`) is not an error.
fn finish(written: std::io::Result<()>, out: &mut impl Write) -> Result<(), OpsError> {
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(OpsError::Store(format!("cannot write the output: {e}")))
        }
        _ => Ok(()),
    }
}
