//! Signed, expiring tokens: the lead-page link every alert carries, and the web app's
//! session and form tokens. A token is `<expiry unix seconds>.<hex HMAC-SHA256>` over a
//! purpose, the expiry and a payload the holder already has (a lead id, a session's
//! claims), so a token made for one purpose is worthless for another: a lead link is no
//! session, a form token of one person is no form token of another.
//!
//! Pure: the secret and `now` are parameters. The deployed secret lives in SSM and the
//! entry points read it; nothing here knows where it came from.

use std::fmt;

use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Shortest secret accepted: a short HMAC key can be guessed offline from one token.
pub const MIN_SECRET_BYTES: usize = 16;

/// Purpose of the lead-page link in alerts.
pub const LEAD_LINK: &str = "lead-link";

/// A key that signs and checks tokens. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer(<redacted>)")
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Not `<seconds>.<hex>`.
    Malformed,
    /// The signature does not match: another purpose or payload, or a forgery.
    BadSignature,
    /// Signed, but its time ran out.
    Expired { at: DateTime<Utc> },
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Malformed => f.write_str("the token is malformed"),
            TokenError::BadSignature => f.write_str("the token's signature does not match"),
            TokenError::Expired { at } => write!(f, "the token expired at {}", at.to_rfc3339()),
        }
    }
}

impl Signer {
    /// None for a secret shorter than [`MIN_SECRET_BYTES`].
    pub fn new(secret: impl Into<Vec<u8>>) -> Option<Signer> {
        let key = secret.into();
        (key.len() >= MIN_SECRET_BYTES).then_some(Signer { key })
    }

    fn mac(&self, purpose: &str, payload: &str, expires: i64) -> Vec<u8> {
        // A key of any length is valid for HMAC; this cannot fail.
        let Ok(mut mac) = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.key) else {
            return Vec::new();
        };
        // Length-prefixed fields: no two (purpose, expiry, payload) triples sign alike.
        for part in [
            purpose.as_bytes(),
            expires.to_string().as_bytes(),
            payload.as_bytes(),
        ] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }

    /// A token for `payload` under `purpose`, valid until `expires`.
    pub fn sign(&self, purpose: &str, payload: &str, expires: DateTime<Utc>) -> String {
        let at = expires.timestamp();
        format!("{at}.{}", hex::encode(self.mac(purpose, payload, at)))
    }

    /// Check `token` for `payload` under `purpose` at `now`; its expiry when valid.
    pub fn verify(
        &self,
        purpose: &str,
        payload: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, TokenError> {
        let (at, mac) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let at: i64 = at.parse().map_err(|_| TokenError::Malformed)?;
        let given = hex::decode(mac).map_err(|_| TokenError::Malformed)?;
        if given.len() != 32 {
            return Err(TokenError::Malformed);
        }
        let expires = Utc
            .timestamp_opt(at, 0)
            .single()
            .ok_or(TokenError::Malformed)?;
        let expected = self.mac(purpose, payload, at);
        if !bool::from(expected.ct_eq(&given)) {
            return Err(TokenError::BadSignature);
        }
        if now >= expires {
            return Err(TokenError::Expired { at: expires });
        }
        Ok(expires)
    }
}

/// How alerts link to the web app's lead page: a base URL, a signer and how long a
/// link stays valid.
#[derive(Debug, Clone)]
pub struct LeadLinks {
    /// Where the web app is served, without a trailing slash (`https://api.example.com`).
    pub base_url: String,
    pub signer: Signer,
    pub valid_for: Duration,
}

impl LeadLinks {
    /// The signed link to `lead_id`'s page, valid from `sent_at` for `valid_for`. The
    /// link lets its holder read the page; acting on the lead still needs a signed-in
    /// caller of the owning team.
    pub fn url(&self, lead_id: &str, sent_at: DateTime<Utc>) -> String {
        let token = self
            .signer
            .sign(LEAD_LINK, lead_id, sent_at + self.valid_for);
        format!(
            "{}/app/leads/{lead_id}?link={token}",
            self.base_url.trim_end_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).unwrap()
    }

    fn signer() -> Signer {
        Signer::new(b"0123456789abcdef-test".to_vec()).unwrap()
    }

    #[test]
    fn a_token_holds_for_its_purpose_payload_and_time_only() {
        let s = signer();
        let token = s.sign(LEAD_LINK, "ld_1", at(12));
        assert_eq!(s.verify(LEAD_LINK, "ld_1", &token, at(11)), Ok(at(12)));
        assert_eq!(
            s.verify(LEAD_LINK, "ld_2", &token, at(11)),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            s.verify("session", "ld_1", &token, at(11)),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            s.verify(LEAD_LINK, "ld_1", &token, at(12)),
            Err(TokenError::Expired { at: at(12) })
        );
        // Moving the expiry breaks the signature.
        let (_, mac) = token.split_once('.').unwrap();
        let later = format!("{}.{mac}", at(20).timestamp());
        assert_eq!(
            s.verify(LEAD_LINK, "ld_1", &later, at(11)),
            Err(TokenError::BadSignature)
        );
        let other = Signer::new(b"another secret of 16+".to_vec()).unwrap();
        assert_eq!(
            other.verify(LEAD_LINK, "ld_1", &token, at(11)),
            Err(TokenError::BadSignature)
        );
        for bad in ["", "x", "12.zz", ".ab", "1.", "abc.00"] {
            assert_eq!(
                s.verify(LEAD_LINK, "ld_1", bad, at(11)),
                Err(TokenError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn short_secrets_are_refused_and_never_shown() {
        assert!(Signer::new(b"short".to_vec()).is_none());
        assert_eq!(format!("{:?}", signer()), "Signer(<redacted>)");
    }

    #[test]
    fn lead_links_point_at_the_lead_page_with_a_token() {
        let links = LeadLinks {
            base_url: "https://app.example.com/".into(),
            signer: signer(),
            valid_for: Duration::hours(72),
        };
        let url = links.url("ld_1", at(9));
        let token = url
            .strip_prefix("https://app.example.com/app/leads/ld_1?link=")
            .unwrap();
        assert_eq!(
            links.signer.verify(LEAD_LINK, "ld_1", token, at(10)),
            Ok(at(9) + Duration::hours(72))
        );
    }
}
