//! Backtesting a contract: replay historical leads through [`assess`] at each lead's own
//! time and measure how well the contract's MQL decision predicted which leads became
//! SQLs.
//!
//! A history is one CSV row per lead (the format is in `docs/backtest.md` and
//! [`COLUMNS`]): who the lead is, every signal with its time, and the outcome. Each lead
//! is assessed the way the ingest path assesses it in production, once per arrival of a
//! signal, at that signal's time; the first assessment that says [`Action::ActNow`]
//! makes it an MQL. What happened later cannot leak into an earlier decision because
//! `assess` only counts signals sent by the instant it is given.
//!
//! Everything here is pure: the text is passed in, nothing reads a clock.

pub mod generate;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use leadwatch_core::assess::{assess, Action};
use leadwatch_core::contract::{Contract, Pillar};
use leadwatch_core::lead::{caps, normalise_email, LeadProfile, Signal};

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

/// Checks the cells of one row, pushing each problem with its line and column.
struct RowCheck<'a> {
    line: u64,
    columns: &'a HashMap<&'static str, usize>,
    problems: &'a mut Problems,
    ok: bool,
}

impl RowCheck<'_> {
    fn fail(&mut self, name: &'static str, problem: String) {
        self.ok = false;
        self.problems.push(CsvProblem {
            line: self.line,
            column: Some(Column {
                number: self.columns.get(name).copied().unwrap_or(0),
                name: name.to_string(),
            }),
            problem,
        });
    }

    fn record(&mut self, row: Row) -> HistoryRecord {
        let email = match non_empty(row.email) {
            None => {
                self.fail("email", "is required".into());
                String::new()
            }
            Some(raw) => {
                let email = normalise_email(&raw);
                if plausible_email(&email) {
                    email
                } else {
                    self.fail(
                        "email",
                        format!("\"{}\" is not an email address", shown(&raw)),
                    );
                    String::new()
                }
            }
        };
        let profile = LeadProfile {
            email,
            first_name: self.text(row.first_name, "first_name", caps::NAME),
            last_name: self.text(row.last_name, "last_name", caps::NAME),
            title: self.text(row.title, "title", caps::TITLE),
            company: self.text(row.company, "company", caps::COMPANY),
            employees: self.employees(row.employees),
            industry: self.text(row.industry, "industry", caps::INDUSTRY),
            country: self.country(row.country),
            abm_target: self.boolean(row.abm_target, "abm_target").unwrap_or(false),
            source: self.text(row.source, "source", caps::SOURCE),
            campaign: self.text(row.campaign, "campaign", caps::CAMPAIGN),
        };
        let created_at = non_empty(row.created_at).and_then(|t| match parse_time(&t) {
            Ok(at) => Some(at),
            Err(problem) => {
                self.fail("created_at", problem);
                None
            }
        });
        let mut signals = match parse_signals(row.signals.as_deref().unwrap_or("")) {
            Ok(s) => s,
            Err(problem) => {
                self.fail("signals", problem);
                Vec::new()
            }
        };
        signals.sort_by_key(|s| s.at);
        let sql = match non_empty(row.sql) {
            None => {
                self.fail(
                    "sql",
                    "is required: true if the lead became an SQL, else false".into(),
                );
                false
            }
            cell => self.boolean(cell, "sql").unwrap_or(false),
        };
        let rejection_reason = non_empty(row.rejection_reason).and_then(|r| {
            if is_code(&r) {
                Some(r)
            } else {
                self.fail(
                    "rejection_reason",
                    format!(
                        "\"{}\" is not a snake_case reason code such as not_icp",
                        shown(&r)
                    ),
                );
                None
            }
        });
        HistoryRecord {
            profile,
            created_at,
            signals,
            sql,
            rejection_reason,
        }
    }

    fn text(&mut self, cell: Option<String>, name: &'static str, max: usize) -> Option<String> {
        let text = non_empty(cell)?;
        if text.chars().count() > max {
            self.fail(name, format!("is longer than {max} characters"));
            None
        } else if text.chars().any(char::is_control) {
            self.fail(name, "contains control characters".into());
            None
        } else {
            Some(text)
        }
    }

    fn employees(&mut self, cell: Option<String>) -> Option<u32> {
        let text = non_empty(cell)?;
        match text.parse::<u64>() {
            Ok(n) if n <= caps::MAX_EMPLOYEES => u32::try_from(n).ok(),
            _ => {
                self.fail(
                    "employees",
                    format!(
                        "\"{}\" is not a whole number from 0 to {}",
                        shown(&text),
                        caps::MAX_EMPLOYEES
                    ),
                );
                None
            }
        }
    }

    fn country(&mut self, cell: Option<String>) -> Option<String> {
        let text = non_empty(cell)?;
        let upper = text.to_ascii_uppercase();
        if upper.len() == 2 && upper.chars().all(|c| c.is_ascii_uppercase()) {
            Some(upper)
        } else {
            self.fail(
                "country",
                format!(
                    "\"{}\" is not a two-letter ISO 3166 country code",
                    shown(&text)
                ),
            );
            None
        }
    }

    /// `None` for an empty cell or a bad value (already reported).
    fn boolean(&mut self, cell: Option<String>, name: &'static str) -> Option<bool> {
        let text = non_empty(cell)?;
        match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Some(true),
            "false" | "no" | "n" | "0" => Some(false),
            _ => {
                self.fail(
                    name,
                    format!("\"{}\" is not true or false (or yes/no, 1/0)", shown(&text)),
                );
                None
            }
        }
    }
}

fn non_empty(cell: Option<String>) -> Option<String> {
    cell.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Cut what a file said before quoting it back in an error message.
fn shown(text: &str) -> String {
    leadwatch_core::text::clip(text, 60)
}

fn plausible_email(email: &str) -> bool {
    email.chars().count() <= caps::EMAIL
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        })
}

fn is_code(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!(
                "\"{}\" is not an RFC 3339 time such as 2026-11-02T10:00:00Z",
                shown(text)
            )
        })
}

/// Parse a `signals` cell: `kind@time[/Ns][/q]` items separated by `;`, for example
/// `pricing_page_visit@2026-11-02T10:00:00Z/140s; email_reply@2026-11-03T09:12:00Z/q`.
/// `/140s` is the time on page in seconds, `/q` marks a question. Empty items are
/// skipped, so a trailing `;` is fine. The problem names the item by its position.
pub fn parse_signals(cell: &str) -> Result<Vec<Signal>, String> {
    let mut signals = Vec::new();
    for (i, item) in cell
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        let n = i + 1;
        let bad = |problem: String| format!("signal {n} \"{}\": {problem}", shown(item));
        let Some((kind, rest)) = item.split_once('@') else {
            return Err(bad(
                "expected type@time, for example pricing_page_visit@2026-11-02T10:00:00Z".into(),
            ));
        };
        let kind = kind.trim();
        if kind.is_empty()
            || !kind
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad(format!(
                "\"{}\" is not a signal type (letters, digits, _ and -)",
                shown(kind)
            )));
        }
        let mut parts = rest.split('/');
        let time = parts.next().unwrap_or("").trim();
        let at = parse_time(time).map_err(bad)?;
        let mut seconds_on_page = None;
        let mut question = false;
        for modifier in parts.map(str::trim) {
            if modifier == "q" {
                question = true;
            } else if let Some(number) = modifier.strip_suffix('s') {
                match number.parse::<u32>() {
                    Ok(s) if s <= MAX_SECONDS_ON_PAGE => seconds_on_page = Some(s),
                    _ => {
                        return Err(bad(format!(
                            "\"{modifier}\" is not a time on page from 0s to {MAX_SECONDS_ON_PAGE}s"
                        )))
                    }
                }
            } else {
                return Err(bad(format!(
                    "unknown modifier \"/{}\" (use /Ns for seconds on page, /q for a question)",
                    shown(modifier)
                )));
            }
        }
        signals.push(Signal {
            kind: kind.to_string(),
            at,
            seconds_on_page,
            question,
            detail: None,
        });
    }
    Ok(signals)
}

/// The `signals` cell for these signals; [`parse_signals`] reads it back. The detail
/// text is not written: it never changes a score.
pub fn encode_signals(signals: &[Signal]) -> String {
    let mut out = String::with_capacity(signals.len() * 40);
    for (i, s) in signals.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&s.kind);
        out.push('@');
        out.push_str(&s.at.to_rfc3339_opts(SecondsFormat::Secs, true));
        if let Some(seconds) = s.seconds_on_page {
            out.push_str(&format!("/{seconds}s"));
        }
        if s.question {
            out.push_str("/q");
        }
    }
    out
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

// ---------------------------------------------------------------------------------------
// Replay

/// What the contract decided about one lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadReplay {
    /// When it became an MQL, if it did.
    pub mql_at: Option<DateTime<Utc>>,
    /// It became an MQL through the fast lane.
    pub fast_lane: bool,
    /// The highest total the contract gave it at any of its signals (assessments that
    /// failed the gates excluded): how good the contract thinks the lead got.
    pub score: f64,
    /// The first gate it failed, if the gates disqualified it before it became an MQL.
    pub disqualified_by: Option<String>,
}

/// How a backtest is summarised.
#[derive(Debug, Clone, Copy)]
pub struct BacktestOptions {
    /// Width of a score band; by default a tenth of the contract's total scale.
    pub band_width: Option<u32>,
    /// Bands with fewer leads are shown but not held to monotone calibration: a rate
    /// from a handful of leads is noise.
    pub min_band_leads: usize,
    /// Worker threads for the replay; by default the machine's parallelism.
    pub threads: Option<usize>,
}

impl Default for BacktestOptions {
    fn default() -> Self {
        BacktestOptions {
            band_width: None,
            min_band_leads: 30,
            threads: None,
        }
    }
}

/// Replay one lead: assess it at each of its signals' times, in time order. The first
/// `act_now` makes it an MQL; the replay goes on to find its peak score, and stops early
/// only when the gates disqualify it.
pub fn replay_lead(record: &HistoryRecord, contract: &Contract) -> LeadReplay {
    replay_with_window(record, contract, longest_window(contract))
}

/// No signal older than the longest recency window counts, so each assessment is given
/// only the signals inside it: the decision is the same and a lead with hundreds of
/// email opens costs linear time instead of quadratic.
fn longest_window(contract: &Contract) -> Duration {
    let days = contract
        .spec
        .signals
        .values()
        .map(|s| s.recency_days)
        .max()
        .unwrap_or(0);
    // One extra day keeps the cut safely outside assess's own age test.
    Duration::days(i64::from(days) + 1)
}

fn replay_with_window(record: &HistoryRecord, contract: &Contract, window: Duration) -> LeadReplay {
    let sorted_copy;
    let signals: &[Signal] = if record.signals.is_sorted_by_key(|s| s.at) {
        &record.signals
    } else {
        let mut copy = record.signals.clone();
        copy.sort_by_key(|s| s.at);
        sorted_copy = copy;
        &sorted_copy
    };
    let profile = &record.profile;
    let mut peak = 0.0_f64;
    let mut mql: Option<(DateTime<Utc>, bool)> = None;
    let mut oldest = 0;
    let mut next = 0;
    loop {
        // A lead without signals is judged once, when it was created.
        let (at, live) = if signals.is_empty() {
            (record.created_at.unwrap_or(DateTime::UNIX_EPOCH), signals)
        } else {
            let at = signals[next].at;
            // Signals at the same instant arrive together: one assessment for them all.
            let mut end = next + 1;
            while end < signals.len() && signals[end].at == at {
                end += 1;
            }
            let cut = at
                .checked_sub_signed(window)
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            while signals[oldest].at < cut {
                oldest += 1;
            }
            let live = &signals[oldest..end];
            next = end;
            (at, live)
        };
        let a = assess(profile, live, contract, at);
        match a.action {
            // Gates never reopen: the profile does not change and a disqualifying signal
            // counts at any age (which is also why the window above is safe for them).
            // An MQL that is disqualified later was still sent to sales.
            Action::Disqualify => {
                return LeadReplay {
                    mql_at: mql.map(|m| m.0),
                    fast_lane: mql.is_some_and(|m| m.1),
                    score: peak,
                    disqualified_by: match mql {
                        Some(_) => None,
                        None => a.failed_gates.first().map(|g| g.gate.clone()),
                    },
                };
            }
            Action::ActNow => {
                mql.get_or_insert((at, a.fast_lane));
                peak = peak.max(a.total);
            }
            Action::Nurture => peak = peak.max(a.total),
        }
        if next >= signals.len() {
            break;
        }
    }
    LeadReplay {
        mql_at: mql.map(|m| m.0),
        fast_lane: mql.is_some_and(|m| m.1),
        score: peak,
        disqualified_by: None,
    }
}

/// Replay every lead, in parallel over chunks; the result is in the records' order.
pub fn replay(
    records: &[HistoryRecord],
    contract: &Contract,
    threads: Option<usize>,
) -> Vec<LeadReplay> {
    let window = longest_window(contract);
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .clamp(1, 64)
        // Below a few hundred leads a thread costs more than it saves.
        .min(records.len() / 256 + 1);
    if threads == 1 {
        return records
            .iter()
            .map(|r| replay_with_window(r, contract, window))
            .collect();
    }
    let chunk = records.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = records
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|r| replay_with_window(r, contract, window))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(records.len());
        for worker in workers {
            match worker.join() {
                Ok(part) => all.extend(part),
                // assess does not panic on any input; if it ever does, fail as loudly
                // as the sequential path would.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    })
}

// ---------------------------------------------------------------------------------------
// Results

/// MQL decision against SQL outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// MQL and became an SQL.
    pub true_positives: usize,
    /// MQL, never an SQL.
    pub false_positives: usize,
    /// Became an SQL without being an MQL (missed).
    pub false_negatives: usize,
    /// Neither.
    pub true_negatives: usize,
}

impl Confusion {
    pub fn precision(&self) -> Option<f64> {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    pub fn recall(&self) -> Option<f64> {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    pub fn f1(&self) -> Option<f64> {
        let (p, r) = (self.precision()?, self.recall()?);
        (p + r > 0.0).then(|| 2.0 * p * r / (p + r))
    }
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Leads whose score fell in `[low, high)` (the last band also holds its upper bound).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    pub low: u32,
    pub high: u32,
    pub leads: usize,
    pub mqls: usize,
    pub sqls: usize,
    /// SQLs / leads; `None` for an empty band.
    pub sql_rate: Option<f64>,
    /// Fewer leads than the options' `min_band_leads`: left out of the monotone check.
    pub thin: bool,
}

impl Band {
    pub fn label(&self) -> String {
        format!("{}-{}", self.low, self.high)
    }
}

/// Two bands where the higher one converts worse.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inversion {
    pub lower: String,
    pub lower_rate: f64,
    pub higher: String,
    pub higher_rate: f64,
    /// Two-proportion z statistic of the drop.
    pub z: f64,
    /// The drop is smaller than two standard errors: with this few leads it may be
    /// chance rather than a scoring problem. Still an inversion; this only says how
    /// much to read into it.
    pub within_noise: bool,
}

/// How many standard errors a drop between two bands' SQL rates is.
fn drop_z(lower: &Band, higher: &Band) -> f64 {
    let (n1, n2) = (lower.leads as f64, higher.leads as f64);
    let (r1, r2) = (lower.sqls as f64 / n1, higher.sqls as f64 / n2);
    let pooled = (lower.sqls + higher.sqls) as f64 / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se > 0.0 {
        (r1 - r2) / se
    } else {
        f64::INFINITY
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    pub band_width: u32,
    pub min_band_leads: usize,
    /// Leads that passed the gates, by the score band of [`LeadReplay::score`].
    pub bands: Vec<Band>,
    /// Leads the gates disqualified, whatever their score.
    pub disqualified_leads: usize,
    pub disqualified_sqls: usize,
    /// Bands with enough leads to be judged; with fewer than two, `monotone` is true
    /// only because there is nothing to compare.
    pub judged_bands: usize,
    /// The SQL rate never falls from one band to the next (thin bands aside).
    pub monotone: bool,
    pub inversions: Vec<Inversion>,
}

/// The backtest of one contract over one history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestResult {
    pub contract_version: String,
    pub leads: usize,
    pub sqls: usize,
    pub mqls: usize,
    pub fast_lane_mqls: usize,
    /// Fast-lane MQLs that became SQLs.
    pub fast_lane_sqls: usize,
    pub disqualified: usize,
    pub disqualified_by_gate: BTreeMap<String, usize>,
    pub confusion: Confusion,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    pub calibration: Calibration,
    /// MQLs that did not become SQLs, by the reason sales gave when it rejected them.
    pub rejected_mqls_by_reason: BTreeMap<String, usize>,
    /// Signals whose type this contract does not know; they score nothing, which is
    /// worth a look (a renamed type, a typo in the export).
    pub unknown_signal_types: BTreeMap<String, usize>,
}

/// Replay and summarise.
pub fn backtest(
    records: &[HistoryRecord],
    contract: &Contract,
    options: &BacktestOptions,
) -> BacktestResult {
    let replays = replay(records, contract, options.threads);
    summarise(records, &replays, contract, options)
}

/// Summarise replays; `replays[i]` is the replay of `records[i]`.
pub fn summarise(
    records: &[HistoryRecord],
    replays: &[LeadReplay],
    contract: &Contract,
    options: &BacktestOptions,
) -> BacktestResult {
    let scale = contract.pillar_max(Pillar::Fit)
        + contract.pillar_max(Pillar::Intent)
        + contract.pillar_max(Pillar::Readiness);
    let width = options
        .band_width
        .unwrap_or_else(|| scale.div_ceil(10))
        .max(1);
    let band_count = scale.div_ceil(width).max(1);
    let mut bands: Vec<Band> = (0..band_count)
        .map(|i| Band {
            low: i * width,
            high: ((i + 1) * width).min(scale.max(width)),
            leads: 0,
            mqls: 0,
            sqls: 0,
            sql_rate: None,
            thin: true,
        })
        .collect();

    let mut confusion = Confusion::default();
    let (mut mqls, mut fast_lane_mqls, mut fast_lane_sqls, mut sqls) = (0, 0, 0, 0);
    let (mut disqualified, mut disqualified_sqls) = (0, 0);
    let mut disqualified_by_gate: BTreeMap<String, usize> = BTreeMap::new();
    let mut rejected_mqls_by_reason: BTreeMap<String, usize> = BTreeMap::new();
    let mut unknown_signal_types: BTreeMap<String, usize> = BTreeMap::new();

    for (record, replay) in records.iter().zip(replays) {
        let mql = replay.mql_at.is_some();
        sqls += usize::from(record.sql);
        match (mql, record.sql) {
            (true, true) => confusion.true_positives += 1,
            (true, false) => confusion.false_positives += 1,
            (false, true) => confusion.false_negatives += 1,
            (false, false) => confusion.true_negatives += 1,
        }
        if mql {
            mqls += 1;
            if replay.fast_lane {
                fast_lane_mqls += 1;
                fast_lane_sqls += usize::from(record.sql);
            }
            if !record.sql {
                if let Some(reason) = &record.rejection_reason {
                    *rejected_mqls_by_reason.entry(reason.clone()).or_default() += 1;
                }
            }
        }
        if let Some(gate) = &replay.disqualified_by {
            disqualified += 1;
            disqualified_sqls += usize::from(record.sql);
            *disqualified_by_gate.entry(gate.clone()).or_default() += 1;
        } else {
            let index = if replay.score.is_finite() && replay.score > 0.0 {
                ((replay.score / f64::from(width)) as usize).min(bands.len() - 1)
            } else {
                0
            };
            let band = &mut bands[index];
            band.leads += 1;
            band.mqls += usize::from(mql);
            band.sqls += usize::from(record.sql);
        }
        for s in &record.signals {
            if contract.signal_type(&s.kind).is_none() {
                match unknown_signal_types.get_mut(s.kind.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        unknown_signal_types.insert(s.kind.clone(), 1);
                    }
                }
            }
        }
    }

    for band in &mut bands {
        band.sql_rate = ratio(band.sqls, band.leads);
        band.thin = band.leads < options.min_band_leads.max(1);
    }
    let mut inversions = Vec::new();
    let mut previous: Option<(&Band, f64)> = None;
    for band in bands.iter().filter(|b| !b.thin) {
        let rate = band.sql_rate.unwrap_or(0.0);
        if let Some((lower, lower_rate)) = previous {
            if rate < lower_rate {
                let z = drop_z(lower, band);
                inversions.push(Inversion {
                    lower: lower.label(),
                    lower_rate,
                    higher: band.label(),
                    higher_rate: rate,
                    z,
                    within_noise: z < 1.96,
                });
            }
        }
        previous = Some((band, rate));
    }

    BacktestResult {
        contract_version: contract.version().to_string(),
        leads: records.len().min(replays.len()),
        sqls,
        mqls,
        fast_lane_mqls,
        fast_lane_sqls,
        disqualified,
        disqualified_by_gate,
        confusion,
        precision: confusion.precision(),
        recall: confusion.recall(),
        f1: confusion.f1(),
        calibration: Calibration {
            band_width: width,
            min_band_leads: options.min_band_leads,
            judged_bands: bands.iter().filter(|b| !b.thin).count(),
            monotone: inversions.is_empty(),
            inversions,
            bands,
            disqualified_leads: disqualified,
            disqualified_sqls,
        },
        rejected_mqls_by_reason,
        unknown_signal_types,
    }
}

// ---------------------------------------------------------------------------------------
// Comparison

/// Leads that only one of two contracts makes MQLs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Flip {
    pub leads: usize,
    /// Of those, how many became SQLs.
    pub sqls: usize,
}

/// B minus A.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delta {
    pub mqls: i64,
    pub fast_lane_mqls: i64,
    pub disqualified: i64,
    pub true_positives: i64,
    pub false_positives: i64,
    pub false_negatives: i64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

/// Two contracts over the same history, side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub a: BacktestResult,
    pub b: BacktestResult,
    /// B minus A.
    pub delta: Delta,
    /// MQLs under A and not under B: what B would stop sending to sales.
    pub only_a: Flip,
    /// MQLs under B and not under A: what B would add.
    pub only_b: Flip,
    pub both: usize,
}

pub fn compare(
    records: &[HistoryRecord],
    a: &Contract,
    b: &Contract,
    options: &BacktestOptions,
) -> Comparison {
    let replays_a = replay(records, a, options.threads);
    let replays_b = replay(records, b, options.threads);
    let (mut only_a, mut only_b, mut both) = (Flip::default(), Flip::default(), 0);
    for ((record, ra), rb) in records.iter().zip(&replays_a).zip(&replays_b) {
        match (ra.mql_at.is_some(), rb.mql_at.is_some()) {
            (true, false) => {
                only_a.leads += 1;
                only_a.sqls += usize::from(record.sql);
            }
            (false, true) => {
                only_b.leads += 1;
                only_b.sqls += usize::from(record.sql);
            }
            (true, true) => both += 1,
            (false, false) => {}
        }
    }
    let a = summarise(records, &replays_a, a, options);
    let b = summarise(records, &replays_b, b, options);
    let count = |x: usize, y: usize| y as i64 - x as i64;
    let diff = |x: Option<f64>, y: Option<f64>| Some(y? - x?);
    let delta = Delta {
        mqls: count(a.mqls, b.mqls),
        fast_lane_mqls: count(a.fast_lane_mqls, b.fast_lane_mqls),
        disqualified: count(a.disqualified, b.disqualified),
        true_positives: count(a.confusion.true_positives, b.confusion.true_positives),
        false_positives: count(a.confusion.false_positives, b.confusion.false_positives),
        false_negatives: count(a.confusion.false_negatives, b.confusion.false_negatives),
        precision: diff(a.precision, b.precision),
        recall: diff(a.recall, b.recall),
        f1: diff(a.f1, b.f1),
    };
    Comparison {
        a,
        b,
        delta,
        only_a,
        only_b,
        both,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_cell_round_trips() {
        let cell = "pricing_page_visit@2026-11-02T10:00:00Z/140s; email_reply@2026-11-03T09:12:00+01:00/q;";
        let signals = parse_signals(cell).unwrap();
        assert_eq!(signals.len(), 2);
        assert_eq!(signals[0].seconds_on_page, Some(140));
        assert!(signals[1].question);
        assert_eq!(signals[1].at.to_rfc3339(), "2026-11-03T08:12:00+00:00");
        assert_eq!(parse_signals(&encode_signals(&signals)).unwrap(), signals);
        assert_eq!(parse_signals("").unwrap(), vec![]);
    }

    #[test]
    fn bad_signal_items_are_named_by_position() {
        let err =
            parse_signals("blog_view@2026-11-02T10:00:00Z; demo_request@yesterday").unwrap_err();
        assert!(
            err.starts_with("signal 2 \"demo_request@yesterday\""),
            "{err}"
        );
        let err = parse_signals("blog_view@2026-11-02T10:00:00Z/x").unwrap_err();
        assert!(err.contains("unknown modifier \"/x\""), "{err}");
        let err = parse_signals("blog_view 2026-11-02").unwrap_err();
        assert!(err.contains("expected type@time"), "{err}");
        let err = parse_signals("blog_view@2026-11-02T10:00:00Z/99999s").unwrap_err();
        assert!(err.contains("0s to 86400s"), "{err}");
    }

    #[test]
    fn f1_is_the_harmonic_mean() {
        let c = Confusion {
            true_positives: 2,
            false_positives: 2,
            false_negatives: 6,
            true_negatives: 90,
        };
        assert_eq!(c.precision(), Some(0.5));
        assert_eq!(c.recall(), Some(0.25));
        let f1 = c.f1().unwrap();
        assert!((f1 - 1.0 / 3.0).abs() < 1e-12, "{f1}");
        assert_eq!(Confusion::default().precision(), None);
    }
}
