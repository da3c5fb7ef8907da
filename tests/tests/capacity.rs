//! What the writes of a lead's life cost in DynamoDB write units, by DynamoDB's sizing
//! rules (the local stack computes them: `scripts/moto_server.py`, self-tested by
//! `scripts/test.sh`), and that the monthly rollups stay exact when they are counted off
//! the table's change stream: under concurrent MQLs, and when the stream is delivered
//! again.
//!
//! Every DynamoDB request of the functions under test goes through one
//! [`CapacityLedger`], which asks for and adds up the consumed capacity of all of them,
//! whatever part of the code sends them (state items, index entries, markers, records).

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use lambda_http::http::Request as HttpRequest;
use lambda_http::Body;
use serde_json::{json, Value};

use leadwatch_adapters::alerts::AlertPublisher;
use leadwatch_adapters::change_stream::{LocalStream, StreamStart};
use leadwatch_adapters::store::Store;
use leadwatch_api::disposition::DispositionApp;
use leadwatch_api::ingest::IngestApp;
use leadwatch_core::report::Month;
use leadwatch_core::rollup::counter;
use leadwatch_core::Contract;
use leadwatch_e2e::faults::CapacityLedger;
use leadwatch_e2e::{moto, signed, signed_in, unique_name, AlertInbox};
use leadwatch_watchdog::{Tick, WallClock, WatchdogApp};

/// Monday 2026-11-23 09:00 New York.
fn mql_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap()
}

struct Stack {
    table: String,
    ledger: CapacityLedger,
    ingest: IngestApp,
    disposition: DispositionApp,
    watchdog: WatchdogApp,
}

async fn stack(name: &str) -> Stack {
    let config = moto().sdk_config().await;
    let ledger = CapacityLedger::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(ledger.clone())
            .build(),
    );
    let table = unique_name(name);
    let store = Store::new(client, &table);
    store.create_table().await.unwrap();
    let inbox = AlertInbox::create(&config, &[("ae-na", json!({"team": ["ae-na"]}))]).await;
    let contract = Arc::new(Contract::default_contract().unwrap());
    ledger.take();
    Stack {
        table,
        ledger,
        ingest: IngestApp {
            store: store.clone(),
            contract: Arc::clone(&contract),
            sources: leadwatch_e2e::test_sources(),
            lead_ids: leadwatch_core::LeadIds::development(),
        },
        disposition: DispositionApp {
            store: store.clone(),
            contract: Arc::clone(&contract),
        },
        watchdog: WatchdogApp {
            store,
            alerts: AlertPublisher::from_config(&config, &inbox.topic_arn),
            contract,
        },
    }
}

fn post(path: &str, body: &Value) -> lambda_http::Request {
    HttpRequest::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap()
}

/// A VP's demo request: a fast-lane MQL of ae-na (60 business minutes, warned at 45).
fn demo_request(email: &str, at: DateTime<Utc>) -> Value {
    json!({
        "email": email, "first_name": "Vee", "last_name": "Lee", "title": "VP Sales",
        "company": "Acme", "employees": 300, "industry": "SaaS", "country": "US",
        "source": "website",
        "signals": [{"type": "demo_request", "at": at.to_rfc3339(),
                     "detail": "wants a demo for the revops team"}]
    })
}

async fn ingest(s: &Stack, body: &Value, at: DateTime<Utc>) -> Value {
    let r = leadwatch_api::ingest::handle(&s.ingest, signed(post("/leads", body), at), at).await;
    assert!(r.status().is_success(), "{:?}", r.body());
    serde_json::from_slice(r.body().as_ref()).unwrap()
}

/// A post from a public web form (no signature, no caller).
async fn form_post(s: &Stack, form: &str) {
    let req = HttpRequest::builder()
        .method("POST")
        .uri("/leads")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::Text(form.replace(' ', "")))
        .unwrap();
    let r = leadwatch_api::ingest::handle(&s.ingest, req, mql_at()).await;
    assert!(r.status().is_success(), "{} {:?}", r.status(), r.body());
}

/// A lead's status, read outside the ledger's count.
async fn status_of(s: &Stack, email: &str) -> String {
    let id = leadwatch_e2e::lead_id(email);
    let state = s
        .ingest
        .store
        .get_lead(&id)
        .await
        .unwrap()
        .expect("the lead");
    s.ledger.take();
    state.status.as_str().to_string()
}

async fn watchdog_run(s: &Stack, at: DateTime<Utc>) -> leadwatch_watchdog::RunSummary {
    let clock: WallClock = Arc::new(Utc::now);
    let tick = Tick::new(at, clock, Utc::now() + Duration::minutes(10));
    leadwatch_watchdog::run(&s.watchdog, tick).await
}

#[tokio::test]
async fn a_lead_a_mql_a_watchdog_step_and_an_accept_cost_a_few_write_units() {
    let s = stack("capacity").await;

    // A web form's lead that is not an MQL (a webinar sign-up): its item, and its
    // `timers` entry in the month's partition (where an export finds it).
    form_post(
        &s,
        "form=webinar&email=wen%40tailspin.io&first_name=Wen&company=Tailspin\
         &title=Marketing+Manager&employees=40&country=US&signal=webinar_attended",
    )
    .await;
    let lead = s.ledger.take();
    eprintln!("new lead (web form): {lead:?}");
    assert!(lead.write_units > 0.0, "{lead:?}");
    assert!(lead.write_units <= 3.0, "a new lead cost {lead:?}");
    assert_ne!(status_of(&s, "wen@tailspin.io").await, "mql");

    // A demo request from the website's form is an MQL at once: one PutItem (its
    // compressed document, its counters in `counts`) and its two index entries, timer
    // and queue. No rollup item: the rollup function counts it off the stream.
    form_post(
        &s,
        "form=demo&email=vp%40acme.io&first_name=Vee&last_name=Lee&title=VP+Sales\
         &company=Acme&employees=300&industry=saas&country=US&message=Can+I+see+it",
    )
    .await;
    let mql = s.ledger.take();
    eprintln!("new MQL (web form): {mql:?}");
    assert!(mql.write_units > 0.0, "{mql:?}");
    assert!(mql.write_units <= 3.0, "a new MQL cost {mql:?}");
    assert_eq!(mql.requests.get("TransactWriteItems"), None, "{mql:?}");
    assert_eq!(status_of(&s, "vp@acme.io").await, "mql");

    // A CRM's signed webhook also claims its signature against replay: one small
    // write more.
    let doc = ingest(&s, &demo_request("vp2@acme.io", mql_at()), mql_at()).await;
    assert_eq!(doc["status"], "mql", "{doc}");
    let signed_mql = s.ledger.take();
    eprintln!("new MQL (signed webhook): {signed_mql:?}");
    assert!(signed_mql.write_units <= 4.0, "{signed_mql:?}");

    // Watchdog steps: the warning at 45 minutes, the breach at 60. Each claims the
    // step, publishes and commits: small writes of the item, and the timer's move.
    for (minutes, what) in [(45, "warning"), (60, "breach")] {
        let run = watchdog_run(&s, mql_at() + Duration::minutes(minutes)).await;
        assert_eq!(run.committed, 2, "{what}: {run:?}");
        let steps = s.ledger.take();
        eprintln!("two watchdog steps ({what}): {steps:?}");
        let per_step = steps.write_units / 2.0;
        assert!(per_step > 0.0, "{steps:?}");
        assert!(
            per_step <= 4.0,
            "a {what} step cost {per_step} WCU: {steps:?}"
        );
    }

    // An accept: the item, out of the queue index, its timer gone.
    let id = leadwatch_e2e::lead_id("vp@acme.io");
    let r = leadwatch_api::disposition::handle(
        &s.disposition,
        signed_in(post(
            &format!("/leads/{id}/accept"),
            &json!({"by": "ae@example.com"}),
        )),
        mql_at() + Duration::minutes(70),
    )
    .await;
    assert_eq!(r.status(), 200, "{:?}", r.body());
    let accept = s.ledger.take();
    eprintln!("accept: {accept:?}");
    assert!(accept.write_units <= 4.0, "an accept cost {accept:?}");

    // The rollup function's share, per counted version: a marker and the counter
    // updates, merged over the batch.
    let counted = leadwatch_e2e::count_stream(&s.table).await;
    eprintln!("rollup: {counted:?}");
    assert!(counted.counted.added >= 3, "{counted:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rollups_stay_exact_under_concurrent_mqls_and_a_replayed_stream() {
    let s = Arc::new(stack("rollup-exact").await);
    let mqls = 40;
    let mut tasks = Vec::new();
    for i in 0..mqls {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            let at = mql_at() + Duration::seconds(i);
            let doc = ingest(&s, &demo_request(&format!("vp{i}@acme{i}.io"), at), at).await;
            assert_eq!(doc["status"], "mql", "{doc}");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    // Two consumers racing over the same stream (a batch delivered twice, at once),
    // then a third reading it all again: each version is counted once. Each consumer
    // saw every version, and counted it now or found its marker; between them, each
    // version was added exactly once.
    let (a, b) = tokio::join!(
        leadwatch_e2e::count_stream(&s.table),
        leadwatch_e2e::count_stream(&s.table)
    );
    for summary in [&a, &b] {
        assert_eq!(
            summary.counted.added + summary.counted.already_counted,
            mqls as usize,
            "{a:?} {b:?}"
        );
    }
    assert_eq!(
        a.counted.added + b.counted.added,
        mqls as usize,
        "{a:?} {b:?}"
    );
    let again = leadwatch_e2e::count_stream(&s.table).await;
    assert_eq!(again.counted.added, 0, "{again:?}");
    assert_eq!(again.counted.already_counted, mqls as usize, "{again:?}");

    // One batch handed to the function twice, as Lambda retries it.
    let config = moto().sdk_config().await;
    let mut stream = LocalStream::open(&config, &s.table, StreamStart::Oldest)
        .await
        .unwrap();
    let batch = stream.next_event().await.unwrap().expect("a batch");
    let store = leadwatch_e2e::function_store("rollup", &s.table).await;
    for _ in 0..2 {
        let summary = leadwatch_rollup::handle(&store, &batch, Utc::now())
            .await
            .unwrap();
        assert_eq!(summary.counted.added, 0, "{summary:?}");
        assert!(summary.counted.already_counted > 0, "{summary:?}");
    }

    let month = Month::of(mql_at().date_naive());
    let rollups = s.watchdog.store.rollups(&[month]).await.unwrap();
    let mqls_of = |dimension: &str| {
        rollups
            .iter()
            .find(|r| r.dimension == dimension)
            .and_then(|r| r.counters.get(counter::MQLS).copied())
    };
    assert_eq!(mqls_of("team#ae-na"), Some(mqls), "{rollups:?}");
    assert_eq!(mqls_of("source#website"), Some(mqls), "{rollups:?}");
}
