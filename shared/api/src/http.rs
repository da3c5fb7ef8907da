//! What every HTTP entry point shares: JSON responses and errors, the request's time,
//! path matching, body limits and webhook signatures. The handlers in `functions/*` are
//! plain async functions over `lambda_http::Request`, so the Lambda runtime, the local
//! dev server and the tests all call the very same code.

use chrono::{DateTime, TimeZone, Utc};
use hmac::{KeyInit, Mac};
use lambda_http::http::{header, HeaderMap, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use leadwatch_adapters::store::{Store, StoreError};
use leadwatch_core::lead::FieldError;

/// The largest body any route accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Webhook signatures older or newer than this are refused (replay protection).
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;
pub const SIGNATURE_HEADER: &str = "x-leadwatch-signature";
pub const TIMESTAMP_HEADER: &str = "x-leadwatch-timestamp";

/// The time API Gateway received the request (`requestContext.timeEpoch`), so that a
/// replayed event gives the same result. Without a request context (the local dev
/// server) the caller supplies the wall clock.
pub fn request_time(req: &Request) -> Option<DateTime<Utc>> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => Utc.timestamp_millis_opt(ctx.time_epoch).single(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// An error response: `{"error": code, "message": ..., "fields": [...]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<FieldError>,
    pub extra: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
            extra: None,
        }
    }

    /// Bad fields: 400 when the body could not be read at all, 422 when it could but
    /// its fields are wrong.
    pub fn invalid(fields: Vec<FieldError>) -> Self {
        let unreadable = fields.iter().any(|f| f.field == "body");
        let message = fields
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        ApiError {
            status: if unreadable {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            },
            code: if unreadable {
                "malformed_body"
            } else {
                "invalid_fields"
            },
            message,
            fields,
            extra: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn into_response(self) -> Response<Body> {
        let mut body = json!({ "error": self.code, "message": self.message });
        if !self.fields.is_empty() {
            body["fields"] = json!(self.fields);
        }
        if let Some(Value::Object(extra)) = self.extra {
            for (k, v) in extra {
                body[k] = v;
            }
        }
        json_response(self.status, &body)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            // Still conflicting after every retry: the client may simply retry.
            StoreError::Conflict => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the lead is being changed by other requests; retry",
            ),
            StoreError::DuplicateRequest => ApiError::new(
                StatusCode::CONFLICT,
                "duplicate_request",
                "a request with this idempotency key is being processed",
            ),
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the lead store is unavailable; retry later",
                )
            }
        }
    }
}

/// 405 with the `Allow` header HTTP requires, the same from every function.
pub fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("this path accepts {allow} only"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}

/// The body's bytes, refusing anything over [`MAX_BODY_BYTES`] with 413.
pub fn body_bytes(req: &Request) -> Result<&[u8], ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "body: {} bytes is over the {} byte limit",
                bytes.len(),
                MAX_BODY_BYTES
            ),
        ));
    }
    Ok(bytes)
}

/// The media type of the request, lower-cased, without parameters.
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

pub fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request path without a named API Gateway stage (`/prod/leads` -> `/leads`), so
/// the routes match however the API is staged; `$default` has no prefix to strip.
pub fn route_path(req: &Request) -> String {
    let path = req.uri().path();
    let stage = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.as_deref(),
        #[allow(unreachable_patterns)]
        _ => None,
    };
    match stage {
        Some(stage) if !stage.is_empty() && stage != "$default" => {
            match path.strip_prefix('/').and_then(|p| p.strip_prefix(stage)) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_string(),
                _ => path.to_string(),
            }
        }
        _ => path.to_string(),
    }
}

/// The query string's parameters as decoded pairs; one that cannot be decoded is a 422
/// naming `query`.
pub fn query_pairs(req: &Request) -> Result<Vec<(String, String)>, ApiError> {
    let query = req.uri().query().unwrap_or_default();
    serde_urlencoded::from_str(query).map_err(|e| {
        ApiError::invalid(vec![FieldError::new(
            "query",
            format!("is not a valid query string: {e}"),
        )])
    })
}

/// Longest idempotency key a client may send.
pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 128;

/// The client's idempotency key: the `Idempotency-Key` header, else `fallback` (a
/// body field such as `submission_id`), prefixed with `scope` so that keys of different
/// functions never collide.
pub fn idempotency_key(
    req: &Request,
    scope: &str,
    fallback: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match header_str(req.headers(), "idempotency-key")
        .or(fallback)
        .map(str::trim)
    {
        None | Some("") => Ok(None),
        Some(k)
            if k.chars().count() > IDEMPOTENCY_KEY_MAX_CHARS || k.chars().any(char::is_control) =>
        {
            Err(ApiError::invalid(vec![FieldError::new(
                "Idempotency-Key",
                format!("must be at most {IDEMPOTENCY_KEY_MAX_CHARS} printable characters"),
            )]))
        }
        Some(k) => Ok(Some(format!("{scope}:{k}"))),
    }
}

/// A retried request gets the first response again; the same key on a different
/// request (another body or path) is a client bug, reported as 409. `lead_id`: the
/// lead the request is for, if the first request may have created it (see
/// [`Store::stored_response`]).
pub async fn replay_stored(
    store: &Store,
    key: &str,
    request_hash: &str,
    lead_id: Option<&str>,
) -> Result<Option<Response<Body>>, ApiError> {
    let Some(stored) = store.stored_response(key, lead_id).await? else {
        return Ok(None);
    };
    if stored.request_hash != request_hash {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_reused",
            "this idempotency key was used for a different request",
        ));
    }
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let body: Value = serde_json::from_str(&stored.body).unwrap_or(Value::Null);
    let mut response = json_response(status, &body);
    response.headers_mut().insert(
        "idempotent-replayed",
        header::HeaderValue::from_static("true"),
    );
    Ok(Some(response))
}

/// The answer when a save lost to a concurrent twin with the same idempotency key:
/// what the twin answered, once it is stored.
pub async fn answer_duplicate(
    store: &Store,
    key: Option<&str>,
    request_hash: &str,
    lead_id: &str,
) -> Result<Response<Body>, ApiError> {
    match key {
        Some(k) => replay_stored(store, k, request_hash, Some(lead_id))
            .await?
            .ok_or_else(|| ApiError::from(StoreError::DuplicateRequest)),
        None => Err(StoreError::DuplicateRequest.into()),
    }
}

/// Match `path` against a pattern like `/leads/{id}/accept`; returns the `{}` segments.
pub fn match_path<'a>(pattern: &str, path: &'a str) -> Option<Vec<&'a str>> {
    let mut params = Vec::new();
    let mut pattern_parts = pattern.trim_matches('/').split('/');
    let mut path_parts = path.trim_matches('/').split('/');
    loop {
        match (pattern_parts.next(), path_parts.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(s)) if p.starts_with('{') && p.ends_with('}') && !s.is_empty() => {
                params.push(s)
            }
            (Some(p), Some(s)) if p == s => {}
            _ => return None,
        }
    }
}

/// Check a webhook signature: `X-Leadwatch-Timestamp: <unix seconds>` and
/// `X-Leadwatch-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`.
/// Signing the timestamp with the body stops an old request from being replayed.
pub fn verify_signature(
    secret: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let unauthorized =
        |msg: &str| ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", msg.to_string());
    let timestamp = header_str(headers, TIMESTAMP_HEADER)
        .ok_or_else(|| unauthorized("missing X-Leadwatch-Timestamp header"))?;
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| unauthorized("X-Leadwatch-Timestamp must be unix seconds"))?;
    if (now.timestamp() - seconds).abs() > SIGNATURE_TOLERANCE_SECONDS {
        return Err(unauthorized(
            "X-Leadwatch-Timestamp is more than 5 minutes from the server time",
        ));
    }
    let given = header_str(headers, SIGNATURE_HEADER)
        .and_then(|v| v.trim().strip_prefix("sha256="))
        .ok_or_else(|| unauthorized("missing X-Leadwatch-Signature: sha256=<hex> header"))?;
    let given = hex::decode(given).map_err(|_| unauthorized("signature is not hex"))?;
    let expected = sign(secret, seconds, body);
    if expected.ct_eq(&given).into() {
        Ok(())
    } else {
        Err(unauthorized("signature does not match the body"))
    }
}

/// HMAC-SHA256 over `"<timestamp>.<body>"`; what a sender computes.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match hmac::Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// A stable hash of a request, to tell a retry from a different request that reuses
/// an idempotency key.
pub fn request_hash(method: &str, path: &str, body: &[u8]) -> String {
    use sha2::Digest;
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;

    #[test]
    fn paths_match_with_parameters() {
        assert_eq!(
            match_path("/leads/{id}/accept", "/leads/ld_1/accept"),
            Some(vec!["ld_1"])
        );
        assert_eq!(match_path("/leads", "/leads/"), Some(vec![]));
        assert_eq!(match_path("/leads/{id}", "/leads/"), None);
        assert_eq!(match_path("/leads/{id}", "/leads/a/b"), None);
    }

    #[test]
    fn signatures_verify_in_constant_time_and_expire() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let body = br#"{"email":"a@b.co"}"#;
        let sig = hex::encode(sign(b"s3cret", now.timestamp(), body));
        let mut headers = HeaderMap::new();
        headers.insert(
            TIMESTAMP_HEADER,
            HeaderValue::from_str(&now.timestamp().to_string()).unwrap(),
        );
        headers.insert(
            SIGNATURE_HEADER,
            HeaderValue::from_str(&format!("sha256={sig}")).unwrap(),
        );
        assert!(verify_signature(b"s3cret", &headers, body, now).is_ok());
        assert!(verify_signature(b"other", &headers, body, now).is_err());
        assert!(verify_signature(b"s3cret", &headers, b"{}", now).is_err());
        let later = now + chrono::Duration::seconds(SIGNATURE_TOLERANCE_SECONDS + 1);
        assert!(verify_signature(b"s3cret", &headers, body, later).is_err());
        headers.remove(SIGNATURE_HEADER);
        let err = verify_signature(b"s3cret", &headers, body, now).unwrap_err();
        assert_eq!(err.status, StatusCode::UNAUTHORIZED);
    }
}
