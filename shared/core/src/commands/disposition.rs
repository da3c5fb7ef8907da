//! Dispositions as commands: sales accepts, rejects, qualifies or logs a touch on a
//! lead, and the rules that decide whether the decision still applies to the lead as
//! it is now.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{as_stored, Outcome};
use crate::access::{Caller, Denied};
use crate::contract::Contract;
use crate::lifecycle::Status;
use crate::state::{AuditEvent, DispositionError, LeadState};

/// What sales can do to a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    Reject,
    Qualify,
    Touch,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::Accept,
        Action::Reject,
        Action::Qualify,
        Action::Touch,
    ];

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Reject => "reject",
            Action::Qualify => "qualify",
            Action::Touch => "touch",
        }
    }

    /// The body fields the action takes.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Action::Reject => &["by", "reason", "note"],
            _ => &["by"],
        }
    }
}

/// A validated disposition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposition {
    /// Who the audit trail names: the signed-in caller, never a body's say-so.
    pub by: String,
    /// Reject only: a code from the contract's picklist, lower-cased.
    pub reason: Option<String>,
    pub note: Option<String>,
}

/// Why a disposition changes nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refused {
    #[error("lead not found")]
    UnknownLead,
    /// The lifecycle forbids it, or the reason is not on the picklist.
    #[error(transparent)]
    Disposition(#[from] DispositionError),
    /// The lead moved to `current` while the request was on its way (see
    /// [`decided_on_another_state`]).
    #[error("the lead became {current} while this request was on its way")]
    StateChanged { current: Status },
    /// The caller may not act on this lead.
    #[error("{0}")]
    Denied(Denied),
}

/// Apply `action` to the lead on behalf of `caller`, who must be allowed to act on the
/// lead's team. `first_seen`: the lead's status at this request's first read (the store
/// calls the command again after a lost race; a decision is about the lead its sender
/// saw).
pub fn dispose(
    current: Option<LeadState>,
    action: Action,
    disposition: &Disposition,
    caller: &Caller,
    first_seen: Status,
    contract: &Contract,
    now: DateTime<Utc>,
) -> Result<Outcome<Value>, Refused> {
    let mut state = current.ok_or(Refused::UnknownLead)?;
    // Only MQLs and later have an owning team, and no disposition is legal before:
    // an unowned lead gets the lifecycle's answer (409 with its state), not a 403.
    if state.team.is_some() {
        caller
            .may_dispose(state.team.as_deref())
            .map_err(Refused::Denied)?;
    }
    let (before, accepted_at) = (state.status, state.accepted_at);
    let events = apply(action, &mut state, disposition, contract, now)?;
    if decided_on_another_state(action, first_seen, before, accepted_at, now) {
        return Err(Refused::StateChanged { current: before });
    }
    let answer = answer(&as_stored(&state));
    Ok(Outcome::new(state, events, Vec::new(), answer))
}

fn apply(
    action: Action,
    state: &mut LeadState,
    d: &Disposition,
    contract: &Contract,
    now: DateTime<Utc>,
) -> Result<Vec<AuditEvent>, DispositionError> {
    match action {
        Action::Accept => state.accept(&d.by, contract, now),
        Action::Reject => state.reject(
            &d.by,
            d.reason.as_deref().unwrap_or_default(),
            d.note.as_deref(),
            contract,
            now,
        ),
        Action::Qualify => state.qualify(&d.by, contract, now),
        Action::Touch => state.touch(&d.by, contract, now),
    }
}

/// A transition is a decision about the lead as its sender saw it. Reject is the one
/// transition legal from two states (MQL and SAL), so a reject racing an accept would
/// otherwise succeed too and silently undo the acceptance. It is refused when the
/// status moved since this request's first read (the store retried after a conflict),
/// or when the SAL was accepted at or after this request arrived (`now` is API
/// Gateway's receive time): its sender cannot have seen that acceptance. A later
/// reject of the SAL, sent after the acceptance, goes through.
pub fn decided_on_another_state(
    action: Action,
    first: Status,
    before: Status,
    accepted_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    if action == Action::Touch {
        // A touch is not a decision about the status; it applies to whatever is current.
        return false;
    }
    first != before
        || (action == Action::Reject
            && before == Status::Sal
            && accepted_at.is_some_and(|at| at >= now))
}

/// The answer to a disposition: where the lead stands now and how fast sales was.
pub fn answer(state: &LeadState) -> Value {
    json!({
        "lead_id": state.lead_id,
        "status": state.status,
        "version": state.version,
        "team": state.team,
        "contract_version": state.contract_version,
        "mql_at": state.mql_at,
        "sla_due_at": state.sla.as_ref().map(|s| s.due_at),
        "accepted_at": state.accepted_at,
        "accepted_by": state.accepted_by,
        // Business minutes from MQL to the accept (or the reject of an MQL).
        "business_minutes": state.accept_business_minutes,
        "within_sla": state.accepted_within_sla,
        "first_touch_at": state.first_touch_at,
        "qualified_at": state.qualified_at,
        "rejection": state.rejection,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn a_reject_racing_an_accept_does_not_undo_it() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        // First read saw an MQL; the retry after the lost race sees the SAL.
        assert!(decided_on_another_state(
            Action::Reject,
            Status::Mql,
            Status::Sal,
            Some(now),
            now
        ));
        // The SAL was accepted after this reject was received.
        assert!(decided_on_another_state(
            Action::Reject,
            Status::Sal,
            Status::Sal,
            Some(now + Duration::seconds(1)),
            now
        ));
        // A reject of the SAL sent after the acceptance goes through.
        assert!(!decided_on_another_state(
            Action::Reject,
            Status::Sal,
            Status::Sal,
            Some(now - Duration::minutes(5)),
            now
        ));
        // A touch applies to whatever is current.
        assert!(!decided_on_another_state(
            Action::Touch,
            Status::Mql,
            Status::Sal,
            None,
            now
        ));
    }

    #[test]
    fn actions_parse_from_their_route_names() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(action));
        }
        assert_eq!(Action::parse("frobnicate"), None);
    }

    #[test]
    fn an_unknown_lead_is_refused() {
        let contract = Contract::default_contract().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let d = Disposition {
            by: "sam@seller.io".into(),
            reason: None,
            note: None,
        };
        let caller = Caller {
            subject: "u-1".into(),
            email: Some("sam@seller.io".into()),
            teams: ["ae-na".to_string()].into(),
            roles: [crate::access::Role::Rep].into(),
        };
        assert_eq!(
            dispose(
                None,
                Action::Accept,
                &d,
                &caller,
                Status::Mql,
                &contract,
                now
            ),
            Err(Refused::UnknownLead)
        );
    }
}
