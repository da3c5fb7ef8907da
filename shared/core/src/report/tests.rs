//! Unit tests of the report arithmetic: months, nearest-rank percentiles, the total
//! row, and when a run of bad months calls for a contract review.

use super::*;

fn item(month: &str, dimension: &str, counters: &[(&str, i64)]) -> RollupItem {
    RollupItem {
        month: month.into(),
        dimension: dimension.into(),
        counters: counters.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    }
}

#[test]
fn months_parse_and_step() {
    assert_eq!(
        Month::parse("2026-11"),
        Ok(Month {
            year: 2026,
            month: 11
        })
    );
    for bad in [
        "2026-13", "2026-1", "26-11", "2026/11", "", "2026-00", "abcd-ef",
    ] {
        assert!(Month::parse(bad).is_err(), "{bad}");
    }
    let dec = Month::parse("2025-12").unwrap();
    assert_eq!(dec.next().to_string(), "2026-01");
    assert_eq!(dec.next().previous(), dec);
    assert_eq!(dec.through(Month::parse("2026-02").unwrap()).len(), 3);
}

#[test]
fn histogram_percentiles_are_nearest_rank() {
    assert_eq!(percentile(&[], 50), None);
    // 10 values 1..=10 as a histogram.
    let h: Vec<(i64, i64)> = (1..=10).map(|v| (v, 1)).collect();
    assert_eq!(percentile(&h, 50), Some(5));
    assert_eq!(percentile(&h, 90), Some(9));
    // Weighted: nine at 10 minutes, one at 300.
    assert_eq!(percentile(&[(10, 9), (300, 1)], 90), Some(10));
    assert_eq!(percentile(&[(10, 8), (300, 2)], 90), Some(300));
}

#[test]
fn total_row_sums_teams_and_rates_use_decided_mqls() {
    let items = vec![
        item(
            "2026-10",
            "team#ae-na",
            &[
                ("mqls", 4),
                ("accepted", 2),
                ("accepted_within_sla", 1),
                ("accepted_late", 1),
                ("rejected", 1),
                ("rejected_before_accept", 1),
                ("rejected_within_sla", 1),
                ("rejection#not_icp", 1),
                ("tta#30", 1),
                ("tta#500", 1),
                ("sqls", 1),
            ],
        ),
        item(
            "2026-10",
            "team#sdr-na",
            &[("mqls", 2), ("expired", 1), ("escalation#1", 1)],
        ),
        item("2026-10", "source#web", &[("mqls", 6)]),
    ];
    let from = Month::parse("2026-10").unwrap();
    let report = build_report(from, from, None, &items);
    let all = report.row("2026-10", "all", "all").unwrap();
    assert_eq!(all.mqls, 6);
    // decided: 2 accepted + 1 rejected before acceptance + 1 expired = 4; in SLA: 2.
    assert_eq!(all.sla_met_pct, Some(50.0));
    assert_eq!(all.acceptance_rate_pct, Some(50.0));
    assert_eq!(all.mql_to_sal_pct, Some(33.3));
    assert_eq!(all.sal_to_sql_pct, Some(50.0));
    assert_eq!(all.time_to_accept_p50_minutes, Some(30));
    assert_eq!(all.time_to_accept_p90_minutes, Some(500));
    assert_eq!(all.rejections.get("not_icp"), Some(&1));
    assert_eq!(all.escalations.get("1"), Some(&1));
    assert!(report.row("2026-10", "source", "web").is_some());

    let one_team = build_report(from, from, Some("sdr-na"), &items);
    assert_eq!(one_team.row("2026-10", "all", "all").unwrap().mqls, 2);
    assert!(one_team.row("2026-10", "source", "web").is_none());
    assert!(one_team.row("2026-10", "team", "ae-na").is_none());
}

#[test]
fn contract_review_needs_every_month_of_the_run_below_target() {
    let targets = Targets {
        sla_met_pct: 90.0,
        acceptance_pct: 70.0,
        consecutive_months: 2,
    };
    let month = |m: &str, within: i64, late: i64| {
        item(
            m,
            "team#ae-na",
            &[
                ("mqls", within + late),
                ("accepted", within + late),
                ("accepted_within_sla", within),
                ("accepted_late", late),
            ],
        )
    };
    let items = vec![
        month("2026-08", 10, 0),
        month("2026-09", 5, 5),
        month("2026-10", 6, 4),
    ];
    let report = build_report(
        Month::parse("2026-08").unwrap(),
        Month::parse("2026-10").unwrap(),
        None,
        &items,
    );
    // August was fine, so September alone is one bad month: no review yet.
    assert_eq!(
        contract_review(&report, Month::parse("2026-09").unwrap(), &targets),
        None
    );
    let review = contract_review(&report, Month::parse("2026-10").unwrap(), &targets)
        .expect("two bad months");
    assert_eq!(review.month, "2026-10");
    assert_eq!(review.months, vec!["2026-09", "2026-10"]);
    assert_eq!(review.findings.len(), 1, "{:?}", review.findings);
    assert!(review.findings[0].contains("SLA met"));
    // A month without data is no evidence.
    assert_eq!(
        contract_review(&report, Month::parse("2026-11").unwrap(), &targets),
        None
    );
}
