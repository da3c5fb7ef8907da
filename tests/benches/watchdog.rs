//! How fast one watchdog run works through due steps, and what each step costs in
//! DynamoDB capacity by DynamoDB's sizing rules. Prints figures; asserts nothing about
//! time (the machine and the emulator decide that).
//!
//! ```sh
//! cargo bench -p leadwatch-e2e --bench watchdog --profile dev             # 10,000 due
//! LEADWATCH_BENCH_DUE=2000 cargo bench -p leadwatch-e2e --bench watchdog --profile dev
//! ```
//!
//! `--profile dev` skips the release profile's whole-program optimisation: the run
//! waits on the local stack (moto, one request at a time, in Python), not on our code.
//! The steps per second are therefore the emulator's figure, a floor for DynamoDB,
//! where requests run in parallel (16 claims or commits in flight at once) and take
//! milliseconds. The capacity units are DynamoDB's own rules (`scripts/moto_server.py`
//! computes what DynamoDB would charge), so they carry over as they are.
//!
//! The table holds the due MQLs only (imported, not counted); the topic has no
//! subscriber, so publishing costs SNS's acceptance of each batch and nothing more.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};

use leadwatch_adapters::alerts::AlertPublisher;
use leadwatch_adapters::store::Store;
use leadwatch_core::lead::{LeadProfile, Signal};
use leadwatch_core::state::LeadState;
use leadwatch_core::Contract;
use leadwatch_e2e::faults::CapacityLedger;
use leadwatch_e2e::{moto, signed, unique_name};
use leadwatch_watchdog::{Tick, WallClock, WatchdogApp};

fn mql_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap()
}

fn fast_lane_mql(i: usize, contract: &Contract) -> LeadState {
    let email = format!("vp{i}@acme{i}.io");
    let profile = LeadProfile {
        email: email.clone(),
        first_name: Some(format!("Vee{i}")),
        last_name: Some("Lee".into()),
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
        detail: Some("wants a demo for the revops team".into()),
    };
    state.ingest(None, &[demo], contract, mql_at());
    state
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let due: usize = std::env::var("LEADWATCH_BENCH_DUE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let config = moto().sdk_config().await;
    let ledger = CapacityLedger::default();
    let dynamo = aws_sdk_dynamodb::config::Builder::from(&config)
        .interceptor(ledger.clone())
        .build();
    let store = Store::new(
        aws_sdk_dynamodb::Client::from_conf(dynamo),
        unique_name("bench"),
    );
    store.create_table().await.expect("table");
    let sns = aws_sdk_sns::Client::new(&config);
    let topic = sns
        .create_topic()
        .name(unique_name("bench"))
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("topic arn");
    let contract = Arc::new(Contract::default_contract().expect("contract"));
    let states: Vec<LeadState> = (0..due).map(|i| fast_lane_mql(i, &contract)).collect();
    eprintln!("importing {due} due MQLs");
    store.import(&states).await.expect("import");
    let app = WatchdogApp {
        store: store.clone(),
        alerts: AlertPublisher::new(sns, &topic),
        contract,
    };
    ledger.take();
    let written_before = store.write_units_consumed();

    let clock: WallClock = Arc::new(Utc::now);
    let tick = Tick::new(
        mql_at() + Duration::minutes(45),
        clock,
        Utc::now() + Duration::hours(2),
    );
    let started = Instant::now();
    let summary = leadwatch_watchdog::run(&app, tick).await;
    let took = started.elapsed().as_secs_f64();
    let capacity = ledger.take();
    let steps = summary.committed.max(1) as f64;

    println!("watchdog run over {due} due steps");
    println!(
        "  published {}, committed {}, failed {}, rounds {}, chunks {}",
        summary.published, summary.committed, summary.failed, summary.rounds, summary.chunks
    );
    println!(
        "  {took:.1} s: {:.1} steps/s on the local stack ({:.0} steps in a 57 s run)",
        steps / took,
        57.0 * steps / took
    );
    println!(
        "  WCU per step {:.2} (store's own count {:.2}), RCU per step {:.2} (timer queries {:.3})",
        capacity.write_units / steps,
        (store.write_units_consumed() - written_before) / steps,
        capacity.read_units / steps,
        summary.timer_read_units / steps
    );
    let per_step: Vec<String> = capacity
        .requests
        .iter()
        .map(|(op, n)| format!("{op} {:.2}", *n as f64 / steps))
        .collect();
    println!("  DynamoDB requests per step: {}", per_step.join(", "));
    let units: Vec<String> = capacity
        .by_operation
        .iter()
        .map(|(op, (r, w))| format!("{op} {:.2} RCU {:.2} WCU", r / steps, w / steps))
        .collect();
    println!("  capacity per step by operation: {}", units.join(", "));
    if summary.degraded() {
        println!("  problems: {:?}", summary.problems);
    }
}
