//! `leadwatch serve`: the whole HTTP API on one local base URL.
//!
//! It serves the merge of the three functions' route sets ([`Api::router`]) through
//! the same preparation step the Lambdas use ([`leadwatch_api::entry`]), so what a
//! person tries here with curl is what the deployed API does, short of the JWT
//! authorizer, which is API Gateway's and not ours.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tokio::net::TcpListener;

use leadwatch_adapters::secrets::SourceSecrets;
use leadwatch_adapters::store::Store;
use leadwatch_core::text::clip;
use leadwatch_core::{Contract, LeadIds};

use leadwatch_api::web::{SignIn, WebApp};
pub use leadwatch_api::{Api, Function, ROUTES};
use leadwatch_core::signed::Signer;

/// The web app as the dev server serves it: the development sign-in (pick a user from
/// a list), cookies without `Secure` (plain HTTP on loopback), and the secret from
/// `LEADWATCH_WEB_SECRET`, else a new one per process (sessions then end with it).
pub fn dev_web(store: Store, contract: Arc<Contract>) -> WebApp {
    let signer = std::env::var("LEADWATCH_WEB_SECRET")
        .ok()
        .and_then(|s| Signer::new(s.into_bytes()))
        .unwrap_or_else(process_secret);
    WebApp {
        store,
        contract,
        signer,
        sign_in: SignIn::Development,
        secure_cookies: false,
    }
}

/// A secret nobody else knows, for one run of the dev server: std's hasher keys are
/// seeded randomly per process, which is all a loopback development server needs.
fn process_secret() -> Signer {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = Vec::with_capacity(32);
    for i in 0..4u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(i);
        bytes.extend_from_slice(&h.finish().to_le_bytes());
    }
    // 32 bytes: over the minimum, so this cannot fail.
    Signer::new(bytes).unwrap_or_else(|| unreachable!("32 bytes is a valid secret"))
}

/// The line that tells a person where the web app is.
pub fn web_line(base: &str) -> String {
    format!("Open the web app: {base}/app (local sign-in: pick a user)")
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
    // The dev server is an entry point: the one place that stamps the wall clock.
    run_with_clock(listener, api, chrono::Utc::now, shutdown).await
}

/// [`run`] on another clock: a test that compares the dev server with the Lambda
/// binaries gives both the same receive time.
pub async fn run_with_clock(
    listener: TcpListener,
    api: Api,
    clock: leadwatch_api::entry::Clock,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = api.router().layer(axum::middleware::from_fn(log_request));
    leadwatch_api::entry::serve(listener, router, clock, shutdown).await
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
    let config =
        leadwatch_adapters::aws::sdk_config(leadwatch_adapters::aws::TimeBudget::CLI).await;
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
    let (sources, lead_ids) = ingest_secrets(&config, &contract).await?;
    say(&format!(
        "{}\nTable {} on {backend}; contract {}.\n{}\n\
         Signed-in routes take the caller's JWT claims as JSON in the {} header \
         (development only), e.g.\n  {}: {}\nCtrl-C stops the server.",
        describe(&base),
        store.table_name(),
        contract.version(),
        describe_lanes(&sources, &lead_ids),
        leadwatch_api::caller::DEV_CLAIMS_HEADER,
        leadwatch_api::caller::DEV_CLAIMS_HEADER,
        r#"{"sub":"dev-kim","email":"kim@seller.io","cognito:groups":"[team:ae-na role:manager]"}"#,
    ));
    say(&web_line(&base));
    init_logging();
    if endpoint.is_some() {
        // The rollup function's part, which Lambda's event source mapping feeds in AWS:
        // the dashboard's figures follow the leads within a second.
        tokio::spawn(leadwatch_rollup::follow_local_stream(
            config.clone(),
            store.clone(),
            chrono::Utc::now,
            std::time::Duration::from_millis(500),
        ));
    }
    let web = dev_web(store.clone(), Arc::clone(&contract));
    let exports = dev_exports(&config, &store, endpoint.is_some()).await?;
    let mut api = Api::new(store, contract)
        .with_ingest(sources, lead_ids)
        .with_web(web);
    if let Some(exports) = exports {
        api = api.with_exports(exports);
    }
    run(listener, api, ctrl_c())
        .await
        .map_err(|e| format!("the server stopped: {e}"))
}

/// The signed sources' secrets and the lead id key, from the environment as the ingest
/// function reads them (`LEADWATCH_SOURCE_SECRETS` or `LEADWATCH_SOURCE_SECRETS_PREFIX`,
/// `LEADWATCH_LEAD_ID_KEY` or `LEADWATCH_LEAD_ID_KEY_PARAMETER`).
/// Exports for the dev server: into `LEADWATCH_EXPORT_BUCKET`, else (on the local
/// stack, which gets the bucket created) `leadwatch-exports`; jobs run in this process,
/// by the same code as the export function. None against AWS without a bucket named.
pub async fn dev_exports(
    config: &aws_config::SdkConfig,
    store: &Store,
    local: bool,
) -> Result<Option<leadwatch_api::export::Exports>, String> {
    use leadwatch_adapters::exports::ExportBucket;
    let bucket = match ExportBucket::from_env(config) {
        Some(bucket) => bucket,
        None if local => ExportBucket::new(
            leadwatch_adapters::aws::s3_client(config),
            "leadwatch-exports",
        ),
        None => return Ok(None),
    };
    if local {
        bucket
            .create_if_missing()
            .await
            .map_err(|e| format!("cannot create export bucket {}: {e}", bucket.name()))?;
    }
    Ok(Some(leadwatch_api::export::Exports {
        runner: leadwatch_api::export::ExportRunner::InProcess {
            store: store.clone(),
            bucket: bucket.clone(),
        },
        bucket,
    }))
}

pub async fn ingest_secrets(
    config: &aws_config::SdkConfig,
    contract: &Contract,
) -> Result<(SourceSecrets, LeadIds), String> {
    use leadwatch_adapters::{config as settings, secrets};
    let names = contract.spec.intake.sources.keys().map(String::as_str);
    let sources =
        secrets::source_secrets(config, names, settings::source_secrets_setting_from_env())
            .await
            .map_err(|e| e.to_string())?;
    let lead_ids = secrets::lead_ids(config, settings::lead_id_key_source_from_env())
        .await
        .map_err(|e| e.to_string())?;
    Ok((sources, lead_ids))
}

/// What the two ingest lanes accept on this server.
pub fn describe_lanes(sources: &SourceSecrets, lead_ids: &LeadIds) -> String {
    let signed: Vec<&str> = sources.sources().collect();
    format!(
        "Public forms post to /leads unsigned; signed sources: {}.{}",
        if signed.is_empty() {
            "none (set LEADWATCH_SOURCE_SECRETS='{\"crm\": \"secret\"}')".to_string()
        } else {
            signed.join(", ")
        },
        if lead_ids.is_development() {
            "\nLead ids use the public development key (set LEADWATCH_LEAD_ID_KEY)."
        } else {
            ""
        }
    )
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
        out.push_str(&format!("  {method:<8}{base}{path:<22} {function:?}\n"));
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

/// One line per request, as the Lambdas' platform logs give one per invocation.
async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    tracing::info!(
        "{method} {} -> {} in {} ms",
        clip(&path, 200),
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    response
}
