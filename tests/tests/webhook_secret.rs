//! The ingest webhook secret from SSM Parameter Store (moto): a SecureString read through
//! the secrets adapter is the key the ingest handler checks signatures with.

use std::sync::Arc;

use aws_sdk_ssm::types::ParameterType;
use chrono::{DateTime, TimeZone, Utc};
use lambda_http::http::{Request as HttpRequest, StatusCode};
use lambda_http::{Body, Request};
use serde_json::json;

use leadwatch_adapters::secrets::{ParameterStore, SecretError};
use leadwatch_adapters::store::Store;
use leadwatch_api::ingest::{handle, IngestApp};
use leadwatch_api::signature::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use leadwatch_core::lead::lead_id_for;
use leadwatch_core::Contract;
use leadwatch_e2e::{function_store, moto, unique_name};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

async fn ssm() -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&moto().sdk_config().await)
}

/// A new parameter of `kind` holding `value`; returns its name.
async fn put_parameter(kind: ParameterType, value: &str) -> String {
    let name = format!("/leadwatch/{}/webhook-secret", unique_name("test"));
    ssm()
        .await
        .put_parameter()
        .name(&name)
        .value(value)
        .r#type(kind)
        .send()
        .await
        .expect("put parameter");
    name
}

/// The secrets adapter as the ingest function uses it: its reads are recorded as the
/// function's calls (see `iam_in_step`).
async fn parameters() -> ParameterStore {
    ParameterStore::from_config(&moto().function_config("ingest").await)
}

async fn app(secret: Vec<u8>) -> IngestApp {
    let config = moto().sdk_config().await;
    let table = unique_name("secret");
    let setup = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    setup.create_table().await.unwrap();
    IngestApp {
        store: function_store("ingest", &table).await,
        contract: Arc::new(Contract::default_contract().unwrap()),
        webhook_secret: Some(secret),
    }
}

fn signed_post(secret: &[u8], email: &str) -> Request {
    let body = json!({
        "email": email, "first_name": "Dana", "title": "VP RevOps", "company": "Northwind",
        "employees": 250, "country": "US", "source": "webhook",
        "signals": [{"type": "demo_request", "at": "2026-11-23T14:50:00Z"}]
    })
    .to_string();
    let ts = now().timestamp();
    let sig = hex::encode(sign(secret, ts, body.as_bytes()));
    HttpRequest::builder()
        .method("POST")
        .uri("/leads")
        .header("content-type", "application/json")
        .header(TIMESTAMP_HEADER, ts.to_string())
        .header(SIGNATURE_HEADER, format!("sha256={sig}"))
        .body(Body::Binary(body.into_bytes()))
        .unwrap()
}

#[tokio::test]
async fn a_secure_string_parameter_is_the_key_ingest_checks_signatures_with() {
    let name = put_parameter(ParameterType::SecureString, "whsec_from_ssm").await;
    let secret = parameters()
        .await
        .secret(&name)
        .await
        .expect("read the secret");
    assert_eq!(secret, b"whsec_from_ssm", "decrypted, byte for byte");

    let app = app(secret).await;
    let ok = handle(&app, signed_post(b"whsec_from_ssm", "ssm@acme.io"), now()).await;
    assert_eq!(ok.status(), StatusCode::CREATED, "{:?}", ok.body());

    let forged = handle(&app, signed_post(b"whsec_other", "forged@acme.io"), now()).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let error: serde_json::Value = serde_json::from_slice(forged.body().as_ref()).unwrap();
    assert_eq!(error["error"], "bad_signature");
    assert!(app
        .store
        .get_lead(&lead_id_for("forged@acme.io"))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_missing_parameter_is_an_error_that_names_it() {
    let name = format!("/leadwatch/{}/absent", unique_name("test"));
    let e = parameters()
        .await
        .secret(&name)
        .await
        .expect_err("no such parameter");
    assert!(matches!(e, SecretError::NotFound { .. }), "{e}");
    // What a failed cold start prints (`main` returns the error): one line, naming it.
    let line = format!("Error: {e:?}");
    assert!(line.contains(&name), "{line}");
    assert!(line.contains("does not exist"), "{line}");
    assert!(!line.contains('\n'), "{line}");
}

#[tokio::test]
async fn a_blank_secret_is_refused() {
    let name = put_parameter(ParameterType::SecureString, "   ").await;
    let e = parameters()
        .await
        .secret(&name)
        .await
        .expect_err("blank secret");
    assert!(matches!(e, SecretError::Empty { .. }), "{e}");
    assert!(e.to_string().contains(&name), "{e}");
}

#[tokio::test]
async fn a_plain_string_parameter_still_works() {
    // Warned about at cold start (stored unencrypted) but not an outage.
    let name = put_parameter(ParameterType::String, "whsec_plain").await;
    let secret = parameters().await.secret(&name).await.unwrap();
    assert_eq!(secret, b"whsec_plain");
}
