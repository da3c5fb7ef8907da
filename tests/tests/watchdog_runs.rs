//! Watchdog runs against their limits: more due work than a run's deadline allows, a
//! schedule event retried minutes late beside the on-time run, an event time in year
//! 9999, and the faults a run must survive and report truthfully (a timer shard that
//! cannot be read, commits that fail after the alert went out). Faults are injected by
//! SDK interceptors (`leadwatch_e2e::faults`); alerts are counted on an SQS queue
//! subscribed to the topic.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

use leadwatch_adapters::alerts::AlertPublisher;
use leadwatch_adapters::store::Store;
use leadwatch_adapters::table::timer_shard_of;
use leadwatch_core::lead::{LeadProfile, Signal};
use leadwatch_core::lifecycle::Status;
use leadwatch_core::state::LeadState;
use leadwatch_core::Contract;
use leadwatch_e2e::faults::{Delay, FailRequests};
use leadwatch_e2e::{moto, signed, unique_name, AlertInbox};
use leadwatch_watchdog::{RunSummary, Tick, WallClock, WatchdogApp};

/// Monday 2026-11-23 09:00 New York: the MQLs' promotion time.
fn mql_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap()
}

/// The fast-lane SLA (60 business minutes) warns 45 minutes in; the breach is at 60.
fn warning_at() -> DateTime<Utc> {
    mql_at() + Duration::minutes(45)
}

/// A VP demo request: a fast-lane MQL for ae-na, promoted at `mql_at()`.
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

struct Setup {
    app: WatchdogApp,
    inbox: AlertInbox,
    config: aws_config::SdkConfig,
}

/// A table with `n` fast-lane MQLs, a topic and the ae-na manager's queue.
async fn setup(n: usize) -> (Setup, Vec<LeadState>) {
    let config = moto().sdk_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), unique_name("runs"));
    store.create_table().await.unwrap();
    let inbox = AlertInbox::create(&config, &[("ae-na", json!({"team": ["ae-na"]}))]).await;
    let contract = Arc::new(Contract::default_contract().unwrap());
    let states: Vec<LeadState> = (0..n).map(|i| fast_lane_mql(i, &contract)).collect();
    store.import(&states).await.unwrap();
    let app = WatchdogApp {
        store,
        alerts: AlertPublisher::new(aws_sdk_sns::Client::new(&config), &inbox.topic_arn),
        contract,
    };
    (Setup { app, inbox, config }, states)
}

fn wall_clock() -> WallClock {
    Arc::new(Utc::now)
}

/// Alert ids with how often each arrived.
fn counted(alerts: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for a in alerts {
        *counts
            .entry(a["alert_id"].as_str().unwrap_or("?").to_string())
            .or_insert(0) += 1;
    }
    counts
}

fn warning_ids(states: &[LeadState]) -> BTreeSet<String> {
    states
        .iter()
        .map(|st| format!("{}:sla_warning:0", st.lead_id))
        .collect()
}

/// Runs one after another, each with `run_for` on the wall clock, until nothing is
/// due. Every run must end by its deadline, and every warning arrive exactly once.
async fn successive_runs_finish_everything(n: usize, run_for: Duration) {
    let (s, states) = setup(n).await;
    let mut summaries: Vec<RunSummary> = Vec::new();
    let mut slack_ms = Vec::new();
    for k in 0..400 {
        // The schedule's event times move on, all before the breaches fall due.
        let at = warning_at() + Duration::seconds(k);
        let deadline = Utc::now() + run_for;
        let summary = leadwatch_watchdog::run(&s.app, Tick::new(at, wall_clock(), deadline)).await;
        let ended = Utc::now();
        assert!(
            ended <= deadline,
            "run {k} ended {} ms past its deadline: {summary:?}",
            (ended - deadline).num_milliseconds()
        );
        slack_ms.push((deadline - ended).num_milliseconds());
        assert!(!summary.degraded(), "run {k}: {summary:?}");
        let done = summary.due == 0;
        summaries.push(summary);
        if done {
            break;
        }
    }
    let last = summaries.last().expect("runs");
    assert_eq!(last.due, 0, "every step committed: {summaries:?}");
    let published: usize = summaries.iter().map(|r| r.published).sum();
    let committed: usize = summaries.iter().map(|r| r.committed).sum();
    assert_eq!(
        (published, committed),
        (n, n),
        "each step published and committed once"
    );
    assert!(
        summaries.iter().any(|r| r.deferred > 0),
        "a run stopped short of its deadline and left work for the next"
    );
    let alerts = s.inbox.receive_all("ae-na").await;
    let counts = counted(&alerts);
    assert_eq!(
        counts.keys().cloned().collect::<BTreeSet<_>>(),
        warning_ids(&states),
        "every warning arrived"
    );
    assert!(counts.values().all(|c| *c == 1), "none twice");
    println!(
        "{n} due, runs of {} s: {} runs, published per run {:?}, least slack before a deadline {} ms",
        run_for.num_seconds(),
        summaries.len(),
        summaries.iter().map(|r| r.published).collect::<Vec<_>>(),
        slack_ms.iter().min().copied().unwrap_or_default()
    );
}

/// Five hundred due steps, runs of 3 s: the default suite's scale. The local stack
/// serves one request at a time, and a step is four DynamoDB requests of a debug build
/// (about 30 ms), so a 3 s run does some 70 steps and 500 take several runs. The
/// issue's 20,000 is the ignored test below.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn successive_short_runs_finish_five_hundred_due_steps_each_once() {
    successive_runs_finish_everything(500, Duration::seconds(3)).await;
}

/// The issue's figure, 20,000 due (many minutes on a two-core machine):
/// `cargo test -p leadwatch-e2e --test watchdog_runs twenty_thousand -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "20,000 due steps take many minutes against the local stack"]
async fn successive_short_runs_finish_twenty_thousand_due_steps_each_once() {
    // 60 s, the deployed timeout: the local stack's timer queries over 20,000 leads
    // alone take tens of seconds.
    successive_runs_finish_everything(20_000, Duration::seconds(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_schedule_event_retried_four_minutes_late_beside_the_on_time_run_sends_nothing_twice() {
    let (mut s, states) = setup(60).await;
    // Slow publishes keep each chunk's claims open while the other run reads them.
    let sns = aws_sdk_sns::config::Builder::from(&s.config)
        .interceptor(Delay {
            operation: "PublishBatch",
            delay: std::time::Duration::from_millis(150),
        })
        .build();
    s.app.alerts = AlertPublisher::new(aws_sdk_sns::Client::from_conf(sns), &s.inbox.topic_arn);

    // EventBridge retries the event of the warning minute four minutes late, just as
    // the on-time run of that later minute starts: same wall clock, event times four
    // minutes apart. A lease measured from the retried event's time would end two
    // minutes before the on-time run's "now", and both would send.
    let deadline = Utc::now() + Duration::minutes(5);
    let retried = {
        let app = s.app.clone();
        let tick = Tick::new(warning_at(), wall_clock(), deadline);
        tokio::spawn(async move { leadwatch_watchdog::run(&app, tick).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let on_time = {
        let app = s.app.clone();
        let tick = Tick::new(warning_at() + Duration::minutes(4), wall_clock(), deadline);
        tokio::spawn(async move { leadwatch_watchdog::run(&app, tick).await })
    };
    let (retried, on_time) = (retried.await.unwrap(), on_time.await.unwrap());
    println!("retried: {retried:?}\non time: {on_time:?}");
    assert!(!retried.degraded() && !on_time.degraded());
    assert_eq!(retried.claimed + on_time.claimed, 60, "shared, not doubled");
    assert_eq!(retried.published + on_time.published, 60);
    assert!(
        on_time.due == 60 && on_time.claimed < 60,
        "the runs overlapped: the on-time run found live claims of the retried one"
    );
    let alerts = s.inbox.drain("ae-na").await;
    let counts = counted(&alerts);
    assert_eq!(
        counts.keys().cloned().collect::<BTreeSet<_>>(),
        warning_ids(&states)
    );
    assert!(counts.values().all(|c| *c == 1), "none twice: {counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_time_in_year_9999_runs_within_its_deadline() {
    let (s, _) = setup(20).await;
    // The entry point refuses such a time (see watchdog_event.rs); a replay that
    // widened the skew gets here. Every step of every lead is due.
    let at = Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap();
    let deadline = Utc::now() + Duration::seconds(6);
    let summary = leadwatch_watchdog::run(&s.app, Tick::new(at, wall_clock(), deadline)).await;
    let ended = Utc::now();
    println!("{summary:?}");
    assert!(
        ended <= deadline,
        "{} ms late",
        (ended - deadline).num_milliseconds()
    );
    assert!(summary.published >= 20, "it did work: {summary:?}");
    assert!(summary.rounds <= 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_timer_shard_that_cannot_be_read_degrades_the_run_and_the_others_are_worked() {
    let (mut s, states) = setup(40).await;
    let broken = timer_shard_of(&states[0].lead_id);
    let needle = format!(r#""S":"{broken}""#);
    let fail = FailRequests::matching("Query", move |body| body.contains(&needle));
    let dynamo = aws_sdk_dynamodb::config::Builder::from(&s.config)
        .interceptor(fail.clone())
        .build();
    s.app.store = Store::new(
        aws_sdk_dynamodb::Client::from_conf(dynamo),
        s.app.store.table_name(),
    );
    let deadline = Utc::now() + Duration::minutes(2);
    let summary =
        leadwatch_watchdog::run(&s.app, Tick::new(warning_at(), wall_clock(), deadline)).await;
    println!("{summary:?}");
    assert!(fail.failed() > 0);
    assert!(summary.degraded());
    assert!(
        summary
            .problems
            .iter()
            .any(|p| p.starts_with(&format!("timer shard {broken}: query failed"))),
        "{:?}",
        summary.problems
    );
    let reachable = states
        .iter()
        .filter(|st| timer_shard_of(&st.lead_id) != broken)
        .count();
    assert!(reachable < 40);
    assert_eq!(summary.published, reachable, "the other shards were worked");
    assert_eq!(summary.committed, reachable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alerts_that_went_out_but_were_not_committed_are_reported_as_such() {
    let (s, states) = setup(10).await;
    // Claims and commits are both lone PutItems of the lead's item: the ten claims go
    // through (they come first: a chunk is claimed, then published, then committed),
    // every commit after them fails.
    let puts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let fail = FailRequests::matching("PutItem", move |_| {
        puts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 10
    });
    let dynamo = aws_sdk_dynamodb::config::Builder::from(&s.config)
        .interceptor(fail.clone())
        .build();
    let broken = WatchdogApp {
        store: Store::new(
            aws_sdk_dynamodb::Client::from_conf(dynamo),
            s.app.store.table_name(),
        ),
        ..s.app.clone()
    };
    let deadline = Utc::now() + Duration::minutes(2);
    let summary =
        leadwatch_watchdog::run(&broken, Tick::new(warning_at(), wall_clock(), deadline)).await;
    println!("{summary:?}");
    assert!(fail.failed() > 0, "the commits were refused");
    assert_eq!(
        (summary.published, summary.committed, summary.uncommitted),
        (10, 0, 10)
    );
    assert_eq!(
        (summary.failed, summary.released),
        (0, 0),
        "nothing failed to go out"
    );
    assert!(summary
        .problems
        .iter()
        .any(|p| p.starts_with("10 commits failed after publishing")));
    assert_eq!(counted(&s.inbox.drain("ae-na").await).len(), 10);

    // The claims hold for their lease on the wall clock; once it has passed, the
    // steps are due again and the alerts go out again, with the same ids.
    let later: WallClock = Arc::new(|| Utc::now() + Duration::minutes(3));
    let held = leadwatch_watchdog::run(
        &s.app,
        Tick::new(
            warning_at(),
            wall_clock(),
            Utc::now() + Duration::minutes(2),
        ),
    )
    .await;
    assert_eq!(held.published, 0, "the leases still hold: {held:?}");
    let deadline = later() + Duration::minutes(2);
    let retry = leadwatch_watchdog::run(&s.app, Tick::new(warning_at(), later, deadline)).await;
    assert_eq!((retry.published, retry.committed), (10, 10), "{retry:?}");
    let again = s.inbox.drain("ae-na").await;
    assert_eq!(
        counted(&again).keys().cloned().collect::<BTreeSet<_>>(),
        warning_ids(&states),
        "the same alert ids: subscribers drop the repeats"
    );
}
