//! The disposition route set: sales answers the MQLs handed to it, and reads its queue.
//!
//! * `POST /leads/{id}/accept`  `{"by"}`: MQL to SAL
//! * `POST /leads/{id}/reject`  `{"by", "reason", "note"?}`: MQL or SAL to rejected, with
//!   a reason from the contract's picklist
//! * `POST /leads/{id}/qualify` `{"by"}`: SAL to SQL
//! * `POST /leads/{id}/touch`   `{"by"}`: a contact was logged (time-to-first-touch)
//! * `GET /queue?team=T`: the team's open MQLs, oldest first, with business minutes left
//!
//! Every change is a read-modify-write through [`Store::update_lead`], conditional on
//! the version read, with the audit events of the transition in the same transaction. An
//! optional `Idempotency-Key` header replays the first answer to a retried request.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use leadwatch_adapters::store::{Change, Store, StoreError, StoredResponse};
use leadwatch_core::calendar::BusinessCalendar;
use leadwatch_core::commands::disposition::{dispose as dispose_command, Refused};
use leadwatch_core::lead::{json_object, text_value, FieldError};
use leadwatch_core::lifecycle::Status;
use leadwatch_core::state::{DispositionError, LeadState};

pub use leadwatch_core::commands::disposition::{answer as lead_summary, Action, Disposition};
use leadwatch_core::text::clip;
use leadwatch_core::Contract;

use leadwatch_core::access::Caller;

use crate::caller::{forbidden, SignedIn};
use crate::error::{json_response, method_not_allowed, ApiError};
use crate::idempotency::{answer_duplicate, idempotency_key, replay_stored, request_hash};
use crate::request::{query_pairs, LeadId, LimitedBody, Now};

/// Everything a disposition request needs, built once per cold start.
#[derive(Clone)]
pub struct DispositionApp {
    pub store: Store,
    pub contract: Arc<Contract>,
}

/// The disposition routes, without a fallback, to be merged with other route sets.
pub fn routes(app: DispositionApp) -> Router {
    let mut router = Router::new();
    for action in Action::ALL {
        router = router.route(
            &format!("/leads/{{id}}/{}", action.as_str()),
            post(disposition_route).fallback(|| async { method_not_allowed("POST") }),
        );
    }
    router
        .route(
            "/queue",
            get(queue).fallback(|| async { method_not_allowed("GET") }),
        )
        .with_state(Arc::new(app))
}

/// One request through the disposition function's router (see [`crate::entry::call`]).
pub async fn handle(
    app: &DispositionApp,
    req: lambda_http::Request,
    now: DateTime<Utc>,
) -> lambda_http::Response<lambda_http::Body> {
    crate::entry::call(&crate::function_router(routes(app.clone())), req, now).await
}

/// Longest `by` (a person or system name, usually an email), in characters.
pub const BY_MAX_CHARS: usize = 200;
/// Longest rejection note, in characters.
pub const NOTE_MAX_CHARS: usize = 500;

/// Parse and validate a disposition body. Every bad field is reported, not just the
/// first; an unknown rejection reason comes back with the allowed ones.
///
/// The actor is the signed-in `caller`. A body may still say `by` (older clients did),
/// but only to name that same caller: the audit trail is never the body's say-so.
pub fn parse_disposition(
    action: Action,
    body: &[u8],
    contract: &Contract,
    caller: &Caller,
) -> Result<Disposition, ApiError> {
    // Accept, qualify and touch need nothing but the caller: an empty body will do.
    let object = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        json_object(body).map_err(ApiError::invalid)?
    };
    let mut errors = Vec::new();
    for key in object.keys() {
        if !action.fields().contains(&key.as_str()) {
            errors.push(FieldError::new(
                clip(key, 100),
                format!(
                    "unknown field; {} takes {}",
                    action.as_str(),
                    action.fields().join(", ")
                ),
            ));
        }
    }
    let said_by = text_field(&object, "by", BY_MAX_CHARS, false, &mut errors);
    if let Some(said) = said_by {
        let is_caller = said.eq_ignore_ascii_case(caller.actor()) || said == caller.subject;
        if !is_caller {
            errors.push(FieldError::new(
                "by",
                "must be the signed-in caller (it is taken from your token; leave it out)",
            ));
        }
    }
    let mut allowed = None;
    let (reason, note) = if action == Action::Reject {
        let reason =
            text_field(&object, "reason", 100, false, &mut errors).map(|r| r.to_ascii_lowercase());
        match &reason {
            None if !errors.iter().any(|e| e.field == "reason") => {
                errors.push(FieldError::new("reason", "is required"));
                allowed = Some(contract.spec.rejection.reasons.clone());
            }
            Some(r) if !contract.is_rejection_reason(r) => {
                errors.push(FieldError::new(
                    "reason",
                    format!(
                        "\"{}\" is not a rejection reason; allowed: {}",
                        clip(r, 100),
                        contract.spec.rejection.reasons.join(", ")
                    ),
                ));
                allowed = Some(contract.spec.rejection.reasons.clone());
            }
            _ => {}
        }
        let note = text_field(&object, "note", NOTE_MAX_CHARS, true, &mut errors);
        (reason, note)
    } else {
        (None, None)
    };
    if !errors.is_empty() {
        let mut error = ApiError::invalid(errors);
        error.extra = allowed.map(|a| json!({ "allowed": a }));
        return Err(error);
    }
    Ok(Disposition {
        by: caller.actor().to_string(),
        reason,
        note,
    })
}

fn text_field(
    object: &Map<String, Value>,
    field: &str,
    max_chars: usize,
    multiline: bool,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    text_value(object.get(field), field, max_chars, multiline, errors)
}

/// The action a disposition route names: the last segment of its route pattern
/// (`/leads/{id}/accept`), so the four routes share one handler.
struct RouteAction(Action);

impl<S: Send + Sync> FromRequestParts<S> for RouteAction {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<MatchedPath>()
            .and_then(|p| p.as_str().rsplit('/').next())
            .and_then(Action::parse)
            .map(RouteAction)
            .ok_or_else(|| ApiError::no_route("POST", "this path"))
    }
}

/// `POST /leads/{id}/{accept|reject|qualify|touch}`.
async fn disposition_route(
    State(app): State<Arc<DispositionApp>>,
    RouteAction(action): RouteAction,
    Now(now): Now,
    SignedIn(caller): SignedIn,
    lead: LeadId,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Result<Response, ApiError> {
    let request = Request {
        action,
        lead: &lead,
        headers: &headers,
        body: &body,
    };
    dispose(&app, &caller, request, now).await
}

/// One disposition request, as the route received it.
struct Request<'a> {
    action: Action,
    lead: &'a LeadId,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

async fn dispose(
    app: &DispositionApp,
    caller: &Caller,
    request: Request<'_>,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    let Request {
        action,
        lead,
        headers,
        body,
    } = request;
    let disposition = parse_disposition(action, body, &app.contract, caller)?;
    if !lead.is_plausible() {
        return Err(ApiError::not_found("lead"));
    }
    let lead_id = lead.0.as_str();
    let key = idempotency_key(headers, "disposition", None)?;
    let hash = request_hash(
        "POST",
        &format!("/leads/{lead_id}/{}", action.as_str()),
        body,
    );
    if let Some(k) = &key {
        if let Some(response) = replay_stored(&app.store, k, &hash, None).await? {
            return Ok(response);
        }
    }
    // The status of the first read: the state this request's decision is applied to.
    let mut seen: Option<Status> = None;
    let result = app
        .store
        .update_lead(lead_id, |current| {
            let first = *seen.get_or_insert(current.as_ref().map_or(Status::Lead, |s| s.status));
            let outcome = dispose_command(
                current,
                action,
                &disposition,
                caller,
                first,
                &app.contract,
                now,
            )?;
            let idempotency = key.as_ref().map(|k| {
                let stored = StoredResponse {
                    request_hash: hash.clone(),
                    status: StatusCode::OK.as_u16(),
                    body: outcome.response.to_string(),
                };
                (k.clone(), stored, now)
            });
            Ok::<_, Refused>(Some(Change {
                outcome,
                idempotency,
            }))
        })
        .await;
    match result {
        Ok(Ok(saved)) => match app.store.settle(saved) {
            Some(answer) => Ok(json_response(StatusCode::OK, &answer)),
            None => Err(ApiError::not_found("lead")),
        },
        Ok(Err(refused)) => Err(refusal(action, lead_id, refused)),
        // A concurrent twin with the same key won the race: answer as it did.
        Err(StoreError::DuplicateRequest) => {
            answer_duplicate(&app.store, key.as_deref(), &hash, lead_id).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A refused disposition as the client sees it: 404, 409 with the lead's current
/// state, or 422 naming the field.
fn refusal(action: Action, lead_id: &str, refused: Refused) -> ApiError {
    match refused {
        Refused::UnknownLead => ApiError::not_found("lead"),
        Refused::StateChanged { current } => state_changed(action, lead_id, current),
        Refused::Disposition(e) => disposition_error(action, lead_id, e),
        Refused::Denied(denied) => forbidden(denied),
    }
}

fn state_changed(action: Action, lead_id: &str, current: Status) -> ApiError {
    let mut error = ApiError::new(
        StatusCode::CONFLICT,
        "state_changed",
        format!(
            "cannot {} a lead that is {current}: it became {current} while this request was on its way; \
             look at the lead again and resend if you still mean it",
            action.as_str()
        ),
    );
    error.extra = Some(json!({
        "lead_id": lead_id,
        "current_state": current,
    }));
    error
}

fn disposition_error(action: Action, lead_id: &str, e: DispositionError) -> ApiError {
    match e {
        DispositionError::Illegal(illegal) => {
            // `touch` reuses the accept transition in its error; name what was asked.
            let message = match action {
                Action::Touch => {
                    format!("cannot log a touch on a lead that is {}", illegal.current)
                }
                _ => illegal.to_string(),
            };
            let mut error = ApiError::new(StatusCode::CONFLICT, "illegal_transition", message);
            error.extra = Some(json!({
                "lead_id": lead_id,
                "current_state": illegal.current,
            }));
            error
        }
        DispositionError::UnknownReason { given, allowed } => {
            let mut error = ApiError::invalid(vec![FieldError::new(
                "reason",
                format!(
                    "\"{}\" is not a rejection reason; allowed: {}",
                    clip(&given, 100),
                    allowed.join(", ")
                ),
            )]);
            error.extra = Some(json!({ "allowed": allowed }));
            error
        }
    }
}

async fn queue(
    State(app): State<Arc<DispositionApp>>,
    Now(now): Now,
    SignedIn(caller): SignedIn,
    uri: Uri,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(&uri)?;
    let team = pairs
        .iter()
        .find(|(k, _)| k == "team")
        .map(|(_, v)| v.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::invalid(vec![FieldError::new("team", "is required")]))?;
    if !app.contract.spec.teams.contains_key(team) {
        let mut error = ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("team \"{}\" is not in the contract", clip(team, 100)),
        );
        error.extra = Some(json!({ "teams": app.contract.spec.teams.keys().collect::<Vec<_>>() }));
        return Err(error);
    }
    caller.may_read_queue(team).map_err(forbidden)?;
    let calendar = app.contract.team_calendar(team);
    let mut leads = app.store.team_queue(team).await?;
    // The index can lag a write by a moment in AWS, and its string sort key orders
    // timestamps of one second with and without a fraction wrongly: check and sort here.
    leads.retain(|s| s.status == Status::Mql && s.team.as_deref() == Some(team));
    leads.sort_by(|a, b| a.mql_at.cmp(&b.mql_at).then(a.lead_id.cmp(&b.lead_id)));
    let items: Vec<Value> = leads.iter().map(|s| queue_item(s, calendar, now)).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "team": team,
            "as_of": now,
            "count": items.len(),
            "leads": items,
        }),
    ))
}

fn queue_item(state: &LeadState, calendar: Option<&BusinessCalendar>, now: DateTime<Utc>) -> Value {
    let a = state.assessment.as_ref();
    let due_at = state.sla.as_ref().map(|s| s.due_at);
    json!({
        "lead_id": state.lead_id,
        "name": state.profile.full_name(),
        "company": state.profile.company,
        "title": state.profile.title,
        "mql_at": state.mql_at,
        "due_at": due_at,
        "fit_tier": a.map(|a| a.fit_tier),
        "fast_lane": a.map(|a| a.fast_lane),
        "mql_reason": a.map(|a| a.mql_reason.clone()),
        "sla_minutes_left": due_at.zip(calendar).map(|(due, cal)| minutes_left(cal, now, due)),
    })
}

/// Business minutes from `now` to `due` on the team's calendar; negative once overdue,
/// by the business minutes since the deadline (a weekend does not count as overdue).
pub fn minutes_left(calendar: &BusinessCalendar, now: DateTime<Utc>, due: DateTime<Utc>) -> i64 {
    if due >= now {
        calendar.business_minutes_between(now, due)
    } else {
        -calendar.business_minutes_between(due, now)
    }
}
