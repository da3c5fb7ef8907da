//! Monthly metrics end to end: a seeded scenario of a few hundred leads goes through the
//! real ingest, disposition and watchdog code against DynamoDB (moto), with replayed and
//! duplicate submissions and replayed and concurrent watchdog runs. Then every figure of
//! the report (read from the rollup items) must equal a brute-force recount from the
//! audit records, written here independently of `rollup::event_counters`.
//!
//! Also: the report endpoint serves exactly that report, and the contract review alert
//! fires once, after the second bad month, and not before.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use lambda_http::http::{Request as HttpRequest, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

use leadwatch_adapters::alerts::AlertPublisher;
use leadwatch_adapters::store::Store;
use leadwatch_api::disposition::DispositionApp;
use leadwatch_api::ingest::IngestApp;
use leadwatch_api::report::ReportApp;
use leadwatch_core::lifecycle::Status;
use leadwatch_core::report::{build_report, pct, Month, ReportRow, SlaReport};
use leadwatch_core::state::AuditEvent;
use leadwatch_core::Contract;
use leadwatch_e2e::{function_store, moto, signed, unique_name, AlertInbox};
use leadwatch_watchdog::{RunSummary, Tick, WallClock, WatchdogApp};

/// A watchdog run at event time `at`: leases on the real clock, and all the time a run
/// on the local stack needs.
async fn run_at(app: &WatchdogApp, at: DateTime<Utc>) -> RunSummary {
    let clock: WallClock = Arc::new(Utc::now);
    let deadline = Utc::now() + Duration::minutes(10);
    leadwatch_watchdog::run(app, Tick::new(at, clock, deadline)).await
}

struct Stack {
    /// The test's own view of the table: its reads are not recorded as a function's.
    store: Store,
    ingest: IngestApp,
    disposition: DispositionApp,
    watchdog: WatchdogApp,
    report: ReportApp,
    inbox: AlertInbox,
}

async fn stack(name: &str) -> Stack {
    let config = moto().sdk_config().await;
    let table = unique_name(name);
    let setup = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    setup.create_table().await.unwrap();
    let inbox =
        AlertInbox::create(&config, &[("revops", json!({"kind": ["contract_review"]}))]).await;
    let contract = Arc::new(Contract::default_contract().unwrap());
    // Each function's clients record their calls as its own (see `iam_in_step`).
    Stack {
        ingest: IngestApp {
            store: function_store("ingest", &table).await,
            contract: Arc::clone(&contract),
            sources: leadwatch_e2e::test_sources(),
            lead_ids: leadwatch_core::LeadIds::development(),
        },
        disposition: DispositionApp {
            store: function_store("disposition", &table).await,
            contract: Arc::clone(&contract),
        },
        watchdog: WatchdogApp {
            store: function_store("watchdog", &table).await,
            alerts: AlertPublisher::from_config(
                &moto().function_config("watchdog").await,
                &inbox.topic_arn,
            ),
            contract: Arc::clone(&contract),
        },
        report: ReportApp {
            store: function_store("report", &table).await,
            contract,
            exports: Some(leadwatch_e2e::exports::exports_for(&table).await),
        },
        inbox,
        store: setup,
    }
}

fn request(method: &str, path: &str, body: Option<&Value>, key: Option<&str>) -> Request {
    let mut b = HttpRequest::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(k) = key {
        b = b.header("idempotency-key", k);
    }
    b.body(match body {
        Some(v) => Body::Text(v.to_string()),
        None => Body::Empty,
    })
    .unwrap()
}

fn json_of(r: &Response<Body>) -> Value {
    serde_json::from_slice(r.body().as_ref()).unwrap_or(Value::Null)
}

/// A small deterministic generator (xorshift64*): the scenario is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// What happens in the scenario, in time order.
enum Step {
    Post {
        body: Value,
        key: String,
    },
    Dispose {
        email: String,
        action: &'static str,
        body: Value,
    },
    Watchdog {
        concurrent: bool,
    },
}

/// A lead's form post: a mix of fast-lane demo requests, engaged directors, readers
/// who stay in nurture, and students who fail the gates.
fn lead_body(rng: &mut Rng, i: usize, at: DateTime<Utc>) -> Value {
    let email = format!("person{i}@company{i}.com");
    let (country, _) = *rng.pick(&[
        ("US", 0),
        ("US", 0),
        ("CA", 0),
        ("GB", 0),
        ("DE", 0),
        ("IE", 0),
    ]);
    let employees = *rng.pick(&[60u32, 250, 450, 1500, 5000]);
    let source = *rng.pick(&["website", "linkedin", "events", "webinar", "partner"]);
    let ago = |h: i64| (at - Duration::hours(h)).to_rfc3339();
    match rng.below(10) {
        0..=2 => json!({
            "email": email, "first_name": "Dana", "last_name": format!("D{i}"), "title": "VP Sales",
            "company": format!("Company {i}"), "employees": employees, "industry": "SaaS",
            "country": country, "source": source,
            "signals": [{"type": "demo_request", "at": at.to_rfc3339(), "question": true, "detail": "pricing?"}]
        }),
        3..=6 => json!({
            "email": email, "first_name": "Eli", "last_name": format!("E{i}"),
            "title": "Director of Revenue Operations", "company": format!("Company {i}"),
            "employees": employees, "industry": "software", "country": country, "source": source,
            "signals": [
                {"type": "pricing_page_visit", "at": ago(20), "seconds_on_page": 140},
                {"type": "pricing_page_visit", "at": ago(3), "seconds_on_page": 60},
                {"type": "linkedin_reply", "at": at.to_rfc3339(), "question": true, "detail": "HubSpot sync?"}
            ]
        }),
        7..=8 => json!({
            "email": email, "first_name": "Rae", "title": "Marketing Specialist",
            "company": format!("Company {i}"), "employees": 120, "industry": "retail", "country": "US",
            "source": "blog",
            "signals": [{"type": "blog_view", "at": ago(5)}, {"type": "email_open", "at": ago(30)}]
        }),
        _ => json!({
            "email": format!("student{i}@state.edu"), "first_name": "Sam", "title": "Graduate Student",
            "source": "blog", "signals": [{"type": "blog_view", "at": ago(1)}]
        }),
    }
}

/// Five business days of November 2026 (Mon 2 to Fri 6, New York 09:00 = 14:00 UTC),
/// then the watchdog runs on for a week so every open MQL breaches and expires.
async fn run_scenario(s: &Stack, seed: u64, leads: usize) -> Vec<String> {
    let mut rng = Rng(seed);
    let start = Utc.with_ymd_and_hms(2026, 11, 2, 14, 0, 0).unwrap();
    let mut steps: Vec<(DateTime<Utc>, u32, Step)> = Vec::new();
    let mut emails = Vec::new();
    for i in 0..leads {
        let day = rng.below(5) as i64;
        let at = start + Duration::days(day) + Duration::minutes(rng.below(8 * 60) as i64);
        let body = lead_body(&mut rng, i, at);
        let email = body["email"].as_str().unwrap().to_string();
        emails.push(email.clone());
        let key = format!("form-{seed}-{i}");
        steps.push((
            at,
            0,
            Step::Post {
                body: body.clone(),
                key: key.clone(),
            },
        ));
        if rng.chance(20) {
            // The form's retry: same key, same body. Must not count twice.
            steps.push((
                at + Duration::seconds(30),
                0,
                Step::Post {
                    body: body.clone(),
                    key,
                },
            ));
        }
        if rng.chance(10) {
            // A second form from the same person (a new submission, new key).
            let mut again = body.clone();
            again["signals"] = json!([{"type": "webinar_attended", "at": (at + Duration::minutes(5)).to_rfc3339()}]);
            steps.push((
                at + Duration::minutes(5),
                0,
                Step::Post {
                    body: again,
                    key: format!("form-{seed}-{i}-again"),
                },
            ));
        }
        // What sales will do if it becomes an MQL (a refused disposition, say on a lead
        // that stayed in nurture, is part of the scenario too).
        let by = json!({"by": "rep@example.com"});
        let fate = rng.below(100);
        let mut dispose = |after: Duration, action: &'static str, body: Value| {
            steps.push((
                at + after,
                1,
                Step::Dispose {
                    email: email.clone(),
                    action,
                    body,
                },
            ));
        };
        match fate {
            0..=29 => {
                let minutes = 5 + rng.below(40) as i64;
                dispose(Duration::minutes(minutes), "touch", by.clone());
                dispose(Duration::minutes(minutes + 1), "accept", by.clone());
                if rng.chance(50) {
                    dispose(Duration::hours(3), "qualify", by.clone());
                }
            }
            30..=44 => {
                dispose(
                    Duration::hours(26 + rng.below(6) as i64),
                    "accept",
                    by.clone(),
                );
                if rng.chance(30) {
                    dispose(Duration::hours(40), "qualify", by.clone());
                }
            }
            45..=64 => {
                let reason = *rng.pick(&["not_icp", "no_intent", "bad_data", "duplicate"]);
                dispose(
                    Duration::minutes(10 + rng.below(200) as i64),
                    "reject",
                    json!({"by": "rep@example.com", "reason": reason}),
                );
            }
            65..=72 => {
                // Accepted, then rejected as a SAL: a rejection that is not an SLA decision.
                dispose(Duration::minutes(20), "accept", by.clone());
                dispose(
                    Duration::hours(5),
                    "reject",
                    json!({"by": "rep@example.com", "reason": "no_intent"}),
                );
            }
            _ => {} // left alone: warnings, breach, escalations, expiry
        }
    }
    // Every two hours through the week, then every eight until all has expired. (moto
    // answers an index query by walking the table, so runs are the test's main cost.)
    let mut tick = start - Duration::hours(1);
    let mut n = 0;
    while tick < start + Duration::days(12) {
        steps.push((
            tick,
            2,
            Step::Watchdog {
                concurrent: n % 4 == 0,
            },
        ));
        tick += Duration::hours(if tick < start + Duration::days(5) {
            2
        } else {
            8
        });
        n += 1;
    }
    steps.sort_by_key(|(at, order, _)| (*at, *order));

    for (at, _, step) in steps {
        match step {
            Step::Post { body, key } => {
                let r = leadwatch_api::ingest::handle(
                    &s.ingest,
                    signed(request("POST", "/leads", Some(&body), Some(&key)), at),
                    at,
                )
                .await;
                assert!(r.status().is_success(), "{} {}", r.status(), json_of(&r));
            }
            Step::Dispose {
                email,
                action,
                body,
            } => {
                let id = leadwatch_e2e::lead_id(&email);
                let r = leadwatch_api::disposition::handle(
                    &s.disposition,
                    leadwatch_e2e::signed_in(request(
                        "POST",
                        &format!("/leads/{id}/{action}"),
                        Some(&body),
                        None,
                    )),
                    at,
                )
                .await;
                // 409: the lead was never an MQL, or expired first. Anything else is a bug.
                assert!(
                    r.status().is_success() || r.status() == StatusCode::CONFLICT,
                    "{action} {} {}",
                    r.status(),
                    json_of(&r)
                );
            }
            Step::Watchdog { concurrent } => {
                // Every run is replayed (EventBridge redelivers), some run twice at once.
                if concurrent {
                    tokio::join!(run_at(&s.watchdog, at), run_at(&s.watchdog, at));
                } else {
                    run_at(&s.watchdog, at).await;
                }
                run_at(&s.watchdog, at).await;
            }
        }
    }
    emails.sort();
    emails.dedup();
    emails
}

/// Counts of one slice, recounted from audit events.
#[derive(Default)]
struct Recount {
    mqls: i64,
    fast: i64,
    accepted: i64,
    within: i64,
    late: i64,
    rejected: i64,
    rejected_before_accept: i64,
    rejected_within: i64,
    expired: i64,
    returned: i64,
    sqls: i64,
    first_touches: i64,
    tta: Vec<i64>,
    ttft: Vec<i64>,
    rejections: BTreeMap<String, i64>,
    escalations: BTreeMap<String, i64>,
    alerts: BTreeMap<String, i64>,
}

impl Recount {
    fn add(&mut self, e: &AuditEvent) {
        let bump =
            |m: &mut BTreeMap<String, i64>, k: &str| *m.entry(k.to_string()).or_default() += 1;
        match e.kind.as_str() {
            "promote" => {
                self.mqls += 1;
                self.fast += i64::from(e.fast_lane);
            }
            "accept" => {
                self.accepted += 1;
                if e.within_sla == Some(true) {
                    self.within += 1;
                } else {
                    self.late += 1;
                }
                self.tta.extend(e.business_minutes);
            }
            "reject" => {
                self.rejected += 1;
                bump(&mut self.rejections, e.reason.as_deref().unwrap_or("?"));
                if e.from == Some(Status::Mql) {
                    self.rejected_before_accept += 1;
                    self.rejected_within += i64::from(e.within_sla == Some(true));
                }
            }
            "qualify" => self.sqls += 1,
            "touch" if e.first_touch => {
                self.first_touches += 1;
                self.ttft.extend(e.business_minutes);
            }
            "alert" => {
                let kind = e.reason.clone().unwrap_or_default();
                bump(&mut self.alerts, &kind);
                if kind == "sla_breach" || kind == "sla_escalation" {
                    bump(&mut self.escalations, e.level.as_deref().unwrap_or("?"));
                }
            }
            "expire" => self.expired += 1,
            "return_to_nurture" => self.returned += 1,
            _ => {}
        }
    }

    fn row(mut self, month: &str, dimension: &str, value: &str) -> ReportRow {
        let nearest_rank = |v: &mut Vec<i64>, p: usize| {
            v.sort_unstable();
            (!v.is_empty()).then(|| v[((p * v.len()).div_ceil(100)).max(1) - 1])
        };
        let decided = self.accepted + self.rejected_before_accept + self.expired;
        ReportRow {
            month: month.into(),
            dimension: dimension.into(),
            value: value.into(),
            mqls: self.mqls,
            fast_lane_mqls: self.fast,
            accepted: self.accepted,
            accepted_within_sla: self.within,
            accepted_late: self.late,
            rejected: self.rejected,
            rejected_before_accept: self.rejected_before_accept,
            rejected_within_sla: self.rejected_within,
            expired: self.expired,
            returned_to_nurture: self.returned,
            sqls: self.sqls,
            first_touches: self.first_touches,
            sla_met_pct: pct(self.within + self.rejected_within, decided),
            acceptance_rate_pct: pct(self.accepted, decided),
            time_to_accept_p50_minutes: nearest_rank(&mut self.tta, 50),
            time_to_accept_p90_minutes: nearest_rank(&mut self.tta, 90),
            time_to_first_touch_p50_minutes: nearest_rank(&mut self.ttft, 50),
            time_to_first_touch_p90_minutes: nearest_rank(&mut self.ttft, 90),
            mql_to_sal_pct: pct(self.accepted, self.mqls),
            sal_to_sql_pct: pct(self.sqls, self.accepted),
            mql_to_sql_pct: pct(self.sqls, self.mqls),
            rejections: self.rejections,
            escalations: self.escalations,
            alerts: self.alerts,
        }
    }
}

/// Recount every slice from the audit records of `emails`' leads.
async fn recount(store: &Store, emails: &[String]) -> BTreeMap<(String, String, String), Recount> {
    let mut slices: BTreeMap<(String, String, String), Recount> = BTreeMap::new();
    for email in emails {
        let id = leadwatch_e2e::lead_id(email);
        let Some(state) = store.get_lead(&id).await.unwrap() else {
            continue;
        };
        assert!(
            state.mql_cycle <= 1,
            "the scenario is shorter than a cool-off"
        );
        let mut records = store.history_records(&id).await.unwrap();
        records.sort_by_key(|(v, _)| *v);
        let mut cohort: Option<String> = None;
        for (_, events) in records {
            for e in &events {
                if e.kind == "promote" {
                    cohort = Some(e.at.format("%Y-%m").to_string());
                }
                let Some(month) = cohort.clone() else {
                    continue;
                };
                let packet = state.packet.as_ref().expect("an MQL has a packet");
                let team = e.team.clone().unwrap_or_else(|| packet.team.clone());
                assert_eq!(team, packet.team, "one team per MQL cycle");
                for (dimension, value) in [
                    ("all", "all".to_string()),
                    ("team", team),
                    ("source", packet.source.clone()),
                    ("fit_tier", packet.fit_tier.to_string()),
                ] {
                    slices
                        .entry((month.clone(), dimension.to_string(), value))
                        .or_default()
                        .add(e);
                }
            }
        }
    }
    slices
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_metric_equals_a_recount_from_the_audit_records() {
    let s = stack("metrics").await;
    let emails = run_scenario(&s, 0x5EED_2026, 200).await;
    // The rollup function counts the change stream: every version once, even when the
    // stream is delivered again.
    let first = leadwatch_e2e::count_stream(s.store.table_name()).await;
    assert!(first.counted.added > 0, "{first:?}");
    let again = leadwatch_e2e::count_stream(s.store.table_name()).await;
    assert_eq!(
        again.counted.added, 0,
        "a replayed stream counts nothing: {again:?}"
    );
    assert_eq!(
        again.counted.already_counted, first.counted.added,
        "{again:?}"
    );

    let month = Month::parse("2026-11").unwrap();
    let items = s.store.rollups(&[month]).await.unwrap();
    let report = build_report(month, month, None, &items);
    let expected = recount(&s.store, &emails).await;

    let all = report
        .row("2026-11", "all", "all")
        .expect("November has MQLs");
    // The scenario must exercise every counter, or the comparison proves little.
    assert!(all.mqls >= 80, "{all:?}");
    for (name, n) in [
        ("fast lane", all.fast_lane_mqls),
        ("accepted within", all.accepted_within_sla),
        ("accepted late", all.accepted_late),
        ("rejected before accept", all.rejected_before_accept),
        ("SAL rejections", all.rejected - all.rejected_before_accept),
        ("expired", all.expired),
        ("returned", all.returned_to_nurture),
        ("sqls", all.sqls),
        ("first touches", all.first_touches),
    ] {
        assert!(n > 0, "no {name} in the scenario: {all:?}");
    }
    assert!(all.escalations.len() >= 2, "{:?}", all.escalations);

    let mut compared = 0;
    for ((month, dimension, value), counts) in expected {
        let want = counts.row(&month, &dimension, &value);
        let got = report
            .row(&month, &dimension, &value)
            .unwrap_or_else(|| panic!("no report row for {month} {dimension} {value}"));
        assert_eq!(got, &want, "{month} {dimension} {value}");
        compared += 1;
    }
    assert_eq!(
        compared,
        report.rows.len(),
        "the report has rows the recount lacks"
    );
    assert!(compared >= 10, "{compared}");

    // The report endpoint serves the same report, from the same rollups.
    let r = leadwatch_api::report::handle(
        &s.report,
        leadwatch_e2e::signed_in(request(
            "GET",
            "/reports/sla?from=2026-11&to=2026-11",
            None,
            None,
        )),
        Utc::now(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let served: SlaReport = serde_json::from_slice(r.body().as_ref()).unwrap();
    assert_eq!(served, report);

    // One team: only that team's row (and its total).
    let r = leadwatch_api::report::handle(
        &s.report,
        leadwatch_e2e::signed_in(request(
            "GET",
            "/reports/sla?from=2026-10&to=2026-11&team=ae-na",
            None,
            None,
        )),
        Utc::now(),
    )
    .await;
    let one: SlaReport = serde_json::from_slice(r.body().as_ref()).unwrap();
    assert_eq!(one.rows.len(), 2, "{one:?}");
    assert_eq!(
        one.row("2026-11", "all", "all").map(|r| r.mqls),
        report.row("2026-11", "team", "ae-na").map(|r| r.mqls)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_and_export_refuse_bad_parameters_by_name() {
    let s = stack("report-errors").await;
    for (path, field, status) in [
        ("/reports/sla?from=2026-13&to=2026-11", "from", 422),
        ("/reports/sla?to=2026-11", "from", 422),
        ("/reports/sla?from=2026-11&to=2026-10", "to", 422),
        (
            "/reports/sla?from=2026-10&to=2026-11&team=nobody",
            "team",
            422,
        ),
        ("/reports/sla?form=2026-10&to=2026-11", "form", 422),
        ("/export?status=happy", "status", 422),
        ("/export?team=nobody", "team", 422),
    ] {
        let r = leadwatch_api::report::handle(
            &s.report,
            leadwatch_e2e::signed_in(request("GET", path, None, None)),
            Utc::now(),
        )
        .await;
        let doc = json_of(&r);
        assert_eq!(r.status().as_u16(), status, "{path}: {doc}");
        let fields: Vec<&str> = doc["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["field"].as_str())
            .collect();
        assert!(fields.contains(&field), "{path}: {doc}");
    }
    let r = leadwatch_api::report::handle(
        &s.report,
        leadwatch_e2e::signed_in(request("POST", "/reports/sla", None, None)),
        Utc::now(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_one_csv_row_per_mql_with_its_packet() {
    let s = stack("export").await;
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
    let mut rng = Rng(7);
    let mut posted = 0;
    for i in 0..30 {
        let body = lead_body(&mut rng, i, at);
        let r = leadwatch_api::ingest::handle(
            &s.ingest,
            signed(request("POST", "/leads", Some(&body), None), at),
            at,
        )
        .await;
        assert!(r.status().is_success());
        posted += 1;
    }
    assert_eq!(posted, 30);
    let report = &s.report;
    let get = |path: String| async move {
        leadwatch_e2e::exports::answer(
            &leadwatch_api::report::handle(
                report,
                leadwatch_e2e::signed_in(request("GET", &path, None, None)),
                at,
            )
            .await,
        )
    };
    let text = leadwatch_e2e::exports::export_csv(get, "/export?status=mql").await;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header, leadwatch_core::packet::CSV_HEADER);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let query = leadwatch_core::export::ExportQuery {
        from: leadwatch_core::report::Month::parse("2026-11").unwrap(),
        to: leadwatch_core::report::Month::parse("2026-11").unwrap(),
        status: Some(Status::Mql),
        team: None,
    };
    // The test's own store: these reads are no function's.
    let mut reader = s.store.export_reader(&query);
    let mut mqls = 0;
    while let Some(page) = reader.next_page().await.unwrap() {
        mqls += page.len();
    }
    assert!(mqls > 0);
    assert_eq!(rows.len(), mqls);
    for row in &rows {
        assert_eq!(&row[1], "mql");
        assert!(row[0].starts_with("ld_"));
        assert!(!row[14].is_empty(), "evidence: {row:?}");
    }
    // One team through the queue index: the same rows as filtering the full export.
    let team = leadwatch_e2e::exports::export_csv(get, "/export?status=mql&team=ae-na").await;
    let team_rows = csv::Reader::from_reader(team.as_bytes()).records().count();
    assert_eq!(team_rows, rows.iter().filter(|r| &r[6] == "ae-na").count());
}

/// Three MQLs of `month` (sdr-na, tier-1 SLA of 120 business minutes) accepted a day
/// late: a month far below the SLA target.
async fn late_month(s: &Stack, tag: &str, day_one: DateTime<Utc>) {
    for i in 0..3 {
        let email = format!("late-{tag}-{i}@northwind{i}.com");
        let body = json!({
            "email": email, "first_name": "Dana", "title": "Director of Revenue Operations",
            "company": "Northwind", "employees": 300, "industry": "software", "country": "US",
            "source": "linkedin",
            "signals": [
                {"type": "pricing_page_visit", "at": (day_one - Duration::hours(20)).to_rfc3339(), "seconds_on_page": 140},
                {"type": "pricing_page_visit", "at": (day_one - Duration::hours(3)).to_rfc3339(), "seconds_on_page": 60},
                {"type": "linkedin_reply", "at": day_one.to_rfc3339(), "question": true, "detail": "pricing?"}
            ]
        });
        let r = leadwatch_api::ingest::handle(
            &s.ingest,
            signed(request("POST", "/leads", Some(&body), None), day_one),
            day_one,
        )
        .await;
        assert_eq!(json_of(&r)["status"], "mql", "{}", json_of(&r));
        let id = leadwatch_e2e::lead_id(&email);
        let r = leadwatch_api::disposition::handle(
            &s.disposition,
            leadwatch_e2e::signed_in(request(
                "POST",
                &format!("/leads/{id}/accept"),
                Some(&json!({"by": "rep@example.com"})),
                None,
            )),
            day_one + Duration::days(2),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK, "{}", json_of(&r));
    }
    // The rollup function's part: the month's counters, from the change stream.
    leadwatch_e2e::count_stream(s.store.table_name()).await;
}

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contract_review_fires_once_after_the_second_bad_month() {
    let s = stack("review").await;
    // September is bad (every MQL accepted days late); August had no MQLs at all.
    late_month(&s, "sep", utc(2026, 9, 15, 15)).await;
    let run = |at| run_at(&s.watchdog, at);
    assert_eq!(run(utc(2026, 10, 1, 0)).await.contract_review, None);
    assert_eq!(run(utc(2026, 10, 20, 0)).await.contract_review, None);
    assert!(
        s.inbox.drain("revops").await.is_empty(),
        "one bad month is not a trend"
    );

    // October is bad too: the first run of November sends the review, once.
    late_month(&s, "oct", utc(2026, 10, 14, 15)).await;
    let first = run(utc(2026, 11, 1, 0)).await;
    assert_eq!(first.contract_review.as_deref(), Some("2026-10"));
    let (a, b) = tokio::join!(run(utc(2026, 11, 1, 0)), run(utc(2026, 11, 1, 1)));
    assert_eq!((a.contract_review, b.contract_review), (None, None));
    assert_eq!(run(utc(2026, 11, 20, 0)).await.contract_review, None);

    let alerts = s.inbox.drain("revops").await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let review = &alerts[0];
    assert_eq!(review["kind"], "contract_review");
    assert_eq!(review["alert_id"], "contract_review:2026-10");
    assert_eq!(review["months"], json!(["2026-09", "2026-10"]));
    let findings = review["findings"].to_string();
    assert!(findings.contains("SLA met"), "{findings}");
    assert!(findings.contains("2026-09 0.0 %"), "{findings}");
}
