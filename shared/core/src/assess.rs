//! Assessment: given a lead, its signals, the contract and a point in time, decide
//! whether the lead is an MQL, and explain the decision point by point.
//!
//! The function is pure: `now` is a parameter, so the same inputs always give the same
//! assessment, which is what makes backtests and replays possible.
//!
//! The behavioural scoring (decay, caps, negatives, tiers, the decision) is here; the
//! gates and fit points are in the `profile` submodule and the one-line `mql_reason` in
//! `mql_reason`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::contract::{Contract, Pillar, SignalType};
use super::lead::{LeadProfile, Signal};

mod mql_reason;
mod profile;

use mql_reason::explain;
use profile::{fit_points, gates};

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
    let mut title_buf = [0; 64];
    let title_lower = lead
        .title
        .as_deref()
        .map(|title| profile::lowercase(title, &mut title_buf));
    let title_lower = title_lower.as_deref();
    let failed_gates = gates(lead, title_lower, signals, contract, now);
    let mut ignored = Vec::new();

    // Behavioural pillars: decay each live signal, then cap per type (newest first, so a
    // cap keeps the freshest evidence), then cap cheap engagement as a group.
    let mut live: Vec<Live> = Vec::with_capacity(signals.len());
    for (index, signal) in signals.iter().enumerate() {
        let Some(kind_index) = contract.signal_index(&signal.kind) else {
            ignored.push(Ignored {
                signal: signal.kind.clone(),
                at: signal.at,
                why: "not a signal type of this contract".into(),
            });
            continue;
        };
        let (_, kind) = contract.signal_type_at(kind_index);
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
            // "{age} days old, outside its {recency}-day recency window"
            let mut why = String::with_capacity(64);
            push_u64(&mut why, age_days as u64);
            why.push_str(" days old, outside its ");
            push_u64(&mut why, kind.recency_days.into());
            why.push_str("-day recency window");
            ignored.push(Ignored {
                signal: signal.kind.clone(),
                at: signal.at,
                why,
            });
            continue;
        }
        if let (Some(min), Some(seen)) = (kind.min_seconds, signal.seconds_on_page) {
            if seen < min {
                // "{seen} s on page, below the {min} s threshold"
                let mut why = String::with_capacity(48);
                push_u64(&mut why, seen.into());
                why.push_str(" s on page, below the ");
                push_u64(&mut why, min.into());
                why.push_str(" s threshold");
                ignored.push(Ignored {
                    signal: signal.kind.clone(),
                    at: signal.at,
                    why,
                });
                continue;
            }
        }
        let base = base_points(kind, signal);
        let decayed = round2(base * 0.5_f64.powf(age_days / kind.half_life_days));
        live.push(Live {
            kind,
            kind_index,
            signal,
            index,
            decayed,
            given: 0.0,
        });
    }

    // By type in the contract's (alphabetical) order, as the cheap cap has always been
    // spent, and within a type newest first, ties in the order they came, so caps keep
    // the freshest evidence. The key is total (`index` is unique), so any sort gives this
    // one order; reversing first puts the usual input, oldest first, nearly in order.
    live.reverse();
    live.sort_unstable_by_key(|item| {
        (
            item.kind_index,
            std::cmp::Reverse(item.signal.at),
            item.index,
        )
    });
    // Indexed by `slot(pillar)`; a fixed array, not a map, since there are three pillars.
    let mut behavioural = [0.0_f64; 3];
    let mut cheap_left = f64::from(spec.pillars.cheap_signal_cap);
    let mut type_left = f64::INFINITY;
    let mut current_kind = None;
    let mut giving = 0;
    for item in &mut live {
        let kind = item.kind;
        if current_kind != Some(item.kind_index) {
            current_kind = Some(item.kind_index);
            type_left = kind.cap.map_or(f64::INFINITY, f64::from);
        }
        let mut given = item.decayed.min(type_left);
        if kind.cheap {
            given = given.min(cheap_left);
            cheap_left -= given;
        }
        type_left -= given;
        item.given = given;
        if !item.gives() {
            continue;
        }
        behavioural[slot(kind.pillar)] += given;
        giving += 1;
    }

    // At most four fit rules, one reason per signal that gives points, and the negatives:
    // sized once, now that the signals that give are known.
    let mut reasons = Staged::new(4 + giving + spec.negatives.len());
    let fit_raw = fit_points(lead, title_lower, contract, &mut reasons);
    let fit_reasons = reasons.len();
    for item in &live {
        if !item.gives() {
            continue;
        }
        let (kind_name, kind) = (contract.signal_type_at(item.kind_index).0, item.kind);
        reasons.push(Reason {
            pillar: kind.pillar,
            source: kind_name.to_string(),
            label: kind.label.clone(),
            points: round2(item.given),
            at: Some(item.signal.at),
            detail: item.signal.detail.clone(),
        });
    }

    // Live signals are of known types, so comparing type indices is comparing names.
    let triggers = &contract.lookups().negative_triggers;
    for ((name, negative), &trigger) in spec.negatives.iter().zip(triggers) {
        let is_trigger = |item: &Live| Some(item.kind_index) == trigger;
        let applies = match (&negative.when_only, &negative.when_present) {
            (Some(_), _) => {
                let mut of_pillar = live
                    .iter()
                    .filter(|item| item.kind.pillar == negative.pillar)
                    .peekable();
                of_pillar.peek().is_some() && of_pillar.all(is_trigger)
            }
            (None, Some(_)) => live.iter().any(is_trigger),
            (None, None) => false,
        };
        if applies {
            behavioural[slot(negative.pillar)] += f64::from(negative.points);
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
    let intent = clamp(Pillar::Intent, behavioural[slot(Pillar::Intent)]);
    let readiness = clamp(Pillar::Readiness, behavioural[slot(Pillar::Readiness)]);
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
        && spec
            .fast_lane
            .signals
            .iter()
            .zip(&contract.lookups().fast_lane)
            .any(|(fl, &fl_index)| {
                per_type_live(
                    signals,
                    fl,
                    fl_index,
                    now,
                    fast_lane_window,
                    options.signals_since,
                    &live,
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

    let reasons = reasons.into_vec();
    // The behavioural reasons follow the fit ones, one for each live signal that gives.
    let label_ids = &contract.lookups().label_ids;
    let evidence = live
        .iter()
        .filter(|item| item.gives())
        .map(|item| label_ids[item.kind_index])
        .zip(&reasons[fit_reasons..]);
    let mql_reason = explain(lead, evidence, &failed_gates, now);
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

/// `kind_index` is `kind`'s index in the contract's types: live signals are of known
/// types, so comparing indices is comparing their names.
fn per_type_live(
    signals: &[Signal],
    kind: &str,
    kind_index: Option<usize>,
    now: DateTime<Utc>,
    window: chrono::Duration,
    since: Option<DateTime<Utc>>,
    live: &[Live],
) -> bool {
    live.iter().any(|item| Some(item.kind_index) == kind_index)
        && signals.iter().any(|s| {
            s.kind == kind && s.at <= now && now - s.at <= window && since.is_none_or(|t| s.at > t)
        })
}

/// A signal that counts (known type, in its window, long enough on the page), with its
/// type and its points after decay, before caps.
struct Live<'a> {
    kind: &'a SignalType,
    /// Position of `kind` in the contract's signal types.
    kind_index: usize,
    signal: &'a Signal,
    /// Position in the lead's signals.
    index: usize,
    decayed: f64,
    /// Points after the caps; the signal is a reason when this is above zero.
    given: f64,
}

/// The reasons, kept on the stack while they are made and moved into their `Vec` (of the
/// exact size) at the end.
///
/// Why: glibc's malloc, asked for a large block (over 1 KiB: a `Vec<Reason>` of more than
/// ten) while freed small blocks wait in its fast bins, first merges all of those, and
/// the strings asked for next are carved out of the merged blocks the slow way. That is
/// the case on every assessment after the first in a process (a backtest, a warm Lambda
/// rescoring leads): the last result's strings were just freed. Asking for the large
/// block after the strings lets them reuse the freed blocks directly and leaves little
/// to merge; the bench runs about 13 % faster for it.
struct Staged {
    inline: [Option<Reason>; STAGED],
    len: usize,
    /// Used instead when there may be more reasons than `STAGED`.
    heap: Option<Vec<Reason>>,
}

const STAGED: usize = 24;

impl Staged {
    fn new(most: usize) -> Staged {
        Staged {
            inline: Default::default(),
            len: 0,
            heap: (most > STAGED).then(|| Vec::with_capacity(most)),
        }
    }

    fn push(&mut self, reason: Reason) {
        match &mut self.heap {
            Some(heap) => heap.push(reason),
            None => {
                if let Some(slot) = self.inline.get_mut(self.len) {
                    *slot = Some(reason);
                    self.len += 1;
                } else {
                    let mut heap: Vec<Reason> =
                        self.inline.iter_mut().filter_map(Option::take).collect();
                    heap.push(reason);
                    self.heap = Some(heap);
                }
            }
        }
    }

    fn len(&self) -> usize {
        self.heap.as_ref().map_or(self.len, Vec::len)
    }

    fn into_vec(mut self) -> Vec<Reason> {
        match self.heap {
            Some(heap) => heap,
            None => {
                let mut reasons = Vec::with_capacity(self.len);
                reasons.extend(self.inline[..self.len].iter_mut().filter_map(Option::take));
                reasons
            }
        }
    }
}

impl Live<'_> {
    /// The signal is a reason: its points after the caps are not at or below zero (NaN
    /// would give, as it always has).
    fn gives(&self) -> bool {
        self.given > 0.0 || self.given.is_nan()
    }
}

/// A pillar's place in the per-pillar sums.
fn slot(pillar: Pillar) -> usize {
    match pillar {
        Pillar::Fit => 0,
        Pillar::Intent => 1,
        Pillar::Readiness => 2,
    }
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
    round_half_away(x * 100.0) / 100.0
}

/// `x.round()`, exactly, without the call: on x86-64 without SSE4.1 `f64::round` is a
/// library function, and an assessment rounds a few dozen times. Below 2^52 in
/// magnitude truncating through `i64` is exact and so is `x - t`, the fractional part;
/// from 2^52 on every float is whole, and NaN and the infinities round to themselves.
fn round_half_away(x: f64) -> f64 {
    if x.abs() < 4_503_599_627_370_496.0 {
        let t = x as i64 as f64;
        let fraction = x - t;
        let r = if fraction >= 0.5 {
            t + 1.0
        } else if fraction <= -0.5 {
            t - 1.0
        } else {
            t
        };
        // The sign of a zero result (-0.3 rounds to -0.0) is the sign of `x`.
        r.copysign(x)
    } else {
        x
    }
}

/// `write!(out, "{n}")` without the formatting machinery, for the few numbers an
/// assessment writes into its text.
fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0_u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &digit in &digits[start..] {
        out.push(char::from(digit));
    }
}

/// [`push_u64`] for a signed number.
fn push_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_u64(out, n.unsigned_abs());
}

#[cfg(test)]
mod tests;
