//! The report route set: read-only views for ops. `leadwatch report` in the CLI calls
//! the same [`sla_report`], and `leadwatch export` the same export reader and CSV
//! writer as the export job, so the API and the terminal never disagree.
//!
//! * `GET /reports/sla?from=YYYY-MM&to=YYYY-MM[&team=T]`: SLA adherence and funnel
//!   figures per month, read from the monthly rollup items (one query per month, no
//!   table scan)
//! * `POST /exports`, `GET /exports/{id}`, `GET /export`: exports as jobs, see
//!   [`crate::export`]

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};

use leadwatch_adapters::store::{Store, StoreError};
use leadwatch_core::lead::FieldError;
use leadwatch_core::report::{build_report, Month, SlaReport, MAX_REPORT_MONTHS};
use leadwatch_core::Contract;

use crate::caller::{forbidden, SignedIn};
use crate::error::{json_response, method_not_allowed, ApiError};
use crate::request::{known_query_pairs, param};

/// Everything a report request needs, built once per cold start.
#[derive(Clone)]
pub struct ReportApp {
    pub store: Store,
    pub contract: Arc<Contract>,
    /// The export bucket and job runner; None: the export routes answer 503.
    pub exports: Option<crate::export::Exports>,
}

/// The report routes, without a fallback, to be merged with other route sets.
pub fn routes(app: ReportApp) -> Router {
    let only_get = || async { method_not_allowed("GET") };
    Router::new()
        .route("/reports/sla", get(sla).fallback(only_get))
        .route("/export", get(crate::export::legacy).fallback(only_get))
        .route(
            "/exports",
            post(crate::export::create).fallback(|| async { method_not_allowed("POST") }),
        )
        .route(
            "/exports/{id}",
            get(crate::export::status).fallback(only_get),
        )
        .with_state(Arc::new(app))
}

/// One request through the report function's router (see [`crate::entry::call`]).
pub async fn handle(
    app: &ReportApp,
    req: lambda_http::Request,
    now: DateTime<Utc>,
) -> lambda_http::Response<lambda_http::Body> {
    crate::entry::call(&crate::function_router(routes(app.clone())), req, now).await
}

/// What a report asks for, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportQuery {
    pub from: Month,
    pub to: Month,
    pub team: Option<String>,
}

impl ReportQuery {
    /// Validate raw parameters; every bad one is named.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        team: Option<&str>,
        contract: &Contract,
    ) -> Result<ReportQuery, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut month = |name: &str, value: Option<&str>| match value.map(str::trim) {
            None | Some("") => {
                errors.push(FieldError::new(name, "is required (YYYY-MM)"));
                None
            }
            Some(v) => Month::parse(v)
                .map_err(|e| errors.push(FieldError::new(name, e)))
                .ok(),
        };
        let from = month("from", from);
        let to = month("to", to);
        let team = team.map(str::trim).filter(|t| !t.is_empty());
        if let Some(t) = team {
            if !contract.spec.teams.contains_key(t) {
                let known: Vec<&str> = contract.spec.teams.keys().map(String::as_str).collect();
                errors.push(FieldError::new(
                    "team",
                    format!(
                        "\"{}\" is not a team of the contract (teams: {})",
                        leadwatch_core::text::clip(t, 60),
                        known.join(", ")
                    ),
                ));
            }
        }
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                errors.push(FieldError::new("to", format!("{t} is before from {f}")));
            } else if f.through(t).len() > MAX_REPORT_MONTHS {
                errors.push(FieldError::new(
                    "to",
                    format!("the range {f} to {t} is longer than {MAX_REPORT_MONTHS} months"),
                ));
            }
        }
        match (from, to) {
            (Some(from), Some(to)) if errors.is_empty() => Ok(ReportQuery {
                from,
                to,
                team: team.map(str::to_string),
            }),
            _ => Err(errors),
        }
    }
}

/// The SLA report for a validated query: the one function both the API and the CLI
/// call.
pub async fn sla_report(store: &Store, query: &ReportQuery) -> Result<SlaReport, StoreError> {
    let months = query.from.through(query.to);
    let items = store.rollups(&months).await?;
    Ok(build_report(
        query.from,
        query.to,
        query.team.as_deref(),
        &items,
    ))
}

async fn sla(
    State(app): State<Arc<ReportApp>>,
    SignedIn(caller): SignedIn,
    uri: Uri,
) -> Result<Response, ApiError> {
    let pairs = known_query_pairs(&uri, &["from", "to", "team"])?;
    let query = ReportQuery::parse(
        param(&pairs, "from"),
        param(&pairs, "to"),
        param(&pairs, "team"),
        &app.contract,
    )
    .map_err(ApiError::invalid)?;
    caller
        .may_read_reports(query.team.as_deref())
        .map_err(forbidden)?;
    let report = sla_report(&app.store, &query).await?;
    Ok(json_response(StatusCode::OK, &report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_queries_name_every_bad_parameter() {
        let contract = Contract::default_contract().unwrap();
        let ok =
            ReportQuery::parse(Some("2026-09"), Some("2026-11"), Some("ae-na"), &contract).unwrap();
        assert_eq!(ok.from.to_string(), "2026-09");
        assert_eq!(ok.team.as_deref(), Some("ae-na"));

        let errors =
            ReportQuery::parse(None, Some("2026-13"), Some("nobody"), &contract).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["from", "to", "team"], "{errors:?}");

        let backwards =
            ReportQuery::parse(Some("2026-11"), Some("2026-09"), None, &contract).unwrap_err();
        assert_eq!(backwards[0].field, "to");
        assert!(backwards[0].problem.contains("before"), "{backwards:?}");

        let too_long =
            ReportQuery::parse(Some("2020-01"), Some("2026-09"), None, &contract).unwrap_err();
        assert!(too_long[0].problem.contains("longer than"), "{too_long:?}");
    }
}
