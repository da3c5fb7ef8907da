//! `leadwatch demo --no-serve`, run as scripts/demo.sh runs it, against a moto server of
//! this test binary's own (so it neither needs nor disturbs a stack started by hand):
//! the whole scenario goes through, every manager's alerts, what the notifier delivered
//! to each of them and the SLA report are printed, and the exit code is 0. About 20
//! seconds: three simulated days of watchdog runs against an emulator that serves one
//! request at a time.

use std::process::Command;

use leadwatch_e2e::moto;

#[test]
fn the_demo_plays_the_scenario_and_prints_each_managers_alerts_and_the_report() {
    let out = Command::new(env!("CARGO_BIN_EXE_leadwatch"))
        .args(["demo", "--no-serve"])
        // Per-service endpoints would win over moto's AWS_ENDPOINT_URL.
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .env_remove("AWS_ENDPOINT_URL_SNS")
        .env_remove("AWS_ENDPOINT_URL_SQS")
        .env_remove("AWS_PROFILE")
        .envs(moto().env())
        .output()
        .expect("the leadwatch binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );
    let section = |title: &str| {
        stdout
            .split(title)
            .nth(1)
            .unwrap_or_else(|| panic!("no {title} section:\n{stdout}"))
            .to_string()
    };

    // Every channel and every ending the scenario promises.
    for expected in [
        "form     ",
        "webhook  ",
        "event    raj.patel@gringotts-na.com       mql",
        "gates: student",
        "gates: vendor",
        "202, dropped",
        "within SLA",
        "LATE",
        "rejected          not_icp",
        "sql ",
    ] {
        assert!(stdout.contains(expected), "no {expected:?} in:\n{stdout}");
    }

    let alerts = section("== Alerts each subscriber received");
    for manager in [
        "ae-na manager",
        "ae-emea manager",
        "sdr-na manager",
        "sdr-na-enterprise manager",
        "sdr-emea manager",
        "head of sales",
        "marketing",
    ] {
        let count = alerts
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{manager} (")))
            .unwrap_or_else(|| panic!("no alerts block for {manager}:\n{alerts}"));
        assert!(
            !count.contains("(0 alerts)"),
            "{manager} received nothing:\n{alerts}"
        );
    }
    for kind in [
        "sla_warning",
        "sla_breach",
        "sla_escalation",
        "sla_expired",
        "returned_to_nurture",
    ] {
        assert!(alerts.contains(kind), "no {kind} alert:\n{alerts}");
    }
    assert!(alerts.contains("level 2.1"), "no repeated level:\n{alerts}");

    // The notifier delivered to each person exactly what their filtered subscription
    // received: every alert once, on each of their channels.
    let delivered = section("== What each person got from the notifier");
    let alerts_of = |who: &str| -> usize {
        let line = alerts
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{who} (")))
            .unwrap_or_else(|| panic!("no alerts block for {who}"));
        line.split('(')
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in {line:?}"))
    };
    for (who, channels) in [
        (
            "ae-na manager",
            vec!["Slack messages to #ae-na-slack", "emails to kim@seller.io"],
        ),
        (
            "ae-emea manager",
            vec![
                "Slack messages to #ae-emea-slack",
                "emails to priya@seller.io",
            ],
        ),
        (
            "sdr-na manager",
            vec![
                "Slack messages to #sdr-na-slack",
                "emails to dave@seller.io",
            ],
        ),
        (
            "sdr-na-enterprise manager",
            vec![
                "Slack messages to #sdr-na-enterprise-slack",
                "emails to erin@seller.io",
            ],
        ),
        (
            "sdr-emea manager",
            vec![
                "Slack messages to #sdr-emea-slack",
                "emails to lars@seller.io",
            ],
        ),
        (
            "head of sales",
            vec![
                "Teams messages to #sales-leadership-teams",
                "emails to hana@seller.io",
            ],
        ),
        ("marketing", vec!["emails to marketing-ops@seller.io"]),
    ] {
        let n = alerts_of(who);
        let line = delivered
            .lines()
            .find(|l| l.starts_with(&format!("  {who}: ")))
            .unwrap_or_else(|| panic!("nothing delivered to {who}:\n{delivered}"));
        for channel in channels {
            assert!(
                line.contains(&format!("{n} {channel}")),
                "{who}: {n} {channel}? {line}"
            );
        }
    }
    for shown in [
        "    Slack, latest:",
        "    Teams, latest:",
        "    email, latest: [Leadwatch] ",
        "      | Who: ",
        "      | Alert ",
    ] {
        assert!(delivered.contains(shown), "no {shown:?} in:\n{delivered}");
    }

    let report = section("== SLA report");
    let total = report
        .lines()
        .find(|l| l.contains(" all "))
        .unwrap_or_else(|| panic!("no total row:\n{report}"));
    assert!(total.contains("2026-11"), "{total}");
    for team in [
        "ae-na",
        "ae-emea",
        "sdr-na",
        "sdr-na-enterprise",
        "sdr-emea",
    ] {
        assert!(
            report.lines().any(|l| l.contains(&format!("team {team} "))),
            "no report row for {team}:\n{report}"
        );
    }
}
