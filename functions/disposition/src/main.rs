//! Lambda entry point of the disposition function: build the route set's state once per
//! cold start, then serve `leadwatch_api::disposition` through the Runtime API.

use leadwatch_adapters::aws::{function_config, TimeBudget};
use leadwatch_adapters::{config, store::Store, warm};
use leadwatch_api::disposition::{routes, DispositionApp};
use leadwatch_api::entry::run_lambda;
use leadwatch_api::function_router;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = DispositionApp {
        store: Store::from_config(&function_config("disposition", TimeBudget::HTTP_API).await),
        contract: config::contract_from_env()?,
    };
    // The first request's connection, opened now rather than in the first invocation.
    warm::dynamodb(&app.store, warm::PARTITION_KEY).await;
    // The entry point owns the clock: it stamps a request only when API Gateway did not.
    run_lambda(function_router(routes(app)), chrono::Utc::now).await
}
