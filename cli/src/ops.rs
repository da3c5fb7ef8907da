//! `leadwatch report` and `leadwatch export`: the ops views, computed by the very
//! functions the report Lambda serves (`leadwatch_api::report::sla_report`, `export_csv`),
//! so the terminal and `GET /reports/sla` never disagree.

use std::io::Write;
use std::path::PathBuf;

use chrono::Utc;
use clap::ValueEnum;

use leadwatch_adapters::store::Store;
use leadwatch_api::export::{last_twelve_months, parse_query};
use leadwatch_api::report::{sla_report, ReportQuery};
use leadwatch_api::web::dashboard::{report_document, report_with_review, DashboardView, Slice};
use leadwatch_core::export::{write_csv_part, ExportQuery};
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
    /// Months of lead creation, `YYYY-MM`; default: the last twelve.
    pub from: Option<String>,
    pub to: Option<String>,
    pub out: Option<PathBuf>,
}

/// The CSV dossier to `--out` or to `out`, streamed: the same paginated index read as
/// the export job (`Store::export_reader`, never a scan), each page written as it
/// comes and dropped, so memory stays one page whatever the table's size.
pub async fn export(
    args: ExportArgs,
    contract: &Contract,
    out: &mut impl Write,
) -> Result<(), OpsError> {
    let mut pairs = Vec::new();
    for (name, value) in [
        ("status", &args.status),
        ("team", &args.team),
        ("from", &args.from),
        ("to", &args.to),
    ] {
        if let Some(v) = value {
            pairs.push((name.to_string(), v.clone()));
        }
    }
    // An entry point: the wall clock only picks the default range.
    let query =
        parse_query(&pairs, contract, Some(last_twelve_months(Utc::now()))).map_err(|errors| {
            OpsError::Input(
                errors
                    .iter()
                    .map(|e| format!("--{}: {}", e.field, e.problem))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
    let store = store(table_name(args.table)).await;
    match &args.out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| OpsError::Input(format!("--out {}: {e}", path.display())))?;
            let mut file = std::io::BufWriter::new(file);
            stream(&store, &query, &mut file).await?;
            file.flush()
                .map_err(|e| OpsError::Store(format!("cannot write {}: {e}", path.display())))
        }
        None => match stream(&store, &query, out).await {
            Err(OpsError::Store(e)) if e.contains("Broken pipe") => Ok(()),
            other => other.and_then(|()| finish(Ok(()), out)),
        },
    }
}

/// Every page of `query` as CSV into `out`; returns once the export is read.
async fn stream(store: &Store, query: &ExportQuery, out: &mut impl Write) -> Result<(), OpsError> {
    let mut reader = store.export_reader(query);
    let mut header = true;
    loop {
        let page = reader
            .next_page()
            .await
            .map_err(|e| OpsError::Store(format!("cannot read the leads: {e}")))?;
        write_csv_part(&mut *out, header, page.as_deref().unwrap_or_default())
            .map_err(|e| OpsError::Store(format!("cannot write the output: {e}")))?;
        header = false;
        if page.is_none() {
            return Ok(());
        }
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
