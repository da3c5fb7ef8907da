//! The web app in a real browser: headless Chromium (Debian's `chromium`), driven over
//! WebDriver (`chromedriver`) with fantoccini, against `leadwatch serve` in-process
//! (`leadwatch_cli::serve::run_with_clock`) on a loopback port, on moto.
//!
//! One scenario, as a rep, another team's rep and ops would use the app:
//! * the queue lists the team's open MQLs oldest first, each with a countdown that the
//!   page's script keeps running;
//! * accepting from the lead page moves the lead to SAL and off the queue;
//! * a rep of another team gets 403 on the lead;
//! * the dashboard shows the figures `leadwatch report` computes for the same data;
//! * no page logs a console error (a content-security-policy violation would), and
//!   axe-core (WCAG 2 A and AA rules: labels, names, contrast, ...) finds nothing; every
//!   control is keyboard-reachable.
//!
//! The harness is `leadwatch_e2e::browser`, shared with the public forms' browser test
//! (`browser.rs`). Screenshots go to `<target>/screenshots/web-*`. The tools come from
//! `scripts/browser.sh`; without them the test is skipped locally and fails under CI
//! (`CI=true`).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use fantoccini::{Client, Locator};
use lambda_http::http::Request as HttpRequest;
use lambda_http::Body;
use serde_json::{json, Value};

use leadwatch_adapters::store::Store;
use leadwatch_api::disposition::DispositionApp;
use leadwatch_api::ingest::IngestApp;
use leadwatch_api::report::{sla_report, ReportQuery};
use leadwatch_api::web::layout::{minutes, pct};
use leadwatch_cli::serve::{self, Api};
use leadwatch_core::report::Month;
use leadwatch_core::Contract;
use leadwatch_e2e::browser::{axe_core, console_errors, screenshot, Browser, Tools};
use leadwatch_e2e::{lead_id, moto, signed, signed_in, test_sources, unique_name};

/// The server's clock: Wednesday 25 November 2026, 10:00 in New York, 15:00 in London.
fn clock() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 15, 0, 0).unwrap()
}

fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, h, m, 0).unwrap()
}

/// Check the page as it is: no console errors, no axe-core violations of the WCAG 2 A
/// and AA rules, and every control reachable by keyboard.
async fn check_page(c: &Client, axe: &str, what: &str) {
    let errors = console_errors(c).await;
    assert!(errors.is_empty(), "{what}: console errors: {errors:#?}");
    c.execute(axe, vec![]).await.expect("load axe-core");
    let violations = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
               .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact,
                   nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ': ' + n.failureSummary) }))))
               .catch(e => done([{ id: 'axe-error', nodes: [String(e)] }]));",
            vec![],
        )
        .await
        .expect("run axe-core");
    assert_eq!(violations, json!([]), "{what}: accessibility violations");
    let unreachable = c
        .execute(
            "return [...document.querySelectorAll('a[href], button, input, select, textarea, summary')]
               .filter(e => e.type !== 'hidden' && !e.closest('.skip'))
               .filter(e => e.tabIndex < 0 || e.disabled || !(e.offsetWidth || e.offsetHeight || e.getClientRects().length))
               .map(e => e.outerHTML.slice(0, 120));",
            vec![],
        )
        .await
        .expect("list controls");
    assert_eq!(
        unreachable,
        json!([]),
        "{what}: controls out of keyboard reach"
    );
}

/// Press Tab until focus comes back round; the ids and hrefs focused on the way.
async fn tab_walk(c: &Client) -> Vec<String> {
    let body = c.find(Locator::Css("body")).await.unwrap();
    body.click().await.ok();
    let mut seen = Vec::new();
    for _ in 0..80 {
        c.active_element()
            .await
            .unwrap()
            .send_keys(&char::from(fantoccini::key::Key::Tab).to_string())
            .await
            .unwrap();
        let id = c
            .execute(
                "const e = document.activeElement; return e.id || e.getAttribute('href') || e.name || e.tagName;",
                vec![],
            )
            .await
            .unwrap();
        let id = id.as_str().unwrap_or_default().to_string();
        if seen.first() == Some(&id) {
            break;
        }
        seen.push(id);
    }
    seen
}

async fn sign_in(c: &Client, base: &str, user: &str) {
    c.goto(&format!("{base}/app")).await.unwrap();
    let url = c.current_url().await.unwrap();
    assert_eq!(
        url.path(),
        "/app/signin",
        "a signed-out visit goes to sign-in"
    );
    c.find(Locator::Css(&format!("button[value='{user}']")))
        .await
        .unwrap_or_else(|e| panic!("no sign-in button for {user}: {e}"))
        .click()
        .await
        .unwrap();
    // The sign-in page has an `h1` of its own: wait until the browser has left it (the
    // post answered and its cookie set), or the next step races the sign-in.
    let deadline = std::time::Instant::now() + StdDuration::from_secs(10);
    while c.current_url().await.unwrap().path() == "/app/signin" {
        assert!(
            std::time::Instant::now() < deadline,
            "{user} is still on the sign-in page"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    c.wait().for_element(Locator::Css("h1")).await.unwrap();
}

async fn sign_out(c: &Client) {
    c.find(Locator::Css("form[action='/app/signout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("button[name='user']"))
        .await
        .unwrap();
}

fn demo_request(email: &str, country: &str, at: DateTime<Utc>) -> Value {
    json!({
        "email": email, "first_name": email.split('@').next().unwrap(), "last_name": "Tester",
        "title": "VP Sales", "company": "Northwind <b>Labs</b>", "employees": 400, "industry": "saas",
        "country": country, "source": "website",
        "signals": [{"type": "demo_request", "at": at, "question": true, "detail": "<script>alert(1)</script> this week?"}]
    })
}

/// Post `body` to `path`: leads come in as the CRM sends them (a signed post), actions
/// as a signed-in caller's.
async fn call(router: &axum::Router, path: &str, body: &Value, now: DateTime<Utc>) -> Value {
    let req = HttpRequest::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let req = if path == "/leads" {
        signed(req, now)
    } else {
        signed_in(req)
    };
    let r = leadwatch_api::entry::call(router, req, now).await;
    assert!(r.status().is_success(), "{path}: {:?}", r.body());
    serde_json::from_slice(r.body().as_ref()).unwrap()
}

/// Leads on their way: ae-na has three open MQLs (one overdue) and one accepted and one
/// rejected the day before; ae-emea has one open MQL.
async fn seed(store: &Store, contract: &Arc<Contract>) -> Vec<String> {
    let ingest = leadwatch_api::function_router(leadwatch_api::ingest::routes(IngestApp {
        sources: test_sources(),
        ..IngestApp::new(store.clone(), Arc::clone(contract))
    }));
    let disposition =
        leadwatch_api::function_router(leadwatch_api::disposition::routes(DispositionApp {
            store: store.clone(),
            contract: Arc::clone(contract),
        }));
    let open = [
        ("old@northwind.io", at(24, 15, 0)),
        ("mid@northwind.io", at(25, 14, 40)),
        ("new@northwind.io", at(25, 14, 50)),
    ];
    for (email, when) in open {
        call(
            &ingest,
            "/leads",
            &demo_request(email, "US", when),
            when + Duration::minutes(1),
        )
        .await;
    }
    call(
        &ingest,
        "/leads",
        &demo_request("uk@example.co.uk", "GB", at(25, 14, 0)),
        at(25, 14, 1),
    )
    .await;
    for (email, when) in [
        ("took@northwind.io", at(24, 14, 20)),
        ("nope@northwind.io", at(24, 14, 30)),
    ] {
        call(
            &ingest,
            "/leads",
            &demo_request(email, "US", when),
            when + Duration::minutes(1),
        )
        .await;
    }
    let took = lead_id("took@northwind.io");
    call(
        &disposition,
        &format!("/leads/{took}/accept"),
        &json!({}),
        at(24, 14, 45),
    )
    .await;
    let nope = lead_id("nope@northwind.io");
    call(
        &disposition,
        &format!("/leads/{nope}/reject"),
        &json!({"reason": "no_intent", "note": "student"}),
        at(24, 14, 50),
    )
    .await;
    open.iter().map(|(e, _)| lead_id(e)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_in_chromium() {
    let (Some(tools), Some(axe)) = (Tools::find(), axe_core()) else {
        return;
    };
    let config = moto().sdk_config().await;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&config),
        unique_name("browser"),
    );
    store.create_table().await.unwrap();
    let contract = Arc::new(Contract::default_contract().unwrap());
    let queue_ids = seed(&store, &contract).await;

    let listener = serve::bind(0).await.unwrap();
    let base = serve::base_url(listener.local_addr().unwrap());
    let api = Api::new(store.clone(), Arc::clone(&contract))
        .with_ingest(test_sources(), leadwatch_core::LeadIds::development())
        .with_web(serve::dev_web(store.clone(), Arc::clone(&contract)));
    tokio::spawn(serve::run_with_clock(
        listener,
        api,
        clock,
        std::future::pending(),
    ));

    let browser = Browser::start(&tools).await;
    let c = &browser.client;

    // Sign in as a rep of ae-na: the local sign-in page says it is local only.
    c.goto(&format!("{base}/app")).await.unwrap();
    let banner = c
        .find(Locator::Css(".banner.local"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(banner.contains("Local only"), "{banner}");
    check_page(c, &axe, "sign-in page").await;
    screenshot(c, "web-01-sign-in").await;
    sign_in(c, &base, "rep:ae-na").await;

    // The queue: ae-na's open MQLs, oldest first, each with a countdown.
    let rows = c.find_all(Locator::Css("#queue tbody tr")).await.unwrap();
    let mut listed = Vec::new();
    for row in &rows {
        listed.push(row.attr("data-lead").await.unwrap().unwrap_or_default());
    }
    assert_eq!(listed, queue_ids, "open MQLs, oldest first");
    let first_class = rows[0].attr("class").await.unwrap().unwrap_or_default();
    assert!(
        first_class.contains("overdue"),
        "the oldest is overdue: {first_class}"
    );
    let countdowns = c.find_all(Locator::Css("#queue .countdown")).await.unwrap();
    assert_eq!(countdowns.len(), 3);
    let text = countdowns[0].text().await.unwrap();
    assert!(text.starts_with("overdue by "), "{text}");
    let text = countdowns[1].text().await.unwrap();
    assert_eq!(
        text, "41 min left",
        "60 business minutes from the MQL (posted 14:41), seen at 15:00"
    );
    // The script runs the clock: the seconds shown go down while the office is open.
    let shown = |e: &fantoccini::elements::Element| {
        let e = e.clone();
        async move {
            e.attr("data-now")
                .await
                .unwrap()
                .unwrap_or_default()
                .parse::<i64>()
                .unwrap()
        }
    };
    let before = shown(&countdowns[1]).await;
    tokio::time::sleep(StdDuration::from_millis(2200)).await;
    let after = shown(&countdowns[1]).await;
    assert!(
        after < before && before - after <= 4,
        "the countdown runs: {before} -> {after}"
    );
    // Lead text is escaped, never markup.
    let source = c.source().await.unwrap();
    assert!(
        source.contains("Northwind &lt;b&gt;Labs&lt;/b&gt;"),
        "company escaped"
    );
    check_page(c, &axe, "queue").await;
    let walked = tab_walk(c).await;
    for id in &queue_ids {
        assert!(
            walked.contains(&format!("/app/leads/{id}")),
            "Tab reaches {id}: {walked:?}"
        );
    }
    screenshot(c, "web-02-queue").await;

    // The lead page: assessment, packet, timeline; accept it.
    c.find(Locator::Css(&format!(
        "a[href='/app/leads/{}']",
        queue_ids[0]
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    let status = c
        .wait()
        .for_element(Locator::Css("#lead-status"))
        .await
        .unwrap();
    assert_eq!(
        status.attr("data-status").await.unwrap().as_deref(),
        Some("mql")
    );
    for css in [
        "section.pillar[data-pillar='intent' i] li",
        "#opener",
        "#next-step",
        "#timeline li[data-kind='signal']",
        "#do-accept",
        "#reason",
    ] {
        c.find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("lead page lacks {css}: {e}"));
    }
    let source = c.source().await.unwrap();
    assert!(
        !source.contains("<script>alert(1)</script>"),
        "signal detail escaped"
    );
    check_page(c, &axe, "lead page").await;
    screenshot(c, "web-03-lead").await;
    c.find(Locator::Css("#do-accept"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    if c.wait().for_element(Locator::Css("#done")).await.is_err() {
        let main = c
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        panic!("accepting did not come back done: {main}");
    }
    let status = c.find(Locator::Css("#lead-status")).await.unwrap();
    assert_eq!(
        status.attr("data-status").await.unwrap().as_deref(),
        Some("sal")
    );
    assert!(
        c.current_url()
            .await
            .unwrap()
            .query()
            .unwrap_or_default()
            .contains("done=accept"),
        "post/redirect/get"
    );
    let stored = store.get_lead(&queue_ids[0]).await.unwrap().unwrap();
    assert_eq!(stored.status.as_str(), "sal");
    assert_eq!(
        stored.accepted_by.as_deref(),
        Some("rep.ae-na@leadwatch.local")
    );
    check_page(c, &axe, "lead page after accepting").await;
    screenshot(c, "web-04-accepted").await;

    // Off the queue.
    c.goto(&format!("{base}/app")).await.unwrap();
    let rows = c.find_all(Locator::Css("#queue tbody tr")).await.unwrap();
    let mut listed = Vec::new();
    for row in &rows {
        listed.push(row.attr("data-lead").await.unwrap().unwrap_or_default());
    }
    assert_eq!(listed, queue_ids[1..], "the accepted lead left the queue");

    // Another team's rep: 403 on the lead page, and no actions.
    sign_out(c).await;
    sign_in(c, &base, "rep:ae-emea").await;
    let lead_url = format!("{base}/app/leads/{}", queue_ids[1]);
    c.goto(&lead_url).await.unwrap();
    assert_eq!(
        c.find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "Not allowed"
    );
    // The status itself, asked with the browser's own sign-in cookie (the page's
    // content security policy rightly forbids a script in it to fetch).
    let cookie = c
        .get_named_cookie("leadwatch_dev_claims")
        .await
        .expect("the browser holds the sign-in cookie");
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<String>();
    let req = lambda_http::http::Request::get(&lead_url)
        .header("cookie", format!("leadwatch_dev_claims={}", cookie.value()))
        .body(String::new())
        .unwrap();
    assert_eq!(http.request(req).await.unwrap().status().as_u16(), 403);
    // A 403 answer is logged by the browser as a failed resource; that one is expected.
    let _ = console_errors(c).await;
    screenshot(c, "web-05-forbidden").await;

    // Ops: the dashboard's figures are the report's, once the rollup function has
    // counted the table's stream (here the local stand-in for it).
    leadwatch_e2e::count_stream(store.table_name()).await;
    c.goto(&format!("{base}/app")).await.unwrap();
    sign_out(c).await;
    sign_in(c, &base, "ops").await;
    let month = Month::parse("2026-11").unwrap();
    for (team, path) in [
        (None, "from=2026-11&to=2026-11"),
        (Some("ae-na"), "from=2026-11&to=2026-11&team=ae-na"),
    ] {
        c.goto(&format!("{base}/app/dashboard?{path}"))
            .await
            .unwrap();
        let query = ReportQuery {
            from: month,
            to: month,
            team: team.map(str::to_string),
        };
        let report = sla_report(&store, &query).await.unwrap();
        let row = report
            .row(
                "2026-11",
                team.map_or("all", |_| "team"),
                team.unwrap_or("all"),
            )
            .unwrap();
        let expected = [
            ("mqls", row.mqls.to_string()),
            ("fast_lane_mqls", row.fast_lane_mqls.to_string()),
            ("sla_met_pct", pct(row.sla_met_pct)),
            ("acceptance_rate_pct", pct(row.acceptance_rate_pct)),
            (
                "time_to_accept_p50_minutes",
                minutes(row.time_to_accept_p50_minutes),
            ),
            (
                "time_to_accept_p90_minutes",
                minutes(row.time_to_accept_p90_minutes),
            ),
            ("mql_to_sal_pct", pct(row.mql_to_sal_pct)),
            ("sal_to_sql_pct", pct(row.sal_to_sql_pct)),
            ("expired", row.expired.to_string()),
            ("rejected", row.rejected.to_string()),
        ];
        assert_eq!(row.mqls, if team.is_some() { 5 } else { 6 }, "seeded MQLs");
        assert_eq!(row.accepted, 2);
        for (figure, value) in expected {
            let cell = c
                .find(Locator::Css(&format!(
                    "#report-rows tr[data-month='2026-11'] td[data-figure='{figure}']"
                )))
                .await
                .unwrap_or_else(|e| panic!("no {figure} cell: {e}"));
            assert_eq!(cell.text().await.unwrap(), value, "{figure} for {team:?}");
        }
        let bars = c
            .find_all(Locator::Css("#chart-sla rect[data-value]"))
            .await
            .unwrap();
        assert!(!bars.is_empty(), "SLA chart has bars");
        c.find(Locator::Css("#chart-sla line[data-target='90']"))
            .await
            .expect("target line");
        let rejected = c
            .find(Locator::Css(
                "#chart-rejections rect[data-name='no intent']",
            ))
            .await
            .unwrap();
        assert_eq!(
            rejected.attr("data-value").await.unwrap().as_deref(),
            Some("1")
        );
        c.find(Locator::Css("#contract-review"))
            .await
            .expect("contract review flag");
        check_page(c, &axe, "dashboard").await;
        screenshot(
            c,
            if team.is_some() {
                "web-07-dashboard-ae-na"
            } else {
                "web-06-dashboard"
            },
        )
        .await;
    }
    c.goto(&format!("{base}/app/contract")).await.unwrap();
    let version = c
        .find(Locator::Css("#contract-version"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(version, contract.version());
    check_page(c, &axe, "contract page").await;
    screenshot(c, "web-08-contract").await;

    browser.close().await;
}
