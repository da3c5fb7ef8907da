//! Exports as jobs (issue 15). An export of any size cannot be one response (Lambda
//! answers at most 6 MB), so a caller asks for one and polls it:
//!
//! * `POST /exports?from=YYYY-MM&to=YYYY-MM[&status=S][&team=T]`: 202
//!   `{export_id, status: "running", poll: "/exports/<id>"}` (and `Location`)
//! * `GET /exports/{id}`: `{export_id, status, rows, url, expires_at}`; `url` is a
//!   presigned GET of the CSV in the export bucket, valid 15 minutes, once `done`
//! * `GET /export[?status=S][&team=T][&from=...&to=...]`: the old synchronous export,
//!   now the same job: 202 with the same body (months default to the last twelve)
//!
//! Who may export is who may read reports (`Caller::may_read_reports`): ops and admins
//! any team, a manager their own teams (with `team=`), a rep nothing.
//!
//! The job itself, [`run_export`], pages through the `timers` index
//! (`Store::export_reader`, never a scan) and streams CSV into an S3 multipart upload,
//! one part in memory. In AWS it runs in the export function, handed over by the
//! export queue ([`ExportRunner::Queue`]); in `leadwatch serve` and the tests it runs
//! in-process on a tokio task ([`ExportRunner::InProcess`]): the same code either way.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;

use leadwatch_adapters::exports::{
    CsvUpload, ExportBucket, ExportError, ExportQueue, LINK_SECONDS,
};
use leadwatch_adapters::store::{ExportJob, JobStatus, Store, StoreError};
use leadwatch_core::export::{write_csv_part, ExportQuery, MAX_EXPORT_MONTHS};
use leadwatch_core::lead::FieldError;
use leadwatch_core::lifecycle::Status;
use leadwatch_core::report::Month;
use leadwatch_core::Contract;

use crate::caller::{forbidden, SignedIn};
use crate::error::{json_response, ApiError};
use crate::report::ReportApp;
use crate::request::{known_query_pairs, param, LeadId, Now};

/// Where export jobs run.
#[derive(Clone)]
pub enum ExportRunner {
    /// On a tokio task of this process (`leadwatch serve`, tests), with this store and
    /// bucket (the export function's, for the call recorder).
    InProcess { store: Store, bucket: ExportBucket },
    /// In the export function, through its queue.
    Queue(ExportQueue),
}

/// What the export routes need besides the store: the bucket (to presign links) and
/// where jobs run.
#[derive(Clone)]
pub struct Exports {
    pub bucket: ExportBucket,
    pub runner: ExportRunner,
}

impl ExportRunner {
    async fn start(&self, export_id: &str) -> Result<(), ExportError> {
        match self {
            ExportRunner::Queue(queue) => queue.send(export_id).await,
            ExportRunner::InProcess { store, bucket } => {
                let (store, bucket, id) = (store.clone(), bucket.clone(), export_id.to_string());
                tokio::spawn(async move {
                    if let Err(e) = run_export(&store, &bucket, &id, Utc::now).await {
                        tracing::error!(export_id = %id, error = %e, "export job failed");
                    }
                });
                Ok(())
            }
        }
    }
}

/// Why a job could not run.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Export(#[from] ExportError),
    #[error("no export job {0}")]
    Unknown(String),
}

/// Run export job `export_id`: read its leads page by page, stream them as CSV into
/// the bucket, and record the outcome in the job. A job that is not running any more
/// (a repeated delivery) is left as it is. `clock` stamps the finish.
pub async fn run_export(
    store: &Store,
    bucket: &ExportBucket,
    export_id: &str,
    clock: fn() -> DateTime<Utc>,
) -> Result<ExportJob, JobError> {
    let Some(mut job) = store.export_job(export_id).await? else {
        return Err(JobError::Unknown(export_id.to_string()));
    };
    if job.status != JobStatus::Running {
        return Ok(job);
    }
    let key = ExportBucket::object_key(export_id);
    let outcome = match bucket.upload(&key).await {
        Ok(mut upload) => match write_all(store, &job.query, &mut upload).await {
            Ok(rows) => upload.finish().await.map(|_| rows).map_err(JobError::from),
            Err(e) => {
                if let Err(abort) = upload.abort().await {
                    tracing::warn!(export_id, error = %abort, "cannot abort the upload");
                }
                Err(e)
            }
        },
        Err(e) => Err(e.into()),
    };
    job.finished_at = Some(clock());
    match &outcome {
        Ok(rows) => {
            job.status = JobStatus::Done;
            job.rows = *rows;
            job.object_key = Some(key);
        }
        Err(e) => {
            job.status = JobStatus::Failed;
            job.error = Some(leadwatch_core::text::clip(&e.to_string(), 500).to_string());
        }
    }
    store.finish_export_job(&job).await?;
    match outcome {
        Ok(_) => Ok(job),
        Err(e) => Err(e),
    }
}

/// Every page of the export as CSV into `upload`; returns the rows written.
async fn write_all(
    store: &Store,
    query: &ExportQuery,
    upload: &mut CsvUpload,
) -> Result<u64, JobError> {
    let mut reader = store.export_reader(query);
    let mut rows = 0;
    let mut header = true;
    loop {
        let page = reader.next_page().await?;
        let leads = page.as_deref().unwrap_or_default();
        rows += write_csv_part(upload.buffer(), header, leads)
            .map_err(|e| ExportError::S3(format!("csv: {e}")))?;
        header = false;
        upload.flushed().await?;
        if page.is_none() {
            return Ok(rows);
        }
    }
}

/// Parse an export's parameters; every bad one is named. Without `from`/`to`,
/// `default_months` (if any) gives the range.
pub fn parse_query(
    pairs: &[(String, String)],
    contract: &Contract,
    default_months: Option<(Month, Month)>,
) -> Result<ExportQuery, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut month = |name: &str, default: Option<Month>| match param(pairs, name).map(str::trim) {
        None | Some("") => {
            if default.is_none() {
                errors.push(FieldError::new(name, "is required (YYYY-MM)"));
            }
            default
        }
        Some(v) => Month::parse(v)
            .map_err(|e| errors.push(FieldError::new(name, e)))
            .ok(),
    };
    let from = month("from", default_months.map(|d| d.0));
    let to = month("to", default_months.map(|d| d.1));
    let status = match param(pairs, "status").map(str::trim) {
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
    let team = param(pairs, "team")
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(t) = team {
        if !contract.spec.teams.contains_key(t) {
            errors.push(FieldError::new(
                "team",
                format!(
                    "\"{}\" is not a team of the contract",
                    leadwatch_core::text::clip(t, 60)
                ),
            ));
        }
    }
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            errors.push(FieldError::new("to", format!("{t} is before from {f}")));
        } else if f.through(t).len() > MAX_EXPORT_MONTHS {
            errors.push(FieldError::new(
                "to",
                format!("the range {f} to {t} is longer than {MAX_EXPORT_MONTHS} months"),
            ));
        }
    }
    match (from, to) {
        (Some(from), Some(to)) if errors.is_empty() => Ok(ExportQuery {
            from,
            to,
            status,
            team: team.map(str::to_string),
        }),
        _ => Err(errors),
    }
}

/// The twelve months up to and including the month of `now`.
pub fn last_twelve_months(now: DateTime<Utc>) -> (Month, Month) {
    let to = Month::of(now.date_naive());
    let mut from = to;
    for _ in 0..11 {
        from = from.previous();
    }
    (from, to)
}

fn not_configured() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "exports_not_configured",
        "exports need an export bucket (LEADWATCH_EXPORT_BUCKET)",
    )
}

fn new_export_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no_randomness",
            format!("cannot make an export id: {e}"),
        )
    })?;
    Ok(format!("ex_{}", hex::encode(bytes)))
}

/// `POST /exports`: months are required.
pub(crate) async fn create(
    State(app): State<Arc<ReportApp>>,
    SignedIn(caller): SignedIn,
    Now(now): Now,
    uri: Uri,
) -> Result<Response, ApiError> {
    let pairs = known_query_pairs(&uri, &["from", "to", "status", "team"])?;
    let query = parse_query(&pairs, &app.contract, None).map_err(ApiError::invalid)?;
    start(&app, &caller, query, now).await
}

/// `GET /export`: the old export, now a job; months default to the last twelve.
pub(crate) async fn legacy(
    State(app): State<Arc<ReportApp>>,
    SignedIn(caller): SignedIn,
    Now(now): Now,
    uri: Uri,
) -> Result<Response, ApiError> {
    let pairs = known_query_pairs(&uri, &["from", "to", "status", "team"])?;
    let query = parse_query(&pairs, &app.contract, Some(last_twelve_months(now)))
        .map_err(ApiError::invalid)?;
    start(&app, &caller, query, now).await
}

async fn start(
    app: &ReportApp,
    caller: &leadwatch_core::access::Caller,
    query: ExportQuery,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    caller
        .may_read_reports(query.team.as_deref())
        .map_err(forbidden)?;
    let exports = app.exports.as_ref().ok_or_else(not_configured)?;
    let job = ExportJob {
        export_id: new_export_id()?,
        query,
        requested_by: caller.subject.clone(),
        requested_at: now,
        status: JobStatus::Running,
        object_key: None,
        rows: 0,
        finished_at: None,
        error: None,
    };
    if !app.store.create_export_job(&job, now).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "export_id_taken",
            "an export with this id exists; ask again",
        ));
    }
    if let Err(e) = exports.runner.start(&job.export_id).await {
        let mut failed = job.clone();
        failed.status = JobStatus::Failed;
        failed.error = Some(e.to_string());
        failed.finished_at = Some(now);
        app.store.finish_export_job(&failed).await?;
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "export_not_started",
            format!("the export job could not be started: {e}"),
        ));
    }
    let poll = format!("/exports/{}", job.export_id);
    let mut response = json_response(
        StatusCode::ACCEPTED,
        &json!({
            "export_id": job.export_id,
            "status": job.status.as_str(),
            "poll": poll,
            "query": job.query,
        }),
    );
    if let Ok(value) = header::HeaderValue::from_str(&poll) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `GET /exports/{id}`: the job as it stands, with a fresh presigned link once done.
/// Visible to whoever started it and to whoever may read the reports it covers;
/// anyone else is told there is no such export.
pub(crate) async fn status(
    State(app): State<Arc<ReportApp>>,
    SignedIn(caller): SignedIn,
    Now(now): Now,
    LeadId(id): LeadId,
) -> Result<Response, ApiError> {
    let plausible = id.len() <= 64
        && id.starts_with("ex_")
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let job = match plausible {
        true => app.store.export_job(&id).await?,
        false => None,
    };
    let job = job
        .filter(|j| {
            j.requested_by == caller.subject
                || caller.may_read_reports(j.query.team.as_deref()).is_ok()
        })
        .ok_or_else(|| ApiError::not_found("export"))?;
    let mut body = json!({
        "export_id": job.export_id,
        "status": job.status.as_str(),
        "rows": job.rows,
        "query": job.query,
        "requested_at": job.requested_at,
    });
    if let Some(finished) = job.finished_at {
        body["finished_at"] = json!(finished);
    }
    if let Some(error) = &job.error {
        body["error"] = json!(error);
    }
    if let (JobStatus::Done, Some(key)) = (job.status, &job.object_key) {
        let exports = app.exports.as_ref().ok_or_else(not_configured)?;
        let (url, expires) = exports
            .bucket
            .presigned_get(key, now, LINK_SECONDS)
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "presign_failed",
                    e.to_string(),
                )
            })?;
        body["url"] = json!(url);
        body["expires_at"] = json!(expires);
    }
    Ok(json_response(StatusCode::OK, &body).into_response())
}
