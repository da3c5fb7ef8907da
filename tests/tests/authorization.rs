//! Who may call which route, through the real router with API Gateway events that carry
//! the JWT claims the authorizer verified: no token, a rep of the owning team, a rep of
//! another team, a manager of the owning team, and ops. Every non-public route must
//! refuse a request without a caller (401) and a caller without the permission (403,
//! naming it), and the audit trail must name the caller, not a body's `by`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};

use leadwatch_adapters::store::Store;
use leadwatch_api::caller::ClaimMapping;
use leadwatch_api::entry::call;
use leadwatch_api::ingest::signed_headers;
use leadwatch_api::Api;
use leadwatch_core::access::{Caller, Role};
use leadwatch_core::{Contract, LeadIds};
use leadwatch_e2e::lead_id as lead_id_for;
use leadwatch_e2e::runtime_api::HttpApiEvent;
use leadwatch_e2e::{moto, test_caller, test_sources, unique_name, CRM_SECRET};

/// Monday 2026-11-23 10:00 in New York: business hours for the NA team.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

struct Stack {
    router: Router,
    store: Store,
}

async fn stack() -> Stack {
    let config = moto().sdk_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), unique_name("authz"));
    store.create_table().await.expect("create the table");
    let contract = Arc::new(Contract::default_contract().expect("the built-in contract"));
    Stack {
        router: Api::new(store.clone(), contract)
            .with_ingest(test_sources(), LeadIds::development())
            .with_exports(leadwatch_e2e::exports::exports_for(store.table_name()).await)
            .router(),
        store,
    }
}

impl Stack {
    /// `method path` as API Gateway hands it to the function, with `caller`'s claims
    /// when there is a caller; returns the status and the JSON body.
    async fn send(
        &self,
        caller: Option<&Caller>,
        method: &str,
        path_and_query: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let claims: Option<HashMap<String, String>> =
            caller.map(|c| ClaimMapping::default().claims_for(c).0);
        let body = body.map(|b| b.to_string().into_bytes());
        let mut headers = vec![("content-type", "application/json".to_string())];
        // The ingest writes come from a signed source (the CRM), whoever else calls.
        let ingest_write = path == "/leads" || path.ends_with("/signals");
        if let (true, Some(bytes)) = (ingest_write, &body) {
            headers.extend(signed_headers("crm", CRM_SECRET, now().timestamp(), bytes));
        }
        let event = HttpApiEvent {
            method,
            path,
            query,
            stage: "$default",
            headers,
            body,
            time_epoch: now().timestamp_millis(),
            claims,
        }
        .to_json();
        let req = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event");
        let response = call(&self.router, req, now()).await;
        let status = response.status().as_u16();
        let doc = serde_json::from_slice(response.body().as_ref())
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(response.body()).into()));
        (status, doc)
    }

    /// A new MQL of team ae-na (a US demo request), posted through the public route.
    async fn na_mql(&self, email: &str) -> String {
        let lead = json!({
            "email": email, "first_name": "Dana", "title": "VP RevOps", "company": "Northwind",
            "employees": 250, "industry": "SaaS", "country": "US", "source": "website",
            "signals": [{"type": "demo_request", "at": "2026-11-23T14:50:00Z"}]
        });
        let (status, doc) = self.send(None, "POST", "/leads", Some(lead)).await;
        assert_eq!(status, 201, "{doc}");
        lead_id_for(email)
    }
}

#[tokio::test]
async fn every_route_answers_each_role_as_the_permissions_say() {
    let s = stack().await;
    let rep = test_caller("rita@seller.io", &["ae-na"], &[Role::Rep]);
    let other_rep = test_caller("otto@seller.io", &["ae-emea"], &[Role::Rep]);
    let manager = test_caller("mona@seller.io", &["ae-na"], &[Role::Manager]);
    let ops = test_caller("olga@seller.io", &[], &[Role::Ops]);
    // (who, may act on and read NA leads and the NA queue, may read NA reports, all reports)
    let callers: [(&str, Option<&Caller>, u16, u16, u16); 5] = [
        ("no token", None, 401, 401, 401),
        ("rep of the owning team", Some(&rep), 200, 403, 403),
        ("rep of another team", Some(&other_rep), 403, 403, 403),
        ("manager of the owning team", Some(&manager), 200, 200, 403),
        ("ops", Some(&ops), 403, 200, 200),
    ];
    for (n, (who, caller, act, team_reports, all_reports)) in callers.into_iter().enumerate() {
        // The ingest writes take no token: a signed source answers everyone alike.
        let id = s.na_mql(&format!("lead{n}@northwind.io")).await;
        let signals =
            json!({"signals": [{"type": "pricing_page_visit", "at": "2026-11-23T14:55:00Z"}]});
        let (status, doc) = s
            .send(
                caller,
                "POST",
                &format!("/leads/{id}/signals"),
                Some(signals),
            )
            .await;
        assert_eq!(status, 200, "{who}: signals: {doc}");

        // Reading a lead: its team and ops.
        let read = match who {
            "ops" => 200,
            _ => act,
        };
        let (status, doc) = s.send(caller, "GET", &format!("/leads/{id}"), None).await;
        assert_eq!(status, read, "{who}: GET lead: {doc}");

        let (status, doc) = s.send(caller, "GET", "/queue?team=ae-na", None).await;
        assert_eq!(status, act, "{who}: queue: {doc}");

        for action in ["touch", "accept", "qualify"] {
            let (status, doc) = s
                .send(
                    caller,
                    "POST",
                    &format!("/leads/{id}/{action}"),
                    Some(json!({})),
                )
                .await;
            assert_eq!(status, act, "{who}: {action}: {doc}");
            if status == 403 {
                assert_eq!(doc["error"], "forbidden", "{doc}");
                assert_eq!(doc["permission"], "dispose:ae-na", "{doc}");
            }
            if status == 401 {
                assert_eq!(doc["error"], "unauthenticated", "{doc}");
            }
        }
        let second = s.na_mql(&format!("second{n}@northwind.io")).await;
        let (status, doc) = s
            .send(
                caller,
                "POST",
                &format!("/leads/{second}/reject"),
                Some(json!({"reason": "no_intent"})),
            )
            .await;
        assert_eq!(status, act, "{who}: reject: {doc}");

        // An export that may run is a job: 202 where a report is 200.
        let job = |report: u16| if report == 200 { 202 } else { report };
        for (path, want) in [
            (
                "/reports/sla?from=2026-11&to=2026-11&team=ae-na",
                team_reports,
            ),
            ("/export?team=ae-na", job(team_reports)),
        ] {
            let (status, doc) = s.send(caller, "GET", path, None).await;
            assert_eq!(status, want, "{who}: {path}: {doc}");
        }
        for (path, want) in [
            ("/reports/sla?from=2026-11&to=2026-11", all_reports),
            ("/export", job(all_reports)),
        ] {
            let (status, doc) = s.send(caller, "GET", path, None).await;
            assert_eq!(status, want, "{who}: {path}: {doc}");
        }

        // A refused or unauthenticated disposition wrote nothing.
        let stored = s.store.get_lead(&id).await.unwrap().expect("stored");
        if act != 200 {
            assert!(stored.accepted_at.is_none(), "{who}: {stored:?}");
        } else {
            let by = caller.and_then(|c| c.email.clone());
            assert_eq!(stored.accepted_by, by, "{who}: the caller is the actor");
        }
    }
}

#[tokio::test]
async fn a_body_cannot_choose_who_acted() {
    let s = stack().await;
    let rep = test_caller("rita@seller.io", &["ae-na"], &[Role::Rep]);
    let id = s.na_mql("dana@northwind.io").await;
    let (status, doc) = s
        .send(
            Some(&rep),
            "POST",
            &format!("/leads/{id}/accept"),
            Some(json!({"by": "the-ceo@seller.io"})),
        )
        .await;
    assert_eq!(status, 422, "{doc}");
    assert_eq!(doc["fields"][0]["field"], "by", "{doc}");
    assert!(s
        .store
        .get_lead(&id)
        .await
        .unwrap()
        .unwrap()
        .accepted_at
        .is_none());

    // Naming oneself is fine, in any case; leaving it out is the way.
    let (status, doc) = s
        .send(
            Some(&rep),
            "POST",
            &format!("/leads/{id}/accept"),
            Some(json!({"by": "Rita@Seller.io"})),
        )
        .await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["accepted_by"], "rita@seller.io", "{doc}");
    let history = s.store.history(&id).await.unwrap();
    let accept = history
        .iter()
        .find(|e| e.kind == "accept")
        .expect("an accept event");
    assert_eq!(accept.by.as_deref(), Some("rita@seller.io"), "{accept:?}");
}

#[tokio::test]
async fn a_token_without_a_subject_is_no_caller() {
    let s = stack().await;
    let id = s.na_mql("dana@northwind.io").await;
    let mut event = HttpApiEvent {
        method: "GET",
        path: "/queue",
        query: "team=ae-na",
        stage: "$default",
        headers: vec![],
        body: None,
        time_epoch: now().timestamp_millis(),
        claims: Some(HashMap::from([(
            "cognito:groups".to_string(),
            "[team:ae-na role:manager]".to_string(),
        )])),
    }
    .to_json();
    let req = lambda_http::request::from_str(&event.to_string()).unwrap();
    assert_eq!(call(&s.router, req, now()).await.status(), 401);
    // The same groups with a subject are a manager of ae-na.
    event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = json!("u-7");
    let req = lambda_http::request::from_str(&event.to_string()).unwrap();
    assert_eq!(call(&s.router, req, now()).await.status(), 200);
    let _ = id;
}
