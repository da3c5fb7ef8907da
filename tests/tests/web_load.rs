//! Figures, not a timed test: the queue page with 500 open MQLs, requested over HTTP
//! from `leadwatch serve` (in-process) on moto, as a browser would (dev sign-in cookie,
//! with and without gzip). Prints the time of the whole request (p50, p90, max over 30)
//! and the bytes transferred. Ignored by default; run it with
//!
//!     cargo test -p leadwatch-e2e --test web_load -- --ignored --nocapture
//!
//! The render alone (store excluded) is `cargo bench -p leadwatch-api --bench web`.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lambda_http::http::{header, Request};

use leadwatch_adapters::store::Store;
use leadwatch_api::caller::ClaimMapping;
use leadwatch_api::web::session::{encode_claims, DEV_CLAIMS_COOKIE};
use leadwatch_cli::serve::{self, Api};
use leadwatch_core::lead::{LeadProfile, Signal};
use leadwatch_core::state::LeadState;
use leadwatch_core::{Contract, LeadIds};
use leadwatch_e2e::{moto, test_caller, unique_name};

fn clock() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 15, 0, 0).unwrap()
}

fn open_mqls(n: usize, contract: &Contract) -> Vec<LeadState> {
    (0..n)
        .map(|i| {
            let at = clock() - Duration::minutes(i as i64 + 1);
            let profile = LeadProfile {
                email: format!("lead{i}@northwind-analytics.com"),
                first_name: Some(format!("Dana{i}")),
                last_name: Some("Lee".into()),
                title: Some("VP Sales".into()),
                company: Some("Northwind Analytics".into()),
                employees: Some(420),
                industry: Some("saas".into()),
                country: Some("US".into()),
                source: Some("website".into()),
                ..Default::default()
            };
            let id = LeadIds::development().id_for(&profile.email);
            let mut s = LeadState::new(id, profile, contract, at);
            let demo = Signal {
                kind: "demo_request".into(),
                at,
                seconds_on_page: None,
                question: true,
                detail: Some("Can we see it this week?".into()),
            };
            s.ingest(None, &[demo], contract, at);
            s
        })
        .collect()
}

#[tokio::test]
#[ignore = "figures for the README, not a check: run with --ignored --nocapture"]
async fn queue_page_with_500_open_mqls() {
    let config = moto().sdk_config().await;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&config),
        unique_name("webload"),
    );
    store.create_table().await.unwrap();
    let contract = Arc::new(Contract::default_contract().unwrap());
    let leads = open_mqls(500, &contract);
    assert!(leads.iter().all(|s| s.team.as_deref() == Some("ae-na")));
    store.import(&leads).await.unwrap();

    let listener = serve::bind(0).await.unwrap();
    let base = serve::base_url(listener.local_addr().unwrap());
    let api = Api::new(store.clone(), Arc::clone(&contract))
        .with_web(serve::dev_web(store.clone(), Arc::clone(&contract)));
    tokio::spawn(serve::run_with_clock(
        listener,
        api,
        clock,
        std::future::pending(),
    ));

    let rep = test_caller(
        "rep@leadwatch.test",
        &["ae-na"],
        &[leadwatch_core::access::Role::Rep],
    );
    let cookie = format!(
        "{DEV_CLAIMS_COOKIE}={}",
        encode_claims(&ClaimMapping::default().claims_for(&rep))
    );
    let client = Client::builder(TokioExecutor::new()).build_http::<String>();
    for gzip in [false, true] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..30 {
            let mut req = Request::get(format!("{base}/app")).header(header::COOKIE, &cookie);
            if gzip {
                req = req.header(header::ACCEPT_ENCODING, "gzip");
            }
            let started = Instant::now();
            let response = client
                .request(req.body(String::new()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            times.push(started.elapsed());
            bytes = body.len();
        }
        times.sort();
        println!(
            "GET /app, 500 open MQLs, {}: p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms; {bytes} bytes transferred (body)",
            if gzip { "gzip" } else { "identity" },
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() * 9 / 10].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3,
        );
    }
}
