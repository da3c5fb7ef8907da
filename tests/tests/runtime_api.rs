//! The real function binaries, driven through the Lambda Runtime API with API Gateway
//! HTTP API (v2) events, storing into moto: how Lambda runs them, nothing in-process.
//!
//! The second test is the proof that there is one router: the same requests, sent to
//! the three HTTP binaries and to `leadwatch serve` at the same receive time, get the
//! same statuses, headers and bodies.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use leadwatch_adapters::store::Store;
use leadwatch_api::caller::{ClaimMapping, DEV_CLAIMS_HEADER};
use leadwatch_api::ingest::signed_headers;
use leadwatch_api::{Api, Function, ROUTES};
use leadwatch_cli::serve;
use leadwatch_core::access::{Caller, Role};
use leadwatch_core::Contract;
use leadwatch_e2e::runtime_api::{decode_answer, HttpApiEvent, LambdaProcess};
use leadwatch_e2e::{moto, test_caller, unique_name, CRM_SECRET};

/// The signed sources' secrets as the ingest binary reads them locally.
const SOURCE_SECRETS: &str = r#"{"crm": "test-crm-secret", "marketing": "test-marketing-secret"}"#;

/// The headers of a request signed by the `crm` source when API Gateway received it.
fn crm_signature(body: &[u8]) -> Vec<(&'static str, String)> {
    signed_headers("crm", CRM_SECRET, TIME_EPOCH / 1000, body).to_vec()
}

/// 2026-11-23T15:00:00Z (a Monday, 10:00 in New York): when API Gateway "received"
/// every request here.
const TIME_EPOCH: i64 = 1_795_446_000_000;

fn received_at() -> DateTime<Utc> {
    Utc.timestamp_millis_opt(TIME_EPOCH)
        .single()
        .expect("a valid time")
}

async fn new_table() -> (String, Store) {
    let table = unique_name("runtime");
    let config = moto().sdk_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    store.create_table().await.expect("create the table");
    (table, store)
}

fn event<'a>(method: &'a str, path: &'a str, content_type: &str, body: &str) -> HttpApiEvent<'a> {
    HttpApiEvent {
        method,
        path,
        query: "",
        stage: "$default",
        headers: vec![
            ("content-type", content_type.to_string()),
            ("user-agent", "runtime-api-test".to_string()),
        ],
        body: (!body.is_empty()).then(|| body.as_bytes().to_vec()),
        time_epoch: TIME_EPOCH,
        claims: None,
    }
}

#[tokio::test]
async fn the_ingest_binary_serves_api_gateway_events_through_the_runtime_api() {
    let (table, store) = new_table().await;
    let lead = json!({"email": "Rae@Globex.io", "first_name": "Rae", "title": "CRO", "company": "Globex",
                      "employees": 900, "industry": "SaaS", "country": "US", "source": "website",
                      "signals": [{"type": "demo_request", "at": "2026-11-23T14:55:00Z"}]});
    // A plain HTML form of the public lane arrives base64-encoded from API Gateway.
    let form = "form=contact_sales&email=ola%40initech.io&first_name=Ola&company=Initech&employees=120&country=DE&signal=contact_sales";
    let mut signed = event("POST", "/leads", "application/json", &lead.to_string());
    signed
        .headers
        .extend(crm_signature(lead.to_string().as_bytes()));
    let events = vec![
        signed.to_json(),
        event("POST", "/leads", "application/x-www-form-urlencoded", form).to_json(),
        event("POST", "/leads", "application/json", "{not json").to_json(),
    ];
    let mut lambda = LambdaProcess::start(
        "ingest",
        &[
            ("LEADWATCH_TABLE", &table),
            ("LEADWATCH_METRICS_NAMESPACE", "Leadwatch"),
            ("LEADWATCH_SOURCE_SECRETS", SOURCE_SECRETS),
        ],
    );
    let answers = lambda.invoke_all(events);
    let (stdout, stderr) = lambda.stop();
    let logs = format!("{stdout}{stderr}");

    let (status, _, body) = decode_answer(&answers[0]);
    assert_eq!(status, 201, "{}", answers[0]);
    let body: Value = serde_json::from_slice(&body).expect("a JSON body");
    assert_eq!(body["status"], "mql");
    let (status, _, body) = decode_answer(&answers[1]);
    assert_eq!(status, 202, "{}", answers[1]);
    let body: Value = serde_json::from_slice(&body).expect("a JSON body");
    assert_eq!(
        body["status"], "received",
        "a public post learns nothing of the lead"
    );
    let (status, _, body) = decode_answer(&answers[2]);
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("\"field\":\"body\""));

    // Stored in moto, judged at the request's own time, not the wall clock.
    let stored = store
        .get_lead(&leadwatch_e2e::lead_id("rae@globex.io"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.assessment.unwrap().assessed_at.timestamp_millis(),
        TIME_EPOCH
    );
    assert!(store
        .get_lead(&leadwatch_e2e::lead_id("ola@initech.io"))
        .await
        .unwrap()
        .is_some());

    // JSON logs, with lead ids but never the raw email address.
    assert!(
        logs.lines().any(|l| serde_json::from_str::<Value>(l)
            .is_ok_and(|v| v.to_string().contains("lead stored"))),
        "{logs}"
    );
    assert!(!logs.to_lowercase().contains("rae@globex.io"), "{logs}");
    assert!(!logs.contains("ola@initech.io"), "{logs}");

    // Each new MQL is an EMF metric line for CloudWatch: MqlCreated by team, at the
    // request's time.
    let emf: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    let mql_created: Vec<&Value> = emf
        .iter()
        .filter(|v| v.get("MqlCreated").is_some())
        .collect();
    assert_eq!(mql_created.len(), 2, "{emf:?}");
    assert_eq!(
        mql_created[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Leadwatch"
    );
    assert_eq!(mql_created[0]["_aws"]["Timestamp"], json!(TIME_EPOCH));
    let teams: Vec<&str> = mql_created
        .iter()
        .filter_map(|v| v["Team"].as_str())
        .collect();
    assert!(
        teams.contains(&"ae-na") && teams.contains(&"ae-emea"),
        "{teams:?}"
    );
}

/// One request of the comparison, as both sides are sent it.
struct Probe {
    method: &'static str,
    path: String,
    query: &'static str,
    /// A named API Gateway stage in front of the path (Lambda side only; the dev
    /// server has no stages).
    stage: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// The function that serves it in AWS; an unknown route goes to every function.
    function: Option<Function>,
    /// The signed-in caller's claims (a JWT's, verified by API Gateway).
    claims: Option<HashMap<String, String>>,
}

fn probe(
    method: &'static str,
    path: impl Into<String>,
    ct: &str,
    body: impl Into<Vec<u8>>,
) -> Probe {
    let path = path.into();
    let function = function_of(method, &path);
    Probe {
        method,
        path,
        query: "",
        stage: "$default",
        headers: vec![("content-type", ct.to_string())],
        body: body.into(),
        function,
        claims: None,
    }
}

/// `p` sent by `caller`.
fn by(caller: &Caller, mut p: Probe) -> Probe {
    p.claims = Some(ClaimMapping::default().claims_for(caller).0);
    p
}

/// The function a route belongs to, by the template's routes (any method).
fn function_of(_method: &str, path: &str) -> Option<Function> {
    ROUTES.iter().find_map(|(_, pattern, function)| {
        let pattern: Vec<&str> = pattern.trim_matches('/').split('/').collect();
        let path: Vec<&str> = path.trim_matches('/').split('/').collect();
        (pattern.len() == path.len()
            && pattern
                .iter()
                .zip(&path)
                .all(|(p, s)| p.starts_with('{') || p == s))
        .then_some(*function)
    })
}

/// What both sides must agree on: status, the headers a client acts on, and the body.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    allow: Option<String>,
    replayed: Option<String>,
    body: String,
}

fn header_of(headers: &Value, name: &str) -> Option<String> {
    headers
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str().map(str::to_string))
}

#[tokio::test]
async fn the_lambda_binaries_and_leadwatch_serve_answer_every_request_identically() {
    let rae = leadwatch_e2e::lead_id("rae@globex.io");
    let ola = leadwatch_e2e::lead_id("ola@initech.io");
    let demo =
        json!({"email": "Rae@Globex.io", "first_name": "Rae", "title": "CRO", "company": "Globex",
                      "employees": 900, "industry": "SaaS", "country": "US", "source": "website",
                      "signals": [{"type": "demo_request", "at": "2026-11-23T14:55:00Z"}]})
        .to_string();
    let form =
        "form=contact_sales&email=ola%40initech.io&first_name=Ola&last_name=Berg&title=VP+Sales\
                &company=Initech&employees=120&country=DE&signal=contact_sales";
    let mut keyed = probe("POST", "/leads", "application/json", demo.clone());
    keyed.headers.push(("idempotency-key", "sub-1".to_string()));
    keyed.headers.extend(crm_signature(demo.as_bytes()));
    let mut replay = probe("POST", "/leads", "application/json", demo.clone());
    replay
        .headers
        .push(("idempotency-key", "sub-1".to_string()));
    replay.headers.extend(crm_signature(demo.as_bytes()));
    let signals_body = r#"{"signals":[{"type":"pricing_page_visit","at":"2026-11-23T14:58:00Z","seconds_on_page":95}]}"#;
    let mut signals = probe(
        "POST",
        format!("/leads/{rae}/signals"),
        "application/json",
        signals_body,
    );
    signals
        .headers
        .extend(crm_signature(signals_body.as_bytes()));
    // Sam sells in North America; Eve in EMEA, where Ola's lead is routed; Olga is ops.
    let sam = test_caller("sam@seller.io", &["ae-na"], &[Role::Rep]);
    let eve = test_caller("eve@seller.io", &["ae-emea"], &[Role::Manager]);
    let olga = test_caller("olga@seller.io", &[], &[Role::Ops]);
    let mut staged = by(
        &eve,
        probe(
            "POST",
            format!("/leads/{ola}/touch"),
            "application/json",
            r#"{}"#,
        ),
    );
    staged.stage = "prod";
    let mut queue = by(&eve, probe("GET", "/queue", "", ""));
    queue.query = "team=ae-emea";
    let mut report = by(&olga, probe("GET", "/reports/sla", "", ""));
    report.query = "from=2026-11&to=2026-11";
    let mut report_typo = by(&olga, probe("GET", "/reports/sla", "", ""));
    report_typo.query = "form=2026-11";
    // Exports are jobs with random ids (tests/tests/exports.rs); what both sides must
    // answer alike is an unknown job.
    let export = by(
        &olga,
        probe(
            "GET",
            "/exports/ex_00000000000000000000000000000000",
            "",
            "",
        ),
    );
    let mut nowhere = probe("GET", "/nowhere", "", "");
    nowhere.function = None;
    let probes = vec![
        keyed,
        probe("POST", "/leads", "application/x-www-form-urlencoded", form),
        replay,
        probe("POST", "/leads", "application/json", "{not json"),
        probe(
            "POST",
            "/leads",
            "application/json",
            r#"{"email":"x","signals":[]}"#,
        ),
        probe("POST", "/leads", "text/xml", "<lead/>"),
        probe("POST", "/leads", "application/json", vec![b' '; 70 * 1024]),
        probe("GET", "/leads", "", ""),
        signals,
        by(&sam, probe("GET", format!("/leads/{rae}"), "", "")),
        by(&sam, probe("GET", "/leads/ld_nobody", "", "")),
        probe("DELETE", format!("/leads/{rae}"), "", ""),
        by(
            &sam,
            probe(
                "POST",
                format!("/leads/{rae}/accept"),
                "application/json",
                r#"{"by":"sam@seller.io"}"#,
            ),
        ),
        by(
            &eve,
            probe(
                "POST",
                format!("/leads/{ola}/reject"),
                "application/json",
                r#"{"reason":"nope"}"#,
            ),
        ),
        // Sam may not act on an EMEA lead, and nobody without a token on any.
        by(
            &sam,
            probe(
                "POST",
                format!("/leads/{ola}/accept"),
                "application/json",
                "",
            ),
        ),
        probe("GET", format!("/leads/{rae}"), "", ""),
        staged,
        queue,
        report,
        report_typo,
        export,
        nowhere,
    ];

    // The Lambda side: the three HTTP function binaries on table A.
    let (table_a, _) = new_table().await;
    let env = [
        ("LEADWATCH_TABLE", table_a.as_str()),
        ("LEADWATCH_SOURCE_SECRETS", SOURCE_SECRETS),
    ];
    let mut ingest = LambdaProcess::start("ingest", &env);
    let mut disposition = LambdaProcess::start("disposition", &env);
    let mut report_fn = LambdaProcess::start("report", &env);
    let mut lambda_answers: Vec<Vec<Answer>> = Vec::new();
    for p in &probes {
        let event = HttpApiEvent {
            method: p.method,
            path: &p.path,
            query: p.query,
            stage: p.stage,
            headers: p.headers.clone(),
            body: (!p.body.is_empty()).then(|| p.body.clone()),
            time_epoch: TIME_EPOCH,
            claims: p.claims.clone(),
        }
        .to_json();
        let functions = match p.function {
            Some(f) => vec![f],
            None => vec![Function::Ingest, Function::Disposition, Function::Report],
        };
        let mut answers = Vec::new();
        for f in functions {
            let process = match f {
                Function::Ingest => &mut ingest,
                Function::Disposition => &mut disposition,
                Function::Report => &mut report_fn,
            };
            let answer = process.invoke_all(vec![event.clone()]).remove(0);
            let (status, headers, body) = decode_answer(&answer);
            answers.push(Answer {
                status,
                content_type: header_of(&headers, "content-type"),
                allow: header_of(&headers, "allow"),
                replayed: header_of(&headers, "idempotent-replayed"),
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        lambda_answers.push(answers);
    }
    for process in [ingest, disposition, report_fn] {
        process.stop();
    }

    // The dev server on table B, its clock set to the same receive time.
    let (table_b, store_b) = new_table().await;
    let contract = Arc::new(Contract::default_contract().expect("the built-in contract"));
    let listener = serve::bind(0).await.expect("bind a loopback port");
    let base = serve::base_url(listener.local_addr().expect("bound address"));
    let api = Api::new(store_b, contract).with_ingest(
        leadwatch_e2e::test_sources(),
        leadwatch_core::LeadIds::development(),
    );
    tokio::spawn(serve::run_with_clock(
        listener,
        api,
        received_at,
        std::future::pending(),
    ));
    let client: Client<_, String> = Client::builder(TokioExecutor::new()).build_http();
    let mut served_answers = Vec::new();
    for p in &probes {
        let uri = if p.query.is_empty() {
            format!("{base}{}", p.path)
        } else {
            format!("{base}{}?{}", p.path, p.query)
        };
        let mut req = lambda_http::http::Request::builder()
            .method(p.method)
            .uri(uri);
        for (k, v) in &p.headers {
            if !v.is_empty() {
                req = req.header(*k, v);
            }
        }
        // The dev server's sign-in: the same claims, in its development header.
        if let Some(claims) = &p.claims {
            req = req.header(
                DEV_CLAIMS_HEADER,
                serde_json::to_string(claims).expect("claims as JSON"),
            );
        }
        let req = req
            .body(String::from_utf8(p.body.clone()).expect("UTF-8 probes"))
            .expect("a request");
        let response = client.request(req).await.expect("the dev server answers");
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.expect("the body").to_bytes();
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        served_answers.push(Answer {
            status: parts.status.as_u16(),
            content_type: header("content-type"),
            allow: header("allow"),
            replayed: header("idempotent-replayed"),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
    let _ = table_b;

    // Every request: the dev server's answer is each function's answer.
    for ((p, lambda), served) in probes.iter().zip(&lambda_answers).zip(&served_answers) {
        for answer in lambda {
            assert_eq!(
                answer, served,
                "{} {}?{}: the Lambda binary and leadwatch serve differ",
                p.method, p.path, p.query
            );
        }
    }
    // And the answers are the ones the routes promise, so the comparison is not
    // between two equally broken sides.
    let statuses: Vec<u16> = served_answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        vec![
            201, 202, 201, 400, 422, 415, 413, 405, 200, 200, 404, 405, 200, 422, 403, 401, 200,
            200, 200, 422, 404, 404
        ],
        "{served_answers:#?}"
    );
    assert_eq!(served_answers[2].replayed.as_deref(), Some("true"));
    assert_eq!(served_answers[7].allow.as_deref(), Some("POST, OPTIONS"));
    assert!(
        served_answers[14].body.contains("dispose:ae-emea"),
        "{:?}",
        served_answers[14]
    );
    assert!(
        served_answers[20].body.contains("not_found"),
        "{:?}",
        served_answers[20]
    );
    let queue: Value = serde_json::from_str(&served_answers[17].body).expect("queue JSON");
    assert_eq!(queue["as_of"], json!(received_at()));
}
