//! The web app: server-rendered pages for sales reps, managers and ops, on the same
//! router, store, commands and caller identity as the JSON API.
//!
//! * `GET /app`: my queue (the open MQLs of the caller's teams, oldest first, with live
//!   business-time countdowns)
//! * `GET /app/leads/{id}`: the lead page (explained assessment, handoff packet,
//!   timeline) and `POST /app/leads/{id}`: accept, reject, qualify or touch it (an HTML
//!   form, CSRF-protected, answered with a redirect)
//! * `GET /app/dashboard`: SLA, time to accept, funnel and rejection charts (SVG drawn
//!   here), with filters
//! * `GET /app/contract`: the active contract in plain words
//! * `GET /app/assets/{file}`: the stylesheet and the countdown script, compiled in
//! * `GET /app/signin`, `GET /app/callback`, `POST /app/signout`: see [`signin`]
//!
//! Templates are maud: checked when the crate compiles, and every value interpolated
//! into a page is HTML-escaped unless it is wrapped in `PreEscaped`, which only the
//! compiled-in assets and our own SVG are. Charts are SVG written here (see [`charts`]).
//!
//! Who the caller is comes from the same [`SignedIn`](crate::caller::SignedIn)
//! extractor as every JSON route. Browsers cannot attach API Gateway's bearer token to a
//! page navigation, so these routes are deployed without the JWT authorizer and the
//! caller's claims come from a signed session cookie instead ([`session`]); locally,
//! `leadwatch serve` turns its development sign-in cookie into claims before routing.

pub mod assets;
pub mod charts;
pub mod contract_page;
pub mod dashboard;
pub mod input;
pub mod layout;
pub mod lead;
pub mod oidc;
pub mod queue;
pub mod session;
pub mod signin;

use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::Markup;

use leadwatch_adapters::store::{Store, StoreError};
use leadwatch_core::access::Denied;
use leadwatch_core::signed::Signer;
use leadwatch_core::Contract;

use crate::error::method_not_allowed;

pub use oidc::{Oidc, OidcSettings};
pub use signin::SignIn;

/// Everything the pages need, built once per cold start.
#[derive(Clone)]
pub struct WebApp {
    pub store: Store,
    pub contract: Arc<Contract>,
    /// Signs session cookies, form tokens and checks the lead links in alerts.
    pub signer: Signer,
    pub sign_in: SignIn,
    /// Mark cookies `Secure` (HTTPS only). Off only for `leadwatch serve` on loopback
    /// HTTP, where a browser would otherwise drop them.
    pub secure_cookies: bool,
}

/// The web routes, without a fallback, to be merged with other route sets.
/// Every route of the web app, as `infra/template.yaml` gives them to the web function
/// (a test holds the two together, as it does [`crate::ROUTES`]).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/app"),
    ("GET", "/app/leads/{id}"),
    ("POST", "/app/leads/{id}"),
    ("GET", "/app/dashboard"),
    ("GET", "/app/contract"),
    ("GET", "/app/assets/{file}"),
    ("GET", "/app/signin"),
    ("GET", "/app/callback"),
    ("POST", "/app/signout"),
];

pub fn routes(app: WebApp) -> Router {
    let only_get = || async { method_not_allowed("GET") };
    let only_post = || async { method_not_allowed("POST") };
    let development = matches!(app.sign_in, SignIn::Development);
    let signin_route = if development {
        get(signin::signin_page).post(signin::dev_signin)
    } else {
        get(signin::signin_page).fallback(only_get)
    };
    let app = Arc::new(app);
    Router::new()
        .route("/app", get(queue::queue_page).fallback(only_get))
        .route(
            "/app/leads/{id}",
            get(lead::lead_page)
                .post(lead::lead_action)
                .fallback(|| async { method_not_allowed("GET, POST") }),
        )
        .route(
            "/app/dashboard",
            get(dashboard::dashboard_page).fallback(only_get),
        )
        .route(
            "/app/contract",
            get(contract_page::contract_page).fallback(only_get),
        )
        .route("/app/assets/{file}", get(assets::asset).fallback(only_get))
        .route("/app/signin", signin_route)
        .route("/app/callback", get(signin::callback).fallback(only_get))
        .route("/app/signout", post(signin::signout).fallback(only_post))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            session::session_layer,
        ))
        // Pages and assets go out gzipped to browsers that say they take it.
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(app)
}

/// A page that could not be shown, as an HTML page with the status.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
}

impl PageError {
    pub fn new(status: StatusCode, title: &str, message: impl Into<String>) -> Self {
        PageError {
            status,
            title: title.to_string(),
            message: message.into(),
        }
    }

    pub fn forbidden(denied: Denied) -> Self {
        PageError::new(StatusCode::FORBIDDEN, "Not allowed", denied.to_string())
    }

    pub fn not_found(what: &str) -> Self {
        PageError::new(
            StatusCode::NOT_FOUND,
            "Not found",
            format!("{what} not found"),
        )
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure (web)");
        PageError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again shortly",
            "the lead store is unavailable; reload the page in a moment",
        )
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = layout::bare_page(&self.title, &self.message);
        html(self.status, page)
    }
}

/// Headers every page carries: no caching of personal data, no framing, no sniffing,
/// no referrer to other sites (a lead link's token must not leak; `same-origin` rather
/// than `no-referrer`, under which browsers send `Origin: null` on our own form posts
/// and the origin check could not tell them from another site's), and a content
/// security policy that allows only our own script and styles.
fn page_headers(response: &mut Response) {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// An HTML page with `status`.
pub fn html(status: StatusCode, page: Markup) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.into_string(),
    )
        .into_response();
    page_headers(&mut response);
    response
}

/// 303 See Other: after a form post (post/redirect/get), or to the sign-in page.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    page_headers(&mut response);
    response
}

/// Percent-encode a query value (a path to come back to, a filter).
pub fn query_value(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)])
        .map(|s| s.trim_start_matches("v=").to_string())
        .unwrap_or_default()
}
