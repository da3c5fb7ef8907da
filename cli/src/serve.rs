//! `leadwatch serve`: the whole HTTP API on one local base URL.
//!
//! Each request is turned into the `lambda_http::Request` that API Gateway would hand
//! the function, passed to the very `handle` function the Lambda runs, and its response
//! is sent back as it is. So what a person tries here with curl is what the deployed
//! API does, short of the JWT authorizer, which is API Gateway's and not ours.

use std::collections::HashMap;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request as AxumRequest, State};
use axum::response::Response as AxumResponse;
use axum::routing::any;
use axum::Router;
use chrono::Utc;
use lambda_http::http::StatusCode;
use lambda_http::{Body, RequestExt};
use tokio::net::TcpListener;

use leadwatch_adapters::store::Store;
use leadwatch_api::http::{ApiError, MAX_BODY_BYTES};
use leadwatch_core::text::clip;
use leadwatch_core::Contract;
use leadwatch_disposition::DispositionApp;
use leadwatch_ingest::IngestApp;
use leadwatch_report::ReportApp;

/// The Lambda function that serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Ingest,
    Disposition,
    Report,
}

/// Every route of the HTTP API and its function, as `infra/template.yaml` declares them
/// (a test holds the two together).
pub const ROUTES: &[(&str, &str, Function)] = &[
    ("POST", "/leads", Function::Ingest),
    ("POST", "/leads/{id}/signals", Function::Ingest),
    ("GET", "/leads/{id}", Function::Ingest),
    ("POST", "/leads/{id}/accept", Function::Disposition),
    ("POST", "/leads/{id}/reject", Function::Disposition),
    ("POST", "/leads/{id}/qualify", Function::Disposition),
    ("POST", "/leads/{id}/touch", Function::Disposition),
    ("GET", "/queue", Function::Disposition),
    ("GET", "/reports/sla", Function::Report),
    ("GET", "/export", Function::Report),
];

/// Bodies up to this size are read and handed to the handler, which alone decides what
/// is too large (413 over [`MAX_BODY_BYTES`], with the size it saw); anything larger is
/// refused here with the same error, so a runaway client cannot make us buffer it all.
pub const READ_LIMIT_BYTES: usize = 4 * MAX_BODY_BYTES;

/// The three HTTP functions, built once, as each Lambda builds its app at cold start.
pub struct Api {
    pub ingest: IngestApp,
    pub disposition: DispositionApp,
    pub report: ReportApp,
}

impl Api {
    pub fn new(store: Store, contract: Arc<Contract>, webhook_secret: Option<Vec<u8>>) -> Api {
        Api {
            ingest: IngestApp {
                store: store.clone(),
                contract: Arc::clone(&contract),
                webhook_secret,
            },
            disposition: DispositionApp {
                store: store.clone(),
                contract: Arc::clone(&contract),
            },
            report: ReportApp { store, contract },
        }
    }
}

/// The axum app: every route in [`ROUTES`] goes to its function whatever the method,
/// so that a wrong method gets the handler's own JSON answer; any other path gets the
/// handlers' JSON 404.
pub fn router(api: Arc<Api>) -> Router {
    let mut router = Router::new();
    let mut seen: Vec<&str> = Vec::new();
    for &(_, path, function) in ROUTES {
        // axum refuses a path registered twice; several methods share a path.
        if seen.contains(&path) {
            continue;
        }
        seen.push(path);
        router = router.route(
            path,
            any(move |State(api): State<Arc<Api>>, req: AxumRequest| {
                dispatch(api, function, path, req)
            }),
        );
    }
    router.fallback(no_route).with_state(api)
}

/// Bind the loopback interface only: the dev server has no authorizer, so it must not
/// be reachable from the network. Port 0 picks any free port.
pub async fn bind(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await
}

pub fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// Serve `api` on `listener` until `shutdown` completes; requests in flight finish.
pub async fn run(
    listener: TcpListener,
    api: Api,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(Arc::new(api)))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on Ctrl-C (or at once if the signal cannot be watched, so that the server
/// never runs with no way to stop it but `kill`).
pub async fn ctrl_c() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("cannot watch for Ctrl-C ({e}); stopping");
    }
}

/// `leadwatch serve`: the API on `table` until Ctrl-C.
pub async fn command(table: String, port: u16, contract: Arc<Contract>) -> Result<(), String> {
    let config = aws_config::load_from_env().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), table);
    let endpoint = local_endpoint();
    let backend = match &endpoint {
        // In AWS the SAM template owns the table; on the emulator nobody else makes it.
        Some(url) => {
            store
                .create_table()
                .await
                .map_err(|e| format!("cannot create table {}: {e}", store.table_name()))?;
            format!("the local stack at {url}")
        }
        None => format!(
            "AWS ({})",
            config
                .region()
                .map_or("no region set".to_string(), ToString::to_string)
        ),
    };
    check_table(&store, &backend).await?;
    let listener = bind(port)
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let base = base_url(
        listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?,
    );
    let webhook_secret = leadwatch_adapters::config::webhook_secret_from_env();
    say(&format!(
        "{}\nTable {} on {backend}; contract {}.{}\nCtrl-C stops the server.",
        describe(&base),
        store.table_name(),
        contract.version(),
        if webhook_secret.is_some() {
            "\nLEADWATCH_WEBHOOK_SECRET is set: POSTs to /leads need X-Leadwatch-Signature."
        } else {
            ""
        }
    ));
    init_logging();
    run(
        listener,
        Api::new(store, contract, webhook_secret),
        ctrl_c(),
    )
    .await
    .map_err(|e| format!("the server stopped: {e}"))
}

/// The emulator's endpoint when the SDK is pointed at one (the local stack), else None
/// for AWS itself. The SDK prefers the per-service variable, and so does this.
pub fn local_endpoint() -> Option<String> {
    ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// One call before serving, so that a missing table or credentials is one clear message
/// at start-up rather than a 503 on every request.
async fn check_table(store: &Store, backend: &str) -> Result<(), String> {
    store
        .client()
        .describe_table()
        .table_name(store.table_name())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "table {} on {backend} cannot be read: {}\n\
                 Start the local stack first (eval \"$(scripts/stack.sh start)\"), or use AWS \
                 credentials and --table naming the deployed table.",
                store.table_name(),
                aws_sdk_dynamodb::error::DisplayErrorContext(&e)
            )
        })
}

/// Print to stdout; a reader that went away is no reason to stop serving.
pub fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// The lines that tell a person what is served where.
pub fn describe(base: &str) -> String {
    let mut out = format!("Leadwatch API at {base}\n");
    for (method, path, function) in ROUTES {
        out.push_str(&format!("  {method:<5}{base}{path:<22} {function:?}\n"));
    }
    out
}

/// Log the handlers' own `tracing` output (store failures, dropped honeypot posts) and
/// one line per request, set up as the Lambdas set it up (`RUST_LOG`,
/// `AWS_LAMBDA_LOG_FORMAT=JSON`), but to stderr, away from the printed base URL.
/// Call it once: a second global subscriber is refused with a panic.
pub fn init_logging() {
    lambda_http::tracing::init_default_subscriber_with_writer(std::io::stderr);
}

async fn dispatch(
    api: Arc<Api>,
    function: Function,
    pattern: &'static str,
    req: AxumRequest,
) -> AxumResponse {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = match to_lambda(req, pattern).await {
        Err(refused) => refused,
        Ok(req) => {
            // The dev server is an entry point: the one place that stamps the wall clock.
            let now = Utc::now();
            match function {
                Function::Ingest => leadwatch_ingest::handle(&api.ingest, req, now).await,
                Function::Disposition => {
                    leadwatch_disposition::handle(&api.disposition, req, now).await
                }
                Function::Report => leadwatch_report::handle(&api.report, req, now).await,
            }
        }
    };
    tracing::info!(
        "{method} {} -> {} in {} ms ({function:?})",
        clip(&path, 200),
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    from_lambda(response)
}

/// The request as API Gateway (HTTP API, payload 2.0, `$default` stage) gives it to a
/// function: method, path and query, headers, the body, and the parsed query string and
/// path parameters that `lambda_http` exposes through `RequestExt`.
async fn to_lambda(
    req: AxumRequest,
    pattern: &str,
) -> Result<lambda_http::Request, lambda_http::Response<Body>> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, READ_LIMIT_BYTES)
        .await
        .map_err(|_| {
            // `to_bytes` fails on the length limit, or on a connection that broke, whose
            // client reads no answer; either way the handler never sees a partial body.
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "body: over {READ_LIMIT_BYTES} bytes, far over the {MAX_BODY_BYTES} byte limit"
                ),
            )
            .into_response()
        })?;
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    let query = query_parameters(parts.uri.query().unwrap_or_default());
    let path_parameters = path_parameters(pattern, parts.uri.path());
    let raw_path = parts.uri.path().to_string();
    Ok(lambda_http::Request::from_parts(parts, body)
        .with_query_string_parameters(query)
        .with_path_parameters(path_parameters)
        .with_raw_http_path(raw_path))
}

/// `a=1&a=2&b=x` as API Gateway parses it; a query that is not valid form encoding
/// yields no parameters, and the handler, which reads the raw query, reports it.
fn query_parameters(query: &str) -> HashMap<String, Vec<String>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in pairs {
        map.entry(k).or_default().push(v);
    }
    map
}

/// `{"id": "ld_1"}` for `/leads/{id}/accept` and `/leads/ld_1/accept`.
fn path_parameters(pattern: &str, path: &str) -> HashMap<String, String> {
    let names = pattern
        .trim_matches('/')
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')));
    let values = leadwatch_api::http::match_path(pattern, path).unwrap_or_default();
    names
        .zip(values)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn from_lambda(response: lambda_http::Response<Body>) -> AxumResponse {
    let (parts, body) = response.into_parts();
    let body = match body {
        Body::Empty => axum::body::Body::empty(),
        Body::Text(text) => axum::body::Body::from(text),
        Body::Binary(bytes) => axum::body::Body::from(bytes),
        // `Body` is non-exhaustive; a future variant still gets a well-formed response.
        other => axum::body::Body::from(other.as_ref().to_vec()),
    };
    AxumResponse::from_parts(parts, body)
}

/// Any path that no function serves: the same JSON 404 as the handlers give.
async fn no_route(req: AxumRequest) -> AxumResponse {
    let message = format!(
        "no route for {} {}",
        req.method(),
        clip(req.uri().path(), 200)
    );
    tracing::info!("{message} -> 404");
    from_lambda(ApiError::new(StatusCode::NOT_FOUND, "no_route", message).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_named_from_the_pattern() {
        let p = path_parameters("/leads/{id}/accept", "/leads/ld_1/accept");
        assert_eq!(p.get("id").map(String::as_str), Some("ld_1"));
        assert!(path_parameters("/queue", "/queue").is_empty());
    }

    #[test]
    fn query_parameters_keep_every_value() {
        let q = query_parameters("team=ae-na&status=mql&status=sal");
        assert_eq!(q["team"], vec!["ae-na"]);
        assert_eq!(q["status"], vec!["mql", "sal"]);
        assert!(query_parameters("").is_empty());
    }
}
