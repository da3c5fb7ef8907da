//! Lambda entry point of the ingest function: build the route set's state once per cold
//! start, then serve `leadwatch_api::ingest` through the Runtime API.

use leadwatch_adapters::{config, secrets, store::Store};
use leadwatch_api::entry::run_lambda;
use leadwatch_api::function_router;
use leadwatch_api::ingest::{routes, IngestApp};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let contract = config::contract_from_env()?;
    // Both are network set-up on the cold-start path; overlapping them hides the SSM
    // round trip. A secret that cannot be read ends the cold start (one error line that
    // names the parameter), rather than serving webhooks unchecked.
    let source = config::webhook_secret_source_from_env();
    let (store, webhook_secret) = tokio::join!(Store::from_env(), secrets::webhook_secret(source));
    let app = IngestApp {
        store,
        contract,
        webhook_secret: webhook_secret?,
    };
    // The entry point owns the clock: it stamps a request only when API Gateway did not.
    run_lambda(function_router(routes(app)), chrono::Utc::now).await
}
