//! The three request bodies a lead arrives in: a JSON submission, a plain HTML form
//! post (turned into the same JSON), and a batch of signals for a known lead. This is
//! where unknown keys are refused and the honeypot is checked; bodies are read strictly
//! by the sibling `json` and `form` modules, and the fields inside them are validated
//! in `fields`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::fields::{optional_identifier, profile_from, signals_from};
use super::form::form_pairs;
use super::json::json_object;
use super::{caps, FieldError, SignalBatch, Submission, HONEYPOT_FIELD};
use crate::contract::Contract;
use crate::text::clip;

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
/// Read leniently on purpose: a broken escape or a repeated key elsewhere in the body
/// must not hide a filled honeypot.
pub fn honeypot_in(body: &[u8], form: bool) -> bool {
    if form {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).is_ok_and(|pairs| {
            pairs
                .iter()
                .any(|(k, v)| k == HONEYPOT_FIELD && !v.is_empty())
        })
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(object)) => json_honeypot_filled(&object),
            _ => false,
        }
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
            errors.push(FieldError::new(shown_key(key), "unknown field"));
        }
    }
    let profile = profile_from(&object, &mut errors);
    let submission_id =
        optional_identifier(&object, "submission_id", caps::SUBMISSION_ID, &mut errors);
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
    let pairs = form_pairs(body)?;
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
            errors.push(FieldError::new(shown_key(key), "unknown field"));
        }
    }
    let submission_id =
        optional_identifier(&object, "submission_id", caps::SUBMISSION_ID, &mut errors);
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

/// An unknown key as an error names it: clipped and without control or invisible
/// characters, since it is the sender's text echoed back (and logged).
pub(super) fn shown_key(key: &str) -> String {
    clip(key, 100)
}
