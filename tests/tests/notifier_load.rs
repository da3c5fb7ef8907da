//! Issue 12's delivery faults, end to end: the real watchdog publishes to an SNS topic,
//! the notifier's queue (raw, filter-less) takes every copy SNS delivers, and the
//! notifier's handler, driven the way Lambda's SQS event source drives it, delivers to
//! the channel sinks. Counted at the sinks, by alert id and channel, every alert
//! arrives exactly once:
//!
//! - **SNS faults**: 30 % of publishes fail *after* SNS delivered them (the response is
//!   lost), so the SDK retries the batch and SNS delivers it again, with 8 concurrent
//!   watchdog runs per tick; the queue is drained by 4 notifiers at once, and every
//!   third batch goes to two notifiers at the same time.
//! - **Kill after publishing**: a run publishes and dies before committing; the next
//!   run, once the claims lapse, publishes everything again.
//!
//! The default suite runs the SNS faults over 100 MQLs (about 40 s on two busy cores against
//! the local stack, which serves one request at a time); the 1,000 is the
//! `#[ignore]`d test beside it:
//! `cargo test -p leadwatch-e2e --test notifier_load -- --ignored --nocapture`.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use aws_sdk_sns::config::interceptors::BeforeDeserializationInterceptorContextMut;
use aws_sdk_sns::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sns::error::BoxError;
use chrono::{DateTime, Duration, TimeZone, Utc};

use leadwatch_adapters::alerts::AlertPublisher;
use leadwatch_adapters::store::{Change, Store};
use leadwatch_core::commands::watchdog::{claim_due_step, StepClaim};
use leadwatch_core::lead::{LeadProfile, Signal};
use leadwatch_core::lifecycle::Status;
use leadwatch_core::state::{LeadState, CLAIM_LEASE_SECONDS};
use leadwatch_core::Contract;
use leadwatch_e2e::sinks::{deliveries, drain, email_sink, notifier, AlertQueue, WebhookServer};
use leadwatch_e2e::{moto, unique_name};
use leadwatch_watchdog::{run, Tick, WallClock, WatchdogApp};

/// A watchdog run at event time `at` on a wall clock `ahead` of the real one (claim
/// leases run on the wall clock), with all the time a run on the local stack needs.
fn tick(at: DateTime<Utc>, ahead: Duration) -> Tick {
    let clock: WallClock = Arc::new(move || Utc::now() + ahead);
    Tick::new(at, clock, Utc::now() + ahead + Duration::minutes(10))
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
        leadwatch_e2e::lead_id(&profile.email),
        profile.clone(),
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

/// Lets about 30 % of SNS requests through and then loses their response: SNS has
/// delivered the messages, the client sees a 500 and retries the whole batch.
#[derive(Debug, Default)]
struct LostResponses {
    calls: AtomicU64,
    lost: AtomicU64,
}

#[derive(Debug, Clone)]
struct SharedLost(Arc<LostResponses>);

impl Intercept for SharedLost {
    fn name(&self) -> &'static str {
        "LostResponses"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let n = self.0.calls.fetch_add(1, Ordering::Relaxed);
        // A fixed pseudo-random pattern (Knuth's multiplicative hash): 3 in 10.
        if n.wrapping_mul(2_654_435_761) % 10 < 3 {
            self.0.lost.fetch_add(1, Ordering::Relaxed);
            *context.response_mut().status_mut() = 500.try_into()?;
        }
        Ok(())
    }
}

struct Stack {
    config: aws_config::SdkConfig,
    store: Store,
    contract: Arc<Contract>,
    topic: String,
    queue: Arc<AlertQueue>,
}

async fn stack() -> Stack {
    let config = moto().sdk_config().await;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&config),
        unique_name("deliver"),
    );
    store.create_table().await.unwrap();
    let topic = aws_sdk_sns::Client::new(&config)
        .create_topic()
        .name(unique_name("alerts"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let queue = AlertQueue::create(&config, None).await;
    queue.subscribe_to(&config, &topic).await;
    Stack {
        config,
        store,
        contract: Arc::new(Contract::default_contract().unwrap()),
        topic,
        queue: Arc::new(queue),
    }
}

/// The ids of the warnings of `states`, and the two deliveries each should make under
/// the shipped contract: the ae-na manager's email and the team's Slack channel.
fn expected(states: &[LeadState]) -> BTreeSet<(String, String)> {
    states
        .iter()
        .flat_map(|s| {
            let id = format!("{}:sla_warning:0", s.lead_id);
            [
                (id.clone(), "ae-na-manager#kim@seller.io".to_string()),
                (id, "ae-na-slack".to_string()),
            ]
        })
        .collect()
}

fn assert_each_once(counts: &BTreeMap<(String, String), usize>, want: &BTreeSet<(String, String)>) {
    let got: BTreeSet<(String, String)> = counts.keys().cloned().collect();
    let missing: Vec<_> = want.difference(&got).take(5).collect();
    let extra: Vec<_> = got.difference(want).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, unexpected {extra:?}"
    );
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).take(5).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
}

async fn sns_faults(mqls: usize) {
    let started = Instant::now();
    let s = stack().await;
    let lost = Arc::new(LostResponses::default());
    let sns = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&s.config)
            .interceptor(SharedLost(Arc::clone(&lost)))
            // The watchdog's own budget: up to 3 attempts.
            .retry_config(aws_sdk_sns::config::retry::RetryConfig::standard().with_max_attempts(3))
            .build(),
    );
    let app = WatchdogApp {
        store: s.store.clone(),
        alerts: AlertPublisher::new(sns, &s.topic),
        contract: Arc::clone(&s.contract),
    };
    let states: Vec<LeadState> = (0..mqls).map(|i| fast_lane_mql(i, &s.contract)).collect();
    s.store.import(&states).await.unwrap();

    // A tick a second from the warning on, each tick 8 runs at once, until nothing is
    // due: a batch whose every attempt failed is released and published again.
    let mut warned = 0;
    let mut ticks = 0;
    for second in 0..30 {
        ticks += 1;
        let at = warning_at() + Duration::seconds(second);
        let runs: Vec<_> = (0..8)
            .map(|_| {
                let app = app.clone();
                tokio::spawn(async move { run(&app, tick(at, Duration::zero())).await })
            })
            .collect();
        let mut due = 0;
        for r in runs {
            let summary = r.await.unwrap();
            warned += summary.warned;
            due = due.max(summary.due);
        }
        if due == 0 {
            break;
        }
    }
    let published = started.elapsed();
    assert_eq!(warned, mqls, "every MQL was warned and committed once");

    let email = email_sink();
    let hooks = WebhookServer::start().await;
    let notifier = notifier(&s.store, &s.contract, &email, &hooks);
    let drained = drain(&notifier, &s.queue, 4, true, StdDuration::from_secs(600)).await;

    let copies: usize = drained.copies.values().map(BTreeSet::len).sum();
    let repeated = drained.copies.values().filter(|m| m.len() > 1).count();
    println!(
        "{mqls} MQLs, {ticks} ticks of 8 runs: {} of {} SNS responses lost; {copies} queue messages \
         for {} alerts ({repeated} alerts arrived more than once); notifier: {} messages handed \
         (duplicates and retries included), {} sends, {} duplicate deliveries absorbed, \
         {} found in flight; watchdog {:.1} s, notifier {:.1} s",
        lost.lost.load(Ordering::Relaxed),
        lost.calls.load(Ordering::Relaxed),
        drained.copies.len(),
        drained.summary.messages,
        drained.summary.delivered,
        drained.summary.duplicates,
        drained.summary.in_flight,
        published.as_secs_f64(),
        started.elapsed().as_secs_f64() - published.as_secs_f64(),
    );
    assert!(
        lost.lost.load(Ordering::Relaxed) > 0 && repeated > 0,
        "SNS delivered some alerts twice: the fault was exercised"
    );
    assert!(
        drained.summary.duplicates > 0,
        "the notifier absorbed duplicates"
    );
    assert_each_once(&deliveries(&email, &hooks), &expected(&states));
}

#[tokio::test]
async fn with_sns_responses_lost_and_eight_runs_per_tick_each_alert_reaches_each_channel_once() {
    sns_faults(100).await;
}

#[tokio::test]
#[ignore = "the issue's 1,000 MQLs: minutes against the local stack; run with --ignored"]
async fn with_sns_responses_lost_over_a_thousand_mqls_each_alert_reaches_each_channel_once() {
    sns_faults(1000).await;
}

#[tokio::test]
async fn a_run_killed_after_publishing_still_reaches_each_channel_once() {
    let s = stack().await;
    let app = WatchdogApp {
        store: s.store.clone(),
        alerts: AlertPublisher::new(aws_sdk_sns::Client::new(&s.config), &s.topic),
        contract: Arc::clone(&s.contract),
    };
    let states: Vec<LeadState> = (0..20).map(|i| fast_lane_mql(i, &s.contract)).collect();
    s.store.import(&states).await.unwrap();

    // The run that dies: it claims every due step and publishes the alerts, and is
    // killed before it commits anything.
    let mut alerts = Vec::new();
    for state in &states {
        let saved = s
            .store
            .update_lead(&state.lead_id, |current| {
                let outcome = current.and_then(|st| {
                    claim_due_step(st, "killed-run", &s.contract, warning_at(), Utc::now())
                });
                Ok::<_, Infallible>(outcome.map(Change::from))
            })
            .await
            .unwrap()
            .unwrap();
        let StepClaim { alert, .. } = s.store.settle(saved).expect("claimed");
        alerts.push(alert);
    }
    let published = app.alerts.publish(&alerts).await;
    assert!(published.iter().all(Result::is_ok), "{published:?}");

    // While its claims hold, other runs leave the steps alone; once they lapse, the
    // next run publishes every alert again and commits.
    let on_time = run(&app, tick(warning_at(), Duration::zero())).await;
    assert_eq!(on_time.warned, 0);
    let lapsed = Duration::seconds(CLAIM_LEASE_SECONDS + 1);
    assert_eq!(
        run(&app, tick(warning_at(), lapsed)).await.warned,
        states.len()
    );

    let email = email_sink();
    let hooks = WebhookServer::start().await;
    let notifier = notifier(&s.store, &s.contract, &email, &hooks);
    let drained = drain(&notifier, &s.queue, 2, false, StdDuration::from_secs(120)).await;
    assert!(
        drained.copies.values().all(|m| m.len() == 2),
        "each alert was on the queue twice: {:?}",
        drained
            .copies
            .values()
            .map(BTreeSet::len)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        drained.summary.duplicates,
        2 * states.len(),
        "the second copies were absorbed"
    );
    assert_each_once(&deliveries(&email, &hooks), &expected(&states));
}
