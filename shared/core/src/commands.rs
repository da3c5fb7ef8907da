//! The use cases, as commands: ingest a submission, accept, reject, qualify, touch, and
//! each watchdog step. A command takes the lead's current state, its input and `now`,
//! and decides; it returns an [`Outcome`] (the new state, the audit events, the metric
//! increments those events add, the alerts to send and the answer) or a refusal.
//!
//! Commands do no I/O. The store persists an outcome in one conditional transaction
//! (and calls the command again on a fresh read when it lost a race), and the entry
//! point publishes the alerts, emits the metrics and renders the answer. So every rule
//! of the lifecycle is here, tested without AWS, and the adapters only carry it out.

pub mod disposition;
pub mod ingest;
pub mod watchdog;

use crate::alert::AlertMessage;
use crate::rollup::{self, MetricIncrement};
use crate::state::{AuditEvent, LeadState};

/// What a command decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome<R> {
    /// The lead as it must be stored (its `version` is still the one read: the store
    /// writes `version + 1` conditionally on it).
    pub state: LeadState,
    /// The audit trail of this change, in order.
    pub events: Vec<AuditEvent>,
    /// The monthly rollup counters `events` add. They commit with the state, so a
    /// counter moves exactly when its transition does.
    pub increments: Vec<MetricIncrement>,
    /// Alerts this change sends, once it is stored.
    pub alerts: Vec<AlertMessage>,
    /// The answer for whoever asked.
    pub response: R,
}

impl<R> Outcome<R> {
    fn new(
        state: LeadState,
        events: Vec<AuditEvent>,
        alerts: Vec<AlertMessage>,
        response: R,
    ) -> Self {
        let increments = rollup::increments(&state, &events);
        Outcome {
            state,
            events,
            increments,
            alerts,
            response,
        }
    }
}

/// The lead as it will read once this change is stored, for answers that show the
/// version the write creates.
fn as_stored(state: &LeadState) -> LeadState {
    let mut preview = state.clone();
    preview.version += 1;
    preview
}
