//! The assessment's `mql_reason`: the one line a person reads first, built from the
//! profile and the strongest evidence. Prose, so it lives apart from the arithmetic.

use chrono::{DateTime, Utc};

use super::{GateFailure, Reason};
use crate::lead::LeadProfile;

/// The one-line reason a person reads first:
/// "VP RevOps at a 250-person SaaS; pricing page twice yesterday; LinkedIn reply asking about integrations".
pub(super) fn explain(
    lead: &LeadProfile,
    reasons: &[Reason],
    failed_gates: &[GateFailure],
    now: DateTime<Utc>,
) -> String {
    let who = {
        let role = lead.title.clone().unwrap_or_else(|| "Lead".into());
        match (lead.employees, &lead.industry, &lead.company) {
            (Some(e), Some(ind), _) => format!("{role} at a {e}-person {ind} company"),
            (Some(e), None, Some(c)) => format!("{role} at {c} ({e} people)"),
            (None, _, Some(c)) => format!("{role} at {c}"),
            (Some(e), None, None) => format!("{role} at a {e}-person company"),
            (None, _, None) => role,
        }
    };
    let mut parts = vec![who];
    if !failed_gates.is_empty() {
        let names: Vec<&str> = failed_gates.iter().map(|g| g.gate.as_str()).collect();
        parts.push(format!("disqualified by gate {}", names.join(", ")));
        return parts.join("; ");
    }
    // Group behavioural evidence by type; strongest first.
    // (label, points, count, latest, latest detail) per signal label.
    type Group<'a> = (&'a str, f64, usize, DateTime<Utc>, Option<&'a str>);
    let mut groups: Vec<Group> = Vec::new();
    for r in reasons.iter().filter(|r| r.at.is_some() && r.points > 0.0) {
        let at = r.at.unwrap_or(now);
        if let Some(g) = groups.iter_mut().find(|g| g.0 == r.label) {
            g.1 += r.points;
            g.2 += 1;
            if at > g.3 {
                g.3 = at;
                g.4 = r.detail.as_deref().or(g.4);
            }
        } else {
            groups.push((&r.label, r.points, 1, at, r.detail.as_deref()));
        }
    }
    groups.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (label, _, count, latest, detail) in groups.into_iter().take(3) {
        let times = match count {
            1 => String::new(),
            2 => " twice".into(),
            n => format!(" {n} times"),
        };
        let when = relative_day(latest, now);
        let detail = detail
            .map(|d| format!(" ({})", crate::text::clip(d, 60)))
            .unwrap_or_default();
        parts.push(format!("{label}{times} {when}{detail}"));
    }
    if parts.len() == 1 {
        parts.push("no live buying signals".into());
    }
    parts.join("; ")
}

fn relative_day(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    match (now.date_naive() - at.date_naive()).num_days() {
        0 => "today".into(),
        1 => "yesterday".into(),
        n => format!("{n} days ago"),
    }
}
