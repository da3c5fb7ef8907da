//! The MQL contract: a versioned TOML file that marketing and sales sign off together.
//!
//! Loading happens in two steps. Serde turns the text into the raw structs below (a
//! syntax or type error stops there, with toml's line and key). Then [`Contract::validate`]
//! checks every rule that spans keys and reports *all* problems at once, each starting
//! with its key path, so a reviewer fixes the file in one pass.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::calendar::{BusinessCalendar, CalendarSpec};

/// The contract shipped with the repository; used when no other file is given.
pub const DEFAULT_CONTRACT_TOML: &str = include_str!("../../../contract/contract.toml");

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContractSpec {
    pub version: String,
    pub gates: Gates,
    pub pillars: Pillars,
    pub fit: FitRules,
    pub signals: BTreeMap<String, SignalType>,
    #[serde(default)]
    pub negatives: BTreeMap<String, Negative>,
    pub tiers: Tiers,
    pub actions: Actions,
    pub fast_lane: FastLane,
    #[serde(default)]
    pub regions: BTreeMap<String, Vec<String>>,
    pub routing: Vec<RoutingRule>,
    pub teams: BTreeMap<String, Team>,
    pub calendars: BTreeMap<String, CalendarSpec>,
    pub sla: Sla,
    pub rejection: Rejection,
    pub targets: Targets,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Gates {
    #[serde(default)]
    pub serviceable_countries: Vec<String>,
    pub min_employees: Option<u32>,
    pub max_employees: Option<u32>,
    #[serde(default)]
    pub free_email_domains: Vec<String>,
    #[serde(default)]
    pub student_email_suffixes: Vec<String>,
    #[serde(default)]
    pub competitor_domains: Vec<String>,
    #[serde(default)]
    pub vendor_domains: Vec<String>,
    #[serde(default)]
    pub title_disqualifiers: Vec<String>,
    #[serde(default)]
    pub disqualifying_signals: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Pillars {
    pub fit: u32,
    pub intent: u32,
    pub readiness: u32,
    pub cheap_signal_cap: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FitRules {
    #[serde(default)]
    pub abm_target_points: u32,
    #[serde(default)]
    pub employee_bands: Vec<EmployeeBand>,
    #[serde(default)]
    pub industries: BTreeMap<String, u32>,
    #[serde(default)]
    pub personas: Vec<Persona>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmployeeBand {
    pub min: u32,
    pub max: u32,
    pub points: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Persona {
    pub label: String,
    pub title_contains: Vec<String>,
    pub points: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pillar {
    Fit,
    Intent,
    Readiness,
}

impl fmt::Display for Pillar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pillar::Fit => "fit",
            Pillar::Intent => "intent",
            Pillar::Readiness => "readiness",
        })
    }
}

/// How soon a kind of signal goes stale; each class bounds the recency window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalClass {
    Inbound,
    Behavioural,
    Event,
}

impl SignalClass {
    /// The recency windows (days) agreed in the seed contract.
    fn recency_bounds(self) -> (u32, u32) {
        match self {
            SignalClass::Inbound => (1, 7),
            SignalClass::Behavioural => (7, 14),
            SignalClass::Event => (7, 21),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignalType {
    pub label: String,
    pub pillar: Pillar,
    pub class: SignalClass,
    pub points: u32,
    pub strong_points: Option<u32>,
    #[serde(default)]
    pub strong_if_question: bool,
    pub strong_min_seconds: Option<u32>,
    pub min_seconds: Option<u32>,
    pub cap: Option<u32>,
    #[serde(default)]
    pub cheap: bool,
    pub half_life_days: f64,
    pub recency_days: u32,
    /// Suggested first line for the SDR; `{detail}` is replaced by the signal's detail.
    pub opener: Option<String>,
    pub next_step: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Negative {
    pub description: String,
    pub pillar: Pillar,
    pub points: i32,
    /// Applies when every signal of the pillar in the window is of this type.
    pub when_only: Option<String>,
    /// Applies when a signal of this type is in its window.
    pub when_present: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tiers {
    pub fit_tier1_min: u32,
    pub fit_tier2_min: u32,
    pub intent_high_min: u32,
    pub intent_medium_min: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    pub act_now_min_total: u32,
    pub act_now_min_intent: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FastLane {
    pub signals: Vec<String>,
    pub within_days: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    pub name: String,
    pub fast_lane: Option<bool>,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub fit_tiers: Vec<u8>,
    pub min_employees: Option<u32>,
    pub team: String,
    pub owner: Option<String>,
}

impl RoutingRule {
    fn is_default(&self) -> bool {
        self.fast_lane.is_none()
            && self.regions.is_empty()
            && self.fit_tiers.is_empty()
            && self.min_employees.is_none()
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    pub calendar: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    pub policies: BTreeMap<String, SlaPolicy>,
    pub select: Vec<SlaSelector>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    pub accept_within_minutes: u32,
    pub warn_at_fraction: f64,
    pub ladder: Vec<LadderLevel>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinalAction {
    ReturnToNurture,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LadderLevel {
    pub level: u32,
    pub after_breach_minutes: u32,
    pub audience: String,
    pub repeat_every_minutes: Option<u32>,
    #[serde(default)]
    pub repeat_times: u32,
    pub final_action: Option<FinalAction>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlaSelector {
    pub fast_lane: Option<bool>,
    #[serde(default)]
    pub fit_tiers: Vec<u8>,
    #[serde(default)]
    pub teams: Vec<String>,
    pub policy: String,
}

impl SlaSelector {
    fn is_default(&self) -> bool {
        self.fast_lane.is_none() && self.fit_tiers.is_empty() && self.teams.is_empty()
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    pub cool_off_days: u32,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    pub sla_met_pct: f64,
    pub acceptance_pct: f64,
    pub consecutive_months: u32,
}

/// A validated contract, with its calendars built. Only [`Contract::parse`] makes one.
#[derive(Debug, Clone)]
pub struct Contract {
    pub spec: ContractSpec,
    calendars: BTreeMap<String, BusinessCalendar>,
}

/// Everything wrong with a contract file, one line per problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ContractErrors(pub Vec<String>);

impl fmt::Display for ContractErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl Contract {
    /// Parse and validate a contract file's text.
    pub fn parse(text: &str) -> Result<Contract, ContractErrors> {
        let spec: ContractSpec =
            toml::from_str(text).map_err(|e| ContractErrors(vec![e.to_string()]))?;
        Contract::validate(spec)
    }

    /// The contract shipped in `contract/contract.toml`.
    pub fn default_contract() -> Result<Contract, ContractErrors> {
        Contract::parse(DEFAULT_CONTRACT_TOML)
    }

    pub fn validate(spec: ContractSpec) -> Result<Contract, ContractErrors> {
        let mut problems = Vec::new();
        let calendars = check(&spec, &mut problems);
        if problems.is_empty() {
            Ok(Contract { spec, calendars })
        } else {
            Err(ContractErrors(problems))
        }
    }

    pub fn version(&self) -> &str {
        &self.spec.version
    }

    pub fn pillar_max(&self, pillar: Pillar) -> u32 {
        match pillar {
            Pillar::Fit => self.spec.pillars.fit,
            Pillar::Intent => self.spec.pillars.intent,
            Pillar::Readiness => self.spec.pillars.readiness,
        }
    }

    pub fn signal_type(&self, kind: &str) -> Option<&SignalType> {
        self.spec.signals.get(kind)
    }

    /// The calendar of a team; validation guarantees every team has one.
    pub fn team_calendar(&self, team: &str) -> Option<&BusinessCalendar> {
        let name = &self.spec.teams.get(team)?.calendar;
        self.calendars.get(name)
    }

    pub fn sla_policy(&self, name: &str) -> Option<&SlaPolicy> {
        self.spec.sla.policies.get(name)
    }

    pub fn is_rejection_reason(&self, reason: &str) -> bool {
        self.spec.rejection.reasons.iter().any(|r| r == reason)
    }

    /// The region a country belongs to, if any.
    pub fn region_of(&self, country: &str) -> Option<&str> {
        self.spec
            .regions
            .iter()
            .find(|(_, countries)| countries.iter().any(|c| c.eq_ignore_ascii_case(country)))
            .map(|(name, _)| name.as_str())
    }

    /// First routing rule that matches; validation guarantees a default rule at the end.
    pub fn route(
        &self,
        fast_lane: bool,
        country: Option<&str>,
        fit_tier: u8,
        employees: Option<u32>,
    ) -> Option<&RoutingRule> {
        let region = country.and_then(|c| self.region_of(c));
        self.spec.routing.iter().find(|rule| {
            rule.fast_lane.is_none_or(|f| f == fast_lane)
                && (rule.regions.is_empty()
                    || region.is_some_and(|r| rule.regions.iter().any(|x| x == r)))
                && (rule.fit_tiers.is_empty() || rule.fit_tiers.contains(&fit_tier))
                && rule
                    .min_employees
                    .is_none_or(|min| employees.is_some_and(|e| e >= min))
        })
    }

    /// The SLA policy name for an MQL; validation guarantees a default selector.
    pub fn select_sla_policy(&self, fast_lane: bool, fit_tier: u8, team: &str) -> Option<&str> {
        self.spec
            .sla
            .select
            .iter()
            .find(|s| {
                s.fast_lane.is_none_or(|f| f == fast_lane)
                    && (s.fit_tiers.is_empty() || s.fit_tiers.contains(&fit_tier))
                    && (s.teams.is_empty() || s.teams.iter().any(|t| t == team))
            })
            .map(|s| s.policy.as_str())
    }
}

/// Every cross-key rule. Pushes one message per problem, prefixed with its key path.
fn check(spec: &ContractSpec, problems: &mut Vec<String>) -> BTreeMap<String, BusinessCalendar> {
    let mut p = |msg: String| problems.push(msg);

    if spec.version.trim().is_empty() {
        p("version: must not be empty".into());
    }

    let caps = &spec.pillars;
    for (name, max) in [
        ("fit", caps.fit),
        ("intent", caps.intent),
        ("readiness", caps.readiness),
    ] {
        if max == 0 {
            p(format!("pillars.{name}: must be greater than 0"));
        }
    }
    let cap_of = |pillar: Pillar| match pillar {
        Pillar::Fit => caps.fit,
        Pillar::Intent => caps.intent,
        Pillar::Readiness => caps.readiness,
    };
    if caps.cheap_signal_cap >= spec.actions.act_now_min_intent {
        p(format!(
            "pillars.cheap_signal_cap: {} is not below actions.act_now_min_intent {}, so cheap signals alone could make an MQL",
            caps.cheap_signal_cap, spec.actions.act_now_min_intent
        ));
    }

    // Gates
    let g = &spec.gates;
    if let (Some(min), Some(max)) = (g.min_employees, g.max_employees) {
        if min > max {
            p(format!(
                "gates.min_employees: {min} is above gates.max_employees {max}"
            ));
        }
    }
    for (i, c) in g.serviceable_countries.iter().enumerate() {
        if !is_country_code(c) {
            p(format!(
                "gates.serviceable_countries[{i}]: \"{c}\" is not a two-letter upper-case country code"
            ));
        }
    }
    for (i, s) in g.disqualifying_signals.iter().enumerate() {
        if !spec.signals.contains_key(s) {
            p(format!(
                "gates.disqualifying_signals[{i}]: unknown signal type \"{s}\""
            ));
        }
    }

    // Fit
    let fit_max = caps.fit;
    if spec.fit.abm_target_points > fit_max {
        p(format!(
            "fit.abm_target_points: {} exceeds the fit cap {fit_max}",
            spec.fit.abm_target_points
        ));
    }
    for (i, band) in spec.fit.employee_bands.iter().enumerate() {
        if band.min > band.max {
            p(format!(
                "fit.employee_bands[{i}]: min {} is above max {}",
                band.min, band.max
            ));
        }
        if band.points > fit_max {
            p(format!(
                "fit.employee_bands[{i}].points: {} exceeds the fit cap {fit_max}",
                band.points
            ));
        }
    }
    for (name, points) in &spec.fit.industries {
        if *points > fit_max {
            p(format!(
                "fit.industries.{name}: {points} exceeds the fit cap {fit_max}"
            ));
        }
    }
    for (i, persona) in spec.fit.personas.iter().enumerate() {
        if persona.title_contains.is_empty() {
            p(format!(
                "fit.personas[{i}].title_contains: must not be empty"
            ));
        }
        if persona.points > fit_max {
            p(format!(
                "fit.personas[{i}].points: {} exceeds the fit cap {fit_max}",
                persona.points
            ));
        }
    }

    // Signals
    for (name, s) in &spec.signals {
        let key = format!("signals.{name}");
        if s.pillar == Pillar::Fit {
            p(format!(
                "{key}.pillar: signals score intent or readiness; fit comes from the [fit] rules"
            ));
            continue;
        }
        let pillar_cap = cap_of(s.pillar);
        if s.points > pillar_cap {
            p(format!(
                "{key}.points: {} exceeds the {} cap {pillar_cap}",
                s.points, s.pillar
            ));
        }
        if let Some(strong) = s.strong_points {
            if strong < s.points {
                p(format!(
                    "{key}.strong_points: {strong} is below points {}",
                    s.points
                ));
            }
            if strong > pillar_cap {
                p(format!(
                    "{key}.strong_points: {strong} exceeds the {} cap {pillar_cap}",
                    s.pillar
                ));
            }
            if !s.strong_if_question && s.strong_min_seconds.is_none() {
                p(format!(
                    "{key}.strong_points: set strong_if_question or strong_min_seconds to say when they apply"
                ));
            }
        }
        if let Some(cap) = s.cap {
            if cap > pillar_cap {
                p(format!(
                    "{key}.cap: {cap} exceeds the {} cap {pillar_cap}",
                    s.pillar
                ));
            }
        }
        if let (Some(min), Some(strong)) = (s.min_seconds, s.strong_min_seconds) {
            if min > strong {
                p(format!(
                    "{key}.min_seconds: {min} is above strong_min_seconds {strong}"
                ));
            }
        }
        if !(s.half_life_days.is_finite() && s.half_life_days > 0.0) {
            p(format!(
                "{key}.half_life_days: must be a positive number of days"
            ));
        }
        let (lo, hi) = s.class.recency_bounds();
        if s.recency_days < lo || s.recency_days > hi {
            p(format!(
                "{key}.recency_days: {} is outside the {:?} window {lo}-{hi} days",
                s.recency_days, s.class
            ));
        }
        if s.cheap && s.pillar != Pillar::Intent {
            p(format!(
                "{key}.cheap: only intent signals can be cheap engagement"
            ));
        }
    }

    for (name, n) in &spec.negatives {
        let key = format!("negatives.{name}");
        if n.points >= 0 {
            p(format!("{key}.points: {} must be negative", n.points));
        }
        match (&n.when_only, &n.when_present) {
            (Some(s), None) | (None, Some(s)) => {
                if !spec.signals.contains_key(s) {
                    p(format!("{key}: unknown signal type \"{s}\""));
                }
            }
            _ => p(format!(
                "{key}: set exactly one of when_only or when_present"
            )),
        }
    }

    // Tiers and actions
    let t = &spec.tiers;
    if t.fit_tier1_min <= t.fit_tier2_min {
        p(format!(
            "tiers.fit_tier1_min: {} must be above fit_tier2_min {}",
            t.fit_tier1_min, t.fit_tier2_min
        ));
    }
    if t.fit_tier1_min > fit_max {
        p(format!(
            "tiers.fit_tier1_min: {} exceeds the fit cap {fit_max}",
            t.fit_tier1_min
        ));
    }
    if t.intent_high_min <= t.intent_medium_min {
        p(format!(
            "tiers.intent_high_min: {} must be above intent_medium_min {}",
            t.intent_high_min, t.intent_medium_min
        ));
    }
    if t.intent_high_min > caps.intent {
        p(format!(
            "tiers.intent_high_min: {} exceeds the intent cap {}",
            t.intent_high_min, caps.intent
        ));
    }
    let total_max = caps.fit + caps.intent + caps.readiness;
    if spec.actions.act_now_min_total > total_max {
        p(format!(
            "actions.act_now_min_total: {} can never be reached (pillars add up to {total_max})",
            spec.actions.act_now_min_total
        ));
    }
    if spec.actions.act_now_min_intent > caps.intent {
        p(format!(
            "actions.act_now_min_intent: {} exceeds the intent cap {}",
            spec.actions.act_now_min_intent, caps.intent
        ));
    }

    for (i, s) in spec.fast_lane.signals.iter().enumerate() {
        if !spec.signals.contains_key(s) {
            p(format!(
                "fast_lane.signals[{i}]: unknown signal type \"{s}\""
            ));
        }
    }

    for (region, countries) in &spec.regions {
        for (i, c) in countries.iter().enumerate() {
            if !is_country_code(c) {
                p(format!(
                    "regions.{region}[{i}]: \"{c}\" is not a two-letter upper-case country code"
                ));
            }
        }
    }

    // Routing
    for (i, rule) in spec.routing.iter().enumerate() {
        if !spec.teams.contains_key(&rule.team) {
            p(format!(
                "routing[{i}].team: unknown team \"{}\" (add it under [teams])",
                rule.team
            ));
        }
        for r in &rule.regions {
            if !spec.regions.contains_key(r) {
                p(format!("routing[{i}].regions: unknown region \"{r}\""));
            }
        }
        for tier in &rule.fit_tiers {
            if !(1..=3).contains(tier) {
                p(format!(
                    "routing[{i}].fit_tiers: {tier} is not a fit tier (1, 2 or 3)"
                ));
            }
        }
    }
    if !spec.routing.last().is_some_and(RoutingRule::is_default) {
        p("routing: the last rule must have no conditions, so that every lead has a team".into());
    }

    // Teams and calendars
    for (name, team) in &spec.teams {
        if !spec.calendars.contains_key(&team.calendar) {
            p(format!(
                "teams.{name}.calendar: unknown calendar \"{}\"",
                team.calendar
            ));
        }
    }
    let mut calendars = BTreeMap::new();
    for (name, cal) in &spec.calendars {
        match cal.build() {
            Ok(built) => {
                calendars.insert(name.clone(), built);
            }
            Err(errors) => {
                for e in errors {
                    p(format!("calendars.{name}.{e}"));
                }
            }
        }
    }

    // SLA
    for (name, policy) in &spec.sla.policies {
        let key = format!("sla.policies.{name}");
        if policy.accept_within_minutes == 0 {
            p(format!(
                "{key}.accept_within_minutes: must be greater than 0"
            ));
        }
        if !(policy.warn_at_fraction > 0.0 && policy.warn_at_fraction < 1.0) {
            p(format!(
                "{key}.warn_at_fraction: {} must be between 0 and 1",
                policy.warn_at_fraction
            ));
        }
        if policy.ladder.is_empty() {
            p(format!("{key}.ladder: needs at least one level"));
        }
        let mut previous: Option<&LadderLevel> = None;
        for (i, level) in policy.ladder.iter().enumerate() {
            let lkey = format!("{key}.ladder[{i}]");
            if level.level != i as u32 + 1 {
                p(format!(
                    "{lkey}.level: {} should be {} (levels count up from 1)",
                    level.level,
                    i + 1
                ));
            }
            if let Some(prev) = previous {
                if level.after_breach_minutes <= prev.after_breach_minutes {
                    p(format!(
                        "{lkey}.after_breach_minutes: {} must be later than the previous level's {}",
                        level.after_breach_minutes, prev.after_breach_minutes
                    ));
                }
            }
            if level.audience.trim().is_empty() {
                p(format!("{lkey}.audience: must not be empty"));
            }
            if level.repeat_times > 0 && level.repeat_every_minutes.unwrap_or(0) == 0 {
                p(format!(
                    "{lkey}.repeat_every_minutes: must be greater than 0 when repeat_times is set"
                ));
            }
            if level.final_action.is_some() && i + 1 != policy.ladder.len() {
                p(format!(
                    "{lkey}.final_action: only the last level can end the ladder"
                ));
            }
            previous = Some(level);
        }
    }
    for (i, sel) in spec.sla.select.iter().enumerate() {
        if !spec.sla.policies.contains_key(&sel.policy) {
            p(format!(
                "sla.select[{i}].policy: unknown policy \"{}\"",
                sel.policy
            ));
        }
        for team in &sel.teams {
            if !spec.teams.contains_key(team) {
                p(format!("sla.select[{i}].teams: unknown team \"{team}\""));
            }
        }
    }
    if !spec.sla.select.last().is_some_and(SlaSelector::is_default) {
        p(
            "sla.select: the last selector must have no conditions, so that every MQL has an SLA"
                .into(),
        );
    }

    // Rejection reasons
    if spec.rejection.reasons.is_empty() {
        p("rejection.reasons: must list at least one reason".into());
    }
    let mut seen = BTreeSet::new();
    for (i, r) in spec.rejection.reasons.iter().enumerate() {
        if !r.chars().all(|c| c.is_ascii_lowercase() || c == '_') || r.is_empty() {
            p(format!(
                "rejection.reasons[{i}]: \"{r}\" must be a snake_case code"
            ));
        }
        if !seen.insert(r) {
            p(format!("rejection.reasons[{i}]: \"{r}\" is listed twice"));
        }
    }

    // Targets
    for (name, v) in [
        ("sla_met_pct", spec.targets.sla_met_pct),
        ("acceptance_pct", spec.targets.acceptance_pct),
    ] {
        if !(0.0..=100.0).contains(&v) {
            p(format!("targets.{name}: {v} is not a percentage (0-100)"));
        }
    }
    if spec.targets.consecutive_months == 0 {
        p("targets.consecutive_months: must be at least 1".into());
    }

    calendars
}

fn is_country_code(c: &str) -> bool {
    c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(edit: impl FnOnce(&mut ContractSpec)) -> Result<Contract, ContractErrors> {
        let mut spec: ContractSpec = toml::from_str(DEFAULT_CONTRACT_TOML).unwrap();
        edit(&mut spec);
        Contract::validate(spec)
    }

    #[test]
    fn shipped_contract_is_valid() {
        let c = Contract::default_contract().unwrap();
        assert_eq!(c.version(), "2026.11.1");
        assert_eq!(c.pillar_max(Pillar::Fit), 50);
        assert_eq!(c.pillar_max(Pillar::Intent), 30);
        assert_eq!(c.pillar_max(Pillar::Readiness), 20);
    }

    #[test]
    fn signal_points_above_pillar_cap_name_the_key() {
        let err =
            with(|s| s.signals.get_mut("pricing_page_visit").unwrap().points = 40).unwrap_err();
        assert!(
            err.0.contains(
                &"signals.pricing_page_visit.points: 40 exceeds the intent cap 30".to_string()
            ),
            "{err}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = with(|s| {
            s.signals.get_mut("pricing_page_visit").unwrap().points = 40;
            s.routing[0].team = "nobody".into();
            s.calendars.get_mut("london").unwrap().time_zone = "Mars/Base".into();
            s.sla.policies.get_mut("standard").unwrap().warn_at_fraction = 1.5;
            s.rejection.reasons.push("not_icp".into());
        })
        .unwrap_err();
        let text = err.to_string();
        for expected in [
            "signals.pricing_page_visit.points",
            "routing[0].team: unknown team \"nobody\"",
            "calendars.london.",
            "sla.policies.standard.warn_at_fraction",
            "\"not_icp\" is listed twice",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
        // points 40 also trips "strong_points 15 is below points 40": six in all.
        assert_eq!(err.0.len(), 6, "{text}");
    }

    #[test]
    fn cheap_signals_must_not_reach_the_intent_threshold() {
        let err = with(|s| s.pillars.cheap_signal_cap = 12).unwrap_err();
        assert!(
            err.to_string().contains("pillars.cheap_signal_cap"),
            "{err}"
        );
    }

    #[test]
    fn recency_window_must_fit_the_class() {
        let err =
            with(|s| s.signals.get_mut("demo_request").unwrap().recency_days = 30).unwrap_err();
        assert!(
            err.to_string().contains(
                "signals.demo_request.recency_days: 30 is outside the Inbound window 1-7 days"
            ),
            "{err}"
        );
    }

    #[test]
    fn routing_and_sla_need_a_default() {
        let err = with(|s| {
            s.routing.pop();
            s.sla.select.pop();
        })
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("routing: the last rule"), "{text}");
        assert!(text.contains("sla.select: the last selector"), "{text}");
    }

    #[test]
    fn ladder_levels_must_count_up_and_end_once() {
        let err = with(|s| {
            let ladder = &mut s.sla.policies.get_mut("standard").unwrap().ladder;
            ladder[1].level = 5;
            ladder[0].final_action = Some(FinalAction::ReturnToNurture);
        })
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("sla.policies.standard.ladder[1].level: 5 should be 2"),
            "{text}"
        );
        assert!(
            text.contains("sla.policies.standard.ladder[0].final_action"),
            "{text}"
        );
    }

    #[test]
    fn unknown_keys_and_bad_types_are_rejected_by_the_parser() {
        let bad =
            DEFAULT_CONTRACT_TOML.replace("[pillars]\nfit = 50", "[pillars]\nfit = \"fifty\"");
        let err = Contract::parse(&bad).unwrap_err();
        assert!(err.to_string().contains("fit"), "{err}");
        let unknown = format!("{DEFAULT_CONTRACT_TOML}\n[surprise]\nx = 1\n");
        assert!(Contract::parse(&unknown)
            .unwrap_err()
            .to_string()
            .contains("surprise"));
    }

    #[test]
    fn routing_picks_first_match() {
        let c = Contract::default_contract().unwrap();
        assert_eq!(
            c.route(true, Some("US"), 2, Some(100)).unwrap().team,
            "ae-na"
        );
        assert_eq!(
            c.route(true, Some("DE"), 2, Some(100)).unwrap().team,
            "ae-emea"
        );
        assert_eq!(
            c.route(false, Some("US"), 1, Some(5000)).unwrap().team,
            "sdr-na-enterprise"
        );
        assert_eq!(
            c.route(false, Some("US"), 2, Some(5000)).unwrap().team,
            "sdr-na"
        );
        assert_eq!(
            c.route(false, Some("GB"), 1, None).unwrap().team,
            "sdr-emea"
        );
        assert_eq!(c.route(false, None, 3, None).unwrap().team, "sdr-emea");
        assert_eq!(c.select_sla_policy(true, 3, "ae-na"), Some("fast_lane"));
        assert_eq!(c.select_sla_policy(false, 1, "sdr-na"), Some("tier1"));
        assert_eq!(c.select_sla_policy(false, 2, "sdr-na"), Some("standard"));
    }
}
