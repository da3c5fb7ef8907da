//! What the pages read from a request, read strictly: query strings and form bodies.
//!
//! axum's `Query` and `serde_urlencoded` would answer a repeated parameter with a
//! plain-text 400 ("Failed to deserialize query string") and decode a malformed
//! percent-escape or bytes that are not UTF-8 into replacement characters, which a
//! note would then store. Here both are decoded as strictly as the JSON API's forms and
//! queries ([`form_pairs`]), and every problem is an HTML page naming the parameter or
//! field: a repeated name (which value was meant?), an unknown one where the page takes
//! a fixed set (a typo such as `form=` must not silently widen a dashboard), a body that
//! is not a form (415).

use axum::http::{HeaderMap, StatusCode, Uri};

use leadwatch_core::lead::{form_pairs, FieldError};
use leadwatch_core::text::clip;

use super::PageError;
use crate::request::{content_type, query_pairs};

/// The only body the pages' forms send.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Decoded parameters or form fields, each name at most once.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// The value of `name`, if sent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What to do with a name a page does not take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// Refuse it (filter pages: a typo would otherwise be ignored silently).
    Refuse,
    /// Skip it (pages opened from links others may decorate, such as the issuer's
    /// callback, which adds parameters of its own).
    Ignore,
}

fn problem_page(status: StatusCode, title: &str, errors: &[FieldError]) -> PageError {
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    PageError::new(status, title, text.join("; "))
}

/// The query's parameters among `known`.
pub fn page_query(uri: &Uri, known: &[&str], unknown: Unknown) -> Result<Params, PageError> {
    const TITLE: &str = "Query not understood";
    let pairs = query_pairs(uri)
        .map_err(|e| PageError::new(StatusCode::UNPROCESSABLE_ENTITY, TITLE, e.message))?;
    checked(pairs, known, unknown, "parameter")
        .map_err(|errors| problem_page(StatusCode::UNPROCESSABLE_ENTITY, TITLE, &errors))
}

/// A form post's fields among `known`: 415 unless it is a URL-encoded form, 400 when a
/// field name cannot be decoded, 422 for a bad value, an unknown or a repeated field.
pub fn read_form(headers: &HeaderMap, body: &[u8], known: &[&str]) -> Result<Params, PageError> {
    const TITLE: &str = "Form not understood";
    let media = content_type(headers);
    if media != FORM_CONTENT_TYPE {
        let sent = if media.is_empty() {
            "no content type".to_string()
        } else {
            clip(&media, 60).to_string()
        };
        return Err(PageError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            TITLE,
            format!("content-type: send the form as {FORM_CONTENT_TYPE} (a browser form post), not {sent}"),
        ));
    }
    let pairs = form_pairs(body).map_err(|errors| {
        let unreadable = errors.iter().any(|e| e.field == "body");
        let status = if unreadable {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        problem_page(status, TITLE, &errors)
    })?;
    checked(pairs, known, Unknown::Refuse, "field")
        .map_err(|errors| problem_page(StatusCode::UNPROCESSABLE_ENTITY, TITLE, &errors))
}

fn checked(
    pairs: Vec<(String, String)>,
    known: &[&str],
    unknown: Unknown,
    noun: &str,
) -> Result<Params, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut kept: Vec<(String, String)> = Vec::new();
    for (name, value) in pairs {
        if !known.contains(&name.as_str()) {
            if unknown == Unknown::Refuse {
                errors.push(FieldError::new(
                    clip(&name, 40),
                    format!("unknown {noun}; this page takes {}", known.join(", ")),
                ));
            }
        } else if kept.iter().any(|(k, _)| *k == name) {
            if !errors.iter().any(|e| e.field == name) {
                errors.push(FieldError::new(name, "appears more than once"));
            }
        } else {
            kept.push((name, value));
        }
    }
    if errors.is_empty() {
        Ok(Params(kept))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, HeaderValue};

    fn uri(q: &str) -> Uri {
        format!("/app?{q}").parse().unwrap()
    }

    #[test]
    fn queries_name_repeated_unknown_and_broken_parameters() {
        let p = page_query(
            &uri("team=ae-na&done=accept"),
            &["team", "done"],
            Unknown::Refuse,
        )
        .unwrap();
        assert_eq!(p.get("team"), Some("ae-na"));
        for (q, needle) in [
            ("team=a&team=b", "team: appears more than once"),
            ("form=1", "form: unknown parameter"),
            ("team=%ff", "team:"),
        ] {
            let e = page_query(&uri(q), &["team"], Unknown::Refuse).unwrap_err();
            assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
            assert!(e.message.contains(needle), "{q}: {}", e.message);
        }
        let p = page_query(&uri("iss=x&code=c"), &["code"], Unknown::Ignore).unwrap();
        assert_eq!((p.get("code"), p.get("iss")), (Some("c"), None));
    }

    #[test]
    fn forms_must_be_url_encoded_and_strictly_decoded() {
        let mut headers = HeaderMap::new();
        let e = read_form(&headers, b"a=1", &["a"]).unwrap_err();
        assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=UTF-8"),
        );
        assert_eq!(
            read_form(&headers, b"a=x+y", &["a"]).unwrap().get("a"),
            Some("x y")
        );
        let status = |body: &[u8]| read_form(&headers, body, &["a"]).unwrap_err().status;
        assert_eq!(status(b"%ff=1"), StatusCode::BAD_REQUEST);
        for body in [&b"a=%ff"[..], b"a=%zz", b"a=1&a=2", b"b=1", b"a=\xff"] {
            assert_eq!(status(body), StatusCode::UNPROCESSABLE_ENTITY, "{body:?}");
        }
    }
}
