//! The acceptance SLA of one MQL, laid out in advance as a list of timed steps: a
//! warning, the breach, each escalation level and its repeats, and the final return to
//! nurture. The schedule is computed once, at promotion, and stored with the lead, so a
//! contract edit later does not move the deadlines of MQLs already handed over.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::BusinessCalendar;
use super::contract::{FinalAction, SlaPolicy};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Before the deadline, to the owning team.
    Warning,
    /// Level 1: the deadline passed.
    Breach,
    /// Level 2 and up, and repeats.
    Escalation,
    /// The last level: the MQL goes back to nurture as `sla_expired`.
    Expire,
}

impl StepKind {
    /// The alert kind this step publishes.
    pub fn alert_kind(self) -> &'static str {
        match self {
            StepKind::Warning => "sla_warning",
            StepKind::Breach => "sla_breach",
            StepKind::Escalation => "sla_escalation",
            StepKind::Expire => "sla_expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaStep {
    pub kind: StepKind,
    /// 0 for the warning, then the ladder level.
    pub level: u32,
    /// 0 for the first firing of a level, 1.. for its repeats.
    pub repeat: u32,
    pub at: DateTime<Utc>,
    pub audience: String,
}

impl SlaStep {
    /// The `level` segment of an alert id: `2`, or `2.1` for the first repeat of level 2.
    pub fn level_label(&self) -> String {
        if self.repeat == 0 {
            self.level.to_string()
        } else {
            format!("{}.{}", self.level, self.repeat)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaSchedule {
    pub policy: String,
    pub mql_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub accept_within_minutes: u32,
    /// In firing order.
    pub steps: Vec<SlaStep>,
}

/// Lay out the SLA of an MQL promoted at `mql_at`.
pub fn schedule(
    policy_name: &str,
    policy: &SlaPolicy,
    calendar: &BusinessCalendar,
    mql_at: DateTime<Utc>,
) -> SlaSchedule {
    let window = Duration::minutes(i64::from(policy.accept_within_minutes));
    let due_at = calendar.add_business(mql_at, window);
    let warn_seconds = (window.num_seconds() as f64 * policy.warn_at_fraction).round() as i64;
    let mut steps = vec![SlaStep {
        kind: StepKind::Warning,
        level: 0,
        repeat: 0,
        at: calendar.add_business(mql_at, Duration::seconds(warn_seconds)),
        audience: "owner".into(),
    }];
    for level in &policy.ladder {
        let first = calendar.add_business(
            due_at,
            Duration::minutes(i64::from(level.after_breach_minutes)),
        );
        let kind = match (level.final_action, level.level) {
            (Some(FinalAction::ReturnToNurture), _) => StepKind::Expire,
            (None, 1) => StepKind::Breach,
            (None, _) => StepKind::Escalation,
        };
        steps.push(SlaStep {
            kind,
            level: level.level,
            repeat: 0,
            at: first,
            audience: level.audience.clone(),
        });
        if let Some(every) = level.repeat_every_minutes.filter(|m| *m > 0) {
            for r in 1..=level.repeat_times {
                steps.push(SlaStep {
                    kind,
                    level: level.level,
                    repeat: r,
                    at: calendar
                        .add_business(first, Duration::minutes(i64::from(every) * i64::from(r))),
                    audience: level.audience.clone(),
                });
            }
        }
    }
    // Repeats of one level may fall after the next level; fire in time order, and keep
    // the ladder order for steps at the same instant.
    steps.sort_by_key(|s| (s.at, s.level, s.repeat));
    // Nothing fires after the final action: the lead has left the queue by then.
    if let Some(end) = steps.iter().position(|s| s.kind == StepKind::Expire) {
        steps.truncate(end + 1);
    }
    SlaSchedule {
        policy: policy_name.to_string(),
        mql_at,
        due_at,
        accept_within_minutes: policy.accept_within_minutes,
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Contract;
    use chrono::TimeZone;

    #[test]
    fn friday_evening_mql_is_due_monday_morning() {
        let c = Contract::default_contract().unwrap();
        let cal = c.team_calendar("sdr-na").unwrap();
        let policy = c.sla_policy("tier1").unwrap();
        // Friday 2026-11-20 17:55 New York (EST, UTC-5) = 22:55Z. Two business hours
        // start Monday 09:00: due Monday 11:00 local = 16:00Z.
        let mql_at = Utc.with_ymd_and_hms(2026, 11, 20, 22, 55, 0).unwrap();
        let s = schedule("tier1", policy, cal, mql_at);
        assert_eq!(
            s.due_at,
            Utc.with_ymd_and_hms(2026, 11, 23, 16, 0, 0).unwrap()
        );
        // Warning at 75 % = 90 business minutes: Monday 10:30 local.
        assert_eq!(s.steps[0].kind, StepKind::Warning);
        assert_eq!(
            s.steps[0].at,
            Utc.with_ymd_and_hms(2026, 11, 23, 15, 30, 0).unwrap()
        );
        let kinds: Vec<(StepKind, String)> =
            s.steps.iter().map(|s| (s.kind, s.level_label())).collect();
        assert_eq!(
            kinds,
            vec![
                (StepKind::Warning, "0".into()),
                (StepKind::Breach, "1".into()),
                (StepKind::Escalation, "2".into()),
                (StepKind::Escalation, "2.1".into()),
                (StepKind::Expire, "3".into()),
            ]
        );
        // Level 2 is 240 business minutes after breach: Monday 15:00 local = 20:00Z.
        assert_eq!(
            s.steps[2].at,
            Utc.with_ymd_and_hms(2026, 11, 23, 20, 0, 0).unwrap()
        );
        // Steps never go back in time.
        assert!(s.steps.windows(2).all(|w| w[0].at <= w[1].at));
    }
}
