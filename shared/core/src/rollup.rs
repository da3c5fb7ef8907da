//! Monthly metric rollups: which counters a transition adds, and to which month.
//!
//! Every counted fact is derived here from the audit events of one save and the lead's
//! state after it. The store adds the counters in the same conditional transaction as
//! the state and its audit record, so a counter moves exactly when the transition is
//! committed: a retried request (idempotency record), a lost race (version check) or a
//! replayed watchdog run (claim) cannot count anything twice.
//!
//! Figures are by **MQL cohort**: every outcome of an MQL (acceptance, rejection, SQL,
//! escalations, expiry, return to nurture) counts in the month (UTC) the lead became an
//! MQL, so "SLA met % for October" means "of October's MQLs". Each MQL counts once per
//! dimension: its team, its source and its fit tier, all fixed by the handoff packet
//! at promotion. Time-to-accept and time-to-first-touch are kept as exact histograms
//! (one counter per business minute), so percentiles are exact, not estimated.

use chrono::{DateTime, Utc};

use super::lifecycle::Status;
use super::state::{AuditEvent, LeadState};

/// Counters to add to one rollup item (`METRICS#<month>`, `<dimension>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricIncrement {
    pub month: String,
    pub dimension: String,
    pub counters: Vec<(String, i64)>,
}

/// Counter names. Histogram and per-reason counters are `<prefix><key>`.
pub mod counter {
    pub const MQLS: &str = "mqls";
    pub const FAST_LANE_MQLS: &str = "fast_lane_mqls";
    pub const ACCEPTED: &str = "accepted";
    pub const ACCEPTED_WITHIN_SLA: &str = "accepted_within_sla";
    pub const ACCEPTED_LATE: &str = "accepted_late";
    /// All rejections, of MQLs and of SALs.
    pub const REJECTED: &str = "rejected";
    /// Rejections of MQLs not yet accepted: an SLA decision, like an acceptance.
    pub const REJECTED_BEFORE_ACCEPT: &str = "rejected_before_accept";
    pub const REJECTED_WITHIN_SLA: &str = "rejected_within_sla";
    pub const SQLS: &str = "sqls";
    pub const FIRST_TOUCHES: &str = "first_touches";
    pub const EXPIRED: &str = "expired";
    pub const RETURNED_TO_NURTURE: &str = "returned_to_nurture";
    /// `rejection#<reason>`
    pub const REJECTION_PREFIX: &str = "rejection#";
    /// `alert#<kind>`: warnings, breaches, escalations and expiries sent.
    pub const ALERT_PREFIX: &str = "alert#";
    /// `escalation#<level>`: breach and escalation alerts by ladder level.
    pub const ESCALATION_PREFIX: &str = "escalation#";
    /// `tta#<business minutes>`: time to accept histogram.
    pub const TIME_TO_ACCEPT_PREFIX: &str = "tta#";
    /// `ttft#<business minutes>`: time to first touch histogram.
    pub const TIME_TO_FIRST_TOUCH_PREFIX: &str = "ttft#";
}

/// Dimension keys of rollup items.
pub const TEAM_DIMENSION: &str = "team";
pub const SOURCE_DIMENSION: &str = "source";
pub const FIT_TIER_DIMENSION: &str = "fit_tier";
/// The source of a lead whose form named none.
pub const UNKNOWN_SOURCE: &str = "unknown";

pub fn month_of(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}

/// The dimensions an MQL counts under: `(dimension, value)`, e.g. `("team", "ae-na")`.
pub fn dimensions_of(state: &LeadState) -> Vec<(&'static str, String)> {
    let Some(packet) = &state.packet else {
        return Vec::new();
    };
    let source = if packet.source.is_empty() {
        UNKNOWN_SOURCE.to_string()
    } else {
        packet.source.clone()
    };
    vec![
        (TEAM_DIMENSION, packet.team.clone()),
        (SOURCE_DIMENSION, source),
        (FIT_TIER_DIMENSION, packet.fit_tier.to_string()),
    ]
}

/// The rollup item key of a dimension value: `team#ae-na`.
pub fn dimension_key(dimension: &str, value: &str) -> String {
    format!("{dimension}#{value}")
}

/// The counters one save adds, one increment per dimension of the lead's current MQL
/// cycle. Events before the lead's first MQL (signals, nurture, disqualification) count
/// nothing: the rollups describe MQLs.
pub fn increments(after: &LeadState, events: &[AuditEvent]) -> Vec<MetricIncrement> {
    let counters = counters_of(events);
    if counters.is_empty() {
        return Vec::new();
    }
    let Some(mql_at) = after.mql_at else {
        return Vec::new();
    };
    let month = month_of(mql_at);
    dimensions_of(after)
        .into_iter()
        .map(|(dimension, value)| MetricIncrement {
            month: month.clone(),
            dimension: dimension_key(dimension, &value),
            counters: counters.clone(),
        })
        .collect()
}

/// The counters of a batch of audit events, merged by name, in first-seen order.
pub fn counters_of(events: &[AuditEvent]) -> Vec<(String, i64)> {
    let mut counters: Vec<(String, i64)> = Vec::new();
    let mut add = |name: String| match counters.iter_mut().find(|(n, _)| *n == name) {
        Some((_, n)) => *n += 1,
        None => counters.push((name, 1)),
    };
    for e in events {
        for name in event_counters(e) {
            add(name);
        }
    }
    counters
}

/// What one audit event counts. Public so that a recount from stored audit records
/// (tests, a repair job) uses the same definitions as the live path.
pub fn event_counters(e: &AuditEvent) -> Vec<String> {
    use counter::*;
    let minutes = |prefix: &str| e.business_minutes.map(|m| format!("{prefix}{}", m.max(0)));
    let mut out = Vec::new();
    match e.kind.as_str() {
        "promote" => {
            out.push(MQLS.to_string());
            if e.fast_lane {
                out.push(FAST_LANE_MQLS.to_string());
            }
        }
        "accept" => {
            out.push(ACCEPTED.to_string());
            out.push(match e.within_sla {
                Some(true) => ACCEPTED_WITHIN_SLA.to_string(),
                _ => ACCEPTED_LATE.to_string(),
            });
            out.extend(minutes(TIME_TO_ACCEPT_PREFIX));
        }
        "reject" => {
            out.push(REJECTED.to_string());
            if let Some(reason) = &e.reason {
                out.push(format!("{REJECTION_PREFIX}{reason}"));
            }
            if e.from == Some(Status::Mql) {
                out.push(REJECTED_BEFORE_ACCEPT.to_string());
                if e.within_sla == Some(true) {
                    out.push(REJECTED_WITHIN_SLA.to_string());
                }
            }
        }
        "qualify" => out.push(SQLS.to_string()),
        "touch" if e.first_touch => {
            out.push(FIRST_TOUCHES.to_string());
            out.extend(minutes(TIME_TO_FIRST_TOUCH_PREFIX));
        }
        "alert" => {
            if let Some(kind) = &e.reason {
                out.push(format!("{ALERT_PREFIX}{kind}"));
                if matches!(kind.as_str(), "sla_breach" | "sla_escalation") {
                    if let Some(level) = &e.level {
                        out.push(format!("{ESCALATION_PREFIX}{level}"));
                    }
                }
            }
        }
        "expire" => out.push(EXPIRED.to_string()),
        "return_to_nurture" => out.push(RETURNED_TO_NURTURE.to_string()),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Contract;
    use crate::lead::{LeadProfile, Signal};
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
    }

    fn lead(email: &str, title: &str) -> LeadProfile {
        LeadProfile {
            email: email.into(),
            first_name: Some("Dana".into()),
            title: Some(title.into()),
            company: Some("Northwind".into()),
            employees: Some(250),
            industry: Some("SaaS".into()),
            country: Some("US".into()),
            source: Some("website".into()),
            ..Default::default()
        }
    }

    fn signal(kind: &str, at: DateTime<Utc>) -> Signal {
        Signal {
            kind: kind.into(),
            at,
            seconds_on_page: None,
            question: false,
            detail: None,
        }
    }

    fn count(incs: &[MetricIncrement], dimension: &str, name: &str) -> i64 {
        incs.iter()
            .filter(|i| i.dimension == dimension)
            .flat_map(|i| &i.counters)
            .filter(|(n, _)| n == name)
            .map(|(_, n)| n)
            .sum()
    }

    fn new_lead(profile: LeadProfile, c: &Contract) -> LeadState {
        let id = crate::LeadIds::development().id_for(&profile.email);
        LeadState::new(id, profile, c, at(23, 14))
    }

    #[test]
    fn a_promotion_counts_once_per_dimension_in_its_mql_month() {
        let c = Contract::default_contract().unwrap();
        let mut s = new_lead(lead("dana@northwind.io", "VP RevOps"), &c);
        let events = s.ingest(None, &[signal("demo_request", at(23, 14))], &c, at(23, 14));
        let incs = increments(&s, &events);
        let dims: Vec<&str> = incs.iter().map(|i| i.dimension.as_str()).collect();
        let tier = s.packet.as_ref().unwrap().fit_tier;
        assert_eq!(
            dims,
            vec![
                "team#ae-na".to_string(),
                "source#website".to_string(),
                format!("fit_tier#{tier}")
            ]
        );
        assert!(incs.iter().all(|i| i.month == "2026-11"));
        assert_eq!(count(&incs, "team#ae-na", counter::MQLS), 1);
        assert_eq!(count(&incs, "team#ae-na", counter::FAST_LANE_MQLS), 1);
        // The signal event itself counts nothing.
        assert_eq!(incs[0].counters.len(), 2, "{:?}", incs[0].counters);

        // Accepting in December still counts in November's cohort.
        let dec = Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap();
        let events = s.accept("ae@example.com", &c, dec).unwrap();
        let incs = increments(&s, &events);
        assert!(incs.iter().all(|i| i.month == "2026-11"));
        assert_eq!(count(&incs, "team#ae-na", counter::ACCEPTED), 1);
        assert_eq!(count(&incs, "team#ae-na", counter::ACCEPTED_LATE), 1);
        assert!(incs[0].counters.iter().any(|(n, _)| n.starts_with("tta#")));
    }

    #[test]
    fn leads_that_never_became_mqls_count_nothing() {
        let c = Contract::default_contract().unwrap();
        let mut s = new_lead(lead("kim@northwind.io", "Intern"), &c);
        let events = s.ingest(
            None,
            &[signal("webinar_attended", at(23, 14))],
            &c,
            at(23, 14),
        );
        assert!(!events.is_empty());
        assert_eq!(increments(&s, &events), Vec::new());
    }

    #[test]
    fn rejections_count_reason_and_sla_decision() {
        let c = Contract::default_contract().unwrap();
        let mut s = new_lead(lead("dana@northwind.io", "VP RevOps"), &c);
        s.ingest(None, &[signal("demo_request", at(23, 14))], &c, at(23, 14));
        let events = s
            .reject("ae@example.com", "not_icp", None, &c, at(23, 14))
            .unwrap();
        let counters = counters_of(&events);
        let names: Vec<&str> = counters.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "rejected",
                "rejection#not_icp",
                "rejected_before_accept",
                "rejected_within_sla"
            ]
        );
    }
}
