//! Lambda entry point of the ingest function: build the app once, then serve.

use lambda_http::{run, service_fn, Error, Request};
use leadwatch_adapters::secrets;
use leadwatch_adapters::store::Store;
use leadwatch_api::http::request_time;
use leadwatch_ingest::{handle, IngestApp};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let contract = leadwatch_adapters::config::contract_from_env()?;
    // Both are network set-up on the cold-start path; overlapping them hides the SSM
    // round trip. A secret that cannot be read ends the cold start (one error line that
    // names the parameter), rather than serving webhooks unchecked.
    let source = leadwatch_adapters::config::webhook_secret_source_from_env();
    let (store, webhook_secret) = tokio::join!(Store::from_env(), secrets::webhook_secret(source));
    let app = IngestApp {
        store,
        contract,
        webhook_secret: webhook_secret?,
    };
    let app = &app;
    run(service_fn(move |req: Request| async move {
        // Entry point: the only place that may fall back to the wall clock.
        let now = request_time(&req).unwrap_or_else(chrono::Utc::now);
        Ok::<_, Error>(handle(app, req, now).await)
    }))
    .await
}
