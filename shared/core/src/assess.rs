//! Assessment: given a lead, its signals, the contract and a point in time, decide
//! whether the lead is an MQL, and explain the decision point by point.
//!
//! The function is pure: `now` is a parameter, so the same inputs always give the same
//! assessment, which is what makes backtests and replays possible.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::contract::{Contract, Pillar, SignalType};
use super::lead::{LeadProfile, Signal};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// An MQL: hand it to sales now.
    ActNow,
    Nurture,
    Disqualify,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ActNow => "act_now",
            Action::Nurture => "nurture",
            Action::Disqualify => "disqualify",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentTier {
    Low,
    Medium,
    High,
}

impl IntentTier {
    pub fn as_str(self) -> &'static str {
        match self {
            IntentTier::Low => "low",
            IntentTier::Medium => "medium",
            IntentTier::High => "high",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateFailure {
    pub gate: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PillarScore {
    pub points: f64,
    pub max: u32,
}

/// One thing that moved a pillar, with the points it gave after decay and caps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub pillar: Pillar,
    /// Signal type, or the fit rule (`persona`, `employee_band`, `industry`, `abm_target`),
    /// or the negative's name.
    pub source: String,
    pub label: String,
    pub points: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A signal that was looked at but gave nothing, and why: explanations include misses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ignored {
    pub signal: String,
    pub at: DateTime<Utc>,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub team: String,
    pub rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub contract_version: String,
    pub assessed_at: DateTime<Utc>,
    pub gates_passed: bool,
    pub failed_gates: Vec<GateFailure>,
    pub fit: PillarScore,
    pub intent: PillarScore,
    pub readiness: PillarScore,
    pub total: f64,
    pub fit_tier: u8,
    pub intent_tier: IntentTier,
    pub action: Action,
    pub fast_lane: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Route>,
    /// The SLA policy that applies if this lead becomes an MQL now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_policy: Option<String>,
    pub reasons: Vec<Reason>,
    pub ignored: Vec<Ignored>,
    pub mql_reason: String,
}

impl Assessment {
    pub fn pillar(&self, pillar: Pillar) -> &PillarScore {
        match pillar {
            Pillar::Fit => &self.fit,
            Pillar::Intent => &self.intent,
            Pillar::Readiness => &self.readiness,
        }
    }

    /// The strongest intent signal, which drives the suggested opener.
    pub fn strongest_intent(&self) -> Option<&Reason> {
        self.reasons
            .iter()
            .filter(|r| r.pillar == Pillar::Intent && r.at.is_some() && r.points > 0.0)
            .max_by(|a, b| a.points.total_cmp(&b.points).then(a.at.cmp(&b.at)))
    }
}

/// Options that do not come from the contract.
#[derive(Debug, Clone, Copy, Default)]
pub struct AssessOptions {
    /// While a returned lead cools off, only signals after this instant count.
    pub signals_since: Option<DateTime<Utc>>,
    /// Until this instant the lead may not become an MQL again (rejection cool-off).
    pub cool_off_until: Option<DateTime<Utc>>,
}

/// Assess a lead. See the module docs.
pub fn assess(
    lead: &LeadProfile,
    signals: &[Signal],
    contract: &Contract,
    now: DateTime<Utc>,
) -> Assessment {
    assess_with(lead, signals, contract, now, AssessOptions::default())
}

pub fn assess_with(
    lead: &LeadProfile,
    signals: &[Signal],
    contract: &Contract,
    now: DateTime<Utc>,
    options: AssessOptions,
) -> Assessment {
    let spec = &contract.spec;
    let failed_gates = gates(lead, signals, contract, now);
    let mut reasons = Vec::new();
    let mut ignored = Vec::new();

    let fit_raw = fit_points(lead, contract, &mut reasons);

    // Behavioural pillars: decay each live signal, then cap per type (newest first, so a
    // cap keeps the freshest evidence), then cap cheap engagement as a group.
    let mut per_type: BTreeMap<&str, Vec<(&Signal, f64)>> = BTreeMap::new();
    let mut live_kinds: Vec<(&str, Pillar)> = Vec::new();
    for signal in signals {
        let Some(kind) = contract.signal_type(&signal.kind) else {
            ignored.push(Ignored {
                signal: signal.kind.clone(),
                at: signal.at,
                why: "not a signal type of this contract".into(),
            });
            continue;
        };
        if signal.at > now {
            ignored.push(Ignored {
                signal: signal.kind.clone(),
                at: signal.at,
                why: "after the assessment time".into(),
            });
            continue;
        }
        if options
            .signals_since
            .is_some_and(|since| signal.at <= since)
        {
            ignored.push(Ignored {
                signal: signal.kind.clone(),
                at: signal.at,
                why: "before the lead was returned to nurture".into(),
            });
            continue;
        }
        let age_days = (now - signal.at).num_seconds() as f64 / 86_400.0;
        if age_days > f64::from(kind.recency_days) {
            ignored.push(Ignored {
                signal: signal.kind.clone(),
                at: signal.at,
                why: format!(
                    "{} days old, outside its {}-day recency window",
                    age_days as u64, kind.recency_days
                ),
            });
            continue;
        }
        if let (Some(min), Some(seen)) = (kind.min_seconds, signal.seconds_on_page) {
            if seen < min {
                ignored.push(Ignored {
                    signal: signal.kind.clone(),
                    at: signal.at,
                    why: format!("{seen} s on page, below the {min} s threshold"),
                });
                continue;
            }
        }
        live_kinds.push((&signal.kind, kind.pillar));
        let base = base_points(kind, signal);
        let decayed = round2(base * 0.5_f64.powf(age_days / kind.half_life_days));
        per_type
            .entry(&signal.kind)
            .or_default()
            .push((signal, decayed));
    }

    let mut behavioural: BTreeMap<Pillar, f64> = BTreeMap::new();
    let mut cheap_left = f64::from(spec.pillars.cheap_signal_cap);
    for (kind_name, mut items) in per_type {
        let Some(kind) = contract.signal_type(kind_name) else {
            continue;
        };
        items.sort_by_key(|item| std::cmp::Reverse(item.0.at));
        let mut type_left = kind.cap.map_or(f64::INFINITY, f64::from);
        for (signal, decayed) in items {
            let mut given = decayed.min(type_left);
            if kind.cheap {
                given = given.min(cheap_left);
                cheap_left -= given;
            }
            type_left -= given;
            if given <= 0.0 {
                continue;
            }
            *behavioural.entry(kind.pillar).or_default() += given;
            reasons.push(Reason {
                pillar: kind.pillar,
                source: kind_name.to_string(),
                label: kind.label.clone(),
                points: round2(given),
                at: Some(signal.at),
                detail: signal.detail.clone(),
            });
        }
    }

    for (name, negative) in &spec.negatives {
        let applies = match (&negative.when_only, &negative.when_present) {
            (Some(only), _) => {
                let mut of_pillar = live_kinds
                    .iter()
                    .filter(|(_, p)| *p == negative.pillar)
                    .peekable();
                of_pillar.peek().is_some() && of_pillar.all(|(k, _)| k == only)
            }
            (None, Some(present)) => live_kinds.iter().any(|(k, _)| k == present),
            (None, None) => false,
        };
        if applies {
            *behavioural.entry(negative.pillar).or_default() += f64::from(negative.points);
            reasons.push(Reason {
                pillar: negative.pillar,
                source: name.clone(),
                label: negative.description.clone(),
                points: f64::from(negative.points),
                at: None,
                detail: None,
            });
        }
    }

    let clamp = |pillar: Pillar, raw: f64| PillarScore {
        points: round2(raw.clamp(0.0, f64::from(contract.pillar_max(pillar)))),
        max: contract.pillar_max(pillar),
    };
    let fit = clamp(Pillar::Fit, fit_raw);
    let intent = clamp(
        Pillar::Intent,
        behavioural.get(&Pillar::Intent).copied().unwrap_or(0.0),
    );
    let readiness = clamp(
        Pillar::Readiness,
        behavioural.get(&Pillar::Readiness).copied().unwrap_or(0.0),
    );
    let total = round2(fit.points + intent.points + readiness.points);

    let tiers = &spec.tiers;
    let fit_tier = if fit.points >= f64::from(tiers.fit_tier1_min) {
        1
    } else if fit.points >= f64::from(tiers.fit_tier2_min) {
        2
    } else {
        3
    };
    let intent_tier = if intent.points >= f64::from(tiers.intent_high_min) {
        IntentTier::High
    } else if intent.points >= f64::from(tiers.intent_medium_min) {
        IntentTier::Medium
    } else {
        IntentTier::Low
    };

    let gates_passed = failed_gates.is_empty();
    let fast_lane_window = chrono::Duration::days(i64::from(spec.fast_lane.within_days));
    let fast_lane = gates_passed
        && spec.fast_lane.signals.iter().any(|fl| {
            per_type_live(
                signals,
                fl,
                now,
                fast_lane_window,
                options.signals_since,
                &live_kinds,
            )
        });
    let cooling_off = options.cool_off_until.is_some_and(|until| now < until);
    let qualifies = fast_lane
        || (total >= f64::from(spec.actions.act_now_min_total)
            && intent.points >= f64::from(spec.actions.act_now_min_intent));
    let action = if !gates_passed {
        Action::Disqualify
    } else if qualifies && !cooling_off {
        Action::ActNow
    } else {
        Action::Nurture
    };
    if cooling_off && qualifies {
        ignored.push(Ignored {
            signal: "cool_off".into(),
            at: now,
            why: "would qualify, but the lead is in its rejection cool-off".into(),
        });
    }

    let route = gates_passed
        .then(|| {
            contract
                .route(fast_lane, lead.country.as_deref(), fit_tier, lead.employees)
                .map(|rule| Route {
                    team: rule.team.clone(),
                    rule: rule.name.clone(),
                    owner: rule.owner.clone(),
                })
        })
        .flatten();
    let sla_policy = route
        .as_ref()
        .filter(|_| action == Action::ActNow)
        .and_then(|r| contract.select_sla_policy(fast_lane, fit_tier, &r.team))
        .map(str::to_string);

    let mql_reason = explain(lead, &reasons, &failed_gates, now);
    Assessment {
        contract_version: contract.version().to_string(),
        assessed_at: now,
        gates_passed,
        failed_gates,
        fit,
        intent,
        readiness,
        total,
        fit_tier,
        intent_tier,
        action,
        fast_lane,
        route,
        sla_policy,
        reasons,
        ignored,
        mql_reason,
    }
}

fn per_type_live(
    signals: &[Signal],
    kind: &str,
    now: DateTime<Utc>,
    window: chrono::Duration,
    since: Option<DateTime<Utc>>,
    live_kinds: &[(&str, Pillar)],
) -> bool {
    live_kinds.iter().any(|(k, _)| *k == kind)
        && signals.iter().any(|s| {
            s.kind == kind && s.at <= now && now - s.at <= window && since.is_none_or(|t| s.at > t)
        })
}

fn base_points(kind: &SignalType, signal: &Signal) -> f64 {
    let strong = kind.strong_points.is_some()
        && ((kind.strong_if_question && signal.question)
            || kind
                .strong_min_seconds
                .zip(signal.seconds_on_page)
                .is_some_and(|(min, seen)| seen >= min));
    f64::from(if strong {
        kind.strong_points.unwrap_or(kind.points)
    } else {
        kind.points
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn gates(
    lead: &LeadProfile,
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
    if let Some(title) = &lead.title {
        let lower = title.to_lowercase();
        if let Some(word) = g
            .title_disqualifiers
            .iter()
            .find(|w| contains_word(&lower, w))
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

fn fit_points(lead: &LeadProfile, contract: &Contract, reasons: &mut Vec<Reason>) -> f64 {
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
        if let Some(band) = rules
            .employee_bands
            .iter()
            .find(|b| (b.min..=b.max).contains(&e))
        {
            add(
                "employee_band",
                format!("{}-{} employees", band.min, band.max),
                band.points,
            );
        }
    }
    if let Some(industry) = &lead.industry {
        let key = industry.to_lowercase();
        if let Some(points) = rules.industries.get(&key) {
            add("industry", format!("industry {industry}"), *points);
        }
    }
    if let Some(title) = &lead.title {
        let lower = title.to_lowercase();
        if let Some(persona) = rules.personas.iter().find(|p| {
            p.title_contains
                .iter()
                .any(|needle| contains_word(&lower, needle))
        }) {
            add(
                "persona",
                format!("{} ({title})", persona.label),
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
fn contains_word(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(i, _)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + needle.len()..].chars().next();
        before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
    })
}

/// The one-line reason a person reads first:
/// "VP RevOps at a 250-person SaaS; pricing page twice yesterday; LinkedIn reply asking about integrations".
fn explain(
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
            .map(|d| format!(" ({})", super::text::clip(d, 60)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
    }

    fn contract() -> Contract {
        Contract::default_contract().unwrap()
    }

    fn lead() -> LeadProfile {
        LeadProfile {
            email: "ana@acme.io".into(),
            title: Some("Director of Revenue Operations".into()),
            employees: Some(250),
            industry: Some("SaaS".into()),
            country: Some("US".into()),
            ..Default::default()
        }
    }

    fn signal(kind: &str, hours_ago: i64) -> Signal {
        Signal {
            kind: kind.into(),
            at: now() - Duration::hours(hours_ago),
            seconds_on_page: None,
            question: false,
            detail: None,
        }
    }

    #[test]
    fn fit_adds_band_industry_and_persona() {
        let a = assess(&lead(), &[], &contract(), now());
        // 20 (200-2000) + 15 (saas) + 15 (champion: director / revenue operations)
        assert_eq!(a.fit.points, 50.0);
        assert_eq!(a.fit_tier, 1);
        assert_eq!(a.intent.points, 0.0);
        assert_eq!(a.action, Action::Nurture);
    }

    #[test]
    fn decay_halves_at_half_life() {
        let fresh = assess(
            &lead(),
            &[signal("pricing_page_visit", 0)],
            &contract(),
            now(),
        );
        let week = assess(
            &lead(),
            &[signal("pricing_page_visit", 24 * 7)],
            &contract(),
            now(),
        );
        assert_eq!(fresh.intent.points, 8.0);
        assert_eq!(week.intent.points, 4.0);
    }

    #[test]
    fn recency_window_drops_old_signals() {
        let a = assess(
            &lead(),
            &[signal("pricing_page_visit", 24 * 15)],
            &contract(),
            now(),
        );
        assert_eq!(a.intent.points, 0.0);
        assert!(
            a.ignored[0].why.contains("14-day recency window"),
            "{:?}",
            a.ignored
        );
    }

    #[test]
    fn per_type_cap_bounds_repeats() {
        let visits: Vec<Signal> = (0..10).map(|h| signal("pricing_page_visit", h)).collect();
        let a = assess(&lead(), &visits, &contract(), now());
        assert!(
            a.intent.points <= 15.0 && a.intent.points > 14.0,
            "{}",
            a.intent.points
        );
    }

    #[test]
    fn cheap_signals_cannot_qualify_alone() {
        let mut many: Vec<Signal> = (0..40).map(|h| signal("blog_view", h)).collect();
        many.extend((0..40).map(|h| signal("email_click", h)));
        many.extend((0..40).map(|h| signal("email_open", h)));
        let a = assess(&lead(), &many, &contract(), now());
        assert_eq!(a.intent.points, 6.0);
        assert_eq!(a.action, Action::Nurture);
    }

    #[test]
    fn min_seconds_threshold_and_strong_points() {
        let mut short = signal("pricing_page_visit", 0);
        short.seconds_on_page = Some(5);
        let mut long = signal("pricing_page_visit", 0);
        long.seconds_on_page = Some(200);
        assert_eq!(
            assess(&lead(), &[short], &contract(), now()).intent.points,
            0.0
        );
        assert_eq!(
            assess(&lead(), &[long], &contract(), now()).intent.points,
            15.0
        );
    }

    #[test]
    fn careers_only_visits_are_negative() {
        let a = assess(
            &lead(),
            &[signal("careers_page_visit", 1)],
            &contract(),
            now(),
        );
        assert!(a
            .reasons
            .iter()
            .any(|r| r.source == "careers_page_only" && r.points == -15.0));
        assert_eq!(a.intent.points, 0.0, "clamped at zero");
        let mixed = assess(
            &lead(),
            &[
                signal("careers_page_visit", 1),
                signal("pricing_page_visit", 1),
            ],
            &contract(),
            now(),
        );
        assert!(!mixed
            .reasons
            .iter()
            .any(|r| r.source == "careers_page_only"));
    }

    #[test]
    fn each_gate_is_named() {
        let c = contract();
        let cases = [
            ("a@gmail.com", None, None, None, "free_email_domain"),
            ("a@uni.edu", None, None, None, "student"),
            ("a@rivalcrm.example", None, None, None, "competitor"),
            ("a@outreachly.example", None, None, None, "vendor"),
            ("a@acme.io", Some("BR"), None, None, "serviceable_country"),
            ("a@acme.io", None, Some(3), None, "employee_band"),
            ("a@acme.io", None, None, Some("Marketing Intern"), "persona"),
        ];
        for (email, country, employees, title, gate) in cases {
            let l = LeadProfile {
                email: email.into(),
                country: country.map(Into::into),
                employees,
                title: title.map(Into::into),
                ..Default::default()
            };
            let a = assess(&l, &[signal("demo_request", 1)], &c, now());
            assert_eq!(a.action, Action::Disqualify, "{email}");
            assert!(!a.fast_lane);
            assert_eq!(a.failed_gates[0].gate, gate, "{email}");
            assert!(a.route.is_none());
        }
        let a = assess(&lead(), &[signal("vendor_outreach", 1)], &c, now());
        assert_eq!(a.failed_gates[0].gate, "disqualifying_signal");
    }

    #[test]
    fn fast_lane_skips_the_threshold_and_routes_to_ae() {
        let l = LeadProfile {
            email: "x@tiny.io".into(),
            employees: Some(12),
            country: Some("US".into()),
            ..Default::default()
        };
        let a = assess(&l, &[signal("demo_request", 2)], &contract(), now());
        assert!(a.fast_lane);
        assert_eq!(a.action, Action::ActNow);
        assert_eq!(a.route.unwrap().team, "ae-na");
        assert_eq!(a.sla_policy.as_deref(), Some("fast_lane"));
    }

    #[test]
    fn cool_off_and_signals_since_hold_a_returned_lead_back() {
        let signals = [signal("demo_request", 48), signal("pricing_page_visit", 1)];
        let options = AssessOptions {
            signals_since: Some(now() - Duration::hours(24)),
            cool_off_until: None,
        };
        let a = assess_with(&lead(), &signals, &contract(), now(), options);
        assert!(
            !a.fast_lane,
            "the demo request predates the return to nurture"
        );
        assert_eq!(
            a.intent.points,
            round2(8.0 * 0.5_f64.powf(1.0 / 24.0 / 7.0))
        );
        let cooling = AssessOptions {
            signals_since: None,
            cool_off_until: Some(now() + Duration::days(3)),
        };
        let a = assess_with(&lead(), &signals, &contract(), now(), cooling);
        assert_eq!(a.action, Action::Nurture);
    }

    #[test]
    fn future_signals_are_ignored_by_the_assessment() {
        let mut s = signal("demo_request", 0);
        s.at = now() + Duration::hours(1);
        let a = assess(&lead(), &[s], &contract(), now());
        assert!(!a.fast_lane);
        assert_eq!(a.ignored[0].why, "after the assessment time");
    }

    #[test]
    fn word_matching_for_titles() {
        assert!(contains_word("vp, revops", "vp"));
        assert!(!contains_word("mvp engineer", "vp"));
        assert!(contains_word("head of sales", "head of"));
    }
}
