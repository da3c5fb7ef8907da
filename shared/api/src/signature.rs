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
    // Beyond i64 does not parse; at its ends, `abs_diff` cannot overflow as a
    // subtraction would: a hostile timestamp is a 401 like any other stale one.
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| unauthorized("X-Leadwatch-Timestamp must be unix seconds"))?;
    if now.timestamp().abs_diff(seconds) > SIGNATURE_TOLERANCE_SECONDS.unsigned_abs() {
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

    /// A request signed (correctly) at `timestamp`, as the header sends it.
    fn signed_at(timestamp: &str, body: &[u8]) -> HeaderMap {
        let seconds = timestamp.trim().parse::<i64>().unwrap_or(0);
        let sig = hex::encode(sign(b"s3cret", seconds, body));
        let mut headers = HeaderMap::new();
        headers.insert(TIMESTAMP_HEADER, HeaderValue::from_str(timestamp).unwrap());
        headers.insert(
            SIGNATURE_HEADER,
            HeaderValue::from_str(&format!("sha256={sig}")).unwrap(),
        );
        headers
    }

    #[test]
    fn timestamps_at_and_beyond_the_integer_limits_are_401_not_a_panic() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let body = b"{}";
        for timestamp in [
            i64::MAX.to_string(),
            i64::MIN.to_string(),
            (i64::MAX - 1).to_string(),
            (i64::MIN + 1).to_string(),
            "9223372036854775808".into(),
            "-9223372036854775809".into(),
            "99999999999999999999999999".into(),
            "-1".into(),
            "0".into(),
            (now.timestamp() - 301).to_string(),
            (now.timestamp() + 301).to_string(),
            // Far future: the year 3000.
            "32503680000".into(),
        ] {
            let headers = signed_at(&timestamp, body);
            let err = verify_signature(b"s3cret", &headers, body, now).unwrap_err();
            assert_eq!(err.status, StatusCode::UNAUTHORIZED, "{timestamp}");
            assert_eq!(err.code, "bad_signature", "{timestamp}");
        }
        // The window's edges are inside it, on both sides.
        for offset in [-SIGNATURE_TOLERANCE_SECONDS, SIGNATURE_TOLERANCE_SECONDS] {
            let timestamp = (now.timestamp() + offset).to_string();
            assert!(verify_signature(b"s3cret", &signed_at(&timestamp, body), body, now).is_ok());
        }
    }

    #[test]
    fn a_server_clock_at_the_limits_of_time_does_not_overflow_either() {
        let body = b"{}";
        for now in [DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC] {
            for timestamp in [i64::MAX, i64::MIN, 0] {
                let headers = signed_at(&timestamp.to_string(), body);
                let err = verify_signature(b"s3cret", &headers, body, now).unwrap_err();
                assert_eq!(err.status, StatusCode::UNAUTHORIZED);
            }
        }
    }
}
