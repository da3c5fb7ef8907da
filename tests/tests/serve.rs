//! The local dev server (`leadwatch serve`) over real HTTP: one base URL that hands
//! every route to the very handler the Lambda runs, against DynamoDB (moto). Requests
//! go through a real HTTP client and a real socket, so what is checked here is the
//! translation both ways: method, path, query string, headers and body in; status,
//! headers and body out.
//!
//! The dev server stamps the wall clock, so the leads here carry no signal times (they
//! default to the time of the request) and no assertion depends on the hour.

use std::collections::HashMap;
use std::sync::Arc;

use http_body_util::BodyExt;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lambda_http::http::{header, HeaderMap, Method, Request, StatusCode};
use lambda_http::RequestExt;
use serde_json::{json, Value};

use leadwatch_adapters::store::Store;
use leadwatch_api::caller::{ClaimMapping, DEV_CLAIMS_HEADER};
use leadwatch_api::disposition::DispositionApp;
use leadwatch_api::ingest::{signed_headers, IngestApp};
use leadwatch_api::report::ReportApp;
use leadwatch_api::request::MAX_BODY_BYTES;
use leadwatch_cli::serve::{self, Api, Function, ROUTES};
use leadwatch_core::access::Role;
use leadwatch_core::Contract;
use leadwatch_e2e::{moto, repo_root, test_caller, unique_name, ALL_TEAMS};

struct Server {
    base: String,
    client: Client<HttpConnector, String>,
    store: Store,
    contract: Arc<Contract>,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    /// The body as JSON, or as a JSON string when it is not JSON (the CSV export).
    json: Value,
}

/// A dev server of its own (own table, any free port), running until the test ends.
async fn server() -> Server {
    let config = moto().sdk_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), unique_name("serve"));
    store.create_table().await.expect("create the table");
    let contract = Arc::new(Contract::default_contract().expect("the built-in contract"));
    let listener = serve::bind(0).await.expect("bind a free loopback port");
    let base = serve::base_url(listener.local_addr().expect("bound address"));
    let api = Api::new(store.clone(), Arc::clone(&contract))
        .with_ingest(
            leadwatch_e2e::test_sources(),
            leadwatch_core::LeadIds::development(),
        )
        .with_exports(leadwatch_e2e::exports::exports_for(store.table_name()).await);
    tokio::spawn(serve::run(listener, api, std::future::pending()));
    Server {
        base,
        client: Client::builder(TokioExecutor::new()).build_http(),
        store,
        contract,
    }
}

impl Server {
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        // Signed in through the dev server's development header, as a member of every
        // team with ops rights (authorization has tests of its own).
        if !headers.iter().any(|(name, _)| *name == DEV_CLAIMS_HEADER) {
            let caller = test_caller("dev@seller.io", &ALL_TEAMS, &[Role::Rep, Role::Ops]);
            let claims = ClaimMapping::default().claims_for(&caller).0;
            let claims = serde_json::to_string(&claims).expect("claims as JSON");
            req = req.header(DEV_CLAIMS_HEADER, claims);
        }
        let response = self
            .client
            .request(req.body(body).expect("a well-formed request"))
            .await
            .expect("the dev server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a complete body")
            .to_bytes();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Reply {
            status,
            headers,
            json,
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, &[], String::new()).await
    }

    /// A JSON post, signed as the `crm` source (a disposition ignores the signature).
    async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.send_signed(
            path,
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
    }

    /// A post with `headers`, signed as the `crm` source at the wall clock's time (the
    /// dev server stamps it too).
    async fn send_signed(&self, path: &str, headers: &[(&str, &str)], body: String) -> Reply {
        let signature = signed_headers(
            "crm",
            leadwatch_e2e::CRM_SECRET,
            chrono::Utc::now().timestamp(),
            body.as_bytes(),
        );
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        all.extend(signature.iter().map(|(k, v)| (*k, v.as_str())));
        self.send(Method::POST, path, &all, body).await
    }

    /// What `function`'s handler answers when called directly, as the Lambda runtime
    /// calls it, with the request API Gateway would build (no body).
    async fn direct(&self, function: Function, method: Method, path: &str) -> Reply {
        let (parts, ()) = Request::builder()
            .method(method)
            .uri(path)
            .body(())
            .expect("a well-formed request")
            .into_parts();
        let mut query: HashMap<String, Vec<String>> = HashMap::new();
        let pairs = parts.uri.query().unwrap_or_default().split('&');
        for pair in pairs.filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            query.entry(k.to_string()).or_default().push(v.to_string());
        }
        let req = lambda_http::Request::from_parts(parts, lambda_http::Body::Empty)
            .with_query_string_parameters(query);
        let (store, contract) = (self.store.clone(), Arc::clone(&self.contract));
        let now = chrono::Utc::now();
        let response = match function {
            Function::Ingest => {
                let app = IngestApp {
                    store,
                    contract,
                    sources: leadwatch_e2e::test_sources(),
                    lead_ids: leadwatch_core::LeadIds::development(),
                };
                leadwatch_api::ingest::handle(&app, leadwatch_e2e::signed_in(req), now).await
            }
            Function::Disposition => {
                leadwatch_api::disposition::handle(
                    &DispositionApp { store, contract },
                    leadwatch_e2e::signed_in(req),
                    now,
                )
                .await
            }
            Function::Report => {
                leadwatch_api::report::handle(
                    &ReportApp {
                        store,
                        contract,
                        exports: None,
                    },
                    leadwatch_e2e::signed_in(req),
                    now,
                )
                .await
            }
        };
        let body = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        Reply {
            status: response.status(),
            headers: response.headers().clone(),
            json: serde_json::from_str(&body).unwrap_or(Value::String(body)),
        }
    }
}

fn demo_request(email: &str, country: &str) -> Value {
    json!({
        "email": email, "first_name": "Zoe", "last_name": "Quinn", "title": "VP Sales",
        "company": "Example", "employees": 400, "industry": "saas", "country": country,
        "source": "website",
        "signals": [{"type": "demo_request", "question": true, "detail": "Can I see it this week?"}]
    })
}

#[tokio::test]
async fn json_and_form_leads_are_stored_read_back_and_queued() {
    let s = server().await;

    let json_lead = s
        .post_json("/leads", &demo_request("zoe.quinn@example-na.com", "CA"))
        .await;
    assert_eq!(json_lead.status, StatusCode::CREATED, "{}", json_lead.json);
    assert_eq!(json_lead.json["status"], "mql");
    assert_eq!(json_lead.json["team"], "ae-na");
    assert_eq!(
        json_lead
            .headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );

    // A plain HTML form of the public lane: flat fields, the hidden `form` names it.
    let form = "form=contact_sales&email=Gia.Moretti%40Vought-NA.com&first_name=Gia\
                &last_name=Moretti&title=Director+of+Sales+Operations&company=Vought\
                &employees=900&industry=ecommerce&country=US&signal=contact_sales\
                &message=Do+you+integrate+with+Outreach%3F";
    let form_lead = s
        .send(
            Method::POST,
            "/leads",
            &[("content-type", "application/x-www-form-urlencoded")],
            form.to_string(),
        )
        .await;
    assert_eq!(form_lead.status, StatusCode::ACCEPTED, "{}", form_lead.json);
    assert_eq!(
        form_lead.json["status"], "received",
        "and nothing about the lead"
    );
    assert!(
        form_lead.json.get("lead_id").is_none(),
        "{}",
        form_lead.json
    );
    let gia = leadwatch_e2e::lead_id("gia.moretti@vought-na.com");

    let read = s.get(&format!("/leads/{gia}")).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.json);
    assert_eq!(read.json["lead"]["lead_id"], gia.as_str());
    assert_eq!(read.json["lead"]["status"], "mql");
    assert!(read.json["history"]
        .as_array()
        .is_some_and(|h| !h.is_empty()));
    assert!(
        read.json
            .to_string()
            .contains("Do you integrate with Outreach?"),
        "the form's message is the signal's detail: {}",
        read.json
    );
    // The stored state is the one the handler wrote, not a copy the server made.
    let stored = s.store.get_lead(&gia).await.expect("read").expect("stored");
    assert_eq!(stored.team.as_deref(), Some("ae-na"));
    assert!(stored.packet.as_ref().is_some_and(|p| p.fast_lane));

    // The query string reaches the handler: two teams, two different answers.
    let queue = s.get("/queue?team=ae-na").await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.json);
    assert_eq!(queue.json["team"], "ae-na");
    assert_eq!(queue.json["count"], 2, "{}", queue.json);
    let other = s.get("/queue?team=sdr-emea").await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.json);
    assert_eq!(other.json["count"], 0, "{}", other.json);
    let no_team = s.get("/queue").await;
    assert_eq!(
        no_team.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        no_team.json
    );

    // A disposition through the same base URL, by the dev sign-in's caller; the queue
    // shrinks.
    let accepted = s
        .post_json(&format!("/leads/{gia}/accept"), &json!({}))
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.json);
    assert_eq!(accepted.json["status"], "sal");
    assert_eq!(accepted.json["accepted_by"], "dev@seller.io");
    let queue = s.get("/queue?team=ae-na").await;
    assert_eq!(queue.json["count"], 1, "{}", queue.json);
}

#[tokio::test]
async fn request_headers_reach_the_handler_and_response_headers_come_back() {
    let s = server().await;
    let body = demo_request("retry@example-na.com", "US").to_string();
    let headers = [
        ("content-type", "application/json"),
        ("idempotency-key", "form-submission-42"),
    ];
    let first = s.send_signed("/leads", &headers, body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.json);
    assert!(first.headers.get("idempotent-replayed").is_none());

    // Signed again by the sender (a new timestamp, or the same: the key answers first).
    let retry = s.send_signed("/leads", &headers, body).await;
    assert_eq!(retry.status, StatusCode::CREATED, "{}", retry.json);
    assert_eq!(
        retry
            .headers
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..]),
        "the key went in as a header and the replay came back as one"
    );
    assert_eq!(retry.json, first.json);

    let wrong_type = s
        .send(
            Method::POST,
            "/leads",
            &[("content-type", "text/plain")],
            "hi".into(),
        )
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_the_handlers_json_errors() {
    let s = server().await;

    let unknown = s.get("/nope?x=1").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json["error"], "no_route");
    assert_eq!(unknown.json["message"], "no route for GET /nope");
    assert_eq!(
        unknown
            .headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );

    // A known path with a method its function does not serve: that function's answer.
    for (method, path, function) in [
        (Method::DELETE, "/leads", Function::Ingest),
        (Method::GET, "/leads/ld_1/accept", Function::Disposition),
        (Method::POST, "/queue", Function::Disposition),
        (Method::DELETE, "/export", Function::Report),
    ] {
        let over_http = s.send(method.clone(), path, &[], String::new()).await;
        let direct = s.direct(function, method.clone(), path).await;
        assert!(
            over_http.status.is_client_error(),
            "{method} {path}: {}",
            over_http.json
        );
        assert_eq!(over_http.status, direct.status, "{method} {path}");
        assert_eq!(over_http.json, direct.json, "{method} {path}");
        assert_eq!(
            over_http.headers.get(header::ALLOW),
            direct.headers.get(header::ALLOW),
            "{method} {path}"
        );
    }

    let missing = s
        .get(&format!(
            "/leads/{}",
            leadwatch_e2e::lead_id("nobody@example.com")
        ))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json["error"], "not_found");
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused_with_413_and_nothing_stored() {
    let s = server().await;
    // Valid JSON, padded past the limit, so only its size is wrong.
    let mut lead = demo_request("big@example-na.com", "US");
    lead["signals"][0]["detail"] = json!("x".repeat(70 * 1024));
    let body = lead.to_string();
    assert!(body.len() > MAX_BODY_BYTES);
    let reply = s
        .send(
            Method::POST,
            "/leads",
            &[("content-type", "application/json")],
            body.clone(),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.json
    );
    assert_eq!(reply.json["error"], "body_too_large");
    assert!(
        reply.json["message"]
            .as_str()
            .is_some_and(|m| m.contains(&body.len().to_string())),
        "the handler saw the whole body: {}",
        reply.json
    );
    let id = leadwatch_e2e::lead_id("big@example-na.com");
    assert!(s.store.get_lead(&id).await.expect("read").is_none());
}

/// The report routes go to the report function: the answer over HTTP is the answer
/// of `leadwatch_api::report::handle` called directly with the same request.
#[tokio::test]
async fn report_routes_answer_as_the_report_handler_does() {
    let s = server().await;
    s.post_json("/leads", &demo_request("report@example-na.com", "US"))
        .await;
    for path in [
        "/reports/sla?from=2026-11&to=2026-11",
        "/reports/sla?from=2026-11&to=2026-11&team=ae-na",
        "/reports/sla",
        "/export?team=nobody",
        "/exports?from=2026-11&to=2026-11",
        "/exports/ex_unknown",
    ] {
        let over_http = s.get(path).await;
        let direct = s.direct(Function::Report, Method::GET, path).await;
        assert_eq!(
            over_http.status, direct.status,
            "{path}: {}",
            over_http.json
        );
        assert_eq!(
            over_http.headers.get(header::CONTENT_TYPE),
            direct.headers.get(header::CONTENT_TYPE),
            "{path}"
        );
        // Reports are read from stored data, not from the clock, so the two answers are
        // the same.
        assert_eq!(over_http.json, direct.json, "{path}");
    }
    // And they are answers, not the 404 of a path nobody serves.
    let sla = s.get("/reports/sla?from=2026-11&to=2026-11").await;
    assert_eq!(sla.status, StatusCode::OK, "{}", sla.json);
    // An export is a job (its id is random, so not compared): 202, then polled until
    // done, then its CSV read back through the presigned link.
    let export = s.get("/export?status=mql").await;
    assert_eq!(export.status, StatusCode::ACCEPTED, "{}", export.json);
    let poll = export.json["poll"]
        .as_str()
        .expect("a poll path")
        .to_string();
    assert_eq!(
        export.headers.get(header::LOCATION).map(|v| v.as_bytes()),
        Some(poll.as_bytes())
    );
    let done = leadwatch_e2e::exports::wait_for_job(|| async { s.get(&poll).await.json }, 60).await;
    assert_eq!(done["status"], "done", "{done}");
    let (status, csv) =
        leadwatch_e2e::exports::http_get(done["url"].as_str().expect("a link")).await;
    assert_eq!(status, 200);
    assert!(
        String::from_utf8_lossy(&csv).contains("report@example-na.com"),
        "{}",
        String::from_utf8_lossy(&csv)
    );
}

/// Who serves a route in the template: a function of the JSON API, or the web app's.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Owner {
    Api(Function),
    Web,
}

/// The dev server serves exactly the routes that `infra/template.yaml` gives the HTTP
/// API, each by the function the template gives it.
#[test]
fn the_routes_are_the_templates_routes() {
    let template = std::fs::read_to_string(repo_root().join("infra/template.yaml"))
        .expect("read infra/template.yaml");
    let mut declared = Vec::new();
    let mut owner = None;
    for line in template.lines() {
        // Resources are indented two spaces: `  IngestFunction:`.
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
            if !name.starts_with(' ') {
                owner = match name {
                    "IngestFunction" => Some(Owner::Api(Function::Ingest)),
                    "DispositionFunction" => Some(Owner::Api(Function::Disposition)),
                    "ReportFunction" => Some(Owner::Api(Function::Report)),
                    "WebFunction" => Some(Owner::Web),
                    _ => None,
                };
            }
        }
        if let Some(method) = value_after(line, "Method:") {
            declared.push((method, owner));
        }
        if let Some(path) = value_after(line, "Path:") {
            let last = declared.last_mut().expect("Method: comes before Path:");
            last.0 = format!("{} {path}", last.0);
        }
    }
    let mut declared: Vec<(String, Option<Owner>)> = declared;
    declared.sort_by(|a, b| a.0.cmp(&b.0));
    let mut served: Vec<(String, Option<Owner>)> = ROUTES
        .iter()
        .map(|(m, p, f)| (format!("{m} {p}"), Some(Owner::Api(*f))))
        .chain(
            leadwatch_api::web::ROUTES
                .iter()
                .map(|(m, p)| (format!("{m} {p}"), Some(Owner::Web))),
        )
        .collect();
    served.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(served, declared);
}

/// `Method: POST` or `{ ApiId: ..., Method: POST, Path: "/x/{id}" }`: the value of the
/// key (as a whole word, not the tail of `BuildMethod:`), unquoted.
fn value_after(line: &str, key: &str) -> Option<String> {
    let at = line.match_indices(key).find(|(i, _)| {
        line[..*i]
            .chars()
            .next_back()
            .is_none_or(|c| c == ' ' || c == '{' || c == ',')
    })?;
    let rest = line[at.0 + key.len()..].trim_start();
    let value = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split([',', ' ']).next()?,
    };
    (!value.is_empty()).then(|| value.to_string())
}

#[tokio::test]
async fn the_dev_server_signs_in_through_its_header_only() {
    let s = server().await;
    // No caller in the development header: the signed-in routes answer 401.
    let anonymous = s
        .send(
            Method::GET,
            "/queue?team=ae-na",
            &[(DEV_CLAIMS_HEADER, "{}")],
            String::new(),
        )
        .await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        anonymous.json
    );
    // A rep of another team is refused the queue, naming the permission.
    let emea = test_caller("eve@seller.io", &["ae-emea"], &[Role::Rep]);
    let claims = serde_json::to_string(&ClaimMapping::default().claims_for(&emea).0).unwrap();
    let refused = s
        .send(
            Method::GET,
            "/queue?team=ae-na",
            &[(DEV_CLAIMS_HEADER, claims.as_str())],
            String::new(),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.json);
    assert_eq!(refused.json["permission"], "queue:ae-na");
}
