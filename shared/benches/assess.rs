//! One assessment of a realistic lead with 20 signals, and parsing the contract.
//! Run: cargo bench -p leadwatch --bench assess

use chrono::{Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

use leadwatch::domain::contract::DEFAULT_CONTRACT_TOML;
use leadwatch::domain::lead::{LeadProfile, Signal};
use leadwatch::{assess, Contract};

fn bench(c: &mut Criterion) {
    let contract = Contract::default_contract().expect("shipped contract is valid");
    let now = Utc
        .with_ymd_and_hms(2026, 11, 23, 15, 0, 0)
        .single()
        .expect("valid time");
    let lead = LeadProfile {
        email: "dana.lee@northwind.io".into(),
        first_name: Some("Dana".into()),
        title: Some("Director of Revenue Operations".into()),
        company: Some("Northwind".into()),
        employees: Some(250),
        industry: Some("SaaS".into()),
        country: Some("US".into()),
        source: Some("website".into()),
        ..Default::default()
    };
    let kinds = [
        "pricing_page_visit",
        "blog_view",
        "email_open",
        "email_click",
        "linkedin_reply",
        "webinar_attended",
        "comparison_page_visit",
        "timeline_shared",
        "careers_page_visit",
        "email_reply",
    ];
    let signals: Vec<Signal> = (0..20)
        .map(|i| Signal {
            kind: kinds[i % kinds.len()].into(),
            at: now - Duration::hours(7 * i as i64),
            seconds_on_page: Some(30 + 10 * i as u32),
            question: i % 4 == 0,
            detail: (i % 5 == 0).then(|| "asking about integrations".to_string()),
        })
        .collect();
    c.bench_function("assess 20 signals", |b| {
        b.iter(|| assess(black_box(&lead), black_box(&signals), &contract, now))
    });
    c.bench_function("parse default contract", |b| {
        b.iter(|| Contract::parse(black_box(DEFAULT_CONTRACT_TOML)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
