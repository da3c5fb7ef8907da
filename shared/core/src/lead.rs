//! Leads and signals as they arrive, and the validation that turns untrusted input into
//! them. Validation walks the JSON by hand instead of deriving `Deserialize` so that it
//! can report *every* bad field with its path (`signals[2].at: ...`), not just the first.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::contract::Contract;

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

/// A lead id is derived from the normalised email, so the same person always lands on
/// the same item, and ids (unlike emails) are safe to log.
pub fn lead_id_for(email: &str) -> String {
    let digest = Sha256::digest(normalise_email(email).as_bytes());
    format!("ld_{}", &hex::encode(digest)[..24])
}

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

const PROFILE_FIELDS: &[&str] = &[
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
];

/// Did a bot fill the honeypot, whatever else is wrong with the body? Checked before
/// field errors are reported, so a bot never learns what a valid submission looks like.
pub fn honeypot_in(body: &[u8], form: bool) -> bool {
    if form {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).is_ok_and(|pairs| {
            pairs
                .iter()
                .any(|(k, v)| k == HONEYPOT_FIELD && !v.is_empty())
        })
    } else {
        json_object(body).is_ok_and(|object| json_honeypot_filled(&object))
    }
}

fn json_honeypot_filled(object: &Map<String, Value>) -> bool {
    object
        .get(HONEYPOT_FIELD)
        .is_some_and(|v| !matches!(v, Value::Null) && v.as_str().is_none_or(|s| !s.is_empty()))
}

/// Parse a JSON lead submission. `now` bounds signal times and fills missing ones.
pub fn parse_lead_json(
    body: &[u8],
    contract: &Contract,
    now: DateTime<Utc>,
) -> Result<Submission, Vec<FieldError>> {
    let object = json_object(body)?;
    let mut errors = Vec::new();
    let honeypot_filled = json_honeypot_filled(&object);
    for key in object.keys() {
        if !PROFILE_FIELDS.contains(&key.as_str())
            && !["signals", "submission_id", HONEYPOT_FIELD].contains(&key.as_str())
        {
            errors.push(FieldError::new(key.clone(), "unknown field"));
        }
    }
    let profile = profile_from(&object, &mut errors);
    let submission_id = optional_string(&object, "submission_id", caps::SUBMISSION_ID, &mut errors);
    let signals = match object.get("signals") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => signals_from(v, "signals", contract, now, &mut errors),
    };
    if errors.is_empty() {
        Ok(Submission {
            profile,
            signals,
            submission_id,
            honeypot_filled,
        })
    } else {
        Err(errors)
    }
}

/// Parse a plain HTML form post (`application/x-www-form-urlencoded`, flat field names).
/// The form itself is the signal: a hidden `signal` field names its type (for example
/// `demo_request`), `message` becomes its detail, and a `?` in the message marks a question.
pub fn parse_lead_form(
    body: &[u8],
    contract: &Contract,
    now: DateTime<Utc>,
) -> Result<Submission, Vec<FieldError>> {
    let text = std::str::from_utf8(body)
        .map_err(|_| vec![FieldError::new("body", "is not valid UTF-8")])?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text).map_err(|e| {
        vec![FieldError::new(
            "body",
            format!("is not a valid form encoding: {e}"),
        )]
    })?;
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut errors = Vec::new();
    for (k, v) in pairs {
        if fields.insert(k.clone(), v).is_some() {
            errors.push(FieldError::new(k, "appears more than once"));
        }
    }
    let honeypot_filled = fields.get(HONEYPOT_FIELD).is_some_and(|v| !v.is_empty());

    // Forms send everything as text; turn the typed fields into JSON values of the right
    // type, or leave them as strings so the shared validation names the problem.
    let mut object = Map::new();
    let mut signal_type = None;
    let mut message = None;
    for (key, value) in fields {
        let value = value.trim().to_string();
        match key.as_str() {
            "signal" => signal_type = Some(value),
            "message" => message = Some(value),
            "employees" if !value.is_empty() => {
                let parsed = value
                    .parse::<u64>()
                    .map(Value::from)
                    .unwrap_or(Value::String(value));
                object.insert(key, parsed);
            }
            "abm_target" => {
                let on = matches!(value.as_str(), "on" | "true" | "1" | "yes");
                object.insert(key, Value::Bool(on));
            }
            k if k == HONEYPOT_FIELD => {}
            _ if value.is_empty() => {}
            _ => {
                object.insert(key, Value::String(value));
            }
        }
    }
    if let Some(kind) = signal_type.filter(|s| !s.is_empty()) {
        let mut signal = Map::new();
        let question = message.as_deref().is_some_and(|m| m.contains('?'));
        signal.insert("type".into(), Value::String(kind));
        if let Some(m) = message.filter(|m| !m.is_empty()) {
            signal.insert("detail".into(), Value::String(m));
        }
        signal.insert("question".into(), Value::Bool(question));
        object.insert("signals".into(), Value::Array(vec![Value::Object(signal)]));
    }
    let encoded = serde_json::to_vec(&Value::Object(object))
        .map_err(|e| vec![FieldError::new("body", e.to_string())])?;
    let mut submission = parse_lead_json(&encoded, contract, now).map_err(|mut e| {
        errors.append(&mut e);
        errors.clone()
    })?;
    if !errors.is_empty() {
        return Err(errors);
    }
    submission.honeypot_filled = honeypot_filled;
    Ok(submission)
}

/// Parse `POST /leads/{id}/signals`: `{"signals": [...], "submission_id": "..."}`.
pub fn parse_signal_batch(
    body: &[u8],
    contract: &Contract,
    now: DateTime<Utc>,
) -> Result<SignalBatch, Vec<FieldError>> {
    let object = json_object(body)?;
    let mut errors = Vec::new();
    for key in object.keys() {
        if !["signals", "submission_id"].contains(&key.as_str()) {
            errors.push(FieldError::new(key.clone(), "unknown field"));
        }
    }
    let submission_id = optional_string(&object, "submission_id", caps::SUBMISSION_ID, &mut errors);
    let signals = match object.get("signals") {
        Some(v) => signals_from(v, "signals", contract, now, &mut errors),
        None => {
            errors.push(FieldError::new("signals", "is required"));
            Vec::new()
        }
    };
    if signals.is_empty() && errors.is_empty() {
        errors.push(FieldError::new(
            "signals",
            "must contain at least one signal",
        ));
    }
    if errors.is_empty() {
        Ok(SignalBatch {
            signals,
            submission_id,
        })
    } else {
        Err(errors)
    }
}

/// The body as a JSON object, or the `body` field error saying why not.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, Vec<FieldError>> {
    let text = std::str::from_utf8(body)
        .map_err(|_| vec![FieldError::new("body", "is not valid UTF-8")])?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(vec![FieldError::new("body", "must be a JSON object")]),
        Err(e) => Err(vec![FieldError::new(
            "body",
            format!("is not valid JSON: {e}"),
        )]),
    }
}

fn profile_from(object: &Map<String, Value>, errors: &mut Vec<FieldError>) -> LeadProfile {
    let email = match object.get("email") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new("email", "is required"));
            String::new()
        }
        Some(Value::String(s)) => match validate_email(s) {
            Ok(e) => e,
            Err(problem) => {
                errors.push(FieldError::new("email", problem));
                String::new()
            }
        },
        Some(_) => {
            errors.push(FieldError::new("email", "must be a string"));
            String::new()
        }
    };
    let country = optional_string(object, "country", 2, errors).and_then(|c| {
        let upper = c.to_ascii_uppercase();
        if upper.len() == 2 && upper.chars().all(|ch| ch.is_ascii_uppercase()) {
            Some(upper)
        } else {
            errors.push(FieldError::new(
                "country",
                "must be a two-letter ISO 3166 country code",
            ));
            None
        }
    });
    let employees = match object.get("employees") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if v <= caps::MAX_EMPLOYEES => u32::try_from(v).ok(),
            _ => {
                errors.push(FieldError::new(
                    "employees",
                    format!("must be a whole number from 0 to {}", caps::MAX_EMPLOYEES),
                ));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new("employees", "must be a number"));
            None
        }
    };
    let abm_target = match object.get("abm_target") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(FieldError::new("abm_target", "must be true or false"));
            false
        }
    };
    LeadProfile {
        email,
        first_name: optional_string(object, "first_name", caps::NAME, errors),
        last_name: optional_string(object, "last_name", caps::NAME, errors),
        title: optional_string(object, "title", caps::TITLE, errors),
        company: optional_string(object, "company", caps::COMPANY, errors),
        employees,
        industry: optional_string(object, "industry", caps::INDUSTRY, errors),
        country,
        abm_target,
        source: optional_string(object, "source", caps::SOURCE, errors),
        campaign: optional_string(object, "campaign", caps::CAMPAIGN, errors),
    }
}

/// Deliberately simple: one `@`, a non-empty local part, a dotted domain, no spaces or
/// control characters. Full RFC 5322 accepts addresses no CRM would.
fn validate_email(raw: &str) -> Result<String, String> {
    let email = normalise_email(raw);
    if email.is_empty() {
        return Err("must not be empty".into());
    }
    if email.chars().count() > caps::EMAIL {
        return Err(format!("is longer than {} characters", caps::EMAIL));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err("is not an email address (no @)".into());
    };
    let valid_domain = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if local.is_empty()
        || !valid_domain
        || local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '@')
    {
        return Err("is not a valid email address".into());
    }
    Ok(email)
}

fn optional_string(
    object: &Map<String, Value>,
    field: &str,
    max_chars: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    string_field(object.get(field), field, max_chars, errors)
}

fn string_field(
    value: Option<&Value>,
    field: &str,
    max_chars: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    text_value(value, field, max_chars, true, errors)
}

/// An optional trimmed string; empty counts as absent. `multiline` admits newlines and
/// tabs; no other control character is stored, since this text ends up in alerts,
/// terminals and CSV exports. Problems are pushed to `errors` under `field`.
pub fn text_value(
    value: Option<&Value>,
    field: &str,
    max_chars: usize,
    multiline: bool,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let trimmed = s.trim();
            if trimmed.chars().count() > max_chars {
                errors.push(FieldError::new(
                    field,
                    format!("is longer than {max_chars} characters"),
                ));
                None
            } else if trimmed
                .chars()
                .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')))
            {
                errors.push(FieldError::new(field, "contains control characters"));
                None
            } else if trimmed.is_empty() {
                None
            } else {
                Some(trimmed.to_string())
            }
        }
        Some(_) => {
            errors.push(FieldError::new(field, "must be a string"));
            None
        }
    }
}

fn signals_from(
    value: &Value,
    path: &str,
    contract: &Contract,
    now: DateTime<Utc>,
    errors: &mut Vec<FieldError>,
) -> Vec<Signal> {
    let Value::Array(items) = value else {
        errors.push(FieldError::new(path, "must be an array"));
        return Vec::new();
    };
    if items.len() > caps::SIGNALS_PER_REQUEST {
        errors.push(FieldError::new(
            path,
            format!("has more than {} signals", caps::SIGNALS_PER_REQUEST),
        ));
        return Vec::new();
    }
    let latest_allowed = now + Duration::minutes(FUTURE_TOLERANCE_MINUTES);
    let mut signals = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at_path = |f: &str| format!("{path}[{i}].{f}");
        let Value::Object(obj) = item else {
            errors.push(FieldError::new(format!("{path}[{i}]"), "must be an object"));
            continue;
        };
        let before = errors.len();
        for key in obj.keys() {
            if !["type", "at", "seconds_on_page", "question", "detail"].contains(&key.as_str()) {
                errors.push(FieldError::new(at_path(key), "unknown field"));
            }
        }
        let kind = match obj.get("type") {
            Some(Value::String(k)) if contract.signal_type(k).is_some() => k.clone(),
            Some(Value::String(k)) => {
                let shown: String = k.chars().take(64).collect();
                errors.push(FieldError::new(
                    at_path("type"),
                    format!("unknown signal type \"{shown}\" (see the contract's [signals])"),
                ));
                String::new()
            }
            None | Some(Value::Null) => {
                errors.push(FieldError::new(at_path("type"), "is required"));
                String::new()
            }
            Some(_) => {
                errors.push(FieldError::new(at_path("type"), "must be a string"));
                String::new()
            }
        };
        let at = match obj.get("at") {
            None | Some(Value::Null) => now,
            Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
                Ok(t) if t.with_timezone(&Utc) > latest_allowed => {
                    errors.push(FieldError::new(
                        at_path("at"),
                        format!(
                            "is in the future (more than {FUTURE_TOLERANCE_MINUTES} minutes after the request)"
                        ),
                    ));
                    now
                }
                Ok(t) => t.with_timezone(&Utc),
                Err(_) => {
                    errors.push(FieldError::new(
                        at_path("at"),
                        "must be an RFC 3339 timestamp such as 2026-11-23T14:05:00Z",
                    ));
                    now
                }
            },
            Some(_) => {
                errors.push(FieldError::new(at_path("at"), "must be a string"));
                now
            }
        };
        let seconds_on_page = match obj.get("seconds_on_page") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64().and_then(|v| u32::try_from(v).ok()) {
                Some(v) if v <= 86_400 => Some(v),
                _ => {
                    errors.push(FieldError::new(
                        at_path("seconds_on_page"),
                        "must be a whole number of seconds from 0 to 86400",
                    ));
                    None
                }
            },
            Some(_) => {
                errors.push(FieldError::new(
                    at_path("seconds_on_page"),
                    "must be a number",
                ));
                None
            }
        };
        let question = match obj.get("question") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                errors.push(FieldError::new(
                    at_path("question"),
                    "must be true or false",
                ));
                false
            }
        };
        let detail = string_field(obj.get("detail"), &at_path("detail"), caps::DETAIL, errors);
        if errors.len() == before {
            signals.push(Signal {
                kind,
                at,
                seconds_on_page,
                question,
                detail,
            });
        }
    }
    signals
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
    }

    fn contract() -> Contract {
        Contract::default_contract().unwrap()
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn lead_id_ignores_case_and_whitespace() {
        assert_eq!(lead_id_for(" Ana@Acme.io "), lead_id_for("ana@acme.io"));
        assert_ne!(lead_id_for("ana@acme.io"), lead_id_for("bo@acme.io"));
        assert!(lead_id_for("ana@acme.io").starts_with("ld_"));
    }

    #[test]
    fn valid_json_submission() {
        let body = br#"{"email":" Ana@Acme.io","title":"VP RevOps","employees":250,
            "country":"us","signals":[{"type":"pricing_page_visit","at":"2026-11-22T10:00:00Z","seconds_on_page":120}]}"#;
        let s = parse_lead_json(body, &contract(), now()).unwrap();
        assert_eq!(s.profile.email, "ana@acme.io");
        assert_eq!(s.profile.country.as_deref(), Some("US"));
        assert_eq!(s.signals.len(), 1);
        assert_eq!(s.signals[0].seconds_on_page, Some(120));
        assert!(!s.honeypot_filled);
    }

    #[test]
    fn every_bad_field_is_named() {
        let body = br#"{"email":"not-an-email","employees":"many","country":"USA","abm_target":"yes",
            "nickname":"x","signals":[{"type":"telepathy"},{"type":"demo_request","at":"2027-01-01T00:00:00Z"},
            {"type":"pricing_page_visit","at":"yesterday"}]}"#;
        let errors = parse_lead_json(body, &contract(), now()).unwrap_err();
        let f = fields(&errors);
        for expected in [
            "email",
            "employees",
            "country",
            "abm_target",
            "nickname",
            "signals[0].type",
            "signals[1].at",
            "signals[2].at",
        ] {
            assert!(f.contains(&expected), "{expected} missing from {errors:?}");
        }
        let future = errors.iter().find(|e| e.field == "signals[1].at").unwrap();
        assert!(future.problem.contains("future"));
    }

    #[test]
    fn missing_email_and_non_object_bodies() {
        let errors = parse_lead_json(br#"{"title":"CTO"}"#, &contract(), now()).unwrap_err();
        assert_eq!(errors, vec![FieldError::new("email", "is required")]);
        let errors = parse_lead_json(b"[1,2]", &contract(), now()).unwrap_err();
        assert_eq!(errors[0].field, "body");
        let errors = parse_lead_json(b"{\"email\":", &contract(), now()).unwrap_err();
        assert!(errors[0].problem.starts_with("is not valid JSON"));
        let errors = parse_lead_json(b"{\"email\":\"\xff\"}", &contract(), now()).unwrap_err();
        assert_eq!(errors[0].problem, "is not valid UTF-8");
    }

    #[test]
    fn strings_over_their_cap_are_refused() {
        let long = "x".repeat(caps::COMPANY + 1);
        let body = format!(r#"{{"email":"a@b.co","company":"{long}"}}"#);
        let errors = parse_lead_json(body.as_bytes(), &contract(), now()).unwrap_err();
        assert_eq!(errors[0].field, "company");
        assert!(errors[0].problem.contains("longer than 200"));
    }

    #[test]
    fn form_post_becomes_a_lead_with_one_signal() {
        let body = b"email=ana%40acme.io&first_name=Ana&employees=250&signal=demo_request&message=Do+you+integrate+with+Salesforce%3F&website_url=";
        let s = parse_lead_form(body, &contract(), now()).unwrap();
        assert_eq!(s.profile.email, "ana@acme.io");
        assert_eq!(s.profile.employees, Some(250));
        assert_eq!(s.signals.len(), 1);
        assert_eq!(s.signals[0].kind, "demo_request");
        assert!(s.signals[0].question);
        assert_eq!(s.signals[0].at, now());
        assert!(!s.honeypot_filled);
    }

    #[test]
    fn form_errors_name_fields_and_honeypot_is_seen() {
        let errors = parse_lead_form(b"email=x&employees=lots", &contract(), now()).unwrap_err();
        assert_eq!(fields(&errors), vec!["email", "employees"]);
        let s = parse_lead_form(
            b"email=a%40b.co&website_url=http%3A%2F%2Fspam",
            &contract(),
            now(),
        )
        .unwrap();
        assert!(s.honeypot_filled);
    }

    #[test]
    fn merge_keeps_what_the_newer_form_lacks() {
        let mut old = LeadProfile {
            email: "a@b.co".into(),
            title: Some("VP Sales".into()),
            ..Default::default()
        };
        let newer = LeadProfile {
            email: "a@b.co".into(),
            company: Some("Acme".into()),
            ..Default::default()
        };
        old.merge_from(&newer);
        assert_eq!(old.title.as_deref(), Some("VP Sales"));
        assert_eq!(old.company.as_deref(), Some("Acme"));
    }

    #[test]
    fn signal_batch_requires_signals() {
        let errors = parse_signal_batch(b"{}", &contract(), now()).unwrap_err();
        assert_eq!(errors[0].field, "signals");
        let b = parse_signal_batch(
            br#"{"signals":[{"type":"email_reply","question":true,"detail":"pricing for 40 seats?"}],"submission_id":"s-1"}"#,
            &contract(),
            now(),
        )
        .unwrap();
        assert_eq!(b.submission_id.as_deref(), Some("s-1"));
        assert!(b.signals[0].question);
    }
}
