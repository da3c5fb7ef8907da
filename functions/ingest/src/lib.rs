//! The ingest function: leads and buying signals in over HTTP, scored against the MQL
//! contract and stored.
//!
//! * `POST /leads`: a JSON body, or a plain HTML form (`application/x-www-form-urlencoded`)
//! * `POST /leads/{id}/signals`: more signals for a known lead
//! * `GET /leads/{id}`: state, assessment, packet and history (read-only; behind the
//!   JWT authorizer in the template because it returns personal data)

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use leadwatch_adapters::store::{Change, Saved, Store, StoreError, StoredResponse};
use leadwatch_api::http::{
    answer_duplicate, body_bytes, content_type, idempotency_key, json_response, match_path,
    method_not_allowed, replay_stored, request_hash, route_path, verify_signature, ApiError,
};
use leadwatch_core::lead::{
    honeypot_in, lead_id_for, parse_lead_form, parse_lead_json, parse_signal_batch, LeadProfile,
    Signal,
};
use leadwatch_core::state::LeadState;
use leadwatch_core::Contract;

/// Everything a request needs, built once per cold start.
pub struct IngestApp {
    pub store: Store,
    pub contract: Arc<Contract>,
    /// When set, every POST must carry a valid HMAC signature.
    pub webhook_secret: Option<Vec<u8>>,
}

pub async fn handle(app: &IngestApp, req: Request, now: DateTime<Utc>) -> Response<Body> {
    let path = route_path(&req);
    let result = if match_path("/leads", &path).is_some() {
        if req.method() != Method::POST {
            return method_not_allowed("POST");
        }
        post_lead(app, &req, now).await
    } else if let Some(id) = match_path("/leads/{id}/signals", &path).map(|p| p[0].to_string()) {
        if req.method() != Method::POST {
            return method_not_allowed("POST");
        }
        post_signals(app, &req, &id, now).await
    } else if let Some(id) = match_path("/leads/{id}", &path).map(|p| p[0].to_string()) {
        if req.method() != Method::GET {
            return method_not_allowed("GET");
        }
        get_lead(app, &id).await
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_route",
            format!("no route for {} {path}", req.method()),
        ))
    };
    result.unwrap_or_else(ApiError::into_response)
}

fn check_signature(
    app: &IngestApp,
    req: &Request,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    match &app.webhook_secret {
        Some(secret) => verify_signature(secret, req.headers(), body, now),
        None => Ok(()),
    }
}

async fn post_lead(
    app: &IngestApp,
    req: &Request,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let body = body_bytes(req)?;
    check_signature(app, req, body, now)?;
    let form = content_type(req.headers()) == "application/x-www-form-urlencoded";
    let parsed = match content_type(req.headers()).as_str() {
        "application/x-www-form-urlencoded" => parse_lead_form(body, &app.contract, now),
        "application/json" | "" => parse_lead_json(body, &app.contract, now),
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
        Err(_) => honeypot_in(body, form),
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
        req,
        &format!("leads:{lead_id}"),
        submission.submission_id.as_deref(),
    )?;
    let hash = request_hash("POST", "/leads", body);
    write_signals(
        app,
        &lead_id,
        Some(&submission.profile),
        &submission.signals,
        key,
        hash,
        now,
        true,
    )
    .await
}

async fn post_signals(
    app: &IngestApp,
    req: &Request,
    lead_id: &str,
    now: DateTime<Utc>,
) -> Result<Response<Body>, ApiError> {
    let body = body_bytes(req)?;
    check_signature(app, req, body, now)?;
    let batch = parse_signal_batch(body, &app.contract, now).map_err(ApiError::invalid)?;
    let key = idempotency_key(
        req,
        &format!("signals:{lead_id}"),
        batch.submission_id.as_deref(),
    )?;
    let hash = request_hash("POST", "/leads/{id}/signals", body);
    write_signals(app, lead_id, None, &batch.signals, key, hash, now, false).await
}

/// Apply a submission to the lead (creating it if `may_create`), with optimistic
/// retries inside the store, and remember the response under the idempotency key in
/// the same transaction.
#[allow(clippy::too_many_arguments)]
async fn write_signals(
    app: &IngestApp,
    lead_id: &str,
    profile: Option<&LeadProfile>,
    signals: &[Signal],
    key: Option<String>,
    hash: String,
    now: DateTime<Utc>,
    may_create: bool,
) -> Result<Response<Body>, ApiError> {
    if let Some(k) = &key {
        if let Some(response) = replay_stored(&app.store, k, &hash, None).await? {
            return Ok(response);
        }
    }
    let contract = &app.contract;
    let result = app
        .store
        .update_lead(lead_id, |current| {
            let created = current.is_none();
            let mut state = match (current, profile) {
                (Some(s), _) => s,
                (None, Some(p)) if may_create => LeadState::new(p.clone(), contract, now),
                _ => return Err(ApiError::not_found("lead")),
            };
            let events = state.ingest(if created { None } else { profile }, signals, contract, now);
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            // The response shows the version this write will create.
            let mut preview = state.clone();
            preview.version += 1;
            let body = preview.summary(created);
            let idempotency = key.as_ref().map(|k| {
                let stored = StoredResponse {
                    request_hash: hash.clone(),
                    status: status.as_u16(),
                    body: body.to_string(),
                };
                (k.clone(), stored, now)
            });
            Ok(Some(Change {
                state,
                events,
                idempotency,
                output: (status, body),
            }))
        })
        .await;
    match result {
        Ok(Ok(Saved::Written {
            state,
            output: (status, body),
            consumed,
        })) => {
            tracing::info!(
                lead_id = %state.lead_id,
                status = %state.status,
                version = state.version,
                write_units = consumed.write_units,
                "lead stored"
            );
            Ok(json_response(status, &body))
        }
        Ok(Ok(Saved::Unchanged)) => Err(ApiError::not_found("lead")),
        Ok(Err(api)) => Err(api),
        // A concurrent twin with the same key won the race: answer as it did.
        Err(StoreError::DuplicateRequest) => {
            answer_duplicate(&app.store, key.as_deref(), &hash, lead_id).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn get_lead(app: &IngestApp, lead_id: &str) -> Result<Response<Body>, ApiError> {
    let state = app
        .store
        .get_lead(lead_id)
        .await?
        .ok_or_else(|| ApiError::not_found("lead"))?;
    let history = app.store.history(lead_id).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "lead": state,
            "history": history,
        }),
    ))
}
