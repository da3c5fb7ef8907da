//! Sales dispositions end to end: MQLs made by the real ingest handler, then accepted,
//! rejected, qualified and touched through the disposition handler, against DynamoDB
//! (moto). Every assertion that matters reads the stored state or the audit history.
//!
//! Times: 2026-11-23 is a Monday; New York is UTC-5 in November, open 09:00-17:00
//! Monday to Friday. A VP demo request from the US routes to `ae-na` on the fast lane:
//! 60 business minutes to accept.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use lambda_http::http::{Request as HttpRequest, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

use leadwatch_adapters::store::Store;
use leadwatch_api::disposition::DispositionApp;
use leadwatch_api::entry::gateway_time;
use leadwatch_api::ingest::IngestApp;
use leadwatch_core::lifecycle::Status;
use leadwatch_core::state::LeadState;
use leadwatch_core::Contract;
use leadwatch_e2e::{function_store, moto, signed, signed_in, unique_name};

/// The route set's router, with a signed-in caller (see [`signed_in`]).
async fn handle(app: &DispositionApp, req: Request, now: DateTime<Utc>) -> Response<Body> {
    leadwatch_api::disposition::handle(app, signed_in(req), now).await
}

/// New York wall time on a November 2026 day (EST, UTC-5).
fn ny(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, h + 5, m, 0).unwrap()
}

/// Monday 2026-11-23, New York time.
fn mon(h: u32, m: u32) -> DateTime<Utc> {
    ny(23, h, m)
}

struct Stack {
    /// The test's own view of the table: not a function's, so its reads are not
    /// recorded as the disposition function's calls (see `iam_in_step`).
    store: Store,
    ingest: IngestApp,
    app: DispositionApp,
}

async fn stack() -> Stack {
    let config = moto().sdk_config().await;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&config),
        unique_name("disposition"),
    );
    store.create_table().await.unwrap();
    let contract = Arc::new(Contract::default_contract().unwrap());
    Stack {
        ingest: IngestApp {
            store: function_store("ingest", store.table_name()).await,
            contract: Arc::clone(&contract),
            sources: leadwatch_e2e::test_sources(),
            lead_ids: leadwatch_core::LeadIds::development(),
        },
        app: DispositionApp {
            store: function_store("disposition", store.table_name()).await,
            contract,
        },
        store,
    }
}

impl Stack {
    fn store(&self) -> &Store {
        &self.store
    }

    async fn lead(&self, id: &str) -> LeadState {
        self.store()
            .get_lead(id)
            .await
            .unwrap()
            .expect("stored lead")
    }

    /// A VP's demo request through the ingest handler at `at`; returns the lead id after
    /// checking it became an MQL of `team`.
    async fn mql(&self, email: &str, country: &str, team: &str, at: DateTime<Utc>) -> String {
        let body = json!({
            "email": email, "first_name": "Dana", "last_name": "Lee", "title": "VP RevOps",
            "company": "Northwind", "employees": 250, "industry": "SaaS", "country": country,
            "source": "website",
            "signals": [{"type": "demo_request", "at": at.to_rfc3339()}]
        });
        let r = leadwatch_api::ingest::handle(&self.ingest, signed(post("/leads", &body), at), at)
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.body());
        let doc = json_of(&r);
        assert_eq!(doc["status"], "mql", "{doc}");
        assert_eq!(doc["team"], team, "{doc}");
        leadwatch_e2e::lead_id(email)
    }

    async fn call(&self, req: Request, now: DateTime<Utc>) -> (StatusCode, Value) {
        let r = handle(&self.app, req, now).await;
        let status = r.status();
        (status, json_of(&r))
    }

    async fn dispose(
        &self,
        id: &str,
        action: &str,
        body: Value,
        now: DateTime<Utc>,
    ) -> (StatusCode, Value) {
        self.call(post(&format!("/leads/{id}/{action}"), &body), now)
            .await
    }

    async fn queue(&self, team: &str, now: DateTime<Utc>) -> Value {
        let (status, doc) = self.call(get(&format!("/queue?team={team}")), now).await;
        assert_eq!(status, StatusCode::OK, "{doc}");
        doc
    }

    async fn history_kinds(&self, id: &str) -> Vec<String> {
        let history = self.store().history(id).await.unwrap();
        history.into_iter().map(|e| e.kind).collect()
    }
}

fn raw(method: &str, path: &str, body: impl Into<Vec<u8>>) -> Request {
    HttpRequest::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::Binary(body.into()))
        .unwrap()
}

fn post(path: &str, body: &Value) -> Request {
    raw("POST", path, body.to_string())
}

fn get(path: &str) -> Request {
    HttpRequest::builder()
        .method("GET")
        .uri(path)
        .body(Body::Empty)
        .unwrap()
}

fn json_of(r: &Response<Body>) -> Value {
    serde_json::from_slice(r.body().as_ref()).unwrap()
}

fn queue_ids(doc: &Value) -> Vec<String> {
    doc["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lead_id"].as_str().unwrap().to_string())
        .collect()
}

fn names_field(doc: &Value, field: &str) -> bool {
    doc["fields"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x["field"] == field))
}

#[tokio::test]
async fn accepting_an_mql_makes_it_a_sal_once_and_takes_it_off_the_queue() {
    let s = stack().await;
    let id = s.mql("dana@northwind.io", "US", "ae-na", mon(10, 0)).await;
    assert_eq!(
        queue_ids(&s.queue("ae-na", mon(10, 5)).await),
        vec![id.clone()]
    );

    let (status, doc) = s
        .dispose(&id, "accept", json!({"by": "sam@seller.io"}), mon(10, 25))
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["status"], "sal");
    assert_eq!(doc["accepted_by"], "sam@seller.io");
    assert_eq!(doc["accepted_at"], json!(mon(10, 25)));
    assert_eq!(doc["business_minutes"], 25);
    assert_eq!(doc["within_sla"], true);
    assert_eq!(doc["version"], 2);

    let stored = s.lead(&id).await;
    assert_eq!(stored.status, Status::Sal);
    assert_eq!(stored.version, 2);
    assert_eq!(stored.accepted_by.as_deref(), Some("sam@seller.io"));
    assert_eq!(stored.accepted_at, Some(mon(10, 25)));
    assert_eq!(stored.accept_business_minutes, Some(25));
    assert_eq!(stored.accepted_within_sla, Some(true));
    assert!(
        stored.next_timer().is_none(),
        "no SLA timer after acceptance"
    );
    let history = s.store().history(&id).await.unwrap();
    let accept = history.last().unwrap();
    assert_eq!(accept.kind, "accept");
    assert_eq!(accept.by.as_deref(), Some("sam@seller.io"));
    assert_eq!(accept.business_minutes, Some(25));
    assert_eq!(
        (accept.from, accept.to),
        (Some(Status::Mql), Some(Status::Sal))
    );
    assert_eq!(accept.at, mon(10, 25));
    assert_eq!(accept.team.as_deref(), Some("ae-na"));

    let (status, doc) = s
        .dispose(&id, "accept", json!({"by": "kim@seller.io"}), mon(10, 30))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{doc}");
    assert_eq!(doc["current_state"], "sal");
    assert_eq!(doc["message"], "cannot accept a lead that is sal");
    let stored = s.lead(&id).await;
    assert_eq!(stored.version, 2, "a refused accept writes nothing");
    assert_eq!(stored.accepted_by.as_deref(), Some("sam@seller.io"));
    assert_eq!(
        s.history_kinds(&id).await,
        vec!["signal", "promote", "accept"]
    );

    let queue = s.queue("ae-na", mon(10, 30)).await;
    assert_eq!(queue["count"], 0);
    assert!(queue_ids(&queue).is_empty());
}

#[tokio::test]
async fn rejecting_needs_a_reason_from_the_picklist_and_stores_it_with_the_note() {
    let s = stack().await;
    let id = s.mql("rae@globex.io", "US", "ae-na", mon(10, 0)).await;
    let allowed = json!(Contract::default_contract().unwrap().spec.rejection.reasons);

    let (status, doc) = s
        .dispose(
            &id,
            "reject",
            json!({"by": "sam@seller.io", "reason": "meh"}),
            mon(10, 10),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{doc}");
    assert!(names_field(&doc, "reason"), "{doc}");
    assert_eq!(doc["allowed"], allowed);
    assert!(doc["allowed"]
        .as_array()
        .unwrap()
        .contains(&json!("no_intent")));
    let (status, doc) = s
        .dispose(&id, "reject", json!({"by": "sam@seller.io"}), mon(10, 10))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{doc}");
    assert!(names_field(&doc, "reason"), "{doc}");
    assert_eq!(doc["allowed"], allowed);
    let stored = s.lead(&id).await;
    assert_eq!(stored.status, Status::Mql);
    assert_eq!(stored.version, 1, "a refused reject writes nothing");
    assert!(stored.rejection.is_none());

    let note = "Student project.\nNo budget this year.";
    let (status, doc) = s
        .dispose(
            &id,
            "reject",
            json!({"by": "sam@seller.io", "reason": "no_intent", "note": note}),
            mon(10, 40),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["status"], "rejected");
    assert_eq!(doc["rejection"]["reason"], "no_intent");
    assert_eq!(doc["business_minutes"], 40);
    let stored = s.lead(&id).await;
    assert_eq!(stored.status, Status::Rejected);
    assert_eq!(stored.version, 2);
    let rejection = stored.rejection.as_ref().unwrap();
    assert_eq!(rejection.reason, "no_intent");
    assert_eq!(rejection.by, "sam@seller.io");
    assert_eq!(rejection.at, mon(10, 40));
    // The stored note is the cleaned one: newlines become spaces.
    assert_eq!(
        rejection.note.as_deref(),
        Some("Student project. No budget this year.")
    );
    let history = s.store().history(&id).await.unwrap();
    let reject = history.last().unwrap();
    assert_eq!(reject.kind, "reject");
    assert_eq!(reject.by.as_deref(), Some("sam@seller.io"));
    assert_eq!(reject.reason.as_deref(), Some("no_intent"));
    assert_eq!(reject.business_minutes, Some(40));
    assert_eq!(
        (reject.from, reject.to),
        (Some(Status::Mql), Some(Status::Rejected))
    );

    // A rejected lead cannot be accepted any more.
    let (status, doc) = s
        .dispose(&id, "accept", json!({"by": "kim@seller.io"}), mon(10, 45))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(doc["current_state"], "rejected");
    assert_eq!(s.lead(&id).await.version, 2);
}

#[tokio::test]
async fn qualify_takes_a_sal_to_sql_and_refuses_an_mql() {
    let s = stack().await;
    let id = s.mql("lee@contoso.io", "US", "ae-na", mon(10, 0)).await;
    let (status, doc) = s
        .dispose(&id, "qualify", json!({"by": "ae@seller.io"}), mon(10, 5))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{doc}");
    assert_eq!(doc["error"], "illegal_transition");
    assert_eq!(doc["current_state"], "mql");
    assert_eq!(doc["message"], "cannot qualify a lead that is mql");
    assert_eq!(s.lead(&id).await.version, 1);

    let (status, _) = s
        .dispose(&id, "accept", json!({"by": "sdr@seller.io"}), mon(10, 10))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, doc) = s
        .dispose(&id, "qualify", json!({"by": "ae@seller.io"}), mon(11, 0))
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["status"], "sql");
    assert_eq!(doc["qualified_at"], json!(mon(11, 0)));
    let stored = s.lead(&id).await;
    assert_eq!(stored.status, Status::Sql);
    assert_eq!(stored.qualified_at, Some(mon(11, 0)));
    assert_eq!(stored.version, 3);
    let history = s.store().history(&id).await.unwrap();
    let qualify = history.last().unwrap();
    assert_eq!(qualify.kind, "qualify");
    assert_eq!(qualify.by.as_deref(), Some("ae@seller.io"));
    assert_eq!(
        (qualify.from, qualify.to),
        (Some(Status::Sal), Some(Status::Sql))
    );

    let (status, doc) = s
        .dispose(&id, "qualify", json!({"by": "ae@seller.io"}), mon(11, 5))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(doc["current_state"], "sql");
    assert_eq!(s.lead(&id).await.version, 3);
}

#[tokio::test]
async fn a_sal_can_still_be_rejected_later_by_a_request_sent_after_the_acceptance() {
    let s = stack().await;
    let id = s.mql("ola@initech.io", "US", "ae-na", mon(10, 0)).await;
    let (status, _) = s
        .dispose(&id, "accept", json!({"by": "sam@seller.io"}), mon(10, 10))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, doc) = s
        .dispose(
            &id,
            "reject",
            json!({"by": "sam@seller.io", "reason": "already_in_pipeline"}),
            mon(14, 0),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    let stored = s.lead(&id).await;
    assert_eq!(stored.status, Status::Rejected);
    assert_eq!(
        stored.accept_business_minutes,
        Some(10),
        "the SAL's time-to-accept is kept"
    );
    let history = s.store().history(&id).await.unwrap();
    let reject = history.last().unwrap();
    assert_eq!(
        (reject.from, reject.to),
        (Some(Status::Sal), Some(Status::Rejected))
    );
}

#[tokio::test]
async fn touch_records_the_first_touch_once() {
    let s = stack().await;
    let id = s.mql("bo@fabrikam.io", "US", "ae-na", mon(10, 0)).await;
    let (status, doc) = s
        .dispose(&id, "touch", json!({"by": "sam@seller.io"}), mon(10, 5))
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["first_touch_at"], json!(mon(10, 5)));
    assert_eq!(doc["status"], "mql", "a touch is not a transition");
    let (status, doc) = s
        .dispose(&id, "touch", json!({"by": "kim@seller.io"}), mon(10, 30))
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["first_touch_at"], json!(mon(10, 5)));

    let stored = s.lead(&id).await;
    assert_eq!(stored.first_touch_at, Some(mon(10, 5)));
    assert_eq!(stored.status, Status::Mql);
    assert_eq!(stored.version, 3);
    let history = s.store().history(&id).await.unwrap();
    let touches: Vec<_> = history.iter().filter(|e| e.kind == "touch").collect();
    assert_eq!(touches.len(), 2, "every touch is in the history");
    assert_eq!(touches[0].by.as_deref(), Some("sam@seller.io"));
    assert_eq!(touches[0].business_minutes, Some(5));
    assert_eq!(touches[0].detail.as_deref(), Some("first touch"));
    assert_eq!(touches[1].by.as_deref(), Some("kim@seller.io"));
    assert_eq!(touches[1].business_minutes, None);

    // A lead sales never got (nurture) cannot be touched through this route.
    let nurture = json!({"email": "quiet@acme.io", "company": "Acme", "country": "US",
                         "signals": [{"type": "blog_view", "at": mon(9, 0).to_rfc3339()}]});
    let r = leadwatch_api::ingest::handle(
        &s.ingest,
        signed(post("/leads", &nurture), mon(10, 0)),
        mon(10, 0),
    )
    .await;
    assert_eq!(json_of(&r)["status"], "nurture", "{:?}", r.body());
    let quiet = leadwatch_e2e::lead_id("quiet@acme.io");
    let (status, doc) = s
        .dispose(&quiet, "touch", json!({"by": "sam@seller.io"}), mon(10, 5))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{doc}");
    assert_eq!(doc["current_state"], "nurture");
    assert_eq!(
        doc["message"],
        "cannot log a touch on a lead that is nurture"
    );
    assert_eq!(s.lead(&quiet).await.version, 1);
}

#[tokio::test]
async fn unknown_leads_are_404_and_bad_bodies_name_the_field_and_write_nothing() {
    let s = stack().await;
    let id = s.mql("keep@acme.io", "US", "ae-na", mon(10, 0)).await;
    let history_before = s.store().history(&id).await.unwrap().len();

    let missing = leadwatch_e2e::lead_id("nobody@acme.io");
    for action in ["accept", "reject", "qualify", "touch"] {
        let body = json!({"by": "sam@seller.io", "reason": "no_intent"});
        let body = if action == "reject" {
            body
        } else {
            json!({"by": "sam@seller.io"})
        };
        let (status, doc) = s.dispose(&missing, action, body, mon(10, 5)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{action}: {doc}");
        assert_eq!(doc["error"], "not_found");
    }
    assert!(
        s.store().get_lead(&missing).await.unwrap().is_none(),
        "nothing created"
    );
    let (status, _) = s
        .call(
            post("/leads/ld_%2e%2e/accept", &json!({"by": "x"})),
            mon(10, 5),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let accept = format!("/leads/{id}/accept");
    let reject = format!("/leads/{id}/reject");
    let touch = format!("/leads/{id}/touch");
    let cases: Vec<(Request, StatusCode, Vec<&str>)> = vec![
        (
            raw("POST", &accept, "{\"by\": "),
            StatusCode::BAD_REQUEST,
            vec!["body"],
        ),
        (
            raw("POST", &accept, "[\"sam\"]"),
            StatusCode::BAD_REQUEST,
            vec!["body"],
        ),
        (
            raw("POST", &accept, "not json"),
            StatusCode::BAD_REQUEST,
            vec!["body"],
        ),
        (
            raw("POST", &accept, b"{\"by\":\"\xff\"}".to_vec()),
            StatusCode::BAD_REQUEST,
            vec!["body"],
        ),
        (
            post(&accept, &json!({"by": 42})),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["by"],
        ),
        (
            post(&accept, &json!({"by": "x".repeat(201)})),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["by"],
        ),
        (
            post(&accept, &json!({"by": "sam", "reason": "no_intent"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["reason"],
        ),
        (
            post(&accept, &json!({"by": "sam", "status": "sql"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["status"],
        ),
        (
            post(&touch, &json!({"by": "sam\u{1b}[31m"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["by"],
        ),
        (
            post(&reject, &json!({"by": 1, "reason": ["no_intent"]})),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["by", "reason"],
        ),
        (
            post(
                &reject,
                &json!({"by": "sam", "reason": "no_intent", "note": "n".repeat(501)}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["note"],
        ),
        (
            post(
                &reject,
                &json!({"by": "sam", "reason": "no_intent", "note": 5}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["note"],
        ),
        (
            raw(
                "POST",
                &accept,
                format!("{{\"by\":\"sam\",\"pad\":\"{}\"}}", "x".repeat(70_000)),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            vec![],
        ),
    ];
    for (req, expected, fields) in cases {
        let (status, doc) = s.call(req, mon(10, 5)).await;
        assert_eq!(status, expected, "{fields:?}: {doc}");
        for field in fields {
            assert!(names_field(&doc, field), "{field} not named in {doc}");
        }
        if expected == StatusCode::PAYLOAD_TOO_LARGE {
            assert!(
                doc["message"].as_str().unwrap().starts_with("body"),
                "{doc}"
            );
        }
    }
    let stored = s.lead(&id).await;
    assert_eq!(stored.version, 1, "no bad request wrote anything");
    assert_eq!(stored.status, Status::Mql);
    assert!(stored.first_touch_at.is_none());
    assert_eq!(s.store().history(&id).await.unwrap().len(), history_before);

    // The caps are inclusive: 200 characters of `by` and 500 of note are fine.
    let (status, doc) = s
        .dispose(
            &id,
            "reject",
            json!({"by": "b".repeat(200), "reason": " No_Intent ", "note": "n".repeat(500)}),
            mon(10, 6),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    let stored = s.lead(&id).await;
    let rejection = stored.rejection.unwrap();
    assert_eq!(
        rejection.reason, "no_intent",
        "reason codes are case-insensitive"
    );
    assert_eq!(rejection.note.map(|n| n.chars().count()), Some(500));
}

#[tokio::test]
async fn the_queue_lists_a_teams_open_mqls_oldest_first_with_business_minutes_left() {
    let s = stack().await;
    // Created out of order: Monday 09:40, Monday 09:10, then Friday 16:30 (New York).
    let c = s.mql("c@northwind.io", "US", "ae-na", mon(9, 40)).await;
    let b = s.mql("b@northwind.io", "US", "ae-na", mon(9, 10)).await;
    let a = s.mql("a@northwind.io", "US", "ae-na", ny(20, 16, 30)).await;
    let emea = s.mql("eve@northwind.io", "GB", "ae-emea", mon(9, 0)).await;

    // Friday 16:50: A is due Monday 09:30 (10 + 30 business minutes), B Monday 10:10
    // (10 + 70), C Monday 10:40 (10 + 100), however long the weekend.
    let friday = s.queue("ae-na", ny(20, 16, 50)).await;
    assert_eq!(queue_ids(&friday), vec![a.clone(), b.clone(), c.clone()]);
    let left: Vec<&Value> = friday["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["sla_minutes_left"])
        .collect();
    assert_eq!(left, vec![&json!(40), &json!(80), &json!(110)]);

    // Monday 10:00: A is 30 business minutes overdue, B and C have 10 and 40 left.
    let monday = s.queue("ae-na", mon(10, 0)).await;
    assert_eq!(monday["team"], "ae-na");
    assert_eq!(monday["count"], 3);
    assert_eq!(queue_ids(&monday), vec![a.clone(), b.clone(), c.clone()]);
    let first = &monday["leads"][0];
    assert_eq!(first["sla_minutes_left"], -30);
    assert_eq!(first["mql_at"], json!(ny(20, 16, 30)));
    assert_eq!(first["due_at"], json!(mon(9, 30)));
    assert_eq!(first["name"], "Dana Lee");
    assert_eq!(first["company"], "Northwind");
    assert_eq!(first["title"], "VP RevOps");
    assert_eq!(first["fast_lane"], true);
    assert_eq!(
        first["fit_tier"],
        json!(s.lead(&a).await.assessment.unwrap().fit_tier)
    );
    assert!(first["mql_reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(monday["leads"][1]["sla_minutes_left"], 10);
    assert_eq!(monday["leads"][2]["sla_minutes_left"], 40);
    assert!(!queue_ids(&monday).contains(&emea), "another team's lead");
    assert_eq!(queue_ids(&s.queue("ae-emea", mon(10, 0)).await), vec![emea]);

    // A, accepted late, leaves the queue; its time-to-accept spans the weekend in
    // business minutes: 30 on Friday and 60 on Monday.
    let (status, doc) = s
        .dispose(&a, "accept", json!({"by": "sam@seller.io"}), mon(10, 0))
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["business_minutes"], 90);
    assert_eq!(doc["within_sla"], false);
    assert_eq!(s.lead(&a).await.accepted_within_sla, Some(false));
    assert_eq!(queue_ids(&s.queue("ae-na", mon(10, 1)).await), vec![b, c]);

    let (status, doc) = s.call(get("/queue"), mon(10, 0)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(names_field(&doc, "team"), "{doc}");
    let (status, doc) = s.call(get("/queue?team=%20"), mon(10, 0)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(names_field(&doc, "team"), "{doc}");
    let (status, doc) = s.call(get("/queue?team=ae-mars"), mon(10, 0)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{doc}");
    assert!(doc["teams"].as_array().unwrap().contains(&json!("ae-na")));
}

/// Accept and reject of one MQL at the same moment: whichever commits first wins, the
/// other gets a 409 naming the winner's state, and the stored lead agrees. Twenty fresh
/// leads, all pairs at once, so the store's retries really interleave.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_accept_and_reject_have_exactly_one_winner() {
    let s = Arc::new(stack().await);
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            s.mql(&format!("race{i}@northwind.io"), "US", "ae-na", mon(10, 0))
                .await,
        );
    }
    let now = mon(10, 20);
    let mut pairs = Vec::new();
    for id in &ids {
        let (s1, s2) = (Arc::clone(&s), Arc::clone(&s));
        let (id1, id2) = (id.clone(), id.clone());
        let accept = tokio::spawn(async move {
            s1.dispose(&id1, "accept", json!({"by": "acceptor@seller.io"}), now)
                .await
        });
        let reject = tokio::spawn(async move {
            s2.dispose(
                &id2,
                "reject",
                json!({"by": "rejector@seller.io", "reason": "not_icp"}),
                now,
            )
            .await
        });
        pairs.push((id.clone(), accept, reject));
    }
    let (mut accepts_won, mut rejects_won) = (0, 0);
    for (id, accept, reject) in pairs {
        let (a_status, a_doc) = accept.await.unwrap();
        let (r_status, r_doc) = reject.await.unwrap();
        let stored = s.lead(&id).await;
        let kinds = s.history_kinds(&id).await;
        assert_eq!(stored.version, 2, "exactly one write after the promotion");
        match (a_status, r_status) {
            (StatusCode::OK, StatusCode::CONFLICT) => {
                accepts_won += 1;
                assert_eq!(r_doc["current_state"], "sal", "{r_doc}");
                assert_eq!(stored.status, Status::Sal);
                assert_eq!(stored.accepted_by.as_deref(), Some("acceptor@seller.io"));
                assert!(stored.rejection.is_none());
                assert_eq!(kinds, vec!["signal", "promote", "accept"]);
            }
            (StatusCode::CONFLICT, StatusCode::OK) => {
                rejects_won += 1;
                assert_eq!(a_doc["current_state"], "rejected", "{a_doc}");
                assert_eq!(stored.status, Status::Rejected);
                assert_eq!(
                    stored.rejection.as_ref().map(|r| r.by.as_str()),
                    Some("rejector@seller.io")
                );
                assert!(stored.accepted_at.is_none());
                assert_eq!(kinds, vec!["signal", "promote", "reject"]);
            }
            other => panic!("{id}: expected one 200 and one 409, got {other:?}: {a_doc} / {r_doc}"),
        }
    }
    assert_eq!(accepts_won + rejects_won, 20);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_request() {
    let s = stack().await;
    let id = s.mql("kim@acme.io", "US", "ae-na", mon(10, 0)).await;
    let keyed = |action: &str, body: Value| {
        let mut r = post(&format!("/leads/{id}/{action}"), &body);
        r.headers_mut()
            .insert("idempotency-key", "crm-evt-1".parse().unwrap());
        r
    };
    let first = handle(
        &s.app,
        keyed("accept", json!({"by": "sam@seller.io"})),
        mon(10, 5),
    )
    .await;
    assert_eq!(first.status(), StatusCode::OK);
    let again = handle(
        &s.app,
        keyed("accept", json!({"by": "sam@seller.io"})),
        mon(10, 6),
    )
    .await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "a retry is not a second accept"
    );
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(json_of(&first), json_of(&again));
    assert_eq!(s.lead(&id).await.version, 2, "no second write");

    let other = handle(
        &s.app,
        keyed(
            "reject",
            json!({"by": "sam@seller.io", "reason": "no_intent"}),
        ),
        mon(10, 7),
    )
    .await;
    assert_eq!(other.status(), StatusCode::CONFLICT);
    assert_eq!(json_of(&other)["error"], "idempotency_key_reused");
    let stored = s.lead(&id).await;
    assert_eq!(stored.status, Status::Sal);
    assert_eq!(stored.version, 2);
}

/// An API Gateway HTTP API (v2) event, as Lambda delivers it.
fn apigw_event(method: &str, stage: &str, raw_path: &str, query: &str, body: &str) -> Request {
    let path = raw_path.to_string();
    let event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", "host": "api.example.com"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "r1", "routeKey": "$default", "stage": stage,
            "time": "23/Nov/2026:15:10:00 +0000", "timeEpoch": mon(10, 10).timestamp_millis()
        },
        "body": body,
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

#[tokio::test]
async fn routes_work_with_and_without_a_stage_and_answer_404_and_405_in_json() {
    let s = stack().await;
    let id = s.mql("stage@acme.io", "US", "ae-na", mon(10, 0)).await;

    // A named stage: lambda_http puts it in the path.
    let req = apigw_event(
        "POST",
        "prod",
        &format!("/prod/leads/{id}/touch"),
        "",
        r#"{"by":"sam@seller.io"}"#,
    );
    assert_eq!(req.uri().path(), format!("/prod/leads/{id}/touch"));
    let now = gateway_time(&req).unwrap();
    assert_eq!(now, mon(10, 10), "now comes from requestContext.timeEpoch");
    let (status, doc) = s.call(req, now).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(s.lead(&id).await.first_touch_at, Some(mon(10, 10)));

    let req = apigw_event("GET", "$default", "/queue", "team=ae-na", "");
    let (status, doc) = s.call(req, mon(10, 10)).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(queue_ids(&doc), vec![id.clone()]);
    assert_eq!(doc["leads"][0]["sla_minutes_left"], 50);

    for (req, expected) in [
        (
            get(&format!("/leads/{id}/accept")),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            post("/queue?team=ae-na", &json!({})),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            post(&format!("/leads/{id}/explode"), &json!({"by": "x"})),
            StatusCode::NOT_FOUND,
        ),
        (
            post(&format!("/leads/{id}"), &json!({"by": "x"})),
            StatusCode::NOT_FOUND,
        ),
        (get("/nowhere"), StatusCode::NOT_FOUND),
        (
            post(&format!("/staging/leads/{id}/accept"), &json!({"by": "x"})),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let label = format!("{} {}", req.method(), req.uri());
        let r = handle(&s.app, req, mon(10, 10)).await;
        assert_eq!(r.status(), expected, "{label}");
        assert_eq!(r.headers().get("content-type").unwrap(), "application/json");
        let doc = json_of(&r);
        assert!(doc["error"].is_string(), "{label}: {doc}");
        if expected == StatusCode::METHOD_NOT_ALLOWED {
            assert!(r.headers().get("allow").is_some(), "{label}");
        }
    }
    let stored = s.lead(&id).await;
    assert_eq!(
        stored.status,
        Status::Mql,
        "nothing but the touch was written"
    );
    assert_eq!(stored.version, 2);
}

#[tokio::test]
async fn a_queue_longer_than_one_batch_read_lists_every_open_mql_oldest_first() {
    // The queue index holds keys only; the states are read 100 keys per BatchGetItem.
    let s = stack().await;
    let mut ids = Vec::new();
    for i in 0..230u32 {
        let at = mon(9, 0) + chrono::Duration::seconds(i64::from(i) * 7);
        ids.push(
            s.mql(&format!("buyer{i}@northwind{i}.io"), "US", "ae-na", at)
                .await,
        );
    }
    // One leaves the queue: accepted.
    let (status, doc) = s
        .dispose(
            &ids[5],
            "accept",
            json!({"by": "rep@seller.io"}),
            mon(11, 0),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");

    let doc = s.queue("ae-na", mon(11, 5)).await;
    let listed: Vec<&str> = doc["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lead_id"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.remove(5);
    assert_eq!(doc["count"], 229);
    assert_eq!(listed, expected, "every open MQL once, oldest first");
}
