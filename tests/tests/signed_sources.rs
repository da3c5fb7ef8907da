//! The signed lane's guarantees end to end, through the real router into DynamoDB
//! (moto): a signed request is applied once however often it is replayed inside its
//! window, a rotating source's two secrets both work, and a request that wrote nothing
//! can be sent again.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use lambda_http::http::{Request as HttpRequest, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

use leadwatch_adapters::secrets::SourceSecrets;
use leadwatch_adapters::store::Store;
use leadwatch_api::ingest::{handle, IngestApp};
use leadwatch_core::Contract;
use leadwatch_e2e::{lead_id, moto, signed, signed_as, table_snapshot, unique_name};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

async fn app(sources: SourceSecrets) -> IngestApp {
    let config = moto().sdk_config().await;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&config),
        unique_name("signed"),
    );
    store.create_table().await.unwrap();
    IngestApp {
        sources,
        ..IngestApp::new(store, Arc::new(Contract::default_contract().unwrap()))
    }
}

fn post(path: &str, body: &Value) -> Request {
    HttpRequest::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap()
}

fn json_of(r: &Response<Body>) -> Value {
    serde_json::from_slice(r.body().as_ref()).unwrap_or(Value::Null)
}

/// Every item of the app's table (see [`table_snapshot`]).
async fn table(app: &IngestApp) -> Vec<String> {
    table_snapshot(&app.store).await
}

fn lead(email: &str) -> Value {
    json!({"email": email, "title": "VP Sales", "company": "Acme", "employees": 300,
           "country": "US", "signals": [{"type": "pricing_page_visit", "at": now().to_rfc3339()}]})
}

#[tokio::test]
async fn a_replayed_signed_request_writes_nothing() {
    let app = app(leadwatch_e2e::test_sources()).await;
    let created = handle(
        &app,
        signed(post("/leads", &lead("kim@acme.io")), now()),
        now(),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = lead_id("kim@acme.io");

    // A captured signals post, sent again and again within its five minutes.
    let meeting = json!({"signals": [{"type": "meeting_accepted", "at": now().to_rfc3339()}]});
    let captured = || signed(post(&format!("/leads/{id}/signals"), &meeting), now());
    let first = handle(&app, captured(), now()).await;
    assert_eq!(first.status(), StatusCode::OK, "{:?}", first.body());
    let before = table(&app).await;
    for later in [
        Duration::seconds(1),
        Duration::seconds(120),
        Duration::seconds(299),
    ] {
        let replay = handle(&app, captured(), now() + later).await;
        assert_eq!(replay.status(), StatusCode::CONFLICT, "{later}");
        assert_eq!(json_of(&replay)["error"], "replayed");
        assert_eq!(table(&app).await, before, "{later}: the table is unchanged");
    }
    // Past the window the timestamp alone refuses it.
    let stale = handle(&app, captured(), now() + Duration::seconds(301)).await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    let kim = app.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(
        kim.signals
            .iter()
            .filter(|s| s.kind == "meeting_accepted")
            .count(),
        1,
        "counted once"
    );

    // The same for a lead post without an idempotency key.
    let captured = || signed(post("/leads", &lead("lee@contoso.com")), now());
    assert_eq!(
        handle(&app, captured(), now()).await.status(),
        StatusCode::CREATED
    );
    let before = table(&app).await;
    let replay = handle(&app, captured(), now() + Duration::seconds(5)).await;
    assert_eq!(replay.status(), StatusCode::CONFLICT);
    assert_eq!(table(&app).await, before);
}

#[tokio::test]
async fn a_replay_with_an_idempotency_key_gets_the_first_answer_and_writes_nothing() {
    let app = app(leadwatch_e2e::test_sources()).await;
    let mut body = lead("ana@acme.io");
    body["submission_id"] = json!("crm-42");
    let first = handle(&app, signed(post("/leads", &body), now()), now()).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let before = table(&app).await;
    let replay = handle(&app, signed(post("/leads", &body), now()), now()).await;
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(json_of(&replay), json_of(&first));
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(table(&app).await, before);
}

#[tokio::test]
async fn a_request_that_wrote_nothing_can_be_sent_again() {
    let app = app(leadwatch_e2e::test_sources()).await;
    let id = lead_id("later@acme.io");
    let batch = json!({"signals": [{"type": "email_click"}]});
    let request = || signed(post(&format!("/leads/{id}/signals"), &batch), now());
    // The lead does not exist yet: 404, and the signature is given back...
    assert_eq!(
        handle(&app, request(), now()).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        handle(&app, request(), now()).await.status(),
        StatusCode::NOT_FOUND
    );
    // ...so that once it does, the sender's retry of the very same request goes in.
    let r = handle(
        &app,
        signed(post("/leads", &lead("later@acme.io")), now()),
        now(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = handle(&app, request(), now() + Duration::seconds(30)).await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.body());
}

#[tokio::test]
async fn while_a_source_rotates_both_of_its_secrets_are_accepted() {
    let sources = SourceSecrets::new().with("crm", &[b"crm-2026-12", b"crm-2026-11"]);
    let app = app(sources).await;
    for (email, secret) in [
        ("a@acme.io", &b"crm-2026-12"[..]),
        ("b@acme.io", b"crm-2026-11"),
    ] {
        let r = handle(
            &app,
            signed_as(post("/leads", &lead(email)), "crm", secret, now()),
            now(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{email}");
        assert_eq!(json_of(&r)["lead_id"], lead_id(email).as_str());
    }
    for (source, secret) in [("crm", &b"crm-2026-10"[..]), ("marketing", b"crm-2026-12")] {
        let r = handle(
            &app,
            signed_as(post("/leads", &lead("c@acme.io")), source, secret, now()),
            now(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{source}");
        assert!(
            json_of(&r)["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            json_of(&r)
        );
    }
}

#[tokio::test]
async fn signed_requests_need_a_known_source_and_its_secret() {
    let app = app(leadwatch_e2e::test_sources()).await;
    let body = lead("signed@acme.io").to_string();
    let raw = |payload: &str| post("/leads", &serde_json::from_str::<Value>(payload).unwrap());
    let t = now();
    let tampered = {
        let mut r = signed(raw(&body), t);
        *r.body_mut() = Body::Text(body.replace("Acme", "Evil"));
        r
    };
    let mut no_source = signed(raw(&body), t);
    no_source.headers_mut().remove("x-leadwatch-source");
    for (req, label) in [
        (tampered, "tampered"),
        (signed(raw(&body), t - Duration::seconds(301)), "stale"),
        (signed_as(raw(&body), "crm", b"wrong", t), "wrong secret"),
        (signed_as(raw(&body), "nobody", b"x", t), "unknown source"),
        (no_source, "no source"),
    ] {
        let r = handle(&app, req, now()).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{label}");
        assert_eq!(json_of(&r)["error"], "bad_signature", "{label}");
    }
    // Without any signature it is a public post, held to a form: this one names none.
    let r = handle(&app, raw(&body), now()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app
        .store
        .get_lead(&leadwatch_e2e::lead_id("signed@acme.io"))
        .await
        .unwrap()
        .is_none());
    let ok = handle(&app, signed(raw(&body), t - Duration::seconds(60)), now()).await;
    assert_eq!(ok.status(), StatusCode::CREATED);
}
