//! Client idempotency at the HTTP edge: which key a request carries, how a retry is
//! told from a different request reusing the key, and the stored first answer that a
//! retry gets back. The record itself (its one shape, its expiry) is the store's
//! `StoredResponse`, written in the same transaction as the change it answers.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;
use sha2::{Digest, Sha256};

use leadwatch_adapters::store::{Store, StoreError};
use leadwatch_core::lead::FieldError;
use leadwatch_core::text::first_format_char;

use crate::error::{json_response, ApiError};

/// Longest idempotency key a client may send.
pub const IDEMPOTENCY_KEY_MAX_CHARS: usize = 128;

/// The client's idempotency key: the `Idempotency-Key` header, else `fallback` (a
/// body field such as `submission_id`), prefixed with `scope` so that keys of different
/// routes never collide. A key that is too long, holds control or invisible format
/// characters, or is a header that is not visible ASCII is refused with 422 before any
/// read: ignoring it would let a retry write twice.
pub fn idempotency_key(
    headers: &HeaderMap,
    scope: &str,
    fallback: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let header = match headers.get(header::HeaderName::from_static("idempotency-key")) {
        Some(value) => Some(value.to_str().map_err(|_| bad_key())?),
        None => None,
    };
    match header.or(fallback).map(str::trim) {
        None | Some("") => Ok(None),
        Some(k)
            if k.chars().count() > IDEMPOTENCY_KEY_MAX_CHARS
                || k.chars().any(char::is_control)
                || first_format_char(k).is_some() =>
        {
            Err(bad_key())
        }
        Some(k) => Ok(Some(format!("{scope}:{k}"))),
    }
}

fn bad_key() -> ApiError {
    ApiError::invalid(vec![FieldError::new(
        "Idempotency-Key",
        format!("must be at most {IDEMPOTENCY_KEY_MAX_CHARS} printable characters"),
    )])
}

/// A stable hash of a request, to tell a retry from a different request that reuses
/// an idempotency key.
pub fn request_hash(method: &str, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
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
) -> Result<Option<Response>, ApiError> {
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
        header::HeaderName::from_static("idempotent-replayed"),
        HeaderValue::from_static("true"),
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
) -> Result<Response, ApiError> {
    match key {
        Some(k) => replay_stored(store, k, request_hash, Some(lead_id))
            .await?
            .ok_or_else(|| ApiError::from(StoreError::DuplicateRequest)),
        None => Err(StoreError::DuplicateRequest.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(
        header: Option<HeaderValue>,
        fallback: Option<&str>,
    ) -> Result<Option<String>, ApiError> {
        let mut headers = HeaderMap::new();
        if let Some(h) = header {
            headers.insert("idempotency-key", h);
        }
        idempotency_key(&headers, "leads:ld_1", fallback)
    }

    #[test]
    fn keys_are_scoped_and_the_header_wins() {
        let key = key_of(Some(HeaderValue::from_static("form-1")), Some("body-1")).unwrap();
        assert_eq!(key.as_deref(), Some("leads:ld_1:form-1"));
        let key = key_of(None, Some(" body-1 ")).unwrap();
        assert_eq!(key.as_deref(), Some("leads:ld_1:body-1"));
        assert_eq!(key_of(None, Some("  ")).unwrap(), None);
    }

    #[test]
    fn over_long_or_unprintable_keys_are_422_naming_the_key() {
        let long = "k".repeat(IDEMPOTENCY_KEY_MAX_CHARS + 1);
        let opaque = HeaderValue::from_bytes(b"caf\xe9").unwrap();
        for (header, fallback) in [
            (Some(HeaderValue::from_str(&long).unwrap()), None),
            (None, Some(long.as_str())),
            (None, Some("a\u{7}b")),
            (None, Some("a\u{200B}b")),
            // A header that is not visible ASCII is refused, not skipped for the body's.
            (Some(opaque), Some("body-1")),
        ] {
            let err = key_of(header, fallback).unwrap_err();
            assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(err.fields[0].field, "Idempotency-Key");
        }
        let longest = "k".repeat(IDEMPOTENCY_KEY_MAX_CHARS);
        assert!(key_of(None, Some(&longest)).unwrap().is_some());
    }
}
