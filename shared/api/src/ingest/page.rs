//! What a visitor's browser gets back from a public form post. A plain HTML form
//! navigates to the answer, so JSON would be shown to the prospect as raw text: a
//! browser that asks for HTML gets a 303 to the form's thank-you page, or a small HTML
//! page (thanks, or what to fix) when the form has none. Scripts asking for JSON get
//! JSON. No answer of this lane says anything about the lead.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use leadwatch_core::contract::Form;

use crate::error::{json_response, ApiError};

/// Does the client want HTML? A browser navigating (a form post) sends `Accept:
/// text/html,...`; `fetch()` sends `*/*` unless told otherwise, and a script that names
/// `application/json` gets JSON even if it also accepts HTML.
pub fn wants_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase();
    accept.contains("text/html") && !accept.contains("application/json")
}

/// The answer to an accepted post (stored, repeated or dropped by the honeypot alike).
pub fn received(html: bool, form: Option<&Form>, receipt: &str, replayed: bool) -> Response {
    let mut response = if !html {
        json_response(
            StatusCode::ACCEPTED,
            &json!({ "status": "received", "receipt": receipt }),
        )
    } else if let Some(url) = form.and_then(|f| f.thank_you_url.as_deref()) {
        // Validated by the contract: an absolute http(s) URL with nothing to escape.
        let mut r = StatusCode::SEE_OTHER.into_response();
        if let Ok(location) = HeaderValue::from_str(url) {
            r.headers_mut().insert(header::LOCATION, location);
        }
        r
    } else {
        page(
            StatusCode::OK,
            "Thank you",
            "<p>Thank you: we received your request and will be in touch.</p>",
        )
    };
    if replayed {
        response.headers_mut().insert(
            header::HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// An error for a browser: the same status, and a page naming each field and what is
/// wrong with it.
pub fn error(err: &ApiError) -> Response {
    let items: String = if err.fields.is_empty() {
        format!("<li>{}</li>", escape(&err.message))
    } else {
        err.fields
            .iter()
            .map(|f| {
                format!(
                    "<li><strong>{}</strong>: {}</li>",
                    escape(&f.field),
                    escape(&f.problem)
                )
            })
            .collect()
    };
    page(
        err.status,
        "Please check the form",
        &format!(
            "<p>We could not take this form:</p><ul>{items}</ul>\
             <p><a href=\"javascript:history.back()\">Back to the form</a></p>"
        ),
    )
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    );
    let mut response = (status, html).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// Text as HTML: what a visitor typed is shown back in an error, never run.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadwatch_core::lead::FieldError;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn browsers_get_html_and_scripts_json() {
        let chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";
        assert!(wants_html(&accept(chrome)));
        assert!(!wants_html(&accept("*/*")));
        assert!(!wants_html(&accept("application/json, text/html")));
        assert!(!wants_html(&HeaderMap::new()));
    }

    #[tokio::test]
    async fn an_error_page_names_the_field_and_escapes_what_the_visitor_sent() {
        let err = ApiError::invalid(vec![FieldError::new("<script>", "is not a field")]);
        let r = error(&err);
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let body = axum::body::to_bytes(r.into_body(), 10_000).await.unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            text.contains("<strong>&lt;script&gt;</strong>: is not a field"),
            "{text}"
        );
        assert!(!text.contains("<script>"));
    }
}
