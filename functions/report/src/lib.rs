//! The report function: read-only views for ops. `leadwatch report` and
//! `leadwatch export` in the CLI call the same [`sla_report`] and [`export_csv`], so the
//! API and the terminal never disagree.
//!
//! * `GET /reports/sla?from=YYYY-MM&to=YYYY-MM[&team=T]`: SLA adherence and funnel
//!   figures per month, read from the monthly rollup items (one query per month, no
//!   table scan)
//! * `GET /export[?status=mql][&team=T]`: one CSV row per lead with its handoff packet

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::http::{header, Method, StatusCode};
use lambda_http::{Body, Request, Response};

use leadwatch_adapters::store::{Store, StoreError};
use leadwatch_api::http::{
    json_response, match_path, method_not_allowed, query_pairs, route_path, ApiError,
};
use leadwatch_core::lead::FieldError;
use leadwatch_core::lifecycle::Status;
use leadwatch_core::packet;
use leadwatch_core::report::{build_report, Month, SlaReport, MAX_REPORT_MONTHS};
use leadwatch_core::Contract;

/// Everything a request needs, built once per cold start.
pub struct ReportApp {
    pub store: Store,
    pub contract: Arc<Contract>,
}

pub async fn handle(app: &ReportApp, req: Request, _now: DateTime<Utc>) -> Response<Body> {
    let path = route_path(&req);
    let route = if match_path("/reports/sla", &path).is_some() {
        Some("sla")
    } else if match_path("/export", &path).is_some() {
        Some("export")
    } else {
        None
    };
    let Some(route) = route else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "no_route",
            format!("no route for {} {path}", req.method()),
        )
        .into_response();
    };
    if req.method() != Method::GET {
        return method_not_allowed("GET");
    }
    let result = match route {
        "sla" => report_route(app, &req).await,
        _ => export_route(app, &req).await,
    };
    result.unwrap_or_else(ApiError::into_response)
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

/// The CSV dossier: one row per lead with a handoff packet (leads that never became an
/// MQL have none and are not exported).
pub async fn export_csv(
    store: &Store,
    status: Option<Status>,
    team: Option<&str>,
) -> Result<Vec<u8>, StoreError> {
    let leads = store.export_leads(status, team).await?;
    let rows = leads
        .iter()
        .filter_map(|s| Some((s.status.as_str(), s.packet.as_ref()?)));
    let mut out = Vec::new();
    packet::write_csv(&mut out, rows).map_err(|e| StoreError::Aws(format!("csv: {e}")))?;
    Ok(out)
}

/// The route's query parameters as pairs; any parameter not in `allowed` is refused.
fn route_params(req: &Request, allowed: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let pairs = query_pairs(req)?;
    // A typo (`form=`) must not silently widen a report.
    let unknown: Vec<FieldError> = pairs
        .iter()
        .filter(|(k, _)| !allowed.contains(&k.as_str()))
        .map(|(k, _)| {
            FieldError::new(
                leadwatch_core::text::clip(k, 40),
                format!("is not a parameter of this route ({})", allowed.join(", ")),
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::invalid(unknown));
    }
    Ok(pairs)
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn report_route(app: &ReportApp, req: &Request) -> Result<Response<Body>, ApiError> {
    let pairs = route_params(req, &["from", "to", "team"])?;
    let query = ReportQuery::parse(
        param(&pairs, "from"),
        param(&pairs, "to"),
        param(&pairs, "team"),
        &app.contract,
    )
    .map_err(ApiError::invalid)?;
    let report = sla_report(&app.store, &query).await?;
    Ok(json_response(StatusCode::OK, &report))
}

async fn export_route(app: &ReportApp, req: &Request) -> Result<Response<Body>, ApiError> {
    let pairs = route_params(req, &["status", "team"])?;
    let mut errors = Vec::new();
    let status = match param(&pairs, "status").map(str::trim) {
        None | Some("") => None,
        Some(s) => {
            let parsed = Status::parse(s);
            if parsed.is_none() {
                let known: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
                errors.push(FieldError::new(
                    "status",
                    format!(
                        "\"{}\" is not a status ({})",
                        leadwatch_core::text::clip(s, 40),
                        known.join(", ")
                    ),
                ));
            }
            parsed
        }
    };
    let team = param(&pairs, "team")
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(t) = team {
        if !app.contract.spec.teams.contains_key(t) {
            errors.push(FieldError::new(
                "team",
                format!(
                    "\"{}\" is not a team of the contract",
                    leadwatch_core::text::clip(t, 60)
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let csv = export_csv(&app.store, status, team).await?;
    let text = String::from_utf8(csv).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut response = Response::new(Body::Text(text));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_static("attachment; filename=\"leadwatch-export.csv\""),
    );
    Ok(response)
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
