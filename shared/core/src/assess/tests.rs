//! Unit tests of the assessment: fit, decay, recency, caps, negatives, each gate, the
//! fast lane and the cool-off of a returned lead.

use super::profile::contains_word;
use super::*;
use chrono::{Duration, TimeZone};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

fn contract() -> Contract {
    Contract::default_contract().unwrap()
}

fn lead() -> LeadProfile {
    LeadProfile {
        email: "ana@acme.io".into(),
        title: Some("Director of Revenue Operations".into()),
        employees: Some(250),
        industry: Some("SaaS".into()),
        country: Some("US".into()),
        ..Default::default()
    }
}

fn signal(kind: &str, hours_ago: i64) -> Signal {
    Signal {
        kind: kind.into(),
        at: now() - Duration::hours(hours_ago),
        seconds_on_page: None,
        question: false,
        detail: None,
    }
}

#[test]
fn fit_adds_band_industry_and_persona() {
    let a = assess(&lead(), &[], &contract(), now());
    // 20 (200-2000) + 15 (saas) + 15 (champion: director / revenue operations)
    assert_eq!(a.fit.points, 50.0);
    assert_eq!(a.fit_tier, 1);
    assert_eq!(a.intent.points, 0.0);
    assert_eq!(a.action, Action::Nurture);
}

#[test]
fn decay_halves_at_half_life() {
    let fresh = assess(
        &lead(),
        &[signal("pricing_page_visit", 0)],
        &contract(),
        now(),
    );
    let week = assess(
        &lead(),
        &[signal("pricing_page_visit", 24 * 7)],
        &contract(),
        now(),
    );
    assert_eq!(fresh.intent.points, 8.0);
    assert_eq!(week.intent.points, 4.0);
}

#[test]
fn recency_window_drops_old_signals() {
    let a = assess(
        &lead(),
        &[signal("pricing_page_visit", 24 * 15)],
        &contract(),
        now(),
    );
    assert_eq!(a.intent.points, 0.0);
    assert!(
        a.ignored[0].why.contains("14-day recency window"),
        "{:?}",
        a.ignored
    );
}

#[test]
fn per_type_cap_bounds_repeats() {
    let visits: Vec<Signal> = (0..10).map(|h| signal("pricing_page_visit", h)).collect();
    let a = assess(&lead(), &visits, &contract(), now());
    assert!(
        a.intent.points <= 15.0 && a.intent.points > 14.0,
        "{}",
        a.intent.points
    );
}

#[test]
fn cheap_signals_cannot_qualify_alone() {
    let mut many: Vec<Signal> = (0..40).map(|h| signal("blog_view", h)).collect();
    many.extend((0..40).map(|h| signal("email_click", h)));
    many.extend((0..40).map(|h| signal("email_open", h)));
    let a = assess(&lead(), &many, &contract(), now());
    assert_eq!(a.intent.points, 6.0);
    assert_eq!(a.action, Action::Nurture);
}

#[test]
fn min_seconds_threshold_and_strong_points() {
    let mut short = signal("pricing_page_visit", 0);
    short.seconds_on_page = Some(5);
    let mut long = signal("pricing_page_visit", 0);
    long.seconds_on_page = Some(200);
    assert_eq!(
        assess(&lead(), &[short], &contract(), now()).intent.points,
        0.0
    );
    assert_eq!(
        assess(&lead(), &[long], &contract(), now()).intent.points,
        15.0
    );
}

#[test]
fn careers_only_visits_are_negative() {
    let a = assess(
        &lead(),
        &[signal("careers_page_visit", 1)],
        &contract(),
        now(),
    );
    assert!(a
        .reasons
        .iter()
        .any(|r| r.source == "careers_page_only" && r.points == -15.0));
    assert_eq!(a.intent.points, 0.0, "clamped at zero");
    let mixed = assess(
        &lead(),
        &[
            signal("careers_page_visit", 1),
            signal("pricing_page_visit", 1),
        ],
        &contract(),
        now(),
    );
    assert!(!mixed
        .reasons
        .iter()
        .any(|r| r.source == "careers_page_only"));
}

#[test]
fn each_gate_is_named() {
    let c = contract();
    let cases = [
        ("a@gmail.com", None, None, None, "free_email_domain"),
        ("a@uni.edu", None, None, None, "student"),
        ("a@rivalcrm.example", None, None, None, "competitor"),
        ("a@outreachly.example", None, None, None, "vendor"),
        ("a@acme.io", Some("BR"), None, None, "serviceable_country"),
        ("a@acme.io", None, Some(3), None, "employee_band"),
        ("a@acme.io", None, None, Some("Marketing Intern"), "persona"),
    ];
    for (email, country, employees, title, gate) in cases {
        let l = LeadProfile {
            email: email.into(),
            country: country.map(Into::into),
            employees,
            title: title.map(Into::into),
            ..Default::default()
        };
        let a = assess(&l, &[signal("demo_request", 1)], &c, now());
        assert_eq!(a.action, Action::Disqualify, "{email}");
        assert!(!a.fast_lane);
        assert_eq!(a.failed_gates[0].gate, gate, "{email}");
        assert!(a.route.is_none());
    }
    let a = assess(&lead(), &[signal("vendor_outreach", 1)], &c, now());
    assert_eq!(a.failed_gates[0].gate, "disqualifying_signal");
}

#[test]
fn fast_lane_skips_the_threshold_and_routes_to_ae() {
    let l = LeadProfile {
        email: "x@tiny.io".into(),
        employees: Some(12),
        country: Some("US".into()),
        ..Default::default()
    };
    let a = assess(&l, &[signal("demo_request", 2)], &contract(), now());
    assert!(a.fast_lane);
    assert_eq!(a.action, Action::ActNow);
    assert_eq!(a.route.unwrap().team, "ae-na");
    assert_eq!(a.sla_policy.as_deref(), Some("fast_lane"));
}

#[test]
fn cool_off_and_signals_since_hold_a_returned_lead_back() {
    let signals = [signal("demo_request", 48), signal("pricing_page_visit", 1)];
    let options = AssessOptions {
        signals_since: Some(now() - Duration::hours(24)),
        cool_off_until: None,
    };
    let a = assess_with(&lead(), &signals, &contract(), now(), options);
    assert!(
        !a.fast_lane,
        "the demo request predates the return to nurture"
    );
    assert_eq!(
        a.intent.points,
        round2(8.0 * 0.5_f64.powf(1.0 / 24.0 / 7.0))
    );
    let cooling = AssessOptions {
        signals_since: None,
        cool_off_until: Some(now() + Duration::days(3)),
    };
    let a = assess_with(&lead(), &signals, &contract(), now(), cooling);
    assert_eq!(a.action, Action::Nurture);
}

#[test]
fn future_signals_are_ignored_by_the_assessment() {
    let mut s = signal("demo_request", 0);
    s.at = now() + Duration::hours(1);
    let a = assess(&lead(), &[s], &contract(), now());
    assert!(!a.fast_lane);
    assert_eq!(a.ignored[0].why, "after the assessment time");
}

#[test]
fn word_matching_for_titles() {
    assert!(contains_word("vp, revops", "vp"));
    assert!(!contains_word("mvp engineer", "vp"));
    assert!(contains_word("head of sales", "head of"));
}

/// `contains_word` scans bytes itself; it must agree with the `match_indices` version it
/// replaced, including where matches overlap ("ba a a": the first "a a" is glued to "b",
/// and the search resumes after it, so the later "a a" is never tried).
#[test]
fn word_matching_agrees_with_match_indices() {
    fn reference(haystack: &str, needle: &str) -> bool {
        haystack.match_indices(needle).any(|(i, _)| {
            let before = haystack[..i].chars().next_back();
            let after = haystack[i + needle.len()..].chars().next();
            before.is_none_or(|c| !c.is_alphanumeric())
                && after.is_none_or(|c| !c.is_alphanumeric())
        })
    }
    let haystacks = [
        "",
        "a",
        "ba a a",
        "a a",
        "aaa",
        "vp vp",
        "a vpvp vp",
        "mvp engineer",
        "σvp",
        "vpé",
        "é vp",
        "head of  sales",
        "director, revops",
        "ίσ vp ίσ",
        "👩 vp",
        "vp",
        "vpvp",
    ];
    let needles = [
        "", "a", "a a", "aa", "vp", "head of", "é", "ίσ", "vp vp", "p",
    ];
    for h in haystacks {
        for n in needles {
            assert_eq!(contains_word(h, n), reference(h, n), "{h:?} {n:?}");
        }
    }
}
