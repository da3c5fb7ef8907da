//! A lead's whole state, and every change to it as a pure function.
//!
//! Handlers load a [`LeadState`], call one of the operations here with `now` and the
//! contract, and hand the result to the store, which writes it conditionally on the
//! version it read. The operations return the audit events they caused, so the store
//! can append them in the same transaction.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::assess::{assess_with, Action, AssessOptions, Assessment};
use super::contract::Contract;
use super::lead::{lead_id_for, LeadProfile, Signal};
use super::lifecycle::{next_status, IllegalTransition, Status, Transition};
use super::packet::{build_packet, HandoffPacket};
use super::sla::{schedule, SlaSchedule, SlaStep, StepKind};

/// The state item keeps this many recent signals; the audit records keep them all.
pub const MAX_RECENT_SIGNALS: usize = 50;

/// How long a watchdog claim on an SLA step holds before another run may take it over
/// (a run that crashed between claim and publish must not lose the alert).
pub const CLAIM_LEASE_SECONDS: i64 = 120;

/// The return reason of an MQL whose SLA ladder ran out.
pub const SLA_EXPIRED: &str = "sla_expired";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A watchdog run's claim on the lead's due work, held until `until`. The token tells
/// the run that made the claim from any other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// The SLA step claimed; `None` for returning a rejected lead to nurture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    pub until: DateTime<Utc>,
    pub token: String,
}

/// What the watchdog has to do for a lead now.
#[derive(Debug, Clone, PartialEq)]
pub enum DueWork {
    /// Fire SLA step `index` (warning, breach, escalation or expiry).
    Step { index: u32, step: SlaStep },
    /// The lead was rejected: return it to nurture and tell marketing.
    ReturnToNurture,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadState {
    pub lead_id: String,
    pub status: Status,
    /// Optimistic-lock counter: every write is conditional on the version read.
    pub version: u64,
    pub profile: LeadProfile,
    /// The most recent signals, newest last.
    pub signals: Vec<Signal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment: Option<Assessment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packet: Option<HandoffPacket>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub contract_version: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many times this lead became an MQL; alert ids of later cycles carry it.
    #[serde(default)]
    pub mql_cycle: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mql_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<SlaSchedule>,
    /// Index into `sla.steps` of the next step to fire.
    #[serde(default)]
    pub sla_step: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_business_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_within_sla: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_touch_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualified_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
    /// When the lead last went back to nurture; only signals after it count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returned_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cool_off_until: Option<DateTime<Utc>>,
}

/// One line of a lead's history, stored as an append-only audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    /// `signal`, a transition name (`promote`, `accept`, ...), `alert`, or `note`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Business minutes it took (accept, reject), for time-to-accept metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    pub contract_version: String,
    /// Structured facts the monthly rollups count (see `rollup::event_counters`), kept
    /// beside the prose `detail` so that a recount never parses text.
    /// Promote: the MQL took the fast lane.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fast_lane: bool,
    /// Accept, or reject of an MQL: decided before the SLA deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_sla: Option<bool>,
    /// Touch: the first contact of this MQL cycle.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub first_touch: bool,
    /// Alert: the ladder level, `0`, `1`, `2.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
}

impl AuditEvent {
    fn new(kind: &str, at: DateTime<Utc>, contract_version: &str) -> Self {
        AuditEvent {
            at,
            kind: kind.to_string(),
            from: None,
            to: None,
            by: None,
            reason: None,
            detail: None,
            business_minutes: None,
            team: None,
            contract_version: contract_version.to_string(),
            fast_lane: false,
            within_sla: None,
            first_touch: false,
            level: None,
        }
    }

    fn transition(t: Transition, from: Status, to: Status, at: DateTime<Utc>, cv: &str) -> Self {
        AuditEvent {
            from: Some(from),
            to: Some(to),
            ..AuditEvent::new(t.as_str(), at, cv)
        }
    }
}

/// Why a disposition could not be applied; the HTTP layer maps each to a status code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DispositionError {
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    #[error("unknown rejection reason \"{given}\"; allowed: {}", allowed.join(", "))]
    UnknownReason { given: String, allowed: Vec<String> },
}

/// Which timer the lead sits on in the sparse timer index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    Sla,
    ReturnToNurture,
}

impl TimerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::Sla => "sla",
            TimerKind::ReturnToNurture => "return_to_nurture",
        }
    }
}

impl LeadState {
    /// What ingest answers about a lead: its scores, tiers, action, route, reasons and,
    /// for an MQL, the SLA due time; what a form's sender or marketing tool needs.
    /// `created`: this request made the lead.
    pub fn summary(&self, created: bool) -> serde_json::Value {
        let a = self.assessment.as_ref();
        serde_json::json!({
            "lead_id": self.lead_id,
            "created": created,
            "status": self.status,
            "contract_version": self.contract_version,
            "fit": a.map(|a| a.fit.points),
            "intent": a.map(|a| a.intent.points),
            "readiness": a.map(|a| a.readiness.points),
            "total": a.map(|a| a.total),
            "fit_tier": a.map(|a| a.fit_tier),
            "intent_tier": a.map(|a| a.intent_tier),
            "action": a.map(|a| a.action),
            "fast_lane": a.map(|a| a.fast_lane),
            "route": a.and_then(|a| a.route.clone()),
            "team": self.team,
            "mql_reason": a.map(|a| a.mql_reason.clone()),
            "reasons": a.map(|a| a.reasons.clone()),
            "failed_gates": a.map(|a| a.failed_gates.clone()),
            "sla_due_at": if self.status == Status::Mql { self.sla.as_ref().map(|s| s.due_at) } else { None },
        })
    }

    pub fn new(profile: LeadProfile, contract: &Contract, now: DateTime<Utc>) -> Self {
        LeadState {
            lead_id: lead_id_for(&profile.email),
            status: Status::Lead,
            version: 0,
            profile,
            signals: Vec::new(),
            assessment: None,
            packet: None,
            team: None,
            contract_version: contract.version().to_string(),
            created_at: now,
            updated_at: now,
            mql_cycle: 0,
            mql_at: None,
            sla: None,
            sla_step: 0,
            claim: None,
            accepted_at: None,
            accepted_by: None,
            accept_business_minutes: None,
            accepted_within_sla: None,
            first_touch_at: None,
            qualified_at: None,
            rejection: None,
            returned_at: None,
            return_reason: None,
            cool_off_until: None,
        }
    }

    /// The next instant the watchdog must look at this lead, if any. This is what the
    /// store writes into the sparse timer index; leads without a timer are not in it.
    pub fn next_timer(&self) -> Option<(DateTime<Utc>, TimerKind)> {
        let kind = match self.status {
            Status::Mql => TimerKind::Sla,
            Status::Rejected => TimerKind::ReturnToNurture,
            _ => return None,
        };
        // A claimed lead comes due again when the claim lapses, so that a watchdog that
        // died between claim and publish does not lose the alert.
        if let Some(claim) = &self.claim {
            return Some((claim.until, kind));
        }
        let at = match kind {
            TimerKind::Sla => self.sla.as_ref()?.steps.get(self.sla_step as usize)?.at,
            TimerKind::ReturnToNurture => self.rejection.as_ref().map_or(self.updated_at, |r| r.at),
        };
        Some((at, kind))
    }

    /// The work due at `now` that no live claim holds, if any.
    pub fn due_work(&self, now: DateTime<Utc>) -> Option<DueWork> {
        if self.claim.as_ref().is_some_and(|c| c.until > now) {
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

    /// The SLA step due at `now` that no live claim holds, if any.
    pub fn due_step(&self, now: DateTime<Utc>) -> Option<(u32, SlaStep)> {
        match self.due_work(now)? {
            DueWork::Step { index, step } => Some((index, step)),
            DueWork::ReturnToNurture => None,
        }
    }

    /// Add new signals (and any profile updates) and re-assess. A lead in Lead or
    /// Nurture that now qualifies is promoted with its packet and SLA schedule.
    pub fn ingest(
        &mut self,
        profile: Option<&LeadProfile>,
        signals: &[Signal],
        contract: &Contract,
        now: DateTime<Utc>,
    ) -> Vec<AuditEvent> {
        let cv = contract.version().to_string();
        let mut events = Vec::new();
        if let Some(p) = profile {
            self.profile.merge_from(p);
        }
        for s in signals {
            let mut e = AuditEvent::new("signal", s.at, &cv);
            e.detail = Some(match &s.detail {
                Some(d) => format!("{}: {}", s.kind, super::text::clip(d, 120)),
                None => s.kind.clone(),
            });
            events.push(e);
            self.signals.push(s.clone());
        }
        self.signals.sort_by_key(|s| s.at);
        if self.signals.len() > MAX_RECENT_SIGNALS {
            let excess = self.signals.len() - MAX_RECENT_SIGNALS;
            self.signals.drain(..excess);
        }
        let options = AssessOptions {
            signals_since: self.returned_at,
            cool_off_until: self.cool_off_until,
        };
        let assessment = assess_with(&self.profile, &self.signals, contract, now, options);
        self.contract_version = cv.clone();
        self.updated_at = now;

        if matches!(self.status, Status::Lead | Status::Nurture) {
            let from = self.status;
            match assessment.action {
                Action::ActNow => {
                    match self.promote(&assessment, contract, now) {
                        Ok(()) => events.push(AuditEvent {
                            team: self.team.clone(),
                            fast_lane: self.packet.as_ref().is_some_and(|p| p.fast_lane),
                            detail: self
                                .sla
                                .as_ref()
                                .map(|s| format!("due {}", s.due_at.to_rfc3339())),
                            ..AuditEvent::transition(
                                Transition::Promote,
                                from,
                                Status::Mql,
                                now,
                                &cv,
                            )
                        }),
                        Err(problem) => {
                            // Qualified but not actionable: say so in the history and keep nurturing.
                            self.status = Status::Nurture;
                            let mut e = AuditEvent::transition(
                                Transition::Nurture,
                                from,
                                Status::Nurture,
                                now,
                                &cv,
                            );
                            e.detail = Some(format!("not promoted: {problem}"));
                            events.push(e);
                        }
                    }
                }
                Action::Nurture => {
                    self.status = Status::Nurture;
                    if from != Status::Nurture {
                        events.push(AuditEvent::transition(
                            Transition::Nurture,
                            from,
                            Status::Nurture,
                            now,
                            &cv,
                        ));
                    }
                }
                Action::Disqualify => {
                    self.status = Status::Disqualified;
                    let mut e = AuditEvent::transition(
                        Transition::Disqualify,
                        from,
                        Status::Disqualified,
                        now,
                        &cv,
                    );
                    e.reason = Some(
                        assessment
                            .failed_gates
                            .iter()
                            .map(|g| g.gate.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                    );
                    events.push(e);
                }
            }
        }
        self.assessment = Some(assessment);
        events
    }

    fn promote(
        &mut self,
        assessment: &Assessment,
        contract: &Contract,
        now: DateTime<Utc>,
    ) -> Result<(), String> {
        let packet = build_packet(
            &self.lead_id,
            &self.profile,
            &self.signals,
            assessment,
            contract,
        )
        .map_err(|e| e.to_string())?;
        let team = packet.team.clone();
        let policy_name = assessment
            .sla_policy
            .as_deref()
            .ok_or_else(|| "no SLA policy selected".to_string())?;
        let policy = contract
            .sla_policy(policy_name)
            .ok_or_else(|| format!("unknown SLA policy {policy_name}"))?;
        let calendar = contract
            .team_calendar(&team)
            .ok_or_else(|| format!("team {team} has no calendar"))?;
        self.status = next_status(self.status, Transition::Promote).map_err(|e| e.to_string())?;
        self.sla = Some(schedule(policy_name, policy, calendar, now));
        self.sla_step = 0;
        self.claim = None;
        self.mql_at = Some(now);
        self.mql_cycle += 1;
        self.team = Some(team);
        self.packet = Some(packet);
        self.accepted_at = None;
        self.accepted_by = None;
        self.accept_business_minutes = None;
        self.accepted_within_sla = None;
        self.first_touch_at = None;
        self.qualified_at = None;
        self.rejection = None;
        Ok(())
    }

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
            note: note.map(|n| super::text::clip(n, 500)),
            by: by.to_string(),
            at: now,
        });
        self.updated_at = now;
        let mut e = AuditEvent::transition(Transition::Reject, from, to, now, contract.version());
        e.by = Some(by.to_string());
        e.reason = Some(reason.to_string());
        e.detail = note.map(|n| super::text::clip(n, 200));
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

    /// A watchdog run takes `work` for itself until `now + lease`; `token` names the run.
    pub fn claim(&mut self, work: &DueWork, token: &str, now: DateTime<Utc>) {
        self.claim = Some(Claim {
            step: match work {
                DueWork::Step { index, .. } => Some(*index),
                DueWork::ReturnToNurture => None,
            },
            until: now + Duration::seconds(CLAIM_LEASE_SECONDS),
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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

    fn mql() -> LeadState {
        let c = contract();
        let mut s = LeadState::new(profile(), &c, at(14, 0));
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
        let mut s = LeadState::new(p, &c, at(14, 0));
        let events = s.ingest(None, &[demo(at(14, 0))], &c, at(14, 0));
        assert_eq!(s.status, Status::Nurture);
        assert!(events
            .iter()
            .any(|e| e.detail.as_deref()
                == Some("not promoted: the handoff packet is missing company")));
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
        assert!(s.due_step(warn_at - Duration::seconds(1)).is_none());
        let work = s.due_work(warn_at).unwrap();
        let (step, _) = s.due_step(warn_at).unwrap();
        s.claim(&work, "run-1", warn_at);
        assert!(s.holds_claim("run-1", &work));
        assert!(!s.holds_claim("run-2", &work));
        assert!(s.due_step(warn_at).is_none(), "claimed");
        assert_eq!(
            s.next_timer().unwrap().0,
            warn_at + Duration::seconds(CLAIM_LEASE_SECONDS)
        );
        assert!(
            s.due_step(warn_at + Duration::seconds(CLAIM_LEASE_SECONDS))
                .is_some(),
            "lease ran out"
        );
        s.complete_step(step, &c, warn_at);
        assert_eq!(s.sla_step, 1);
        let steps = s.sla.clone().unwrap().steps;
        for (i, st) in steps.iter().enumerate().skip(1) {
            let (due, _) = s.due_step(st.at).unwrap();
            assert_eq!(due as usize, i);
            let work = s.due_work(st.at).unwrap();
            s.claim(&work, "run", st.at);
            s.complete_step(due, &c, st.at);
        }
        assert_eq!(s.status, Status::Nurture);
        assert_eq!(s.return_reason.as_deref(), Some(SLA_EXPIRED));
        assert!(s.next_timer().is_none());
    }
}
