//! The SLA watchdog end to end: leads in through the ingest handler, the watchdog run at
//! chosen instants, alerts observed on SQS queues subscribed to the topic with the
//! filter policies a sales manager would use.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use lambda_http::http::{Request as HttpRequest, StatusCode};
use lambda_http::Body;
use serde_json::{json, Value};

use leadwatch_adapters::alerts::AlertPublisher;
use leadwatch_adapters::store::Store;
use leadwatch_api::ingest::IngestApp;
use leadwatch_core::access::Role;
use leadwatch_core::commands::disposition::{dispose, Action, Disposition, Refused};
use leadwatch_core::lifecycle::Status;
use leadwatch_core::Contract;
use leadwatch_e2e::{function_store, moto, test_caller, unique_name, AlertInbox, ALL_TEAMS};
use leadwatch_watchdog::{RunSummary, Tick, WallClock, WatchdogApp};

/// A watchdog run at event time `at`: leases on the real clock, and all the time a run
/// on the local stack needs.
async fn run(app: &WatchdogApp, at: DateTime<Utc>) -> RunSummary {
    let clock: WallClock = Arc::new(Utc::now);
    let deadline = Utc::now() + Duration::minutes(10);
    leadwatch_watchdog::run(app, Tick::new(at, clock, deadline)).await
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

struct Stack {
    ingest: IngestApp,
    watchdog: WatchdogApp,
    inbox: AlertInbox,
}

/// A table, a topic, and three subscribers: the sdr-na manager, the ae-na manager, and
/// marketing (returned leads).
async fn stack() -> Stack {
    let config = moto().sdk_config().await;
    let table = unique_name("watchdog");
    let setup = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    setup.create_table().await.unwrap();
    let inbox = AlertInbox::create(
        &config,
        &[
            ("sdr-na", json!({"team": ["sdr-na"]})),
            ("ae-na", json!({"team": ["ae-na"]})),
            ("marketing", json!({"kind": ["returned_to_nurture"]})),
        ],
    )
    .await;
    let contract = Arc::new(Contract::default_contract().unwrap());
    // Each function's clients record their calls as its own (see `iam_in_step`).
    Stack {
        ingest: IngestApp {
            store: function_store("ingest", &table).await,
            contract: Arc::clone(&contract),
            sources: leadwatch_e2e::test_sources(),
            lead_ids: leadwatch_core::LeadIds::development(),
        },
        watchdog: WatchdogApp {
            store: function_store("watchdog", &table).await,
            alerts: AlertPublisher::from_config(
                &moto().function_config("watchdog").await,
                &inbox.topic_arn,
            ),
            contract,
        },
        inbox,
    }
}

/// A director of RevOps whose pricing visits and LinkedIn reply make a tier-1 MQL for
/// sdr-na (New York calendar, SLA policy tier1: 120 business minutes, warning at 75 %).
async fn director_mql(stack: &Stack, email: &str, at: DateTime<Utc>) -> String {
    let body = json!({
        "email": email, "first_name": "Dana", "last_name": "Lee", "title": "Director of Revenue Operations",
        "company": "Northwind", "employees": 250, "industry": "SaaS", "country": "US", "source": "website",
        "signals": [
            {"type": "pricing_page_visit", "at": (at - Duration::hours(3)).to_rfc3339(), "seconds_on_page": 120},
            {"type": "linkedin_reply", "at": (at - Duration::minutes(10)).to_rfc3339(), "question": true,
             "detail": "asking about integrations"}
        ]
    });
    let req = HttpRequest::builder()
        .method("POST")
        .uri("/leads")
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap();
    let r = leadwatch_api::ingest::handle(&stack.ingest, leadwatch_e2e::signed(req, at), at).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.body());
    let doc: Value = serde_json::from_slice(r.body().as_ref()).unwrap();
    assert_eq!(doc["status"], "mql", "{doc}");
    assert_eq!(doc["team"], "sdr-na", "{doc}");
    leadwatch_e2e::lead_id(email)
}

fn kinds(alerts: &[Value]) -> Vec<(String, String)> {
    alerts
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap_or("?").to_string(),
                a["level"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn friday_evening_mql_warns_and_breaches_on_monday_in_new_york_time() {
    let s = stack().await;
    // Friday 2026-11-20 17:55 New York (EST) = 22:55Z. 120 business minutes from Monday
    // 09:00: warning at 10:30 (15:30Z), due and breached at 11:00 (16:00Z).
    let id = director_mql(&s, "dana@northwind.io", utc(2026, 11, 20, 22, 55)).await;
    for quiet in [
        utc(2026, 11, 20, 23, 0),
        utc(2026, 11, 22, 12, 0),
        utc(2026, 11, 23, 15, 29),
    ] {
        let summary = run(&s.watchdog, quiet).await;
        assert_eq!(summary.due, 0, "nothing due at {quiet}");
    }
    assert!(s.inbox.drain("sdr-na").await.is_empty());

    let warn = run(&s.watchdog, utc(2026, 11, 23, 15, 30)).await;
    assert_eq!((warn.due, warn.warned), (1, 1));
    let alerts = s.inbox.drain("sdr-na").await;
    assert_eq!(kinds(&alerts), vec![("sla_warning".into(), "0".into())]);
    assert_eq!(alerts[0]["alert_id"], format!("{id}:sla_warning:0"));
    assert_eq!(alerts[0]["due_at"], "2026-11-23T16:00:00Z");
    assert_eq!(alerts[0]["business_minutes_left"], 30);
    assert_eq!(alerts[0]["packet"]["name"], "Dana Lee");

    assert_eq!(run(&s.watchdog, utc(2026, 11, 23, 15, 59)).await.due, 0);
    let breach = run(&s.watchdog, utc(2026, 11, 23, 16, 0)).await;
    assert_eq!(breach.escalated, BTreeMap::from([("1".to_string(), 1)]));
    let alerts = s.inbox.drain("sdr-na").await;
    assert_eq!(kinds(&alerts), vec![("sla_breach".into(), "1".into())]);
    assert_eq!(alerts[0]["audience"], "team-manager");
    assert!(
        s.inbox.drain("ae-na").await.is_empty(),
        "never on another team's queue"
    );
}

#[tokio::test]
async fn a_holiday_and_a_dst_change_move_the_deadline() {
    let s = stack().await;
    // Wednesday 2026-11-25 16:00 EST (21:00Z): one business hour that day, Thanksgiving
    // off, one more on Friday: due Friday 10:00 EST = 15:00Z.
    let holiday = director_mql(&s, "hol@northwind.io", utc(2026, 11, 25, 21, 0)).await;
    // Friday 2026-03-06 16:00 EST (21:00Z): clocks go forward on Sunday, so Monday
    // 09:00 EDT is 13:00Z: due Monday 10:00 EDT = 14:00Z.
    let dst = director_mql(&s, "dst@northwind.io", utc(2026, 3, 6, 21, 0)).await;
    let due = |id: &str| {
        let store = s.watchdog.store.clone();
        let id = id.to_string();
        async move {
            store
                .get_lead(&id)
                .await
                .unwrap()
                .unwrap()
                .sla
                .unwrap()
                .due_at
        }
    };
    assert_eq!(due(&holiday).await, utc(2026, 11, 27, 15, 0));
    assert_eq!(due(&dst).await, utc(2026, 3, 9, 14, 0));

    // The DST lead's breach fires at 14:00Z on the Monday, not an hour later.
    run(&s.watchdog, utc(2026, 3, 9, 13, 59)).await;
    let before: Vec<_> = s.inbox.drain("sdr-na").await;
    assert_eq!(kinds(&before), vec![("sla_warning".into(), "0".into())]);
    let r = run(&s.watchdog, utc(2026, 3, 9, 14, 0)).await;
    assert_eq!(r.escalated.get("1"), Some(&1));
}

#[tokio::test]
async fn the_ladder_fires_each_level_once_then_returns_the_lead_to_nurture() {
    let s = stack().await;
    let id = director_mql(&s, "ladder@northwind.io", utc(2026, 11, 23, 14, 0)).await;
    let steps = s
        .watchdog
        .store
        .get_lead(&id)
        .await
        .unwrap()
        .unwrap()
        .sla
        .unwrap()
        .steps;
    let mut seen = Vec::new();
    for step in &steps {
        // Each step's instant, run twice (EventBridge delivers at least once), plus a
        // run a minute later.
        for at in [step.at, step.at, step.at + Duration::minutes(1)] {
            run(&s.watchdog, at).await;
        }
        seen.extend(s.inbox.drain("sdr-na").await);
    }
    assert_eq!(
        kinds(&seen),
        vec![
            ("sla_warning".into(), "0".into()),
            ("sla_breach".into(), "1".into()),
            ("sla_escalation".into(), "2".into()),
            ("sla_escalation".into(), "2.1".into()),
            ("sla_expired".into(), "3".into()),
        ]
    );
    let audiences: Vec<&str> = seen
        .iter()
        .map(|a| a["audience"].as_str().unwrap())
        .collect();
    assert_eq!(
        audiences,
        vec![
            "owner",
            "team-manager",
            "head-of-sales",
            "head-of-sales",
            "team-manager"
        ]
    );
    assert!(s.inbox.drain("ae-na").await.is_empty());
    let lead = s.watchdog.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(lead.status, Status::Nurture);
    assert_eq!(lead.return_reason.as_deref(), Some("sla_expired"));
    // Nothing more is due, ever.
    assert_eq!(run(&s.watchdog, utc(2027, 1, 1, 0, 0)).await.due, 0);
}

#[tokio::test]
async fn a_rejected_mql_returns_to_nurture_with_its_reason_and_marketing_hears_once() {
    let s = stack().await;
    let at = utc(2026, 11, 23, 14, 0);
    let id = director_mql(&s, "nope@northwind.io", at).await;
    let contract = Arc::clone(&s.watchdog.contract);
    s.watchdog
        .store
        .update_lead(&id, |cur| {
            let rejection = Disposition {
                by: "sam@seller.io".into(),
                reason: Some("no_intent".into()),
                note: Some("just browsing".into()),
            };
            let first_seen = cur.as_ref().map_or(Status::Lead, |s| s.status);
            let outcome = dispose(
                cur,
                Action::Reject,
                &rejection,
                &test_caller("sam@seller.io", &ALL_TEAMS, &[Role::Rep]),
                first_seen,
                &contract,
                at + Duration::minutes(20),
            )?;
            Ok::<_, Refused>(Some(leadwatch_adapters::store::Change::from(outcome)))
        })
        .await
        .unwrap()
        .unwrap();
    for _ in 0..3 {
        run(&s.watchdog, at + Duration::minutes(21)).await;
    }
    let marketing = s.inbox.drain("marketing").await;
    assert_eq!(marketing.len(), 1, "{marketing:?}");
    assert_eq!(marketing[0]["reason"], "no_intent");
    assert_eq!(
        marketing[0]["alert_id"],
        format!("{id}:returned_to_nurture:0")
    );
    let lead = s.watchdog.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(lead.status, Status::Nurture);
    assert_eq!(lead.return_reason.as_deref(), Some("no_intent"));
    assert_eq!(
        lead.assessment.unwrap().intent.points,
        0.0,
        "old intent no longer counts"
    );
    assert!(lead.cool_off_until.unwrap() > at + Duration::days(13));
}
