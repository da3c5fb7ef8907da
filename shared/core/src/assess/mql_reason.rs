//! The assessment's `mql_reason`: the one line a person reads first, built from the
//! profile and the strongest evidence. Prose, so it lives apart from the arithmetic.

use chrono::{DateTime, Utc};

use super::{push_i64, push_u64, GateFailure, Reason};
use crate::lead::LeadProfile;

/// The evidence of one signal label: its points, how many signals, the latest one's time
/// and detail.
#[derive(Clone, Copy, Default)]
struct Group<'a> {
    /// Equal for equal labels (the contract's `label_ids`).
    label_id: usize,
    label: &'a str,
    points: f64,
    count: u64,
    latest: DateTime<Utc>,
    detail: Option<&'a str>,
}

/// Groups kept on the stack: a lead rarely has more pieces of live evidence than this,
/// and a heap list cost an allocation (and a reallocation past eight) on every assessment.
const INLINE_GROUPS: usize = 16;

/// The one-line reason a person reads first:
/// "VP RevOps at a 250-person SaaS; pricing page twice yesterday; LinkedIn reply asking about integrations".
///
/// Written straight into one `String` (no part strings joined at the end): it is built on
/// every assessment, and the pieces used to cost a dozen allocations.
///
/// `evidence` is the behavioural reasons, each with its label's id: the only reasons with
/// a time, so the only ones a line lists.
pub(super) fn explain<'a>(
    lead: &LeadProfile,
    evidence: impl Iterator<Item = (usize, &'a Reason)> + Clone,
    failed_gates: &[GateFailure],
    now: DateTime<Utc>,
) -> String {
    let mut line = String::with_capacity(192);
    line.push_str(lead.title.as_deref().unwrap_or("Lead"));
    match (lead.employees, &lead.industry, &lead.company) {
        (Some(e), Some(ind), _) => {
            line.push_str(" at a ");
            push_u64(&mut line, e.into());
            line.push_str("-person ");
            line.push_str(ind);
            line.push_str(" company");
        }
        (Some(e), None, Some(c)) => {
            line.push_str(" at ");
            line.push_str(c);
            line.push_str(" (");
            push_u64(&mut line, e.into());
            line.push_str(" people)");
        }
        (None, _, Some(c)) => {
            line.push_str(" at ");
            line.push_str(c);
        }
        (Some(e), None, None) => {
            line.push_str(" at a ");
            push_u64(&mut line, e.into());
            line.push_str("-person company");
        }
        (None, _, None) => {}
    }
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
    // Group behavioural evidence by label; strongest first. There are at most as many
    // groups as pieces of evidence.
    let evidence = evidence.filter(|(_, r)| r.at.is_some() && r.points > 0.0);
    let most = evidence.clone().count();
    let mut inline = [Group::default(); INLINE_GROUPS];
    let mut heap = Vec::new();
    let slots: &mut [Group] = if most <= INLINE_GROUPS {
        &mut inline[..most]
    } else {
        heap.resize(most, Group::default());
        &mut heap
    };
    let mut len = 0;
    for (label_id, r) in evidence {
        let at = r.at.unwrap_or(now);
        if let Some(g) = slots[..len].iter_mut().find(|g| g.label_id == label_id) {
            g.points += r.points;
            g.count += 1;
            if at > g.latest {
                g.latest = at;
                g.detail = r.detail.as_deref().or(g.detail);
            }
        } else if let Some(slot) = slots.get_mut(len) {
            *slot = Group {
                label_id,
                label: &r.label,
                points: r.points,
                count: 1,
                latest: at,
                detail: r.detail.as_deref(),
            };
            len += 1;
        }
    }
    let groups = &slots[..len];
    // The three strongest, ties in the order they came: the first three of a stable sort
    // by points, descending, without sorting the rest.
    let mut listed = [usize::MAX; 3];
    for k in 0..listed.len() {
        let mut best: Option<usize> = None;
        for (i, g) in groups.iter().enumerate() {
            if listed[..k].contains(&i) {
                continue;
            }
            if best.is_none_or(|b| g.points.total_cmp(&groups[b].points).is_gt()) {
                best = Some(i);
            }
        }
        match best {
            Some(i) => listed[k] = i,
            None => break,
        }
    }
    for g in listed.iter().filter_map(|&i| groups.get(i)) {
        line.push_str("; ");
        line.push_str(g.label);
        match g.count {
            1 => {}
            2 => line.push_str(" twice"),
            n => {
                line.push(' ');
                push_u64(&mut line, n);
                line.push_str(" times");
            }
        }
        match (now.date_naive() - g.latest.date_naive()).num_days() {
            0 => line.push_str(" today"),
            1 => line.push_str(" yesterday"),
            n => {
                line.push(' ');
                push_i64(&mut line, n);
                line.push_str(" days ago");
            }
        }
        if let Some(detail) = g.detail {
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
