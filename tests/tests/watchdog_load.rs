//! The watchdog under concurrency, races, a failing SNS path and a large table.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_sdk_sns::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_sns::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sns::error::BoxError;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

use leadwatch_adapters::alerts::AlertPublisher;
use leadwatch_adapters::store::{Change, Store};
use leadwatch_core::access::Role;
use leadwatch_core::commands::disposition::{dispose, Action, Disposition, Refused};
use leadwatch_core::lead::{LeadProfile, Signal};
use leadwatch_core::lifecycle::Status;
use leadwatch_core::state::LeadState;
use leadwatch_core::{Contract, LeadIds};
use leadwatch_e2e::{moto, test_caller, unique_name, AlertInbox, ALL_TEAMS};
use leadwatch_watchdog::{RunSummary, Tick, WallClock, WatchdogApp};

/// A watchdog run at event time `at`: leases on the real clock, and all the time a run
/// on the local stack needs.
async fn run(app: &WatchdogApp, at: DateTime<Utc>) -> RunSummary {
    let clock: WallClock = Arc::new(Utc::now);
    let deadline = Utc::now() + Duration::minutes(10);
    leadwatch_watchdog::run(app, Tick::new(at, clock, deadline)).await
}

/// Monday 2026-11-23 09:00 New York: the MQLs' promotion time.
fn mql_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap()
}

/// The fast-lane SLA (60 business minutes) warns 45 minutes in.
fn warning_at() -> DateTime<Utc> {
    mql_at() + Duration::minutes(45)
}

/// A VP demo request: a fast-lane MQL for ae-na, promoted at `mql_at()`.
fn fast_lane_mql(i: usize, contract: &Contract) -> LeadState {
    let profile = LeadProfile {
        email: format!("vp{i}@acme{i}.io"),
        first_name: Some(format!("Vee{i}")),
        title: Some("VP Sales".into()),
        company: Some(format!("Acme {i}")),
        employees: Some(300),
        country: Some("US".into()),
        source: Some("website".into()),
        ..Default::default()
    };
    let mut state = LeadState::new(
        LeadIds::development().id_for(&profile.email),
        profile,
        contract,
        mql_at(),
    );
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

/// A nurtured lead: in the table, on no index.
fn nurtured(i: usize, contract: &Contract) -> LeadState {
    let profile = LeadProfile {
        email: format!("reader{i}@example{i}.com"),
        title: Some("Analyst".into()),
        employees: Some(80),
        country: Some("US".into()),
        ..Default::default()
    };
    let mut state = LeadState::new(
        LeadIds::development().id_for(&profile.email),
        profile,
        contract,
        mql_at(),
    );
    let view = Signal {
        kind: "blog_view".into(),
        at: mql_at(),
        seconds_on_page: Some(40),
        question: false,
        detail: None,
    };
    state.ingest(None, &[view], contract, mql_at());
    state
}

struct Setup {
    app: WatchdogApp,
    inbox: AlertInbox,
    config: aws_config::SdkConfig,
}

async fn setup() -> Setup {
    let config = moto().sdk_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), unique_name("load"));
    store.create_table().await.unwrap();
    let inbox = AlertInbox::create(&config, &[("ae-na", json!({"team": ["ae-na"]}))]).await;
    let app = WatchdogApp {
        store,
        alerts: AlertPublisher::new(aws_sdk_sns::Client::new(&config), &inbox.topic_arn),
        contract: Arc::new(Contract::default_contract().unwrap()),
    };
    Setup { app, inbox, config }
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

#[tokio::test]
async fn eight_concurrent_runs_over_a_thousand_due_mqls_send_every_alert_once() {
    let s = setup().await;
    let states: Vec<LeadState> = (0..1000)
        .map(|i| fast_lane_mql(i, &s.app.contract))
        .collect();
    s.app.store.import(&states).await.unwrap();

    let mut runs = Vec::new();
    for _ in 0..8 {
        let app = s.app.clone();
        runs.push(tokio::spawn(async move { run(&app, warning_at()).await }));
    }
    let mut warned = 0;
    for r in runs {
        let summary = r.await.unwrap();
        assert_eq!(summary.failed, 0);
        warned += summary.warned;
    }
    assert_eq!(warned, 1000, "the runs shared the work without overlap");
    let alerts = s.inbox.drain("ae-na").await;
    let counts = counted(&alerts);
    assert_eq!(counts.len(), 1000, "every alert arrived");
    assert!(counts.values().all(|n| *n == 1), "none twice");
    assert!(alerts.iter().all(|a| a["kind"] == "sla_warning"));
}

#[tokio::test]
async fn an_acceptance_that_commits_first_is_never_escalated() {
    let s = setup().await;
    let contract = Arc::clone(&s.app.contract);
    let states: Vec<LeadState> = (0..200).map(|i| fast_lane_mql(i, &contract)).collect();
    let ids: Vec<String> = states.iter().map(|st| st.lead_id.clone()).collect();
    s.app.store.import(&states).await.unwrap();

    // 200 accepts racing two watchdog runs, all at the warning instant. Sixteen at a
    // time, as many as the watchdog itself: the local moto serves one request at a
    // time, and hundreds of waiting connections would time out before they race.
    let permits = Arc::new(tokio::sync::Semaphore::new(16));
    let mut accepts = Vec::new();
    for id in ids.clone() {
        let store = s.app.store.clone();
        let contract = Arc::clone(&contract);
        let permits = Arc::clone(&permits);
        accepts.push(tokio::spawn(async move {
            let _permit = permits.acquire().await.expect("semaphore open");
            store
                .update_lead(&id, |cur| {
                    let by = Disposition {
                        by: "rep@seller.io".into(),
                        reason: None,
                        note: None,
                    };
                    let rep = test_caller("rep@seller.io", &ALL_TEAMS, &[Role::Rep]);
                    let outcome = dispose(
                        cur,
                        Action::Accept,
                        &by,
                        &rep,
                        Status::Mql,
                        &contract,
                        warning_at(),
                    )?;
                    Ok::<_, Refused>(Some(Change::from(outcome)))
                })
                .await
        }));
    }
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let app = s.app.clone();
            tokio::spawn(async move { run(&app, warning_at()).await })
        })
        .collect();
    for a in accepts {
        a.await.unwrap().unwrap().unwrap();
    }
    for r in runs {
        r.await.unwrap();
    }
    // Later runs find nothing: accepted leads have no timer.
    assert_eq!(run(&s.app, warning_at() + Duration::hours(3)).await.due, 0);

    let alerts = s.inbox.drain("ae-na").await;
    assert!(counted(&alerts).values().all(|n| *n == 1));
    let mut raced = 0;
    for id in &ids {
        let records = s.app.store.history_records(id).await.unwrap();
        let accepted_at_version = records
            .iter()
            .find(|(_, events)| events.iter().any(|e| e.kind == "accept"))
            .map(|(v, _)| *v)
            .expect("every accept committed");
        for alert in alerts.iter().filter(|a| a["lead_id"] == json!(id)) {
            raced += 1;
            let claimed_at_version = alert["lead_version"].as_u64().unwrap();
            assert!(
                claimed_at_version < accepted_at_version,
                "{id}: alert claimed at version {claimed_at_version}, after the acceptance at {accepted_at_version}"
            );
            assert_eq!(alert["kind"], "sla_warning", "only the warning was due");
        }
        let lead = s.app.store.get_lead(id).await.unwrap().unwrap();
        assert_eq!(lead.status, Status::Sal);
    }
    println!("{raced} of 200 leads were warned before their acceptance committed");
}

/// Fails about 30 % of SNS requests before they are sent, like a flaky network path.
#[derive(Debug, Default)]
struct FlakyNetwork {
    calls: AtomicU64,
    failed: AtomicU64,
}

impl Intercept for FlakyNetwork {
    fn name(&self) -> &'static str {
        "FlakyNetwork"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        // A fixed pseudo-random pattern (Knuth's multiplicative hash): 3 in 10 fail.
        if n.wrapping_mul(2_654_435_761) % 10 < 3 {
            self.failed.fetch_add(1, Ordering::Relaxed);
            return Err("injected network failure".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct SharedFlaky(Arc<FlakyNetwork>);

impl Intercept for SharedFlaky {
    fn name(&self) -> &'static str {
        "SharedFlaky"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0
            .read_before_transmit(context, runtime_components, cfg)
    }
}

#[tokio::test]
async fn with_thirty_percent_of_publishes_failing_every_alert_arrives_once() {
    let mut s = setup().await;
    let flaky = Arc::new(FlakyNetwork::default());
    let sns_config = aws_sdk_sns::config::Builder::from(&s.config)
        .interceptor(SharedFlaky(Arc::clone(&flaky)))
        .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled())
        .build();
    s.app.alerts = AlertPublisher::new(
        aws_sdk_sns::Client::from_conf(sns_config),
        &s.inbox.topic_arn,
    );
    let states: Vec<LeadState> = (0..120)
        .map(|i| fast_lane_mql(i, &s.app.contract))
        .collect();
    s.app.store.import(&states).await.unwrap();

    // Runs every minute from the warning on: failed steps stay claimable and are retried.
    let mut failed = 0;
    for minute in 0..10 {
        let summary = run(&s.app, warning_at() + Duration::seconds(minute)).await;
        failed += summary.failed;
        if summary.due == 0 {
            break;
        }
    }
    assert!(
        flaky.failed.load(Ordering::Relaxed) > 0 && failed > 0,
        "the failure path was exercised"
    );
    let alerts = s.inbox.drain("ae-na").await;
    let counts = counted(&alerts);
    let expected: BTreeSet<String> = states
        .iter()
        .map(|st| format!("{}:sla_warning:0", st.lead_id))
        .collect();
    assert_eq!(
        counts.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "every alert arrived"
    );
    assert!(counts.values().all(|n| *n == 1), "none twice");
    println!("{failed} publishes failed and were retried");
}

#[tokio::test]
async fn watchdog_cost_follows_due_timers_not_table_size() {
    let mut figures = Vec::new();
    // 10,000 rather than 100,000: moto answers a GSI query by walking the whole table
    // in Python, so the large table costs minutes of CI time without telling more.
    for table_size in [100usize, 10_000] {
        let s = setup().await;
        let contract = Arc::clone(&s.app.contract);
        let mut states: Vec<LeadState> = (0..50).map(|i| fast_lane_mql(i, &contract)).collect();
        states.extend((50..table_size).map(|i| nurtured(i, &contract)));
        s.app.store.import(&states).await.unwrap();
        let summary = run(&s.app, warning_at()).await;
        assert_eq!((summary.due, summary.warned), (50, 50));
        figures.push((table_size, summary.timer_read_units, summary.due));
    }
    println!("watchdog timer-index reads (table size, read units, index items read): {figures:?}");
    let (small, large) = (figures[0].1, figures[1].1);
    assert!(small > 0.0);
    assert!((large - small).abs() <= small * 0.10, "{small} vs {large}");
    assert_eq!(
        figures[0].2, figures[1].2,
        "the index holds only the due leads"
    );
}
