//! The ways a route set is served, and the one step they share before routing.
//!
//! * [`run_lambda`]: a function's `main` hands its router to lambda_http.
//! * [`serve`]: `leadwatch serve` serves the merged router on a local socket.
//! * [`call`]: tests and the demo send one request in-process, with a time they choose.
//!
//! All three go through [`prepare`], which stamps the request's receive time, hands on
//! the caller's verified claims and strips a named API Gateway stage from the path. So the same request gets the same answer
//! from every one of them: nothing translates between a "Lambda request" and a "dev
//! server request"; there is one router.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use axum::body::Body as AxumBody;
use axum::extract::Request;
use axum::http::Uri;
use axum::response::Response;
use axum::Router;
use chrono::{DateTime, TimeZone, Utc};
use lambda_http::request::RequestContext;
use lambda_http::tower::ServiceExt;
use tokio::net::TcpListener;

use leadwatch_core::access::Caller;

use crate::caller::{gateway_claims, ClaimMapping, JwtClaims, DEV_CLAIMS_HEADER};
use crate::request::ReceivedAt;

/// The entry point's clock. Only entry points own one (`chrono::Utc::now` in a `main`);
/// everything they call takes the time from the request.
pub type Clock = fn() -> DateTime<Utc>;

/// Stamp the receive time, hand on the caller's claims and route on the path without a
/// named stage.
///
/// The time is API Gateway's `requestContext.timeEpoch` when the request came through
/// it, so a replayed event is judged at the time it was first received; else a time an
/// earlier step already stamped (a test's [`call`]); else the entry point's clock. The
/// claims are those API Gateway's JWT authorizer verified, read with `mapping`.
pub fn prepare<B>(
    mut req: axum::http::Request<B>,
    clock: impl FnOnce() -> DateTime<Utc>,
    mapping: &Arc<ClaimMapping>,
) -> axum::http::Request<B> {
    if let Some(claims) = gateway_claims(&req) {
        req.extensions_mut().insert(claims);
    }
    req.extensions_mut().insert(Arc::clone(mapping));
    let stage = match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    };
    if let Some(at) = gateway_time(&req) {
        req.extensions_mut().insert(ReceivedAt(at));
    } else if req.extensions().get::<ReceivedAt>().is_none() {
        req.extensions_mut().insert(ReceivedAt(clock()));
    }
    if let Some(uri) = without_stage(req.uri(), stage.as_deref()) {
        *req.uri_mut() = uri;
    }
    req
}

/// The time API Gateway received the request (`requestContext.timeEpoch`), if it came
/// through API Gateway.
pub fn gateway_time<B>(req: &axum::http::Request<B>) -> Option<DateTime<Utc>> {
    match req.extensions().get::<RequestContext>()? {
        // An event without `timeEpoch` deserialises it as 0: that is no time.
        RequestContext::ApiGatewayV2(ctx) => Some(ctx.time_epoch)
            .filter(|ms| *ms > 0)
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single()),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// `/prod/leads?x=1` -> `/leads?x=1` for stage `prod`, so the routes match however the
/// API is staged; `$default` has no prefix to strip.
fn without_stage(uri: &Uri, stage: Option<&str>) -> Option<Uri> {
    let stage = stage.filter(|s| !s.is_empty() && *s != "$default")?;
    let rest = uri.path().strip_prefix('/')?.strip_prefix(stage)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let path = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    Uri::from_parts(parts).ok()
}

/// A Lambda function's whole `main` after its set-up: serve `router` through the
/// Runtime API until the sandbox is shut down.
pub async fn run_lambda(router: Router, clock: Clock) -> Result<(), lambda_http::Error> {
    let mapping = Arc::new(ClaimMapping::from_env());
    lambda_http::run(lambda_http::service_fn(move |req: lambda_http::Request| {
        let router = router.clone();
        let mapping = Arc::clone(&mapping);
        async move {
            let req = prepare(req, clock, &mapping).map(|body| AxumBody::from(body.to_vec()));
            router.oneshot(req).await
        }
    }))
    .await
}

/// Serve `router` on `listener` until `shutdown` completes; requests in flight finish.
///
/// This is the local development server: there is no API Gateway in front of it, so a
/// caller's claims come from the [`DEV_CLAIMS_HEADER`] (a JSON object of strings, the
/// claims a token would carry), or from the web app's development sign-in cookie.
/// Never put it where the network can reach it.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    clock: Clock,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mapping = Arc::new(ClaimMapping::from_env());
    let service = lambda_http::tower::util::MapRequest::new(router, move |mut req: Request| {
        if let Some(claims) = dev_claims(&req) {
            req.extensions_mut().insert(claims);
        }
        prepare(req, clock, &mapping)
    });
    axum::serve(listener, axum::ServiceExt::into_make_service(service))
        .with_graceful_shutdown(shutdown)
        .await
}

/// One request through `router`, received at `now`, answered as a `lambda_http`
/// response (the body whole, as text when it is UTF-8). For tests and the demo: the
/// same router the functions serve, with the clock in the caller's hands.
pub async fn call(
    router: &Router,
    req: lambda_http::Request,
    now: DateTime<Utc>,
) -> lambda_http::Response<lambda_http::Body> {
    let mut req = req.map(|body| AxumBody::from(body.to_vec()));
    req.extensions_mut().insert(ReceivedAt(now));
    let req = prepare(req, || now, &Arc::new(ClaimMapping::default()));
    let response = match router.clone().oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    into_lambda(response).await
}

/// The development caller's claims, from [`DEV_CLAIMS_HEADER`], else from the web app's
/// development sign-in cookie ([`crate::web::session::DEV_CLAIMS_COOKIE`]).
fn dev_claims(req: &Request) -> Option<JwtClaims> {
    if let Some(raw) = req.headers().get(DEV_CLAIMS_HEADER) {
        let claims: HashMap<String, String> = serde_json::from_str(raw.to_str().ok()?).ok()?;
        return Some(JwtClaims(claims));
    }
    crate::web::session::cookie(req.headers(), crate::web::session::DEV_CLAIMS_COOKIE)
        .and_then(crate::web::session::decode_claims)
}

/// `req` as sent by `caller`: the claims a token of theirs would carry (tests and the
/// demo, which call routers in-process).
pub fn as_caller<B>(mut req: axum::http::Request<B>, caller: &Caller) -> axum::http::Request<B> {
    req.extensions_mut()
        .insert(ClaimMapping::default().claims_for(caller));
    req
}

async fn into_lambda(response: Response) -> lambda_http::Response<lambda_http::Body> {
    let (parts, body) = response.into_parts();
    // Our handlers' bodies are in memory already; this cannot fail but for a stream
    // error, which none of them makes.
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let body = if bytes.is_empty() {
        lambda_http::Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => lambda_http::Body::Text(text),
            Err(e) => lambda_http::Body::Binary(e.into_bytes()),
        }
    };
    lambda_http::Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn a_named_stage_is_stripped_and_the_query_kept() {
        assert_eq!(
            without_stage(&uri("/prod/leads?team=x"), Some("prod")),
            Some(uri("/leads?team=x"))
        );
        assert_eq!(without_stage(&uri("/prod"), Some("prod")), Some(uri("/")));
        // Not the stage, only a path that starts with its letters.
        assert_eq!(without_stage(&uri("/production/leads"), Some("prod")), None);
        assert_eq!(without_stage(&uri("/leads"), Some("$default")), None);
        assert_eq!(without_stage(&uri("/leads"), None), None);
    }
}
