//! The caller of a signed-in route, from the claims API Gateway's JWT authorizer
//! verified. API Gateway checks the token's signature, issuer, audience and expiry
//! before the function runs and hands the claims over in
//! `requestContext.authorizer.jwt.claims`; this module turns them into a
//! [`Caller`](leadwatch_core::access::Caller): subject, email, teams and roles.
//!
//! Which claims carry teams and roles is configurable, because issuers differ. The
//! default follows Cognito groups: a user in groups `team:ae-na` and `role:manager` is a
//! manager of team `ae-na`. HTTP APIs flatten a list claim into one string such as
//! `[team:ae-na role:manager]`; JSON-array and comma-separated strings are read too.
//!
//! A handler that takes [`SignedIn`] cannot run without a caller: the extractor answers
//! 401 first. `leadwatch serve` has no authorizer; it takes the same claims from an
//! `X-Leadwatch-Dev-Claims` header (see [`crate::entry::serve`]) and nothing else does.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use lambda_http::request::RequestContext;
use serde_json::json;

use leadwatch_core::access::{Caller, Denied, Role};

use crate::error::ApiError;

/// The verified claims of the request's token, as strings (API Gateway's shape).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwtClaims(pub HashMap<String, String>);

/// Header through which `leadwatch serve` (only) takes a development caller's claims,
/// as a JSON object of strings.
pub const DEV_CLAIMS_HEADER: &str = "x-leadwatch-dev-claims";

/// Which claims name the caller's teams and roles, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    pub team_claim: String,
    /// A value of the team claim names a team when it starts with this (and the rest
    /// is the team); empty: every value is a team.
    pub team_prefix: String,
    pub role_claim: String,
    pub role_prefix: String,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            team_claim: "cognito:groups".into(),
            team_prefix: "team:".into(),
            role_claim: "cognito:groups".into(),
            role_prefix: "role:".into(),
        }
    }
}

impl ClaimMapping {
    /// `LEADWATCH_TEAM_CLAIM`, `LEADWATCH_TEAM_PREFIX`, `LEADWATCH_ROLE_CLAIM`,
    /// `LEADWATCH_ROLE_PREFIX`, each defaulting to the Cognito-groups convention.
    pub fn from_env() -> ClaimMapping {
        let d = ClaimMapping::default();
        let var = |name: &str, default: String| std::env::var(name).unwrap_or(default);
        ClaimMapping {
            team_claim: var("LEADWATCH_TEAM_CLAIM", d.team_claim),
            team_prefix: var("LEADWATCH_TEAM_PREFIX", d.team_prefix),
            role_claim: var("LEADWATCH_ROLE_CLAIM", d.role_claim),
            role_prefix: var("LEADWATCH_ROLE_PREFIX", d.role_prefix),
        }
    }

    /// The caller the claims describe; None without a subject.
    pub fn caller(&self, claims: &JwtClaims) -> Option<Caller> {
        let claims = &claims.0;
        let subject = claims
            .get("sub")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())?;
        let email = claims
            .get("email")
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty());
        let named = |claim: &str, prefix: &str| -> Vec<String> {
            claims
                .get(claim)
                .map(|v| list_values(v))
                .unwrap_or_default()
                .into_iter()
                .filter_map(|v| v.strip_prefix(prefix).map(str::to_string))
                .filter(|v| !v.is_empty())
                .collect()
        };
        let teams: BTreeSet<String> = named(&self.team_claim, &self.team_prefix)
            .into_iter()
            .collect();
        let roles: BTreeSet<Role> = named(&self.role_claim, &self.role_prefix)
            .iter()
            .filter_map(|r| Role::parse(r))
            .collect();
        Some(Caller {
            subject: subject.to_string(),
            email,
            teams,
            roles,
        })
    }

    /// The claims a token of `caller` would carry under this mapping (tests, the dev
    /// sign-in).
    pub fn claims_for(&self, caller: &Caller) -> JwtClaims {
        let mut claims = HashMap::new();
        claims.insert("sub".to_string(), caller.subject.clone());
        if let Some(email) = &caller.email {
            claims.insert("email".to_string(), email.clone());
        }
        let mut push = |claim: &str, value: String| {
            claims
                .entry(claim.to_string())
                .and_modify(|v: &mut String| {
                    v.pop();
                    v.push(' ');
                    v.push_str(&value);
                    v.push(']');
                })
                .or_insert_with(|| format!("[{value}]"));
        };
        for team in &caller.teams {
            push(&self.team_claim, format!("{}{team}", self.team_prefix));
        }
        for role in &caller.roles {
            let name = serde_json::to_value(role)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            push(&self.role_claim, format!("{}{name}", self.role_prefix));
        }
        JwtClaims(claims)
    }
}

/// The values of a list claim as API Gateway passes it: `[a b c]`, `["a","b"]`,
/// `a,b` or a single value.
fn list_values(raw: &str) -> Vec<String> {
    let inner = raw.trim();
    let inner = inner
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(inner);
    inner
        .split(|c: char| c.is_whitespace() || c == ',')
        .map(|v| v.trim_matches('"').trim())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// The claims API Gateway verified, if the request came through its JWT authorizer.
pub fn gateway_claims<B>(req: &axum::http::Request<B>) -> Option<JwtClaims> {
    match req.extensions().get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(ctx) => ctx
            .authorizer
            .as_ref()?
            .jwt
            .as_ref()
            .map(|jwt| JwtClaims(jwt.claims.clone())),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The signed-in caller, as a handler argument. Without one the request is answered
/// 401 before the handler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let default_mapping;
        let mapping = match parts.extensions.get::<Arc<ClaimMapping>>() {
            Some(m) => m.as_ref(),
            None => {
                default_mapping = ClaimMapping::default();
                &default_mapping
            }
        };
        parts
            .extensions
            .get::<JwtClaims>()
            .and_then(|claims| mapping.caller(claims))
            .map(SignedIn)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "this route needs a signed-in caller: send a bearer token from the configured issuer",
                )
            })
    }
}

/// A refusal: 403 naming the missing permission.
pub fn forbidden(denied: Denied) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", denied.to_string())
        .with_extra(json!({ "permission": denied.permission }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(pairs: &[(&str, &str)]) -> JwtClaims {
        JwtClaims(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn cognito_groups_name_teams_and_roles() {
        let m = ClaimMapping::default();
        let c = m
            .caller(&claims(&[
                ("sub", "u-1"),
                ("email", "Sam@Seller.io"),
                (
                    "cognito:groups",
                    "[team:ae-na role:manager team:ae-emea admins]",
                ),
            ]))
            .unwrap();
        assert_eq!(c.email.as_deref(), Some("sam@seller.io"));
        assert_eq!(
            c.teams.iter().map(String::as_str).collect::<Vec<_>>(),
            ["ae-emea", "ae-na"]
        );
        assert_eq!(c.roles.iter().copied().collect::<Vec<_>>(), [Role::Manager]);
    }

    #[test]
    fn list_claims_are_read_in_every_shape_issuers_send() {
        for raw in [
            "[team:a role:ops]",
            r#"["team:a","role:ops"]"#,
            "team:a, role:ops",
        ] {
            assert_eq!(list_values(raw), ["team:a", "role:ops"], "{raw}");
        }
        assert_eq!(list_values("team:a"), ["team:a"]);
    }

    #[test]
    fn other_claim_names_are_configurable() {
        let m = ClaimMapping {
            team_claim: "custom:teams".into(),
            team_prefix: String::new(),
            role_claim: "custom:role".into(),
            role_prefix: String::new(),
        };
        let c = m
            .caller(&claims(&[
                ("sub", "u-2"),
                ("custom:teams", "ae-na"),
                ("custom:role", "rep"),
            ]))
            .unwrap();
        assert!(c.on_team("ae-na") && c.has(Role::Rep));
        // The mapping renders a caller back into the claims that describe it.
        assert_eq!(m.caller(&m.claims_for(&c)), Some(c));
    }

    #[test]
    fn no_subject_is_no_caller() {
        let m = ClaimMapping::default();
        assert_eq!(m.caller(&claims(&[("email", "x@y.z")])), None);
        assert_eq!(m.caller(&claims(&[("sub", "  ")])), None);
    }
}
