//! The assessment's `mql_reason`: the one line a person reads first, built from the
//! profile and the strongest evidence. Prose, so it lives apart from the arithmetic.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::{GateFailure, Reason};
use crate::lead::LeadProfile;

/// The one-line reason a person reads first:
/// "VP RevOps at a 250-person SaaS; pricing page twice yesterday; LinkedIn reply asking about integrations".
///
/// Written straight into one `String` (no part strings joined at the end): it is built on
/// every assessment, and the pieces used to cost a dozen allocations.
pub(super) fn explain(
    lead: &LeadProfile,
    reasons: &[Reason],
    failed_gates: &[GateFailure],
    now: DateTime<Utc>,
) -> String {
    let mut line = String::with_capacity(192);
    // `write!` into a String cannot fail.
    line.push_str(lead.title.as_deref().unwrap_or("Lead"));
    let _ = match (lead.employees, &lead.industry, &lead.company) {
        (Some(e), Some(ind), _) => write!(line, " at a {e}-person {ind} company"),
        (Some(e), None, Some(c)) => write!(line, " at {c} ({e} people)"),
        (None, _, Some(c)) => write!(line, " at {c}"),
        (Some(e), None, None) => write!(line, " at a {e}-person company"),
        (None, _, None) => Ok(()),
    };
    if !failed_gates.is_empty() {
        line.push_str("; disqualified by gate ");
        for (i, gate) in failed_gates.iter().enumerate() {
            if i > 0 {
                line.push_str(", ");
            }
            line.push_str(&gate.gate);
        }
        return line;
    }
    // Group behavioural evidence by type; strongest first.
    // (label, points, count, latest, latest detail) per signal label.
    type Group<'a> = (&'a str, f64, usize, DateTime<Utc>, Option<&'a str>);
    // Room for the usual handful of signal types without growing.
    let mut groups: Vec<Group> = Vec::with_capacity(8);
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
    for &(label, _, count, latest, detail) in groups.iter().take(3) {
        line.push_str("; ");
        line.push_str(label);
        let _ = match count {
            1 => Ok(()),
            2 => line.write_str(" twice"),
            n => write!(line, " {n} times"),
        };
        let _ = match (now.date_naive() - latest.date_naive()).num_days() {
            0 => line.write_str(" today"),
            1 => line.write_str(" yesterday"),
            n => write!(line, " {n} days ago"),
        };
        if let Some(detail) = detail {
            line.push_str(" (");
            crate::text::clip_into(&mut line, detail, 60);
            line.push(')');
        }
    }
    if groups.is_empty() {
        line.push_str("; no live buying signals");
    }
    line
}
