//! The signed lane: integrations (a CRM, a marketing automation tool) that hold a
//! secret of their own. A request names its source and signs the timestamp and the raw
//! body:
//!
//! ```text
//! X-Leadwatch-Source: crm
//! X-Leadwatch-Timestamp: 1795532400
//! X-Leadwatch-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">
//! ```
//!
//! * The signature must match one of the source's active secrets (two while it rotates).
//! * The source may send only its own signal types (`[intake.sources]`); sales-side
//!   signals come only from a source marked `sales = true`.
//! * A signature is applied once: the first request that writes claims it in the table
//!   until its window has passed. A replay is answered with the first answer if it
//!   carries an idempotency key (`Idempotency-Key` or `submission_id`) that has one,
//!   else refused with 409 `replayed`; either way it writes nothing.
//! * The answer is the lead's full summary (status, scores, team, gates), as a trusted
//!   system needs it.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

use leadwatch_core::commands::ingest::ProfileUpdate;
use leadwatch_core::intake::{check_source_signals, receipt_for};
use leadwatch_core::lead::{parse_lead_form, parse_lead_json, parse_signal_batch};
use leadwatch_core::text::clip;

use super::body::{decode, PostBody};
use super::write::{summary_status, write, SignalWrite, Wrote};
use super::IngestApp;
use crate::error::{json_response, ApiError};
use crate::idempotency::{answer_duplicate, idempotency_key, replay_stored, request_hash};
use crate::request::{header_str, LeadId};
use crate::signature::{
    sign, verify_signature, SIGNATURE_HEADER, SIGNATURE_TOLERANCE_SECONDS, TIMESTAMP_HEADER,
};

/// The header naming the signed source a request comes from.
pub const SOURCE_HEADER: &str = "x-leadwatch-source";

/// Does the request claim the signed lane (a source, a signature or its timestamp)?
/// Such a request is verified, never quietly treated as a public post.
pub(super) fn is_signed(headers: &HeaderMap) -> bool {
    [SOURCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER]
        .iter()
        .any(|h| headers.contains_key(*h))
}

/// The headers a source sends with `body` at `timestamp`: what a sender computes.
pub fn signed_headers(
    source: &str,
    secret: &[u8],
    timestamp: i64,
    body: &[u8],
) -> [(&'static str, String); 3] {
    [
        (SOURCE_HEADER, source.to_string()),
        (TIMESTAMP_HEADER, timestamp.to_string()),
        (
            SIGNATURE_HEADER,
            format!("sha256={}", hex::encode(sign(secret, timestamp, body))),
        ),
    ]
}

fn unauthorized(message: String) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", message)
}

/// The source of a correctly signed request, or 401 saying what is wrong.
fn verify(
    app: &IngestApp,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let sources = || {
        app.contract
            .spec
            .intake
            .sources
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    let name = header_str(headers, SOURCE_HEADER)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            unauthorized(format!(
                "a signed request names its source in X-Leadwatch-Source (one of: {})",
                sources()
            ))
        })?;
    if app.contract.source(name).is_none() {
        return Err(unauthorized(format!(
            "unknown source \"{}\" (one of: {})",
            clip(name, 40),
            sources()
        )));
    }
    let secrets = app.sources.values(name);
    if secrets.is_empty() {
        return Err(unauthorized(format!(
            "source \"{name}\" has no secret configured on this deployment"
        )));
    }
    let mut refused = None;
    for secret in secrets {
        match verify_signature(secret, headers, body, now) {
            Ok(()) => return Ok(name.to_string()),
            Err(e) => refused = Some(e),
        }
    }
    Err(refused.unwrap_or_else(|| unauthorized("signature does not match".into())))
}

/// A signature this request claimed (see the store's `claim_signature`).
struct Claim {
    digest: String,
}

/// Claim the request's signature for `lead_id`, or 409 `replayed` if a request with it
/// came before. The signature covers the timestamp and the body, not the path, so a
/// source may well send one body to two leads in the same second: the claim is per lead.
async fn claim(
    app: &IngestApp,
    headers: &HeaderMap,
    source: &str,
    lead_id: &str,
) -> Result<Claim, ApiError> {
    let timestamp: i64 = header_str(headers, TIMESTAMP_HEADER)
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or_default();
    let signature = header_str(headers, SIGNATURE_HEADER)
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let digest = hex::encode(Sha256::digest(
        format!("{source}\n{timestamp}\n{signature}\n{lead_id}").as_bytes(),
    ));
    // Past the window the timestamp alone refuses the request; a minute's margin
    // covers the clocks of concurrent functions.
    let expires_at = timestamp.saturating_add(SIGNATURE_TOLERANCE_SECONDS + 60);
    if app.store.claim_signature(&digest, expires_at).await? {
        Ok(Claim { digest })
    } else {
        tracing::warn!(source, "replayed signed request refused");
        Err(ApiError::new(
            StatusCode::CONFLICT,
            "replayed",
            "this signed request was received already; nothing was written. To send it again, sign it again with a new timestamp",
        ))
    }
}

/// `POST /leads` from a signed source.
pub(super) async fn post_lead(
    app: &IngestApp,
    now: DateTime<Utc>,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let source = verify(app, headers, &body, now)?;
    let parsed = match decode(headers, body.clone()).await? {
        PostBody::Json(bytes) => parse_lead_json(&bytes, &app.contract, now),
        PostBody::Form(pairs) => {
            let encoded = serde_urlencoded::to_string(&pairs).map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, "malformed_body", e.to_string())
            })?;
            parse_lead_form(encoded.as_bytes(), &app.contract, now)
        }
    };
    let submission = parsed.map_err(ApiError::invalid)?;
    if submission.honeypot_filled {
        tracing::info!(source, "honeypot field filled in a signed post; dropped");
        // The public lane's answer to a bot: one shape for every 202.
        let digest = hex::encode(Sha256::digest(&body));
        let receipt = receipt_for(&app.lead_ids, &digest);
        return Ok(json_response(
            StatusCode::ACCEPTED,
            &json!({ "status": "received", "receipt": receipt }),
        ));
    }
    let refused = check_source_signals(&app.contract, &source, &submission.signals);
    if !refused.is_empty() {
        return Err(ApiError::invalid(refused));
    }
    let lead_id = app.lead_ids.id_for(&submission.profile.email);
    // Keys are per lead: a tool that reuses a submission id for another person
    // still gets that person stored, and a new lead can keep the record of the
    // request that created it in its own item (see the store's module docs).
    let key = idempotency_key(
        headers,
        &format!("leads:{lead_id}"),
        submission.submission_id.as_deref(),
    )?;
    let request = SignalWrite {
        lead_id: &lead_id,
        profile: Some(&submission.profile),
        signals: &submission.signals,
        may_create: true,
        profile_update: ProfileUpdate::Replace,
        key,
        hash: request_hash("POST", "/leads", &body),
    };
    answer(app, headers, &source, request, now).await
}

/// `POST /leads/{id}/signals` from a signed source.
pub(super) async fn post_signals(
    app: &IngestApp,
    now: DateTime<Utc>,
    lead: LeadId,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let source = verify(app, headers, &body, now)?;
    let bytes = match decode(headers, body.clone()).await? {
        PostBody::Json(bytes) => bytes,
        PostBody::Form(_) => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "signals are sent as application/json",
            ))
        }
    };
    let batch = parse_signal_batch(&bytes, &app.contract, now).map_err(ApiError::invalid)?;
    let refused = check_source_signals(&app.contract, &source, &batch.signals);
    if !refused.is_empty() {
        return Err(ApiError::invalid(refused));
    }
    if !lead.is_plausible() {
        return Err(ApiError::not_found("lead"));
    }
    let key = idempotency_key(
        headers,
        &format!("signals:{}", lead.0),
        batch.submission_id.as_deref(),
    )?;
    let request = SignalWrite {
        lead_id: &lead.0,
        profile: None,
        signals: &batch.signals,
        may_create: false,
        profile_update: ProfileUpdate::Replace,
        key,
        hash: request_hash("POST", "/leads/{id}/signals", &body),
    };
    answer(app, headers, &source, request, now).await
}

/// Write and answer with the lead's summary. A retry with the same idempotency key
/// gets the first answer, whatever its signature; otherwise the signature is claimed
/// first (a replay: 409, nothing written) and given back if nothing was written, so
/// that a sender's retry of a failed request is not taken for a replay.
async fn answer(
    app: &IngestApp,
    headers: &HeaderMap,
    source: &str,
    request: SignalWrite<'_>,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    if let Some(k) = &request.key {
        if let Some(response) = replay_stored(&app.store, k, &request.hash, None).await? {
            return Ok(response);
        }
    }
    let claimed = match claim(app, headers, source, request.lead_id).await {
        Ok(claimed) => claimed,
        // A twin of this request (same signature) is being written: with a key, its
        // answer is this request's answer, once it is stored.
        Err(replayed) => {
            return match &request.key {
                Some(k) => first_answer(app, k, &request.hash, request.lead_id).await,
                None => Err(replayed),
            }
        }
    };
    let key = request.key.clone();
    let hash = request.hash.clone();
    let lead_id = request.lead_id.to_string();
    let wrote = write(app, request, now, |i| {
        (summary_status(i), i.summary.to_string())
    })
    .await;
    if !matches!(wrote, Ok(Wrote::Stored(_))) {
        if let Err(e) = app.store.release_signature(&claimed.digest).await {
            tracing::error!(error = %e, "could not release the signature of a request that wrote nothing");
        }
    }
    match wrote? {
        Wrote::Stored(ingested) => Ok(json_response(summary_status(&ingested), &ingested.summary)),
        // A concurrent twin with the same key won the race: answer as it did.
        Wrote::Duplicate => answer_duplicate(&app.store, key.as_deref(), &hash, &lead_id).await,
    }
}

/// How long a request waits for the answer of a twin that claimed its signature first.
const TWIN_WAIT: std::time::Duration = std::time::Duration::from_millis(100);
const TWIN_WAITS: u32 = 30;

/// The stored answer under `key`, waiting a little for a twin still writing it; 409
/// `duplicate_request` if it does not come.
async fn first_answer(
    app: &IngestApp,
    key: &str,
    hash: &str,
    lead_id: &str,
) -> Result<Response, ApiError> {
    for _ in 0..TWIN_WAITS {
        if let Some(response) = replay_stored(&app.store, key, hash, Some(lead_id)).await? {
            return Ok(response);
        }
        tokio::time::sleep(TWIN_WAIT).await;
    }
    answer_duplicate(&app.store, Some(key), hash, lead_id).await
}
