//! What a handler takes from a request, extracted in one place for every route: when
//! the request was received, its body (size-limited), its query, its headers and the
//! lead it names. Extractors answer with the same JSON errors as the handlers, so a
//! client never sees axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use chrono::{DateTime, Utc};

use crate::error::ApiError;
use leadwatch_core::lead::{form_pairs, FieldError};

/// The largest body any route accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Bodies up to this size are read, so the 413 can say how large the body was; anything
/// larger is refused unread, so a runaway client cannot make a function buffer it all.
pub const READ_LIMIT_BYTES: usize = 4 * MAX_BODY_BYTES;

/// Longest lead id a path may carry: ids are made by `LeadIds::id_for` and are far shorter;
/// an over-long key would be a DynamoDB validation error, not a 404.
const LEAD_ID_MAX_BYTES: usize = 128;

/// When the request was received, set by the entry point before routing (see
/// [`crate::entry`]): API Gateway's `requestContext.timeEpoch` in Lambda, so a replayed
/// event gives the same result, or the clock of the dev server or test that received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedAt(pub DateTime<Utc>);

/// The request's time, as a handler argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now(pub DateTime<Utc>);

impl<S: Send + Sync> FromRequestParts<S> for Now {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match parts.extensions.get::<ReceivedAt>() {
            Some(ReceivedAt(at)) => Ok(Now(*at)),
            // Only a router served outside `entry` can get here: a bug, not bad input.
            None => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "no_request_time",
                "the request reached a route without its receive time",
            )),
        }
    }
}

/// The raw body, refused with 413 over [`MAX_BODY_BYTES`].
#[derive(Debug, Clone)]
pub struct LimitedBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for LimitedBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::to_bytes(req.into_body(), READ_LIMIT_BYTES)
            .await
            .map_err(|_| {
                // Over the read limit, or a connection that broke (whose client reads no
                // answer); either way the handler never sees a partial body.
                too_large(format!(
                    "body: over {READ_LIMIT_BYTES} bytes, far over the {MAX_BODY_BYTES} byte limit"
                ))
            })?;
        if bytes.len() > MAX_BODY_BYTES {
            return Err(too_large(format!(
                "body: {} bytes is over the {MAX_BODY_BYTES} byte limit",
                bytes.len()
            )));
        }
        Ok(LimitedBody(bytes))
    }
}

fn too_large(message: String) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", message)
}

/// The `{id}` of a lead route, as sent. A value that cannot name a lead (not UTF-8 once
/// decoded) is simply no lead: the handler answers 404 after it has checked the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadId(pub String);

impl LeadId {
    /// Ids are made by `LeadIds::id_for`; anything far from that shape cannot name a lead,
    /// and is answered without a read.
    pub fn is_plausible(&self) -> bool {
        let id = &self.0;
        !id.is_empty()
            && id.len() <= LEAD_ID_MAX_BYTES
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }
}

impl<S: Send + Sync> FromRequestParts<S> for LeadId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let id = match RawPathParams::from_request_parts(parts, state).await {
            Ok(params) => params
                .iter()
                .find(|(name, _)| *name == "id")
                .map(|(_, value)| value.to_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        Ok(LeadId(id))
    }
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

/// The query string's parameters as decoded pairs, decoded as strictly as form bodies:
/// a malformed escape or bytes that are not UTF-8 are a 422 naming the parameter (or
/// `query`, when the name itself is broken), never replacement characters.
pub fn query_pairs(uri: &Uri) -> Result<Vec<(String, String)>, ApiError> {
    let query = uri.query().unwrap_or_default();
    form_pairs(query.as_bytes()).map_err(|errors| {
        let errors = errors
            .into_iter()
            .map(|e| match e.field.as_str() {
                "body" => FieldError::new("query", e.problem),
                _ => e,
            })
            .collect();
        ApiError::invalid(errors)
    })
}

/// The route's query parameters; any parameter not in `allowed` is refused, so that a
/// typo (`form=`) cannot silently widen a report or a queue.
pub fn known_query_pairs(uri: &Uri, allowed: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let pairs = query_pairs(uri)?;
    let unknown: Vec<FieldError> = pairs
        .iter()
        .filter(|(k, _)| !allowed.contains(&k.as_str()))
        .map(|(k, _)| {
            FieldError::new(
                leadwatch_core::text::clip(k, 40),
                format!("is not a parameter of this route ({})", allowed.join(", ")),
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::invalid(unknown));
    }
    Ok(pairs)
}

/// The first value of `name` in decoded query pairs.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ids_shaped_like_lead_ids_are_looked_up() {
        let plausible = |id: &str| LeadId(id.to_string()).is_plausible();
        assert!(plausible(
            &leadwatch_core::LeadIds::development().id_for("ana@acme.io")
        ));
        assert!(plausible(&"a".repeat(LEAD_ID_MAX_BYTES)));
        for id in [
            String::new(),
            "a".repeat(LEAD_ID_MAX_BYTES + 1),
            "x".repeat(100_000),
            "ld_1/../x".into(),
            "ld_\u{200B}1".into(),
            "ld_é".into(),
            "ld 1".into(),
        ] {
            assert!(!plausible(&id), "{id:?}");
        }
    }

    #[test]
    fn query_strings_are_decoded_strictly_naming_the_parameter() {
        let uri = |q: &str| format!("/queue?{q}").parse::<Uri>().unwrap();
        let pairs = query_pairs(&uri("team=ae-na&from=2026%2D11&x=a+b")).unwrap();
        assert_eq!(pairs[0], ("team".into(), "ae-na".into()));
        assert_eq!(pairs[1].1, "2026-11");
        assert_eq!(pairs[2].1, "a b");
        for (q, field) in [
            ("team=%E9", "team"),
            ("team=%ZZ", "team"),
            ("%ZZ=1", "query"),
        ] {
            let e = query_pairs(&uri(q)).unwrap_err();
            assert_eq!(
                e.status,
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "{q}"
            );
            assert_eq!(e.fields[0].field, field, "{q}: {e:?}");
        }
    }
}
