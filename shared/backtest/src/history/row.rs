//! The checks of one history row, cell by cell: each problem is pushed with its line and
//! column and the row is dropped, so a file with bad rows is reported in one pass.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use leadwatch_core::lead::{caps, normalise_email, LeadProfile};

use super::signals::parse_signals;
use super::{Column, CsvProblem, HistoryRecord, Problems, Row};

/// Checks the cells of one row, pushing each problem with its line and column.
pub(super) struct RowCheck<'a> {
    pub(super) line: u64,
    pub(super) columns: &'a HashMap<&'static str, usize>,
    pub(super) problems: &'a mut Problems,
    pub(super) ok: bool,
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

    pub(super) fn record(&mut self, row: Row) -> HistoryRecord {
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
pub(super) fn shown(text: &str) -> String {
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

pub(super) fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!(
                "\"{}\" is not an RFC 3339 time such as 2026-11-02T10:00:00Z",
                shown(text)
            )
        })
}
