//! The SLA adherence and funnel report, computed from monthly rollup items.
//!
//! Pure: the report Lambda, the CLI and the watchdog's contract review all read rollup
//! items with the store and hand them here, so every surface shows the same figures.
//! Percentages are `None` when their denominator is zero: "no data" is not "0 %".
//! The terminal table and the CSV export are in the `render` submodule, re-exported here.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::contract::Targets;
use super::rollup::{counter, FIT_TIER_DIMENSION, SOURCE_DIMENSION, TEAM_DIMENSION};

mod render;

pub use render::{render_table, write_csv, CSV_HEADER};

/// One stored rollup item: the counters of one dimension value in one month.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RollupItem {
    pub month: String,
    /// `team#ae-na`, `source#web`, `fit_tier#1`.
    pub dimension: String,
    pub counters: BTreeMap<String, i64>,
}

/// A month, `YYYY-MM`, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn parse(text: &str) -> Result<Month, String> {
        let bad = || format!("{text:?} is not a month in the form YYYY-MM");
        let (y, m) = text.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) || !(2000..=2999).contains(&year) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    pub fn of(date: NaiveDate) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                month: self.month + 1,
                ..self
            }
        }
    }

    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                month: self.month - 1,
                ..self
            }
        }
    }

    /// Months from `self` to `to`, both included.
    pub fn through(self, to: Month) -> Vec<Month> {
        let mut out = Vec::new();
        let mut m = self;
        while m <= to {
            out.push(m);
            m = m.next();
        }
        out
    }
}

/// A month travels as its `YYYY-MM` text (an export job's query, say).
impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Month, D::Error> {
        let text = String::deserialize(deserializer)?;
        Month::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The longest range one report covers: one query per month, so a bound keeps the
/// cost of a request bounded.
pub const MAX_REPORT_MONTHS: usize = 36;

/// The figures of one slice (a team, a source, a fit tier, or everything) in one month.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReportRow {
    pub month: String,
    /// `all`, `team`, `source` or `fit_tier`.
    pub dimension: String,
    /// The team, source or fit tier; `all` for the month's total.
    pub value: String,
    pub mqls: i64,
    pub fast_lane_mqls: i64,
    pub accepted: i64,
    pub accepted_within_sla: i64,
    pub accepted_late: i64,
    pub rejected: i64,
    pub rejected_before_accept: i64,
    pub rejected_within_sla: i64,
    pub expired: i64,
    pub returned_to_nurture: i64,
    pub sqls: i64,
    pub first_touches: i64,
    /// MQLs decided (accepted, or rejected before acceptance) within the SLA, over all
    /// decided or expired MQLs. Open MQLs are not in it yet.
    pub sla_met_pct: Option<f64>,
    /// Accepted over accepted + rejected before acceptance + expired.
    pub acceptance_rate_pct: Option<f64>,
    pub time_to_accept_p50_minutes: Option<i64>,
    pub time_to_accept_p90_minutes: Option<i64>,
    pub time_to_first_touch_p50_minutes: Option<i64>,
    pub time_to_first_touch_p90_minutes: Option<i64>,
    pub mql_to_sal_pct: Option<f64>,
    pub sal_to_sql_pct: Option<f64>,
    pub mql_to_sql_pct: Option<f64>,
    pub rejections: BTreeMap<String, i64>,
    /// Breach and escalation alerts by ladder level (`1`, `2`, `2.1`).
    pub escalations: BTreeMap<String, i64>,
    /// SLA alerts sent, by kind.
    pub alerts: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaReport {
    pub from: String,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Per month: the `all` row, then one row per team, source and fit tier (only the
    /// team's row when the report is for one team: rollups are not crossed by team).
    pub rows: Vec<ReportRow>,
}

impl SlaReport {
    /// The row of one month and slice, if the month had any MQLs in it.
    pub fn row(&self, month: &str, dimension: &str, value: &str) -> Option<&ReportRow> {
        self.rows
            .iter()
            .find(|r| r.month == month && r.dimension == dimension && r.value == value)
    }
}

/// Build the report for `from..=to` from the rollup items of those months.
pub fn build_report(from: Month, to: Month, team: Option<&str>, items: &[RollupItem]) -> SlaReport {
    let mut rows = Vec::new();
    for month in from.through(to) {
        let month_name = month.to_string();
        let of_month: Vec<(&str, &str, &RollupItem)> = items
            .iter()
            .filter(|i| i.month == month_name)
            .filter_map(|i| {
                let (dimension, value) = i.dimension.split_once('#')?;
                Some((dimension, value, i))
            })
            .collect();
        let teams: Vec<&(&str, &str, &RollupItem)> = of_month
            .iter()
            .filter(|(d, v, _)| *d == TEAM_DIMENSION && team.is_none_or(|t| t == *v))
            .collect();
        if teams.is_empty() {
            continue;
        }
        // Every MQL has exactly one team, so the month's total is the sum of its teams.
        let mut total = BTreeMap::new();
        for (_, _, item) in &teams {
            for (name, n) in &item.counters {
                *total.entry(name.clone()).or_insert(0) += n;
            }
        }
        rows.push(row(&month_name, "all", "all", &total));
        for (dimension, value, item) in &of_month {
            let wanted = match *dimension {
                TEAM_DIMENSION => team.is_none_or(|t| t == *value),
                SOURCE_DIMENSION | FIT_TIER_DIMENSION => team.is_none(),
                _ => false,
            };
            if wanted {
                rows.push(row(&month_name, dimension, value, &item.counters));
            }
        }
    }
    SlaReport {
        from: from.to_string(),
        to: to.to_string(),
        team: team.map(str::to_string),
        rows,
    }
}

fn row(month: &str, dimension: &str, value: &str, c: &BTreeMap<String, i64>) -> ReportRow {
    use counter::*;
    let get = |name: &str| c.get(name).copied().unwrap_or(0);
    let with_prefix = |prefix: &str| -> BTreeMap<String, i64> {
        c.iter()
            .filter_map(|(k, n)| Some((k.strip_prefix(prefix)?.to_string(), *n)))
            .filter(|(_, n)| *n != 0)
            .collect()
    };
    let histogram = |prefix: &str| -> Vec<(i64, i64)> {
        let mut h: Vec<(i64, i64)> = c
            .iter()
            .filter_map(|(k, n)| Some((k.strip_prefix(prefix)?.parse().ok()?, *n)))
            .collect();
        h.sort_unstable();
        h
    };
    let mut r = ReportRow {
        month: month.to_string(),
        dimension: dimension.to_string(),
        value: value.to_string(),
        mqls: get(MQLS),
        fast_lane_mqls: get(FAST_LANE_MQLS),
        accepted: get(ACCEPTED),
        accepted_within_sla: get(ACCEPTED_WITHIN_SLA),
        accepted_late: get(ACCEPTED_LATE),
        rejected: get(REJECTED),
        rejected_before_accept: get(REJECTED_BEFORE_ACCEPT),
        rejected_within_sla: get(REJECTED_WITHIN_SLA),
        expired: get(EXPIRED),
        returned_to_nurture: get(RETURNED_TO_NURTURE),
        sqls: get(SQLS),
        first_touches: get(FIRST_TOUCHES),
        rejections: with_prefix(REJECTION_PREFIX),
        escalations: with_prefix(ESCALATION_PREFIX),
        alerts: with_prefix(ALERT_PREFIX),
        ..ReportRow::default()
    };
    let decided = r.accepted + r.rejected_before_accept + r.expired;
    r.sla_met_pct = pct(r.accepted_within_sla + r.rejected_within_sla, decided);
    r.acceptance_rate_pct = pct(r.accepted, decided);
    r.mql_to_sal_pct = pct(r.accepted, r.mqls);
    r.sal_to_sql_pct = pct(r.sqls, r.accepted);
    r.mql_to_sql_pct = pct(r.sqls, r.mqls);
    let tta = histogram(TIME_TO_ACCEPT_PREFIX);
    r.time_to_accept_p50_minutes = percentile(&tta, 50);
    r.time_to_accept_p90_minutes = percentile(&tta, 90);
    let ttft = histogram(TIME_TO_FIRST_TOUCH_PREFIX);
    r.time_to_first_touch_p50_minutes = percentile(&ttft, 50);
    r.time_to_first_touch_p90_minutes = percentile(&ttft, 90);
    r
}

/// A percentage with one decimal, or `None` without a denominator.
pub fn pct(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| (1000.0 * numerator as f64 / denominator as f64).round() / 10.0)
}

/// Nearest-rank percentile of a histogram of `(value, count)` sorted by value.
pub fn percentile(histogram: &[(i64, i64)], p: i64) -> Option<i64> {
    let total: i64 = histogram.iter().map(|(_, n)| n).sum();
    if total <= 0 {
        return None;
    }
    let rank = ((p * total + 99) / 100).max(1);
    let mut seen = 0;
    for (value, n) in histogram {
        seen += n;
        if seen >= rank {
            return Some(*value);
        }
    }
    histogram.last().map(|(v, _)| *v)
}

/// Why the contract needs a review: the months below target and what missed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContractReview {
    /// The latest month of the run of bad months: the alert is "for" this month.
    pub month: String,
    pub months: Vec<String>,
    pub findings: Vec<String>,
}

/// Did SLA met % or the acceptance rate stay below target for the last
/// `targets.consecutive_months` months up to `last`? `report` must cover them (all
/// teams). A month without decided MQLs is not a bad month: no evidence is no breach.
pub fn contract_review(
    report: &SlaReport,
    last: Month,
    targets: &Targets,
) -> Option<ContractReview> {
    let n = targets.consecutive_months.max(1) as usize;
    let mut months = Vec::with_capacity(n);
    let mut m = last;
    for _ in 0..n {
        months.push(m);
        m = m.previous();
    }
    months.reverse();
    let mut findings = Vec::new();
    let mut sla_bad = true;
    let mut acceptance_bad = true;
    for month in &months {
        let row = report.row(&month.to_string(), "all", "all")?;
        sla_bad &= row.sla_met_pct.is_some_and(|p| p < targets.sla_met_pct);
        acceptance_bad &= row
            .acceptance_rate_pct
            .is_some_and(|p| p < targets.acceptance_pct);
    }
    let names: Vec<String> = months.iter().map(Month::to_string).collect();
    let figures = |f: fn(&ReportRow) -> Option<f64>| -> String {
        names
            .iter()
            .filter_map(|m| report.row(m, "all", "all"))
            .map(|r| format!("{} {:.1} %", r.month, f(r).unwrap_or(0.0)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if sla_bad {
        findings.push(format!(
            "SLA met below the {:.1} % target for {n} months: {}",
            targets.sla_met_pct,
            figures(|r| r.sla_met_pct)
        ));
    }
    if acceptance_bad {
        findings.push(format!(
            "acceptance rate below the {:.1} % target for {n} months: {}",
            targets.acceptance_pct,
            figures(|r| r.acceptance_rate_pct)
        ));
    }
    (!findings.is_empty()).then(|| ContractReview {
        month: last.to_string(),
        months: names,
        findings,
    })
}

#[cfg(test)]
mod tests;
