//! The public form lane end to end, through the real router into DynamoDB (moto): what
//! a browser or a page's script may post to `POST /leads` unsigned, what it is told,
//! and what it can never do to a lead (see `leadwatch_api::ingest`'s `public` module).

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use lambda_http::http::{Request as HttpRequest, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

use leadwatch_adapters::store::Store;
use leadwatch_api::ingest::{handle, IngestApp};
use leadwatch_core::Contract;
use leadwatch_e2e::{
    lead_id, moto, signed, signed_as, table_snapshot, unique_name, MARKETING_SECRET,
};

const FORM: &str = "application/x-www-form-urlencoded";
/// What Chromium sends when a plain HTML form navigates.
const BROWSER_ACCEPT: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

async fn app() -> IngestApp {
    let config = moto().sdk_config().await;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&config),
        unique_name("public"),
    );
    store.create_table().await.unwrap();
    IngestApp {
        sources: leadwatch_e2e::test_sources(),
        ..IngestApp::new(store, Arc::new(Contract::default_contract().unwrap()))
    }
}

fn post(content_type: &str, body: impl Into<Vec<u8>>, headers: &[(&str, &str)]) -> Request {
    let mut req = HttpRequest::builder()
        .method("POST")
        .uri("/leads")
        .header("content-type", content_type);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body(Body::Binary(body.into())).unwrap()
}

fn form(body: &str) -> Request {
    post(FORM, body, &[])
}

fn json_of(r: &Response<Body>) -> Value {
    serde_json::from_slice(r.body().as_ref()).unwrap_or(Value::Null)
}

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

/// Every item of the app's table (see [`table_snapshot`]).
async fn table(app: &IngestApp) -> Vec<String> {
    table_snapshot(&app.store).await
}

const DEMO: &str = "form=demo&email=dana%40northwind.io&first_name=Dana&last_name=Lee\
                    &title=VP+RevOps&company=Northwind&employees=250&industry=saas&country=US\
                    &message=Do+you+integrate+with+Salesforce%3F";

#[tokio::test]
async fn an_unlisted_field_or_signal_type_is_a_422_naming_it_and_writes_nothing() {
    let app = app().await;
    let cases: Vec<(Request, Vec<&str>)> = vec![
        // The newsletter form takes email, first name and company only.
        (
            form("form=newsletter&email=a%40b.io&title=CEO"),
            vec!["title"],
        ),
        (
            form("form=demo&email=a%40b.io&abm_target=on&source=crm"),
            vec!["abm_target", "source"],
        ),
        (
            form("form=demo&email=a%40b.io&signal=webinar_attended"),
            vec!["signal"],
        ),
        (
            form("form=demo&email=a%40b.io&signal=telepathy"),
            vec!["signal"],
        ),
        (form("email=a%40b.io"), vec!["form"]),
        (form("form=careers&email=a%40b.io"), vec!["form"]),
        // A script's JSON is held to the same form; a signals list is not a form field.
        (
            post(
                "application/json",
                json!({"form": "demo", "email": "a@b.io",
                       "signals": [{"type": "meeting_accepted"}]})
                .to_string(),
                &[],
            ),
            vec!["signals"],
        ),
    ];
    for (req, fields) in cases {
        let r = handle(&app, req, now()).await;
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{:?}",
            r.body()
        );
        assert_eq!(named(&r), fields, "{}", json_of(&r));
    }
    assert!(table(&app).await.is_empty(), "nothing was written");
}

#[tokio::test]
async fn no_answer_of_the_public_lane_says_anything_about_the_lead() {
    let app = app().await;
    // A lead the CRM knows: an MQL of ae-na with a team and scores.
    let crm = json!({"email": "kim@acme.io", "first_name": "Kim", "last_name": "Ode",
                     "title": "VP Sales", "company": "Acme", "employees": 300,
                     "industry": "SaaS", "country": "US", "source": "crm",
                     "signals": [{"type": "demo_request", "at": now().to_rfc3339()}]});
    let r = handle(
        &app,
        signed(post("application/json", crm.to_string(), &[]), now()),
        now(),
    )
    .await;
    assert_eq!(
        json_of(&r)["team"],
        "ae-na",
        "the signed lane says it all: {}",
        json_of(&r)
    );
    let multipart = "--b\r\nContent-Disposition: form-data; name=\"form\"\r\n\r\ncontact_sales\r\n\
                     --b\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nkim@acme.io\r\n--b--\r\n";
    let posts = vec![
        form(DEMO),                                             // a new MQL
        form(DEMO),                                             // the same again
        form("form=demo&email=kim%40acme.io&message=hello"),    // a known MQL
        form("form=demo&email=rep%40rivalcrm.example"),         // a competitor: gates fail
        form("form=demo&email=bot%40spam.io&website_url=http"), // a bot
        post(
            "application/json",
            r#"{"form": "webinar", "email": "kim@acme.io"}"#,
            &[],
        ),
        post("multipart/form-data; boundary=b", multipart, &[]),
    ];
    for req in posts {
        let r = handle(&app, req, now()).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.body());
        let body = json_of(&r);
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["receipt", "status"], "{body}");
        assert_eq!(body["status"], "received");
        let text = String::from_utf8_lossy(r.body().as_ref()).to_string();
        for secret in [
            "mql",
            "ae-na",
            "gate",
            "score",
            "total",
            "ld_",
            "competitor",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
    // And the posts were stored: the competitor disqualified, the MQL routed.
    let rival = app
        .store
        .get_lead(&lead_id("rep@rivalcrm.example"))
        .await
        .unwrap();
    assert!(rival.is_some_and(|l| l.status.as_str() == "disqualified"));
    let dana = app
        .store
        .get_lead(&lead_id("dana@northwind.io"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dana.team.as_deref(), Some("ae-na"));
}

#[tokio::test]
async fn a_browser_is_sent_to_the_thank_you_page_or_shown_html_never_json() {
    let app = app().await;
    let browser = |body: &str| post(FORM, body, &[("accept", BROWSER_ACCEPT)]);
    let r = handle(&app, browser(DEMO), now()).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "https://www.example.com/thank-you");
    // The webinar form has no thank-you URL: a small page.
    let r = handle(
        &app,
        browser("form=webinar&email=lee%40contoso.com&first_name=Lee"),
        now(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert!(String::from_utf8_lossy(r.body().as_ref()).contains("Thank you"));
    // A mistake: an HTML page with the status, naming the field and the problem.
    let r = handle(
        &app,
        browser("form=newsletter&email=a%40b.io&title=<b>CEO"),
        now(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let page = String::from_utf8_lossy(r.body().as_ref()).to_string();
    assert!(
        page.contains("<strong>title</strong>: is not a field of form"),
        "{page}"
    );
    let r = handle(
        &app,
        browser(&format!("{DEMO}&pad={}", "x".repeat(70_000))),
        now(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
}

#[tokio::test]
async fn cors_allows_the_configured_origins_only_preflight_included() {
    let app = app().await;
    let preflight = |origin: &str| {
        HttpRequest::builder()
            .method("OPTIONS")
            .uri("/leads")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .body(Body::Empty)
            .unwrap()
    };
    let r = handle(&app, preflight("https://www.example.com"), now()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "https://www.example.com");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("content-type"));
    let r = handle(&app, preflight("https://evil.example"), now()).await;
    let cors: Vec<&str> = r
        .headers()
        .keys()
        .map(|k| k.as_str())
        .filter(|k| k.starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "a stranger gets no CORS header: {cors:?}");

    let fetch = |origin: &str| {
        post(
            "application/json",
            r#"{"form": "newsletter", "email": "sub@acme.io"}"#,
            &[("origin", origin)],
        )
    };
    let r = handle(&app, fetch("https://www.example.com"), now()).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://www.example.com"
    );
    let r = handle(&app, fetch("https://evil.example"), now()).await;
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn multipart_form_data_is_accepted() {
    let app = app().await;
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"form\"\r\n\r\ncontact_sales\r\n\
                --XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nana@acme.io\r\n\
                --XyZ\r\nContent-Disposition: form-data; name=\"company\"\r\n\r\nAcme\r\n\
                --XyZ\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nPricing for 60 seats?\r\n\
                --XyZ--\r\n";
    let r = handle(
        &app,
        post("multipart/form-data; boundary=XyZ", body, &[]),
        now(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.body());
    let ana = app
        .store
        .get_lead(&lead_id("ana@acme.io"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ana.profile.company.as_deref(), Some("Acme"));
    assert_eq!(ana.signals[0].kind, "contact_sales");
    assert_eq!(
        ana.signals[0].detail.as_deref(),
        Some("Pricing for 60 seats?")
    );
    assert!(ana.signals[0].question);
}

#[tokio::test]
async fn windows_1252_is_decoded_and_bytes_that_are_not_utf8_are_refused() {
    let app = app().await;
    // A page in windows-1252 posts é as %E9 and the curly quotes as %93 / %94.
    let latin = "form=demo&email=jose%40cafe.example&first_name=Jos%E9\
                 &company=Caf%E9+%93Cr%E8me%94&country=FR";
    let r = handle(&app, form(latin), now()).await;
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "undeclared: refused"
    );
    assert_eq!(named(&r), vec!["first_name", "company"]);
    assert!(json_of(&r)["message"]
        .as_str()
        .unwrap()
        .contains("not valid UTF-8"));
    assert!(table(&app).await.is_empty());

    for req in [
        form(&format!("{latin}&_charset_=windows-1252")),
        post(&format!("{FORM}; charset=windows-1252"), latin, &[]),
    ] {
        let r = handle(&app, req, now()).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED, "{:?}", r.body());
    }
    let jose = app
        .store
        .get_lead(&lead_id("jose@cafe.example"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(jose.profile.first_name.as_deref(), Some("Jos\u{e9}"));
    assert_eq!(
        jose.profile.company.as_deref(),
        Some("Caf\u{e9} \u{201c}Cr\u{e8}me\u{201d}")
    );
    let stored = serde_json::to_string(&jose).unwrap();
    assert!(
        !stored.contains('\u{fffd}'),
        "no replacement character: {stored}"
    );
    assert_eq!(
        jose.signals.len(),
        1,
        "the second, identical post added nothing"
    );
}

#[tokio::test]
async fn a_double_submit_stores_once_and_gets_the_same_receipt() {
    let app = app().await;
    let first = handle(&app, form(DEMO), now()).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let after_first = table(&app).await;
    for later in [
        Duration::seconds(2),
        Duration::minutes(9),
        Duration::minutes(15),
    ] {
        let again = handle(&app, form(DEMO), now() + later).await;
        assert_eq!(again.status(), StatusCode::ACCEPTED);
        assert_eq!(json_of(&again), json_of(&first), "the same receipt");
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(
            table(&app).await,
            after_first,
            "{later}: the table is unchanged"
        );
    }
    let dana = app
        .store
        .get_lead(&lead_id("dana@northwind.io"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((dana.version, dana.signals.len()), (1, 1));
    // A different message is another submission; so is the same one much later.
    let other = DEMO.replace("Salesforce", "HubSpot");
    assert_ne!(
        json_of(&handle(&app, form(&other), now()).await),
        json_of(&first)
    );
    let much_later = handle(&app, form(DEMO), now() + Duration::minutes(25)).await;
    assert_eq!(much_later.status(), StatusCode::ACCEPTED);
    assert!(much_later.headers().get("idempotent-replayed").is_none());
    assert_ne!(
        json_of(&much_later),
        json_of(&first),
        "another submission, another receipt"
    );
    let dana = app
        .store
        .get_lead(&lead_id("dana@northwind.io"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dana.signals.len(), 3);
}

#[tokio::test]
async fn a_public_post_fills_a_known_leads_empty_fields_but_never_changes_one() {
    let app = app().await;
    let crm = json!({"email": "kim@acme.io", "title": "VP Sales", "company": "Acme",
                     "abm_target": true, "country": "US"});
    let r = handle(
        &app,
        signed(post("application/json", crm.to_string(), &[]), now()),
        now(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{:?}", r.body());
    let forged =
        "form=demo&email=KIM%40acme.io&title=Student&company=Nobody&employees=12&country=GB";
    let r = handle(&app, form(forged), now()).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let kim = app
        .store
        .get_lead(&lead_id("kim@acme.io"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kim.profile.title.as_deref(), Some("VP Sales"));
    assert_eq!(kim.profile.company.as_deref(), Some("Acme"));
    assert_eq!(kim.profile.country.as_deref(), Some("US"));
    assert!(kim.profile.abm_target);
    assert_eq!(kim.profile.employees, Some(12), "an empty field is filled");
    assert_eq!(kim.signals.len(), 1, "the form's signal is added");
}

#[tokio::test]
async fn sales_side_signals_come_only_from_a_signed_sales_source() {
    let app = app().await;
    let r = handle(&app, form(DEMO), now()).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let dana = lead_id("dana@northwind.io");
    let r = handle(
        &app,
        form("form=demo&email=dana%40northwind.io&signal=meeting_accepted"),
        now(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(named(&r), vec!["signal"]);
    assert!(json_of(&r)["message"]
        .as_str()
        .unwrap()
        .contains("sales-side"));

    let batch = json!({"signals": [{"type": "meeting_accepted"}]}).to_string();
    let to_lead = || {
        HttpRequest::builder()
            .method("POST")
            .uri(format!("/leads/{dana}/signals"))
            .header("content-type", "application/json")
            .body(Body::Text(batch.clone()))
            .unwrap()
    };
    let r = handle(&app, to_lead(), now()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "unsigned");
    assert_eq!(json_of(&r)["error"], "signature_required");
    let r = handle(
        &app,
        signed_as(to_lead(), "marketing", MARKETING_SECRET, now()),
        now(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(named(&r), vec!["signals[0].type"]);
    let before = app.store.get_lead(&dana).await.unwrap().unwrap();
    assert_eq!(before.signals.len(), 1);

    let r = handle(&app, signed(to_lead(), now()), now()).await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.body());
    let after = app.store.get_lead(&dana).await.unwrap().unwrap();
    assert!(after.signals.iter().any(|s| s.kind == "meeting_accepted"));
}
