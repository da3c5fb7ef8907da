//! Hostile input end to end (issue 13): invisible characters in emails and lead text,
//! broken form encoding, repeated JSON keys, signature timestamps at the integer limits
//! and over-long ids, through the real routers against DynamoDB (moto). Every refusal is
//! a 4xx naming the field, and is checked to have written nothing.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use lambda_http::http::{Request as HttpRequest, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

use leadwatch_adapters::store::Store;
use leadwatch_api::disposition::{parse_disposition, Action, DispositionApp};
use leadwatch_api::ingest::IngestApp;
use leadwatch_api::report::ReportApp;
use leadwatch_api::signature::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use leadwatch_core::access::Role;
use leadwatch_core::lead::{LeadProfile, Signal};
use leadwatch_core::state::LeadState;
use leadwatch_core::text::is_hidden_format;
use leadwatch_core::Contract;
use leadwatch_e2e::lead_id as lead_id_for;
use leadwatch_e2e::{moto, signed, signed_in, test_caller, test_sources, unique_name, ALL_TEAMS};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

struct Stack {
    ingest: IngestApp,
    disposition: DispositionApp,
    report: ReportApp,
}

/// The three route sets over one table; `with_table: false` leaves the table uncreated,
/// so any request that reaches DynamoDB fails (503) instead of answering.
async fn stack(with_table: bool) -> Stack {
    let config = moto().sdk_config().await;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&config),
        unique_name("hostile"),
    );
    if with_table {
        store.create_table().await.unwrap();
    }
    let contract = Arc::new(Contract::default_contract().unwrap());
    Stack {
        ingest: {
            let mut app = IngestApp::new(store.clone(), Arc::clone(&contract));
            app.sources = test_sources();
            app
        },
        disposition: DispositionApp {
            store: store.clone(),
            contract: Arc::clone(&contract),
        },
        report: ReportApp {
            exports: Some(leadwatch_e2e::exports::exports_for(store.table_name()).await),
            store,
            contract,
        },
    }
}

impl Stack {
    fn store(&self) -> &Store {
        &self.ingest.store
    }

    /// The request through whichever route set serves its path.
    async fn call(&self, req: Request) -> Response<Body> {
        let path = req.uri().path().to_string();
        let is_disposition = ["/accept", "/reject", "/qualify", "/touch"]
            .iter()
            .any(|suffix| path.ends_with(suffix))
            || path == "/queue";
        if is_disposition {
            leadwatch_api::disposition::handle(&self.disposition, signed_in(req), now()).await
        } else if path.starts_with("/reports") || path.starts_with("/export") {
            leadwatch_api::report::handle(&self.report, signed_in(req), now()).await
        } else {
            // Leads come in as the CRM sends them (signed), unless the test signs its own.
            let req = if req.method() == "POST" && !req.headers().contains_key(SIGNATURE_HEADER) {
                signed(req, now())
            } else {
                req
            };
            leadwatch_api::ingest::handle(&self.ingest, signed_in(req), now()).await
        }
    }

    async fn stored(&self, email: &str) -> Option<LeadState> {
        self.store().get_lead(&lead_id_for(email)).await.unwrap()
    }
}

fn request(method: &str, path: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Request {
    HttpRequest::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(Body::Binary(body.into()))
        .unwrap()
}

fn post_json(path: &str, body: &Value) -> Request {
    request("POST", path, "application/json", body.to_string())
}

fn post_raw_json(path: &str, body: &str) -> Request {
    request("POST", path, "application/json", body)
}

fn get(path: &str) -> Request {
    request("GET", path, "application/json", Vec::new())
}

fn json_of(r: &Response<Body>) -> Value {
    serde_json::from_slice(r.body().as_ref()).unwrap_or(Value::Null)
}

/// The fields a 4xx names.
fn named(r: &Response<Body>) -> Vec<String> {
    json_of(r)["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|x| x["field"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn demo_lead(email: &str) -> Value {
    json!({
        "email": email, "first_name": "Dana", "last_name": "Lee", "title": "VP RevOps",
        "company": "Northwind", "employees": 250, "industry": "SaaS", "country": "US",
        "source": "website",
        "signals": [{"type": "demo_request", "at": "2026-11-23T14:50:00Z", "question": true,
                     "detail": "Do you integrate with Salesforce?"}]
    })
}

fn has_hidden(text: &str) -> bool {
    text.chars().any(is_hidden_format)
}

#[tokio::test]
async fn an_email_with_an_invisible_character_is_422_and_makes_no_second_lead() {
    let s = stack(true).await;
    let r = s
        .call(post_json("/leads", &demo_lead("dana@northwind.io")))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    for c in [
        '\u{200B}', '\u{200E}', '\u{202E}', '\u{2066}', '\u{FEFF}', '\u{AD}',
    ] {
        let email = format!("dana{c}@northwind.io");
        let r = s.call(post_json("/leads", &demo_lead(&email))).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{email:?}");
        assert_eq!(json_of(&r)["error"], "invalid_fields");
        assert_eq!(named(&r), vec!["email"]);
        let code = format!("U+{:04X}", u32::from(c));
        let problem = json_of(&r)["fields"][0]["problem"].to_string();
        assert!(problem.contains(&code), "{code} not in {problem}");
        assert!(
            s.stored(&email).await.is_none(),
            "a second lead for {email:?}"
        );
    }
    let first = s.stored("dana@northwind.io").await.unwrap();
    assert_eq!(first.version, 1, "the real lead is untouched");
}

/// A lead as it may have been stored before intake dropped bidi controls: its profile
/// and packet carry them.
fn stored_before_the_fix(contract: &Contract) -> LeadState {
    let rlo = |text: &str| format!("\u{202E}{text}\u{202C}");
    let profile = LeadProfile {
        email: "old@acme.io".into(),
        first_name: Some(rlo("Ola")),
        title: Some(rlo("VP Sales")),
        company: Some(rlo("Acme")),
        employees: Some(250),
        country: Some("US".into()),
        source: Some(rlo("website")),
        ..Default::default()
    };
    let mut state = LeadState::new(lead_id_for("old@acme.io"), profile, contract, now());
    let demo = Signal {
        kind: "demo_request".into(),
        at: now(),
        seconds_on_page: None,
        question: true,
        detail: Some("call me".into()),
    };
    state.ingest(None, &[demo], contract, now());
    let packet = state.packet.as_mut().expect("an MQL has a packet");
    packet.name = rlo("Ola");
    packet.company = rlo("Acme");
    packet.title = Some("\u{200B}=1+1".into());
    packet.evidence[0].detail = Some(rlo("+1 555-0100"));
    state
}

#[tokio::test]
async fn bidi_controls_reach_neither_the_store_nor_the_export() {
    let s = stack(true).await;
    let rlo = |text: &str| format!("\u{202E}{text}\u{202C}\u{2066}");
    let mut lead = demo_lead("dana@northwind.io");
    lead["first_name"] = json!(rlo("Dana"));
    lead["company"] = json!(rlo("Northwind"));
    lead["title"] = json!(rlo("VP RevOps"));
    lead["signals"][0]["detail"] = json!(rlo("call +1 555-0100?"));
    let r = s.call(post_json("/leads", &lead)).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.body());
    let stored = s.stored("dana@northwind.io").await.unwrap();
    let as_stored = serde_json::to_string(&stored).unwrap();
    assert!(!has_hidden(&as_stored), "{as_stored}");
    assert_eq!(stored.profile.company.as_deref(), Some("Northwind"));
    assert!(stored
        .packet
        .as_ref()
        .unwrap()
        .opener
        .contains("+1 555-0100"));

    // Data stored before the fix is cleaned on the way out.
    let old = stored_before_the_fix(&s.ingest.contract);
    s.store().import(std::slice::from_ref(&old)).await.unwrap();
    let csv_text = leadwatch_e2e::exports::export_csv(
        |path| {
            let s = &s;
            async move { leadwatch_e2e::exports::answer(&s.call(get(&path)).await) }
        },
        "/export",
    )
    .await;
    assert!(!has_hidden(&csv_text), "{csv_text:?}");
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv_text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 2);
    let old_row = rows.iter().find(|r| r[0] == old.lead_id).unwrap();
    assert_eq!(&old_row[2], "Ola");
    assert_eq!(
        &old_row[4], "'=1+1",
        "the formula hidden behind U+200B is neutralised"
    );
    assert!(old_row[14].contains("+1 555-0100"), "{old_row:?}");
}

#[tokio::test]
async fn malformed_form_encoding_is_refused_and_no_replacement_character_is_stored() {
    let s = stack(true).await;
    let form = "application/x-www-form-urlencoded";
    for (body, status, field) in [
        (
            "email=ana%40acme.io&first_name=%E9&signal=demo_request",
            StatusCode::UNPROCESSABLE_ENTITY,
            "first_name",
        ),
        (
            "email=ana%40acme.io&company=%ZZ&signal=demo_request",
            StatusCode::UNPROCESSABLE_ENTITY,
            "company",
        ),
        (
            "email=ana%40acme.io&signal=demo_request&message=100%",
            StatusCode::UNPROCESSABLE_ENTITY,
            "message",
        ),
        (
            "email=ana%40acme.io&last_name=M%C3&signal=demo_request",
            StatusCode::UNPROCESSABLE_ENTITY,
            "last_name",
        ),
        (
            "email=ana%40acme.io&na%ZZme=x&signal=demo_request",
            StatusCode::BAD_REQUEST,
            "body",
        ),
    ] {
        let r = s.call(request("POST", "/leads", form, body)).await;
        assert_eq!(r.status(), status, "{body}: {:?}", r.body());
        assert_eq!(named(&r), vec![field], "{body}");
        assert!(!String::from_utf8_lossy(r.body().as_ref()).contains('\u{FFFD}'));
    }
    assert!(s.stored("ana@acme.io").await.is_none());
    // Raw Latin-1 bytes in a value are no better than an escaped one.
    let r = s
        .call(request(
            "POST",
            "/leads",
            form,
            b"email=ana%40acme.io&company=Caf\xe9".to_vec(),
        ))
        .await;
    assert_eq!(named(&r), vec!["company"]);
    // The same form, well encoded, is a lead.
    let r = s
        .call(request(
            "POST",
            "/leads",
            form,
            "email=ana%40acme.io&first_name=%C3%89lodie&signal=demo_request",
        ))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.body());
    let stored = s.stored("ana@acme.io").await.unwrap();
    assert_eq!(stored.profile.first_name.as_deref(), Some("Élodie"));
}

#[tokio::test]
async fn a_repeated_json_key_is_422_naming_it_on_every_json_body() {
    let s = stack(true).await;
    let r = s
        .call(post_raw_json(
            "/leads",
            r#"{"email":"ana@acme.io","email":"bo@acme.io","signals":[{"type":"demo_request"}]}"#,
        ))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(named(&r), vec!["email"]);
    assert!(s.stored("ana@acme.io").await.is_none());
    assert!(s.stored("bo@acme.io").await.is_none());

    let r = s
        .call(post_json("/leads", &demo_lead("dana@northwind.io")))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = lead_id_for("dana@northwind.io");
    let r = s
        .call(post_raw_json(
            &format!("/leads/{id}/signals"),
            r#"{"signals":[{"type":"blog_view","at":"2026-11-23T14:55:00Z","type":"demo_request"}]}"#,
        ))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(named(&r), vec!["signals[0].type"]);
    assert_eq!(s.stored("dana@northwind.io").await.unwrap().version, 1);

    // Disposition bodies go through the same reader.
    let contract = &s.disposition.contract;
    let sam = test_caller("sam", &ALL_TEAMS, &[Role::Rep]);
    let err = parse_disposition(
        Action::Accept,
        br#"{"by":"sam","by":"kim"}"#,
        contract,
        &sam,
    )
    .unwrap_err();
    assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err.fields[0].field, "by");
    let err = parse_disposition(
        Action::Reject,
        br#"{"by":"sam","reason":"no_intent","reason":"bad_fit"}"#,
        contract,
        &sam,
    )
    .unwrap_err();
    assert_eq!(err.fields[0].field, "reason");
}

#[tokio::test]
async fn signature_timestamps_at_the_integer_limits_are_401_not_500() {
    let s = stack(true).await;
    let body = demo_lead("signed@acme.io").to_string();
    for timestamp in [
        i64::MAX.to_string(),
        i64::MIN.to_string(),
        "9223372036854775808".to_string(),
        "-9223372036854775809".to_string(),
        "-1".to_string(),
        (now().timestamp() + 10 * 365 * 86_400).to_string(),
    ] {
        let seconds = timestamp.parse::<i64>().unwrap_or(0);
        let sig = hex::encode(sign(b"whsec_test", seconds, body.as_bytes()));
        let mut req = request("POST", "/leads", "application/json", body.clone());
        req.headers_mut()
            .insert(TIMESTAMP_HEADER, timestamp.parse().unwrap());
        req.headers_mut()
            .insert(SIGNATURE_HEADER, format!("sha256={sig}").parse().unwrap());
        let r = s.call(req).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{timestamp}");
        assert_eq!(json_of(&r)["error"], "bad_signature", "{timestamp}");
    }
    assert!(s.stored("signed@acme.io").await.is_none());
}

#[tokio::test]
async fn over_long_ids_are_answered_4xx_before_dynamodb_is_asked() {
    // No table: a request that reaches DynamoDB fails with 503.
    let s = stack(false).await;
    let control = s
        .call(get(&format!("/leads/{}", lead_id_for("a@b.co"))))
        .await;
    assert_eq!(control.status(), StatusCode::SERVICE_UNAVAILABLE);

    let long = "x".repeat(5_000);
    let accept = json!({"by": "sam@acme.io"});
    let reject = json!({"by": "sam@acme.io", "reason": "no_intent"});
    let signals = json!({"signals": [{"type": "blog_view"}]});
    let mut keyed = post_json("/leads", &demo_lead("kim@acme.io"));
    keyed
        .headers_mut()
        .insert("idempotency-key", long.parse().unwrap());
    let mut keyed_signals = post_json("/leads/ld_1/signals", &signals);
    keyed_signals
        .headers_mut()
        .insert("idempotency-key", long.parse().unwrap());
    let mut keyed_accept = post_json("/leads/ld_1/accept", &accept);
    keyed_accept
        .headers_mut()
        .insert("idempotency-key", long[..129].parse().unwrap());
    let mut body_keyed = demo_lead("kim@acme.io");
    body_keyed["submission_id"] = json!(long);
    let requests = vec![
        get(&format!("/leads/{long}")),
        post_json(&format!("/leads/{long}/signals"), &signals),
        post_json(&format!("/leads/{long}/accept"), &accept),
        post_json(&format!("/leads/{long}/reject"), &reject),
        post_json(&format!("/leads/{long}/qualify"), &accept),
        post_json(&format!("/leads/{long}/touch"), &accept),
        get(&format!("/queue?team={long}")),
        get(&format!("/export?team={long}")),
        get(&format!("/export?status={long}")),
        get(&format!("/reports/sla?from=2026-10&to=2026-11&team={long}")),
        get(&format!("/reports/sla?from={long}&to=2026-11")),
        keyed,
        keyed_signals,
        keyed_accept,
        post_json("/leads", &body_keyed),
    ];
    for req in requests {
        let uri: String = req.uri().to_string().chars().take(60).collect();
        let target = format!("{} {uri}", req.method());
        let r = s.call(req).await;
        assert!(
            r.status().is_client_error(),
            "{target}...: {} {:?}",
            r.status(),
            r.body()
        );
    }
}
