//! The ingest route set: leads and buying signals in over HTTP, scored against the MQL
//! contract and stored.
//!
//! * `POST /leads`: a JSON body, or a plain HTML form (`application/x-www-form-urlencoded`)
//! * `POST /leads/{id}/signals`: more signals for a known lead
//! * `GET /leads/{id}`: state, assessment, packet and history (read-only; behind the
//!   JWT authorizer in the template because it returns personal data)

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::json;

use leadwatch_adapters::store::{Change, Saved, Store, StoreError, StoredResponse};
use leadwatch_core::commands::ingest::{ingest, IngestRefused, Ingested, Submission};
use leadwatch_core::lead::{
    honeypot_in, lead_id_for, parse_lead_form, parse_lead_json, parse_signal_batch, LeadProfile,
    Signal,
};
use leadwatch_core::Contract;

use crate::caller::{forbidden, SignedIn};
use crate::error::{json_response, method_not_allowed, ApiError};
use crate::idempotency::{answer_duplicate, idempotency_key, replay_stored, request_hash};
use crate::request::{content_type, LeadId, LimitedBody, Now};
use crate::signature::verify_signature;

/// Everything an ingest request needs, built once per cold start.
#[derive(Clone)]
pub struct IngestApp {
    pub store: Store,
    pub contract: Arc<Contract>,
    /// When set, every POST must carry a valid HMAC signature.
    pub webhook_secret: Option<Vec<u8>>,
}

/// The ingest routes, without a fallback, to be merged with other route sets.
pub fn routes(app: IngestApp) -> Router {
    Router::new()
        .route(
            "/leads",
            post(post_lead).fallback(|| async { method_not_allowed("POST") }),
        )
        .route(
            "/leads/{id}/signals",
            post(post_signals).fallback(|| async { method_not_allowed("POST") }),
        )
        .route(
            "/leads/{id}",
            get(get_lead).fallback(|| async { method_not_allowed("GET") }),
        )
        .with_state(Arc::new(app))
}

/// One request through the ingest function's router (see [`crate::entry::call`]).
pub async fn handle(
    app: &IngestApp,
    req: lambda_http::Request,
    now: DateTime<Utc>,
) -> lambda_http::Response<lambda_http::Body> {
    crate::entry::call(&crate::function_router(routes(app.clone())), req, now).await
}

fn check_signature(
    app: &IngestApp,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    match &app.webhook_secret {
        Some(secret) => verify_signature(secret, headers, body, now),
        None => Ok(()),
    }
}

async fn post_lead(
    State(app): State<Arc<IngestApp>>,
    Now(now): Now,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Result<Response, ApiError> {
    check_signature(&app, &headers, &body, now)?;
    let media_type = content_type(&headers);
    let form = media_type == "application/x-www-form-urlencoded";
    let parsed = match media_type.as_str() {
        "application/x-www-form-urlencoded" => parse_lead_form(&body, &app.contract, now),
        "application/json" | "" => parse_lead_json(&body, &app.contract, now),
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("Content-Type {other} is not accepted; send application/json or application/x-www-form-urlencoded"),
            ))
        }
    };
    let honeypot = match &parsed {
        Ok(s) => s.honeypot_filled,
        Err(_) => honeypot_in(&body, form),
    };
    if honeypot {
        // Bots get the same polite answer as people, and nothing is stored.
        tracing::info!("honeypot field filled; submission dropped");
        return Ok(json_response(
            StatusCode::ACCEPTED,
            &json!({ "status": "accepted" }),
        ));
    }
    let submission = parsed.map_err(ApiError::invalid)?;
    let lead_id = lead_id_for(&submission.profile.email);
    // Keys are per lead: a form tool that reuses a submission id for another person
    // still gets that person stored, and a new lead can keep the record of the request
    // that created it in its own item (see the store's module docs).
    let key = idempotency_key(
        &headers,
        &format!("leads:{lead_id}"),
        submission.submission_id.as_deref(),
    )?;
    let hash = request_hash("POST", "/leads", &body);
    let write = SignalWrite {
        lead_id: &lead_id,
        profile: Some(&submission.profile),
        signals: &submission.signals,
        key,
        hash,
        may_create: true,
    };
    write_signals(&app, write, now).await
}

async fn post_signals(
    State(app): State<Arc<IngestApp>>,
    Now(now): Now,
    lead: LeadId,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Result<Response, ApiError> {
    check_signature(&app, &headers, &body, now)?;
    let batch = parse_signal_batch(&body, &app.contract, now).map_err(ApiError::invalid)?;
    if !lead.is_plausible() {
        return Err(ApiError::not_found("lead"));
    }
    let key = idempotency_key(
        &headers,
        &format!("signals:{}", lead.0),
        batch.submission_id.as_deref(),
    )?;
    let hash = request_hash("POST", "/leads/{id}/signals", &body);
    let write = SignalWrite {
        lead_id: &lead.0,
        profile: None,
        signals: &batch.signals,
        key,
        hash,
        may_create: false,
    };
    write_signals(&app, write, now).await
}

/// What one ingest request asks to write.
struct SignalWrite<'a> {
    lead_id: &'a str,
    /// The form's profile; only a new lead takes it.
    profile: Option<&'a LeadProfile>,
    signals: &'a [Signal],
    key: Option<String>,
    hash: String,
    may_create: bool,
}

/// Apply a submission to the lead (creating it if `may_create`), with optimistic
/// retries inside the store, and remember the response under the idempotency key in
/// the same transaction.
async fn write_signals(
    app: &IngestApp,
    write: SignalWrite<'_>,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    let SignalWrite {
        lead_id,
        profile,
        signals,
        key,
        hash,
        may_create,
    } = write;
    if let Some(k) = &key {
        if let Some(response) = replay_stored(&app.store, k, &hash, None).await? {
            return Ok(response);
        }
    }
    let submission = Submission {
        profile,
        signals,
        may_create,
    };
    let result = app
        .store
        .update_lead(lead_id, |current| {
            let outcome = ingest(current, submission, &app.contract, now)?;
            let status = if outcome.response.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let idempotency = key.as_ref().map(|k| {
                let stored = StoredResponse {
                    request_hash: hash.clone(),
                    status: status.as_u16(),
                    body: outcome.response.summary.to_string(),
                };
                (k.clone(), stored, now)
            });
            Ok::<_, IngestRefused>(Some(Change {
                outcome,
                idempotency,
            }))
        })
        .await;
    match result {
        Ok(Ok(saved @ Saved::Written { .. })) => {
            let Some(Ingested { created, summary }) = app.store.settle(saved) else {
                return Err(ApiError::not_found("lead"));
            };
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(json_response(status, &summary))
        }
        Ok(Ok(Saved::Unchanged) | Err(IngestRefused::UnknownLead)) => {
            Err(ApiError::not_found("lead"))
        }
        // A concurrent twin with the same key won the race: answer as it did.
        Err(StoreError::DuplicateRequest) => {
            answer_duplicate(&app.store, key.as_deref(), &hash, lead_id).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn get_lead(
    State(app): State<Arc<IngestApp>>,
    SignedIn(caller): SignedIn,
    lead: LeadId,
) -> Result<Response, ApiError> {
    if !lead.is_plausible() {
        return Err(ApiError::not_found("lead"));
    }
    let state = app
        .store
        .get_lead(&lead.0)
        .await?
        .ok_or_else(|| ApiError::not_found("lead"))?;
    caller
        .may_read_lead(state.team.as_deref())
        .map_err(forbidden)?;
    let history = app.store.history(&lead.0).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "lead": state,
            "history": history,
        }),
    ))
}
