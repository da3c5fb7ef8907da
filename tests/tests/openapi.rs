//! `docs/openapi.yaml` describes the routes the handlers really serve. `infra/check.sh`
//! (`infra/check_openapi.py`) holds the document to the template's HTTP API routes; this
//! test holds it to the code:
//!
//! * every documented operation, sent as API Gateway would deliver it (an HTTP API v2
//!   event with each of the document's request examples), is answered by the function the
//!   document names (`x-leadwatch-function`): not `404 no_route`, not `405`, with a status
//!   the document lists for that operation, an `Error` body on failure, without refusing
//!   the document's own examples as malformed (400/415/422), and with a body that
//!   matches the documented response schema, no undocumented members
//!   (`check_openapi.py --responses`);
//! * every other function refuses it with `404 no_route`;
//! * the same operations sent wrong (no or unknown query parameters, an unknown lead, a
//!   body that is not JSON, not an object, empty, over 64 KiB, of another content type,
//!   an over-long `Idempotency-Key`) are answered with statuses the document lists and
//!   bodies that match their documented schemas;
//! * methods the document does not list on its paths, and paths it does not have, are
//!   refused (`404 no_route` or `405 method_not_allowed`) by every function.
//!
//! The document is read through `infra/check_openapi.py --operations` (the venv's
//! PyYAML and openapi-spec-validator), which validates it and lists its operations with
//! their examples encoded as they go on the wire.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

use leadwatch_adapters::store::Store;
use leadwatch_api::caller::ClaimMapping;
use leadwatch_api::disposition::DispositionApp;
use leadwatch_api::entry::gateway_time;
use leadwatch_api::ingest::IngestApp;
use leadwatch_api::report::ReportApp;
use leadwatch_api::web::session::{session_value, SESSION_COOKIE};
use leadwatch_api::web::{SignIn, WebApp};
use leadwatch_core::access::Role;
use leadwatch_core::signed::Signer;
use leadwatch_core::Contract;
use leadwatch_e2e::{
    function_store, moto, repo_root, signed_as, test_caller, unique_name, ALL_TEAMS, CRM_SECRET,
    MARKETING_SECRET,
};

/// The functions behind the HTTP API, by their `x-leadwatch-function` name.
const FUNCTIONS: [&str; 4] = ["ingest", "disposition", "report", "web"];

/// The web app's secret in these tests (sessions and form tokens).
const WEB_SECRET: &[u8] = b"openapi test web secret, 32 bytes or more";

/// Methods a client could send; the document lists some of them per path.
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Monday 2026-11-23 15:00 UTC (10:00 in New York): after every example's signal time.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

/// One request example of an operation, as `check_openapi.py --operations` lists it.
#[derive(Debug)]
struct Example {
    name: String,
    content_type: Option<String>,
    body: Option<String>,
    /// The signed source that sends it (`x-leadwatch-source`); None: unsigned.
    source: Option<String>,
}

#[derive(Debug)]
struct Operation {
    method: String,
    /// The documented path, `/leads/{id}/accept`.
    path: String,
    function: String,
    path_params: BTreeMap<String, String>,
    query: BTreeMap<String, String>,
    examples: Vec<Example>,
    /// Documented status codes, `"200"`, `"404"`, ...
    responses: Vec<String>,
}

impl Operation {
    fn route(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path with each `{param}` replaced by the parameter's example.
    fn concrete_path(&self) -> String {
        let mut path = self.path.clone();
        for (name, value) in &self.path_params {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        assert!(
            !path.contains('{'),
            "{}: a path parameter has no example",
            self.route()
        );
        path
    }
}

fn strings(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// `infra/check_openapi.py ARGS` on docs/openapi.yaml with the project venv's python,
/// `stdin` as its input: (success, stdout, stderr).
fn check_openapi(args: &[&str], stdin: &[u8]) -> (bool, String, String) {
    let root = repo_root();
    let venv = Command::new("bash")
        .arg(root.join("scripts/stack.sh"))
        .arg("venv")
        .status()
        .unwrap();
    assert!(venv.success(), "scripts/stack.sh venv failed");
    let mut child = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("infra/check_openapi.py"))
        .arg("--spec")
        .arg(root.join("docs/openapi.yaml"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The document's operations.
fn operations() -> Vec<Operation> {
    let (ok, stdout, stderr) = check_openapi(&["--operations"], b"");
    assert!(ok, "check_openapi.py --operations failed: {stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let ops: Vec<Operation> = doc
        .as_array()
        .expect("a list of operations")
        .iter()
        .map(|op| Operation {
            method: op["method"].as_str().unwrap().to_string(),
            path: op["path"].as_str().unwrap().to_string(),
            function: op["function"].as_str().unwrap().to_string(),
            path_params: strings(&op["path_params"]),
            query: strings(&op["query"]),
            examples: op["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| Example {
                    name: r["name"].as_str().unwrap().to_string(),
                    content_type: r["content_type"].as_str().map(str::to_string),
                    body: r["body"].as_str().map(str::to_string),
                    source: r["source"].as_str().map(str::to_string),
                })
                .collect(),
            responses: op["responses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect(),
        })
        .collect();
    assert!(
        ops.len() >= 10,
        "the document lists too few operations: {ops:?}"
    );
    ops
}

struct Apps {
    ingest: IngestApp,
    disposition: DispositionApp,
    report: ReportApp,
    web: WebApp,
}

/// Every function's app over one fresh table on the test binary's moto.
async fn apps() -> Apps {
    let config = moto().sdk_config().await;
    let table = unique_name("openapi");
    let setup = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    setup.create_table().await.unwrap();
    let contract = Arc::new(Contract::default_contract().unwrap());
    // Each function's calls are recorded as its own (see `iam_in_step`).
    Apps {
        ingest: IngestApp {
            store: function_store("ingest", &table).await,
            contract: Arc::clone(&contract),
            sources: leadwatch_e2e::test_sources(),
            lead_ids: leadwatch_core::LeadIds::development(),
        },
        disposition: DispositionApp {
            store: function_store("disposition", &table).await,
            contract: Arc::clone(&contract),
        },
        report: ReportApp {
            store: function_store("report", &table).await,
            contract: Arc::clone(&contract),
            exports: Some(leadwatch_e2e::exports::exports_for(&table).await),
        },
        // As deployed without WebClientId: the sign-in routes answer that it is not set up.
        web: WebApp {
            store: function_store("web", &table).await,
            contract,
            signer: Signer::new(WEB_SECRET.to_vec()).expect("a long enough secret"),
            sign_in: SignIn::NotConfigured,
            secure_cookies: true,
        },
    }
}

/// `req` from a browser signed in to the web app as an ops admin of every team: with
/// the session cookie the deployed sign-in sets (no authorizer claims: the web routes
/// have none).
fn with_session(mut req: Request, signer: &Signer) -> Request {
    let caller = test_caller("ops@leadwatch.test", &ALL_TEAMS, &[Role::Ops, Role::Admin]);
    let claims = ClaimMapping::default().claims_for(&caller);
    let value = session_value(signer, &claims, now() + chrono::Duration::hours(8));
    let cookie = format!("{SESSION_COOKIE}={value}");
    req.headers_mut()
        .insert("cookie", cookie.parse().expect("a cookie header"));
    req
}

impl Apps {
    async fn call(&self, function: &str, req: Request) -> Response<Body> {
        let now = gateway_time(&req).expect("the event carries requestContext.timeEpoch");
        match function {
            "ingest" => {
                leadwatch_api::ingest::handle(&self.ingest, leadwatch_e2e::signed_in(req), now)
                    .await
            }
            "disposition" => {
                leadwatch_api::disposition::handle(
                    &self.disposition,
                    leadwatch_e2e::signed_in(req),
                    now,
                )
                .await
            }
            "report" => {
                leadwatch_api::report::handle(&self.report, leadwatch_e2e::signed_in(req), now)
                    .await
            }
            "web" => {
                let router =
                    leadwatch_api::function_router(leadwatch_api::web::routes(self.web.clone()));
                leadwatch_api::entry::call(&router, with_session(req, &self.web.signer), now).await
            }
            other => panic!("x-leadwatch-function {other:?} is not one of {FUNCTIONS:?}"),
        }
    }
}

/// The test secret of a signed source the document's examples name.
fn secret_of(source: &str) -> &'static [u8] {
    match source {
        "crm" => CRM_SECRET,
        "marketing" => MARKETING_SECRET,
        other => panic!("x-leadwatch-source {other:?} is not a source of the tests"),
    }
}

/// Standard base64 with padding (API Gateway's encoding of form bodies).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The request as an HTTP API (payload 2.0) event on the `$default` stage, the way
/// Lambda delivers it: JSON bodies as text, other bodies base64-encoded.
fn event(
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    content_type: Option<&str>,
    body: Option<&str>,
) -> Request {
    let raw_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = json!({ "host": "api.example.com", "authorization": "Bearer test" });
    if let Some(ct) = content_type {
        headers["content-type"] = json!(ct);
    }
    let base64_encoded = body.is_some() && content_type != Some("application/json");
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1",
                      "sourceIp": "203.0.113.7", "userAgent": "openapi-test" },
            "requestId": unique_name("req"), "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "23/Nov/2026:15:00:00 +0000", "timeEpoch": now().timestamp_millis()
        },
        "isBase64Encoded": base64_encoded
    });
    if !query.is_empty() {
        event["queryStringParameters"] = json!(query);
    }
    if let Some(body) = body {
        event["body"] = json!(if base64_encoded {
            base64(body.as_bytes())
        } else {
            body.to_string()
        });
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

fn json_of(r: &Response<Body>) -> Value {
    serde_json::from_slice(r.body().as_ref()).unwrap_or(Value::Null)
}

/// A function's refusal of a route it does not serve.
fn refused(r: &Response<Body>) -> bool {
    let code = json_of(r)["error"].as_str().map(str::to_string);
    match r.status() {
        StatusCode::NOT_FOUND => code.as_deref() == Some("no_route"),
        StatusCode::METHOD_NOT_ALLOWED => code.as_deref() == Some("method_not_allowed"),
        _ => false,
    }
}

fn describe(r: &Response<Body>) -> String {
    format!(
        "{} {}",
        r.status().as_u16(),
        String::from_utf8_lossy(r.body().as_ref())
            .chars()
            .take(300)
            .collect::<String>()
    )
}

#[test]
fn base64_matches_the_standard_alphabet_and_padding() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"email=a%40b.co&x=?"), "ZW1haWw9YSU0MGIuY28meD0/");
}

#[tokio::test]
async fn every_documented_operation_is_served_by_its_function_only() {
    let ops = operations();
    let apps = apps().await;
    let mut problems = Vec::new();
    // What the functions answered, for `check_openapi.py --responses`.
    let mut answers = Vec::new();
    // In document order: the lead the first examples create is the one later operations
    // address (the `{id}` example), so most answers are successes, but any documented
    // status passes.
    for op in &ops {
        let path = op.concrete_path();
        for example in &op.examples {
            let what = format!("{} (example {:?})", op.route(), example.name);
            let req = || {
                let req = event(
                    &op.method,
                    &path,
                    &op.query,
                    example.content_type.as_deref(),
                    example.body.as_deref(),
                );
                match example.source.as_deref() {
                    Some(source) => signed_as(req, source, secret_of(source), now()),
                    None => req,
                }
            };
            let r = apps.call(&op.function, req()).await;
            let status = r.status().as_u16().to_string();
            eprintln!("{what}: {}", describe(&r));
            if refused(&r) {
                problems.push(format!(
                    "{what}: documented for the {} function, which has no such route: {}",
                    op.function,
                    describe(&r)
                ));
                continue;
            }
            answers.push(json!({
                "method": op.method, "path": op.path, "status": r.status().as_u16(),
                "content_type": r.headers().get("content-type").and_then(|v| v.to_str().ok()),
                "body": String::from_utf8_lossy(r.body().as_ref()),
            }));
            if !op.responses.contains(&status) {
                problems.push(format!(
                    "{what}: answered {status}, which the document does not list ({:?}): {}",
                    op.responses,
                    describe(&r)
                ));
            }
            if matches!(status.as_str(), "400" | "415" | "422") {
                problems.push(format!(
                    "{what}: the document's own example is refused: {}",
                    describe(&r)
                ));
            }
            // The web app's failures are HTML pages (its tag in the document says so).
            let html_page = op.function == "web"
                && r.headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|ct| ct.starts_with("text/html"));
            if !r.status().is_success() && !html_page {
                let body = json_of(&r);
                if !(body["error"].is_string() && body["message"].is_string()) {
                    problems.push(format!(
                        "{what}: an error without the Error body: {}",
                        describe(&r)
                    ));
                }
            }
            for other in FUNCTIONS.iter().filter(|f| **f != op.function) {
                let r = apps.call(other, req()).await;
                if !(r.status() == StatusCode::NOT_FOUND && json_of(&r)["error"] == "no_route") {
                    problems.push(format!(
                        "{what}: the {other} function answers it too (the document says {}): {}",
                        op.function,
                        describe(&r)
                    ));
                }
            }
        }
    }
    assert!(!answers.is_empty(), "no answers to check");
    let answers = Value::Array(answers).to_string();
    let (ok, _, stderr) = check_openapi(&["--responses", "-"], answers.as_bytes());
    if !ok {
        problems.push(format!("answers that do not match the document:\n{stderr}"));
    }
    assert!(
        problems.is_empty(),
        "docs/openapi.yaml and the handlers disagree:\n  {}",
        problems.join("\n  ")
    );
}

#[tokio::test]
async fn routes_the_document_does_not_list_are_refused_by_every_function() {
    let ops = operations();
    let apps = apps().await;
    let id = "ld_0123456789abcdef01234567";
    let mut documented: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for op in &ops {
        documented
            .entry(op.path.replace("{id}", id))
            .or_default()
            .push(op.method.clone());
    }
    // Undocumented methods on documented paths.
    let mut requests: Vec<(String, String)> = Vec::new();
    for (path, methods) in &documented {
        for method in METHODS.iter().filter(|m| !methods.iter().any(|d| d == *m)) {
            requests.push((method.to_string(), path.clone()));
        }
    }
    // Undocumented paths, under every method.
    for path in [
        "/".to_string(),
        "/lead".to_string(),
        format!("/leads/{id}/escalate"),
        format!("/leads/{id}/signals/1"),
        format!("/leads/{id}/accept/now"),
        "/queue/sdr-na".to_string(),
        "/reports".to_string(),
        "/reports/funnel".to_string(),
        "/export/csv".to_string(),
    ] {
        assert!(!documented.contains_key(&path), "{path} is documented");
        for method in METHODS {
            requests.push((method.to_string(), path.clone()));
        }
    }
    assert!(
        requests
            .iter()
            .any(|(m, p)| m == "DELETE" && *p == format!("/leads/{id}")),
        "DELETE /leads/{{id}} is among the undocumented routes"
    );
    let mut problems = Vec::new();
    for (method, path) in &requests {
        for function in FUNCTIONS {
            let r = apps
                .call(
                    function,
                    event(
                        method,
                        path,
                        &BTreeMap::new(),
                        Some("application/json"),
                        Some("{}"),
                    ),
                )
                .await;
            if !refused(&r) {
                problems.push(format!(
                    "{method} {path} is not in docs/openapi.yaml, but the {function} function answers it: {}",
                    describe(&r)
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "handlers serve routes the document does not list:\n  {}",
        problems.join("\n  ")
    );
}

#[tokio::test]
async fn malformed_requests_get_the_documented_errors() {
    let ops = operations();
    let apps = apps().await;
    let too_large = "x".repeat(leadwatch_api::request::MAX_BODY_BYTES + 1);
    let mut problems = Vec::new();
    let mut answers = Vec::new();
    for op in &ops {
        let path = op.concrete_path();
        let unknown = op.path.replace("{id}", "ld_ffffffffffffffffffffffff");
        let example = &op.examples[0];
        let content_type = example.content_type.as_deref();
        let body = example.body.as_deref();
        let no_query = BTreeMap::new();
        let mut variants: Vec<(&str, Request)> = vec![
            (
                "no query parameters",
                event(&op.method, &path, &no_query, content_type, body),
            ),
            (
                "an unknown query parameter",
                event(
                    &op.method,
                    &path,
                    &BTreeMap::from([("frobnicate".to_string(), "1".to_string())]),
                    content_type,
                    body,
                ),
            ),
        ];
        if unknown != path {
            variants.push((
                "an unknown lead",
                event(&op.method, &unknown, &op.query, content_type, body),
            ));
        }
        if body.is_some() {
            let json = Some("application/json");
            variants.extend([
                (
                    "a body that is not JSON",
                    event(&op.method, &path, &op.query, json, Some("{\"by\":")),
                ),
                (
                    "a JSON array body",
                    event(&op.method, &path, &op.query, json, Some("[]")),
                ),
                (
                    "an empty JSON object",
                    event(&op.method, &path, &op.query, json, Some("{}")),
                ),
                (
                    "a body over 64 KiB",
                    event(&op.method, &path, &op.query, json, Some(&too_large)),
                ),
                (
                    "a text/plain body",
                    event(&op.method, &path, &op.query, Some("text/plain"), body),
                ),
                ("an over-long Idempotency-Key", {
                    let mut r = event(&op.method, &path, &op.query, content_type, body);
                    r.headers_mut()
                        .insert("idempotency-key", "k".repeat(129).parse().unwrap());
                    r
                }),
            ]);
        }
        for (what, req) in variants {
            let what = format!("{} with {what}", op.route());
            let r = apps.call(&op.function, req).await;
            eprintln!("{what}: {}", describe(&r));
            if refused(&r) {
                problems.push(format!(
                    "{what}: refused as an unknown route: {}",
                    describe(&r)
                ));
                continue;
            }
            let status = r.status().as_u16().to_string();
            if !op.responses.contains(&status) {
                problems.push(format!(
                    "{what}: answered {status}, which the document does not list ({:?}): {}",
                    op.responses,
                    describe(&r)
                ));
            }
            answers.push(json!({
                "method": op.method, "path": op.path, "status": r.status().as_u16(),
                "content_type": r.headers().get("content-type").and_then(|v| v.to_str().ok()),
                "body": String::from_utf8_lossy(r.body().as_ref()),
            }));
        }
    }
    let answers = Value::Array(answers).to_string();
    let (ok, _, stderr) = check_openapi(&["--responses", "-"], answers.as_bytes());
    if !ok {
        problems.push(format!("answers that do not match the document:\n{stderr}"));
    }
    assert!(
        problems.is_empty(),
        "docs/openapi.yaml does not describe how the handlers refuse bad requests:\n  {}",
        problems.join("\n  ")
    );
}
