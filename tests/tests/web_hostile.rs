//! Hostile input to every route of the web app, in-process through the web function's
//! router (`function_router(web::routes(..))`, as `functions/web` serves it) against
//! DynamoDB (moto), signed in with the sealed session cookie the deployed sign-in sets.
//!
//! Lead ids that cannot name a lead, asset paths that try to climb out, junk, repeated
//! and unknown query parameters, form posts without a valid token, with unknown
//! actions, reasons and fields, the wrong content type, broken encoding, an oversized
//! body, a double submit, a stale action, no session and another team's rep, and junk
//! at the sign-in and its callback. Every refusal is a 4xx (never a 5xx): an HTML page
//! naming the field or the problem, except the router's generic JSON answers (405, 413
//! and `no_route` for paths no route serves, as `docs/openapi.yaml` says); and a refused
//! post is checked to have written nothing (`table_snapshot`). The harness is
//! `leadwatch_e2e::web_app`.

use std::sync::Arc;

use chrono::Duration;
use lambda_http::http::header;
use serde_json::json;

use leadwatch_api::caller::ClaimMapping;
use leadwatch_api::web::session::{form_token, session_value, SESSION_COOKIE};
use leadwatch_api::web::{Oidc, OidcSettings, SignIn};
use leadwatch_core::lifecycle::Status;
use leadwatch_core::signed::LEAD_LINK;
use leadwatch_e2e::table_snapshot;
use leadwatch_e2e::web_app::{json_error, now, ops, other_rep, page, rep, text, web, FORM};

#[tokio::test]
async fn lead_ids_that_cannot_name_a_lead_are_404_pages() {
    let (web, ids) = web(SignIn::NotConfigured).await;
    let before = table_snapshot(&web.store).await;
    let long = "a".repeat(129);
    let huge = "x".repeat(6000);
    let token = format!("csrf={}&action=accept", web.token(&rep()));
    for id in [
        "ld_ffffffffffffffffffffffff",
        long.as_str(),
        huge.as_str(),
        "%C3%A9t%C3%A9",
        "ld_%E2%80%8B1",
        "%00",
        "ld_1%00",
        "..",
        "%2e%2e",
        "..%2F..%2FCargo.toml",
        "ld%5C..%5Cx",
        "%ff%fe",
        "%zz",
        "ld_1;drop",
    ] {
        let uri = format!("/app/leads/{id}");
        page(&web.get(&uri, Some(&rep())).await, 404, "not found", &uri);
        let r = web.post(&uri, &rep(), FORM, token.clone()).await;
        page(&r, 404, "not found", &format!("POST {uri}"));
        // Signed out: to the sign-in page, with the way back encoded.
        let r = web.get(&uri, None).await;
        assert_eq!(r.status(), 303, "{uri} signed out");
        let location = r.headers()[header::LOCATION].to_str().unwrap();
        assert!(location.starts_with("/app/signin?next="), "{location}");
    }
    // Paths that are not one lead id at all: no route serves them.
    for uri in [
        "/app/leads/",
        "/app/leads/a/b",
        "/app/leads/../../etc/passwd",
    ] {
        let r = web.get(uri, Some(&rep())).await;
        assert_eq!(r.status(), 404, "{uri}: {}", text(&r));
    }
    assert_eq!(table_snapshot(&web.store).await, before, "nothing written");
    // The real lead still opens.
    page(
        &web.get(&format!("/app/leads/{}", ids[0]), Some(&rep()))
            .await,
        200,
        "Accept",
        "lead",
    );
}

#[tokio::test]
async fn asset_paths_that_are_not_assets_are_404() {
    let (web, _) = web(SignIn::NotConfigured).await;
    let r = web.get("/app/assets/app.css", None).await;
    assert_eq!(r.status(), 200);
    for uri in [
        "/app/assets/%2e%2e%2f%2e%2e%2fCargo.toml",
        "/app/assets/..%2F..%2FCargo.toml",
        "/app/assets/%2E%2E%5C%2E%2E%5CCargo.toml",
        "/app/assets/..%5C..%5CCargo.toml",
        "/app/assets/app.css%00",
        "/app/assets/%ff",
        "/app/assets/APP.CSS",
        "/app/assets/..",
        "/app/assets/.%2e",
    ] {
        page(&web.get(uri, None).await, 404, "not found", uri);
    }
    for uri in [
        "/app/assets/../../Cargo.toml",
        "/app/assets/a/../../Cargo.toml",
        "/app/assets/",
    ] {
        let r = web.get(uri, None).await;
        assert_eq!(r.status(), 404, "{uri}: {}", text(&r));
        assert!(!text(&r).contains("[workspace]"), "{uri}");
    }
    let r = web.send("POST", "/app/assets/app.css", &[], "x").await;
    json_error(&r, 405, "method_not_allowed", "POST an asset");
}

#[tokio::test]
async fn queue_and_dashboard_filters_are_checked() {
    let (web, _) = web(SignIn::NotConfigured).await;
    page(
        &web.get("/app", Some(&rep())).await,
        200,
        "My queue",
        "queue",
    );
    for (uri, status, needles) in [
        ("/app?team=nope", 404, "team"),
        ("/app?team=ae-emea", 403, "ae-emea"),
        ("/app?team=ae-na&team=ae-emea", 422, "team|more than once"),
        ("/app?frobnicate=1", 422, "frobnicate|unknown parameter"),
        ("/app?team=%ff", 422, "team"),
        ("/app?team=%zz", 422, "team|percent"),
        ("/app?%ff=1", 422, "query"),
    ] {
        page(&web.get(uri, Some(&rep())).await, status, needles, uri);
    }
    // `done` is only ever an action: other text is not echoed into the page.
    let r = web.get("/app?done=hacked%2C+call+555", Some(&rep())).await;
    page(&r, 200, "My queue", "queue done=junk");
    assert!(!text(&r).contains("555"), "junk done is not shown");

    let ops = ops();
    page(
        &web.get("/app/dashboard", Some(&ops)).await,
        200,
        "Dashboard",
        "dashboard",
    );
    let long_source = format!("/app/dashboard?source={}", "s".repeat(300));
    for (uri, needles) in [
        ("/app/dashboard?from=2026-13", "from"),
        ("/app/dashboard?to=2026-00", "to"),
        ("/app/dashboard?from=2026-11&to=2026-01", "to|before"),
        ("/app/dashboard?from=2010-01&to=2026-11", "to|longer than"),
        ("/app/dashboard?from=99999999-01", "from"),
        ("/app/dashboard?from=%ff", "from"),
        ("/app/dashboard?team=nope", "team|not a team"),
        ("/app/dashboard?fit_tier=7", "fit_tier"),
        ("/app/dashboard?fit_tier=1%3Bdrop", "fit_tier"),
        ("/app/dashboard?source=%00", "source"),
        (long_source.as_str(), "source"),
        ("/app/dashboard?form=2026-01", "form|unknown parameter"),
        (
            "/app/dashboard?from=2026-09&from=2026-10",
            "from|more than once",
        ),
    ] {
        page(&web.get(uri, Some(&ops)).await, 422, needles, uri);
    }
    // A rep sees no reports; by source they are for ops.
    page(
        &web.get("/app/dashboard", Some(&rep())).await,
        403,
        "Not allowed",
        "rep",
    );
    let r = web.get("/app/dashboard?source=website", Some(&rep())).await;
    page(&r, 403, "Not allowed", "rep by source");
    // Pages without parameters take none and ignore any.
    page(
        &web.get("/app/contract?x=%ff&x=1", Some(&rep())).await,
        200,
        "",
        "contract",
    );
}

#[tokio::test]
async fn lead_form_posts_that_are_not_ours_change_nothing() {
    let (web, ids) = web(SignIn::NotConfigured).await;
    let uri = format!("/app/leads/{}", ids[0]);
    let rep = rep();
    let good = web.token(&rep);
    let expired = form_token(&web.signer, &rep, now() - Duration::hours(13));
    let others = web.token(&other_rep());
    let link = web
        .signer
        .sign(LEAD_LINK, &ids[0], now() + Duration::hours(1));
    let before = table_snapshot(&web.store).await;
    // Tokens that are not this caller's, from this app, for forms, unexpired.
    for (token, says) in [
        (None, "no token"),
        (Some(""), "token"),
        (Some("1795000000.abcd"), "token"),
        (Some(expired.as_str()), "expired"),
        (Some(others.as_str()), "token"),
        (Some(link.as_str()), "token"),
    ] {
        let body = match token {
            Some(t) => format!("csrf={t}&action=accept"),
            None => "action=accept".into(),
        };
        page(
            &web.post(&uri, &rep, FORM, body).await,
            403,
            says,
            &format!("{token:?}"),
        );
    }
    // With a valid token: (the rest of the form, status, what the page says, `|` apart).
    let long_reason = format!("action=reject&reason={}", "r".repeat(5000));
    let long_note = format!("action=reject&reason=no_intent&note={}", "n".repeat(501));
    for (rest, status, says) in [
        ("", 422, "action"),
        ("action=frobnicate", 422, "action"),
        ("action=ACCEPT", 422, "action"),
        ("action=reject", 422, "reason|required"),
        (
            "action=reject&reason=bored",
            422,
            "reason|not a rejection reason",
        ),
        (&long_reason, 422, "reason"),
        (&long_note, 422, "note"),
        (
            "action=accept&action=reject&reason=no_intent",
            422,
            "action|more than once",
        ),
        ("csrf=x&action=accept", 422, "csrf|more than once"),
        ("action=reject&reason=no_intent&note=%ff%fe", 422, "note"),
        (
            "action=reject&reason=no_intent&note=50%zz",
            422,
            "note|percent",
        ),
        ("action=accept&%ff=1", 400, "field name"),
        (
            "action=accept&by=boss%40northwind.io",
            422,
            "by|unknown field",
        ),
    ] {
        let r = web
            .post(&uri, &rep, FORM, format!("csrf={good}&{rest}"))
            .await;
        page(&r, status, says, &rest[..rest.len().min(80)]);
    }
    // Bytes that are not UTF-8 at all.
    let mut raw = format!("csrf={good}&action=reject&reason=no_intent&note=").into_bytes();
    raw.extend_from_slice(&[0xff, 0xfe, b'x']);
    page(
        &web.post(&uri, &rep, FORM, raw).await,
        422,
        "note",
        "raw bytes",
    );
    // Another site's page posting with a token it somehow holds.
    let cookie = web.session(&rep);
    let body = format!("csrf={good}&action=accept");
    for origin in ["https://evil.example", "null"] {
        let headers = [
            ("cookie", cookie.as_str()),
            ("content-type", FORM),
            ("origin", origin),
        ];
        let r = web.send("POST", &uri, &headers, body.clone()).await;
        page(&r, 403, "another site", origin);
    }
    // Not a form: JSON, multipart, text, nothing said.
    let multipart = format!(
        "--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{good}\r\n--b\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\naccept\r\n--b--\r\n"
    );
    for (ct, body) in [
        (
            "application/json",
            json!({"csrf": good, "action": "accept"}).to_string(),
        ),
        ("multipart/form-data; boundary=b", multipart),
        ("text/plain", format!("csrf={good}&action=accept")),
    ] {
        let r = web.post(&uri, &rep, ct, body).await;
        page(&r, 415, "application/x-www-form-urlencoded", ct);
    }
    let headers = [("cookie", cookie.as_str())];
    let r = web
        .send("POST", &uri, &headers, format!("csrf={good}&action=accept"))
        .await;
    page(
        &r,
        415,
        "application/x-www-form-urlencoded",
        "no content type",
    );
    // Over the body limit: the JSON 413 of every function (docs/openapi.yaml).
    let padding = "n".repeat(leadwatch_api::request::MAX_BODY_BYTES);
    let r = web
        .post(
            &uri,
            &rep,
            FORM,
            format!("csrf={good}&action=accept&note={padding}"),
        )
        .await;
    json_error(&r, 413, "body_too_large", "64 KiB");
    let r = web.post(&uri, &rep, FORM, "x".repeat(1 << 20)).await;
    json_error(&r, 413, "body_too_large", "1 MiB");
    // Another team's rep, with their own valid token.
    let other = other_rep();
    let body = format!("csrf={others}&action=accept");
    page(
        &web.post(&uri, &other, FORM, body).await,
        403,
        "ae-na",
        "other team",
    );
    page(
        &web.get(&uri, Some(&other)).await,
        403,
        "Not allowed",
        "other team reads",
    );
    // No session: a 401 page, not a redirect of the post.
    let headers = [("content-type", FORM)];
    let r = web
        .send("POST", &uri, &headers, format!("csrf={good}&action=accept"))
        .await;
    page(&r, 401, "sign in", "no session");
    let junk = format!("{SESSION_COOKIE}=e30.1795000000.abcd");
    let headers = [("content-type", FORM), ("cookie", junk.as_str())];
    let r = web
        .send("POST", &uri, &headers, format!("csrf={good}&action=accept"))
        .await;
    page(&r, 401, "sign in", "forged session");
    let r = web.send("DELETE", &uri, &[], "").await;
    json_error(&r, 405, "method_not_allowed", "DELETE a lead page");

    assert_eq!(table_snapshot(&web.store).await, before, "nothing written");
    let state = web.store.get_lead(&ids[0]).await.unwrap().unwrap();
    assert_eq!(state.status, Status::Mql);
}

#[tokio::test]
async fn a_double_submit_or_a_stale_action_is_a_409_page() {
    let (web, ids) = web(SignIn::NotConfigured).await;
    let rep = rep();
    let token = web.token(&rep);
    let accept = format!("csrf={token}&action=accept");
    let uri = format!("/app/leads/{}", ids[1]);
    let r = web.post(&uri, &rep, FORM, accept.clone()).await;
    assert_eq!(r.status(), 303, "{}", text(&r));
    assert_eq!(
        r.headers()[header::LOCATION],
        format!("{uri}?done=accept").as_str()
    );
    let accepted = table_snapshot(&web.store).await;
    // The same post again (a double click, a resend): refused, nothing written twice.
    let r = web.post(&uri, &rep, FORM, accept.clone()).await;
    page(&r, 409, "Not done", "double submit");
    assert_eq!(
        table_snapshot(&web.store).await,
        accepted,
        "no second transition"
    );
    let state = web.store.get_lead(&ids[1]).await.unwrap().unwrap();
    assert_eq!(state.status, Status::Sal);
    let transitions = web
        .store
        .history(&ids[1])
        .await
        .unwrap()
        .iter()
        .filter(|e| e.to == Some(Status::Sal))
        .count();
    assert_eq!(transitions, 1);

    // A lead rejected meanwhile (another tab): the stale accept and a qualify are 409s.
    let uri = format!("/app/leads/{}", ids[2]);
    let reject = format!("csrf={token}&action=reject&reason=no_intent&note=line+one%0Aline+two");
    assert_eq!(
        web.post(&uri, &rep, FORM, reject.clone()).await.status(),
        303
    );
    let rejected = table_snapshot(&web.store).await;
    for body in [accept, reject, format!("csrf={token}&action=qualify")] {
        page(
            &web.post(&uri, &rep, FORM, body.clone()).await,
            409,
            "Not done",
            &body,
        );
    }
    assert_eq!(
        table_snapshot(&web.store).await,
        rejected,
        "stale actions wrote nothing"
    );
    // An MQL cannot be qualified before it is accepted.
    let uri = format!("/app/leads/{}", ids[0]);
    let before = table_snapshot(&web.store).await;
    let r = web
        .post(&uri, &rep, FORM, format!("csrf={token}&action=qualify"))
        .await;
    page(&r, 409, "Not done", "qualify an MQL");
    assert_eq!(table_snapshot(&web.store).await, before);
}

#[tokio::test]
async fn sessions_and_signout_are_checked() {
    let (web, _) = web(SignIn::NotConfigured).await;
    let rep = rep();
    let expired = {
        let claims = ClaimMapping::default().claims_for(&rep);
        let value = session_value(&web.signer, &claims, now() - Duration::minutes(1));
        format!("{SESSION_COOKIE}={value}")
    };
    let forged = web.session(&rep).replace("e", "f");
    for cookie in [
        String::new(),
        format!("{SESSION_COOKIE}=garbage"),
        format!("{SESSION_COOKIE}="),
        format!("{SESSION_COOKIE}=%ff%00.1.2"),
        expired,
        forged,
    ] {
        for path in ["/app", "/app/dashboard?from=2026-13", "/app/contract"] {
            let r = web
                .send("GET", path, &[("cookie", cookie.as_str())], "")
                .await;
            assert_eq!(r.status(), 303, "{path} with {cookie:?}: {}", text(&r));
            let location = r.headers()[header::LOCATION].to_str().unwrap();
            assert!(
                location.starts_with("/app/signin?next=%2Fapp"),
                "{location}"
            );
        }
    }
    let r = web
        .send("POST", "/app/signout", &[("content-type", FORM)], "")
        .await;
    page(&r, 401, "sign in", "sign out signed out");
    page(
        &web.post("/app/signout", &rep, FORM, "").await,
        403,
        "no token",
        "no token",
    );
    let r = web.post("/app/signout", &rep, FORM, "csrf=1.2").await;
    page(&r, 403, "token", "bad token");
    let token = web.token(&rep);
    let r = web
        .post(
            "/app/signout",
            &rep,
            "application/json",
            json!({"csrf": token}).to_string(),
        )
        .await;
    page(
        &r,
        415,
        "application/x-www-form-urlencoded",
        "JSON sign out",
    );
    let r = web
        .post(
            "/app/signout",
            &rep,
            FORM,
            format!("csrf={token}&csrf={token}"),
        )
        .await;
    page(&r, 422, "csrf|more than once", "two tokens");
    let r = web
        .post("/app/signout", &rep, FORM, format!("csrf={token}"))
        .await;
    assert_eq!(r.status(), 303, "{}", text(&r));
    let cleared = r.headers().get_all(header::SET_COOKIE).iter().count();
    assert_eq!(cleared, 2, "both cookies cleared");
    json_error(
        &web.get("/app/signout", Some(&rep)).await,
        405,
        "method_not_allowed",
        "GET signout",
    );
}

#[tokio::test]
async fn sign_in_and_callback_with_junk_parameters() {
    // Local sign-in (`leadwatch serve`): the page, and the post that picks a user.
    let (dev, _) = web(SignIn::Development).await;
    for uri in [
        "/app/signin?next=https://evil.example/",
        "/app/signin?next=//evil.example",
        "/app/signin?next=/app%5C%5Cevil.example",
        "/app/signin?utm_source=mail&next=/app",
    ] {
        let r = dev.get(uri, None).await;
        page(&r, 200, "Sign in", uri);
        assert!(!text(&r).contains("evil.example"), "{uri}: {}", text(&r));
    }
    for (uri, needles) in [
        ("/app/signin?next=%ff", "next"),
        (
            "/app/signin?next=/app&next=/app/contract",
            "next|more than once",
        ),
    ] {
        page(&dev.get(uri, None).await, 422, needles, uri);
    }
    let signin = |ct: &'static str, body: &'static str| {
        let dev = &dev;
        async move {
            dev.send("POST", "/app/signin", &[("content-type", ct)], body)
                .await
        }
    };
    page(
        &signin(FORM, "user=nope").await,
        422,
        "user",
        "unknown user",
    );
    page(&signin(FORM, "").await, 422, "user", "no user");
    page(
        &signin(FORM, "user=rep:ae-na&user=admin").await,
        422,
        "user|more than once",
        "two",
    );
    page(
        &signin("application/json", r#"{"user":"admin"}"#).await,
        415,
        "form",
        "JSON",
    );
    let r = signin(FORM, "user=rep:ae-na&next=//evil.example").await;
    assert_eq!(r.status(), 303, "{}", text(&r));
    assert_eq!(r.headers()[header::LOCATION], "/app");

    // Deployed sign-in (an issuer that is not there: nothing here may reach it).
    let oidc = Oidc::new(OidcSettings {
        issuer: "http://127.0.0.1:9".into(),
        client_id: "leadwatch-web".into(),
        redirect_url: "https://app.example.com/app/callback".into(),
    })
    .unwrap();
    let (web, _) = web(SignIn::Oidc(Arc::new(oidc))).await;
    // The state cookie of a sign-in this browser started, or none.
    let cookie = [("cookie", "leadwatch_oidc_state=a%7Eb%7Ec")];
    for (uri, status, says) in [
        ("/app/callback", 400, "state"),
        ("/app/callback?code=x&state=junk", 400, "state"),
        ("/app/callback?code=x&state=a~b~c", 400, "state"),
        ("/app/callback?code=x&state=%ff", 422, "state"),
        (
            "/app/callback?code=x&state=a&state=b",
            422,
            "state|more than once",
        ),
        ("/app/callback?error=access_denied", 401, "access_denied"),
        (
            "/app/callback?error=%3Cscript%3E%3C/script%3E",
            401,
            "Sign-in failed",
        ),
    ] {
        let headers = if uri.contains("a~b~c") {
            &cookie[..]
        } else {
            &[]
        };
        let r = web.send("GET", uri, headers, "").await;
        page(&r, status, says, uri);
        assert!(!text(&r).contains("<script>"), "{uri}: escaped");
        assert!(
            r.headers().get(header::SET_COOKIE).is_none(),
            "{uri}: no session"
        );
    }
    let long = format!("/app/callback?error={}", "e".repeat(10_000));
    let r = web.get(&long, None).await;
    page(&r, 401, "Sign-in failed", "long error");
    assert!(text(&r).len() < 5_000, "the issuer's error is clipped");
    // No sign-in configured: the callback is no page of this deployment.
    let (none, _) = self::web(SignIn::NotConfigured).await;
    page(
        &none.get("/app/callback?code=x&state=y", None).await,
        404,
        "not found",
        "none",
    );
}
