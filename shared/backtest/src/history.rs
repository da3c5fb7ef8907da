//! Reading and writing history files, the CSV a RevOps engineer exports from the CRM:
//! the columns, the records they become, and every problem reported with its line and
//! column. The cells of one row are checked in `row`, the `signals` cell's own little
//! format is in `signals`.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use leadwatch_core::lead::{LeadProfile, Signal};

mod row;
mod signals;

use row::RowCheck;
pub use signals::{encode_signals, parse_signals};

/// The columns of a history file, in the order [`write_history`] writes them. Only
/// `email`, `signals` and `sql` are required; the others may be left out of the file.
pub const COLUMNS: &[&str] = &[
    "email",
    "first_name",
    "last_name",
    "title",
    "company",
    "employees",
    "industry",
    "country",
    "abm_target",
    "source",
    "campaign",
    "created_at",
    "signals",
    "sql",
    "rejection_reason",
];

pub const REQUIRED_COLUMNS: &[&str] = &["email", "signals", "sql"];

/// A file with more bad rows than this lists the first ones and counts the rest: the
/// first screenful is enough to see whether it is one typo or a wrong export.
pub const MAX_REPORTED_PROBLEMS: usize = 20;

/// Upper bound on a signal's time on page, as for signals posted to the API.
const MAX_SECONDS_ON_PAGE: u32 = 86_400;

/// One historical lead: who, what it did and when, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRecord {
    pub profile: LeadProfile,
    /// When the lead was created in the CRM. Informational; only a lead without signals
    /// is assessed at this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// Sorted by time by [`parse_history`]; replay sorts a copy when they are not.
    pub signals: Vec<Signal>,
    /// The lead became a sales-qualified lead.
    pub sql: bool,
    /// The coded reason sales gave when they rejected it, if they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
}

/// The file as text: every cell optional so that serde never stops at a missing value,
/// and the checks below can name the column of each problem.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Row {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    title: Option<String>,
    company: Option<String>,
    employees: Option<String>,
    industry: Option<String>,
    country: Option<String>,
    abm_target: Option<String>,
    source: Option<String>,
    campaign: Option<String>,
    created_at: Option<String>,
    signals: Option<String>,
    sql: Option<String>,
    rejection_reason: Option<String>,
}

/// Which column a problem is in: its 1-based position in the file and its header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub number: usize,
    pub name: String,
}

/// One problem in a history file, with the line it is on (1 is the header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CsvProblem {
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<Column>,
    pub problem: String,
}

impl fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(
                f,
                "line {}, column {} ({}): {}",
                self.line, c.number, c.name, self.problem
            ),
            None => write!(f, "line {}: {}", self.line, self.problem),
        }
    }
}

/// Everything wrong with a history file, up to [`MAX_REPORTED_PROBLEMS`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct HistoryErrors {
    pub problems: Vec<CsvProblem>,
    /// Problems found but not listed.
    pub more: usize,
}

impl fmt::Display for HistoryErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        if self.more > 0 {
            write!(f, "\n... and {} more problems", self.more)?;
        }
        Ok(())
    }
}

struct Problems {
    list: Vec<CsvProblem>,
    more: usize,
}

impl Problems {
    fn push(&mut self, problem: CsvProblem) {
        if self.list.len() < MAX_REPORTED_PROBLEMS {
            self.list.push(problem);
        } else {
            self.more += 1;
        }
    }
}

/// Parse a history file. Every row is checked; the error lists each problem with its
/// line and column. A UTF-8 byte-order mark (spreadsheet exports) is skipped.
pub fn parse_history(input: &[u8]) -> Result<Vec<HistoryRecord>, HistoryErrors> {
    let mut problems = Problems {
        list: Vec::new(),
        more: 0,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.push(csv_problem(&e, None));
            return Err(HistoryErrors {
                problems: problems.list,
                more: problems.more,
            });
        }
    };
    let columns = match check_headers(&headers) {
        Ok(c) => c,
        Err(list) => {
            for p in list {
                problems.push(p);
            }
            return Err(HistoryErrors {
                problems: problems.list,
                more: problems.more,
            });
        }
    };

    let mut records = Vec::new();
    for result in reader.records() {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                problems.push(csv_problem(&e, Some(&headers)));
                // A bad row is reported and skipped; after a failed read there is
                // nothing sensible left to read.
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let row: Row = match record.deserialize(Some(&headers)) {
            Ok(r) => r,
            Err(e) => {
                problems.push(csv_problem(&e, Some(&headers)));
                continue;
            }
        };
        let mut cell = RowCheck {
            line,
            columns: &columns,
            problems: &mut problems,
            ok: true,
        };
        let parsed = cell.record(row);
        if cell.ok {
            records.push(parsed);
        }
    }
    if records.is_empty() && problems.list.is_empty() {
        problems.push(CsvProblem {
            line: 2,
            column: None,
            problem: "no leads: the file has a header but no rows".into(),
        });
    }
    if problems.list.is_empty() {
        Ok(records)
    } else {
        Err(HistoryErrors {
            problems: problems.list,
            more: problems.more,
        })
    }
}

/// The columns present, by name, with their 1-based positions; or what is wrong with
/// the header (an unknown column is refused: a typo would otherwise drop that data).
fn check_headers(
    headers: &csv::StringRecord,
) -> Result<HashMap<&'static str, usize>, Vec<CsvProblem>> {
    let mut found = HashMap::new();
    let mut problems = Vec::new();
    let header_problem = |number: usize, name: &str, problem: String| CsvProblem {
        line: 1,
        column: Some(Column {
            number,
            name: name.to_string(),
        }),
        problem,
    };
    if headers.iter().all(str::is_empty) {
        return Err(vec![CsvProblem {
            line: 1,
            column: None,
            problem: format!(
                "the file is empty; the first line must be a header with at least the columns {}",
                REQUIRED_COLUMNS.join(", ")
            ),
        }]);
    }
    for (i, name) in headers.iter().enumerate() {
        let number = i + 1;
        match COLUMNS.iter().find(|c| **c == name) {
            Some(known) => {
                if found.insert(*known, number).is_some() {
                    problems.push(header_problem(number, name, "column appears twice".into()));
                }
            }
            None => problems.push(header_problem(
                number,
                name,
                format!("unknown column; the columns are {}", COLUMNS.join(", ")),
            )),
        }
    }
    for required in REQUIRED_COLUMNS {
        if !found.contains_key(required) {
            problems.push(CsvProblem {
                line: 1,
                column: None,
                problem: format!("the required column \"{required}\" is missing"),
            });
        }
    }
    if problems.is_empty() {
        Ok(found)
    } else {
        Err(problems)
    }
}

fn csv_problem(e: &csv::Error, headers: Option<&csv::StringRecord>) -> CsvProblem {
    let line = e.position().map_or(1, csv::Position::line);
    let column = |field: u64| {
        let index = usize::try_from(field).unwrap_or(usize::MAX);
        Some(Column {
            number: index.saturating_add(1),
            name: headers
                .and_then(|h| h.get(index))
                .unwrap_or("?")
                .to_string(),
        })
    };
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => CsvProblem {
            line,
            column: None,
            problem: format!("has {len} cells, but the header has {expected_len}"),
        },
        csv::ErrorKind::Utf8 { err, .. } => CsvProblem {
            line,
            column: column(err.field() as u64),
            problem: "is not valid UTF-8".into(),
        },
        csv::ErrorKind::Deserialize { err, .. } => CsvProblem {
            line,
            column: err.field().and_then(column),
            problem: err.kind().to_string(),
        },
        _ => CsvProblem {
            line,
            column: None,
            problem: e.to_string(),
        },
    }
}

/// Write records as a history file with every column, header first. An I/O error comes
/// back as itself (a closed pipe stays recognisable as one).
pub fn write_history<W: std::io::Write>(records: &[HistoryRecord], out: W) -> std::io::Result<()> {
    write_rows(records, out).map_err(|e| match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("cannot write the history: {other:?}")),
    })
}

fn write_rows<W: std::io::Write>(records: &[HistoryRecord], out: W) -> csv::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    for r in records {
        let p = &r.profile;
        writer.serialize(Row {
            email: Some(p.email.clone()),
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            title: p.title.clone(),
            company: p.company.clone(),
            employees: p.employees.map(|e| e.to_string()),
            industry: p.industry.clone(),
            country: p.country.clone(),
            abm_target: Some(p.abm_target.to_string()),
            source: p.source.clone(),
            campaign: p.campaign.clone(),
            created_at: r
                .created_at
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            signals: Some(encode_signals(&r.signals)),
            sql: Some(r.sql.to_string()),
            rejection_reason: r.rejection_reason.clone(),
        })?;
    }
    writer.flush()?;
    Ok(())
}
