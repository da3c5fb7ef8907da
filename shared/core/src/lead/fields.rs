//! Field-by-field validation of untrusted lead input: the profile, the email, free text
//! under its caps, and each signal. Every problem is pushed with its path
//! (`signals[2].at`) instead of stopping at the first, so a sender can fix them all.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::parse::shown_key;
use super::{caps, normalise_email, FieldError, LeadProfile, Signal, FUTURE_TOLERANCE_MINUTES};
use crate::contract::Contract;
use crate::text::{clip, code_point, first_format_char, strip_hidden};

pub(super) fn profile_from(
    object: &Map<String, Value>,
    errors: &mut Vec<FieldError>,
) -> LeadProfile {
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

/// Deliberately simple: one `@`, a non-empty local part, a dotted domain, no spaces,
/// control or format characters. Full RFC 5322 accepts addresses no CRM would.
///
/// An invisible format character (a zero-width space, a bidi mark, a BOM) is refused,
/// not stripped: the email is the lead's identity, and the same address with a hidden
/// U+200B would otherwise become a second lead for the same person. The error names the
/// character, since the sender cannot see it.
fn validate_email(raw: &str) -> Result<String, String> {
    if let Some(c) = first_format_char(raw) {
        return Err(format!(
            "contains the invisible format character {}; send the address without it",
            code_point(c)
        ));
    }
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

/// An optional identifier chosen by the client (`submission_id`): like free text, but a
/// format character is refused rather than stripped, since stripping would make two
/// different identifiers one.
pub(super) fn optional_identifier(
    object: &Map<String, Value>,
    field: &str,
    max_chars: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    if let Some(c) = object
        .get(field)
        .and_then(Value::as_str)
        .and_then(first_format_char)
    {
        errors.push(FieldError::new(
            field,
            format!("contains the invisible format character {}", code_point(c)),
        ));
        return None;
    }
    optional_string(object, field, max_chars, errors)
}

pub(super) fn optional_string(
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
/// terminals and CSV exports. Invisible format characters (bidi controls, zero-width
/// spaces; see [`crate::text`]) are dropped first, silently: a name pasted from a
/// right-to-left document is still a good name. Problems are pushed to `errors` under
/// `field`.
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
            let visible = strip_hidden(s);
            let trimmed = visible.trim();
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

pub(super) fn signals_from(
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
                errors.push(FieldError::new(at_path(&shown_key(key)), "unknown field"));
            }
        }
        let kind = match obj.get("type") {
            Some(Value::String(k)) if contract.signal_type(k).is_some() => k.clone(),
            Some(Value::String(k)) => {
                let shown = clip(k, 64);
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
