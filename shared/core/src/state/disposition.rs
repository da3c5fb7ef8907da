//! What sales does with an MQL: accept, reject with a coded reason, qualify, or log a
//! touch. Each checks the lifecycle, records business minutes since the MQL, and
//! returns the audit event the store appends.

use chrono::{DateTime, Utc};

use super::{AuditEvent, DispositionError, LeadState, Rejection};
use crate::contract::Contract;
use crate::lifecycle::{next_status, IllegalTransition, Status, Transition};

impl LeadState {
    fn business_minutes_since_mql(&self, contract: &Contract, now: DateTime<Utc>) -> Option<i64> {
        let cal = contract.team_calendar(self.team.as_deref()?)?;
        Some(cal.business_minutes_between(self.mql_at?, now))
    }

    pub fn accept(
        &mut self,
        by: &str,
        contract: &Contract,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>, DispositionError> {
        let to = next_status(self.status, Transition::Accept)?;
        let from = self.status;
        let minutes = self.business_minutes_since_mql(contract, now);
        let within = self.sla.as_ref().map(|s| now <= s.due_at);
        self.status = to;
        self.accepted_at = Some(now);
        self.accepted_by = Some(by.to_string());
        self.accept_business_minutes = minutes;
        self.accepted_within_sla = within;
        self.claim = None;
        self.updated_at = now;
        let mut e = AuditEvent::transition(Transition::Accept, from, to, now, contract.version());
        e.by = Some(by.to_string());
        e.business_minutes = minutes;
        e.team = self.team.clone();
        e.within_sla = within;
        e.detail = within.map(|w| {
            if w {
                "within SLA".into()
            } else {
                "after the SLA deadline".into()
            }
        });
        Ok(vec![e])
    }

    pub fn reject(
        &mut self,
        by: &str,
        reason: &str,
        note: Option<&str>,
        contract: &Contract,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>, DispositionError> {
        let to = next_status(self.status, Transition::Reject)?;
        if !contract.is_rejection_reason(reason) {
            return Err(DispositionError::UnknownReason {
                given: reason.to_string(),
                allowed: contract.spec.rejection.reasons.clone(),
            });
        }
        let from = self.status;
        let minutes = self.business_minutes_since_mql(contract, now);
        if from == Status::Mql {
            self.accepted_within_sla = self.sla.as_ref().map(|s| now <= s.due_at);
            self.accept_business_minutes = minutes;
        }
        self.status = to;
        self.claim = None;
        self.rejection = Some(Rejection {
            reason: reason.to_string(),
            note: note.map(|n| crate::text::clip(n, 500)),
            by: by.to_string(),
            at: now,
        });
        self.updated_at = now;
        let mut e = AuditEvent::transition(Transition::Reject, from, to, now, contract.version());
        e.by = Some(by.to_string());
        e.reason = Some(reason.to_string());
        e.detail = note.map(|n| crate::text::clip(n, 200));
        e.business_minutes = minutes;
        e.team = self.team.clone();
        if from == Status::Mql {
            e.within_sla = self.accepted_within_sla;
        }
        Ok(vec![e])
    }

    pub fn qualify(
        &mut self,
        by: &str,
        contract: &Contract,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>, DispositionError> {
        let to = next_status(self.status, Transition::Qualify)?;
        let mut e = AuditEvent::transition(
            Transition::Qualify,
            self.status,
            to,
            now,
            contract.version(),
        );
        e.by = Some(by.to_string());
        e.team = self.team.clone();
        self.status = to;
        self.qualified_at = Some(now);
        self.updated_at = now;
        Ok(vec![e])
    }

    /// First contact logged; later touches are recorded but do not move the first one.
    pub fn touch(
        &mut self,
        by: &str,
        contract: &Contract,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>, DispositionError> {
        if !matches!(self.status, Status::Mql | Status::Sal | Status::Sql) {
            return Err(IllegalTransition {
                current: self.status,
                transition: Transition::Accept,
            }
            .into());
        }
        let mut e = AuditEvent::new("touch", now, contract.version());
        e.by = Some(by.to_string());
        e.team = self.team.clone();
        if self.first_touch_at.is_none() {
            self.first_touch_at = Some(now);
            e.business_minutes = self.business_minutes_since_mql(contract, now);
            e.detail = Some("first touch".into());
            e.first_touch = true;
        }
        self.updated_at = now;
        Ok(vec![e])
    }
}
