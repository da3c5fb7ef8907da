//! Where the demo meets the handlers: it builds the ingest, disposition and watchdog apps
//! on the demo's table, contract and topic, and posts each scripted submission and sales
//! decision to the real `handle` function as API Gateway would, turning the response into
//! a line to print. Every call into the HTTP handlers is in this one file, so a change to
//! how they are called is made here. (The watchdog's schedule runs in the parent module.)
//!
//! Website forms go through the public lane, whose answer says only "received": the
//! line printed for them is read from the stored lead, as sales would see it. The CRM's
//! webhooks and signals are signed with the demo's `crm` secret.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::http::{Request, StatusCode};
use lambda_http::Body;
use serde_json::Value;

use leadwatch_adapters::alerts::AlertPublisher;
use leadwatch_adapters::secrets::SourceSecrets;
use leadwatch_adapters::store::Store;
use leadwatch_api::disposition::DispositionApp;
use leadwatch_api::ingest::{signed_headers, IngestApp};
use leadwatch_core::access::{Caller, Role};
use leadwatch_core::{Contract, LeadIds};
use leadwatch_watchdog::WatchdogApp;

use super::script::{Step, What};
use super::{DemoResult, Tally};

/// The demo CRM's signing secret (printed in the serve instructions: it is a demo).
pub(super) const DEMO_CRM_SECRET: &str = "demo-crm-secret";

/// The ingest routes' secrets in the demo: the `crm` source, the development lead ids.
pub(super) fn demo_secrets() -> (SourceSecrets, LeadIds) {
    (
        SourceSecrets::new().with("crm", &[DEMO_CRM_SECRET.as_bytes()]),
        LeadIds::development(),
    )
}

/// The three handlers the demo drives, on its own table, contract and alert topic.
pub(super) struct Handlers {
    pub(super) ingest: IngestApp,
    pub(super) disposition: DispositionApp,
    pub(super) watchdog: WatchdogApp,
}

impl Handlers {
    pub(super) fn new(
        store: &Store,
        contract: &Arc<Contract>,
        sns: &aws_sdk_sns::Client,
        topic: &str,
    ) -> Self {
        let (sources, lead_ids) = demo_secrets();
        let ingest = IngestApp {
            store: store.clone(),
            contract: Arc::clone(contract),
            sources,
            lead_ids,
        };
        let disposition = DispositionApp {
            store: store.clone(),
            contract: Arc::clone(contract),
        };
        let watchdog = WatchdogApp {
            store: store.clone(),
            alerts: AlertPublisher::new(sns.clone(), topic),
            contract: Arc::clone(contract),
        };
        Handlers {
            ingest,
            disposition,
            watchdog,
        }
    }
}

/// A lead or its signals arrive; returns the line to print.
pub(super) async fn submit(app: &IngestApp, step: &Step, tally: &mut Tally) -> DemoResult<String> {
    let (label, email, uri, content_type, body) = match &step.what {
        What::Form { email, fields } => (
            "form",
            email,
            "/leads".to_string(),
            "application/x-www-form-urlencoded",
            serde_urlencoded::to_string(fields).map_err(|e| e.to_string())?,
        ),
        What::Webhook { email, body } => (
            "webhook",
            email,
            "/leads".to_string(),
            "application/json",
            body.to_string(),
        ),
        What::Signals { email, body } => (
            "event",
            email,
            format!("/leads/{}/signals", app.lead_ids.id_for(email)),
            "application/json",
            body.to_string(),
        ),
        What::Dispose { .. } => return Err("not a submission".into()),
    };
    let public = matches!(step.what, What::Form { .. });
    let mut req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", content_type);
    if !public {
        let headers = signed_headers(
            "crm",
            DEMO_CRM_SECRET.as_bytes(),
            step.at.timestamp(),
            body.as_bytes(),
        );
        for (name, value) in headers {
            req = req.header(name, value);
        }
    }
    let req = req.body(Body::Text(body)).map_err(|e| e.to_string())?;
    let response = leadwatch_api::ingest::handle(app, req, step.at).await;
    let status = response.status();
    let mut doc: Value = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    let head = format!("{label:<8} {email:<32}");
    if public && status == StatusCode::ACCEPTED {
        // The visitor saw "received"; what sales sees is the stored lead.
        let stored = app
            .store
            .get_lead(&app.lead_ids.id_for(email))
            .await
            .map_err(|e| e.to_string())?;
        match stored {
            Some(state) => doc = state.summary(false),
            None => {
                tally.submissions += 1;
                tally.dropped += 1;
                return Ok(format!(
                    "{head} 202, dropped: the hidden honeypot field was filled; nothing stored"
                ));
            }
        }
    }
    if !status.is_success() {
        return Ok(format!(
            "{head} {} {}",
            status.as_u16(),
            doc["message"].as_str().unwrap_or("")
        ));
    }
    let state = doc["status"].as_str().unwrap_or("-");
    if step.is_submission() {
        tally.submissions += 1;
        match state {
            "disqualified" => tally.disqualified += 1,
            "nurture" => tally.nurture += 1,
            _ => {}
        }
    } else if state == "mql" {
        // Promoted from nurture by these signals.
        tally.nurture = tally.nurture.saturating_sub(1);
    }
    if state == "mql" {
        tally.mqls += 1;
        if doc["fast_lane"].as_bool() == Some(true) {
            tally.fast_lane += 1;
        }
    }
    let total = doc["total"]
        .as_f64()
        .map_or("-".into(), |t| format!("{t:.0}"));
    let detail = match state {
        "mql" => format!(
            "{}{}, due {}",
            if doc["fast_lane"].as_bool() == Some(true) {
                "fast lane to "
            } else {
                ""
            },
            doc["team"].as_str().unwrap_or("-"),
            short_time(&doc["sla_due_at"])
        ),
        "disqualified" => format!(
            "gates: {}",
            doc["failed_gates"]
                .as_array()
                .map(|g| g
                    .iter()
                    .filter_map(|x| x["gate"].as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        ),
        _ => String::new(),
    };
    Ok(format!("{head} {state:<12} {total:>3}  {detail}"))
}

/// Sales answers; returns the line to print.
pub(super) async fn dispose(app: &DispositionApp, step: &Step) -> DemoResult<String> {
    let What::Dispose {
        email,
        action,
        body,
    } = &step.what
    else {
        return Err("not a disposition".into());
    };
    let req = Request::builder()
        .method("POST")
        .uri(format!(
            "/leads/{}/{action}",
            LeadIds::development().id_for(email)
        ))
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .map_err(|e| e.to_string())?;
    // The demo's sales people are signed in as themselves, on every team.
    let by = body["by"].as_str().unwrap_or("rep@seller.io");
    let caller = Caller {
        subject: by.to_string(),
        email: Some(by.to_string()),
        teams: app.contract.spec.teams.keys().cloned().collect(),
        roles: [Role::Rep].into(),
    };
    let req = leadwatch_api::entry::as_caller(req, &caller);
    let response = leadwatch_api::disposition::handle(app, req, step.at).await;
    let status = response.status();
    let doc: Value = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    let head = format!("{action:<8} {email:<32}");
    if status != StatusCode::OK {
        return Ok(format!(
            "{head} {} {}",
            status.as_u16(),
            doc["message"].as_str().unwrap_or("")
        ));
    }
    let by = body["by"].as_str().unwrap_or("");
    let state = doc["status"].as_str().unwrap_or("-");
    let detail = match action.as_str() {
        "accept" => format!(
            "by {by}, {} business min, {}",
            doc["business_minutes"].as_i64().unwrap_or(0),
            if doc["within_sla"].as_bool() == Some(true) {
                "within SLA"
            } else {
                "LATE"
            }
        ),
        "reject" => format!(
            "{} by {by}{}",
            body["reason"].as_str().unwrap_or(""),
            body["note"]
                .as_str()
                .map(|n| format!(": \"{n}\""))
                .unwrap_or_default()
        ),
        _ => format!("by {by}"),
    };
    Ok(format!("{head} {state:<12}      {detail}"))
}

/// "Tue 09:35" for an RFC 3339 time in a response.
fn short_time(v: &Value) -> String {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or("-".into(), |t| {
            t.with_timezone(&Utc).format("%a %H:%M").to_string()
        })
}
