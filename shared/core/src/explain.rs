//! The assessment as a person reads it: in the terminal (`leadwatch score`), in golden
//! tests, and in the demo. Plain text, stable layout, no colours.

use std::fmt::Write;

use super::assess::{Action, Assessment};
use super::contract::Pillar;
use super::text::clip;

pub fn render(a: &Assessment) -> String {
    let mut out = String::new();
    let decision = match a.action {
        Action::ActNow if a.fast_lane => "ACT NOW (MQL, fast lane)",
        Action::ActNow => "ACT NOW (MQL)",
        Action::Nurture => "NURTURE",
        Action::Disqualify => "DISQUALIFY",
    };
    // Writing to a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(out, "Decision:  {decision}");
    if let Some(route) = &a.route {
        let _ = write!(out, "Route:     {} (rule \"{}\")", route.team, route.rule);
        if let Some(policy) = &a.sla_policy {
            let _ = write!(out, ", SLA policy {policy}");
        }
        out.push('\n');
    }
    if a.gates_passed {
        out.push_str("Gates:     passed\n");
    } else {
        for g in &a.failed_gates {
            let _ = writeln!(out, "Gate:      FAILED {} ({})", g.gate, g.detail);
        }
    }
    let _ = writeln!(
        out,
        "Fit:       {:>5.1} / {}  (tier {})",
        a.fit.points, a.fit.max, a.fit_tier
    );
    let _ = writeln!(
        out,
        "Intent:    {:>5.1} / {}  ({})",
        a.intent.points,
        a.intent.max,
        a.intent_tier.as_str()
    );
    let _ = writeln!(
        out,
        "Readiness: {:>5.1} / {}",
        a.readiness.points, a.readiness.max
    );
    let _ = writeln!(out, "Total:     {:>5.1}", a.total);
    let _ = writeln!(out, "Why:       {}", a.mql_reason);
    if !a.reasons.is_empty() {
        out.push_str("Reasons:\n");
        for pillar in [Pillar::Fit, Pillar::Intent, Pillar::Readiness] {
            for r in a.reasons.iter().filter(|r| r.pillar == pillar) {
                let when =
                    r.at.map(|t| format!("  {}", t.format("%Y-%m-%d %H:%M")))
                        .unwrap_or_default();
                let detail = r
                    .detail
                    .as_deref()
                    .map(|d| format!("  \"{}\"", clip(d, 60)))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {:>+7.2} {:<9} {}{when}{detail}",
                    r.points,
                    r.pillar.to_string(),
                    r.label
                );
            }
        }
    }
    if !a.ignored.is_empty() {
        out.push_str("Not counted:\n");
        for i in &a.ignored {
            let _ = writeln!(out, "  {} {}: {}", i.signal, i.at.format("%Y-%m-%d"), i.why);
        }
    }
    let _ = write!(
        out,
        "Contract:  {} at {}",
        a.contract_version,
        a.assessed_at.format("%Y-%m-%dT%H:%M:%SZ")
    );
    out
}
