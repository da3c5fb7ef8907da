//! `leadwatch`: the operator's command line. Checks the MQL contract, scores a lead and
//! backtests a contract locally, with no AWS account needed; `demo`, `serve`, `report`
//! and `export` reach DynamoDB (the local stack or AWS) through the same code the
//! Lambda functions run.

mod backtest;
mod demo;
mod ops;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use leadwatch_core::explain;
use leadwatch_core::lead::parse_lead_json;
use leadwatch_core::LeadIds;
use leadwatch_core::{assess, Contract};

#[derive(Parser)]
#[command(
    name = "leadwatch",
    version,
    about = "Leadwatch: MQL contract, scoring and SLA tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with the MQL contract file.
    Contract {
        #[command(subcommand)]
        action: ContractAction,
    },
    /// Score one lead (a JSON file shaped like a `POST /leads` body) and explain it.
    Score {
        /// The lead: {"email": ..., "title": ..., "signals": [{"type": ..., "at": ...}]}
        lead: PathBuf,
        /// Assess at this instant (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<String>,
        /// Contract file; defaults to the contract shipped with Leadwatch.
        #[arg(long)]
        contract: Option<PathBuf>,
        /// Print the assessment as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replay a lead history (CSV, see docs/backtest.md) through a contract: MQL volume,
    /// SQL rate per score band, precision and recall; `--compare` a second contract.
    Backtest(backtest::BacktestArgs),
    /// Lead histories for backtests: generate a seeded synthetic one.
    History {
        #[command(subcommand)]
        action: backtest::HistoryAction,
    },
    /// Run the whole pipeline on the local AWS stack (started by scripts/demo.sh) on a
    /// simulated clock, print the alerts and the SLA report, then serve the HTTP API on
    /// the demo's data until Ctrl-C.
    Demo {
        /// Stop after the report instead of serving the API.
        #[arg(long)]
        no_serve: bool,
        /// Port on 127.0.0.1 for the API after the demo; 0 picks any free port.
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Serve the whole HTTP API (ingest, disposition, report) on one local base URL,
    /// through the same handlers the Lambda functions run, until Ctrl-C. Needs
    /// AWS_ENDPOINT_URL (the local stack: eval "$(scripts/stack.sh start)") or AWS
    /// credentials; on the local stack the table is created if missing.
    Serve {
        /// DynamoDB table; defaults to LEADWATCH_TABLE, else "leadwatch".
        #[arg(long)]
        table: Option<String>,
        /// Port on 127.0.0.1; 0 picks any free port.
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// Contract file; defaults to LEADWATCH_CONTRACT_FILE, else the built-in contract.
        #[arg(long)]
        contract: Option<PathBuf>,
    },
    /// The SLA adherence and funnel report by MQL month, from the monthly rollups:
    /// the same figures as `GET /reports/sla`.
    Report {
        /// First month, YYYY-MM; defaults to two months before --to.
        #[arg(long)]
        from: Option<String>,
        /// Last month, YYYY-MM; defaults to this month.
        #[arg(long)]
        to: Option<String>,
        /// One team only.
        #[arg(long)]
        team: Option<String>,
        /// DynamoDB table; defaults to LEADWATCH_TABLE, else "leadwatch".
        #[arg(long)]
        table: Option<String>,
        /// CSV instead of the table.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        /// JSON (the API's document) instead of the table.
        #[arg(long)]
        json: bool,
        /// Write the monthly review as one self-contained HTML file (the web dashboard's
        /// charts and figures, no scripts, nothing fetched) to FILE.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["csv", "json"])]
        html: Option<PathBuf>,
        /// Contract file (for the team list); defaults to LEADWATCH_CONTRACT_FILE, else built in.
        #[arg(long)]
        contract: Option<PathBuf>,
    },
    /// The CSV dossier: one row per lead with its handoff packet, for any CRM import.
    Export {
        /// Only leads in this status (lead, nurture, mql, sal, sql, rejected, disqualified).
        #[arg(long)]
        status: Option<String>,
        /// Only this team's leads.
        #[arg(long)]
        team: Option<String>,
        /// First month of lead creation (YYYY-MM); default: eleven months before this one.
        #[arg(long)]
        from: Option<String>,
        /// Last month of lead creation (YYYY-MM); default: this month.
        #[arg(long)]
        to: Option<String>,
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// DynamoDB table; defaults to LEADWATCH_TABLE, else "leadwatch".
        #[arg(long)]
        table: Option<String>,
        /// Contract file (for the team list); defaults to LEADWATCH_CONTRACT_FILE, else built in.
        #[arg(long)]
        contract: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ContractAction {
    /// Validate a contract file and list every problem (exit 1 if any).
    Check {
        /// Defaults to the contract shipped with Leadwatch.
        file: Option<PathBuf>,
    },
}

/// A failure to report to the user; the message already names what is wrong.
struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    fn input(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 2,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Contract {
            action: ContractAction::Check { file },
        } => contract_check(file.as_deref()),
        Command::Score {
            lead,
            at,
            contract,
            json,
        } => score(&lead, at.as_deref(), contract.as_deref(), json),
        Command::Backtest(args) => backtest::run(&args),
        Command::History { action } => backtest::history(action),
        Command::Demo { no_serve, port } => block_on(demo::run(demo::Options {
            serve: !no_serve,
            port,
        })),
        Command::Serve {
            table,
            port,
            contract,
        } => run_serve(table, port, contract.as_deref()),
        Command::Report {
            from,
            to,
            team,
            table,
            csv,
            json,
            html,
            contract,
        } => {
            let format = if csv {
                ops::ReportFormat::Csv
            } else if json {
                ops::ReportFormat::Json
            } else {
                ops::ReportFormat::Table
            };
            ops_command(contract.as_deref(), |contract| async move {
                let args = ops::ReportArgs {
                    table,
                    from,
                    to,
                    team,
                    format,
                    html,
                };
                ops::report(args, &contract, &mut std::io::stdout().lock()).await
            })
        }
        Command::Export {
            status,
            team,
            from,
            to,
            out,
            table,
            contract,
        } => ops_command(contract.as_deref(), |contract| async move {
            let args = ops::ExportArgs {
                table,
                status,
                team,
                from,
                to,
                out,
            };
            ops::export(args, &contract, &mut std::io::stdout().lock()).await
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("{}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn block_on(task: impl std::future::Future<Output = Result<(), String>>) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure {
            message: format!("cannot start the async runtime: {e}"),
            code: 1,
        })?;
    runtime
        .block_on(task)
        .map_err(|message| Failure { message, code: 1 })
}

fn run_serve(table: Option<String>, port: u16, contract: Option<&Path>) -> Result<(), Failure> {
    // The Lambdas read LEADWATCH_CONTRACT_FILE; `--contract` overrides it here.
    let contract = match contract {
        Some(path) => std::sync::Arc::new(load_contract(Some(path))?),
        None => leadwatch_adapters::config::contract_from_env()
            .map_err(|message| Failure { message, code: 1 })?,
    };
    let table = table
        .or_else(|| std::env::var("LEADWATCH_TABLE").ok())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "leadwatch".into());
    block_on(leadwatch_cli::serve::command(table, port, contract))
}

/// Run an ops command (report, export) against the table: the contract from `--contract`
/// or the environment, bad input exit 2, store trouble exit 1.
fn ops_command<F, Fut>(contract: Option<&Path>, command: F) -> Result<(), Failure>
where
    F: FnOnce(std::sync::Arc<Contract>) -> Fut,
    Fut: std::future::Future<Output = Result<(), ops::OpsError>>,
{
    let contract = match contract {
        Some(path) => std::sync::Arc::new(load_contract(Some(path))?),
        None => leadwatch_adapters::config::contract_from_env()
            .map_err(|message| Failure { message, code: 1 })?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure {
            message: format!("cannot start the async runtime: {e}"),
            code: 1,
        })?;
    runtime.block_on(command(contract)).map_err(|e| match e {
        ops::OpsError::Input(message) => Failure::input(message),
        ops::OpsError::Store(message) => Failure { message, code: 1 },
    })
}

fn load_contract(path: Option<&Path>) -> Result<Contract, Failure> {
    match path {
        None => Contract::default_contract().map_err(|e| Failure {
            message: format!("the built-in contract is invalid:\n{e}"),
            code: 1,
        }),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| Failure::input(format!("{}: {e}", p.display())))?;
            Contract::parse(&text).map_err(|e| Failure {
                message: format!("{}: invalid contract:\n{e}", p.display()),
                code: 1,
            })
        }
    }
}

fn contract_check(file: Option<&Path>) -> Result<(), Failure> {
    let contract = load_contract(file)?;
    print_out(&format!(
        "{}: contract {} is valid ({} signal types, {} teams, {} SLA policies)",
        file.map_or("built-in".into(), |p| p.display().to_string()),
        contract.version(),
        contract.spec.signals.len(),
        contract.spec.teams.len(),
        contract.spec.sla.policies.len()
    ))
}

fn score(
    lead: &Path,
    at: Option<&str>,
    contract: Option<&Path>,
    json: bool,
) -> Result<(), Failure> {
    let contract = load_contract(contract)?;
    let wall_clock = Utc::now();
    let at: DateTime<Utc> = match at {
        None => wall_clock,
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map_err(|_| {
                Failure::input(format!(
                    "--at: \"{text}\" is not an RFC 3339 time such as 2026-11-23T15:00:00Z"
                ))
            })?
            .with_timezone(&Utc),
    };
    let body =
        std::fs::read(lead).map_err(|e| Failure::input(format!("{}: {e}", lead.display())))?;
    // Signals may not lie in the real future; those after `--at` are simply not counted.
    let submission = parse_lead_json(&body, &contract, wall_clock.max(at)).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        Failure::input(format!(
            "{}: invalid lead:\n{}",
            lead.display(),
            lines.join("\n")
        ))
    })?;
    let assessment = assess(&submission.profile, &submission.signals, &contract, at);
    let lead_id = local_lead_ids().id_for(&submission.profile.email);
    if json {
        let doc = serde_json::json!({
            "lead_id": lead_id,
            "assessment": assessment,
        });
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| Failure::input(format!("cannot encode the assessment: {e}")))?;
        print_out(&text)
    } else {
        print_out(&format!(
            "Lead:      {} ({})\n{}",
            submission.profile.email,
            lead_id,
            explain::render(&assessment)
        ))
    }
}

/// The lead ids `score` shows: under `LEADWATCH_LEAD_ID_KEY` when set, else the
/// development key (as `leadwatch serve` without a key).
fn local_lead_ids() -> LeadIds {
    match leadwatch_adapters::config::lead_id_key_source_from_env() {
        leadwatch_adapters::config::SecretSource::Inline(key) => LeadIds::new(key),
        _ => LeadIds::development(),
    }
}

/// Write to stdout; a reader that went away (`leadwatch score x | head -1`) is not an
/// error worth a panic, which `println!` would make of it.
fn print_out(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure {
            message: format!("cannot write to stdout: {e}"),
            code: 1,
        }),
        _ => Ok(()),
    }
}
