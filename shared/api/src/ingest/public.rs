//! The public lane: unsigned posts to `POST /leads` from browsers, a marketing site's
//! forms and scripts. Anyone on the internet can send one and can name anyone's email,
//! so the lane trusts nothing in it:
//!
//! * the post must name a configured form (`form`) and carry only that form's fields
//!   and signal types (the contract's `[intake.forms]`), else 422 naming the field;
//! * it may add signals to a known lead and fill the lead's empty profile fields, but
//!   never change a field that has a value;
//! * an identical post within minutes (a double click) adds nothing: it is remembered
//!   under a key derived from its content and a time bucket, and answered again;
//! * the answer says only that the post was received, with an opaque receipt: never
//!   the lead's id, status, score, team or gates. A browser gets a 303 to the form's
//!   thank-you page (or a small HTML page), a script `202 {"status": "received",
//!   "receipt": ...}`.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

use leadwatch_core::commands::ingest::ProfileUpdate;
use leadwatch_core::contract::Form;
use leadwatch_core::intake::{
    dedupe_digest, dedupe_keys, fields_of_json, honeypot_filled, parse_public, receipt_for,
    FORM_FIELD,
};
use leadwatch_core::lead::json_object;

use super::body::{decode, PostBody};
use super::page;
use super::write::{write, SignalWrite, Wrote};
use super::IngestApp;
use crate::error::ApiError;
use crate::request::LimitedBody;

/// `POST /leads` without a signature: always an answer the visitor's client can show.
pub(super) async fn post(
    app: &IngestApp,
    now: DateTime<Utc>,
    headers: &HeaderMap,
    body: Result<LimitedBody, ApiError>,
) -> Response {
    let html = page::wants_html(headers);
    match receive(app, now, headers, body).await {
        Ok(Received {
            form,
            receipt,
            replayed,
        }) => page::received(html, form, &receipt, replayed),
        Err(e) if html => page::error(&e),
        Err(e) => e.into_response(),
    }
}

/// An accepted post: stored, recognised as a repeat, or dropped as a bot's.
struct Received<'a> {
    form: Option<&'a Form>,
    receipt: String,
    replayed: bool,
}

async fn receive<'a>(
    app: &'a IngestApp,
    now: DateTime<Utc>,
    headers: &HeaderMap,
    body: Result<LimitedBody, ApiError>,
) -> Result<Received<'a>, ApiError> {
    let raw = body?.0;
    let fields = match decode(headers, raw.clone()).await? {
        PostBody::Form(pairs) => pairs,
        PostBody::Json(bytes) => fields_of_json(&json_object(&bytes).map_err(ApiError::invalid)?),
    };
    let named_form = fields
        .iter()
        .find(|(k, _)| k == FORM_FIELD)
        .and_then(|(_, id)| app.contract.form(id.trim()));
    if honeypot_filled(&fields) {
        // Bots get the answer people get, and nothing is stored.
        tracing::info!("honeypot field filled; submission dropped");
        let digest = hex::encode(Sha256::digest(&raw));
        return Ok(Received {
            form: named_form,
            receipt: receipt_for(&app.lead_ids, &digest),
            replayed: false,
        });
    }
    let public = parse_public(&fields, &app.contract, now).map_err(ApiError::invalid)?;
    let form = app.contract.form(&public.form);
    let submission = &public.submission;
    let lead_id = app.lead_ids.id_for(&submission.profile.email);
    let digest = dedupe_digest(&lead_id, &public.form, submission);
    let [key, previous] = dedupe_keys(&digest, now);
    for k in [&key, &previous] {
        if let Some(first) = app.store.stored_response(k, Some(&lead_id)).await? {
            tracing::info!(form = %public.form, "repeated public post; nothing stored");
            // The first post's receipt, as it was answered.
            let receipt = serde_json::from_str::<serde_json::Value>(&first.body)
                .ok()
                .and_then(|v| v["receipt"].as_str().map(str::to_string))
                .unwrap_or_else(|| receipt_for(&app.lead_ids, k));
            return Ok(Received {
                form,
                receipt,
                replayed: true,
            });
        }
    }
    // One receipt per stored submission: its key names the content and the time bucket.
    let receipt = receipt_for(&app.lead_ids, &key);
    let answer = json!({ "status": "received", "receipt": receipt }).to_string();
    let request = SignalWrite {
        lead_id: &lead_id,
        profile: Some(&submission.profile),
        signals: &submission.signals,
        may_create: true,
        profile_update: ProfileUpdate::FillEmpty,
        key: Some(key),
        hash: digest.clone(),
    };
    let wrote = write(app, request, now, |_| {
        (StatusCode::ACCEPTED, answer.clone())
    })
    .await?;
    Ok(Received {
        form,
        receipt,
        replayed: matches!(wrote, Wrote::Duplicate),
    })
}
