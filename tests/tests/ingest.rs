//! The ingest path end to end: HTTP request -> handler -> scoring -> DynamoDB (moto),
//! as a signed source (the CRM) sends it. The public form lane and the signed lane's
//! own rules have tests of their own (`public_forms.rs`, `signed_sources.rs`).

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use lambda_http::http::{Request as HttpRequest, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

use leadwatch_adapters::store::Store;
use leadwatch_api::ingest::IngestApp;
use leadwatch_core::lifecycle::Status;
use leadwatch_core::{assess, Contract};
use leadwatch_e2e::{function_store, moto, signed, signed_in, unique_name};

/// The route set's router, with a signed-in caller (see [`signed_in`]).
async fn handle(app: &IngestApp, req: Request, now: DateTime<Utc>) -> Response<Body> {
    leadwatch_api::ingest::handle(app, signed_in(req), now).await
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

async fn app() -> IngestApp {
    let config = moto().sdk_config().await;
    let table = unique_name("ingest");
    let setup = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    setup.create_table().await.unwrap();
    IngestApp {
        // The ingest function's calls are recorded as its own (see `iam_in_step`).
        store: function_store("ingest", &table).await,
        contract: Arc::new(Contract::default_contract().unwrap()),
        sources: leadwatch_e2e::test_sources(),
        lead_ids: leadwatch_core::LeadIds::development(),
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

/// A JSON post signed by the CRM at `now()`.
fn post_json(path: &str, body: &Value) -> Request {
    signed(
        request("POST", path, "application/json", body.to_string()),
        now(),
    )
}

fn json_of(r: &Response<Body>) -> Value {
    serde_json::from_slice(r.body().as_ref()).unwrap()
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

#[tokio::test]
async fn a_posted_lead_is_stored_with_its_assessment() {
    let app = app().await;
    let r = handle(
        &app,
        post_json("/leads", &demo_lead("Dana@Northwind.io")),
        now(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.body());
    let body = json_of(&r);
    let id = leadwatch_e2e::lead_id("dana@northwind.io");
    assert_eq!(body["lead_id"], json!(id));
    assert_eq!(body["status"], "mql");
    assert_eq!(body["action"], "act_now");
    assert_eq!(body["fast_lane"], true);
    assert_eq!(body["route"]["team"], "ae-na");
    assert_eq!(body["contract_version"], "2026.11.1");
    // Fast lane SLA: 60 business minutes from 10:00 New York -> 11:00 = 16:00Z.
    assert_eq!(body["sla_due_at"], "2026-11-23T16:00:00Z");

    let stored = app.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(stored.status, Status::Mql);
    assert_eq!(stored.version, 1);
    let a = stored.assessment.as_ref().unwrap();
    assert_eq!(serde_json::to_value(a.total).unwrap(), body["total"]);
    assert!(stored
        .packet
        .as_ref()
        .unwrap()
        .opener
        .contains("Salesforce"));
    let history = app.store.history(&id).await.unwrap();
    let kinds: Vec<&str> = history.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, vec!["signal", "promote"]);

    // GET returns state, packet and history.
    let get = HttpRequest::builder()
        .method("GET")
        .uri(format!("/leads/{id}"))
        .body(Body::Empty)
        .unwrap();
    let r = handle(&app, get, now()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let doc = json_of(&r);
    assert_eq!(doc["lead"]["status"], "mql");
    assert_eq!(doc["history"].as_array().unwrap().len(), 2);
    let missing = HttpRequest::builder()
        .method("GET")
        .uri("/leads/ld_nope")
        .body(Body::Empty)
        .unwrap();
    assert_eq!(
        handle(&app, missing, now()).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_replayed_post_with_its_key_is_not_written_twice() {
    let app = app().await;
    let mut first = post_json("/leads", &demo_lead("kim@acme.io"));
    first
        .headers_mut()
        .insert("idempotency-key", "form-123".parse().unwrap());
    let r1 = handle(&app, first, now()).await;
    assert_eq!(r1.status(), StatusCode::CREATED);
    let mut again = post_json("/leads", &demo_lead("kim@acme.io"));
    again
        .headers_mut()
        .insert("idempotency-key", "form-123".parse().unwrap());
    let r2 = handle(&app, again, now() + Duration::seconds(3)).await;
    assert_eq!(r2.status(), StatusCode::CREATED);
    assert_eq!(json_of(&r1), json_of(&r2));
    assert_eq!(r2.headers().get("idempotent-replayed").unwrap(), "true");
    let id = leadwatch_e2e::lead_id("kim@acme.io");
    let stored = app.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(stored.version, 1, "no second write");
    assert_eq!(stored.signals.len(), 1);
    assert_eq!(app.store.history(&id).await.unwrap().len(), 2);

    // The same key in the body (`submission_id`) works the same way...
    let mut with_id = demo_lead("kim@acme.io");
    with_id["submission_id"] = json!("sub-9");
    with_id["signals"][0]["type"] = json!("pricing_page_visit");
    let a = handle(&app, post_json("/leads", &with_id), now()).await;
    let b = handle(&app, post_json("/leads", &with_id), now()).await;
    assert_eq!(a.status(), StatusCode::OK);
    assert_eq!(json_of(&a), json_of(&b));
    assert_eq!(app.store.get_lead(&id).await.unwrap().unwrap().version, 2);
    // ...and reusing a key for a different body is a 409, with nothing written...
    let mut changed = demo_lead("kim@acme.io");
    changed["title"] = json!("Chief Revenue Officer");
    let mut other = post_json("/leads", &changed);
    other
        .headers_mut()
        .insert("idempotency-key", "form-123".parse().unwrap());
    let r = handle(&app, other, now()).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(json_of(&r)["error"], "idempotency_key_reused");
    let kept = app.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(kept.version, 2);
    assert_eq!(kept.profile.title.as_deref(), Some("VP RevOps"));
    // ...while keys are per lead: a form tool that sends one id for everybody loses
    // nobody.
    let mut someone_else = post_json("/leads", &demo_lead("someone@else.io"));
    someone_else
        .headers_mut()
        .insert("idempotency-key", "form-123".parse().unwrap());
    let r = handle(&app, someone_else, now()).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.body());
    assert!(app
        .store
        .get_lead(&leadwatch_e2e::lead_id("someone@else.io"))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn two_forms_from_one_email_make_one_lead_with_both_signals() {
    let app = app().await;
    // Two public forms: the webinar sign-up, then the demo form with another company.
    let form1 = "form=webinar&email=Lee%40Contoso.com&first_name=Lee&company=Contoso&title=Director+of+Sales+Operations&employees=400&industry=software&country=GB&signal=webinar_attended";
    let form2 = "form=demo&email=+lee%40contoso.com+&company=Contoso+Holdings&website_url=";
    let ct = "application/x-www-form-urlencoded";
    let r1 = handle(
        &app,
        request("POST", "/leads", ct, form1),
        now() - Duration::hours(2),
    )
    .await;
    assert_eq!(r1.status(), StatusCode::ACCEPTED, "{:?}", r1.body());
    let r2 = handle(&app, request("POST", "/leads", ct, form2), now()).await;
    assert_eq!(r2.status(), StatusCode::ACCEPTED, "{:?}", r2.body());
    assert_eq!(json_of(&r2)["status"], "received");
    let stored = app
        .store
        .get_lead(&leadwatch_e2e::lead_id("lee@contoso.com"))
        .await
        .unwrap()
        .unwrap();
    let kinds: Vec<&str> = stored.signals.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, vec!["webinar_attended", "demo_request"]);
    assert_eq!(
        stored.profile.company.as_deref(),
        Some("Contoso"),
        "kept from the first form: a public post never changes a field"
    );
    assert_eq!(stored.profile.source.as_deref(), Some("webinar-form"));
}

#[tokio::test]
async fn fifty_concurrent_signal_posts_all_count() {
    let app = Arc::new(app().await);
    let lead = json!({"email": "busy@fabrikam.io", "first_name": "Bo", "company": "Fabrikam",
                      "title": "Head of Growth", "employees": 300, "industry": "fintech", "country": "US"});
    let r = handle(&app, post_json("/leads", &lead), now()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = leadwatch_e2e::lead_id("busy@fabrikam.io");
    let mut tasks = Vec::new();
    for i in 0..50 {
        let app = Arc::clone(&app);
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"signals": [{"type": "email_click", "at": format!("2026-11-23T14:{:02}:00Z", i),
                                            "detail": format!("click {i}")}]});
            handle(&app, post_json(&format!("/leads/{id}/signals"), &body), now()).await.status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    let stored = app.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(
        stored.signals.len(),
        50,
        "every concurrent post was recorded"
    );
    assert_eq!(stored.version, 51);
    let history = app.store.history(&id).await.unwrap();
    assert_eq!(history.iter().filter(|e| e.kind == "signal").count(), 50);
    // The stored score agrees with all fifty signals.
    let contract = Contract::default_contract().unwrap();
    let recomputed = assess(&stored.profile, &stored.signals, &contract, now());
    assert_eq!(stored.assessment.as_ref().unwrap(), &recomputed);
}

#[tokio::test]
async fn bad_input_gets_a_4xx_naming_the_field_and_writes_nothing() {
    let app = app().await;
    let existing = handle(&app, post_json("/leads", &demo_lead("keep@acme.io")), now()).await;
    assert_eq!(existing.status(), StatusCode::CREATED);
    let keep_id = leadwatch_e2e::lead_id("keep@acme.io");

    let long = "x".repeat(201);
    let cases: Vec<(Request, StatusCode, &str)> = vec![
        (
            request("POST", "/leads", "application/json", "{\"email\": "),
            StatusCode::BAD_REQUEST,
            "body",
        ),
        (
            request(
                "POST",
                "/leads",
                "application/json",
                b"{\"email\":\"\xff@x.io\"}".to_vec(),
            ),
            StatusCode::BAD_REQUEST,
            "body",
        ),
        (
            post_json("/leads", &json!({"email": "a@b.io", "employees": "lots"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "employees",
        ),
        (
            post_json("/leads", &json!({"title": "CTO"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
        ),
        (
            post_json("/leads", &json!({"email": "not-an-email"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
        ),
        (
            post_json("/leads", &json!({"email": "a@b.io", "company": long})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "company",
        ),
        (
            post_json(
                "/leads",
                &json!({"email": "a@b.io", "signals": [{"type": "telepathy"}]}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "signals[0].type",
        ),
        (
            post_json(
                "/leads",
                &json!({"email": "a@b.io", "signals": [{"type": "demo_request", "at": "2027-06-01T00:00:00Z"}]}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "signals[0].at",
        ),
        (
            request(
                "POST",
                "/leads",
                "application/json",
                format!(
                    "{{\"email\":\"a@b.io\",\"pad\":\"{}\"}}",
                    "x".repeat(70_000)
                ),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body",
        ),
        (
            post_json(
                &format!("/leads/{keep_id}/signals"),
                &json!({"signals": [{"type": "demo_request", "at": "yesterday"}]}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "signals[0].at",
        ),
        (
            post_json(
                &format!("/leads/{keep_id}/signals"),
                &json!({"signals": "many"}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "signals",
        ),
    ];
    for (req, status, field) in cases {
        let r = handle(&app, req, now()).await;
        assert_eq!(r.status(), status, "{field}: {:?}", r.body());
        let body = json_of(&r);
        let named = body["fields"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x["field"] == field))
            || body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(field));
        assert!(named, "{field} not named in {body}");
    }
    let xml = request("POST", "/leads", "application/xml", "<lead/>");
    assert_eq!(
        handle(&app, xml, now()).await.status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert!(app
        .store
        .get_lead(&leadwatch_e2e::lead_id("a@b.io"))
        .await
        .unwrap()
        .is_none());
    let kept = app.store.get_lead(&keep_id).await.unwrap().unwrap();
    assert_eq!(kept.version, 1, "the existing lead is untouched");
    // Signals for an unknown lead: 404, nothing created.
    let r = handle(
        &app,
        post_json(
            "/leads/ld_unknown/signals",
            &json!({"signals": [{"type": "blog_view"}]}),
        ),
        now(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(app.store.get_lead("ld_unknown").await.unwrap().is_none());
}

#[tokio::test]
async fn honeypot_submissions_are_accepted_and_dropped() {
    let app = app().await;
    let body = "email=bot%40spam.io&website_url=http%3A%2F%2Fbuy-now.example&signal=demo_request";
    let r = handle(
        &app,
        request("POST", "/leads", "application/x-www-form-urlencoded", body),
        now(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert!(app
        .store
        .get_lead(&leadwatch_e2e::lead_id("bot@spam.io"))
        .await
        .unwrap()
        .is_none());
    // A bot that also got the fields wrong still gets the polite 202, not a list of
    // what to fix (JSON and form alike).
    for (content_type, body) in [
        (
            "application/json",
            r#"{"email": "not-an-email", "employees": "many", "website_url": "x"}"#,
        ),
        (
            "application/x-www-form-urlencoded",
            "email=nope&employees=-3&website_url=http%3A%2F%2Fspam.example",
        ),
    ] {
        let r = handle(&app, request("POST", "/leads", content_type, body), now()).await;
        assert_eq!(
            r.status(),
            StatusCode::ACCEPTED,
            "{content_type}: {:?}",
            r.body()
        );
        assert!(!String::from_utf8_lossy(r.body().as_ref()).contains("fields"));
    }
}

/// `count` leads in the shapes ingest gives them (a tenth are demo-request MQLs, so the
/// timer and queue indexes hold entries too), for tables that should not be empty.
fn existing_leads(count: usize, app: &IngestApp) -> Vec<leadwatch_core::state::LeadState> {
    (0..count)
        .map(|i| {
            let mut lead = demo_lead(&format!("person{i}@company{}.io", i % 700));
            if i % 10 != 0 {
                lead["signals"][0]["type"] = json!("webinar_attended");
            }
            let body = lead.to_string();
            let submission =
                leadwatch_core::lead::parse_lead_json(body.as_bytes(), &app.contract, now())
                    .expect("valid lead");
            let id = app.lead_ids.id_for(&submission.profile.email);
            let mut state =
                leadwatch_core::state::LeadState::new(id, submission.profile, &app.contract, now());
            state.ingest(None, &submission.signals, &app.contract, now());
            state.version = 1;
            state
        })
        .collect()
}

/// Write units one request consumed, as DynamoDB (here moto, which reports what
/// DynamoDB's sizing rules give; see scripts/moto_server.py) told the store.
async fn write_units_of(app: &IngestApp, req: Request) -> (Response<Body>, f64) {
    let before = app.store.write_units_consumed();
    let response = handle(app, req, now()).await;
    (response, app.store.write_units_consumed() - before)
}

#[tokio::test]
async fn with_ten_thousand_leads_a_new_lead_costs_at_most_three_write_units() {
    let app = app().await;
    // Loaded by the test, not by the function: a client of no function, so the bulk
    // import is not recorded as an ingest call.
    let loader = Store::new(
        aws_sdk_dynamodb::Client::new(&moto().sdk_config().await),
        app.store.table_name(),
    );
    loader.import(&existing_leads(10_000, &app)).await.unwrap();

    // A new lead from a web form, with its idempotency key: one conditional PutItem.
    let mut form = demo_lead("newcomer@tailspin.io");
    form["signals"][0]["type"] = json!("webinar_attended");
    let mut req = post_json("/leads", &form);
    req.headers_mut()
        .insert("idempotency-key", "form-77".parse().unwrap());
    let (created, units) = write_units_of(&app, req).await;
    assert_eq!(
        created.status(),
        StatusCode::CREATED,
        "{:?}",
        created.body()
    );
    assert_ne!(json_of(&created)["status"], "mql");
    eprintln!("new lead (nurture): {units} WCU");
    assert!(units > 0.0, "the write reported its capacity");
    assert!(units <= 3.0, "a new lead cost {units} WCU");

    // A new demo request is an MQL at once: one PutItem of its item (its document
    // compressed, its rollup counters in `counts` for the change stream to add up), and
    // its two index entries (timer and queue, small projections): 3 units.
    let (r, mql_units) =
        write_units_of(&app, post_json("/leads", &demo_lead("eager@tailspin.io"))).await;
    assert_eq!(json_of(&r)["status"], "mql");
    eprintln!("new lead (fast-lane MQL): {mql_units} WCU");
    assert!(mql_units > 0.0, "the write reported its capacity");
    assert!(mql_units <= 3.0, "a new MQL cost {mql_units} WCU");

    // The creating request, retried, is answered from the lead's own item.
    let mut again = post_json("/leads", &form);
    again
        .headers_mut()
        .insert("idempotency-key", "form-77".parse().unwrap());
    let (replay, units) = write_units_of(&app, again).await;
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(json_of(&replay), json_of(&created));
    assert_eq!(units, 0.0, "a replay writes nothing");
}

#[tokio::test]
async fn a_leads_events_stay_in_its_item_until_its_journal_is_full() {
    let app = app().await;
    let mut form = demo_lead("sam@litware.io");
    form["signals"][0]["type"] = json!("webinar_attended");
    let keyed = |body: &Value| {
        let mut req = post_json("/leads", body);
        req.headers_mut()
            .insert("idempotency-key", "form-1".parse().unwrap());
        req
    };
    let created = handle(&app, keyed(&form), now()).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = leadwatch_e2e::lead_id("sam@litware.io");
    let history = app.store.history_records(&id).await.unwrap();
    assert_eq!(
        history.len(),
        1,
        "version 1's events, read from the lead's item"
    );
    assert_eq!(history[0].0, 1);

    // The same key on another body for this lead is still a client bug.
    let mut changed = form.clone();
    changed["title"] = json!("CFO");
    let r = handle(&app, keyed(&changed), now()).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(json_of(&r)["error"], "idempotency_key_reused");

    // Later writes without a key journal their events in the lead's item (one
    // PutItem each), and the history reads them from there.
    let signal_at = |minute: u32| json!({"signals": [{"type": "pricing_page_visit", "at": format!("2026-11-23T14:{minute:02}:00Z")}]});
    let post_signal = |minute: u32| {
        let app = &app;
        let id = &id;
        async move {
            let r = handle(
                app,
                post_json(&format!("/leads/{id}/signals"), &signal_at(minute)),
                now(),
            )
            .await;
            assert_eq!(r.status(), StatusCode::OK, "{:?}", r.body());
        }
    };
    for minute in 40..46 {
        post_signal(minute).await;
    }
    let versions = |history: &[(u64, Vec<leadwatch_core::state::AuditEvent>)]| {
        history.iter().map(|(v, _)| *v).collect::<Vec<u64>>()
    };
    let history = app.store.history_records(&id).await.unwrap();
    assert_eq!(versions(&history), (1..=7).collect::<Vec<u64>>());
    assert!(history[0].1.iter().any(|e| e.kind == "signal"));
    assert_eq!(sort_keys(&app, &id).await, vec!["STATE"], "all in one item");

    // The creating request, retried after that, still gets its first answer.
    let replay = handle(&app, keyed(&form), now()).await;
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(json_of(&replay), json_of(&created));
    assert_eq!(app.store.get_lead(&id).await.unwrap().unwrap().version, 7);

    // The journal is full: the next write files the genesis, the journal and its own
    // events as records, in one transaction, and the item sheds them.
    post_signal(46).await;
    let history = app.store.history_records(&id).await.unwrap();
    assert_eq!(versions(&history), (1..=8).collect::<Vec<u64>>());
    let mut expected: Vec<String> = (1..=8).map(|v| format!("EVT#{v:010}")).collect();
    expected.push("STATE".into());
    assert_eq!(sort_keys(&app, &id).await, expected);
    let replay = handle(&app, keyed(&form), now()).await;
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(json_of(&replay), json_of(&created));
}

/// The sort keys of a lead's items, in order.
async fn sort_keys(app: &IngestApp, id: &str) -> Vec<String> {
    app.store
        .client()
        .query()
        .table_name(app.store.table_name())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("LEAD#{id}")),
        )
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).cloned())
        .collect()
}

#[tokio::test]
async fn twin_creating_posts_with_one_key_make_one_lead_and_one_answer() {
    let app = Arc::new(app().await);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let app = Arc::clone(&app);
        tasks.push(tokio::spawn(async move {
            let mut req = post_json("/leads", &demo_lead("twin@northwind.io"));
            req.headers_mut()
                .insert("idempotency-key", "sub-twin".parse().unwrap());
            let r = handle(&app, req, now()).await;
            (r.status(), json_of(&r))
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(
        answers.iter().all(|(s, _)| *s == StatusCode::CREATED),
        "{answers:?}"
    );
    assert!(
        answers.iter().all(|(_, b)| *b == answers[0].1),
        "one answer"
    );
    let id = leadwatch_e2e::lead_id("twin@northwind.io");
    let stored = app.store.get_lead(&id).await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.signals.len(), 1);
}
