//! The web app's harness for the hostile-input tests (`tests/web_hostile.rs`): the web
//! function's router (`function_router(web::routes(..))`, as `functions/web` serves it)
//! over a fresh table on moto, with three open MQLs of ae-na; requests sent in-process
//! through `entry::call`, signed in with the sealed session cookie the deployed sign-in
//! sets; and checks of the answers (an HTML page naming the problem, or the router's
//! generic JSON error).

use std::sync::Arc;

use axum::Router;
use chrono::{DateTime, Duration, TimeZone, Utc};
use lambda_http::http::{header, Request as HttpRequest};
use lambda_http::{Body, Response};
use serde_json::{json, Value};

use leadwatch_adapters::store::Store;
use leadwatch_api::caller::ClaimMapping;
use leadwatch_api::ingest::IngestApp;
use leadwatch_api::web::session::{form_token, session_value, SESSION_COOKIE};
use leadwatch_api::web::{routes, SignIn, WebApp};
use leadwatch_core::access::{Caller, Role};
use leadwatch_core::lifecycle::Status;
use leadwatch_core::signed::Signer;
use leadwatch_core::Contract;

use crate::{lead_id, moto, signed, test_caller, test_sources, unique_name, ALL_TEAMS};

/// The content type of the pages' forms.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// Wednesday 25 November 2026, 10:00 in New York.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 15, 0, 0).unwrap()
}

pub fn rep() -> Caller {
    test_caller("rep@ae-na.test", &["ae-na"], &[Role::Rep])
}

pub fn other_rep() -> Caller {
    test_caller("rep@ae-emea.test", &["ae-emea"], &[Role::Rep])
}

pub fn ops() -> Caller {
    test_caller("ops@leadwatch.test", &ALL_TEAMS, &[Role::Ops, Role::Admin])
}

pub struct Web {
    pub router: Router,
    pub store: Store,
    pub signer: Signer,
}

/// The web app over a fresh table with `sign_in`, and three open MQLs of ae-na.
pub async fn web(sign_in: SignIn) -> (Web, Vec<String>) {
    let config = moto().sdk_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), unique_name("webh"));
    store.create_table().await.unwrap();
    let contract = Arc::new(Contract::default_contract().unwrap());
    let ingest = leadwatch_api::function_router(leadwatch_api::ingest::routes(IngestApp {
        sources: test_sources(),
        ..IngestApp::new(store.clone(), Arc::clone(&contract))
    }));
    let mut ids = Vec::new();
    for (i, email) in ["a@northwind.io", "b@northwind.io", "c@northwind.io"]
        .into_iter()
        .enumerate()
    {
        let at = now() - Duration::minutes(30 - i as i64);
        let body = json!({
            "email": email, "first_name": "Ana", "last_name": "Tester", "title": "VP Sales",
            "company": "Northwind", "employees": 400, "industry": "saas", "country": "US",
            "source": "website", "signals": [{"type": "demo_request", "at": at, "question": true}]
        });
        let req = HttpRequest::post("/leads")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let r = leadwatch_api::entry::call(&ingest, signed(req, at), at).await;
        assert!(r.status().is_success(), "seed {email}: {:?}", r.body());
        let id = lead_id(email);
        let state = store.get_lead(&id).await.unwrap().unwrap();
        assert_eq!(
            (state.status, state.team.as_deref()),
            (Status::Mql, Some("ae-na"))
        );
        ids.push(id);
    }
    let signer = Signer::new(b"web hostile test secret, 32 bytes+".to_vec()).unwrap();
    let router = leadwatch_api::function_router(routes(WebApp {
        store: store.clone(),
        contract,
        signer: signer.clone(),
        sign_in,
        secure_cookies: true,
    }));
    (
        Web {
            router,
            store,
            signer,
        },
        ids,
    )
}

impl Web {
    /// The `Cookie` header of a browser signed in as `caller`.
    pub fn session(&self, caller: &Caller) -> String {
        let claims = ClaimMapping::default().claims_for(caller);
        let value = session_value(&self.signer, &claims, now() + Duration::hours(8));
        format!("{SESSION_COOKIE}={value}")
    }

    pub fn token(&self, caller: &Caller) -> String {
        form_token(&self.signer, caller, now())
    }

    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Response<Body> {
        let mut req = HttpRequest::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "app.example.com");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req.body(Body::from(body.into())).unwrap();
        leadwatch_api::entry::call(&self.router, req, now()).await
    }

    pub async fn get(&self, uri: &str, as_caller: Option<&Caller>) -> Response<Body> {
        let cookie = as_caller.map(|c| self.session(c));
        let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("cookie", c.as_str())).collect();
        self.send("GET", uri, &headers, Vec::new()).await
    }

    /// A form post as `caller` (signed in), with `content_type`.
    pub async fn post(
        &self,
        uri: &str,
        caller: &Caller,
        content_type: &str,
        body: impl Into<Vec<u8>>,
    ) -> Response<Body> {
        let cookie = self.session(caller);
        let headers = [("cookie", cookie.as_str()), ("content-type", content_type)];
        self.send("POST", uri, &headers, body).await
    }
}

pub fn text(r: &Response<Body>) -> String {
    String::from_utf8_lossy(r.body().as_ref()).into_owned()
}

pub fn content_type(r: &Response<Body>) -> String {
    r.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// An HTML page with `status` whose text names every one of `says` (`|` apart).
#[track_caller]
pub fn page(r: &Response<Body>, status: u16, says: &str, what: &str) {
    let body = text(r);
    assert_eq!(r.status().as_u16(), status, "{what}: {body}");
    assert!(
        content_type(r).starts_with("text/html"),
        "{what}: an HTML page, not {:?}: {body}",
        content_type(r)
    );
    for needle in says.split('|').filter(|n| !n.is_empty()) {
        assert!(
            body.to_lowercase().contains(&needle.to_lowercase()),
            "{what}: the page does not say {needle:?}: {body}"
        );
    }
}

/// The router's generic JSON error (`method_not_allowed`, `body_too_large`, `no_route`).
#[track_caller]
pub fn json_error(r: &Response<Body>, status: u16, code: &str, what: &str) {
    assert_eq!(r.status().as_u16(), status, "{what}: {}", text(r));
    let body: Value = serde_json::from_slice(r.body().as_ref()).unwrap_or(Value::Null);
    assert_eq!(body["error"], code, "{what}: {}", text(r));
}
