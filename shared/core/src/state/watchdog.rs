//! What the watchdog does to a lead: find the due work (the next SLA step, or a rejected
//! lead's return to nurture), claim it for one run, complete it once the alert is out (or
//! give it back), and name the alert. Claims with a lease make the work safe to retry
//! when a run crashes between claim and publish.
//!
//! Two clocks meet here, and each decides one thing. What is *due* is decided by the
//! schedule event's time (`now`), so a replayed event finds the same work. How long a
//! claim *holds* is measured on the wall clock (`wall`), the clock that also measures
//! the runs that hold claims: a retried event minutes late runs at the same wall time as
//! the on-time run, so it sees that run's claims as live, whatever its own event time.
//! A lease measured from the event time would look lapsed to it, and both would send.

use chrono::{DateTime, Duration, Utc};

use super::{AuditEvent, Claim, DueWork, LeadState, CLAIM_LEASE_SECONDS, SLA_EXPIRED};
use crate::assess::{assess_with, AssessOptions};
use crate::contract::Contract;
use crate::lifecycle::{next_status, IllegalTransition, Status, Transition};
use crate::sla::{SlaStep, StepKind};

impl LeadState {
    /// The work due at `now` (the event's time) that no claim live at `wall` (the wall
    /// clock) holds, if any.
    pub fn due_work(&self, now: DateTime<Utc>, wall: DateTime<Utc>) -> Option<DueWork> {
        self.due_work_for("", now, wall)
    }

    /// [`Self::due_work`] as run `token` sees it: its own claim does not hold the work
    /// back from it. A claim write that landed but whose answer was lost is retried;
    /// the retry fails its version condition, re-reads, and must find the work still
    /// its own, or the step would wait a whole lease for nobody.
    pub fn due_work_for(
        &self,
        token: &str,
        now: DateTime<Utc>,
        wall: DateTime<Utc>,
    ) -> Option<DueWork> {
        if self
            .claim
            .as_ref()
            .is_some_and(|c| c.until > wall && (token.is_empty() || c.token != token))
        {
            return None;
        }
        match self.status {
            Status::Mql => {
                let step = self.sla.as_ref()?.steps.get(self.sla_step as usize)?;
                (step.at <= now).then(|| DueWork::Step {
                    index: self.sla_step,
                    step: step.clone(),
                })
            }
            Status::Rejected => Some(DueWork::ReturnToNurture),
            _ => None,
        }
    }

    /// The SLA step due at `now` that no claim live at `wall` holds, if any.
    pub fn due_step(&self, now: DateTime<Utc>, wall: DateTime<Utc>) -> Option<(u32, SlaStep)> {
        match self.due_work(now, wall)? {
            DueWork::Step { index, step } => Some((index, step)),
            DueWork::ReturnToNurture => None,
        }
    }

    /// A watchdog run takes `work` for itself until `wall + lease` on the wall clock;
    /// `token` names the run. `now`, the event's time, stamps the change.
    pub fn claim(&mut self, work: &DueWork, token: &str, now: DateTime<Utc>, wall: DateTime<Utc>) {
        self.claim = Some(Claim {
            step: match work {
                DueWork::Step { index, .. } => Some(*index),
                DueWork::ReturnToNurture => None,
            },
            until: wall + Duration::seconds(CLAIM_LEASE_SECONDS),
            token: token.to_string(),
        });
        self.updated_at = now;
    }

    /// Does the run with `token` still hold its claim on `work`? (An acceptance, or a
    /// lapsed claim taken over by another run, means it does not.)
    pub fn holds_claim(&self, token: &str, work: &DueWork) -> bool {
        let step = match work {
            DueWork::Step { index, .. } => Some(*index),
            DueWork::ReturnToNurture => None,
        };
        self.claim
            .as_ref()
            .is_some_and(|c| c.token == token && c.step == step)
    }

    /// The step's alert went out: move on to the next step, or end the ladder.
    pub fn complete_step(
        &mut self,
        step: u32,
        contract: &Contract,
        now: DateTime<Utc>,
    ) -> Vec<AuditEvent> {
        self.claim = None;
        self.sla_step = step + 1;
        self.updated_at = now;
        let Some(s) = self
            .sla
            .as_ref()
            .and_then(|s| s.steps.get(step as usize))
            .cloned()
        else {
            return Vec::new();
        };
        let mut alert = AuditEvent::new("alert", now, contract.version());
        alert.reason = Some(s.kind.alert_kind().to_string());
        alert.detail = Some(format!("level {} to {}", s.level_label(), s.audience));
        alert.level = Some(s.level_label());
        alert.team = self.team.clone();
        let mut events = vec![alert];
        if s.kind == StepKind::Expire {
            let from = self.status;
            if let Ok(to) = next_status(from, Transition::Expire) {
                self.status = to;
                self.returned_at = Some(now);
                self.return_reason = Some(SLA_EXPIRED.to_string());
                let mut e =
                    AuditEvent::transition(Transition::Expire, from, to, now, contract.version());
                e.reason = Some(SLA_EXPIRED.to_string());
                e.team = self.team.clone();
                events.push(e);
            }
        }
        events
    }

    /// A publish failed: give the step back so the next run retries it.
    pub fn release_claim(&mut self, now: DateTime<Utc>) {
        self.claim = None;
        self.updated_at = now;
    }

    /// A rejected lead goes back to nurture with its reason, a cool-off, and a clean slate
    /// for intent and readiness (only signals after now count).
    pub fn return_to_nurture(
        &mut self,
        contract: &Contract,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>, IllegalTransition> {
        let from = self.status;
        let to = next_status(from, Transition::ReturnToNurture)?;
        let reason = self.rejection.as_ref().map(|r| r.reason.clone());
        self.status = to;
        self.returned_at = Some(now);
        self.return_reason = reason.clone();
        self.cool_off_until =
            Some(now + Duration::days(i64::from(contract.spec.rejection.cool_off_days)));
        self.updated_at = now;
        let options = AssessOptions {
            signals_since: self.returned_at,
            cool_off_until: self.cool_off_until,
        };
        self.assessment = Some(assess_with(
            &self.profile,
            &self.signals,
            contract,
            now,
            options,
        ));
        let mut e = AuditEvent::transition(
            Transition::ReturnToNurture,
            from,
            to,
            now,
            contract.version(),
        );
        e.reason = reason;
        e.team = self.team.clone();
        Ok(vec![e])
    }

    /// The alert id of a step: `lead_id:kind:level`, with `@cycle` for a lead's second
    /// and later MQL cycles so that ids never collide across cycles.
    pub fn alert_id(&self, kind: &str, level: &str) -> String {
        if self.mql_cycle > 1 {
            format!("{}:{kind}:{level}@{}", self.lead_id, self.mql_cycle)
        } else {
            format!("{}:{kind}:{level}", self.lead_id)
        }
    }
}
