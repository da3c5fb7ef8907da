//! The stylesheet, the countdown script and the tab icon, compiled into every binary that serves the
//! pages: no CDN, nothing to deploy beside the function, and the report file
//! (`leadwatch report --html`) inlines the same stylesheet.

use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The app's stylesheet.
pub const APP_CSS: &str = include_str!("assets/app.css");
/// The queue's countdown script.
pub const APP_JS: &str = include_str!("assets/app.js");
/// The tab icon (without one, every browser asks for `/favicon.ico` and logs a 404).
pub const FAVICON_SVG: &str = include_str!("assets/favicon.svg");

/// `GET /app/assets/{file}`.
pub async fn asset(file: Result<Path<String>, PathRejection>) -> Response {
    // A name that is not UTF-8 once decoded (`%ff`) is no asset either: the 404 page,
    // not axum's plain-text 400.
    let file = file.map(|Path(f)| f).unwrap_or_default();
    let (body, content_type) = match file.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => (FAVICON_SVG, "image/svg+xml"),
        _ => return super::PageError::not_found("asset").into_response(),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
