//! Who is signed in to the web app, and the proof a form post comes from our own page.
//!
//! * **Session cookie** (`leadwatch_session`): the caller's claims, as the sign-in
//!   verified them, signed with the web secret and an expiry:
//!   `<base64url claims JSON>.<expiry>.<hex HMAC>`. HttpOnly (no script reads it),
//!   Secure (HTTPS only, deployed), SameSite=Lax (another site's form post does not
//!   carry it; a click on an alert's link does). [`session_layer`] turns a valid one
//!   into the same [`JwtClaims`] that API Gateway's authorizer hands the JSON routes, so
//!   one mapping makes the [`Caller`] everywhere.
//! * **Development cookie** (`leadwatch_dev_claims`): the unsigned claims of a user
//!   picked on `leadwatch serve`'s local sign-in page. Only
//!   [`crate::entry::serve`] reads it, as it reads the development header; a Lambda
//!   never does.
//! * **Form token** (`csrf` field): a signed token bound to the caller's subject, put in
//!   every form; a post without a valid one, or from another origin, is refused.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};

use leadwatch_core::access::Caller;
use leadwatch_core::signed::Signer;

use super::{see_other, PageError, WebApp};
use crate::caller::{JwtClaims, SignedIn};
use crate::request::ReceivedAt;

/// The signed session cookie of the deployed app.
pub const SESSION_COOKIE: &str = "leadwatch_session";
/// The development sign-in cookie; honoured by `entry::serve` only.
pub const DEV_CLAIMS_COOKIE: &str = "leadwatch_dev_claims";
/// How long a sign-in lasts.
pub const SESSION_HOURS: i64 = 8;
/// How long a rendered form can still be posted.
pub const FORM_TOKEN_HOURS: i64 = 12;

const SESSION: &str = "session";
const FORM: &str = "csrf";

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Claims as a cookie carries them: base64url of their JSON.
pub fn encode_claims(claims: &JwtClaims) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims.0).unwrap_or_default())
}

/// The claims of [`encode_claims`]; None for anything else.
pub fn decode_claims(value: &str) -> Option<JwtClaims> {
    let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
    let claims: HashMap<String, String> = serde_json::from_slice(&bytes).ok()?;
    Some(JwtClaims(claims))
}

/// The session cookie's value for `claims`, valid until `expires`.
pub fn session_value(signer: &Signer, claims: &JwtClaims, expires: DateTime<Utc>) -> String {
    let payload = encode_claims(claims);
    let token = signer.sign(SESSION, &payload, expires);
    format!("{payload}.{token}")
}

/// The claims of a session cookie that is ours and unexpired at `now`.
pub fn open_session(signer: &Signer, value: &str, now: DateTime<Utc>) -> Option<JwtClaims> {
    let (payload, token) = value.split_once('.')?;
    signer.verify(SESSION, payload, token, now).ok()?;
    decode_claims(payload)
}

/// A `Set-Cookie` value. `max_age` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("leadwatch_invalid=; Max-Age=0"))
}

/// Before the web routes: a valid session cookie becomes the request's claims, unless
/// the entry point already supplied some.
pub async fn session_layer(
    State(app): State<Arc<WebApp>>,
    mut req: Request,
    next: Next,
) -> Response {
    if req.extensions().get::<JwtClaims>().is_none() {
        let now = req
            .extensions()
            .get::<ReceivedAt>()
            .map_or(DateTime::<Utc>::MIN_UTC, |r| r.0);
        let claims =
            cookie(req.headers(), SESSION_COOKIE).and_then(|v| open_session(&app.signer, v, now));
        if let Some(claims) = claims {
            req.extensions_mut().insert(claims);
        }
    }
    next.run(req).await
}

/// The form token for `caller`, rendered at `now`.
pub fn form_token(signer: &Signer, caller: &Caller, now: DateTime<Utc>) -> String {
    signer.sign(
        FORM,
        &caller.subject,
        now + Duration::hours(FORM_TOKEN_HOURS),
    )
}

/// A form post is ours: it comes from our own origin (when the browser says) and
/// carries a valid form token of this caller.
pub fn check_form(
    signer: &Signer,
    caller: &Caller,
    headers: &HeaderMap,
    token: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), PageError> {
    let refused = |why: &str| {
        PageError::new(
            StatusCode::FORBIDDEN,
            "Form refused",
            format!("{why}; reload the page and try again"),
        )
    };
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let origin_host = origin.split_once("://").map_or("", |(_, h)| h);
        if origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
            return Err(refused("the form was posted from another site"));
        }
    }
    let token = token.ok_or_else(|| refused("the form has no token"))?;
    signer
        .verify(FORM, &caller.subject, token, now)
        .map(|_| ())
        .map_err(|e| refused(&format!("the form's token is not valid ({e})")))
}

/// The signed-in caller of a page; without one the browser is sent to sign in and
/// brought back afterwards.
pub struct PageCaller(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for PageCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match SignedIn::from_request_parts(parts, state).await {
            Ok(SignedIn(caller)) => Ok(PageCaller(caller)),
            Err(_) => Err(to_sign_in(parts)),
        }
    }
}

/// The signed-in caller if there is one (the lead page also opens from an alert link).
pub struct MaybeCaller(pub Option<Caller>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeCaller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(MaybeCaller(
            SignedIn::from_request_parts(parts, state)
                .await
                .ok()
                .map(|s| s.0),
        ))
    }
}

/// A redirect to the sign-in page that comes back to this page.
pub fn to_sign_in(parts: &Parts) -> Response {
    let back = parts
        .uri
        .path_and_query()
        .map_or("/app", |p| p.as_str())
        .to_string();
    if parts.method != axum::http::Method::GET {
        return PageError::new(
            StatusCode::UNAUTHORIZED,
            "Signed out",
            "your sign-in has ended; sign in again and resend",
        )
        .into_response();
    }
    see_other(&format!("/app/signin?next={}", super::query_value(&back)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn signer() -> Signer {
        Signer::new(b"session test secret 0123".to_vec()).unwrap()
    }

    fn claims() -> JwtClaims {
        JwtClaims(HashMap::from([
            ("sub".to_string(), "u-1".to_string()),
            (
                "cognito:groups".to_string(),
                "[team:ae-na role:rep]".to_string(),
            ),
        ]))
    }

    #[test]
    fn a_session_opens_until_it_expires_and_not_when_altered() {
        let s = signer();
        let t = |h| Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).unwrap();
        let value = session_value(&s, &claims(), t(18));
        assert_eq!(open_session(&s, &value, t(10)), Some(claims()));
        assert_eq!(open_session(&s, &value, t(18)), None);
        // Someone edits their teams in the cookie: the signature no longer matches.
        let (payload, token) = value.split_once('.').unwrap();
        let mut forged = claims();
        forged
            .0
            .insert("cognito:groups".into(), "[role:admin]".into());
        let forged = format!("{}.{token}", encode_claims(&forged));
        assert_ne!(payload, forged.split_once('.').unwrap().0);
        assert_eq!(open_session(&s, &forged, t(10)), None);
        assert_eq!(open_session(&s, "garbage", t(10)), None);
    }

    #[test]
    fn form_tokens_bind_the_caller_and_the_origin() {
        let s = signer();
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        let caller = crate::caller::ClaimMapping::default()
            .caller(&claims())
            .unwrap();
        let mut other = caller.clone();
        other.subject = "u-2".into();
        let token = form_token(&s, &caller, now);
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("app.example.com"));
        assert!(check_form(&s, &caller, &headers, Some(&token), now).is_ok());
        assert!(check_form(&s, &other, &headers, Some(&token), now).is_err());
        assert!(check_form(&s, &caller, &headers, None, now).is_err());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(check_form(&s, &caller, &headers, Some(&token), now).is_err());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://app.example.com"),
        );
        assert!(check_form(&s, &caller, &headers, Some(&token), now).is_ok());
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; leadwatch_session=xyz; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
