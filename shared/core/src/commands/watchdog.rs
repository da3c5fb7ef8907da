//! The watchdog's steps as commands. A due SLA step (warning, breach, escalation,
//! expiry) or a return to nurture is sent in three writes, so that a run that dies
//! midway neither loses the step nor sends it twice:
//!
//! 1. [`claim_due_step`]: take the due work with a lease, and build its alert;
//! 2. after the publish, [`commit_step`]: move the lead on (only while the claim holds);
//! 3. or, if the publish failed, [`release_step`]: give the work back for the next run.
//!
//! Each takes two instants: `now`, the schedule event's time, which decides what is due
//! and stamps the change, and `wall`, the wall clock, on which a claim's lease runs
//! (see [`crate::state`]'s watchdog module for why they differ).

use chrono::{DateTime, Duration, Utc};

use super::Outcome;
use crate::alert::{returned_to_nurture_alert, sla_alert, AlertMessage};
use crate::calendar::HORIZON_DAYS;
use crate::contract::Contract;
use crate::state::{DueWork, LeadState};

/// A claim on due work, with the alert it sends.
#[derive(Debug, Clone, PartialEq)]
pub struct StepClaim {
    pub work: DueWork,
    pub alert: AlertMessage,
}

/// Claim the lead's due work at `now` for run `token`, leased from `wall`; None when
/// nothing is due or a claim of another run is still live at `wall`. A live claim of
/// `token` itself is taken again (its write landed, its answer was lost): a run must
/// therefore claim a lead once, and not come back to a step it has published.
pub fn claim_due_step(
    mut state: LeadState,
    token: &str,
    contract: &Contract,
    now: DateTime<Utc>,
    wall: DateTime<Utc>,
) -> Option<Outcome<StepClaim>> {
    let work = state.due_work_for(token, now, wall)?;
    let mut alert = match &work {
        DueWork::Step { step, .. } => {
            // The alert measures business time from the deadline to `now`, and a
            // calendar walks that span day by day: an event time centuries away (a
            // replay gone wrong) would cost seconds per alert. Past the calendar's own
            // horizon the figure means nothing anyway, so it is measured up to there.
            let horizon = step
                .at
                .checked_add_signed(Duration::days(HORIZON_DAYS))
                .unwrap_or(now);
            let mut alert = sla_alert(&state, step, contract, now.min(horizon));
            alert.document["sent_at"] = serde_json::json!(now);
            alert
        }
        DueWork::ReturnToNurture => returned_to_nurture_alert(&state, now),
    };
    // The lead version this claim writes: lets anyone check, from the alert and the
    // audit trail, that no alert was claimed after an acceptance.
    alert.document["lead_version"] = serde_json::json!(state.version + 1);
    state.claim(&work, token, now, wall);
    let claim = StepClaim {
        work,
        alert: alert.clone(),
    };
    Some(Outcome::new(state, Vec::new(), vec![alert], claim))
}

/// The alert of `work` went out: move the lead on. None when run `token` no longer
/// holds the claim (the lead was accepted, or a lapsed claim was taken by another run).
pub fn commit_step(
    mut state: LeadState,
    work: &DueWork,
    token: &str,
    contract: &Contract,
    now: DateTime<Utc>,
) -> Option<Outcome<()>> {
    if !state.holds_claim(token, work) {
        return None;
    }
    let events = match work {
        DueWork::Step { index, .. } => state.complete_step(*index, contract, now),
        DueWork::ReturnToNurture => state.return_to_nurture(contract, now).unwrap_or_default(),
    };
    Some(Outcome::new(state, events, Vec::new(), ()))
}

/// The publish of `work`'s alert failed: give the work back so the next run retries it.
/// None when run `token` no longer holds the claim.
pub fn release_step(
    mut state: LeadState,
    work: &DueWork,
    token: &str,
    now: DateTime<Utc>,
) -> Option<Outcome<()>> {
    if !state.holds_claim(token, work) {
        return None;
    }
    state.release_claim(now);
    Some(Outcome::new(state, Vec::new(), Vec::new(), ()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::{LeadProfile, Signal};
    use crate::state::CLAIM_LEASE_SECONDS;
    use chrono::TimeZone;

    /// A VP's demo request: a fast-lane MQL, warned 45 minutes in.
    fn mql(contract: &Contract) -> LeadState {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap();
        let profile = LeadProfile {
            email: "vp@acme.io".into(),
            first_name: Some("Vee".into()),
            title: Some("VP Sales".into()),
            company: Some("Acme".into()),
            employees: Some(300),
            country: Some("US".into()),
            source: Some("website".into()),
            ..Default::default()
        };
        let mut state = LeadState::new("ld_vp".into(), profile, contract, at);
        let demo = Signal {
            kind: "demo_request".into(),
            at,
            seconds_on_page: None,
            question: false,
            detail: None,
        };
        state.ingest(None, &[demo], contract, at);
        assert!(state.sla.is_some(), "an MQL with an SLA");
        state.version = 1;
        state
    }

    #[test]
    fn a_retried_old_event_and_the_on_time_run_never_both_claim() {
        let c = Contract::default_contract().unwrap();
        let lead = mql(&c);
        let warn_at = lead.sla.as_ref().unwrap().steps[0].at;
        // The event at the warning, retried four minutes late, runs beside the on-time
        // run of the event four minutes later: both at the same wall time.
        let (old_event, on_time_event) = (warn_at, warn_at + Duration::minutes(4));
        let wall = on_time_event;
        for (first, second) in [(old_event, on_time_event), (on_time_event, old_event)] {
            let claimed = claim_due_step(lead.clone(), "first", &c, first, wall)
                .expect("due")
                .state;
            // A lease measured from the retried event's time (warning + 2 min) would
            // look lapsed to the on-time run at warning + 4 min.
            for later in [0, 30, CLAIM_LEASE_SECONDS - 1] {
                let at = wall + Duration::seconds(later);
                assert!(
                    claim_due_step(claimed.clone(), "second", &c, second, at).is_none(),
                    "event {second} at wall {at}: the claim of event {first} still holds"
                );
            }
            // Once the wall clock passes the lease, the work is anyone's again.
            let lapsed = wall + Duration::seconds(CLAIM_LEASE_SECONDS);
            let retaken = claim_due_step(claimed, "second", &c, second, lapsed).expect("lapsed");
            assert_eq!(
                retaken.state.claim.unwrap().until,
                lapsed + Duration::seconds(CLAIM_LEASE_SECONDS)
            );
        }
    }

    #[test]
    fn a_run_finds_its_own_claim_again_after_a_lost_answer() {
        let c = Contract::default_contract().unwrap();
        let lead = mql(&c);
        let warn_at = lead.sla.as_ref().unwrap().steps[0].at;
        let claimed = claim_due_step(lead, "run-1", &c, warn_at, warn_at)
            .expect("due")
            .state;
        let wall = warn_at + Duration::seconds(1);
        let again = claim_due_step(claimed.clone(), "run-1", &c, warn_at, wall).expect("its own");
        assert_eq!(again.state.claim.as_ref().unwrap().token, "run-1");
        assert!(claim_due_step(claimed.clone(), "run-2", &c, warn_at, wall).is_none());
        assert!(
            claimed.due_work(warn_at, wall).is_none(),
            "held from everyone else"
        );
    }

    #[test]
    fn an_event_centuries_away_costs_no_more_than_one_a_decade_away() {
        let c = Contract::default_contract().unwrap();
        let lead = mql(&c);
        let far = Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap();
        let decade = lead.sla.as_ref().unwrap().steps[0].at + Duration::days(HORIZON_DAYS);
        let far_claim = claim_due_step(lead.clone(), "t", &c, far, far).expect("due");
        let decade_claim = claim_due_step(lead, "t", &c, decade, decade).expect("due");
        let (far_doc, decade_doc) = (
            &far_claim.response.alert.document,
            &decade_claim.response.alert.document,
        );
        assert_eq!(
            far_doc["business_minutes_overdue"], decade_doc["business_minutes_overdue"],
            "measured up to the calendar's horizon"
        );
        assert_eq!(far_doc["sent_at"], serde_json::json!(far));
    }
}
