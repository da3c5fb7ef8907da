//! The contract's cross-key rules: everything serde cannot check on its own (caps,
//! references between sections, calendars, the SLA ladder). Kept apart from the types so
//! the list of rules reads as one document; each message starts with its key path.

use std::collections::{BTreeMap, BTreeSet};

use super::{ContractSpec, LadderLevel, Pillar, RoutingRule, SlaSelector};
use crate::calendar::BusinessCalendar;

/// Every cross-key rule. Pushes one message per problem, prefixed with its key path.
pub(super) fn check(
    spec: &ContractSpec,
    problems: &mut Vec<String>,
) -> BTreeMap<String, BusinessCalendar> {
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
