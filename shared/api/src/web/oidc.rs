//! The deployed sign-in's talk with the OpenID Connect issuer: its discovery document,
//! the authorization request, the code exchange at its token endpoint and the ID
//! token's verification.
//!
//! * **Discovery** (`<issuer>/.well-known/openid-configuration`) names the
//!   authorization and token endpoints and the JWKS. It is fetched on the first sign-in
//!   of a cold start and kept: configuring only the issuer (the same one API Gateway's
//!   authorizer trusts) cannot get the endpoints wrong, and a Lambda that never signs
//!   anyone in never calls the issuer.
//! * **State, nonce and PKCE** all derive from one signed `state` (see
//!   [`super::signin`]): the nonce and the PKCE verifier are HMACs of it under purposes
//!   of their own, so nothing is stored between the redirect and the callback, and a
//!   code or ID token obtained for another browser's sign-in does not verify here.
//!   PKCE lets the app be a public client: there is no client secret to keep.
//! * **The ID token** is verified with `jsonwebtoken`: RS256 only, the signature
//!   against the issuer's JWKS (fetched again once when a token names a key we do not
//!   have: the issuer rotated), `iss` equal to the configured issuer, `aud` containing
//!   the client id, and then here, against the request's clock rather than the
//!   machine's, `exp` (with a minute of leeway for clock skew) and the `nonce`.
//!
//! The claims then become the same [`JwtClaims`] API Gateway hands the JSON routes
//! (lists flattened to `[a b]`), so one [`crate::caller::ClaimMapping`] makes the
//! caller everywhere.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::{OnceCell, RwLock};

use leadwatch_core::signed::Signer;

use crate::caller::JwtClaims;

const NONCE: &str = "oidc-nonce";
const PKCE: &str = "oidc-pkce";

/// How far an ID token's `exp` may lie behind the request's clock: the issuer's clock
/// and ours are never exactly together.
const EXP_LEEWAY_SECONDS: i64 = 60;

/// The issuer and this app's registration with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// The issuer URL, exactly as its tokens' `iss` says (for Cognito
    /// `https://cognito-idp.<region>.amazonaws.com/<user pool id>`).
    pub issuer: String,
    /// The app client's id: the ID token's audience.
    pub client_id: String,
    /// This app's `/app/callback`, as registered with the issuer.
    pub redirect_url: String,
}

impl OidcSettings {
    /// `LEADWATCH_OIDC_ISSUER`, `LEADWATCH_OIDC_CLIENT_ID` and
    /// `LEADWATCH_OIDC_REDIRECT_URL`: all set, else None (the app then says sign-in is
    /// not set up).
    pub fn from_env() -> Option<OidcSettings> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        Some(OidcSettings {
            issuer: var("LEADWATCH_OIDC_ISSUER")?
                .trim_end_matches('/')
                .to_string(),
            client_id: var("LEADWATCH_OIDC_CLIENT_ID")?,
            redirect_url: var("LEADWATCH_OIDC_REDIRECT_URL")?,
        })
    }
}

/// The parts of the discovery document we use.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// Why a sign-in could not be completed. Every message names what failed and holds no
/// token, code or secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The issuer could not be reached or answered nonsense: try again later.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The token endpoint refused the code (used, expired, or not ours).
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
    /// An ID token came back but does not prove who signed in.
    #[error("the ID token is not valid: {0}")]
    InvalidToken(String),
}

/// The issuer client of a web function: settings, an HTTPS client and what it learnt.
pub struct Oidc {
    settings: OidcSettings,
    http: reqwest::Client,
    discovery: OnceCell<Discovery>,
    jwks: RwLock<Option<JwkSet>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Oidc {
    /// A client for `settings`. Each call to the issuer has 5 s (connect 2 s): a sign-in
    /// makes at most three in a row inside the function's 15 s.
    pub fn new(settings: OidcSettings) -> Result<Oidc, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(StdDuration::from_secs(2))
            .timeout(StdDuration::from_secs(5))
            // The token endpoint's answer is followed by no redirect: a redirect there
            // would send the code somewhere we did not choose.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTPS client for sign-in: {e}"))?;
        Ok(Oidc {
            settings,
            http,
            discovery: OnceCell::new(),
            jwks: RwLock::new(None),
        })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<T, OidcError> {
        let unavailable = |e: String| OidcError::Unavailable(format!("{what} ({url}): {e}"));
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| unavailable(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("HTTP {}", response.status().as_u16())));
        }
        response
            .json()
            .await
            .map_err(|e| unavailable(format!("not the expected JSON: {}", e.without_url())))
    }

    async fn discovery(&self) -> Result<&Discovery, OidcError> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/openid-configuration", self.settings.issuer);
                let d: Discovery = self.get_json(&url, "the discovery document").await?;
                // The document must be the configured issuer's own (OpenID Connect
                // Discovery 1.0, 4.3): else its endpoints are not to be trusted.
                if d.issuer.trim_end_matches('/') != self.settings.issuer {
                    return Err(OidcError::Unavailable(format!(
                        "the discovery document is for issuer {:?}, not {:?}",
                        d.issuer, self.settings.issuer
                    )));
                }
                Ok(d)
            })
            .await
    }

    /// Where to send the browser to sign in, for the signed `state`.
    pub async fn authorize_url(
        &self,
        signer: &Signer,
        state: &str,
        expires: DateTime<Utc>,
    ) -> Result<String, OidcError> {
        let d = self.discovery().await?;
        let verifier = signer.sign(PKCE, state, expires);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", self.settings.client_id.as_str()),
            ("redirect_uri", self.settings.redirect_url.as_str()),
            ("scope", "openid email"),
            ("state", state),
            ("nonce", &signer.sign(NONCE, state, expires)),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .map_err(|e| OidcError::Unavailable(format!("cannot encode the request: {e}")))?;
        let sep = if d.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok(format!("{}{sep}{query}", d.authorization_endpoint))
    }

    /// Exchange `code` (of the sign-in with the checked `state`, which expires at
    /// `expires`) for an ID token, verify it at `now` and return its claims.
    pub async fn sign_in(
        &self,
        signer: &Signer,
        code: &str,
        state: &str,
        expires: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<JwtClaims, OidcError> {
        let d = self.discovery().await?;
        let verifier = signer.sign(PKCE, state, expires);
        let response = self
            .http
            .post(&d.token_endpoint)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", self.settings.redirect_url.as_str()),
                ("client_id", self.settings.client_id.as_str()),
                ("code_verifier", verifier.as_str()),
            ])
            .send()
            .await
            .map_err(|e| {
                OidcError::Unavailable(format!("the token endpoint: {}", e.without_url()))
            })?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            // OAuth 2.0 errors name themselves in `error` (RFC 6749, 5.2).
            let error = body["error"].as_str().unwrap_or("no error code");
            let error = leadwatch_core::text::clip(error, 80);
            return Err(if status.is_client_error() {
                OidcError::Refused(format!("the token endpoint answered {status}: {error}"))
            } else {
                OidcError::Unavailable(format!("the token endpoint answered {status}"))
            });
        }
        let id_token = body["id_token"].as_str().ok_or_else(|| {
            OidcError::Refused("the token endpoint's answer has no id_token".into())
        })?;
        let nonce = signer.sign(NONCE, state, expires);
        self.verify(id_token, &nonce, now).await
    }

    /// The key `kid` from the JWKS, fetched (again) when we do not have it.
    async fn key(&self, kid: &str) -> Result<DecodingKey, OidcError> {
        let find = |set: &JwkSet| set.find(kid).map(DecodingKey::from_jwk);
        if let Some(found) = self.jwks.read().await.as_ref().and_then(find) {
            return found.map_err(|e| OidcError::InvalidToken(format!("its key {kid}: {e}")));
        }
        let uri = self.discovery().await?.jwks_uri.clone();
        let set: JwkSet = self.get_json(&uri, "the JWKS").await?;
        let found = find(&set);
        *self.jwks.write().await = Some(set);
        match found {
            Some(key) => key.map_err(|e| OidcError::InvalidToken(format!("its key {kid}: {e}"))),
            None => Err(OidcError::InvalidToken(format!(
                "it is signed with key {kid:?}, which the issuer does not publish"
            ))),
        }
    }

    /// The claims of `id_token` if it is the issuer's, for us, unexpired at `now`
    /// and of this sign-in (`nonce`).
    pub async fn verify(
        &self,
        id_token: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<JwtClaims, OidcError> {
        let invalid = |m: String| OidcError::InvalidToken(m);
        let header = jsonwebtoken::decode_header(id_token)
            .map_err(|e| invalid(format!("it is not a JWT ({e})")))?;
        // Only the algorithm the issuer signs with: never `none`, never an HMAC keyed
        // with a public key.
        if header.alg != Algorithm::RS256 {
            return Err(invalid(format!(
                "it is signed with {:?}; only RS256 is accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| invalid("its header names no key (kid)".into()))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Times are checked below against the request's clock, not the machine's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let data = jsonwebtoken::decode::<HashMap<String, Value>>(id_token, &key, &validation)
            .map_err(|e| {
                invalid(match e.kind() {
                    ErrorKind::InvalidAudience => {
                        "it was issued for another application (aud is not this app's client id)"
                            .into()
                    }
                    ErrorKind::InvalidIssuer => {
                        format!(
                            "it was issued by another issuer (iss is not {})",
                            self.settings.issuer
                        )
                    }
                    ErrorKind::InvalidSignature => {
                        "its signature does not match the issuer's key".into()
                    }
                    ErrorKind::MissingRequiredClaim(c) => format!("it has no {c} claim"),
                    _ => format!("it cannot be read ({e})"),
                })
            })?;
        let claims = data.claims;
        let exp = claims["exp"]
            .as_i64()
            .ok_or_else(|| invalid("its exp is not a number of seconds".into()))?;
        if now.timestamp() > exp + EXP_LEEWAY_SECONDS {
            return Err(invalid(format!(
                "it expired at {}",
                DateTime::<Utc>::from_timestamp(exp, 0)
                    .map_or_else(|| exp.to_string(), |t| t.to_rfc3339())
            )));
        }
        if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return Err(invalid(
                "it belongs to another sign-in (its nonce does not match)".into(),
            ));
        }
        Ok(flatten(&claims))
    }
}

/// The claims as API Gateway's JWT authorizer hands them over: strings as they are,
/// lists as `[a b]`, numbers and booleans as text; objects are left out.
fn flatten(claims: &HashMap<String, Value>) -> JwtClaims {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    JwtClaims(
        claims
            .iter()
            .filter_map(|(k, v)| {
                let value = match v {
                    Value::Array(items) => {
                        let items: Vec<String> = items.iter().filter_map(text).collect();
                        Some(format!("[{}]", items.join(" ")))
                    }
                    other => text(other),
                };
                value.map(|v| (k.clone(), v))
            })
            .collect(),
    )
}

/// How long a session may last: [`super::session::SESSION_HOURS`] from `now`.
pub fn session_expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::hours(super::session::SESSION_HOURS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_are_flattened_as_api_gateway_does() {
        let claims: HashMap<String, Value> = serde_json::from_value(json!({
            "sub": "u-1", "email": "kim@seller.io", "exp": 1790000000,
            "email_verified": true, "cognito:groups": ["team:ae-na", "role:manager"],
            "address": {"country": "US"}
        }))
        .unwrap();
        let flat = flatten(&claims).0;
        assert_eq!(flat["cognito:groups"], "[team:ae-na role:manager]");
        assert_eq!(flat["exp"], "1790000000");
        assert_eq!(flat["email_verified"], "true");
        assert!(!flat.contains_key("address"));
        let caller = crate::caller::ClaimMapping::default()
            .caller(&JwtClaims(flat))
            .unwrap();
        assert!(caller.on_team("ae-na"));
    }
}
