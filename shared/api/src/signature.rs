//! Webhook signatures for the ingest routes. A CRM or form tool that holds the shared
//! secret signs `"<timestamp>.<raw body>"` with HMAC-SHA256; signing the timestamp with
//! the body stops an old request from being replayed outside the tolerance window.

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::request::header_str;

/// Webhook signatures older or newer than this are refused (replay protection).
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;
pub const SIGNATURE_HEADER: &str = "x-leadwatch-signature";
pub const TIMESTAMP_HEADER: &str = "x-leadwatch-timestamp";

/// Check `X-Leadwatch-Timestamp: <unix seconds>` and
/// `X-Leadwatch-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`.
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use chrono::TimeZone;

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
