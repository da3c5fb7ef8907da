//! `leadwatch`: the operator's command line. Checks and applies the MQL contract
//! locally, with no AWS account needed.

mod demo;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use leadwatch::domain::explain;
use leadwatch::domain::lead::{lead_id_for, parse_lead_json};
use leadwatch::{assess, Contract};

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
    /// Run the whole pipeline on the local AWS stack (started by scripts/demo.sh) on a
    /// simulated clock, and print the alerts and the SLA report.
    Demo,
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
        Command::Demo => run_demo(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("{}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn run_demo() -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure {
            message: format!("cannot start the async runtime: {e}"),
            code: 1,
        })?;
    runtime
        .block_on(demo::run())
        .map_err(|message| Failure { message, code: 1 })
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
    if json {
        let doc = serde_json::json!({
            "lead_id": lead_id_for(&submission.profile.email),
            "assessment": assessment,
        });
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| Failure::input(format!("cannot encode the assessment: {e}")))?;
        print_out(&text)
    } else {
        print_out(&format!(
            "Lead:      {} ({})\n{}",
            submission.profile.email,
            lead_id_for(&submission.profile.email),
            explain::render(&assessment)
        ))
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
