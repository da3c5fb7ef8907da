//! The frame every page shares: head, skip link, navigation, who is signed in, and the
//! formats pages show times and figures in.

use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};

use leadwatch_core::access::Caller;

/// The navigation entries; the current one is marked for screen readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Queue,
    Dashboard,
    Contract,
    None,
}

/// Who is signed in, and the form token their sign-out form needs.
pub struct Viewer<'a> {
    pub caller: &'a Caller,
    pub form_token: &'a str,
}

/// A whole page.
pub fn page(title: &str, viewer: Option<&Viewer<'_>>, current: Nav, body: Markup) -> Markup {
    let entries = [
        (Nav::Queue, "/app", "My queue"),
        (Nav::Dashboard, "/app/dashboard", "Dashboard"),
        (Nav::Contract, "/app/contract", "Contract"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Leadwatch" }
                link rel="icon" href="/app/assets/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/app/assets/app.css";
                script src="/app/assets/app.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/app" { "Leadwatch" }
                    nav aria-label="Main" {
                        ul {
                            @for (nav, href, label) in entries {
                                li {
                                    @if nav == current {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(v) = viewer {
                        div.who {
                            span { "Signed in as " strong { (v.caller.actor()) } " " (roles_and_teams(v.caller)) }
                            form.inline method="post" action="/app/signout" {
                                input type="hidden" name="csrf" value=(v.form_token);
                                button.secondary type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

/// A page with a title and one message: errors, and the sign-in states.
pub fn bare_page(title: &str, message: &str) -> Markup {
    page(
        title,
        None,
        Nav::None,
        html! {
            h1 { (title) }
            p { (message) }
            p { a href="/app" { "Back to my queue" } }
        },
    )
}

fn roles_and_teams(caller: &Caller) -> String {
    let roles: Vec<String> = caller
        .roles
        .iter()
        .map(|r| format!("{r:?}").to_lowercase())
        .collect();
    let teams: Vec<&str> = caller.teams.iter().map(String::as_str).collect();
    match (roles.is_empty(), teams.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("({})", roles.join(", ")),
        (true, false) => format!("({})", teams.join(", ")),
        (false, false) => format!("({}; {})", roles.join(", "), teams.join(", ")),
    }
}

/// `Mon 23 Nov 14:05 UTC`.
pub fn when(at: DateTime<Utc>) -> String {
    at.format("%a %-d %b %Y %H:%M UTC").to_string()
}

/// A percentage with one decimal, or a dash for "no data".
pub fn pct(value: Option<f64>) -> String {
    value.map_or("–".to_string(), |v| format!("{v:.1} %"))
}

/// Business minutes, or a dash.
pub fn minutes(value: Option<i64>) -> String {
    value.map_or("–".to_string(), |m| format!("{m} min"))
}
