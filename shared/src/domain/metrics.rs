//! SLA adherence figures computed from lead states: what ops read per team. Pure, so
//! the same code serves the demo, reports and tests that recount from stored leads.

use std::collections::BTreeMap;

use serde::Serialize;

use super::lifecycle::Status;
use super::state::{LeadState, SLA_EXPIRED};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TeamSla {
    pub team: String,
    pub mqls: usize,
    pub fast_lane_mqls: usize,
    pub accepted_within_sla: usize,
    pub accepted_late: usize,
    pub rejected: usize,
    /// Rejections made before the deadline (a rejection is a decision too).
    pub rejected_within_sla: usize,
    pub expired: usize,
    pub open: usize,
    /// Decided (accepted or rejected) within the SLA, over all decided or expired MQLs.
    pub sla_met_pct: Option<f64>,
    pub time_to_accept_p50: Option<i64>,
    pub time_to_accept_p90: Option<i64>,
    pub rejections: BTreeMap<String, usize>,
    pub qualified: usize,
}

/// One row per team that received MQLs, sorted by team.
pub fn sla_by_team(states: &[LeadState]) -> Vec<TeamSla> {
    let mut teams: BTreeMap<String, (TeamSla, Vec<i64>)> = BTreeMap::new();
    for s in states.iter().filter(|s| s.mql_cycle > 0) {
        let Some(team) = s.team.clone() else { continue };
        let (row, minutes) = teams.entry(team.clone()).or_insert_with(|| {
            (
                TeamSla {
                    team,
                    ..TeamSla::default()
                },
                Vec::new(),
            )
        });
        row.mqls += 1;
        if s.assessment.as_ref().is_some_and(|a| a.fast_lane)
            || s.packet.as_ref().is_some_and(|p| p.fast_lane)
        {
            row.fast_lane_mqls += 1;
        }
        if s.accepted_at.is_some() {
            match s.accepted_within_sla {
                Some(true) => row.accepted_within_sla += 1,
                _ => row.accepted_late += 1,
            }
            if let Some(m) = s.accept_business_minutes {
                minutes.push(m);
            }
        }
        if let Some(r) = &s.rejection {
            row.rejected += 1;
            if s.accepted_at.is_none() && s.accepted_within_sla == Some(true) {
                row.rejected_within_sla += 1;
            }
            *row.rejections.entry(r.reason.clone()).or_default() += 1;
        }
        if s.return_reason.as_deref() == Some(SLA_EXPIRED) && s.rejection.is_none() {
            row.expired += 1;
        }
        if s.status == Status::Mql {
            row.open += 1;
        }
        if s.qualified_at.is_some() {
            row.qualified += 1;
        }
    }
    teams
        .into_values()
        .map(|(mut row, mut minutes)| {
            let decided = row.accepted_within_sla + row.accepted_late + row.rejected + row.expired;
            if decided > 0 {
                row.sla_met_pct = Some(
                    (100.0 * (row.accepted_within_sla + row.rejected_within_sla) as f64
                        / decided as f64
                        * 10.0)
                        .round()
                        / 10.0,
                );
            }
            minutes.sort_unstable();
            row.time_to_accept_p50 = percentile(&minutes, 50);
            row.time_to_accept_p90 = percentile(&minutes, 90);
            row
        })
        .collect()
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 90), Some(7));
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
    }
}
