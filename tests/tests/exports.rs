//! Exports as jobs (issue 15, part 3), end to end on the local stack: leads of several
//! months, teams and statuses (with and without a pending watchdog timer, so in both
//! kinds of `timers` partition) are exported by the job, and the CSV read back from S3
//! through the presigned link holds every expected lead exactly once; who may export,
//! and every bad request, is answered by name. `export_of_100k_leads_has_bounded_memory`
//! (ignored) loads 100,000 leads and prints the job's and the CLI's peak RSS.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use lambda_http::http::Request as HttpRequest;
use lambda_http::{Body, Request};
use serde_json::Value;

use leadwatch_adapters::store::Store;
use leadwatch_api::report::ReportApp;
use leadwatch_core::access::Role;
use leadwatch_core::lead::{LeadProfile, Signal};
use leadwatch_core::lifecycle::Status;
use leadwatch_core::state::LeadState;
use leadwatch_core::Contract;
use leadwatch_e2e::exports::{answer, export_csv, exports_for, wait_for_job};
use leadwatch_e2e::{function_store, moto, test_caller, unique_name, ALL_TEAMS};

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 15, 0, 0)
        .single()
        .expect("a date")
}

/// An MQL (with its packet, team and SLA schedule), made by the domain itself.
fn template(contract: &Contract) -> LeadState {
    let now = at(2026, 9, 1);
    let profile = LeadProfile {
        email: "template@acme.io".into(),
        first_name: Some("Ana".into()),
        title: Some("VP Sales".into()),
        company: Some("Acme".into()),
        employees: Some(250),
        country: Some("US".into()),
        source: Some("website".into()),
        ..Default::default()
    };
    let mut state = LeadState::new("ld_template".into(), profile, contract, now);
    let demo = Signal {
        kind: "demo_request".into(),
        at: now,
        seconds_on_page: None,
        question: true,
        detail: Some("call me".into()),
    };
    state.ingest(None, &[demo], contract, now);
    assert!(state.packet.is_some() && state.sla.is_some(), "an MQL");
    state
}

/// Lead `i` of a synthetic table: created in one of four months (Sep 2026 to Dec
/// 2026), on one of the teams, in one of several statuses; every seventh has no packet
/// (never an MQL, so never exported). MQLs and rejected leads have a pending timer
/// (`T<n>` partitions) unless their SLA ladder is spent; the rest sit in month
/// partitions.
fn lead(template: &LeadState, i: usize) -> LeadState {
    let mut state = template.clone();
    let id = format!("ld_export{i:07}");
    let email = format!("lead{i}@export{}.example", i % 13);
    let month = 9 + (i % 4) as u32;
    let created = at(2026, month, 1 + (i % 27) as u32) + Duration::minutes(i as i64 % 600);
    state.lead_id = id.clone();
    state.profile.email = email.clone();
    state.created_at = created;
    state.updated_at = created;
    state.team = Some(ALL_TEAMS[i % ALL_TEAMS.len()].to_string());
    state.status = [
        Status::Mql,
        Status::Sal,
        Status::Sql,
        Status::Rejected,
        Status::Nurture,
        Status::Mql,
    ][i % 6];
    if state.status == Status::Mql && i.is_multiple_of(4) {
        // The ladder is spent: no pending timer any more.
        state.sla_step = 99;
    }
    match &mut state.packet {
        Some(packet) if i % 7 != 3 => {
            packet.lead_id = id;
            packet.email = email;
        }
        _ => state.packet = None,
    }
    state
}

struct Table {
    app: ReportApp,
    leads: Vec<LeadState>,
}

async fn table(name: &str, count: usize) -> Table {
    let config = moto().sdk_config().await;
    let table = unique_name(name);
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    store.create_table().await.expect("create the table");
    let contract = Contract::default_contract().expect("the built-in contract");
    let template = template(&contract);
    let leads: Vec<LeadState> = (0..count).map(|i| lead(&template, i)).collect();
    store.import(&leads).await.expect("import the leads");
    let app = ReportApp {
        store: function_store("report", &table).await,
        contract: Arc::new(contract),
        exports: Some(exports_for(&table).await),
    };
    Table { app, leads }
}

fn request(method: &str, path: &str, roles: &[Role], teams: &[&str]) -> Request {
    let req = HttpRequest::builder()
        .method(method)
        .uri(path)
        .body(Body::Empty)
        .expect("a request");
    // One person per set of roles and teams.
    let email = format!("{roles:?}-{}@leadwatch.test", teams.join("-")).to_ascii_lowercase();
    let caller = test_caller(&email, teams, roles);
    leadwatch_api::entry::as_caller(req, &caller)
}

async fn call(
    app: &ReportApp,
    method: &str,
    path: &str,
    roles: &[Role],
    teams: &[&str],
) -> (u16, Value) {
    answer(
        &leadwatch_api::report::handle(app, request(method, path, roles, teams), Utc::now()).await,
    )
}

/// The lead ids in the CSV, with how often each appears.
fn ids_in(csv: &str) -> BTreeMap<String, usize> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(
        reader
            .headers()
            .expect("a header")
            .iter()
            .collect::<Vec<_>>(),
        leadwatch_core::packet::CSV_HEADER
    );
    let mut ids = BTreeMap::new();
    for record in reader.records() {
        *ids.entry(record.expect("a row")[0].to_string())
            .or_default() += 1;
    }
    ids
}

/// What an export of `from`..`to` (months of 2026), `status` and `team` must hold.
fn expected(
    leads: &[LeadState],
    months: std::ops::RangeInclusive<u32>,
    status: Option<Status>,
    team: Option<&str>,
) -> BTreeMap<String, usize> {
    use chrono::Datelike;
    leads
        .iter()
        .filter(|l| {
            months.contains(&l.created_at.month())
                && l.packet.is_some()
                && status.is_none_or(|s| s == l.status)
                && team.is_none_or(|t| l.team.as_deref() == Some(t))
        })
        .map(|l| (l.lead_id.clone(), 1))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_expected_lead_is_in_the_csv_exactly_once() {
    let t = table("export-once", 300).await;
    let app = &t.app;
    let get_as = |roles: &'static [Role], teams: &'static [&'static str]| {
        move |path: String| async move { call(app, "GET", &path, roles, teams).await }
    };
    for (path, months, status, team) in [
        ("/export?from=2026-09&to=2026-12", 9..=12, None, None),
        ("/export?from=2026-10&to=2026-11", 10..=11, None, None),
        (
            "/export?from=2026-09&to=2026-12&status=mql",
            9..=12,
            Some(Status::Mql),
            None,
        ),
        (
            "/export?from=2026-12&to=2026-12&status=rejected",
            12..=12,
            Some(Status::Rejected),
            None,
        ),
        (
            "/export?from=2026-09&to=2026-10&team=ae-emea",
            9..=10,
            None,
            Some("ae-emea"),
        ),
        // One team's open MQLs come from the team-queue index.
        (
            "/export?from=2026-09&to=2026-12&status=mql&team=sdr-na",
            9..=12,
            Some(Status::Mql),
            Some("sdr-na"),
        ),
    ] {
        let want = expected(&t.leads, months, status, team);
        assert!(!want.is_empty(), "{path}: the fixture has such leads");
        let csv = export_csv(get_as(&[Role::Ops], &[]), path).await;
        assert_eq!(ids_in(&csv), want, "{path}");
    }
    // A manager exports their own team; the job's rows are counted.
    let (status, started) = call(
        app,
        "POST",
        "/exports?from=2026-09&to=2026-12&team=ae-na",
        &[Role::Manager],
        &["ae-na"],
    )
    .await;
    assert_eq!(status, 202, "{started}");
    let poll = started["poll"].as_str().expect("a poll path").to_string();
    let done = wait_for_job(
        || async {
            call(app, "GET", &poll, &[Role::Manager], &["ae-na"])
                .await
                .1
        },
        60,
    )
    .await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(
        done["rows"].as_u64(),
        Some(expected(&t.leads, 9..=12, None, Some("ae-na")).len() as u64)
    );
    assert!(done["expires_at"].is_string(), "{done}");
    // Another team's manager does not see the job.
    let (status, _) = call(app, "GET", &poll, &[Role::Manager], &["ae-emea"]).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_export_and_every_bad_request_is_answered_by_name() {
    let t = table("export-refusals", 10).await;
    let app = &t.app;
    // A rep may not export, even their own team.
    let (status, body) = call(
        app,
        "POST",
        "/exports?from=2026-09&to=2026-09&team=ae-na",
        &[Role::Rep],
        &["ae-na"],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "forbidden");
    assert_eq!(body["permission"], "reports:ae-na", "{body}");
    // A manager must name one of their teams.
    let (status, body) = call(
        app,
        "POST",
        "/exports?from=2026-09&to=2026-09",
        &[Role::Manager],
        &["ae-na"],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["permission"], "reports:all", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("name one of your teams with team=")),
        "{body}"
    );
    // ... and only their own.
    let (status, body) = call(
        app,
        "POST",
        "/exports?from=2026-09&to=2026-09&team=ae-emea",
        &[Role::Manager],
        &["ae-na"],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    // Bad months, statuses, teams, parameters: 422 naming each field.
    for (path, fields) in [
        ("/exports", vec!["from", "to"]),
        ("/exports?from=2026-13&to=2026-09", vec!["from"]),
        ("/exports?from=2026-09&to=26-10", vec!["to"]),
        ("/exports?from=2026-10&to=2026-09", vec!["to"]),
        ("/exports?from=2020-01&to=2026-09", vec!["to"]),
        (
            "/exports?from=2026-09&to=2026-09&status=open",
            vec!["status"],
        ),
        ("/exports?from=2026-09&to=2026-09&team=nobody", vec!["team"]),
        ("/exports?from=2026-09&to=2026-09&month=1", vec!["month"]),
        ("/export?from=nope", vec!["from"]),
    ] {
        let method = if path.starts_with("/exports") {
            "POST"
        } else {
            "GET"
        };
        let (status, body) = call(app, method, path, &[Role::Ops], &[]).await;
        assert_eq!(status, 422, "{path}: {body}");
        let named: Vec<&str> = body["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["field"].as_str())
            .collect();
        assert_eq!(named, fields, "{path}: {body}");
    }
    // Unknown export ids, plausible or not: 404.
    for path in [
        "/exports/ex_00000000000000000000000000000000",
        "/exports/nope",
        "/exports/%00",
    ] {
        let (status, body) = call(app, "GET", path, &[Role::Ops], &[]).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"], "not_found", "{path}");
    }
    // Wrong methods.
    let (status, _) = call(app, "GET", "/exports", &[Role::Ops], &[]).await;
    assert_eq!(status, 405);
    let (status, _) = call(app, "DELETE", "/exports/ex_0", &[Role::Ops], &[]).await;
    assert_eq!(status, 405);
}

/// No `.scan()` call in code that ships: every read of many leads is a Query of an
/// index (issue 15). Test code may scan (a test's view of a whole table).
#[test]
fn no_scan_in_shipped_code() {
    let root = leadwatch_e2e::repo_root();
    let mut offenders = Vec::new();
    for dir in ["shared", "functions", "cli/src"] {
        let mut stack = vec![root.join(dir)];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).expect("a readable dir").flatten() {
                    let p = entry.path();
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                    if !matches!(name, "tests" | "benches" | "target") {
                        stack.push(p);
                    }
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a readable source");
                // Unit tests sit at the end of a file, after `#[cfg(test)]`.
                let shipped = text.split("#[cfg(test)]").next().unwrap_or_default();
                for (n, line) in shipped.lines().enumerate() {
                    if line.contains(".scan()") || line.contains("ScanFluentBuilder") {
                        offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "a table scan in shipped code:\n{}",
        offenders.join("\n")
    );
}

/// Peak resident memory of this process so far (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// 100,000 leads: the export job and the CLI export, each with its peak RSS. Run:
/// `cargo build --bins && cargo test -p leadwatch-e2e --test exports -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "loads 100,000 leads (minutes); prints the peak RSS of the export job and the CLI"]
async fn export_of_100k_leads_has_bounded_memory() {
    const LEADS: usize = 100_000;
    let config = moto().sdk_config().await;
    let name = unique_name("export-100k");
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), &name);
    store.create_table().await.expect("create the table");
    let contract = Contract::default_contract().expect("the built-in contract");
    let template = template(&contract);
    let started = std::time::Instant::now();
    // Made and imported 1,000 at a time: the test itself never holds the table.
    for chunk in 0..LEADS / 1000 {
        let leads: Vec<LeadState> = (chunk * 1000..(chunk + 1) * 1000)
            .map(|i| lead(&template, i))
            .collect();
        store.import(&leads).await.expect("import");
    }
    let expected_rows: usize = (0..LEADS).filter(|i| i % 7 != 3).count();
    println!("imported {LEADS} leads in {:?}", started.elapsed());
    let before = peak_rss_kib();
    println!("peak RSS before the export: {before} KiB");

    let app = ReportApp {
        store: function_store("report", &name).await,
        contract: Arc::new(contract),
        exports: Some(exports_for(&name).await),
    };
    let started = std::time::Instant::now();
    let (status, job) = call(
        &app,
        "POST",
        "/exports?from=2026-09&to=2026-12",
        &[Role::Ops],
        &[],
    )
    .await;
    assert_eq!(status, 202, "{job}");
    let poll = job["poll"].as_str().expect("a poll path").to_string();
    let done = wait_for_job(
        || async { call(&app, "GET", &poll, &[Role::Ops], &[]).await.1 },
        3600,
    )
    .await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["rows"].as_u64(), Some(expected_rows as u64));
    let job_peak = peak_rss_kib();
    println!(
        "export job: {} rows in {:?}; peak RSS of the test process {job_peak} KiB (before: {before} KiB)",
        done["rows"],
        started.elapsed()
    );
    let (status, csv) =
        leadwatch_e2e::exports::http_get(done["url"].as_str().expect("a link")).await;
    assert_eq!(status, 200);
    println!("CSV in S3: {} bytes", csv.len());
    let csv_bytes = csv.len() as u64;
    drop(csv);
    // Bounded: the job holds a page of items and a multipart part or two (8 MiB each),
    // never the file. (This process read the finished CSV only after measuring.)
    let job_growth_kib = job_peak.saturating_sub(before);
    assert!(
        job_growth_kib * 1024 < csv_bytes,
        "the export job grew the process by {job_growth_kib} KiB for a {csv_bytes}-byte CSV"
    );

    // The CLI, under /usr/bin/time -v when there is one.
    let binary = leadwatch_e2e::runtime_api::function_binary("leadwatch");
    let out_file = std::env::temp_dir().join(format!("{name}.csv"));
    let args = [
        "export",
        "--table",
        &name,
        "--from",
        "2026-09",
        "--to",
        "2026-12",
        "--out",
        out_file.to_str().expect("a UTF-8 path"),
    ];
    let timed = std::path::Path::new("/usr/bin/time").exists();
    let mut command = if timed {
        let mut c = std::process::Command::new("/usr/bin/time");
        c.arg("-v").arg(&binary);
        c
    } else {
        std::process::Command::new(&binary)
    };
    let started = std::time::Instant::now();
    let output = command
        .args(args)
        .envs(moto().env())
        .output()
        .expect("run leadwatch export");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let rows = csv::Reader::from_path(&out_file)
        .map(|mut r| r.records().count())
        .unwrap_or(0);
    let _ = std::fs::remove_file(&out_file);
    let peak = stderr
        .lines()
        .find(|l| l.contains("Maximum resident set size"))
        .unwrap_or("(no /usr/bin/time)");
    println!(
        "CLI export: {rows} rows in {:?}; {}",
        started.elapsed(),
        peak.trim()
    );
    assert_eq!(rows, expected_rows);
    // The CLI writes each page as it reads it: its whole process stays within the CSV's
    // size and a fixed allowance for the binary and the SDK (39 MB for a 30.6 MB file
    // when measured; holding the file alone would take it past the bound).
    if let Some(kib) = peak
        .rsplit(':')
        .next()
        .and_then(|n| n.trim().parse::<u64>().ok())
    {
        assert!(
            kib * 1024 < csv_bytes + 32 * 1024 * 1024,
            "leadwatch export peaked at {kib} KiB for a {csv_bytes}-byte CSV"
        );
    }
}
