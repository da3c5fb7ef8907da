//! Unit tests of the lead state machine: promotion with packet and timer, accept,
//! reject and return to nurture, and watchdog claims through to expiry.

use super::*;
use chrono::{Duration, TimeZone};

fn contract() -> Contract {
    Contract::default_contract().unwrap()
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
}

fn profile() -> LeadProfile {
    LeadProfile {
        email: "dana@northwind.io".into(),
        first_name: Some("Dana".into()),
        title: Some("VP RevOps".into()),
        company: Some("Northwind".into()),
        employees: Some(250),
        industry: Some("SaaS".into()),
        country: Some("US".into()),
        source: Some("website".into()),
        ..Default::default()
    }
}

fn demo(t: DateTime<Utc>) -> Signal {
    Signal {
        kind: "demo_request".into(),
        at: t,
        seconds_on_page: None,
        question: false,
        detail: None,
    }
}

fn new_lead(p: LeadProfile, c: &Contract) -> LeadState {
    LeadState::new(
        crate::LeadIds::development().id_for(&p.email),
        p,
        c,
        at(14, 0),
    )
}

fn mql() -> LeadState {
    let c = contract();
    let mut s = new_lead(profile(), &c);
    s.ingest(None, &[demo(at(14, 0))], &c, at(14, 0));
    assert_eq!(s.status, Status::Mql);
    s
}

#[test]
fn a_demo_request_promotes_with_packet_and_timer() {
    let s = mql();
    assert_eq!(s.team.as_deref(), Some("ae-na"));
    assert!(s.packet.is_some());
    let (timer, kind) = s.next_timer().unwrap();
    assert_eq!(kind, TimerKind::Sla);
    // Fast lane: 60 business minutes, warning at 45: 14:45Z is 09:45 New York.
    assert_eq!(timer, at(14, 45));
    assert_eq!(s.mql_cycle, 1);
}

#[test]
fn missing_packet_field_blocks_promotion_and_says_why() {
    let c = contract();
    let mut p = profile();
    p.company = None;
    let mut s = new_lead(p, &c);
    let events = s.ingest(None, &[demo(at(14, 0))], &c, at(14, 0));
    assert_eq!(s.status, Status::Nurture);
    assert!(events.iter().any(
        |e| e.detail.as_deref() == Some("not promoted: the handoff packet is missing company")
    ));
    assert!(s.next_timer().is_none());
}

#[test]
fn accept_clears_the_timer_and_records_business_minutes() {
    let c = contract();
    let mut s = mql();
    let events = s.accept("sam@seller.io", &c, at(14, 30)).unwrap();
    assert_eq!(s.status, Status::Sal);
    assert_eq!(events[0].business_minutes, Some(30));
    assert_eq!(s.accepted_within_sla, Some(true));
    assert!(s.next_timer().is_none());
    let err = s.accept("x", &c, at(14, 31)).unwrap_err();
    assert_eq!(err.to_string(), "cannot accept a lead that is sal");
}

#[test]
fn reject_needs_a_known_reason_then_returns_to_nurture_with_cool_off() {
    let c = contract();
    let mut s = mql();
    let err = s.reject("sam", "meh", None, &c, at(14, 10)).unwrap_err();
    assert!(matches!(err, DispositionError::UnknownReason { .. }));
    assert!(err.to_string().contains("not_icp, no_intent"));
    assert_eq!(s.status, Status::Mql, "a refused rejection changes nothing");
    s.reject("sam", "no_intent", Some("student project"), &c, at(14, 10))
        .unwrap();
    assert_eq!(
        s.next_timer(),
        Some((at(14, 10), TimerKind::ReturnToNurture))
    );
    s.return_to_nurture(&c, at(14, 11)).unwrap();
    assert_eq!(s.status, Status::Nurture);
    assert_eq!(s.return_reason.as_deref(), Some("no_intent"));
    let a = s.assessment.as_ref().unwrap();
    assert_eq!(a.intent.points, 0.0, "old intent no longer counts");
    // A fresh demo request during cool-off does not re-qualify.
    s.ingest(None, &[demo(at(15, 0))], &c, at(15, 0));
    assert_eq!(s.status, Status::Nurture);
    // After the cool-off it does.
    let later = at(15, 0) + Duration::days(15);
    s.ingest(None, &[demo(later)], &c, later);
    assert_eq!(s.status, Status::Mql);
    assert_eq!(s.mql_cycle, 2);
    assert_eq!(
        s.alert_id("sla_breach", "1"),
        format!("{}:sla_breach:1@2", s.lead_id)
    );
}

#[test]
fn claims_hold_steps_and_expiry_ends_in_nurture() {
    let c = contract();
    let mut s = mql();
    let warn_at = s.sla.as_ref().unwrap().steps[0].at;
    // The run's wall clock, days away from the event's time (a replay, the demo).
    let wall = warn_at + Duration::days(9);
    assert!(s.due_step(warn_at - Duration::seconds(1), wall).is_none());
    let work = s.due_work(warn_at, wall).unwrap();
    let (step, _) = s.due_step(warn_at, wall).unwrap();
    let timer = s.next_timer();
    s.claim(&work, "run-1", warn_at, wall);
    assert!(s.holds_claim("run-1", &work));
    assert!(!s.holds_claim("run-2", &work));
    assert_eq!(
        s.claim.as_ref().unwrap().until,
        wall + Duration::seconds(CLAIM_LEASE_SECONDS),
        "the lease runs on the wall clock"
    );
    assert_eq!(s.next_timer(), timer, "a claim does not move the timer");
    assert!(s.due_step(warn_at, wall).is_none(), "claimed");
    // Any event time, however late, sees the claim live until the wall clock passes it.
    let later_event = warn_at + Duration::minutes(4);
    assert!(s.due_step(later_event, wall).is_none(), "still held");
    assert!(
        s.due_step(
            later_event,
            wall + Duration::seconds(CLAIM_LEASE_SECONDS - 1)
        )
        .is_none(),
        "held until the lease runs out"
    );
    assert!(
        s.due_step(warn_at, wall + Duration::seconds(CLAIM_LEASE_SECONDS))
            .is_some(),
        "lease ran out"
    );
    s.complete_step(step, &c, warn_at);
    assert_eq!(s.sla_step, 1);
    let steps = s.sla.clone().unwrap().steps;
    for (i, st) in steps.iter().enumerate().skip(1) {
        let (due, _) = s.due_step(st.at, wall).unwrap();
        assert_eq!(due as usize, i);
        let work = s.due_work(st.at, wall).unwrap();
        s.claim(&work, "run", st.at, wall);
        s.complete_step(due, &c, st.at);
    }
    assert_eq!(s.status, Status::Nurture);
    assert_eq!(s.return_reason.as_deref(), Some(SLA_EXPIRED));
    assert!(s.next_timer().is_none());
}
