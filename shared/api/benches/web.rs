//! How long the queue page takes to render with 500 open MQLs, store excluded, and how
//! many bytes it is (goal: under 5 ms). The whole request on the local stack, and the
//! bytes on the wire, are measured by `tests/tests/web_load.rs` (see the README).
//!
//!     cargo bench -p leadwatch-api --bench web -- --warm-up-time 1 --measurement-time 3

use std::hint::black_box;

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};

use leadwatch_api::web::layout::{page, Nav, Viewer};
use leadwatch_api::web::queue::render_queue;
use leadwatch_core::access::{Caller, Role};
use leadwatch_core::lead::{LeadProfile, Signal};
use leadwatch_core::state::LeadState;
use leadwatch_core::{Contract, LeadIds};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 15, 0, 0).unwrap()
}

/// `n` open fast-lane MQLs of team ae-na, one a minute before `now`.
pub fn open_mqls(n: usize, contract: &Contract) -> Vec<LeadState> {
    (0..n)
        .map(|i| {
            let at = now() - Duration::minutes(i as i64 + 1);
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

fn bench(c: &mut Criterion) {
    let contract = Contract::default_contract().expect("the built-in contract");
    let leads = open_mqls(500, &contract);
    let teams = vec!["ae-na".to_string()];
    let caller = Caller {
        subject: "dev-rep".into(),
        email: Some("rep@leadwatch.local".into()),
        teams: teams.iter().cloned().collect(),
        roles: [Role::Rep].into_iter().collect(),
    };
    let render = || {
        let viewer = Viewer {
            caller: &caller,
            form_token: "1790000000.00",
        };
        let body = render_queue(&leads, &teams, &contract, now(), None, &caller);
        page("My queue", Some(&viewer), Nav::Queue, body).into_string()
    };
    let html = render();
    assert_eq!(html.matches("data-lead=").count(), 500);
    println!(
        "queue page with 500 open MQLs: {} bytes of HTML",
        html.len()
    );
    c.bench_function("queue page, 500 open MQLs (render only)", |b| {
        b.iter(|| black_box(render()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
