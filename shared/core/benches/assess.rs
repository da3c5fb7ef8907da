//! How long one assessment takes, and how long loading the contract takes.
//!
//!     cargo bench -p leadwatch-core --bench assess -- --warm-up-time 1 --measurement-time 3
//!
//! Target: one assessment of a realistic lead with 20 signals in 5 µs or less, so that a
//! backtest of a quarter's leads (tens of thousands, rescored after every signal) runs in
//! seconds and the ingest Lambda's scoring cost is noise next to its DynamoDB round trip.
//! The bench also prints the allocations of one assessment (66: all but the list of live
//! signals are the strings and lists the assessment hands back, so that figure is at
//! its floor).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};

use leadwatch_core::assess::assess;
use leadwatch_core::contract::{Contract, DEFAULT_CONTRACT_TOML};
use leadwatch_core::lead::{LeadProfile, Signal};

/// The system allocator, counting calls, so the bench can say how many allocations one
/// assessment makes (a relaxed atomic add costs next to nothing beside the allocation).
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

fn lead() -> LeadProfile {
    LeadProfile {
        email: "dana.lee@northwind-analytics.com".into(),
        first_name: Some("Dana".into()),
        last_name: Some("Lee".into()),
        title: Some("Director of Revenue Operations".into()),
        company: Some("Northwind Analytics".into()),
        employees: Some(420),
        industry: Some("SaaS".into()),
        country: Some("US".into()),
        abm_target: true,
        source: Some("website".into()),
        campaign: Some("q4-demo".into()),
    }
}

/// Twenty signals over four weeks, the way a real lead accumulates them: newsletter
/// opens and clicks, blog reading, pricing and comparison pages (some too short to
/// count), a webinar (one outside its window), replies, readiness, a careers page visit.
fn signals() -> Vec<Signal> {
    let s =
        |kind: &str, hours_ago: i64, seconds: Option<u32>, question: bool, detail: &str| Signal {
            kind: kind.into(),
            at: now() - Duration::hours(hours_ago),
            seconds_on_page: seconds,
            question,
            detail: (!detail.is_empty()).then(|| detail.to_string()),
        };
    vec![
        s("email_open", 620, None, false, ""),
        s(
            "webinar_attended",
            600,
            None,
            false,
            "Fixing the MQL handoff",
        ),
        s("email_open", 330, None, false, ""),
        s("blog_view", 300, Some(95), false, "/blog/sla-playbook"),
        s(
            "email_click",
            290,
            None,
            false,
            "newsletter: SLA benchmarks",
        ),
        s("blog_view", 240, Some(40), false, "/blog/lead-routing"),
        s(
            "webinar_attended",
            230,
            None,
            true,
            "SLA playbooks for SDR teams",
        ),
        s("careers_page_visit", 200, Some(30), false, "/careers"),
        s(
            "comparison_page_visit",
            170,
            Some(12),
            false,
            "/compare/rivalcrm",
        ),
        s(
            "comparison_page_visit",
            150,
            Some(130),
            false,
            "/compare/rivalcrm",
        ),
        s("email_open", 120, None, false, ""),
        s("email_click", 118, None, false, "case study: Ledgerly"),
        s("pricing_page_visit", 96, Some(45), false, "/pricing"),
        s("blog_view", 80, Some(60), false, "/blog/business-hours-sla"),
        s(
            "email_reply",
            50,
            None,
            true,
            "Does this work with Salesforce CPQ?",
        ),
        s(
            "pricing_page_visit",
            30,
            Some(140),
            false,
            "/pricing#enterprise",
        ),
        s(
            "timeline_shared",
            26,
            None,
            false,
            "want it live before Q1 planning",
        ),
        s(
            "linkedin_reply",
            20,
            None,
            true,
            "Can you send the security overview?",
        ),
        s("pricing_page_visit", 6, Some(200), false, "/pricing"),
        s(
            "budget_acknowledged",
            3,
            None,
            false,
            "budget approved for 2027",
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let contract = Contract::default_contract().expect("the shipped contract is valid");
    let (lead, signals) = (lead(), signals());
    assert_eq!(signals.len(), 20);
    let a = assess(&lead, &signals, &contract, now());
    assert_eq!(a.action, leadwatch_core::Action::ActNow, "a realistic MQL");

    // Allocations (reallocations included) of one assessment, result included.
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let a = black_box(assess(&lead, &signals, &contract, now()));
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    drop(a);
    println!("assess: realistic lead, 20 signals: {allocations} allocations per assessment");

    c.bench_function("assess: realistic lead, 20 signals", |b| {
        b.iter(|| {
            assess(
                black_box(&lead),
                black_box(&signals),
                black_box(&contract),
                black_box(now()),
            )
        })
    });
    c.bench_function("Contract::parse: default contract", |b| {
        b.iter(|| Contract::parse(black_box(DEFAULT_CONTRACT_TOML)).expect("valid"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
