//! A real browser against the public form lane: headless Chromium from Debian's
//! packages (`scripts/browser.sh` installs `chromium` and `chromium-driver`), driven
//! over WebDriver, posting to `leadwatch serve` from pages of a marketing site served
//! on another local origin. What a prospect's browser does, end to end:
//!
//! 1. a plain HTML form posted cross-origin lands the visitor on the form's thank-you
//!    page, and the lead is stored once, even after the visitor goes back and posts it
//!    again;
//! 2. a JSON `fetch()` from an allowed origin succeeds (CORS preflight included), and
//!    from an origin the contract does not list it is blocked and stores nothing;
//! 3. a page in windows-1252 posts its form in windows-1252: decoded when the page
//!    says so (`_charset_`), refused with an HTML page naming the field when it does
//!    not, and never stored with replacement characters.
//!
//! The harness is `leadwatch_e2e::browser`, shared with the web app's browser test
//! (`browser_web.rs`). Screenshots of every step go to `<target>/screenshots/forms-*`.
//! Without Chromium the test says so loudly and passes, except in CI (`CI=true`), where
//! it fails: CI must run it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use fantoccini::{Client, Locator};
use serde_json::Value;

use leadwatch_adapters::store::Store;
use leadwatch_cli::serve::{self, Api};
use leadwatch_core::lifecycle::Status;
use leadwatch_core::{Contract, LeadIds};
use leadwatch_e2e::browser::{eventually, screenshot, Browser, Tools};
use leadwatch_e2e::{lead_id, moto, unique_name};

/// The marketing site's pages; `api` is the API's base URL.
fn site(api: &str) -> Router {
    let form_page = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Book a demo</title></head>
<body><h1>Book a demo</h1>
<form method="post" action="{api}/leads">
<input type="hidden" name="form" value="demo"><input type="hidden" name="signal" value="demo_request">
<label>Email <input id="email" name="email"></label>
<label>First name <input id="first_name" name="first_name"></label>
<input name="title" value="VP RevOps"><input name="company" value="Northwind">
<input name="employees" value="250"><input name="industry" value="saas"><input name="country" value="US">
<textarea id="message" name="message"></textarea>
<button id="send" type="submit">Request a demo</button></form></body></html>"#
    );
    let fetch_page = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>pending</title></head>
<body><h1>Newsletter</h1><script>
fetch("{api}/leads", {{method: "POST", headers: {{"Content-Type": "application/json"}},
  body: JSON.stringify({{form: "newsletter", email: location.hash.slice(1), first_name: "Fe"}})}})
  .then(r => r.json().then(j => {{ document.title = "ok:" + r.status + ":" + j.status; }}))
  .catch(e => {{ document.title = "error:" + e.name; }});
</script></body></html>"#
    );
    // No non-ASCII byte in the page itself: its charset is what the browser encodes the
    // typed text with when it posts the form.
    let latin_page = |charset_field: bool| {
        format!(
            r#"<!doctype html><html><head><title>Newsletter</title></head><body>
<form method="post" action="{api}/leads"><input type="hidden" name="form" value="newsletter">
{}<input id="email" name="email"><input id="first_name" name="first_name">
<input id="company" name="company"><button id="send" type="submit">Subscribe</button></form></body></html>"#,
            if charset_field {
                r#"<input type="hidden" name="_charset_">"#
            } else {
                ""
            }
        )
    };
    let windows_1252 = |html: String| {
        (
            [(header::CONTENT_TYPE, "text/html; charset=windows-1252")],
            html,
        )
            .into_response()
    };
    let (declared, undeclared) = (latin_page(true), latin_page(false));
    Router::new()
        .route("/demo.html", get(move || async move { Html(form_page) }))
        .route("/fetch.html", get(move || async move { Html(fetch_page) }))
        .route(
            "/latin-declared.html",
            get(move || async move { windows_1252(declared) }),
        )
        .route(
            "/latin.html",
            get(move || async move { windows_1252(undeclared) }),
        )
        .route(
            "/thanks.html",
            get(|| async {
                Html("<!doctype html><title>Thanks</title><h1>Thanks, talk soon!</h1>")
            }),
        )
}

async fn serve_site(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind the marketing site");
    let origin = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    origin
}

async fn type_into(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.expect("the field");
    field.send_keys(text).await.expect("type");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_posts_forms_and_fetches_across_origins() {
    let Some(tools) = Tools::find() else {
        return;
    };

    // The API on a free port; the marketing site on another origin; a third origin the
    // contract does not list.
    let api_listener = serve::bind(0).await.expect("bind the API");
    let api = serve::base_url(api_listener.local_addr().expect("address"));
    let site_origin = serve_site(site(&api)).await;
    let stranger_origin = serve_site(site(&api)).await;
    let mut spec = Contract::default_contract().expect("contract").spec;
    spec.intake.cors_origins = vec![site_origin.clone()];
    if let Some(demo) = spec.intake.forms.get_mut("demo") {
        demo.thank_you_url = Some(format!("{site_origin}/thanks.html"));
    }
    let contract = Arc::new(Contract::validate(spec).expect("a valid contract"));
    let config = moto().sdk_config().await;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&config),
        unique_name("browser"),
    );
    store.create_table().await.expect("create the table");
    let app = Api::new(store.clone(), contract)
        .with_ingest(leadwatch_e2e::test_sources(), LeadIds::development());
    tokio::spawn(serve::run(api_listener, app, std::future::pending()));

    let browser = Browser::start(&tools).await;
    let client = &browser.client;

    // 1. A plain HTML form, cross-origin, posted twice (back, then again).
    client
        .goto(&format!("{site_origin}/demo.html"))
        .await
        .expect("open the demo page");
    type_into(client, "email", "dana@northwind.io").await;
    type_into(client, "first_name", "Dana").await;
    type_into(client, "message", "Can we see it this week?").await;
    screenshot(client, "forms-1-demo-form").await;
    let thanks = format!("{site_origin}/thanks.html");
    for attempt in 0..2 {
        if attempt == 1 {
            client.back().await.expect("back to the form");
            eventually("the form again", || async {
                client
                    .current_url()
                    .await
                    .is_ok_and(|u| u.path() == "/demo.html")
            })
            .await;
        }
        client
            .find(Locator::Id("send"))
            .await
            .expect("the button")
            .click()
            .await
            .expect("submit");
        eventually("the thank-you page", || async {
            client
                .current_url()
                .await
                .is_ok_and(|u| u.as_str() == thanks)
        })
        .await;
    }
    let page = client.source().await.expect("the page");
    assert!(page.contains("Thanks, talk soon!"), "{page}");
    screenshot(client, "forms-1-thank-you").await;
    let dana = store
        .get_lead(&lead_id("dana@northwind.io"))
        .await
        .expect("read")
        .expect("the lead is stored");
    assert_eq!(dana.version, 1, "stored once");
    assert_eq!(dana.signals.len(), 1, "one demo request, not two");
    assert_eq!(dana.status, Status::Mql);
    assert_eq!(
        dana.signals[0].detail.as_deref(),
        Some("Can we see it this week?")
    );

    // 2. fetch() with JSON: allowed from the site, blocked from a stranger.
    for (origin, email, expected) in [
        (&site_origin, "fetch@acme.io", "ok:202:received"),
        (&stranger_origin, "stranger@acme.io", "error:TypeError"),
    ] {
        client
            .goto(&format!("{origin}/fetch.html#{email}"))
            .await
            .expect("open the fetch page");
        eventually("the fetch to finish", || async {
            client.title().await.is_ok_and(|t| t != "pending")
        })
        .await;
        let title = client.title().await.expect("title");
        screenshot(
            client,
            &format!("forms-2-fetch-{}", email.split('@').next().unwrap_or("x")),
        )
        .await;
        assert_eq!(title, expected, "fetch from {origin}");
    }
    assert!(store
        .get_lead(&lead_id("fetch@acme.io"))
        .await
        .expect("read")
        .is_some_and(|l| l.profile.first_name.as_deref() == Some("Fe")));
    assert!(
        store
            .get_lead(&lead_id("stranger@acme.io"))
            .await
            .expect("read")
            .is_none(),
        "the preflight failed, so the post was never sent"
    );

    // 3. A page in windows-1252: decoded when it says so, else refused; never garbled.
    for (page, email) in [
        ("latin-declared.html", "jose@cafe.example"),
        ("latin.html", "rene@cafe.example"),
    ] {
        client
            .goto(&format!("{site_origin}/{page}"))
            .await
            .expect("open the latin page");
        type_into(client, "email", email).await;
        type_into(client, "first_name", "Jos\u{e9}").await;
        type_into(client, "company", "Caf\u{e9} Cr\u{e8}me").await;
        client
            .find(Locator::Id("send"))
            .await
            .expect("the button")
            .click()
            .await
            .expect("submit");
        eventually("the API's answer page", || async {
            client
                .current_url()
                .await
                .is_ok_and(|u| u.path() == "/leads")
        })
        .await;
        screenshot(
            client,
            &format!("forms-3-{}", page.trim_end_matches(".html")),
        )
        .await;
        let answer = client.source().await.expect("the answer page");
        assert!(
            !answer.contains('{'),
            "a browser is never shown JSON: {answer}"
        );
        let stored = store.get_lead(&lead_id(email)).await.expect("read");
        if page == "latin-declared.html" {
            assert!(answer.contains("Thank you"), "{answer}");
            let lead = stored.expect("decoded and stored");
            assert_eq!(lead.profile.first_name.as_deref(), Some("Jos\u{e9}"));
            assert_eq!(
                lead.profile.company.as_deref(),
                Some("Caf\u{e9} Cr\u{e8}me")
            );
            let text: Value = serde_json::to_value(&lead).expect("json");
            assert!(!text.to_string().contains('\u{fffd}'));
        } else {
            assert!(
                answer.contains("first_name"),
                "the field is named: {answer}"
            );
            assert!(answer.contains("not valid UTF-8"), "{answer}");
            assert!(stored.is_none(), "refused, not stored garbled");
        }
    }

    browser.close().await;
}
