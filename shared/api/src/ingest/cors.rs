//! CORS for the public form lane: a marketing site's script may call `POST /leads`
//! with `fetch()` from the origins the contract lists (`intake.cors_origins`), and from
//! no other. tower-http's `CorsLayer` answers the preflight (`OPTIONS /leads`) and
//! adds `Access-Control-Allow-Origin` for an allowed origin; for any other origin the
//! answer carries no CORS header at all (the layer would still send the allowed
//! methods and headers, which tell a stranger nothing useful but are not theirs).
//!
//! A plain HTML form post needs no CORS: browsers send it cross-origin anyway, which
//! is why the public lane trusts nothing in it (see [`super::public`]).

use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::response::Response;
use tower_http::cors::{AllowOrigin, CorsLayer};

use leadwatch_core::Contract;

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The CORS layer of `POST /leads` for `contract`'s origins.
pub fn layer(contract: &Contract) -> CorsLayer {
    let origins: Vec<HeaderValue> = contract
        .spec
        .intake
        .cors_origins
        .iter()
        // Validated as origins by the contract, so each is a valid header value.
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("idempotency-key"),
        ])
        .max_age(PREFLIGHT_MAX_AGE)
}

/// Drop every `Access-Control-*` header from an answer that does not allow the
/// request's origin: a stranger's preflight gets no CORS header.
pub async fn only_for_allowed_origins(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        let cors: Vec<HeaderName> = headers
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in cors {
            headers.remove(name);
        }
    }
    response
}
