//! The MQL contract: a versioned TOML file that marketing and sales sign off together.
//!
//! Loading happens in two steps. Serde turns the text into the raw structs below (a
//! syntax or type error stops there, with toml's line and key). Then [`Contract::validate`]
//! checks every rule that spans keys and reports *all* problems at once, each starting
//! with its key path, so a reviewer fixes the file in one pass. The types and accessors
//! are here; the rules are in the `validate` submodule.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::calendar::{BusinessCalendar, CalendarSpec};

pub mod delivery;
pub mod intake;
mod validate;

pub use intake::{Form, Intake, Source};
use validate::check;

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
    /// Where the notifier sends alerts (see [`delivery`]); none when left out.
    #[serde(default)]
    pub delivery: delivery::Delivery,
    /// Who may send what: public forms and signed sources (see [`intake`]).
    #[serde(default)]
    pub intake: Intake,
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
    /// `spec.signals` in the map's (alphabetical) order, built with the calendars. Every
    /// assessment looks each of a lead's signals up by name: a map lookup compares the
    /// name with several keys, while a scan of this list compares lengths first and the
    /// bytes of the one or two names of the same length.
    signal_kinds: Vec<(String, SignalType)>,
    /// What every assessment would otherwise work out again from `spec` (see [`Lookups`]).
    lookups: Lookups,
}

/// Per-contract tables for the assessment, built once with the contract: each assessment
/// used to compare a lead's signal names with every type's name, format the same band
/// labels and match negatives and the fast lane by name again.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lookups {
    /// The key of each name of `signal_kinds`, in the same order.
    pub(crate) kind_keys: Vec<NameKey>,
    /// `fit.employee_bands[i]`'s label, "200-2000 employees".
    pub(crate) band_labels: Vec<String>,
    /// For each type of `signal_kinds`, the index of the first type with the same label:
    /// `mql_reason` groups evidence by label, and comparing these compares the labels.
    pub(crate) label_ids: Vec<usize>,
    /// `fast_lane.signals`: the index of each in `signal_kinds` (validation guarantees one).
    pub(crate) fast_lane: Vec<Option<usize>>,
    /// `spec.negatives` in map order: the index in `signal_kinds` of its `when_only` or
    /// `when_present` type.
    pub(crate) negative_triggers: Vec<Option<usize>>,
}

/// A name's length and first eight bytes: two names with different keys differ, so a
/// lookup compares whole names only when the keys are equal (nearly always the match),
/// and not even then for names of up to eight bytes, which the key holds whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameKey {
    len: usize,
    prefix: u64,
}

impl NameKey {
    fn of(name: &str) -> NameKey {
        let bytes = name.as_bytes();
        let prefix = match bytes.first_chunk::<8>() {
            Some(first) => u64::from_le_bytes(*first),
            None => bytes
                .iter()
                .rev()
                .fold(0, |prefix, &b| prefix << 8 | u64::from(b)),
        };
        NameKey {
            len: bytes.len(),
            prefix,
        }
    }

    /// `name` is the name this key was made of.
    fn matches(self, key: NameKey, mine: &str, name: &str) -> bool {
        self == key && (self.len <= 8 || mine == name)
    }
}

impl Lookups {
    fn build(spec: &ContractSpec, signal_kinds: &[(String, SignalType)]) -> Lookups {
        let index_of = |name: &str| signal_kinds.iter().position(|(n, _)| n == name);
        Lookups {
            kind_keys: signal_kinds.iter().map(|(n, _)| NameKey::of(n)).collect(),
            band_labels: spec
                .fit
                .employee_bands
                .iter()
                .map(|b| format!("{}-{} employees", b.min, b.max))
                .collect(),
            label_ids: signal_kinds
                .iter()
                .enumerate()
                .map(|(i, (_, t))| {
                    signal_kinds
                        .iter()
                        .position(|(_, other)| other.label == t.label)
                        .unwrap_or(i)
                })
                .collect(),
            fast_lane: spec.fast_lane.signals.iter().map(|n| index_of(n)).collect(),
            negative_triggers: spec
                .negatives
                .values()
                .map(|n| {
                    n.when_only
                        .as_deref()
                        .or(n.when_present.as_deref())
                        .and_then(index_of)
                })
                .collect(),
        }
    }
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
        delivery::check(&spec, &mut |problem| problems.push(problem));
        intake::check(&spec, &mut problems);
        if problems.is_empty() {
            let signal_kinds: Vec<(String, SignalType)> = spec
                .signals
                .iter()
                .map(|(name, kind)| (name.clone(), kind.clone()))
                .collect();
            let lookups = Lookups::build(&spec, &signal_kinds);
            Ok(Contract {
                spec,
                calendars,
                signal_kinds,
                lookups,
            })
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
        self.signal_index(kind).map(|i| &self.signal_kinds[i].1)
    }

    /// The position of type `kind` in [`Contract::signal_types`].
    pub(crate) fn signal_index(&self, kind: &str) -> Option<usize> {
        let key = NameKey::of(kind);
        self.lookups
            .kind_keys
            .iter()
            .zip(&self.signal_kinds)
            .position(|(k, (name, _))| k.matches(key, name, kind))
    }

    /// The type at `index` of [`Contract::signal_types`], with its name.
    pub(crate) fn signal_type_at(&self, index: usize) -> (&str, &SignalType) {
        let (name, signal_type) = &self.signal_kinds[index];
        (name, signal_type)
    }

    pub(crate) fn lookups(&self) -> &Lookups {
        &self.lookups
    }

    /// The signal types by name, in name order (the order of `spec.signals`).
    pub fn signal_types(&self) -> impl Iterator<Item = (&str, &SignalType)> {
        self.signal_kinds
            .iter()
            .map(|(name, signal_type)| (name.as_str(), signal_type))
    }

    /// The calendar of a team; validation guarantees every team has one.
    pub fn team_calendar(&self, team: &str) -> Option<&BusinessCalendar> {
        let name = &self.spec.teams.get(team)?.calendar;
        self.calendars.get(name)
    }

    pub fn sla_policy(&self, name: &str) -> Option<&SlaPolicy> {
        self.spec.sla.policies.get(name)
    }

    /// The public form `id` of `[intake.forms]`.
    pub fn form(&self, id: &str) -> Option<&Form> {
        self.spec.intake.forms.get(id)
    }

    /// The signed source `name` of `[intake.sources]`.
    pub fn source(&self, name: &str) -> Option<&Source> {
        self.spec.intake.sources.get(name)
    }

    /// Whether `kind` is a sales-side signal (`intake.sales_signals`).
    pub fn is_sales_signal(&self, kind: &str) -> bool {
        self.spec.intake.sales_signals.iter().any(|s| s == kind)
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

#[cfg(test)]
mod tests;
