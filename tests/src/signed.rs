//! The signed lane in the tests: the sources' test secrets, signing a request as a
//! source would, and lead ids under the development key the test apps use. Most tests
//! set leads up as the CRM does (a signed post, answered with the lead's summary); the
//! public form lane has tests of its own.

use chrono::{DateTime, Utc};

use leadwatch_adapters::secrets::SourceSecrets;
use leadwatch_api::ingest::signed_headers;
use leadwatch_core::LeadIds;

/// The `crm` source's secret in the tests.
pub const CRM_SECRET: &[u8] = b"test-crm-secret";
/// The `marketing` source's secret in the tests.
pub const MARKETING_SECRET: &[u8] = b"test-marketing-secret";

/// The secrets of the default contract's sources, as the tests' ingest apps hold them.
pub fn test_sources() -> SourceSecrets {
    SourceSecrets::new()
        .with("crm", &[CRM_SECRET])
        .with("marketing", &[MARKETING_SECRET])
}

/// `req` signed by the `crm` source at `at`.
pub fn signed(req: lambda_http::Request, at: DateTime<Utc>) -> lambda_http::Request {
    signed_as(req, "crm", CRM_SECRET, at)
}

/// `req` signed by `source` with `secret` at `at` (its timestamp).
pub fn signed_as(
    mut req: lambda_http::Request,
    source: &str,
    secret: &[u8],
    at: DateTime<Utc>,
) -> lambda_http::Request {
    let headers = signed_headers(source, secret, at.timestamp(), req.body().as_ref());
    for (name, value) in headers {
        if let Ok(value) = value.parse() {
            req.headers_mut().insert(name, value);
        }
    }
    req
}

/// The id of `email`'s lead under the development key (the tests' apps use it).
pub fn lead_id(email: &str) -> String {
    LeadIds::development().id_for(email)
}

/// Every item of `store`'s table as text, in a stable order (nested maps sorted): two
/// snapshots are equal exactly when nothing was written in between.
pub async fn table_snapshot(store: &leadwatch_adapters::store::Store) -> Vec<String> {
    let out = store
        .client()
        .scan()
        .table_name(store.table_name())
        .consistent_read(true)
        .send()
        .await
        .expect("scan the table");
    let mut items: Vec<String> = out
        .items
        .unwrap_or_default()
        .iter()
        .map(canonical_map)
        .collect();
    items.sort();
    items
}

fn canonical_map(
    map: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> String {
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}={}", canonical(v)))
        .collect();
    pairs.sort();
    format!("{{{}}}", pairs.join(","))
}

fn canonical(value: &aws_sdk_dynamodb::types::AttributeValue) -> String {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    match value {
        A::M(map) => canonical_map(map),
        A::L(list) => format!(
            "[{}]",
            list.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => format!("{other:?}"),
    }
}
