//! The lead lifecycle as a state machine. Transitions are values, so the store can record
//! them and the watchdog can replay them; an illegal one is a typed error naming the
//! state the lead is actually in (the HTTP layer turns it into a 409).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Lead,
    Nurture,
    Mql,
    Sal,
    Sql,
    Rejected,
    Disqualified,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Lead,
        Status::Nurture,
        Status::Mql,
        Status::Sal,
        Status::Sql,
        Status::Rejected,
        Status::Disqualified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Lead => "lead",
            Status::Nurture => "nurture",
            Status::Mql => "mql",
            Status::Sal => "sal",
            Status::Sql => "sql",
            Status::Rejected => "rejected",
            Status::Disqualified => "disqualified",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What can happen to a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// Scored below the MQL threshold.
    Nurture,
    /// Crossed the threshold (or took the fast lane): handed to sales.
    Promote,
    /// Failed a gate.
    Disqualify,
    /// Sales accepted the MQL (SAL).
    Accept,
    /// Sales rejected the MQL or SAL with a coded reason.
    Reject,
    /// SAL to SQL.
    Qualify,
    /// The watchdog returns a rejected lead to nurture.
    ReturnToNurture,
    /// The SLA ladder ran out: back to nurture as `sla_expired`.
    Expire,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Nurture => "nurture",
            Transition::Promote => "promote",
            Transition::Disqualify => "disqualify",
            Transition::Accept => "accept",
            Transition::Reject => "reject",
            Transition::Qualify => "qualify",
            Transition::ReturnToNurture => "return_to_nurture",
            Transition::Expire => "expire",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a lead that is {current}", transition.as_str())]
pub struct IllegalTransition {
    pub current: Status,
    pub transition: Transition,
}

/// The state a transition leads to, or why it is not allowed from `current`.
pub fn next_status(current: Status, transition: Transition) -> Result<Status, IllegalTransition> {
    use Status as S;
    use Transition as T;
    let next = match (current, transition) {
        (S::Lead | S::Nurture, T::Nurture) => S::Nurture,
        (S::Lead | S::Nurture, T::Promote) => S::Mql,
        (S::Lead | S::Nurture, T::Disqualify) => S::Disqualified,
        (S::Mql, T::Accept) => S::Sal,
        (S::Mql | S::Sal, T::Reject) => S::Rejected,
        (S::Sal, T::Qualify) => S::Sql,
        (S::Rejected, T::ReturnToNurture) => S::Nurture,
        (S::Mql, T::Expire) => S::Nurture,
        _ => {
            return Err(IllegalTransition {
                current,
                transition,
            })
        }
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TRANSITIONS: [Transition; 8] = [
        Transition::Nurture,
        Transition::Promote,
        Transition::Disqualify,
        Transition::Accept,
        Transition::Reject,
        Transition::Qualify,
        Transition::ReturnToNurture,
        Transition::Expire,
    ];

    #[test]
    fn the_happy_path() {
        let mut s = Status::Lead;
        for t in [Transition::Promote, Transition::Accept, Transition::Qualify] {
            s = next_status(s, t).unwrap();
        }
        assert_eq!(s, Status::Sql);
    }

    #[test]
    fn rejection_returns_to_nurture_and_can_qualify_again() {
        let s = next_status(Status::Mql, Transition::Reject).unwrap();
        let s = next_status(s, Transition::ReturnToNurture).unwrap();
        assert_eq!(next_status(s, Transition::Promote).unwrap(), Status::Mql);
    }

    #[test]
    fn illegal_transition_names_the_current_state() {
        let err = next_status(Status::Sql, Transition::Accept).unwrap_err();
        assert_eq!(err.current, Status::Sql);
        assert_eq!(err.to_string(), "cannot accept a lead that is sql");
        assert!(next_status(Status::Disqualified, Transition::Promote).is_err());
        assert!(next_status(Status::Nurture, Transition::Accept).is_err());
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    /// The whole legal table, written out once more as (from, transition, to), so a
    /// change to `next_status` that admits anything else fails the property below.
    const LEGAL: &[(Status, Transition, Status)] = &[
        (Status::Lead, Transition::Nurture, Status::Nurture),
        (Status::Nurture, Transition::Nurture, Status::Nurture),
        (Status::Lead, Transition::Promote, Status::Mql),
        (Status::Nurture, Transition::Promote, Status::Mql),
        (Status::Lead, Transition::Disqualify, Status::Disqualified),
        (
            Status::Nurture,
            Transition::Disqualify,
            Status::Disqualified,
        ),
        (Status::Mql, Transition::Accept, Status::Sal),
        (Status::Mql, Transition::Reject, Status::Rejected),
        (Status::Sal, Transition::Reject, Status::Rejected),
        (Status::Sal, Transition::Qualify, Status::Sql),
        (
            Status::Rejected,
            Transition::ReturnToNurture,
            Status::Nurture,
        ),
        (Status::Mql, Transition::Expire, Status::Nurture),
    ];

    proptest! {
        #[test]
        fn no_illegal_transition_is_accepted(
            walk in proptest::collection::vec((0usize..7, 0usize..8), 1..40)
        ) {
            for (s, t) in walk {
                let (from, transition) = (Status::ALL[s], TRANSITIONS[t]);
                let expected = LEGAL.iter().find(|(f, tr, _)| *f == from && *tr == transition).map(|x| x.2);
                match next_status(from, transition) {
                    Ok(to) => prop_assert_eq!(Some(to), expected),
                    Err(e) => {
                        prop_assert_eq!(expected, None);
                        prop_assert_eq!(e.current, from);
                    }
                }
            }
        }
    }
}
