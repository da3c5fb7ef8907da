//! `leadwatch report` and `leadwatch export`, the built binary against a moto server of
//! this test binary: the CLI must print exactly what `GET /reports/sla` and
//! `GET /export` serve from the same table.

use std::process::{Command, Output};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use lambda_http::http::Request as HttpRequest;
use lambda_http::{Body, Request};
use serde_json::{json, Value};

use leadwatch_adapters::store::Store;
use leadwatch_api::disposition::DispositionApp;
use leadwatch_api::ingest::IngestApp;
use leadwatch_api::report::ReportApp;
use leadwatch_core::report::SlaReport;
use leadwatch_core::Contract;
use leadwatch_e2e::{moto, unique_name};

fn leadwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leadwatch"))
        .args(args)
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .env_remove("LEADWATCH_CONTRACT_FILE")
        .envs(moto().env())
        .output()
        .expect("run leadwatch")
}

fn request(method: &str, path: &str, body: Option<&Value>) -> Request {
    HttpRequest::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body.map_or(Body::Empty, |b| Body::Text(b.to_string())))
        .unwrap()
}

/// A table with MQLs of two teams in November, some accepted, one late, one rejected.
async fn seeded_table() -> (String, ReportApp) {
    let config = moto().sdk_config().await;
    let table = unique_name("cli-report");
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), table.clone());
    store.create_table().await.unwrap();
    let contract = Arc::new(Contract::default_contract().unwrap());
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
    let start: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
    for (i, (country, fate)) in [
        ("US", "accept"),
        ("US", "late"),
        ("GB", "accept"),
        ("GB", "reject"),
        ("US", "open"),
    ]
    .into_iter()
    .enumerate()
    {
        let email = format!("vp{i}@company{i}.com");
        let body = json!({
            "email": email, "first_name": "Dana", "title": "VP Sales", "company": format!("Co {i}"),
            "employees": 300, "industry": "SaaS", "country": country, "source": "website",
            "signals": [{"type": "demo_request", "at": start.to_rfc3339()}]
        });
        let r = leadwatch_api::ingest::handle(
            &ingest,
            leadwatch_e2e::signed(request("POST", "/leads", Some(&body)), start),
            start,
        )
        .await;
        assert!(r.status().is_success());
        let id = leadwatch_e2e::lead_id(&email);
        let (action, at, body) = match fate {
            "accept" => (
                "accept",
                start + Duration::minutes(20),
                json!({"by": "ae@example.com"}),
            ),
            "late" => (
                "accept",
                start + Duration::days(1),
                json!({"by": "ae@example.com"}),
            ),
            "reject" => (
                "reject",
                start + Duration::minutes(30),
                json!({"by": "ae@example.com", "reason": "not_icp"}),
            ),
            _ => continue,
        };
        let r = leadwatch_api::disposition::handle(
            &disposition,
            leadwatch_e2e::signed_in(request(
                "POST",
                &format!("/leads/{id}/{action}"),
                Some(&body),
            )),
            at,
        )
        .await;
        assert!(r.status().is_success(), "{:?}", r.body());
    }
    // The rollups are counted off the change stream, as the rollup function does.
    leadwatch_e2e::count_stream(&table).await;
    let exports = Some(leadwatch_e2e::exports::exports_for(&table).await);
    (
        table,
        ReportApp {
            store,
            contract,
            exports,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_prints_what_the_report_endpoint_serves() {
    let (table, app) = seeded_table().await;
    let r = leadwatch_api::report::handle(
        &app,
        leadwatch_e2e::signed_in(request("GET", "/reports/sla?from=2026-10&to=2026-11", None)),
        Utc::now(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let served: SlaReport = serde_json::from_slice(r.body().as_ref()).unwrap();
    let all = served.row("2026-11", "all", "all").expect("November");
    assert_eq!(all.mqls, 5);
    assert_eq!(all.accepted, 3);
    assert_eq!(all.accepted_late, 1);

    let out = leadwatch(&[
        "report", "--table", &table, "--from", "2026-10", "--to", "2026-11", "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: SlaReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, served);

    // The table a person reads shows the same figures.
    let out = leadwatch(&[
        "report", "--table", &table, "--from", "2026-10", "--to", "2026-11",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let all_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("2026-11") && l.contains(" all "))
        .unwrap_or_else(|| panic!("no total line in:\n{text}"));
    let cells: Vec<&str> = all_line.split_whitespace().collect();
    assert_eq!(cells[2], "5", "MQLs: {all_line}");
    assert!(
        all_line.contains(&format!("{:.1}", all.sla_met_pct.unwrap())),
        "{all_line}"
    );
    assert!(text.contains("not_icp=1"), "{text}");

    // CSV: one line per row of the report, plus the header.
    let out = leadwatch(&[
        "report", "--table", &table, "--from", "2026-11", "--to", "2026-11", "--csv",
    ]);
    assert!(out.status.success());
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), served.rows.len());
    assert_eq!(&rows[0][3], "5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_export_equals_the_export_route() {
    let (table, app) = seeded_table().await;
    let get = |path: String| {
        let app = &app;
        async move {
            leadwatch_e2e::exports::answer(
                &leadwatch_api::report::handle(
                    app,
                    leadwatch_e2e::signed_in(request("GET", &path, None)),
                    Utc::now(),
                )
                .await,
            )
        }
    };
    let served =
        leadwatch_e2e::exports::export_csv(get, "/export?team=ae-emea&from=2026-11&to=2026-11")
            .await
            .into_bytes();
    let out = leadwatch(&[
        "export", "--table", &table, "--team", "ae-emea", "--from", "2026-11", "--to", "2026-11",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, served);
    // Two GB leads went to ae-emea: the header and two rows.
    assert_eq!(
        csv::Reader::from_reader(out.stdout.as_slice())
            .records()
            .count(),
        2
    );
}

#[test]
fn bad_report_arguments_exit_2_naming_the_flag() {
    for (args, named) in [
        (
            vec!["report", "--from", "2026-13", "--to", "2026-11"],
            "--from",
        ),
        (
            vec!["report", "--from", "2026-11", "--to", "2026-09"],
            "--to",
        ),
        (vec!["report", "--team", "nobody"], "--team"),
        (vec!["export", "--status", "happy"], "--status"),
        (vec!["export", "--team", "nobody"], "--team"),
    ] {
        let out = leadwatch(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }
}
