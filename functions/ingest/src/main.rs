//! Lambda entry point of the ingest function: build the route set's state once per cold
//! start (the contract, the signed sources' secrets, the lead id key), then serve
//! `leadwatch_api::ingest` through the Runtime API.

use leadwatch_adapters::aws::{function_config, TimeBudget};
use leadwatch_adapters::{config, secrets, store::Store, warm};
use leadwatch_api::entry::run_lambda;
use leadwatch_api::function_router;
use leadwatch_api::ingest::{routes, IngestApp};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let contract = config::contract_from_env()?;
    let aws = function_config("ingest", TimeBudget::HTTP_API).await;
    // A secret that cannot be read ends the cold start (one error line that names the
    // parameter), rather than serving with a source that can never be verified.
    let source_names = contract.spec.intake.sources.keys().map(String::as_str);
    let setting = config::source_secrets_setting_from_env();
    let sources = secrets::source_secrets(&aws, source_names, setting).await?;
    let lead_ids = secrets::lead_ids(&aws, config::lead_id_key_source_from_env()).await?;
    let app = IngestApp {
        store: Store::from_config(&aws),
        contract,
        sources,
        lead_ids,
    };
    // The first request's connection, opened now rather than in the first invocation.
    warm::dynamodb(&app.store, warm::PARTITION_KEY).await;
    // The entry point owns the clock: it stamps a request only when API Gateway did not.
    run_lambda(function_router(routes(app)), chrono::Utc::now).await
}
