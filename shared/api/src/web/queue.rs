//! My queue: the open MQLs of the caller's teams, oldest first, each with the business
//! time left on its SLA counting down in the browser (see `assets/app.js`), its fit tier,
//! fast lane, the one-line reason and the owner. Overdue rows stand out in colour and
//! in words ("overdue by ..."), not colour alone.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use chrono::{DateTime, Utc};
use leadwatch_core::access::Caller;
use leadwatch_core::commands::disposition::Action;
use leadwatch_core::queue_view::{queue_rows, QueueRow};
use leadwatch_core::state::LeadState;
use leadwatch_core::Contract;
use maud::{html, Markup};

use super::input::{page_query, Unknown};
use super::layout::{page, when, Nav, Viewer};
use super::session::{form_token, PageCaller};
use super::{html as html_response, PageError, WebApp};
use crate::request::Now;

/// `GET /app`.
pub async fn queue_page(
    State(app): State<Arc<WebApp>>,
    Now(now): Now,
    PageCaller(caller): PageCaller,
    uri: Uri,
) -> Result<Response, PageError> {
    // `team`: one team (ops and admins, who are on no team, pick one); `done`: a lead
    // just decided (post/redirect/get).
    let query = page_query(&uri, &["team", "done"], Unknown::Refuse)?;
    let teams = queue_teams(&caller, query.get("team"), &app.contract)?;
    let mut leads = Vec::new();
    for team in &teams {
        leads.extend(app.store.team_queue(team).await?);
    }
    let token = form_token(&app.signer, &caller, now);
    let viewer = Viewer {
        caller: &caller,
        form_token: &token,
    };
    // Only an action is ever said to be done: any other text in the link is not
    // echoed into the page (someone else's words in our banner).
    let done = query.get("done").and_then(Action::parse).map(|a| match a {
        Action::Accept => "accepted",
        Action::Reject => "rejected",
        Action::Qualify => "qualified",
        Action::Touch => "touched",
    });
    let body = render_queue(&leads, &teams, &app.contract, now, done, &caller);
    Ok(html_response(
        StatusCode::OK,
        page("My queue", Some(&viewer), Nav::Queue, body),
    ))
}

/// The teams whose queue the page shows: the one asked for (if the caller may read it),
/// else every team the caller is on.
fn queue_teams(
    caller: &Caller,
    asked: Option<&str>,
    contract: &Contract,
) -> Result<Vec<String>, PageError> {
    match asked.map(str::trim).filter(|t| !t.is_empty()) {
        Some(team) => {
            if !contract.spec.teams.contains_key(team) {
                return Err(PageError::not_found("team"));
            }
            caller.may_read_queue(team).map_err(PageError::forbidden)?;
            Ok(vec![team.to_string()])
        }
        None => Ok(caller.teams.iter().cloned().collect()),
    }
}

/// The queue's content, the part worth timing: the store is not in it.
pub fn render_queue(
    leads: &[LeadState],
    teams: &[String],
    contract: &Contract,
    now: DateTime<Utc>,
    done: Option<&str>,
    caller: &Caller,
) -> Markup {
    let rows = queue_rows(leads, contract, now);
    let overdue = rows
        .iter()
        .filter(|r| r.countdown.is_some_and(|c| c.overdue()))
        .count();
    let pickable: Vec<&String> = contract
        .spec
        .teams
        .keys()
        .filter(|t| caller.may_read_queue(t).is_ok())
        .collect();
    html! {
        h1 { "My queue" }
        @if let Some(done) = done {
            p.banner.done role="status" { "Done: the lead was " (done) "." }
        }
        @if teams.is_empty() {
            p { "You are on no team, so you have no queue of your own." }
        } @else {
            p.muted {
                "Open MQLs of " strong { (teams.join(", ")) } ", oldest first, as of " (when(now))
                ". Times are business time on each team's calendar: the countdown stops while the team's office is closed."
            }
        }
        @if !pickable.is_empty() {
            form.filters method="get" action="/app" {
                div.field {
                    label for="team" { "Team" }
                    select #team name="team" {
                        @for t in &pickable {
                            option value=(t) selected[teams.len() == 1 && teams[0] == **t] { (t) }
                        }
                    }
                }
                button type="submit" { "Show queue" }
            }
        }
        @if !teams.is_empty() {
            p #queue-summary { (rows.len()) " open MQLs, " (overdue) " overdue." }
            table #queue {
                caption { "Open MQLs, oldest first" }
                thead {
                    tr {
                        th scope="col" { "Lead" }
                        th scope="col" { "Time left (business)" }
                        th scope="col" { "Fit tier" }
                        th scope="col" { "Fast lane" }
                        th scope="col" { "Why it is an MQL" }
                        th scope="col" { "Owner" }
                        th scope="col" { "MQL since" }
                    }
                }
                tbody {
                    @for row in &rows { (queue_row(row, now)) }
                }
            }
            @if rows.is_empty() {
                p { "Nothing waiting. Well done." }
            }
        }
    }
}

fn queue_row(row: &QueueRow<'_>, now: DateTime<Utc>) -> Markup {
    let overdue = row.countdown.is_some_and(|c| c.overdue());
    html! {
        tr.overdue[overdue] data-lead=(row.lead.lead_id) {
            td {
                a href={ "/app/leads/" (row.lead.lead_id) } { (row.name) }
                @if let Some(company) = row.company { br; span.muted { (company) } }
            }
            td {
                @match row.countdown {
                    Some(c) => {
                        span.countdown
                            data-left=(c.seconds_left)
                            data-ticking=(if c.ticking { "1" } else { "0" })
                            data-change-in=[c.changes_at.map(|t| (t - now).num_seconds().max(0))] {
                            (c.label())
                        }
                        @if !c.ticking { br; span.muted { "paused: office closed" } }
                    }
                    None => { span.muted { "no deadline" } }
                }
            }
            td.num { (row.fit_tier.map_or("–".to_string(), |t| t.to_string())) }
            td { @if row.fast_lane { span.tag { "fast lane" } } @else { "no" } }
            td { (row.reason) }
            td { (row.owner) br; span.muted { (row.team) } }
            td { (row.mql_at.map(when).unwrap_or_default()) }
        }
    }
}
