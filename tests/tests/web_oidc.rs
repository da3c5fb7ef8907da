//! The deployed sign-in against a fake OpenID Connect issuer on loopback: a small axum
//! server with a discovery document, a JWKS of a test RSA key (`tests/fixtures/oidc/`,
//! made for this test only) and a token endpoint that checks PKCE and hands out the ID
//! token the test prepared for the code.
//!
//! A good sign-in sets the session cookie and the next page knows the caller (teams
//! and roles through the same ClaimMapping as the API). A bad state, an ID token for
//! another audience, an expired one, one of another sign-in (nonce), one signed with
//! an unknown key and a code the issuer refuses each end on a page that says what
//! failed, and no session cookie.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, TimeZone, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lambda_http::http::{header, Request as HttpRequest};
use lambda_http::{Body, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use leadwatch_adapters::store::Store;
use leadwatch_api::web::session::SESSION_COOKIE;
use leadwatch_api::web::{routes, Oidc, OidcSettings, SignIn, WebApp};
use leadwatch_core::signed::Signer;
use leadwatch_core::Contract;
use leadwatch_e2e::{moto, repo_root, unique_name};

const CLIENT_ID: &str = "leadwatch-web";
const KID: &str = "test-key-1";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 15, 0, 0).unwrap()
}

/// The fake issuer: codes it will accept, each with its ID token and PKCE challenge.
#[derive(Clone, Default)]
struct Issuer {
    codes: Arc<Mutex<HashMap<String, (String, String)>>>,
    base: String,
}

async fn discovery(State(issuer): State<Issuer>) -> Json<Value> {
    let base = &issuer.base;
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "token_endpoint": format!("{base}/oauth2/token"),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
    }))
}

async fn jwks() -> Json<Value> {
    let modulus = std::fs::read_to_string(repo_root().join("tests/fixtures/oidc/test-key.modulus"))
        .expect("the test key's modulus");
    let n = URL_SAFE_NO_PAD.encode(hex::decode(modulus.trim()).expect("hex modulus"));
    Json(
        json!({"keys": [{"kty": "RSA", "kid": KID, "use": "sig", "alg": "RS256", "n": n, "e": "AQAB"}]}),
    )
}

async fn token(
    State(issuer): State<Issuer>,
    Form(form): Form<HashMap<String, String>>,
) -> (axum::http::StatusCode, Json<Value>) {
    let refused = |e: &str| {
        (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": e})),
        )
    };
    if form.get("grant_type").map(String::as_str) != Some("authorization_code")
        || form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
    {
        return refused("invalid_request");
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some((id_token, challenge)) = issuer.codes.lock().unwrap().remove(&code) else {
        return refused("invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
        return refused("invalid_grant");
    }
    (
        axum::http::StatusCode::OK,
        Json(json!({"id_token": id_token, "access_token": "unused", "token_type": "Bearer"})),
    )
}

async fn start_issuer() -> Issuer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = Issuer {
        base: format!("http://{}", listener.local_addr().unwrap()),
        ..Issuer::default()
    };
    let router = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/oauth2/token", post(token))
        .with_state(issuer.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    issuer
}

fn sign(claims: &Value, kid: &str) -> String {
    let pem = std::fs::read(repo_root().join("tests/fixtures/oidc/test-key.pem")).unwrap();
    let key = EncodingKey::from_rsa_pem(&pem).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

async fn web(issuer: &Issuer) -> Router {
    let config = moto().sdk_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), unique_name("oidc"));
    let oidc = Oidc::new(OidcSettings {
        issuer: issuer.base.clone(),
        client_id: CLIENT_ID.into(),
        redirect_url: "https://app.example.com/app/callback".into(),
    })
    .unwrap();
    leadwatch_api::function_router(routes(WebApp {
        store,
        contract: Arc::new(Contract::default_contract().unwrap()),
        signer: Signer::new(b"oidc test web secret 0123456789".to_vec()).unwrap(),
        sign_in: SignIn::Oidc(Arc::new(oidc)),
        secure_cookies: true,
    }))
}

async fn get_page(router: &Router, uri: &str, cookie: Option<&str>) -> Response<Body> {
    let mut req = HttpRequest::get(uri);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    leadwatch_api::entry::call(router, req.body(Body::Empty).unwrap(), now()).await
}

fn set_cookies(r: &Response<Body>) -> Vec<String> {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn text(r: &Response<Body>) -> String {
    String::from_utf8_lossy(r.body().as_ref()).to_string()
}

/// One sign-in up to the issuer: the redirect's query and the state cookie.
struct Started {
    query: HashMap<String, String>,
    cookie: String,
}

async fn start(router: &Router) -> Started {
    let r = get_page(router, "/app/signin?next=/app/contract", None).await;
    assert_eq!(r.status(), 303, "{}", text(&r));
    let location = r.headers()[header::LOCATION].to_str().unwrap().to_string();
    let (endpoint, query) = location.split_once('?').unwrap();
    assert!(endpoint.ends_with("/oauth2/authorize"), "{location}");
    let query: HashMap<String, String> = serde_urlencoded::from_str(query).unwrap();
    assert_eq!(query["client_id"], CLIENT_ID);
    assert_eq!(query["code_challenge_method"], "S256");
    let cookie = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("leadwatch_oidc_state="))
        .unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    Started { query, cookie }
}

fn id_claims(issuer: &Issuer, nonce: &str) -> Value {
    json!({
        "iss": issuer.base, "aud": CLIENT_ID, "sub": "u-kim", "email": "Kim@Seller.io",
        "cognito:groups": ["team:ae-na", "role:manager"], "token_use": "id",
        "iat": now().timestamp() - 5, "exp": (now() + Duration::hours(1)).timestamp(),
        "nonce": nonce,
    })
}

/// The callback for `started`, after the issuer got `id_token` ready for code `code`.
async fn callback(
    router: &Router,
    issuer: &Issuer,
    started: &Started,
    code: &str,
    id_token: String,
) -> Response<Body> {
    issuer.codes.lock().unwrap().insert(
        code.to_string(),
        (id_token, started.query["code_challenge"].clone()),
    );
    let uri = format!(
        "/app/callback?{}",
        serde_urlencoded::to_string([("code", code), ("state", &started.query["state"])]).unwrap()
    );
    get_page(router, &uri, Some(&started.cookie)).await
}

fn assert_refused(r: &Response<Body>, status: u16, says: &str) {
    let page = text(r);
    assert_eq!(r.status(), status, "{page}");
    assert!(page.contains("Sign-in failed"), "{page}");
    assert!(page.contains(says), "the page says {says:?}: {page}");
    assert!(
        !set_cookies(r).iter().any(|c| c.starts_with(SESSION_COOKIE)),
        "no session: {:?}",
        set_cookies(r)
    );
}

#[tokio::test]
async fn a_good_sign_in_sets_the_session_and_the_next_page_knows_the_caller() {
    let issuer = start_issuer().await;
    let router = web(&issuer).await;
    let started = start(&router).await;
    let claims = id_claims(&issuer, &started.query["nonce"]);
    let r = callback(&router, &issuer, &started, "good", sign(&claims, KID)).await;
    assert_eq!(r.status(), 303, "{}", text(&r));
    assert_eq!(r.headers()[header::LOCATION], "/app/contract");
    let session = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with(SESSION_COOKIE))
        .expect("the session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("Secure"),
        "{session}"
    );
    let session = session.split(';').next().unwrap().to_string();
    let page = get_page(&router, "/app/contract", Some(&session)).await;
    assert_eq!(page.status(), 200, "{}", text(&page));
    assert!(text(&page).contains("kim@seller.io"), "signed in as Kim");
    // The same code again: the issuer refuses it, and there is no second session.
    let again = get_page(
        &router,
        &format!(
            "/app/callback?{}",
            serde_urlencoded::to_string([("code", "good"), ("state", &started.query["state"])])
                .unwrap()
        ),
        Some(&started.cookie),
    )
    .await;
    assert_refused(&again, 401, "invalid_grant");
}

#[tokio::test]
async fn bad_answers_are_refused_with_a_page_and_no_session() {
    let issuer = start_issuer().await;
    let router = web(&issuer).await;

    // A state that is not this browser's (another sign-in's cookie), or altered.
    let started = start(&router).await;
    let other = start(&router).await;
    let mixed = Started {
        query: started.query.clone(),
        cookie: other.cookie.clone(),
    };
    let claims = id_claims(&issuer, &started.query["nonce"]);
    let r = callback(&router, &issuer, &mixed, "c-state", sign(&claims, KID)).await;
    assert_refused(&r, 400, "state");
    let mut altered = started.query.clone();
    altered.insert(
        "state".into(),
        started.query["state"].replace("%2Fapp%2Fcontract", "%2Fapp"),
    );
    let altered = Started {
        cookie: format!("leadwatch_oidc_state={}", altered["state"]),
        query: altered,
    };
    let r = callback(&router, &issuer, &altered, "c-altered", sign(&claims, KID)).await;
    assert_refused(&r, 400, "state");

    // ID tokens that prove nothing to us.
    let nonce = started.query["nonce"].clone();
    let mut wrong_audience = id_claims(&issuer, &nonce);
    wrong_audience["aud"] = json!("another-app");
    let mut expired = id_claims(&issuer, &nonce);
    expired["exp"] = json!((now() - Duration::hours(2)).timestamp());
    let mut wrong_issuer = id_claims(&issuer, &nonce);
    wrong_issuer["iss"] = json!("https://evil.example");
    let replayed = id_claims(&issuer, &other.query["nonce"]);
    for (code, token, says) in [
        ("c-aud", sign(&wrong_audience, KID), "another application"),
        ("c-exp", sign(&expired, KID), "expired"),
        ("c-iss", sign(&wrong_issuer, KID), "another issuer"),
        ("c-nonce", sign(&replayed, KID), "nonce"),
        (
            "c-kid",
            sign(&id_claims(&issuer, &nonce), "rotated-away"),
            "does not publish",
        ),
    ] {
        let r = callback(&router, &issuer, &started, code, token).await;
        assert_refused(&r, 401, says);
    }
    // A token whose signature was tampered with (claims swapped after signing).
    let good = sign(&id_claims(&issuer, &nonce), KID);
    let forged_claims = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(&{
            let mut c = id_claims(&issuer, &nonce);
            c["cognito:groups"] = json!(["role:admin"]);
            c
        })
        .unwrap(),
    );
    let parts: Vec<&str> = good.split('.').collect();
    let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    let r = callback(&router, &issuer, &started, "c-sig", forged).await;
    assert_refused(&r, 401, "signature");

    // The issuer refuses the code: PKCE from another sign-in does not match.
    issuer.codes.lock().unwrap().insert(
        "c-pkce".into(),
        (
            sign(&id_claims(&issuer, &nonce), KID),
            other.query["code_challenge"].clone(),
        ),
    );
    let uri = format!(
        "/app/callback?{}",
        serde_urlencoded::to_string([("code", "c-pkce"), ("state", &started.query["state"])])
            .unwrap()
    );
    let r = get_page(&router, &uri, Some(&started.cookie)).await;
    assert_refused(&r, 401, "invalid_grant");
}
