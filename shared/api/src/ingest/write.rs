//! The one write path of both ingest lanes: apply a submission to its lead through the
//! ingest command, with the store's optimistic retries, and remember the answer under
//! the request's idempotency key in the same transaction. The lanes differ in what they
//! may change and what they answer, not in how it is stored.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};

use leadwatch_adapters::store::{Change, Saved, StoreError, StoredResponse};
use leadwatch_core::commands::ingest::{
    ingest, IngestRefused, Ingested, ProfileUpdate, Submission,
};
use leadwatch_core::lead::{LeadProfile, Signal};

use super::IngestApp;
use crate::error::ApiError;

/// What one ingest request asks to write.
pub(super) struct SignalWrite<'a> {
    pub(super) lead_id: &'a str,
    /// The post's profile: a new lead is made from it; a known lead takes it as
    /// `profile_update` says.
    pub(super) profile: Option<&'a LeadProfile>,
    pub(super) signals: &'a [Signal],
    pub(super) may_create: bool,
    pub(super) profile_update: ProfileUpdate,
    /// The idempotency key to remember the answer under, and the request's hash.
    pub(super) key: Option<String>,
    pub(super) hash: String,
}

/// What the write did.
pub(super) enum Wrote {
    Stored(Ingested),
    /// A concurrent twin with the same idempotency key was stored first; nothing
    /// of this request was.
    Duplicate,
}

/// Apply `write` at `now`. `answer` gives the status and body remembered for the key:
/// what this request answers, so that a retry gets the same.
pub(super) async fn write(
    app: &IngestApp,
    write: SignalWrite<'_>,
    now: DateTime<Utc>,
    answer: impl Fn(&Ingested) -> (StatusCode, String),
) -> Result<Wrote, ApiError> {
    let SignalWrite {
        lead_id,
        profile,
        signals,
        may_create,
        profile_update,
        key,
        hash,
    } = write;
    let submission = Submission {
        lead_id,
        profile,
        signals,
        may_create,
        profile_update,
    };
    let result = app
        .store
        .update_lead(lead_id, |current| {
            let outcome = ingest(current, submission, &app.contract, now)?;
            let idempotency = key.as_ref().map(|k| {
                let (status, body) = answer(&outcome.response);
                let stored = StoredResponse {
                    request_hash: hash.clone(),
                    status: status.as_u16(),
                    body,
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
        Ok(Ok(saved @ Saved::Written { .. })) => app
            .store
            .settle(saved)
            .map(Wrote::Stored)
            .ok_or_else(|| ApiError::not_found("lead")),
        Ok(Ok(Saved::Unchanged) | Err(IngestRefused::UnknownLead)) => {
            Err(ApiError::not_found("lead"))
        }
        Err(StoreError::DuplicateRequest) => Ok(Wrote::Duplicate),
        Err(e) => Err(e.into()),
    }
}

/// The status of a signed source's answer: 201 when the post made the lead.
pub(super) fn summary_status(ingested: &Ingested) -> StatusCode {
    if ingested.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}
