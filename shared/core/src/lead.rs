//! Leads and signals as they arrive, and the validation that turns untrusted input into
//! them. Validation walks the JSON by hand instead of deriving `Deserialize` so that it
//! can report *every* bad field with its path (`signals[2].at: ...`), not just the first.
//!
//! The types are here; the submodule `parse` reads whole request bodies (JSON through
//! `json`, which refuses repeated keys, forms through `form`, which refuses broken
//! percent-encoding) and `fields` validates the fields inside them, dropping invisible
//! format characters from text and refusing them in emails. Their public functions are
//! re-exported here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod fields;
mod form;
mod json;
mod parse;

pub use fields::text_value;
pub use form::form_pairs;
pub use json::{json_object, DUPLICATE_KEY};
pub use parse::{honeypot_in, parse_lead_form, parse_lead_json, parse_signal_batch};

/// Who the lead is. Everything but the email is optional: forms differ.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadProfile {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employees: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default)]
    pub abm_target: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
}

impl LeadProfile {
    pub fn email_domain(&self) -> &str {
        self.email.rsplit_once('@').map_or("", |(_, d)| d)
    }

    pub fn full_name(&self) -> Option<String> {
        let parts: Vec<&str> = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    /// A later form from the same person fills in and updates what it carries and keeps
    /// the rest: a webinar form without a title must not erase the title from a demo form.
    pub fn merge_from(&mut self, newer: &LeadProfile) {
        fn take<T: Clone>(slot: &mut Option<T>, newer: &Option<T>) {
            if newer.is_some() {
                slot.clone_from(newer);
            }
        }
        take(&mut self.first_name, &newer.first_name);
        take(&mut self.last_name, &newer.last_name);
        take(&mut self.title, &newer.title);
        take(&mut self.company, &newer.company);
        take(&mut self.employees, &newer.employees);
        take(&mut self.industry, &newer.industry);
        take(&mut self.country, &newer.country);
        take(&mut self.source, &newer.source);
        take(&mut self.campaign, &newer.campaign);
        self.abm_target |= newer.abm_target;
    }
}

/// One buying signal: something the lead did, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    #[serde(rename = "type")]
    pub kind: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_on_page: Option<u32>,
    /// The lead asked a question (a reply, a form message).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub question: bool,
    /// Free text: what the reply asked, which page, which webinar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The form of an email that identifies a person: a lead's id is a keyed hash of it
/// (see [`crate::lead_ids`]).
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A bad field and what is wrong with it; the HTTP layer returns a list of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub problem: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// A validated `POST /leads` (or `leadwatch score`) body.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub profile: LeadProfile,
    pub signals: Vec<Signal>,
    /// Client-chosen idempotency key, as an alternative to the `Idempotency-Key` header.
    pub submission_id: Option<String>,
    /// A bot filled the hidden honeypot field: accept politely, store nothing.
    pub honeypot_filled: bool,
}

/// A validated `POST /leads/{id}/signals` body.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalBatch {
    pub signals: Vec<Signal>,
    pub submission_id: Option<String>,
}

/// Length caps on free text, in characters. They keep items (and alerts) small and
/// bound what a hostile form can make us store.
pub mod caps {
    pub const EMAIL: usize = 254;
    pub const NAME: usize = 100;
    pub const TITLE: usize = 150;
    pub const COMPANY: usize = 200;
    pub const INDUSTRY: usize = 80;
    pub const SOURCE: usize = 100;
    pub const CAMPAIGN: usize = 200;
    pub const DETAIL: usize = 500;
    pub const SUBMISSION_ID: usize = 128;
    pub const SIGNALS_PER_REQUEST: usize = 100;
    pub const MAX_EMPLOYEES: u64 = 10_000_000;
}

/// How far ahead of `now` a signal time may be (clock skew between systems).
pub const FUTURE_TOLERANCE_MINUTES: i64 = 5;

/// The hidden field that humans never fill in.
pub const HONEYPOT_FIELD: &str = "website_url";

#[cfg(test)]
mod tests;
