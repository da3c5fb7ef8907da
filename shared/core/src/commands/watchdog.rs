//! The watchdog's steps as commands. A due SLA step (warning, breach, escalation,
//! expiry) or a return to nurture is sent in three writes, so that a run that dies
//! midway neither loses the step nor sends it twice:
//!
//! 1. [`claim_due_step`]: take the due work with a lease, and build its alert;
//! 2. after the publish, [`commit_step`]: move the lead on (only while the claim holds);
//! 3. or, if the publish failed, [`release_step`]: give the work back for the next run.

use chrono::{DateTime, Utc};

use super::Outcome;
use crate::alert::{returned_to_nurture_alert, sla_alert, AlertMessage};
use crate::contract::Contract;
use crate::state::{DueWork, LeadState};

/// A claim on due work, with the alert it sends.
#[derive(Debug, Clone, PartialEq)]
pub struct StepClaim {
    pub work: DueWork,
    pub alert: AlertMessage,
}

/// Claim the lead's due work at `now` for run `token`; None when nothing is due or a
/// live claim of another run holds it.
pub fn claim_due_step(
    mut state: LeadState,
    token: &str,
    contract: &Contract,
    now: DateTime<Utc>,
) -> Option<Outcome<StepClaim>> {
    let work = state.due_work(now)?;
    let mut alert = match &work {
        DueWork::Step { step, .. } => sla_alert(&state, step, contract, now),
        DueWork::ReturnToNurture => returned_to_nurture_alert(&state, now),
    };
    // The lead version this claim writes: lets anyone check, from the alert and the
    // audit trail, that no alert was claimed after an acceptance.
    alert.document["lead_version"] = serde_json::json!(state.version + 1);
    state.claim(&work, token, now);
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
