//! The ingest route set: leads and buying signals in over HTTP, scored against the MQL
//! contract and stored. Two lanes share it (see the README, "Ingest lanes"):
//!
//! * [`public`]: unsigned posts from browsers and a marketing site's scripts, held to
//!   the forms the contract declares and answered with a receipt only;
//! * [`signed`]: integrations that sign each request with their own secret, held to
//!   their own signal types and answered with the lead's full summary.
//!
//! Routes:
//!
//! * `POST /leads`: a lead, as JSON, a URL-encoded form or multipart form data
//! * `OPTIONS /leads`: the CORS preflight of a page's `fetch()` (see [`cors`])
//! * `POST /leads/{id}/signals`: more signals for a known lead (signed sources only)
//! * `GET /leads/{id}`: state, assessment, packet and history (read-only; behind the
//!   JWT authorizer in the template because it returns personal data)

mod body;
mod cors;
mod page;
mod public;
mod signed;
mod write;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::json;

use leadwatch_adapters::secrets::SourceSecrets;
use leadwatch_adapters::store::Store;
use leadwatch_core::{Contract, LeadIds};

use crate::caller::{forbidden, SignedIn};
use crate::error::{json_response, method_not_allowed, ApiError};
use crate::request::{LeadId, LimitedBody, Now};

pub use body::{decode, PostBody};
pub use signed::{signed_headers, SOURCE_HEADER};

/// Everything an ingest request needs, built once per cold start.
#[derive(Clone)]
pub struct IngestApp {
    pub store: Store,
    pub contract: Arc<Contract>,
    /// The active secrets of the signed sources (`[intake.sources]`); a source without
    /// any is refused.
    pub sources: SourceSecrets,
    /// The key lead ids are made with (see [`leadwatch_core::lead_ids`]).
    pub lead_ids: LeadIds,
}

impl IngestApp {
    /// An app with no source secrets (only public forms are accepted) and the
    /// development key of lead ids: for local runs and tests.
    pub fn new(store: Store, contract: Arc<Contract>) -> Self {
        IngestApp {
            store,
            contract,
            sources: SourceSecrets::new(),
            lead_ids: LeadIds::development(),
        }
    }
}

/// The ingest routes, without a fallback, to be merged with other route sets.
pub fn routes(app: IngestApp) -> Router {
    let cors = cors::layer(&app.contract);
    Router::new()
        .route(
            "/leads",
            post(post_lead)
                .fallback(|| async { method_not_allowed("POST, OPTIONS") })
                .layer(cors)
                .layer(axum::middleware::map_response(
                    cors::only_for_allowed_origins,
                )),
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

async fn post_lead(
    State(app): State<Arc<IngestApp>>,
    Now(now): Now,
    headers: HeaderMap,
    body: Result<LimitedBody, ApiError>,
) -> Response {
    if !signed::is_signed(&headers) {
        // A visitor's browser may ask for HTML: even a 413 is answered as a page.
        return public::post(&app, now, &headers, body).await;
    }
    let result = match body {
        Ok(LimitedBody(bytes)) => signed::post_lead(&app, now, &headers, bytes).await,
        Err(e) => Err(e),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn post_signals(
    State(app): State<Arc<IngestApp>>,
    Now(now): Now,
    lead: LeadId,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Result<Response, ApiError> {
    if !signed::is_signed(&headers) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "signature_required",
            "signals for a known lead are accepted from signed sources only (X-Leadwatch-Source, X-Leadwatch-Timestamp, X-Leadwatch-Signature); a web form posts to /leads",
        ));
    }
    signed::post_signals(&app, now, lead, &headers, body).await
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
