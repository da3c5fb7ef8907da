//! The two ingest lanes' rules on a submission, as the contract's `[intake]` section
//! declares them (see [`crate::contract::intake`]):
//!
//! * a **public form** post (unsigned, from anyone) is a flat set of text fields: it
//!   must name a configured form and may carry only that form's fields and signal
//!   types; it updates a known lead's profile only where the profile is still empty,
//!   and an identical post within [`DEDUPE_WINDOW_SECONDS`] adds nothing;
//! * a **signed source** may send any field, but only its own signal types.
//!
//! Bodies reach this module already decoded to text (charsets, multipart and JSON are
//! the HTTP layer's); the fields themselves are validated by [`crate::lead`], so both
//! lanes share one set of rules for emails, caps and signals.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::contract::intake::FORM_FORBIDDEN_FIELDS;
use crate::contract::{Contract, Form};
use crate::lead::{parse_lead_json, FieldError, LeadProfile, Signal, Submission, HONEYPOT_FIELD};
use crate::text::clip;
use crate::LeadIds;

/// The field naming the public form a post belongs to.
pub const FORM_FIELD: &str = "form";
/// The hidden field naming the signal type a form post records.
pub const SIGNAL_FIELD: &str = "signal";
/// The form's free text: the detail of its signal (a `?` in it marks a question).
pub const MESSAGE_FIELD: &str = "message";
/// The field browsers fill with the page's encoding (HTML's `_charset_` convention).
pub const CHARSET_FIELD: &str = "_charset_";

/// Fields any public post may carry besides its form's own.
const CONTROL_FIELDS: &[&str] = &[
    FORM_FIELD,
    SIGNAL_FIELD,
    "submission_id",
    HONEYPOT_FIELD,
    CHARSET_FIELD,
];

/// An identical public post within this many seconds (at least; up to twice as many,
/// see [`dedupe_keys`]) adds nothing: a double click, a reloaded thank-you page.
pub const DEDUPE_WINDOW_SECONDS: i64 = 600;

/// A validated public form post.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicSubmission {
    /// The form id, as configured.
    pub form: String,
    pub submission: Submission,
}

/// Did a bot fill the honeypot? Checked before anything else, so that a bot never
/// learns what a valid post looks like.
pub fn honeypot_filled(fields: &[(String, String)]) -> bool {
    fields
        .iter()
        .any(|(k, v)| k == HONEYPOT_FIELD && !v.trim().is_empty())
}

/// A JSON object as the flat text fields a form would send: strings as they are,
/// numbers and booleans as text, `null` left out; a list or an object is kept as its
/// JSON text, so that the field is still judged (and named) by [`parse_public`].
pub fn fields_of_json(object: &Map<String, Value>) -> Vec<(String, String)> {
    object
        .iter()
        .filter_map(|(k, v)| {
            let text = match v {
                Value::Null => return None,
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                other => other.to_string(),
            };
            Some((k.clone(), text))
        })
        .collect()
}

/// Validate a public form post against its form in `contract`. Every problem is named:
/// an unknown form, a field or signal type the form does not accept, a bad value.
pub fn parse_public(
    fields: &[(String, String)],
    contract: &Contract,
    now: DateTime<Utc>,
) -> Result<PublicSubmission, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (k, _) in fields {
        if seen.contains(&k.as_str()) {
            errors.push(FieldError::new(clip(k, 40), "appears more than once"));
        } else {
            seen.push(k);
        }
    }
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let known_forms = || {
        contract
            .spec
            .intake
            .forms
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (form_id, form) = match value(FORM_FIELD) {
        None => {
            errors.push(FieldError::new(
                FORM_FIELD,
                format!(
                    "is required: the id of the form posted (one of: {})",
                    known_forms()
                ),
            ));
            return Err(errors);
        }
        Some(id) => match contract.form(id) {
            Some(form) => (id.to_string(), form),
            None => {
                errors.push(FieldError::new(
                    FORM_FIELD,
                    format!(
                        "unknown form \"{}\" (one of: {})",
                        clip(id, 40),
                        known_forms()
                    ),
                ));
                return Err(errors);
            }
        },
    };
    for (k, _) in fields {
        if CONTROL_FIELDS.contains(&k.as_str()) || form.fields.iter().any(|f| f == k) {
            continue;
        }
        let problem = match FORM_FORBIDDEN_FIELDS.iter().find(|(f, _)| f == k) {
            Some((_, why)) => format!("may not be set by a public form: it {why}"),
            None => format!(
                "is not a field of form \"{form_id}\" (its fields: {})",
                form.fields.join(", ")
            ),
        };
        errors.push(FieldError::new(clip(k, 40), problem));
    }
    let signal = match value(SIGNAL_FIELD) {
        Some(kind) => check_form_signal(contract, &form_id, form, kind)
            .map_err(|e| errors.push(e))
            .ok(),
        None => form.signals.first().cloned(),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let object = submission_object(fields, &form_id, form, signal);
    let encoded = serde_json::to_vec(&Value::Object(object))
        .map_err(|e| vec![FieldError::new("body", e.to_string())])?;
    let submission = parse_lead_json(&encoded, contract, now).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| FieldError::new(form_field_of(&e.field), e.problem))
            .collect::<Vec<_>>()
    })?;
    Ok(PublicSubmission {
        form: form_id,
        submission,
    })
}

fn check_form_signal(
    contract: &Contract,
    form_id: &str,
    form: &Form,
    kind: &str,
) -> Result<String, FieldError> {
    let shown = clip(kind, 64);
    if form.signals.iter().any(|s| s == kind) {
        Ok(kind.to_string())
    } else if contract.is_sales_signal(kind) {
        Err(FieldError::new(
            SIGNAL_FIELD,
            format!("\"{shown}\" is a sales-side signal: it is accepted only from a signed sales source"),
        ))
    } else {
        let accepted = if form.signals.is_empty() {
            "none".to_string()
        } else {
            form.signals.join(", ")
        };
        Err(FieldError::new(
            SIGNAL_FIELD,
            format!("signal type \"{shown}\" is not accepted by form \"{form_id}\" (it accepts: {accepted})"),
        ))
    }
}

/// The post as the JSON submission [`parse_lead_json`] validates: the profile fields,
/// the form's `source`, and one signal (time: now; detail: the message).
fn submission_object(
    fields: &[(String, String)],
    form_id: &str,
    form: &Form,
    signal: Option<String>,
) -> Map<String, Value> {
    let mut object = Map::new();
    let mut message = None;
    for (key, value) in fields {
        let value = value.trim();
        match key.as_str() {
            MESSAGE_FIELD => message = Some(value.to_string()),
            k if CONTROL_FIELDS.contains(&k) && k != "submission_id" => {}
            _ if value.is_empty() => {}
            "employees" => {
                let parsed = value
                    .parse::<u64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::String(value.to_string()));
                object.insert(key.clone(), parsed);
            }
            _ => {
                object.insert(key.clone(), Value::String(value.to_string()));
            }
        }
    }
    let source = form
        .source
        .clone()
        .unwrap_or_else(|| format!("form:{form_id}"));
    object.insert("source".into(), Value::String(source));
    if let Some(kind) = signal {
        let mut s = Map::new();
        let message = message.filter(|m| !m.is_empty());
        s.insert(
            "question".into(),
            Value::Bool(message.as_deref().is_some_and(|m| m.contains('?'))),
        );
        s.insert("type".into(), Value::String(kind));
        if let Some(m) = message {
            s.insert("detail".into(), Value::String(m));
        }
        object.insert("signals".into(), Value::Array(vec![Value::Object(s)]));
    }
    object
}

/// The name a visitor's form knows a field by, for a problem that the shared
/// validation reported in the JSON submission's terms.
fn form_field_of(field: &str) -> String {
    if field.starts_with("signals[0].detail") {
        MESSAGE_FIELD.into()
    } else if field.starts_with("signals") {
        SIGNAL_FIELD.into()
    } else {
        field.to_string()
    }
}

/// A stable digest of what a public post says about whom: the lead, the form, the
/// profile fields and the signals' types and text (not their times, which are the
/// time of the post). Two posts with one digest are the same submission.
pub fn dedupe_digest(lead_id: &str, form: &str, submission: &Submission) -> String {
    let signals: Vec<Value> = submission
        .signals
        .iter()
        .map(|s| json!([s.kind, s.detail, s.question, s.seconds_on_page]))
        .collect();
    let document = json!({
        "lead_id": lead_id,
        "form": form,
        "profile": submission.profile,
        "signals": signals,
    });
    hex::encode(Sha256::digest(document.to_string().as_bytes()))
}

/// The idempotency keys under which a post with `digest`, received at `now`, is
/// remembered: the key of the current [`DEDUPE_WINDOW_SECONDS`] bucket (the one a new
/// post is stored under) and that of the bucket before it (only looked up), so that a
/// repeat just after a bucket boundary is still caught.
pub fn dedupe_keys(digest: &str, now: DateTime<Utc>) -> [String; 2] {
    let bucket = now.timestamp().div_euclid(DEDUPE_WINDOW_SECONDS);
    [
        format!("public:{digest}:{bucket}"),
        format!("public:{digest}:{}", bucket - 1),
    ]
}

/// The opaque receipt a public post is answered with, made from its dedupe key (see
/// [`dedupe_keys`]): a repeat is answered with the receipt of the post it repeats, and
/// without the deployment's key a receipt says nothing about the post.
pub fn receipt_for(ids: &LeadIds, key: &str) -> String {
    format!("rcpt_{}", ids.opaque_id("receipt", key.as_bytes()))
}

/// The part of `newer` a public post may add to a known lead's profile: the fields
/// still empty in `current`. A visitor can complete a profile but never change what
/// is there (a title, a company) nor set anything a form may not (`abm_target`).
pub fn fill_only(current: &LeadProfile, newer: &LeadProfile) -> LeadProfile {
    fn empty_then<T: Clone>(slot: &Option<T>, newer: &Option<T>) -> Option<T> {
        if slot.is_none() {
            newer.clone()
        } else {
            None
        }
    }
    LeadProfile {
        email: current.email.clone(),
        first_name: empty_then(&current.first_name, &newer.first_name),
        last_name: empty_then(&current.last_name, &newer.last_name),
        title: empty_then(&current.title, &newer.title),
        company: empty_then(&current.company, &newer.company),
        employees: empty_then(&current.employees, &newer.employees),
        industry: empty_then(&current.industry, &newer.industry),
        country: empty_then(&current.country, &newer.country),
        abm_target: false,
        source: empty_then(&current.source, &newer.source),
        campaign: empty_then(&current.campaign, &newer.campaign),
    }
}

/// The signals a signed `source` may not send, each named by its path
/// (`signals[2].type`). An unknown source is refused as a whole under `source`.
pub fn check_source_signals(
    contract: &Contract,
    source: &str,
    signals: &[Signal],
) -> Vec<FieldError> {
    let Some(spec) = contract.source(source) else {
        return vec![FieldError::new(
            "source",
            format!("unknown source \"{}\"", clip(source, 40)),
        )];
    };
    signals
        .iter()
        .enumerate()
        .filter(|(_, s)| !spec.signals.contains(&s.kind))
        .map(|(i, s)| {
            let why = if contract.is_sales_signal(&s.kind) && !spec.sales {
                "is a sales-side signal: it is accepted only from a signed sales source".to_string()
            } else {
                format!("is not a signal type source \"{source}\" may send")
            };
            FieldError::new(
                format!("signals[{i}].type"),
                format!("\"{}\" {why}", s.kind),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
