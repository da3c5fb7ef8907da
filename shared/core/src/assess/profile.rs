//! The half of an assessment that looks at who the lead is: the gates that disqualify
//! outright (free or student email, competitor, vendor, country, company size, title,
//! a disqualifying signal) and the points of the fit pillar. Kept apart from the
//! behavioural scoring in the parent module, which decays and caps signals over time.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::{GateFailure, Reason};
use crate::contract::{Contract, Pillar};
use crate::lead::{LeadProfile, Signal};

/// `title_lower` is the lead's title lowercased ([`lowercase`]), shared with
/// [`fit_points`] so the title is lowered once per assessment.
pub(super) fn gates(
    lead: &LeadProfile,
    title_lower: Option<&str>,
    signals: &[Signal],
    contract: &Contract,
    now: DateTime<Utc>,
) -> Vec<GateFailure> {
    let g = &contract.spec.gates;
    let mut failed = Vec::new();
    let mut fail = |gate: &str, detail: String| {
        failed.push(GateFailure {
            gate: gate.to_string(),
            detail,
        })
    };
    let domain = lead.email_domain();
    let domain_is = |list: &[String]| list.iter().any(|d| d.eq_ignore_ascii_case(domain));
    if domain_is(&g.free_email_domains) {
        fail(
            "free_email_domain",
            format!("{domain} is a free email provider"),
        );
    }
    if g.student_email_suffixes
        .iter()
        .any(|s| domain_has_suffix(domain, s))
    {
        fail("student", format!("{domain} is a student email domain"));
    }
    if domain_is(&g.competitor_domains) {
        fail("competitor", format!("{domain} is a competitor"));
    }
    if domain_is(&g.vendor_domains) {
        fail("vendor", format!("{domain} is a known vendor"));
    }
    if let Some(country) = &lead.country {
        if !g.serviceable_countries.is_empty()
            && !g.serviceable_countries.iter().any(|c| c == country)
        {
            fail("serviceable_country", format!("{country} is not served"));
        }
    }
    if let Some(employees) = lead.employees {
        if g.min_employees.is_some_and(|min| employees < min)
            || g.max_employees.is_some_and(|max| employees > max)
        {
            fail(
                "employee_band",
                format!(
                    "{employees} employees is outside {}-{}",
                    g.min_employees.unwrap_or(0),
                    g.max_employees.map_or("any".to_string(), |m| m.to_string())
                ),
            );
        }
    }
    if let (Some(title), Some(lower)) = (&lead.title, title_lower) {
        if let Some(word) = g
            .title_disqualifiers
            .iter()
            .find(|w| contains_word(lower, w))
        {
            fail("persona", format!("title \"{title}\" matches \"{word}\""));
        }
    }
    for kind in &g.disqualifying_signals {
        // Only what was sent by `now`: a backtest at an earlier instant must not see it.
        if signals.iter().any(|s| &s.kind == kind && s.at <= now) {
            let label = contract
                .signal_type(kind)
                .map_or(kind.as_str(), |t| t.label.as_str());
            fail("disqualifying_signal", format!("sent {label}"));
        }
    }
    failed
}

pub(super) fn fit_points(
    lead: &LeadProfile,
    title_lower: Option<&str>,
    contract: &Contract,
    reasons: &mut super::Staged,
) -> f64 {
    let rules = &contract.spec.fit;
    let mut total = 0.0;
    let mut add = |source: &str, label: String, points: u32| {
        if points > 0 {
            total += f64::from(points);
            reasons.push(Reason {
                pillar: Pillar::Fit,
                source: source.to_string(),
                label,
                points: f64::from(points),
                at: None,
                detail: None,
            });
        }
    };
    if let Some(e) = lead.employees {
        if let Some((i, band)) = rules
            .employee_bands
            .iter()
            .enumerate()
            .find(|(_, b)| (b.min..=b.max).contains(&e))
        {
            // The contract wrote the label once; formatting it is the fallback.
            let label = contract.lookups().band_labels.get(i).map_or_else(
                || format!("{}-{} employees", band.min, band.max),
                String::clone,
            );
            add("employee_band", label, band.points);
        }
    }
    if let Some(industry) = &lead.industry {
        let mut buf = [0; 64];
        if let Some(points) = rules.industries.get(&*lowercase(industry, &mut buf)) {
            add("industry", concat(&["industry ", industry]), *points);
        }
    }
    if let (Some(title), Some(lower)) = (&lead.title, title_lower) {
        if let Some(persona) = rules.personas.iter().find(|p| {
            p.title_contains
                .iter()
                .any(|needle| contains_word(lower, needle))
        }) {
            add(
                "persona",
                concat(&[&persona.label, " (", title, ")"]),
                persona.points,
            );
        }
    }
    if lead.abm_target {
        add(
            "abm_target",
            "ABM target account".into(),
            rules.abm_target_points,
        );
    }
    total
}

/// The parts, joined, in one allocation of the exact size (`format!` guesses the size).
fn concat(parts: &[&str]) -> String {
    let mut joined = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        joined.push_str(part);
    }
    joined
}

/// `text.to_lowercase()`, written into `buf` when the text is ASCII and fits, as titles
/// and industries nearly always are: that spares an allocation per assessment for each.
pub(super) fn lowercase<'a>(text: &str, buf: &'a mut [u8; 64]) -> Cow<'a, str> {
    if text.is_ascii() && text.len() <= buf.len() {
        let lower = &mut buf[..text.len()];
        lower.copy_from_slice(text.as_bytes());
        // For ASCII text this is exactly what `to_lowercase` does.
        lower.make_ascii_lowercase();
        Cow::Borrowed(std::str::from_utf8(lower).expect("ASCII is UTF-8"))
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// The email domain ends with the suffix on a label boundary, ignoring case: ".edu"
/// matches "uni.edu", and "student.example.org" matches itself and "x.student.example.org"
/// but not "notstudent.example.org".
fn domain_has_suffix(domain: &str, suffix: &str) -> bool {
    let (d, s) = (domain.as_bytes(), suffix.as_bytes());
    let Some(start) = d.len().checked_sub(s.len()) else {
        return false;
    };
    d[start..].eq_ignore_ascii_case(s)
        && (s.first() == Some(&b'.') || start == 0 || d[start - 1] == b'.')
}

/// Title matching on word boundaries, so "vp" matches "SVP"? No: "VP Sales" and
/// "VP, RevOps" match "vp", but "mvp engineer" does not.
///
/// Every match is tried left to right, each search resuming after the previous match, as
/// `str::match_indices` does; a plain byte scan does that here because `match_indices`
/// builds a two-way searcher per call, which for a short title and a dozen short needles
/// per assessment cost more than the search itself. A match of valid UTF-8 in valid
/// UTF-8 starts and ends on character boundaries, so the slicing below is sound.
pub(super) fn contains_word(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else {
        // The empty needle matches at every character boundary: leave that to std.
        return haystack
            .match_indices(needle)
            .any(|(i, _)| on_word_boundaries(haystack, i, 0));
    };
    let mut from = 0;
    while let Some(offset) = h[from..].iter().position(|&b| b == first) {
        let i = from + offset;
        if h[i..].starts_with(n) {
            if on_word_boundaries(haystack, i, n.len()) {
                return true;
            }
            from = i + n.len();
        } else {
            from = i + 1;
        }
    }
    false
}

/// The `len` bytes at `i` are neither preceded nor followed by a letter or digit.
fn on_word_boundaries(haystack: &str, i: usize, len: usize) -> bool {
    let before = haystack[..i].chars().next_back();
    let after = haystack[i + len..].chars().next();
    before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
}
