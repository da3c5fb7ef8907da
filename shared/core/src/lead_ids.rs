//! Lead ids that an outsider cannot compute from an email.
//!
//! A lead's id used to be a plain hash of its email, so anyone who knew someone's
//! address could name their lead, post signals to it and read its answers. Now it is a
//! keyed hash (HMAC-SHA256 over the normalised email) under a secret key that only the
//! deployment holds: the same person still lands on the same lead, ids are still safe
//! to log, and nobody without the key can go from an email to an id.
//!
//! The key is passed in by the entry point (an SSM SecureString in AWS, an environment
//! variable locally); the core never reads it from anywhere. Without a configured key,
//! local runs use [`DEVELOPMENT_KEY`], which is public and so gives no protection.
//! Changing the key changes every id: leads stored under the old key are not found
//! under the new one.

use std::fmt;

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::lead::normalise_email;

/// The key local runs and tests use when none is configured. It is in the source code:
/// a deployment must configure its own (see the README, "Lead ids").
pub const DEVELOPMENT_KEY: &[u8] = b"leadwatch-development-lead-id-key";

/// Makes lead ids (and other opaque ids) under a secret key.
#[derive(Clone, PartialEq, Eq)]
pub struct LeadIds {
    key: Vec<u8>,
}

// Never print the key, not even in a debug log line.
impl fmt::Debug for LeadIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_development() {
            f.write_str("LeadIds(<development key>)")
        } else {
            f.write_str("LeadIds(<redacted>)")
        }
    }
}

impl LeadIds {
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        LeadIds { key: key.into() }
    }

    /// Ids under the public [`DEVELOPMENT_KEY`]: for local runs and tests only.
    pub fn development() -> Self {
        LeadIds::new(DEVELOPMENT_KEY)
    }

    pub fn is_development(&self) -> bool {
        self.key == DEVELOPMENT_KEY
    }

    /// The lead id of `email`: `ld_` and 24 hex digits (96 bits) of
    /// HMAC-SHA256(key, normalised email).
    pub fn id_for(&self, email: &str) -> String {
        format!(
            "ld_{}",
            &self.keyed_hex("lead", normalise_email(email).as_bytes())[..24]
        )
    }

    /// An opaque id for `data` in the namespace `purpose` (a receipt, say): the same
    /// data gives the same id, and without the key it tells nothing about the data.
    pub fn opaque_id(&self, purpose: &str, data: &[u8]) -> String {
        self.keyed_hex(purpose, data)[..24].to_string()
    }

    fn keyed_hex(&self, purpose: &str, data: &[u8]) -> String {
        // HMAC takes keys of any length: `new_from_slice` cannot fail.
        let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(&self.key) else {
            return "0".repeat(64);
        };
        mac.update(purpose.as_bytes());
        mac.update(b"\n");
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_person_gets_the_same_id_and_ids_depend_on_the_key() {
        let ids = LeadIds::development();
        assert_eq!(ids.id_for(" Ana@Acme.io "), ids.id_for("ana@acme.io"));
        assert_ne!(ids.id_for("ana@acme.io"), ids.id_for("bo@acme.io"));
        let id = ids.id_for("ana@acme.io");
        assert!(id.starts_with("ld_") && id.len() == 27, "{id}");
        let other = LeadIds::new(b"another key".to_vec());
        assert_ne!(
            other.id_for("ana@acme.io"),
            id,
            "a key of its own, ids of its own"
        );
        // No longer the plain hash of the email that anybody can compute.
        use sha2::Digest;
        let plain = hex::encode(Sha256::digest(b"ana@acme.io"));
        assert_ne!(&id[3..], &plain[..24]);
    }

    #[test]
    fn debug_never_shows_the_key() {
        let shown = format!("{:?}", LeadIds::new(b"hunter2".to_vec()));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(format!("{:?}", LeadIds::development()).contains("development"));
    }

    #[test]
    fn opaque_ids_are_stable_and_namespaced() {
        let ids = LeadIds::development();
        assert_eq!(
            ids.opaque_id("receipt", b"x"),
            ids.opaque_id("receipt", b"x")
        );
        assert_ne!(ids.opaque_id("receipt", b"x"), ids.opaque_id("other", b"x"));
        assert_eq!(ids.opaque_id("receipt", b"x").len(), 24);
    }
}
