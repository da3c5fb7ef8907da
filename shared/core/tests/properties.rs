//! Properties of the assessment over random leads and random signal lists.
//!
//! Signal types are drawn from the shipped contract itself (so a new type is covered
//! without touching this file), with random ages from 0 to 30 days, time on page,
//! question flags and details.

use std::sync::LazyLock;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

use leadwatch_core::assess::{assess, Action, Assessment};
use leadwatch_core::contract::{Contract, Pillar};
use leadwatch_core::lead::{LeadProfile, Signal};

static CONTRACT: LazyLock<Contract> =
    LazyLock::new(|| Contract::default_contract().expect("the shipped contract is valid"));

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

const PILLARS: [Pillar; 3] = [Pillar::Fit, Pillar::Intent, Pillar::Readiness];
const MAX_AGE_SECONDS: i64 = 30 * 86_400;

/// Signal types that trigger a negative (`when_only` or `when_present`).
fn negative_triggers() -> Vec<String> {
    CONTRACT
        .spec
        .negatives
        .values()
        .flat_map(|n| [n.when_only.clone(), n.when_present.clone()])
        .flatten()
        .collect()
}

/// Every signal type of the contract.
fn all_kinds() -> Vec<String> {
    CONTRACT.spec.signals.keys().cloned().collect()
}

/// Types that can only add points: points > 0, not a negative trigger, not disqualifying.
fn positive_kinds() -> Vec<String> {
    let negatives = negative_triggers();
    let kinds: Vec<String> = CONTRACT
        .spec
        .signals
        .iter()
        .filter(|(name, t)| {
            t.points > 0
                && !negatives.contains(name)
                && !CONTRACT.spec.gates.disqualifying_signals.contains(name)
        })
        .map(|(name, _)| name.clone())
        .collect();
    assert!(
        kinds.len() >= 10,
        "the contract has positive types: {kinds:?}"
    );
    kinds
}

/// Everything but the `when_present` negatives, whose expiry is meant to raise a score
/// (see `an_expiring_negative_may_raise_a_pillar` below).
fn non_expiring_kinds() -> Vec<String> {
    let present: Vec<String> = CONTRACT
        .spec
        .negatives
        .values()
        .filter_map(|n| n.when_present.clone())
        .collect();
    all_kinds()
        .into_iter()
        .filter(|k| !present.contains(k))
        .collect()
}

fn signal_of(kinds: Vec<String>) -> impl Strategy<Value = Signal> {
    (
        prop::sample::select(kinds),
        0..=MAX_AGE_SECONDS,
        prop::option::of(0u32..300),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![
            "asked about SSO",
            "Pricing for 40 seats?",
            "Q1 rollout",
            "",
            "\u{1b}[31mred\r\nline",
        ])),
    )
        .prop_map(|(kind, age, seconds, question, detail)| Signal {
            kind,
            at: now() - Duration::seconds(age),
            seconds_on_page: seconds,
            question,
            detail: detail.map(Into::into),
        })
}

fn signals_of(kinds: Vec<String>, max: usize) -> impl Strategy<Value = Vec<Signal>> {
    prop::collection::vec(signal_of(kinds), 0..max)
}

fn lead() -> impl Strategy<Value = LeadProfile> {
    (
        prop::sample::select(vec![
            "acme.io",
            "northwind-analytics.com",
            "gmail.com",
            "uni.edu",
            "oxford.ac.uk",
            "rivalcrm.example",
            "outreachly.example",
        ]),
        prop::option::of(prop::sample::select(vec![
            "VP Sales",
            "Chief Revenue Officer",
            "Director of RevOps",
            "Marketing Operations Manager",
            "Software Engineer",
            "Marketing Intern",
            "PhD Student",
            "Freelance Consultant",
        ])),
        prop::option::of(prop::sample::select(vec![
            0u32, 5, 10, 49, 50, 199, 250, 1_500, 5_000, 20_001, 150_000,
        ])),
        prop::option::of(prop::sample::select(vec![
            "SaaS", "software", "Fintech", "retail",
        ])),
        prop::option::of(prop::sample::select(vec![
            "US", "CA", "GB", "DE", "AU", "BR",
        ])),
        any::<bool>(),
    )
        .prop_map(
            |(domain, title, employees, industry, country, abm_target)| LeadProfile {
                email: format!("pat@{domain}"),
                title: title.map(Into::into),
                company: Some("Acme".into()),
                employees,
                industry: industry.map(Into::into),
                country: country.map(Into::into),
                abm_target,
                ..Default::default()
            },
        )
}

/// A lead that passes every gate with the full 50 fit points (band 20, industry 15,
/// economic buyer 20), so only intent stands between it and an MQL.
fn strong_fit_lead() -> impl Strategy<Value = LeadProfile> {
    (
        prop::sample::select(vec!["VP Sales", "Chief Revenue Officer", "Head of RevOps"]),
        prop::sample::select(vec![200u32, 250, 1_500, 2_000]),
        prop::sample::select(vec!["US", "GB", "AU"]),
        any::<bool>(),
    )
        .prop_map(|(title, employees, country, abm_target)| LeadProfile {
            email: "pat@northwind-analytics.com".into(),
            title: Some(title.into()),
            employees: Some(employees),
            industry: Some("SaaS".into()),
            country: Some(country.into()),
            abm_target,
            ..Default::default()
        })
}

/// Cheap engagement (opens, clicks, blog views) and every readiness type.
fn cheap_and_readiness_kinds() -> Vec<String> {
    let kinds: Vec<String> = CONTRACT
        .spec
        .signals
        .iter()
        .filter(|(_, t)| t.cheap || t.pillar == Pillar::Readiness)
        .map(|(name, _)| name.clone())
        .collect();
    assert!(kinds.len() >= 4, "{kinds:?}");
    kinds
}

fn scores(a: &Assessment) -> [f64; 4] {
    [a.fit.points, a.intent.points, a.readiness.points, a.total]
}

fn shifted(signals: &[Signal], by: Duration) -> Vec<Signal> {
    signals
        .iter()
        .map(|s| Signal {
            at: s.at - by,
            ..s.clone()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn adding_a_positive_signal_never_lowers_a_pillar_nor_the_total(
        lead in lead(),
        signals in signals_of(all_kinds(), 30),
        extra in signal_of(positive_kinds()),
        position in any::<prop::sample::Index>(),
    ) {
        let before = assess(&lead, &signals, &CONTRACT, now());
        let mut more = signals.clone();
        more.insert(position.index(signals.len() + 1), extra);
        let after = assess(&lead, &more, &CONTRACT, now());
        for (name, (b, a)) in ["fit", "intent", "readiness", "total"]
            .iter()
            .zip(scores(&before).into_iter().zip(scores(&after)))
        {
            prop_assert!(a >= b, "{} fell from {} to {}", name, b, a);
        }
    }

    #[test]
    fn no_pillar_leaves_its_range(
        lead in lead(),
        signals in signals_of(all_kinds(), 60),
    ) {
        let a = assess(&lead, &signals, &CONTRACT, now());
        for pillar in PILLARS {
            let p = a.pillar(pillar);
            prop_assert_eq!(p.max, CONTRACT.pillar_max(pillar));
            prop_assert!(
                (0.0..=f64::from(p.max)).contains(&p.points),
                "{}: {} outside 0..={}", pillar, p.points, p.max
            );
        }
        let sum = a.fit.points + a.intent.points + a.readiness.points;
        prop_assert!((a.total - sum).abs() < 0.005, "total {} != {}", a.total, sum);
    }

    #[test]
    fn an_older_copy_of_a_signal_never_scores_more(
        lead in lead(),
        signal in signal_of(all_kinds()),
        older_by in 1..=MAX_AGE_SECONDS,
    ) {
        let newer = assess(&lead, std::slice::from_ref(&signal), &CONTRACT, now());
        let older = assess(&lead, &shifted(&[signal], Duration::seconds(older_by)), &CONTRACT, now());
        for (o, n) in scores(&older).into_iter().zip(scores(&newer)) {
            prop_assert!(o <= n, "older {} > newer {}", o, n);
        }
    }

    #[test]
    fn a_whole_list_shifted_older_never_scores_more(
        lead in lead(),
        signals in signals_of(non_expiring_kinds(), 30),
        older_by in 1..=MAX_AGE_SECONDS,
    ) {
        let newer = assess(&lead, &signals, &CONTRACT, now());
        let older = assess(&lead, &shifted(&signals, Duration::seconds(older_by)), &CONTRACT, now());
        for (o, n) in scores(&older).into_iter().zip(scores(&newer)) {
            prop_assert!(o <= n, "older {} > newer {}", o, n);
        }
    }

    #[test]
    fn the_assessment_depends_only_on_its_inputs(
        lead in lead(),
        other in lead(),
        signals in signals_of(all_kinds(), 30),
        other_signals in signals_of(all_kinds(), 30),
    ) {
        let first = assess(&lead, &signals, &CONTRACT, now());
        // Another assessment in between, and a freshly parsed contract: no hidden state.
        let _ = assess(&other, &other_signals, &CONTRACT, now());
        let fresh = Contract::default_contract().unwrap();
        prop_assert_eq!(&first, &assess(&lead, &signals, &fresh, now()));
        prop_assert_eq!(&first, &assess(&lead.clone(), &signals.clone(), &CONTRACT, now()));
    }

    /// Backtests and replays assess a lead at an earlier instant with the signals it has
    /// today: what happened after that instant must not change the verdict.
    #[test]
    fn signals_after_the_assessment_time_change_nothing_but_the_not_counted_list(
        lead in lead(),
        signals in signals_of(all_kinds(), 20),
        later in prop::collection::vec(signal_of(all_kinds()), 1..5),
    ) {
        let later: Vec<Signal> = later
            .into_iter()
            .map(|s| Signal { at: now() + (now() - s.at) + Duration::seconds(1), ..s })
            .collect();
        let a = assess(&lead, &signals, &CONTRACT, now());
        let mut all = signals.clone();
        all.extend(later.iter().cloned());
        let b = assess(&lead, &all, &CONTRACT, now());
        prop_assert_eq!(b.ignored.len(), a.ignored.len() + later.len());
        prop_assert_eq!(&a, &Assessment { ignored: a.ignored.clone(), ..b });
    }

    #[test]
    fn the_order_signals_arrive_in_does_not_change_the_decision(
        lead in lead(),
        signals in signals_of(all_kinds(), 30),
        seed in any::<u64>(),
    ) {
        let a = assess(&lead, &signals, &CONTRACT, now());
        let mut shuffled = signals.clone();
        // A deterministic shuffle from the seed (Fisher-Yates with an LCG).
        let mut state = seed;
        for i in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (state >> 33) as usize % (i + 1));
        }
        let b = assess(&lead, &shuffled, &CONTRACT, now());
        prop_assert_eq!(scores(&a), scores(&b));
        prop_assert_eq!(a.action, b.action);
        prop_assert_eq!(a.fast_lane, b.fast_lane);
        prop_assert_eq!(a.route, b.route);
        prop_assert_eq!(a.failed_gates, b.failed_gates);
    }

    #[test]
    fn cheap_engagement_and_readiness_alone_never_make_an_mql(
        lead in strong_fit_lead(),
        signals in signals_of(cheap_and_readiness_kinds(), 60),
    ) {
        let a = assess(&lead, &signals, &CONTRACT, now());
        prop_assert!(
            a.intent.points <= f64::from(CONTRACT.spec.pillars.cheap_signal_cap),
            "intent {}", a.intent.points
        );
        prop_assert_ne!(a.action, Action::ActNow, "total {}", a.total);
    }

    #[test]
    fn the_decision_agrees_with_the_gates_and_the_route(
        lead in lead(),
        signals in signals_of(all_kinds(), 30),
    ) {
        let a = assess(&lead, &signals, &CONTRACT, now());
        prop_assert_eq!(a.gates_passed, a.failed_gates.is_empty());
        prop_assert_eq!(a.action == Action::Disqualify, !a.failed_gates.is_empty());
        if a.action == Action::ActNow {
            prop_assert!(a.gates_passed);
            prop_assert!(a.route.is_some());
            prop_assert!(a.sla_policy.is_some());
        } else {
            prop_assert!(a.sla_policy.is_none());
        }
        if a.fast_lane {
            prop_assert_eq!(a.action, Action::ActNow);
        }
        if a.gates_passed {
            prop_assert!(a.route.is_some(), "the default rule routes every lead");
        } else {
            prop_assert!(a.route.is_none());
            prop_assert!(!a.fast_lane);
        }
        let actions = &CONTRACT.spec.actions;
        if a.action == Action::ActNow && !a.fast_lane {
            prop_assert!(a.total >= f64::from(actions.act_now_min_total));
            prop_assert!(a.intent.points >= f64::from(actions.act_now_min_intent));
        }
    }
}

/// Why the list property leaves out `when_present` negatives: once "just researching"
/// leaves its window it stops subtracting, so an older list can score more. That is the
/// intended reading of a recency window, not a decay bug.
#[test]
fn an_expiring_negative_may_raise_a_pillar() {
    let lead = LeadProfile {
        email: "pat@acme.io".into(),
        ..Default::default()
    };
    let at = |kind: &str, days: i64| Signal {
        kind: kind.into(),
        at: now() - Duration::days(days),
        seconds_on_page: None,
        question: true,
        detail: None,
    };
    let signals = [at("just_researching", 6), at("timeline_shared", 0)];
    let newer = assess(&lead, &signals, &CONTRACT, now());
    assert_eq!(newer.readiness.points, 0.0, "10 - 10");
    let older = assess(
        &lead,
        &shifted(&signals, Duration::days(2)),
        &CONTRACT,
        now(),
    );
    // 10 * 0.5^(2/7) = 8.2034 -> 8.2, and "just researching" (8 days) has expired.
    assert_eq!(older.readiness.points, 8.2);
}
