//! Properties of the assessment over random leads and signals.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

use leadwatch::domain::contract::Pillar;
use leadwatch::domain::lead::{LeadProfile, Signal};
use leadwatch::{assess, Action, Contract};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

/// Signal types that add points (not negative triggers, not disqualifying).
const POSITIVE: &[&str] = &[
    "demo_request",
    "contact_sales",
    "pricing_page_visit",
    "comparison_page_visit",
    "email_reply",
    "linkedin_reply",
    "webinar_attended",
    "email_open",
    "email_click",
    "blog_view",
    "timeline_shared",
    "budget_acknowledged",
    "meeting_accepted",
];

const ALL: &[&str] = &[
    "demo_request",
    "pricing_page_visit",
    "linkedin_reply",
    "webinar_attended",
    "email_open",
    "blog_view",
    "timeline_shared",
    "meeting_accepted",
    "careers_page_visit",
    "just_researching",
    "vendor_outreach",
];

fn signal_strategy(kinds: &'static [&'static str]) -> impl Strategy<Value = Signal> {
    (
        prop::sample::select(kinds),
        0i64..(30 * 24 * 60),
        prop::option::of(0u32..300),
        any::<bool>(),
    )
        .prop_map(|(kind, age_minutes, seconds, question)| Signal {
            kind: kind.to_string(),
            at: now() - Duration::minutes(age_minutes),
            seconds_on_page: seconds,
            question,
            detail: None,
        })
}

fn lead_strategy() -> impl Strategy<Value = LeadProfile> {
    (
        prop::sample::select(vec!["acme.io", "gmail.com", "uni.edu", "globex.com"]),
        prop::option::of(prop::sample::select(vec![
            "VP Sales",
            "Director of RevOps",
            "Engineer",
            "Intern",
        ])),
        prop::option::of(1u32..30_000),
        prop::option::of(prop::sample::select(vec!["SaaS", "fintech", "retail"])),
        prop::option::of(prop::sample::select(vec!["US", "GB", "BR"])),
        any::<bool>(),
    )
        .prop_map(
            |(domain, title, employees, industry, country, abm)| LeadProfile {
                email: format!("x@{domain}"),
                title: title.map(Into::into),
                employees,
                industry: industry.map(Into::into),
                country: country.map(Into::into),
                abm_target: abm,
                ..Default::default()
            },
        )
}

fn pillars(a: &leadwatch::Assessment) -> [f64; 3] {
    [a.fit.points, a.intent.points, a.readiness.points]
}

proptest! {
    #[test]
    fn adding_a_positive_signal_never_lowers_a_pillar(
        lead in lead_strategy(),
        signals in prop::collection::vec(signal_strategy(ALL), 0..15),
        extra in signal_strategy(POSITIVE),
    ) {
        let c = Contract::default_contract().unwrap();
        let before = assess(&lead, &signals, &c, now());
        let mut more = signals.clone();
        more.push(extra);
        let after = assess(&lead, &more, &c, now());
        for (b, a) in pillars(&before).iter().zip(pillars(&after)) {
            prop_assert!(a >= *b, "{b} -> {a}");
        }
        prop_assert!(after.total >= before.total);
    }

    #[test]
    fn no_pillar_leaves_its_range(
        lead in lead_strategy(),
        signals in prop::collection::vec(signal_strategy(ALL), 0..40),
    ) {
        let c = Contract::default_contract().unwrap();
        let a = assess(&lead, &signals, &c, now());
        for pillar in [Pillar::Fit, Pillar::Intent, Pillar::Readiness] {
            let p = a.pillar(pillar);
            prop_assert!(p.points >= 0.0 && p.points <= f64::from(c.pillar_max(pillar)), "{pillar}: {}", p.points);
        }
        prop_assert_eq!(a.action == Action::Disqualify, !a.failed_gates.is_empty());
        if a.action == Action::ActNow {
            prop_assert!(a.gates_passed && a.route.is_some());
        }
        prop_assert_eq!(&a, &assess(&lead, &signals, &c, now()), "deterministic");
    }

    #[test]
    fn an_older_copy_never_scores_more(
        lead in lead_strategy(),
        base in signal_strategy(POSITIVE),
        older_by in 1i64..(20 * 24 * 60),
    ) {
        let c = Contract::default_contract().unwrap();
        let mut older = base.clone();
        older.at -= Duration::minutes(older_by);
        let newer_a = assess(&lead, std::slice::from_ref(&base), &c, now());
        let older_a = assess(&lead, &[older], &c, now());
        for (o, n) in pillars(&older_a).iter().zip(pillars(&newer_a)) {
            prop_assert!(*o <= n, "older {o} > newer {n}");
        }
    }
}
