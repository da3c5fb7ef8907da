//! A lead's whole state, and every change to it as a pure function.
//!
//! Handlers load a [`LeadState`], call one of the operations here with `now` and the
//! contract, and hand the result to the store, which writes it conditionally on the
//! version it read. The operations return the audit events they caused, so the store
//! can append them in the same transaction.
//!
//! This file holds the state, its audit events and what every caller needs; the
//! operations are grouped by who calls them, in the submodules `ingest` (signals and
//! promotion), `disposition` (sales decisions) and `watchdog` (SLA steps and claims).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::assess::Assessment;
use super::contract::Contract;
use super::lead::{LeadProfile, Signal};
use super::lifecycle::{IllegalTransition, Status, Transition};
use super::packet::HandoffPacket;
use super::sla::{SlaSchedule, SlaStep};

/// The state item keeps this many recent signals; the audit records keep them all.
pub const MAX_RECENT_SIGNALS: usize = 50;

/// How long a watchdog claim on an SLA step holds, on the wall clock, before another run
/// may take it over (a run that crashed between claim and publish must not lose the
/// alert). Longer than a run may last (the watchdog's 60 s Lambda timeout), so the
/// claims of a run that is still working never lapse under it.
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

mod disposition;
mod ingest;
mod watchdog;

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

    /// A new lead, `lead_id` (made by [`crate::LeadIds::id_for`] from its email), before
    /// any signal.
    pub fn new(
        lead_id: String,
        profile: LeadProfile,
        contract: &Contract,
        now: DateTime<Utc>,
    ) -> Self {
        LeadState {
            lead_id,
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
        // A claim does not move the timer: the index is read by the event's time and a
        // lease runs on the wall clock (see `state::watchdog`), so a claimed lead stays
        // due, each run finds it, and `due_work` tells a live claim from a lapsed one.
        // A watchdog that died between claim and publish therefore loses nothing, and a
        // claim changes no index entry (no index write to pay for).
        let at = match kind {
            TimerKind::Sla => self.sla.as_ref()?.steps.get(self.sla_step as usize)?.at,
            TimerKind::ReturnToNurture => self.rejection.as_ref().map_or(self.updated_at, |r| r.at),
        };
        Some((at, kind))
    }
}

#[cfg(test)]
mod tests;
