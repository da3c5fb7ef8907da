//! The lead page: why the lead scored as it did (each pillar with the signals that
//! counted and those that did not, and why), the handoff packet with its opener and
//! next step, the timeline of signals, transitions and alerts, and the actions.
//!
//! Actions are plain HTML forms posted to `POST /app/leads/{id}` and answered with a
//! redirect back to the page (post/redirect/get), so a reload never posts twice. They run
//! the same disposition command as the JSON routes, for the signed-in caller, who must be
//! on the owning team; the form token proves the post came from this page.
//!
//! The page also opens from the signed link in an alert without a sign-in, read only:
//! the link shows the lead, it cannot act on it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use serde_json::json;

use leadwatch_adapters::store::Change;
use leadwatch_core::access::Caller;
use leadwatch_core::assess::Assessment;
use leadwatch_core::commands::disposition::{dispose, Action, Refused};
use leadwatch_core::contract::Pillar;
use leadwatch_core::lifecycle::Status;
use leadwatch_core::queue_view::Countdown;
use leadwatch_core::signed::LEAD_LINK;
use leadwatch_core::state::{AuditEvent, LeadState};
use leadwatch_core::Contract;

use super::input::{page_query, read_form, Unknown};
use super::layout::{page, when, Nav, Viewer};
use super::session::{check_form, form_token, to_sign_in, MaybeCaller, PageCaller};
use super::{html as html_response, see_other, PageError, WebApp};
use crate::disposition::parse_disposition;
use crate::request::{LeadId, LimitedBody, Now};

/// `GET /app/leads/{id}`.
pub async fn lead_page(
    State(app): State<Arc<WebApp>>,
    Now(now): Now,
    MaybeCaller(caller): MaybeCaller,
    lead: LeadId,
    req: axum::http::request::Parts,
) -> Result<Response, PageError> {
    // `link`: the signed token of an alert's link; `done`: the action just done
    // (post/redirect/get). Other parameters are ignored: the page opens from links in
    // mail and chat, which some clients decorate.
    let query = page_query(&req.uri, &["link", "done"], Unknown::Ignore)?;
    let link_until = match (&caller, query.get("link")) {
        (None, Some(token)) => app
            .signer
            .verify(LEAD_LINK, &lead.0, token, now)
            .map_err(|e| {
                PageError::new(
                    StatusCode::FORBIDDEN,
                    "Link not valid",
                    format!("this link to the lead cannot be used ({e}); sign in to see the lead"),
                )
            })
            .map(Some)?,
        (None, None) => return Ok(to_sign_in(&req)),
        (Some(_), _) => None,
    };
    if !lead.is_plausible() {
        return Err(PageError::not_found("lead"));
    }
    let state = app
        .store
        .get_lead(&lead.0)
        .await?
        .ok_or_else(|| PageError::not_found("lead"))?;
    if let Some(c) = &caller {
        c.may_read_lead(state.team.as_deref())
            .map_err(PageError::forbidden)?;
    }
    let done = query.get("done").and_then(Action::parse);
    render(&app, &state, caller.as_ref(), link_until, done, None, now).await
}

/// The lead page as a response, with an optional problem from a refused action.
async fn render(
    app: &WebApp,
    state: &LeadState,
    caller: Option<&Caller>,
    link_until: Option<DateTime<Utc>>,
    done: Option<Action>,
    problem: Option<(StatusCode, String)>,
    now: DateTime<Utc>,
) -> Result<Response, PageError> {
    let history = app.store.history(&state.lead_id).await?;
    let token = caller.map(|c| form_token(&app.signer, c, now));
    let viewer = caller.zip(token.as_deref()).map(|(caller, t)| Viewer {
        caller,
        form_token: t,
    });
    let status = problem.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let body = render_lead(&LeadView {
        state,
        history: &history,
        contract: &app.contract,
        viewer: viewer.as_ref(),
        link_until,
        done,
        problem: problem.as_ref().map(|(_, m)| m.as_str()),
        now,
    });
    let title = state
        .profile
        .full_name()
        .unwrap_or_else(|| state.lead_id.clone());
    Ok(html_response(
        status,
        page(&title, viewer.as_ref(), Nav::None, body),
    ))
}

/// Everything the lead page shows.
pub struct LeadView<'a> {
    pub state: &'a LeadState,
    pub history: &'a [AuditEvent],
    pub contract: &'a Contract,
    pub viewer: Option<&'a Viewer<'a>>,
    pub link_until: Option<DateTime<Utc>>,
    pub done: Option<Action>,
    pub problem: Option<&'a str>,
    pub now: DateTime<Utc>,
}

fn past_tense(action: Action) -> &'static str {
    match action {
        Action::Accept => "Accepted",
        Action::Reject => "Rejected",
        Action::Qualify => "Qualified",
        Action::Touch => "Touch logged",
    }
}

pub fn render_lead(v: &LeadView<'_>) -> Markup {
    let s = v.state;
    let name = s.profile.full_name().unwrap_or_else(|| s.lead_id.clone());
    let countdown = match (s.status, s.sla.as_ref(), s.team.as_deref()) {
        (Status::Mql, Some(sla), Some(team)) => v
            .contract
            .team_calendar(team)
            .map(|cal| Countdown::at(cal, v.now, sla.due_at)),
        _ => None,
    };
    html! {
        @if let Some(until) = v.link_until {
            p.banner role="note" {
                "Opened from an alert link, valid until " (when(until)) ". "
                "The link shows the lead; to act on it, "
                a href={ "/app/signin?next=" (super::query_value(&format!("/app/leads/{}", s.lead_id))) } { "sign in" }
                " as a member of its team."
            }
        }
        @if let Some(done) = v.done {
            p.banner.done role="status" #done { (past_tense(done)) "." }
        }
        @if let Some(problem) = v.problem {
            p.banner.error role="alert" #problem { (problem) }
        }
        h1 { (name) }
        p {
            (s.profile.title.as_deref().unwrap_or("")) " "
            @if let Some(c) = &s.profile.company { "at " strong { (c) } }
            " · " (s.profile.email)
        }
        dl.plain {
            dt { "State" } dd #lead-status data-status=(s.status.as_str()) { (s.status.as_str().to_uppercase()) }
            dt { "Team" } dd { (s.team.as_deref().unwrap_or("none yet")) }
            @if let Some(c) = countdown {
                dt { "SLA" } dd { span.countdown { (c.label()) } " (business time)" }
            }
            @if let Some(by) = &s.accepted_by { dt { "Accepted by" } dd { (by) } }
            @if let Some(r) = &s.rejection {
                dt { "Rejected" } dd { (r.reason) " by " (r.by) @if let Some(n) = &r.note { ": " (n) } }
            }
        }
        @if let Some(viewer) = v.viewer { (actions(v, viewer)) }
        @if let Some(a) = &s.assessment { (assessment(a, v.contract)) }
        @if let Some(p) = &s.packet {
            h2 { "Handoff packet" }
            dl.plain {
                dt { "Context" } dd { (p.context) }
                dt { "Opener" } dd #opener { (p.opener) }
                dt { "Next step" } dd #next-step { (p.next_step) }
                dt { "Routing" } dd { (p.routing_note) }
            }
            @if !p.evidence.is_empty() {
                table {
                    caption { "Evidence" }
                    thead { tr { th scope="col" { "When" } th scope="col" { "Signal" } th scope="col" class="num" { "Points" } th scope="col" { "Detail" } } }
                    tbody {
                        @for e in &p.evidence {
                            tr { td { (when(e.at)) } td { (e.label) } td.num { (format!("{:+.1}", e.points)) } td { (e.detail.as_deref().unwrap_or("")) } }
                        }
                    }
                }
            }
        }
        h2 { "Timeline" }
        @if v.history.is_empty() { p.muted { "No history recorded." } }
        ol.timeline #timeline {
            @for e in v.history { (timeline_entry(e)) }
        }
    }
}

fn actions(v: &LeadView<'_>, viewer: &Viewer<'_>) -> Markup {
    let s = v.state;
    if let Err(denied) = viewer.caller.may_dispose(s.team.as_deref()) {
        return html! { p.muted { "You can read this lead but not act on it: " (denied.reason) "." } };
    }
    let can = |a: Action| match a {
        Action::Accept => s.status == Status::Mql,
        Action::Reject => matches!(s.status, Status::Mql | Status::Sal),
        Action::Qualify => s.status == Status::Sal,
        Action::Touch => matches!(s.status, Status::Mql | Status::Sal | Status::Sql),
    };
    if !Action::ALL.into_iter().any(can) {
        return html! {};
    }
    let target = format!("/app/leads/{}", s.lead_id);
    let simple = |a: Action, label: &str, hint: &str| {
        html! {
            form method="post" action=(target) {
                input type="hidden" name="csrf" value=(viewer.form_token);
                input type="hidden" name="action" value=(a.as_str());
                p.muted { (hint) }
                button type="submit" #{ "do-" (a.as_str()) } { (label) }
            }
        }
    };
    html! {
        h2 { "Actions" }
        div.actions {
            @if can(Action::Accept) { (simple(Action::Accept, "Accept", "Take the lead: it becomes a SAL.")) }
            @if can(Action::Qualify) { (simple(Action::Qualify, "Qualify", "Confirmed opportunity: SAL to SQL.")) }
            @if can(Action::Touch) { (simple(Action::Touch, "Log a touch", "Record a call, email or meeting.")) }
            @if can(Action::Reject) {
                form method="post" action=(target) {
                    input type="hidden" name="csrf" value=(viewer.form_token);
                    input type="hidden" name="action" value="reject";
                    div.field {
                        label for="reason" { "Reason" }
                        select #reason name="reason" required {
                            option value="" { "Choose a reason" }
                            @for r in &v.contract.spec.rejection.reasons {
                                option value=(r) { (r.replace('_', " ")) }
                            }
                        }
                    }
                    div.field {
                        label for="note" { "Note (optional)" }
                        textarea #note name="note" rows="2" maxlength=(crate::disposition::NOTE_MAX_CHARS) {}
                    }
                    button.danger type="submit" #do-reject { "Reject" }
                }
            }
        }
    }
}

fn assessment(a: &Assessment, contract: &Contract) -> Markup {
    html! {
        h2 { "Why: the assessment" }
        p { strong { (a.mql_reason) } }
        p.muted {
            "Total " (format!("{:.1}", a.total)) ", fit tier " (a.fit_tier) ", intent " (a.intent_tier.as_str())
            @if a.fast_lane { ", fast lane" }
            ". Contract " (a.contract_version) ", assessed " (when(a.assessed_at)) "."
        }
        @if a.gates_passed {
            p { "Gates: all passed." }
        } @else {
            ul { @for g in &a.failed_gates { li { "Gate failed: " strong { (g.gate) } " (" (g.detail) ")" } } }
        }
        div.grid {
            @for pillar in [Pillar::Fit, Pillar::Intent, Pillar::Readiness] {
                @let score = a.pillar(pillar);
                @let counted: Vec<_> = a.reasons.iter().filter(|r| r.pillar == pillar).collect();
                @let ignored: Vec<_> = a.ignored.iter()
                    .filter(|i| contract.signal_type(&i.signal).is_some_and(|t| t.pillar == pillar))
                    .collect();
                section.pillar data-pillar=(pillar.to_string()) {
                    h3 { (pillar.to_string()) ": " (format!("{:.1}", score.points)) " of " (score.max) }
                    @if counted.is_empty() { p.muted { "Nothing counted." } }
                    ul {
                        @for r in &counted {
                            li {
                                (format!("{:+.1}", r.points)) " " (r.label)
                                @if let Some(at) = r.at { span.muted { " · " (when(at)) } }
                                @if let Some(d) = &r.detail { " · “" (d) "”" }
                            }
                        }
                    }
                    @if !ignored.is_empty() {
                        p { strong { "Not counted" } }
                        ul { @for i in &ignored { li { (i.signal) " (" (when(i.at)) "): " (i.why) } } }
                    }
                }
            }
        }
        @let other: Vec<_> = a.ignored.iter().filter(|i| contract.signal_type(&i.signal).is_none()).collect();
        @if !other.is_empty() {
            p { strong { "Not counted (no pillar)" } }
            ul { @for i in &other { li { (i.signal) " (" (when(i.at)) "): " (i.why) } } }
        }
    }
}

fn timeline_entry(e: &AuditEvent) -> Markup {
    let kind = match e.kind.as_str() {
        "signal" => "Signal",
        "alert" => "Alert sent",
        "touch" => "Touch",
        "note" => "Note",
        _ => "Transition",
    };
    html! {
        li data-kind=(e.kind) {
            span.kind { (kind) }
            (when(e.at)) " · " (e.kind.replace('_', " "))
            @if let (Some(from), Some(to)) = (e.from, e.to) { " · " (from.as_str()) " → " (to.as_str()) }
            @if let Some(level) = &e.level { " · level " (level) }
            @if let Some(by) = &e.by { " · by " (by) }
            @if let Some(r) = &e.reason { " · " (r) }
            @if let Some(d) = &e.detail { " · " span.muted { (d) } }
            @if let Some(m) = e.business_minutes { " · " (m) " business min" }
        }
    }
}

/// `POST /app/leads/{id}`: run an action for the signed-in caller, then back to the
/// page (303), or the page again with the problem.
pub async fn lead_action(
    State(app): State<Arc<WebApp>>,
    Now(now): Now,
    PageCaller(caller): PageCaller,
    lead: LeadId,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Result<Response, PageError> {
    // Read strictly (see `input`): a repeated `action` must not pick one at random, and
    // a note with a broken escape must be refused, not stored with replacement
    // characters.
    let form = read_form(&headers, &body, &["action", "csrf", "reason", "note"])?;
    check_form(&app.signer, &caller, &headers, form.get("csrf"), now)?;
    let action = form.get("action").and_then(Action::parse).ok_or_else(|| {
        PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unknown action",
            "action: choose accept, reject, qualify or touch",
        )
    })?;
    if !lead.is_plausible() {
        return Err(PageError::not_found("lead"));
    }
    let lead_id = lead.0.as_str();
    let fields = match action {
        Action::Reject => json!({
            "reason": form.get("reason").map(str::trim).filter(|r| !r.is_empty()),
            "note": form.get("note").map(str::trim).filter(|n| !n.is_empty()),
        }),
        _ => json!({}),
    };
    let fields: serde_json::Map<_, _> = fields
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let problem = match parse_disposition(
        action,
        serde_json::Value::Object(fields).to_string().as_bytes(),
        &app.contract,
        &caller,
    ) {
        Err(e) => Some((StatusCode::UNPROCESSABLE_ENTITY, e.message)),
        Ok(disposition) => {
            let mut seen: Option<Status> = None;
            let result = app
                .store
                .update_lead(lead_id, |current| {
                    let first =
                        *seen.get_or_insert(current.as_ref().map_or(Status::Lead, |s| s.status));
                    let outcome = dispose(
                        current,
                        action,
                        &disposition,
                        &caller,
                        first,
                        &app.contract,
                        now,
                    )?;
                    Ok::<_, Refused>(Some(Change {
                        outcome,
                        idempotency: None,
                    }))
                })
                .await?;
            match result {
                Ok(saved) => {
                    app.store.settle(saved);
                    return Ok(see_other(&format!(
                        "/app/leads/{lead_id}?done={}",
                        action.as_str()
                    )));
                }
                Err(Refused::UnknownLead) => return Err(PageError::not_found("lead")),
                Err(Refused::Denied(denied)) => return Err(PageError::forbidden(denied)),
                Err(refused) => Some((StatusCode::CONFLICT, format!("Not done: {refused}."))),
            }
        }
    };
    let state = app
        .store
        .get_lead(lead_id)
        .await?
        .ok_or_else(|| PageError::not_found("lead"))?;
    caller
        .may_read_lead(state.team.as_deref())
        .map_err(PageError::forbidden)?;
    render(&app, &state, Some(&caller), None, None, problem, now)
        .await
        .map(IntoResponse::into_response)
}
