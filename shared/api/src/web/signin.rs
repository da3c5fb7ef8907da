//! Signing in to the web app.
//!
//! * **Locally** ([`SignIn::Development`], `leadwatch serve` only): a page lists a rep
//!   and a manager of every team of the contract, an ops user and an admin, clearly
//!   marked as local only. Picking one sets the development cookie with the claims a
//!   token of theirs would carry, which only `entry::serve` turns into the request's
//!   claims.
//! * **Deployed** ([`SignIn::Oidc`]): the OpenID Connect authorization-code flow with
//!   PKCE, with the same issuer API Gateway trusts. `GET /app/signin` sends the browser
//!   to the issuer's authorization endpoint with a signed `state` (which page to return
//!   to), also set as a short-lived cookie so the answer must come back to the browser
//!   that asked; `GET /app/callback` checks both, exchanges the code at the token
//!   endpoint, verifies the ID token ([`super::oidc`]) and seals its claims into the
//!   session cookie ([`super::session::session_value`]). Any failure is a page that says
//!   what failed, and no session.
//! * Neither configured: the page says sign-in is not set up.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use maud::html;

use leadwatch_core::access::{Caller, Role};
use leadwatch_core::Contract;

use super::input::{page_query, read_form, Unknown};
use super::layout::{page, Nav};
use super::oidc::{session_expiry, Oidc, OidcError};
use super::session::session_value;
use super::session::{
    check_form, cookie, encode_claims, set_cookie, PageCaller, DEV_CLAIMS_COOKIE, SESSION_COOKIE,
};
use super::{html as html_response, query_value, see_other, PageError, WebApp};
use crate::caller::ClaimMapping;
use crate::request::{LimitedBody, Now};

/// How callers sign in.
#[derive(Debug, Clone)]
pub enum SignIn {
    /// `leadwatch serve`: pick a user from a list. Never deployed.
    Development,
    /// The OpenID Connect issuer's authorization-code flow.
    Oidc(Arc<Oidc>),
    /// No sign-in configured: pages answer that they cannot sign anyone in.
    NotConfigured,
}

const OIDC_STATE: &str = "oidc-state";
const OIDC_STATE_COOKIE: &str = "leadwatch_oidc_state";

/// The users the development sign-in offers: a rep and a manager of every team, ops and
/// an admin. Keys are `role:team` or `role`.
pub fn dev_users(contract: &Contract) -> Vec<(String, Caller)> {
    let user = |key: &str, teams: &[&str], role: Role| {
        let subject = format!("dev-{}", key.replace(':', "-"));
        (
            key.to_string(),
            Caller {
                email: Some(format!("{}@leadwatch.local", key.replace(':', "."))),
                subject,
                teams: teams.iter().map(|t| t.to_string()).collect::<BTreeSet<_>>(),
                roles: BTreeSet::from([role]),
            },
        )
    };
    let mut users = Vec::new();
    for team in contract.spec.teams.keys() {
        users.push(user(&format!("rep:{team}"), &[team], Role::Rep));
        users.push(user(&format!("manager:{team}"), &[team], Role::Manager));
    }
    users.push(user("ops", &[], Role::Ops));
    users.push(user("admin", &[], Role::Admin));
    users
}

/// Only our own pages are places to come back to: no other site, no `//host`.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/app") && !n.contains("//") && !n.contains('\\') => n.to_string(),
        _ => "/app".into(),
    }
}

/// `GET /app/signin`.
pub async fn signin_page(State(app): State<Arc<WebApp>>, Now(now): Now, uri: Uri) -> Response {
    // `next`: the page to come back to.
    let q = match page_query(&uri, &["next"], Unknown::Ignore) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    let next = safe_next(q.get("next"));
    match &app.sign_in {
        SignIn::Development => {
            let users = dev_users(&app.contract);
            let body = html! {
                h1 { "Sign in (local development)" }
                p.banner.local role="note" {
                    strong { "Local only." }
                    " This sign-in exists only on leadwatch serve: anyone can pick any user. "
                    "The deployed app signs people in with your identity provider."
                }
                form method="post" action="/app/signin" {
                    input type="hidden" name="next" value=(next);
                    fieldset {
                        legend { "Sign in as" }
                        ul.users {
                            @for (key, caller) in &users {
                                li {
                                    button type="submit" name="user" value=(key) {
                                        (caller.email.as_deref().unwrap_or(&caller.subject))
                                    }
                                }
                            }
                        }
                    }
                }
            };
            html_response(StatusCode::OK, page("Sign in", None, Nav::None, body))
        }
        SignIn::Oidc(oidc) => {
            let expires = now + Duration::minutes(10);
            // Random per sign-in: the nonce and PKCE verifier derive from the state, so
            // two browsers must never get the same one.
            let mut unique = [0u8; 16];
            if let Err(e) = getrandom::fill(&mut unique) {
                tracing::error!(error = %e, "no random bytes for a sign-in");
                return PageError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Try again shortly",
                    "sign-in could not start; try again",
                )
                .into_response();
            }
            let unique = hex::encode(unique);
            let token = app
                .signer
                .sign(OIDC_STATE, &format!("{next}~{unique}"), expires);
            let state = format!("{}~{unique}~{token}", query_value(&next));
            let location = match oidc.authorize_url(&app.signer, &state, expires).await {
                Ok(location) => location,
                Err(e) => return oidc_failure(e).into_response(),
            };
            let mut response = see_other(&location);
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(
                    OIDC_STATE_COOKIE,
                    &query_value(&state),
                    600,
                    app.secure_cookies,
                ),
            );
            response
        }
        SignIn::NotConfigured => PageError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in is not set up",
            "this deployment has no identity provider configured for the web app \
             (LEADWATCH_OIDC_ISSUER, LEADWATCH_OIDC_CLIENT_ID, LEADWATCH_OIDC_REDIRECT_URL)",
        )
        .into_response(),
    }
}

/// `POST /app/signin` (development only): the picked user's claims in the development
/// cookie.
pub async fn dev_signin(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Result<Response, PageError> {
    if !matches!(app.sign_in, SignIn::Development) {
        return Err(PageError::not_found("page"));
    }
    let form = read_form(&headers, &body, &["user", "next"])?;
    let caller = dev_users(&app.contract)
        .into_iter()
        .find(|(key, _)| Some(key.as_str()) == form.get("user"))
        .map(|(_, c)| c)
        .ok_or_else(|| {
            PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Unknown user",
                "user: pick one of the listed users",
            )
        })?;
    let claims = ClaimMapping::from_env().claims_for(&caller);
    let mut response = see_other(&safe_next(form.get("next")));
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            DEV_CLAIMS_COOKIE,
            &encode_claims(&claims),
            super::session::SESSION_HOURS * 3600,
            app.secure_cookies,
        ),
    );
    Ok(response)
}

/// `GET /app/callback`: the issuer sends the browser back here with a code.
pub async fn callback(
    State(app): State<Arc<WebApp>>,
    Now(now): Now,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    let SignIn::Oidc(oidc) = &app.sign_in else {
        return Err(PageError::not_found("page"));
    };
    // Issuers add parameters of their own (`iss`, `session_state`, ...): ignored.
    let q = page_query(&uri, &["code", "state", "error"], Unknown::Ignore)?;
    if let Some(error) = q.get("error") {
        return Err(PageError::new(
            StatusCode::UNAUTHORIZED,
            "Sign-in failed",
            format!(
                "the identity provider answered: {}",
                leadwatch_core::text::clip(error, 100)
            ),
        ));
    }
    let state = q.get("state").unwrap_or_default().to_string();
    let bad_state = || {
        PageError::new(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "the sign-in answer does not belong to this browser's sign-in (state); start again",
        )
    };
    let from_cookie = cookie(&headers, OIDC_STATE_COOKIE).unwrap_or_default();
    if from_cookie != query_value(&state) {
        return Err(bad_state());
    }
    let mut parts = state.splitn(3, '~');
    let (Some(next), Some(unique), Some(token)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad_state());
    };
    let next: String = serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={next}"))
        .ok()
        .and_then(|v| v.into_iter().next().map(|(_, n)| n))
        .ok_or_else(bad_state)?;
    let expires = app
        .signer
        .verify(OIDC_STATE, &format!("{next}~{unique}"), token, now)
        .map_err(|_| bad_state())?;
    let code = q.get("code").filter(|c| !c.is_empty()).ok_or_else(|| {
        PageError::new(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "the identity provider sent no code; start again",
        )
    })?;
    let claims = oidc
        .sign_in(&app.signer, code, &state, expires, now)
        .await
        .map_err(oidc_failure)?;
    if ClaimMapping::from_env().caller(&claims).is_none() {
        return Err(oidc_failure(OidcError::InvalidToken(
            "it names no subject (sub)".into(),
        )));
    }
    let mut response = see_other(&safe_next(Some(&next)));
    let session = session_value(&app.signer, &claims, session_expiry(now));
    for (name, value, max_age) in [
        (
            SESSION_COOKIE,
            session.as_str(),
            super::session::SESSION_HOURS * 3600,
        ),
        // The state has done its work: a second callback with it must fail.
        (OIDC_STATE_COOKIE, "", 0),
    ] {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(name, value, max_age, app.secure_cookies),
        );
    }
    Ok(response)
}

/// A failed sign-in as a page: the issuer unreachable is a 502 (try again), anything
/// about the answer a 401 (start again).
fn oidc_failure(e: OidcError) -> PageError {
    let status = match e {
        OidcError::Unavailable(_) => StatusCode::BAD_GATEWAY,
        OidcError::Refused(_) | OidcError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
    };
    tracing::warn!(error = %e, "web sign-in failed");
    PageError::new(status, "Sign-in failed", format!("{e}; start again"))
}

/// `POST /app/signout`: both cookies cleared.
pub async fn signout(
    State(app): State<Arc<WebApp>>,
    Now(now): Now,
    PageCaller(caller): PageCaller,
    headers: HeaderMap,
    LimitedBody(body): LimitedBody,
) -> Result<Response, PageError> {
    let form = read_form(&headers, &body, &["csrf"])?;
    check_form(&app.signer, &caller, &headers, form.get("csrf"), now)?;
    let mut response = see_other("/app/signin");
    for name in [SESSION_COOKIE, DEV_CLAIMS_COOKIE] {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(name, "", 0, app.secure_cookies),
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_pages_are_places_to_return_to() {
        assert_eq!(safe_next(Some("/app/leads/ld_1")), "/app/leads/ld_1");
        for bad in [
            "https://evil.example/",
            "//evil.example/app",
            "/app//evil",
            "/other",
            "/app\\x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/app", "{bad}");
        }
        assert_eq!(safe_next(None), "/app");
    }

    #[test]
    fn development_users_cover_every_team_and_role() {
        let c = Contract::default_contract().unwrap();
        let users = dev_users(&c);
        assert_eq!(users.len(), c.spec.teams.len() * 2 + 2);
        let (_, rep) = users.iter().find(|(k, _)| k == "rep:ae-na").unwrap();
        assert!(rep.on_team("ae-na") && rep.has(Role::Rep));
    }
}
