//! The real watchdog binary, run the way Lambda runs it (through the Runtime API of
//! `tests/src/runtime_api.rs`): it runs on an EventBridge scheduled event whose `time`
//! is near the clock, and on nothing else. Every other invocation is an error that
//! names what is wrong, and changes nothing: no claim, no alert. A run that could do
//! only part of its work answers with an error as well, after doing that part, and
//! says so in its metrics, so that Lambda's error count and the alarms see it.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

use leadwatch_adapters::store::Store;
use leadwatch_core::lead::{LeadProfile, Signal};
use leadwatch_core::lifecycle::Status;
use leadwatch_core::state::LeadState;
use leadwatch_core::Contract;
use leadwatch_e2e::runtime_api::{HttpApiEvent, LambdaProcess};
use leadwatch_e2e::{moto, signed, unique_name, AlertInbox};

/// Monday 2026-11-23 09:00 New York: long before the clock, so every warning is due.
fn mql_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap()
}

fn fast_lane_mql(i: usize, contract: &Contract) -> LeadState {
    let email = format!("vp{i}@acme{i}.io");
    let profile = LeadProfile {
        email: email.clone(),
        first_name: Some(format!("Vee{i}")),
        title: Some("VP Sales".into()),
        company: Some(format!("Acme {i}")),
        employees: Some(300),
        country: Some("US".into()),
        source: Some("website".into()),
        ..Default::default()
    };
    let mut state = LeadState::new(signed::lead_id(&email), profile, contract, mql_at());
    let demo = Signal {
        kind: "demo_request".into(),
        at: mql_at(),
        seconds_on_page: None,
        question: false,
        detail: None,
    };
    state.ingest(None, &[demo], contract, mql_at());
    assert_eq!(state.status, Status::Mql);
    state
}

/// An EventBridge scheduled event, as a classic rule delivers it.
fn schedule(time: Value) -> Value {
    json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": time, "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/leadwatch-watchdog"],
        "detail": {}
    })
}

fn now_rfc3339() -> String {
    Utc::now().to_rfc3339()
}

struct Stack {
    table: String,
    store: Store,
    inbox: AlertInbox,
    leads: Vec<LeadState>,
}

async fn stack(n: usize) -> Stack {
    let config = moto().sdk_config().await;
    let table = unique_name("watchdog-event");
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    store.create_table().await.unwrap();
    let inbox = AlertInbox::create(&config, &[("ae-na", json!({"team": ["ae-na"]}))]).await;
    let contract = Arc::new(Contract::default_contract().unwrap());
    let leads: Vec<LeadState> = (0..n).map(|i| fast_lane_mql(i, &contract)).collect();
    store.import(&leads).await.unwrap();
    Stack {
        table,
        store,
        inbox,
        leads,
    }
}

impl Stack {
    /// Every lead exactly as imported: unclaimed, at its first step and version.
    async fn assert_untouched(&self) {
        for lead in &self.leads {
            let stored = self.store.get_lead(&lead.lead_id).await.unwrap().unwrap();
            assert_eq!(stored.version, lead.version, "{}", lead.lead_id);
            assert_eq!((stored.sla_step, &stored.claim), (0, &None));
        }
    }
}

#[tokio::test]
async fn the_binary_refuses_every_invocation_that_is_not_a_schedule_event_near_the_clock() {
    let s = stack(3).await;
    let http = HttpApiEvent {
        method: "POST",
        path: "/leads",
        query: "",
        stage: "$default",
        headers: vec![("content-type", "application/json".to_string())],
        body: Some(b"{}".to_vec()),
        time_epoch: 1_795_446_000_000,
        claims: None,
    }
    .to_json();
    let sqs = json!({"Records": [{
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d", "body": "{}",
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "awsRegion": "us-east-1"
    }]});
    let mut without_time = schedule(Value::Null);
    if let Some(fields) = without_time.as_object_mut() {
        fields.remove("time");
    }
    let refused = [
        (json!({}), "the event is an empty object"),
        (Value::Null, "the event is null"),
        (http, "the event is an API Gateway HTTP request"),
        (sqs, "the event is an SQS message batch"),
        (without_time, "time is missing"),
        (
            schedule(json!("yesterday")),
            "time \\\"yesterday\\\" is not an RFC 3339 timestamp",
        ),
        // A week-old event: the default skew is 15 minutes.
        (
            schedule(json!((Utc::now() - Duration::days(7)).to_rfc3339())),
            "s behind the clock",
        ),
        (
            schedule(json!("9999-01-01T00:00:00Z")),
            "s ahead of the clock",
        ),
    ];
    let mut lambda = LambdaProcess::start(
        "watchdog",
        &[
            ("LEADWATCH_TABLE", &s.table),
            ("LEADWATCH_ALERTS_TOPIC_ARN", &s.inbox.topic_arn),
        ],
    );
    let events: Vec<Value> = refused.iter().map(|(e, _)| e.clone()).collect();
    let answers = lambda.invoke_each(events);
    for ((event, problem), answer) in refused.iter().zip(&answers) {
        let error = answer
            .as_ref()
            .expect_err(&format!("{event} must be refused, got {answer:?}"));
        assert!(error.contains(problem), "{event}: {error}");
        assert!(error.contains("nothing was run"), "{error}");
    }
    s.assert_untouched().await;
    assert!(s.inbox.drain("ae-na").await.is_empty(), "no alert went out");

    // The same binary runs a scheduled event of now.
    let ran = lambda.invoke_each(vec![schedule(json!(now_rfc3339()))]);
    let (_, stderr) = lambda.stop();
    let summary = ran[0]
        .as_ref()
        .unwrap_or_else(|e| panic!("a schedule event of now runs: {e}\n{stderr}"));
    // Nine days late, the whole ladder is due: warning, breach, two escalations and
    // the expiry of each MQL, one step per catch-up round.
    assert_eq!(
        (summary["warned"].as_u64(), summary["expired"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(summary["published"], 15, "{summary}");
    assert_eq!(summary["committed"], 15, "{summary}");
    assert_eq!(s.inbox.drain("ae-na").await.len(), 15);
}

#[tokio::test]
async fn a_wider_skew_lets_a_replay_of_an_old_event_run() {
    let s = stack(2).await;
    let at = mql_at() + Duration::minutes(45);
    let mut lambda = LambdaProcess::start(
        "watchdog",
        &[
            ("LEADWATCH_TABLE", &s.table),
            ("LEADWATCH_ALERTS_TOPIC_ARN", &s.inbox.topic_arn),
            // Ten years.
            ("LEADWATCH_MAX_EVENT_SKEW_SECONDS", "315360000"),
        ],
    );
    let answers = lambda.invoke_each(vec![schedule(json!(at.to_rfc3339()))]);
    let summary = answers[0].as_ref().expect("a replay within the skew runs");
    assert_eq!(summary["warned"], 2, "{summary}");
    lambda.stop();

    let mut bad = LambdaProcess::start(
        "watchdog",
        &[
            ("LEADWATCH_TABLE", &s.table),
            ("LEADWATCH_ALERTS_TOPIC_ARN", &s.inbox.topic_arn),
            ("LEADWATCH_MAX_EVENT_SKEW_SECONDS", "fifteen minutes"),
        ],
    );
    // A setting that does not parse stops the cold start, naming the variable.
    let status = bad.wait_exit();
    let (_, stderr) = bad.stop();
    assert!(!status.success());
    assert!(
        stderr.contains("LEADWATCH_MAX_EVENT_SKEW_SECONDS"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_degraded_run_does_what_it_can_then_answers_with_an_error_and_a_metric() {
    let s = stack(3).await;
    // A topic that does not exist: every publish fails.
    let missing = format!("{}-deleted", s.inbox.topic_arn);
    let mut lambda = LambdaProcess::start(
        "watchdog",
        &[
            ("LEADWATCH_TABLE", &s.table),
            ("LEADWATCH_ALERTS_TOPIC_ARN", &missing),
            ("LEADWATCH_METRICS_NAMESPACE", "Leadwatch"),
        ],
    );
    let answers = lambda.invoke_each(vec![schedule(json!(now_rfc3339()))]);
    let (stdout, _) = lambda.stop();
    let error = answers[0].as_ref().expect_err("a degraded run is an error");
    assert!(error.contains("watchdog run degraded"), "{error}");
    assert!(error.contains("3 alerts were not published"), "{error}");
    assert!(error.contains(r#"\"released\":3"#), "{error}");
    // The heartbeat still beats, and says the run was degraded.
    let run_line: Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("WatchdogRuns").is_some())
        .unwrap_or_else(|| panic!("an EMF line of the run in {stdout}"));
    assert_eq!(run_line["WatchdogDegraded"], json!(1.0));
    assert_eq!(run_line["WatchdogFailed"], json!(3.0));
    // The claims were given back: the next run retries.
    s.assert_untouched_but_for_versions().await;
}

impl Stack {
    /// Every lead unclaimed at its first step (claims taken and released move the
    /// version on).
    async fn assert_untouched_but_for_versions(&self) {
        for lead in &self.leads {
            let stored = self.store.get_lead(&lead.lead_id).await.unwrap().unwrap();
            assert_eq!((stored.sla_step, &stored.claim), (0, &None));
            assert_eq!(stored.status, Status::Mql);
        }
    }
}

/// A link is a convenience and the alert is the promise: a deployment whose web secret
/// parameter is missing still warns (without the link), and says why in its log.
#[tokio::test]
async fn a_missing_web_secret_leaves_the_links_out_and_the_alerts_in() {
    let s = stack(2).await;
    let at = mql_at() + Duration::minutes(45);
    let missing = format!("/leadwatch/{}/web-secret", unique_name("missing"));
    let mut lambda = LambdaProcess::start(
        "watchdog",
        &[
            ("LEADWATCH_TABLE", &s.table),
            ("LEADWATCH_ALERTS_TOPIC_ARN", &s.inbox.topic_arn),
            ("LEADWATCH_MAX_EVENT_SKEW_SECONDS", "315360000"),
            ("LEADWATCH_APP_URL", "https://leads.example.com"),
            ("LEADWATCH_WEB_SECRET_PARAMETER", &missing),
        ],
    );
    let answers = lambda.invoke_each(vec![schedule(json!(at.to_rfc3339()))]);
    let (stdout, stderr) = lambda.stop();
    let summary = answers[0].as_ref().expect("the run goes ahead");
    assert_eq!(summary["warned"], 2, "{summary}");
    let log = format!("{stdout}{stderr}");
    assert!(log.contains("without lead-page links"), "{log}");
    let alerts = s.inbox.drain("ae-na").await;
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    assert!(
        alerts.iter().all(|a| a["links"].get("page").is_none()),
        "{alerts:#?}"
    );
}
