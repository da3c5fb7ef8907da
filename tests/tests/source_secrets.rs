//! The signed sources' secrets and the lead id key from SSM Parameter Store (moto): the
//! SecureStrings read through the secrets adapter at cold start are what the ingest
//! handler checks signatures with, two values at once while a source rotates.

use std::sync::Arc;

use aws_sdk_ssm::types::ParameterType;
use chrono::{DateTime, TimeZone, Utc};
use lambda_http::http::{Request as HttpRequest, StatusCode};
use lambda_http::{Body, Request};
use serde_json::json;

use leadwatch_adapters::config::{SecretSource, SourceSecretsSetting};
use leadwatch_adapters::secrets::{self, ParameterStore, SecretError, SourceSecrets};
use leadwatch_adapters::store::Store;
use leadwatch_api::ingest::{handle, IngestApp};
use leadwatch_core::{Contract, LeadIds};
use leadwatch_e2e::{moto, signed_as, unique_name};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

async fn ssm() -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&moto().sdk_config().await)
}

/// A new parameter `<prefix><name>` of `kind` holding `value`.
async fn put_parameter(name: &str, kind: ParameterType, value: &str) {
    ssm()
        .await
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .send()
        .await
        .expect("put parameter");
}

async fn app(sources: SourceSecrets, lead_ids: LeadIds) -> IngestApp {
    let config = moto().sdk_config().await;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&config),
        unique_name("secret"),
    );
    store.create_table().await.unwrap();
    IngestApp {
        store,
        contract: Arc::new(Contract::default_contract().unwrap()),
        sources,
        lead_ids,
    }
}

fn lead_post(email: &str) -> Request {
    let body = json!({
        "email": email, "first_name": "Dana", "title": "VP RevOps", "company": "Northwind",
        "employees": 250, "country": "US", "source": "webhook",
        "signals": [{"type": "demo_request", "at": "2026-11-23T14:50:00Z"}]
    })
    .to_string();
    HttpRequest::builder()
        .method("POST")
        .uri("/leads")
        .header("content-type", "application/json")
        .body(Body::Binary(body.into_bytes()))
        .unwrap()
}

#[tokio::test]
async fn both_values_of_a_rotating_source_secret_are_accepted_and_nothing_else() {
    let prefix = format!("/leadwatch/{}/sources/", unique_name("test"));
    put_parameter(
        &format!("{prefix}crm"),
        ParameterType::SecureString,
        "crm-new\ncrm-old\n",
    )
    .await;
    put_parameter(
        &format!("{prefix}marketing"),
        ParameterType::SecureString,
        "mkt-1",
    )
    .await;
    let config = moto().sdk_config().await;
    let sources = secrets::source_secrets(
        &config,
        ["crm", "marketing"],
        SourceSecretsSetting::Prefix(prefix.clone()),
    )
    .await
    .expect("read the sources' secrets");
    assert_eq!(
        sources.values("crm"),
        &[b"crm-new".to_vec(), b"crm-old".to_vec()]
    );
    assert!(!format!("{sources:?}").contains("crm-new"), "{sources:?}");

    let app = app(sources, LeadIds::development()).await;
    for (email, secret) in [("new@acme.io", b"crm-new"), ("old@acme.io", b"crm-old")] {
        let r = handle(
            &app,
            signed_as(lead_post(email), "crm", secret, now()),
            now(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{email}: {:?}", r.body());
    }
    // Another source's secret, or a secret no longer listed, is refused.
    for secret in [&b"mkt-1"[..], b"crm-older"] {
        let r = handle(
            &app,
            signed_as(lead_post("forged@acme.io"), "crm", secret, now()),
            now(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let error: serde_json::Value = serde_json::from_slice(r.body().as_ref()).unwrap();
        assert_eq!(error["error"], "bad_signature");
    }
    assert!(app
        .store
        .get_lead(&LeadIds::development().id_for("forged@acme.io"))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_source_parameter_with_three_values_or_none_fails_the_cold_start_naming_it() {
    let prefix = format!("/leadwatch/{}/sources/", unique_name("test"));
    put_parameter(
        &format!("{prefix}crm"),
        ParameterType::SecureString,
        "a\nb\nc",
    )
    .await;
    let config = moto().sdk_config().await;
    let e = secrets::source_secrets(
        &config,
        ["crm"],
        SourceSecretsSetting::Prefix(prefix.clone()),
    )
    .await
    .expect_err("three active secrets");
    assert!(matches!(e, SecretError::TooMany { count: 3, .. }), "{e}");
    assert!(e.to_string().contains(&format!("{prefix}crm")), "{e}");
    // The contract names a source whose parameter nobody created.
    let e = secrets::source_secrets(
        &config,
        ["marketing"],
        SourceSecretsSetting::Prefix(prefix.clone()),
    )
    .await
    .expect_err("no parameter");
    assert!(matches!(e, SecretError::NotFound { .. }), "{e}");
    let line = format!("Error: {e:?}");
    assert!(line.contains(&format!("{prefix}marketing")), "{line}");
    assert!(!line.contains('\n'), "{line}");
}

#[tokio::test]
async fn the_lead_id_key_comes_from_its_parameter_and_changes_the_ids() {
    let name = format!("/leadwatch/{}/lead-id-key", unique_name("test"));
    put_parameter(&name, ParameterType::SecureString, "a-deployment-key").await;
    let config = moto().sdk_config().await;
    let ids = secrets::lead_ids(&config, SecretSource::Parameter(name))
        .await
        .expect("read the key");
    assert_eq!(ids, LeadIds::new(b"a-deployment-key".to_vec()));
    assert!(!ids.is_development());
    assert_ne!(
        ids.id_for("dana@northwind.io"),
        LeadIds::development().id_for("dana@northwind.io")
    );
    // Without a key configured: the development key (local runs).
    let local = secrets::lead_ids(&config, SecretSource::None)
        .await
        .unwrap();
    assert!(local.is_development());

    // The app answers with ids under its key.
    let sources = SourceSecrets::new().with("crm", &[b"s"]);
    let app = app(sources, ids.clone()).await;
    let r = handle(
        &app,
        signed_as(lead_post("dana@northwind.io"), "crm", b"s", now()),
        now(),
    )
    .await;
    let doc: serde_json::Value = serde_json::from_slice(r.body().as_ref()).unwrap();
    assert_eq!(doc["lead_id"], ids.id_for("dana@northwind.io").as_str());
}

#[tokio::test]
async fn a_missing_parameter_is_an_error_that_names_it() {
    let name = format!("/leadwatch/{}/absent", unique_name("test"));
    let e = ParameterStore::new(ssm().await)
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
    let name = format!("/leadwatch/{}/blank", unique_name("test"));
    put_parameter(&name, ParameterType::SecureString, "   ").await;
    let e = ParameterStore::new(ssm().await)
        .secret(&name)
        .await
        .expect_err("blank secret");
    assert!(matches!(e, SecretError::Empty { .. }), "{e}");
    assert!(e.to_string().contains(&name), "{e}");
}

#[tokio::test]
async fn a_plain_string_parameter_still_works() {
    // Warned about at cold start (stored unencrypted) but not an outage.
    let name = format!("/leadwatch/{}/plain", unique_name("test"));
    put_parameter(&name, ParameterType::String, "whsec_plain").await;
    let secret = ParameterStore::new(ssm().await)
        .secret(&name)
        .await
        .unwrap();
    assert_eq!(secret, b"whsec_plain");
}
