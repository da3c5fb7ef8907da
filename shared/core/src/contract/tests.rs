//! Unit tests of contract validation: the shipped contract passes, and each cross-key
//! rule names the key it found wrong.

use super::*;

fn with(edit: impl FnOnce(&mut ContractSpec)) -> Result<Contract, ContractErrors> {
    let mut spec: ContractSpec = toml::from_str(DEFAULT_CONTRACT_TOML).unwrap();
    edit(&mut spec);
    Contract::validate(spec)
}

#[test]
fn shipped_contract_is_valid() {
    let c = Contract::default_contract().unwrap();
    assert_eq!(c.version(), "2026.11.1");
    assert_eq!(c.pillar_max(Pillar::Fit), 50);
    assert_eq!(c.pillar_max(Pillar::Intent), 30);
    assert_eq!(c.pillar_max(Pillar::Readiness), 20);
}

#[test]
fn signal_points_above_pillar_cap_name_the_key() {
    let err = with(|s| s.signals.get_mut("pricing_page_visit").unwrap().points = 40).unwrap_err();
    assert!(
        err.0.contains(
            &"signals.pricing_page_visit.points: 40 exceeds the intent cap 30".to_string()
        ),
        "{err}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = with(|s| {
        s.signals.get_mut("pricing_page_visit").unwrap().points = 40;
        s.routing[0].team = "nobody".into();
        s.calendars.get_mut("london").unwrap().time_zone = "Mars/Base".into();
        s.sla.policies.get_mut("standard").unwrap().warn_at_fraction = 1.5;
        s.rejection.reasons.push("not_icp".into());
    })
    .unwrap_err();
    let text = err.to_string();
    for expected in [
        "signals.pricing_page_visit.points",
        "routing[0].team: unknown team \"nobody\"",
        "calendars.london.",
        "sla.policies.standard.warn_at_fraction",
        "\"not_icp\" is listed twice",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    // points 40 also trips "strong_points 15 is below points 40": six in all.
    assert_eq!(err.0.len(), 6, "{text}");
}

#[test]
fn cheap_signals_must_not_reach_the_intent_threshold() {
    let err = with(|s| s.pillars.cheap_signal_cap = 12).unwrap_err();
    assert!(
        err.to_string().contains("pillars.cheap_signal_cap"),
        "{err}"
    );
}

#[test]
fn recency_window_must_fit_the_class() {
    let err = with(|s| s.signals.get_mut("demo_request").unwrap().recency_days = 30).unwrap_err();
    assert!(
        err.to_string().contains(
            "signals.demo_request.recency_days: 30 is outside the Inbound window 1-7 days"
        ),
        "{err}"
    );
}

#[test]
fn routing_and_sla_need_a_default() {
    let err = with(|s| {
        s.routing.pop();
        s.sla.select.pop();
    })
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("routing: the last rule"), "{text}");
    assert!(text.contains("sla.select: the last selector"), "{text}");
}

#[test]
fn ladder_levels_must_count_up_and_end_once() {
    let err = with(|s| {
        let ladder = &mut s.sla.policies.get_mut("standard").unwrap().ladder;
        ladder[1].level = 5;
        ladder[0].final_action = Some(FinalAction::ReturnToNurture);
    })
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("sla.policies.standard.ladder[1].level: 5 should be 2"),
        "{text}"
    );
    assert!(
        text.contains("sla.policies.standard.ladder[0].final_action"),
        "{text}"
    );
}

#[test]
fn unknown_keys_and_bad_types_are_rejected_by_the_parser() {
    let bad = DEFAULT_CONTRACT_TOML.replace("[pillars]\nfit = 50", "[pillars]\nfit = \"fifty\"");
    let err = Contract::parse(&bad).unwrap_err();
    assert!(err.to_string().contains("fit"), "{err}");
    let unknown = format!("{DEFAULT_CONTRACT_TOML}\n[surprise]\nx = 1\n");
    assert!(Contract::parse(&unknown)
        .unwrap_err()
        .to_string()
        .contains("surprise"));
}

#[test]
fn routing_picks_first_match() {
    let c = Contract::default_contract().unwrap();
    assert_eq!(
        c.route(true, Some("US"), 2, Some(100)).unwrap().team,
        "ae-na"
    );
    assert_eq!(
        c.route(true, Some("DE"), 2, Some(100)).unwrap().team,
        "ae-emea"
    );
    assert_eq!(
        c.route(false, Some("US"), 1, Some(5000)).unwrap().team,
        "sdr-na-enterprise"
    );
    assert_eq!(
        c.route(false, Some("US"), 2, Some(5000)).unwrap().team,
        "sdr-na"
    );
    assert_eq!(
        c.route(false, Some("GB"), 1, None).unwrap().team,
        "sdr-emea"
    );
    assert_eq!(c.route(false, None, 3, None).unwrap().team, "sdr-emea");
    assert_eq!(c.select_sla_policy(true, 3, "ae-na"), Some("fast_lane"));
    assert_eq!(c.select_sla_policy(false, 1, "sdr-na"), Some("tier1"));
    assert_eq!(c.select_sla_policy(false, 2, "sdr-na"), Some("standard"));
}
