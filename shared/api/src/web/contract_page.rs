//! The contract page: the active MQL contract in plain words, so a rep can see what
//! makes an MQL, where it goes and how long they have, without reading TOML.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};

use leadwatch_core::contract::{RoutingRule, SlaPolicy, SlaSelector};
use leadwatch_core::Contract;

use super::layout::{page, Nav, Viewer};
use super::session::{form_token, PageCaller};
use super::{html as html_response, WebApp};
use crate::request::Now;

/// `GET /app/contract`: any signed-in caller may read it.
pub async fn contract_page(
    State(app): State<Arc<WebApp>>,
    Now(now): Now,
    PageCaller(caller): PageCaller,
) -> Response {
    let token = form_token(&app.signer, &caller, now);
    let viewer = Viewer {
        caller: &caller,
        form_token: &token,
    };
    html_response(
        StatusCode::OK,
        page(
            "Contract",
            Some(&viewer),
            Nav::Contract,
            render_contract(&app.contract),
        ),
    )
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

fn tiers(tiers: &[u8]) -> String {
    let names: Vec<String> = tiers.iter().map(u8::to_string).collect();
    format!("fit tier {}", names.join(" or "))
}

fn routing_conditions(r: &RoutingRule) -> String {
    let mut conditions = Vec::new();
    match r.fast_lane {
        Some(true) => conditions.push("fast-lane leads".to_string()),
        Some(false) => conditions.push("leads outside the fast lane".to_string()),
        None => {}
    }
    if !r.regions.is_empty() {
        conditions.push(format!("from {}", r.regions.join(" or ")));
    }
    if !r.fit_tiers.is_empty() {
        conditions.push(tiers(&r.fit_tiers));
    }
    if let Some(m) = r.min_employees {
        conditions.push(format!("with {m}+ employees"));
    }
    if conditions.is_empty() {
        "every other lead".into()
    } else {
        conditions.join(", ")
    }
}

fn selector_conditions(sel: &SlaSelector) -> String {
    let mut when = Vec::new();
    match sel.fast_lane {
        Some(true) => when.push("fast lane".to_string()),
        Some(false) => when.push("not fast lane".to_string()),
        None => {}
    }
    if !sel.fit_tiers.is_empty() {
        when.push(tiers(&sel.fit_tiers));
    }
    if !sel.teams.is_empty() {
        when.push(format!("team {}", sel.teams.join(" or ")));
    }
    if when.is_empty() {
        "otherwise".into()
    } else {
        when.join(", ")
    }
}

fn policy_words(name: &str, p: &SlaPolicy) -> Markup {
    html! {
        li {
            strong { (name) } ": accept or reject within " (p.accept_within_minutes) " business minutes; a warning at "
            (format!("{:.0}", p.warn_at_fraction * 100.0)) " % of that."
            ul {
                @for l in &p.ladder {
                    li {
                        "Level " (l.level) ": " (l.after_breach_minutes) " business minutes after the deadline, tell "
                        (l.audience)
                        @if let Some(every) = l.repeat_every_minutes { ", again every " (every) " minutes, " (l.repeat_times) " more time(s)" }
                        @if l.final_action.is_some() { ", and return the lead to nurture" }
                        "."
                    }
                }
            }
        }
    }
}

pub fn render_contract(c: &Contract) -> Markup {
    let s = &c.spec;
    let g = &s.gates;
    html! {
        h1 { "The MQL contract" }
        p { "Active version " strong #contract-version { (c.version()) } ". Every assessment records the version that judged it." }
        h2 { "Gates: any failure disqualifies" }
        ul {
            li { "Serviceable countries: " (list(&g.serviceable_countries)) "." }
            @if g.min_employees.is_some() || g.max_employees.is_some() {
                li { "Company size: " (g.min_employees.map_or("any".into(), |m| format!("at least {m}"))) " and " (g.max_employees.map_or("no upper limit".into(), |m| format!("at most {m}"))) " employees." }
            }
            li { "Free email domains are not accepted (" (g.free_email_domains.len()) " listed), nor student addresses (" (list(&g.student_email_suffixes)) ")." }
            li { "Competitors (" (list(&g.competitor_domains)) ") and vendors (" (list(&g.vendor_domains)) ") are out." }
            li { "Titles containing " (list(&g.title_disqualifiers)) " are out." }
            li { "Signals that disqualify: " (list(&g.disqualifying_signals)) "." }
        }
        h2 { "Pillars: how a lead scores" }
        p {
            "Fit up to " (s.pillars.fit) ", intent up to " (s.pillars.intent) ", readiness up to " (s.pillars.readiness)
            ". Cheap engagement (opens, clicks, blog views) counts at most " (s.pillars.cheap_signal_cap)
            " intent points, so it can never make an MQL alone."
        }
        p {
            "A lead is an MQL at a total of " (s.actions.act_now_min_total) " with at least " (s.actions.act_now_min_intent)
            " intent points. Fit tier 1 from " (s.tiers.fit_tier1_min) " fit points, tier 2 from " (s.tiers.fit_tier2_min) "."
        }
        p { "Fast lane: " (list(&s.fast_lane.signals)) " within " (s.fast_lane.within_days) " days make an MQL at once when the gates pass." }
        table {
            caption { "Signals" }
            thead { tr { th scope="col" { "Signal" } th scope="col" { "Pillar" } th scope="col" class="num" { "Points" } th scope="col" { "Counts for" } } }
            tbody {
                @for (name, t) in &s.signals {
                    tr {
                        td { (t.label) br; span.muted { (name) } }
                        td { (t.pillar.to_string()) }
                        td.num { (t.points) @if let Some(strong) = t.strong_points { " (" (strong) " when strong)" } }
                        td { (t.recency_days) " days, half-life " (format!("{:.0}", t.half_life_days)) " days" }
                    }
                }
            }
        }
        h2 { "Routing: first matching rule wins" }
        ol {
            @for r in &s.routing {
                li {
                    strong { (r.name) } ": "
                    (routing_conditions(r))
                    " go to " strong { (r.team) }
                    @if let Some(o) = &r.owner { " (owner " (o) ")" }
                    "."
                }
            }
        }
        table {
            caption { "Teams and their business calendars" }
            thead { tr { th scope="col" { "Team" } th scope="col" { "Calendar" } th scope="col" { "Hours" } } }
            tbody {
                @for (team, t) in &s.teams {
                    @let cal = s.calendars.get(&t.calendar);
                    tr {
                        td { (team) }
                        td { (t.calendar) @if let Some(cal) = cal { " (" (cal.time_zone) ")" } }
                        td { @if let Some(cal) = cal { (cal.hours.iter().map(|(d, h)| format!("{d} {h}")).collect::<Vec<_>>().join(", ")) } }
                    }
                }
            }
        }
        h2 { "SLA policies" }
        ul { @for (name, p) in &s.sla.policies { (policy_words(name, p)) } }
        p { "Which policy applies:" }
        ol {
            @for sel in &s.sla.select {
                li {
                    (selector_conditions(sel))
                    ": " strong { (sel.policy) }
                }
            }
        }
        h2 { "Rejections and targets" }
        p { "Reasons sales may give: " (list(&s.rejection.reasons)) ". A rejected lead may qualify again after " (s.rejection.cool_off_days) " days." }
        p {
            "Targets: SLA met at least " (format!("{:.1}", s.targets.sla_met_pct)) " %, acceptance at least "
            (format!("{:.1}", s.targets.acceptance_pct)) " %. Missing one for " (s.targets.consecutive_months)
            " months in a row calls for a contract review."
        }
    }
}
