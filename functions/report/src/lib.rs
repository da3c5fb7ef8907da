//! The report function: read-only views for ops.
//!
//! * `GET /reports/sla?from=YYYY-MM&to=YYYY-MM[&team=T]`: SLA adherence and funnel
//!   figures per month, read from the monthly rollup items (no table scan)
//! * `GET /export[?status=mql][&team=T]`: one CSV row per lead with its handoff packet

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

use leadwatch::adapters::store::Store;
use leadwatch::http::{route_path, ApiError};
use leadwatch::Contract;

/// Everything a request needs, built once per cold start.
pub struct ReportApp {
    pub store: Store,
    pub contract: Arc<Contract>,
}

pub async fn handle(_app: &ReportApp, req: Request, _now: DateTime<Utc>) -> Response<Body> {
    let path = route_path(&req);
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        format!("no route for {} {path}", req.method()),
    )
    .into_response()
}
