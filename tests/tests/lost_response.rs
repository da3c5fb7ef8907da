//! A write that took effect but whose answer never arrived. The SDK retries the same
//! request; every TransactWriteItems carries a ClientRequestToken, so the retry of a
//! committed transaction succeeds (DynamoDB answers a token it has seen with success,
//! without applying it again) instead of failing its own version condition. The fault
//! is an SDK interceptor that lets the request through and turns the answer into a
//! 500 (`leadwatch_e2e::faults::LoseResponses`). moto ignores the token, which is how
//! the 409 showed up locally; `scripts/moto_server.py` gives it DynamoDB's documented
//! behaviour, and the second test checks that behaviour directly.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};
use chrono::{DateTime, Duration, TimeZone, Utc};
use lambda_http::http::{Request as HttpRequest, StatusCode};
use lambda_http::Body;
use serde_json::Value;

use leadwatch_adapters::store::Store;
use leadwatch_api::disposition::DispositionApp;
use leadwatch_core::lead::{LeadProfile, Signal};
use leadwatch_core::lifecycle::Status;
use leadwatch_core::report::Month;
use leadwatch_core::state::LeadState;
use leadwatch_core::Contract;
use leadwatch_e2e::faults::LoseResponses;
use leadwatch_e2e::{moto, signed, signed_in, unique_name};

/// Monday 2026-11-23 09:00 New York.
fn mql_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap()
}

fn fast_lane_mql(contract: &Contract) -> LeadState {
    let profile = LeadProfile {
        email: "vp@acme.io".into(),
        first_name: Some("Vee".into()),
        title: Some("VP Sales".into()),
        company: Some("Acme".into()),
        employees: Some(300),
        country: Some("US".into()),
        source: Some("website".into()),
        ..Default::default()
    };
    let mut state = LeadState::new(signed::lead_id("vp@acme.io"), profile, contract, mql_at());
    let demo = Signal {
        kind: "demo_request".into(),
        at: mql_at(),
        seconds_on_page: None,
        question: false,
        detail: None,
    };
    state.ingest(None, &[demo], contract, mql_at());
    assert_eq!(state.status, Status::Mql);
    state
}

#[tokio::test]
async fn an_accept_whose_committed_transaction_lost_its_answer_gets_200_not_409() {
    // With an idempotency key, the accept is a transaction (its record must be filed).
    accept_losing_the_answer_of("TransactWriteItems", Some("accept-1")).await;
}

#[tokio::test]
async fn an_accept_whose_committed_put_lost_its_answer_gets_200_not_409() {
    // Without one, a single conditional PutItem: its retry fails its own version
    // condition, and the store tells its own write from a lost race by the item.
    accept_losing_the_answer_of("PutItem", None).await;
}

/// A fresh table holding one fast-lane MQL, and a store on it that sees every answer.
async fn table_with_an_mql(prefix: &str) -> (String, Store, Arc<Contract>, LeadState) {
    let config = moto().sdk_config().await;
    let table = unique_name(prefix);
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    store.create_table().await.unwrap();
    let contract = Arc::new(Contract::default_contract().unwrap());
    let lead = fast_lane_mql(&contract);
    store.import(std::slice::from_ref(&lead)).await.unwrap();
    (table, store, contract, lead)
}

/// A store on `table` whose client loses the first answer to `operation`.
async fn store_losing_first_answer_to(
    operation: &'static str,
    table: &str,
) -> (LoseResponses, Store) {
    let lose = LoseResponses::new(operation, 1);
    let lossy = aws_sdk_dynamodb::config::Builder::from(&moto().sdk_config().await)
        .interceptor(lose.clone())
        .build();
    (
        lose,
        Store::new(aws_sdk_dynamodb::Client::from_conf(lossy), table),
    )
}

fn accept_request(lead_id: &str) -> HttpRequest<Body> {
    HttpRequest::builder()
        .method("POST")
        .uri(format!("/leads/{lead_id}/accept"))
        .header("content-type", "application/json")
        .body(Body::Text("{}".into()))
        .unwrap()
}

/// The acceptances counted in the MQL's team rollup for its month.
async fn accepted_in_team_rollup(store: &Store) -> Option<i64> {
    let month = Month::of(mql_at().date_naive());
    let team = store
        .rollups(&[month])
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.dimension == "team#ae-na")
        .expect("the team's rollup");
    team.counters.get("accepted").copied()
}

async fn accept_losing_the_answer_of(operation: &'static str, idempotency_key: Option<&str>) {
    let (table, store, contract, lead) = table_with_an_mql("lost").await;
    let (lose, lossy_store) = store_losing_first_answer_to(operation, &table).await;
    let app = DispositionApp {
        store: lossy_store,
        contract,
    };
    let mut req = accept_request(&lead.lead_id);
    if let Some(key) = idempotency_key {
        req.headers_mut()
            .insert("idempotency-key", key.parse().unwrap());
    }
    let r =
        leadwatch_api::disposition::handle(&app, signed_in(req), mql_at() + Duration::minutes(20))
            .await;
    let body: Value = serde_json::from_slice(r.body().as_ref()).unwrap();
    assert_eq!(lose.lost(), 1, "the commit's answer was lost and retried");
    assert_eq!(r.status(), StatusCode::OK, "{body}");
    assert_eq!(body["status"], "sal", "{body}");

    // Applied once: one acceptance in the history, counted once in the rollups.
    let stored = store.get_lead(&lead.lead_id).await.unwrap().unwrap();
    assert_eq!(stored.status, Status::Sal);
    let history = store.history(&lead.lead_id).await.unwrap();
    assert_eq!(history.iter().filter(|e| e.kind == "accept").count(), 1);
    leadwatch_e2e::count_stream(&table).await;
    assert_eq!(accepted_in_team_rollup(&store).await, Some(1));
}

#[tokio::test]
async fn a_rollup_whose_committed_transaction_lost_its_answer_counts_once() {
    let (table, store, contract, lead) = table_with_an_mql("lost-rollup").await;
    let app = DispositionApp {
        store: store.clone(),
        contract,
    };
    let r = leadwatch_api::disposition::handle(
        &app,
        signed_in(accept_request(&lead.lead_id)),
        mql_at() + Duration::minutes(20),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    // The rollup function's counting transaction commits; its answer is lost; the SDK
    // sends the same request again and DynamoDB answers it by its token.
    let (lose, rollup_store) = store_losing_first_answer_to("TransactWriteItems", &table).await;
    let config = moto().sdk_config().await;
    let first = leadwatch_rollup::count_local_stream(&config, &rollup_store, Utc::now())
        .await
        .unwrap();
    assert_eq!(lose.lost(), 1, "the counting transaction's answer was lost");
    assert!(first.counted.added >= 1, "{first:?}");
    assert_eq!(
        first.counted.already_counted, 0,
        "its own retry is not a redelivery: {first:?}"
    );
    // The stream delivered again straight after (most often within the same second):
    // found counted, added nothing.
    let again = leadwatch_e2e::count_stream(&table).await;
    assert_eq!(again.counted.added, 0, "{again:?}");
    assert_eq!(
        again.counted.already_counted, first.counted.added,
        "{again:?}"
    );
    assert_eq!(accepted_in_team_rollup(&store).await, Some(1));
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn put(table: &str, pk: &str, n: &str) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .item("pk", s(pk))
        .item("sk", s("STATE"))
        .item("n", AttributeValue::N(n.into()))
        .build()
        .unwrap();
    TransactWriteItem::builder().put(put).build()
}

/// What the lost-answer test relies on, checked against the emulator directly: moto
/// itself ignores ClientRequestToken, `scripts/moto_server.py` implements it.
#[tokio::test]
async fn the_local_stack_honours_client_request_tokens_as_dynamodb_documents_them() {
    let config = moto().sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = unique_name("tokens");
    Store::new(client.clone(), &table)
        .create_table()
        .await
        .unwrap();
    let n_of = |pk: &'static str| {
        let (client, table) = (client.clone(), table.clone());
        async move {
            let out = client
                .get_item()
                .table_name(&table)
                .key("pk", s(pk))
                .key("sk", s("STATE"))
                .consistent_read(true)
                .send()
                .await
                .unwrap();
            out.item.and_then(|i| i.get("n").cloned())
        }
    };
    let write = |items: Vec<TransactWriteItem>, token: &'static str| {
        client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(token)
            .send()
    };

    write(vec![put(&table, "a", "1")], "token-1").await.unwrap();
    // Someone else changes the item; a repeat of the token must not undo that.
    client
        .put_item()
        .table_name(&table)
        .item("pk", s("a"))
        .item("sk", s("STATE"))
        .item("n", AttributeValue::N("5".into()))
        .send()
        .await
        .unwrap();
    write(vec![put(&table, "a", "1")], "token-1")
        .await
        .expect("a repeated token succeeds");
    assert_eq!(
        n_of("a").await,
        Some(AttributeValue::N("5".into())),
        "not applied again"
    );

    let mismatch = write(vec![put(&table, "a", "2")], "token-1")
        .await
        .unwrap_err();
    assert_eq!(
        mismatch.as_service_error().and_then(|e| e.meta().code()),
        Some("IdempotentParameterMismatchException")
    );

    // A transaction that failed is not remembered: its token's repeat runs.
    let check = ConditionCheck::builder()
        .table_name(&table)
        .key("pk", s("gate"))
        .key("sk", s("STATE"))
        .condition_expression("attribute_exists(pk)")
        .build()
        .unwrap();
    let gated = || {
        vec![
            put(&table, "b", "1"),
            TransactWriteItem::builder()
                .condition_check(check.clone())
                .build(),
        ]
    };
    assert!(write(gated(), "token-2").await.is_err());
    assert_eq!(n_of("b").await, None);
    write(vec![put(&table, "gate", "0")], "token-3")
        .await
        .unwrap();
    write(gated(), "token-2").await.expect("runs this time");
    assert_eq!(n_of("b").await, Some(AttributeValue::N("1".into())));
}
