//! What Leadwatch costs at a million leads a day: a scaled-down day simulated on the
//! local stack, every DynamoDB request's capacity counted by DynamoDB's sizing rules
//! (`scripts/moto_server.py` computes what DynamoDB would charge), then extrapolated
//! to the full load and priced at published on-demand prices. Prints the tables of
//! `docs/cost.md`:
//!
//! ```sh
//! cargo bench -p leadwatch-e2e --bench cost --profile dev
//! LEADWATCH_COST_LEADS=4000 cargo bench -p leadwatch-e2e --bench cost --profile dev
//! ```
//!
//! The load (issue 15): 1,000,000 leads a day, peaks at 10x the average, 5 % of them
//! MQLs, and 50,000 open MQLs over 100 teams (500 in a team's queue). Capacity units
//! depend on item sizes and request counts, not on the table's size, so a smaller day
//! (`LEADWATCH_COST_LEADS`, 2,000 by default) gives the per-operation figures, and the
//! day's totals follow by multiplication. What the emulator cannot give (Lambda's
//! billed milliseconds in AWS) is an assumption, printed as such.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use lambda_http::http::Request as HttpRequest;
use lambda_http::Body;
use serde_json::{json, Value};

use leadwatch_adapters::alerts::AlertPublisher;
use leadwatch_adapters::store::Store;
use leadwatch_api::disposition::DispositionApp;
use leadwatch_api::ingest::IngestApp;
use leadwatch_api::report::ReportApp;
use leadwatch_core::lead::{LeadProfile, Signal};
use leadwatch_core::state::LeadState;
use leadwatch_core::Contract;
use leadwatch_e2e::faults::{Capacity, CapacityLedger};
use leadwatch_e2e::{moto, signed, signed_in, unique_name};
use leadwatch_watchdog::{Tick, WallClock, WatchdogApp};

/// The full load the figures are extrapolated to.
const LEADS_PER_DAY: f64 = 1_000_000.0;
const MQL_SHARE: f64 = 0.05;
/// Leads that send a second signal later (a signed CRM or product post).
const SIGNAL_SHARE: f64 = 0.30;
const OPEN_MQLS: usize = 50_000;
const TEAMS: usize = 100;
/// Watchdog steps an MQL goes through: a warning, and for some a breach or two.
const STEPS_PER_MQL: f64 = 1.5;
/// The watchdog's schedule: once a minute.
const TICKS_PER_DAY: f64 = 1_440.0;
/// Reps open their queue often; managers and ops read reports.
const QUEUE_VIEWS_PER_DAY: f64 = 100.0 * 10.0 * 30.0;
const REPORTS_PER_DAY: f64 = 500.0;
/// Every alert is an SNS publish, delivered by email to one manager (SES).
const EMAILS_PER_ALERT: f64 = 1.0;

/// us-east-1 on-demand list prices, USD.
const WRU: f64 = 0.625 / 1e6;
const RRU: f64 = 0.125 / 1e6;
const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
const SNS_PUBLISH: f64 = 0.50 / 1e6;
const SQS_REQUEST: f64 = 0.40 / 1e6;
const SES_EMAIL: f64 = 0.10 / 1e3;

/// Assumed in AWS (the emulator cannot say): a DynamoDB request from Lambda in the
/// same region takes about this long, and each invocation adds this much CPU on top.
const MS_PER_DYNAMODB_REQUEST: f64 = 6.0;
const MS_CPU_PER_INVOCATION: f64 = 2.0;
const FUNCTION_GB: f64 = 0.25;

fn day() -> DateTime<Utc> {
    // Monday 2026-11-23 09:00 New York.
    Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap()
}

fn post(path: &str, body: &Value) -> lambda_http::Request {
    HttpRequest::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap()
}

fn get(path: &str) -> lambda_http::Request {
    HttpRequest::builder()
        .method("GET")
        .uri(path)
        .body(Body::Empty)
        .unwrap()
}

/// A lead of the simulated day, as the website's forms post it (no signature): every
/// twentieth a VP's demo request (a fast-lane MQL), the others a webinar sign-up that
/// is not one.
fn lead_form(i: usize) -> String {
    if i.is_multiple_of(20) {
        format!(
            "form=demo&email=vp{i}%40acme{i}.io&first_name=Vee&last_name=Lee&title=VP+Sales\
             &company=Acme+{i}&employees=300&industry=saas&country=US&message=Can+I+see+it"
        )
    } else {
        format!(
            "form=webinar&email=reader{i}%40tailspin{i}.io&first_name=Wen&company=Tailspin+{i}\
             &title=Marketing+Manager&employees=40&country=US&signal=webinar_attended"
        )
    }
}

fn form_post(form: String) -> lambda_http::Request {
    HttpRequest::builder()
        .method("POST")
        .uri("/leads")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::Text(form))
        .unwrap()
}

/// An open fast-lane MQL, imported (not counted) to fill a queue or a watchdog run.
fn open_mql(i: usize, contract: &Contract, at: DateTime<Utc>) -> LeadState {
    let email = format!("open{i}@fabrikam{i}.io");
    let profile = LeadProfile {
        email: email.clone(),
        first_name: Some("Oda".into()),
        title: Some("VP Sales".into()),
        company: Some(format!("Fabrikam {i}")),
        employees: Some(300),
        country: Some("US".into()),
        source: Some("website".into()),
        ..Default::default()
    };
    let mut state = LeadState::new(leadwatch_e2e::lead_id(&email), profile, contract, at);
    let demo = Signal {
        kind: "demo_request".into(),
        at,
        seconds_on_page: None,
        question: false,
        detail: Some("wants a demo".into()),
    };
    state.ingest(None, &[demo], contract, at);
    state.version = 1;
    state
}

/// One kind of operation, measured: how many ran, and what they cost all told.
struct Measured {
    name: &'static str,
    runs: usize,
    capacity: Capacity,
}

impl Measured {
    fn wcu(&self) -> f64 {
        self.capacity.write_units / self.runs as f64
    }
    fn rcu(&self) -> f64 {
        self.capacity.read_units / self.runs as f64
    }
    fn requests(&self) -> f64 {
        self.capacity.requests.values().sum::<u64>() as f64 / self.runs as f64
    }
    fn row(&self) -> String {
        let by_op: Vec<String> = self
            .capacity
            .requests
            .iter()
            .map(|(op, n)| format!("{op} {:.2}", *n as f64 / self.runs as f64))
            .collect();
        format!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {} |",
            self.name,
            self.runs,
            self.requests(),
            self.wcu(),
            self.rcu(),
            by_op.join(", ")
        )
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let leads: usize = std::env::var("LEADWATCH_COST_LEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let per_team = OPEN_MQLS / TEAMS;
    let config = moto().sdk_config().await;
    let ledger = CapacityLedger::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(ledger.clone())
            .build(),
    );
    let table = unique_name("cost");
    let store = Store::new(client, &table);
    store.create_table().await.expect("table");
    let sns = aws_sdk_sns::Client::new(&config);
    let topic = sns
        .create_topic()
        .name(unique_name("cost"))
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("topic arn");
    let contract = Arc::new(Contract::default_contract().expect("contract"));
    let ingest = IngestApp {
        store: store.clone(),
        contract: Arc::clone(&contract),
        sources: leadwatch_e2e::test_sources(),
        lead_ids: leadwatch_core::LeadIds::development(),
    };
    let disposition = DispositionApp {
        store: store.clone(),
        contract: Arc::clone(&contract),
    };
    let report = ReportApp {
        store: store.clone(),
        contract: Arc::clone(&contract),
        exports: None,
    };
    let watchdog = WatchdogApp {
        store: store.clone(),
        alerts: AlertPublisher::new(sns, &topic),
        contract: Arc::clone(&contract),
    };
    ledger.take();
    let mut measured = Vec::new();

    // The day's new leads, and a second signal for some of them.
    eprintln!("ingesting {leads} leads");
    let mut new_leads = (0, 0, Capacity::default(), Capacity::default());
    for i in 0..leads {
        let at = day() + Duration::seconds(i as i64);
        let r = leadwatch_api::ingest::handle(&ingest, form_post(lead_form(i)), at).await;
        assert!(r.status().is_success(), "{:?}", r.body());
        let taken = ledger.take();
        if i.is_multiple_of(20) {
            new_leads.1 += 1;
            add(&mut new_leads.3, taken);
        } else {
            new_leads.0 += 1;
            add(&mut new_leads.2, taken);
        }
    }
    measured.push(Measured {
        name: "new lead from a web form, not an MQL",
        runs: new_leads.0,
        capacity: new_leads.2,
    });
    measured.push(Measured {
        name: "new lead from a web form, an MQL",
        runs: new_leads.1,
        capacity: new_leads.3,
    });
    let signals = (leads as f64 * SIGNAL_SHARE) as usize;
    for i in 0..signals {
        let at = day() + Duration::minutes(30) + Duration::seconds(i as i64);
        let email = if i.is_multiple_of(20) {
            format!("vp{i}@acme{i}.io")
        } else {
            format!("reader{i}@tailspin{i}.io")
        };
        let body = json!({"signals": [{"type": "pricing_page_visit", "at": at.to_rfc3339(), "seconds_on_page": 40}]});
        let path = format!("/leads/{}/signals", leadwatch_e2e::lead_id(&email));
        let r = leadwatch_api::ingest::handle(&ingest, signed(post(&path, &body), at), at).await;
        assert!(r.status().is_success(), "{:?}", r.body());
    }
    measured.push(Measured {
        name: "signal from a signed source (POST /leads/{id}/signals)",
        runs: signals,
        capacity: ledger.take(),
    });

    // One team's queue at the full load's depth, and the watchdog over the same MQLs.
    eprintln!("importing {per_team} open MQLs of one team");
    let opened = day() - Duration::days(7);
    let open: Vec<LeadState> = (0..per_team)
        .map(|i| open_mql(i, &contract, opened))
        .collect();
    let team = open[0].team.clone().expect("a routed MQL");
    store.import(&open).await.expect("import");
    ledger.take();
    let queue_views = 5;
    for _ in 0..queue_views {
        let r = leadwatch_api::disposition::handle(
            &disposition,
            signed_in(get(&format!("/queue?team={team}"))),
            day(),
        )
        .await;
        assert_eq!(r.status(), 200, "{:?}", r.body());
    }
    measured.push(Measured {
        name: "queue view, 500 open MQLs (GET /queue)",
        runs: queue_views,
        capacity: ledger.take(),
    });

    // A tick with nothing due: what every minute costs whatever the load.
    let clock: WallClock = Arc::new(Utc::now);
    let idle = Tick::new(
        day() - Duration::days(30),
        Arc::clone(&clock),
        Utc::now() + Duration::minutes(10),
    );
    let summary = leadwatch_watchdog::run(&watchdog, idle).await;
    assert_eq!(summary.due, 0, "{summary:?}");
    measured.push(Measured {
        name: "watchdog tick, nothing due (timer queries)",
        runs: 1,
        capacity: ledger.take(),
    });
    // Every imported MQL is overdue by now: one step each (claim, publish, commit).
    let busy = Tick::new(day(), clock, Utc::now() + Duration::minutes(30));
    let summary = leadwatch_watchdog::run(&watchdog, busy).await;
    assert!(summary.committed > 0, "{summary:?}");
    measured.push(Measured {
        name: "watchdog step (claim, alert, commit)",
        runs: summary.committed,
        capacity: ledger.take(),
    });

    // Sales answers: an accept per MQL of the day (its lone write).
    for i in (0..leads).step_by(20) {
        let id = leadwatch_e2e::lead_id(&format!("vp{i}@acme{i}.io"));
        let r = leadwatch_api::disposition::handle(
            &disposition,
            signed_in(post(
                &format!("/leads/{id}/accept"),
                &json!({"by": "ae@example.com"}),
            )),
            day() + Duration::hours(1),
        )
        .await;
        assert_eq!(r.status(), 200, "{:?}", r.body());
    }
    measured.push(Measured {
        name: "accept (POST /leads/{id}/accept)",
        runs: new_leads.1,
        capacity: ledger.take(),
    });

    // The rollup function, over everything the day wrote.
    let rollup = leadwatch_rollup::count_local_stream(&config, &store, Utc::now())
        .await
        .expect("count the stream");
    let versions = rollup.counted.added.max(1);
    measured.push(Measured {
        name: "rollup, per counted version (stream)",
        runs: versions,
        capacity: ledger.take(),
    });

    let reports = 5;
    for _ in 0..reports {
        let r = leadwatch_api::report::handle(
            &report,
            signed_in(get("/reports/sla?from=2026-11&to=2026-11")),
            day(),
        )
        .await;
        assert_eq!(r.status(), 200, "{:?}", r.body());
    }
    measured.push(Measured {
        name: "SLA report, one month (GET /reports/sla)",
        runs: reports,
        capacity: ledger.take(),
    });

    print_tables(&measured, leads);
}

fn add(total: &mut Capacity, more: Capacity) {
    total.read_units += more.read_units;
    total.write_units += more.write_units;
    for (op, n) in more.requests {
        *total.requests.entry(op).or_default() += n;
    }
    for (op, (r, w)) in more.by_operation {
        let slot = total.by_operation.entry(op).or_default();
        slot.0 += r;
        slot.1 += w;
    }
}

/// The measured figures, then a day of the full load: requests, capacity and dollars.
fn print_tables(measured: &[Measured], leads: usize) {
    let find = |prefix: &str| {
        measured
            .iter()
            .find(|m| m.name.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix} was measured"))
    };
    println!("## Measured per operation ({leads} simulated leads, DynamoDB sizing rules)\n");
    println!("| operation | runs | DynamoDB requests | WCU | RCU | requests by kind |");
    println!("|---|---:|---:|---:|---:|---|");
    for m in measured {
        println!("{}", m.row());
    }

    let mqls = LEADS_PER_DAY * MQL_SHARE;
    let steps = mqls * STEPS_PER_MQL;
    // Versions the rollup function counts: each MQL's creation and its disposition,
    // and (an upper bound) every watchdog step.
    let counted_versions = 2.0 * mqls + steps;
    // (what, a day's count, its measured cost, through the HTTP API, invocations each)
    let day: Vec<(&str, f64, &Measured, bool, f64)> = vec![
        (
            "new leads, not MQLs",
            LEADS_PER_DAY - mqls,
            find("new lead from a web form, not"),
            true,
            1.0,
        ),
        (
            "new leads, MQLs",
            mqls,
            find("new lead from a web form, an MQL"),
            true,
            1.0,
        ),
        (
            "signals",
            LEADS_PER_DAY * SIGNAL_SHARE,
            find("signal"),
            true,
            1.0,
        ),
        ("accepts and rejects", mqls, find("accept"), true, 1.0),
        (
            "watchdog ticks",
            TICKS_PER_DAY,
            find("watchdog tick"),
            false,
            1.0,
        ),
        // Steps run inside the ticks' invocations.
        ("watchdog steps", steps, find("watchdog step"), false, 0.0),
        // A stream batch of about 100 versions per invocation.
        (
            "rollup (versions counted)",
            counted_versions,
            find("rollup"),
            false,
            0.01,
        ),
        (
            "queue views",
            QUEUE_VIEWS_PER_DAY,
            find("queue view"),
            true,
            1.0,
        ),
        (
            "SLA reports",
            REPORTS_PER_DAY,
            find("SLA report"),
            true,
            1.0,
        ),
    ];
    println!("\n## A day at 1,000,000 leads ({OPEN_MQLS} open MQLs over {TEAMS} teams)\n");
    println!("| what | per day | WCU | RCU | DynamoDB $ | Lambda GB-s |");
    println!("|---|---:|---:|---:|---:|---:|");
    let (mut wcu, mut rcu, mut gb_seconds, mut invocations, mut http) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (what, n, m, via_http, invocations_each) in &day {
        let (w, r) = (n * m.wcu(), n * m.rcu());
        let calls = n * invocations_each;
        let seconds =
            (n * m.requests() * MS_PER_DYNAMODB_REQUEST + calls * MS_CPU_PER_INVOCATION) / 1000.0;
        let gbs = seconds * FUNCTION_GB;
        wcu += w;
        rcu += r;
        gb_seconds += gbs;
        invocations += calls;
        if *via_http {
            http += n;
        }
        println!(
            "| {what} | {n:.0} | {w:.0} | {r:.0} | {:.2} | {gbs:.0} |",
            w * WRU + r * RRU
        );
    }
    let dynamodb = wcu * WRU + rcu * RRU;
    let lambda = invocations * LAMBDA_REQUEST + gb_seconds * LAMBDA_ARM_GB_SECOND;
    let http_api = http * HTTP_API_REQUEST;
    let sns = steps * SNS_PUBLISH;
    // The notifier's queue: a receive and a delete per alert, batched by ten.
    let sqs = steps * 2.0 / 10.0 * SQS_REQUEST;
    let ses = steps * EMAILS_PER_ALERT * SES_EMAIL;
    let total = dynamodb + lambda + http_api + sns + sqs + ses;
    println!("\n## Dollars per day at 1,000,000 leads (us-east-1 on-demand list prices)\n");
    println!("| service | usage | $ per day |");
    println!("|---|---|---:|");
    println!(
        "| DynamoDB | {:.2} M WRU, {:.2} M RRU | {dynamodb:.2} |",
        wcu / 1e6,
        rcu / 1e6
    );
    println!(
        "| Lambda (arm64, {:.0} MB) | {:.2} M invocations, {gb_seconds:.0} GB-s | {lambda:.2} |",
        FUNCTION_GB * 1024.0,
        invocations / 1e6
    );
    println!(
        "| API Gateway HTTP API | {:.2} M requests | {http_api:.2} |",
        http / 1e6
    );
    println!("| SNS | {steps:.0} alerts | {sns:.2} |");
    println!("| SQS | {:.0} requests | {sqs:.2} |", steps * 2.0 / 10.0);
    println!(
        "| SES | {:.0} emails | {ses:.2} |",
        steps * EMAILS_PER_ALERT
    );
    println!("| **total** | | **{total:.2}** |");
    println!(
        "\nPer million leads: **${total:.2}**, about ${:.0} a month at that rate. Peak \
         write rate at 10x the average: {:.0} WCU/s.",
        total * 30.0,
        10.0 * wcu / 86_400.0
    );
}
