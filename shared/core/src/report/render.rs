//! The report's two outward forms: the terminal table and the CSV export. Layout only;
//! every figure is computed in the parent module.

use std::collections::BTreeMap;

use super::SlaReport;

/// The report as a table a person reads in a terminal.
pub fn render_table(report: &SlaReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let scope = report.team.as_deref().unwrap_or("all teams");
    let _ = writeln!(
        out,
        "SLA report {} to {} ({scope}; by MQL month, business minutes)",
        report.from, report.to
    );
    if report.rows.is_empty() {
        out.push_str("  no MQLs in this range\n");
        return out;
    }
    let header = format!(
        "  {:<7}  {:<22} {:>5} {:>4} {:>6} {:>4} {:>4} {:>4} {:>6} {:>6} {:>9} {:>5} {:>7} {:>7} {:>7}  {}",
        "month", "slice", "MQLs", "fast", "in SLA", "late", "rej", "exp", "met %", "acc %",
        "TTA p50/90", "TTFT", "MQL>SAL", "SAL>SQL", "MQL>SQL", "rejections"
    );
    out.push_str(&header);
    out.push('\n');
    let mut last_month = "";
    for r in &report.rows {
        if !last_month.is_empty() && r.month != last_month {
            out.push('\n');
        }
        last_month = &r.month;
        let slice = if r.dimension == "all" {
            "all".to_string()
        } else {
            format!("{} {}", r.dimension.replace('_', " "), r.value)
        };
        let _ = writeln!(
            out,
            "  {:<7}  {:<22} {:>5} {:>4} {:>6} {:>4} {:>4} {:>4} {:>6} {:>6} {:>9} {:>5} {:>7} {:>7} {:>7}  {}",
            r.month,
            crate::text::clip(&slice, 22),
            r.mqls,
            r.fast_lane_mqls,
            r.accepted_within_sla + r.rejected_within_sla,
            r.accepted_late,
            r.rejected,
            r.expired,
            fmt_pct(r.sla_met_pct),
            fmt_pct(r.acceptance_rate_pct),
            match (r.time_to_accept_p50_minutes, r.time_to_accept_p90_minutes) {
                (Some(a), Some(b)) => format!("{a}/{b}"),
                _ => "-".into(),
            },
            r.time_to_first_touch_p50_minutes
                .map_or("-".into(), |m| m.to_string()),
            fmt_pct(r.mql_to_sal_pct),
            fmt_pct(r.sal_to_sql_pct),
            fmt_pct(r.mql_to_sql_pct),
            fmt_counts(&r.rejections),
        );
    }
    out
}

fn fmt_pct(p: Option<f64>) -> String {
    p.map_or("-".into(), |p| format!("{p:.1}"))
}

/// `not_icp=2 no_budget=1`, or `-`.
fn fmt_counts(counts: &BTreeMap<String, i64>) -> String {
    if counts.is_empty() {
        return "-".into();
    }
    counts
        .iter()
        .map(|(k, n)| format!("{k}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The column order of the report CSV. Append new columns at the end only.
pub const CSV_HEADER: [&str; 28] = [
    "month",
    "dimension",
    "value",
    "mqls",
    "fast_lane_mqls",
    "accepted",
    "accepted_within_sla",
    "accepted_late",
    "rejected",
    "rejected_before_accept",
    "rejected_within_sla",
    "expired",
    "returned_to_nurture",
    "sqls",
    "first_touches",
    "sla_met_pct",
    "acceptance_rate_pct",
    "time_to_accept_p50_minutes",
    "time_to_accept_p90_minutes",
    "time_to_first_touch_p50_minutes",
    "time_to_first_touch_p90_minutes",
    "mql_to_sal_pct",
    "sal_to_sql_pct",
    "mql_to_sql_pct",
    "rejections",
    "escalations",
    "alerts",
    "team_filter",
];

/// The report as CSV, one line per row; maps are `key=n` joined by spaces.
pub fn write_csv<W: std::io::Write>(out: W, report: &SlaReport) -> Result<(), csv::Error> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(CSV_HEADER)?;
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let optf = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_default();
    let map = |m: &BTreeMap<String, i64>| {
        m.iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for r in &report.rows {
        w.write_record([
            r.month.clone(),
            r.dimension.clone(),
            crate::packet::neutralise_formula(&r.value),
            r.mqls.to_string(),
            r.fast_lane_mqls.to_string(),
            r.accepted.to_string(),
            r.accepted_within_sla.to_string(),
            r.accepted_late.to_string(),
            r.rejected.to_string(),
            r.rejected_before_accept.to_string(),
            r.rejected_within_sla.to_string(),
            r.expired.to_string(),
            r.returned_to_nurture.to_string(),
            r.sqls.to_string(),
            r.first_touches.to_string(),
            optf(r.sla_met_pct),
            optf(r.acceptance_rate_pct),
            opt(r.time_to_accept_p50_minutes),
            opt(r.time_to_accept_p90_minutes),
            opt(r.time_to_first_touch_p50_minutes),
            opt(r.time_to_first_touch_p90_minutes),
            optf(r.mql_to_sal_pct),
            optf(r.sal_to_sql_pct),
            optf(r.mql_to_sql_pct),
            map(&r.rejections),
            map(&r.escalations),
            map(&r.alerts),
            report.team.clone().unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}
