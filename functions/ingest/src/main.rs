//! Lambda entry point of the ingest function: build the route set's state once per cold
//! start, then serve `leadwatch_api::ingest` through the Runtime API.

use leadwatch_adapters::aws::{function_config, TimeBudget};
use leadwatch_adapters::{config, secrets, store::Store};
use leadwatch_api::entry::run_lambda;
use leadwatch_api::function_router;
use leadwatch_api::ingest::{routes, IngestApp};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let contract = config::contract_from_env()?;
    let aws = function_config("ingest", TimeBudget::HTTP_API).await;
    // A secret that cannot be read ends the cold start (one error line that names the
    // parameter), rather than serving webhooks unchecked.
    let source = config::webhook_secret_source_from_env();
    let webhook_secret = secrets::webhook_secret_from(&aws, source).await;
    let app = IngestApp {
        store: Store::from_config(&aws),
        contract,
        webhook_secret: webhook_secret?,
    };
    // The entry point owns the clock: it stamps a request only when API Gateway did not.
    run_lambda(function_router(routes(app)), chrono::Utc::now).await
}
