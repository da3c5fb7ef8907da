//! Lambda entry point of the report function: build the route set's state once per cold
//! start, then serve `leadwatch_api::report` through the Runtime API.

use leadwatch_adapters::aws::{function_config, TimeBudget};
use leadwatch_adapters::exports::{ExportBucket, ExportQueue};
use leadwatch_adapters::{config, store::Store, warm};
use leadwatch_api::entry::run_lambda;
use leadwatch_api::export::{ExportRunner, Exports};
use leadwatch_api::function_router;
use leadwatch_api::report::{routes, ReportApp};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let sdk = function_config("report", TimeBudget::HTTP_API).await;
    let store = Store::from_config(&sdk);
    // Exports run in the export function, handed over by its queue; without a queue
    // (a local run of this binary) they run in this process.
    let exports = ExportBucket::from_env(&sdk).map(|bucket| Exports {
        runner: match ExportQueue::from_env(&sdk) {
            Some(queue) => ExportRunner::Queue(queue),
            None => ExportRunner::InProcess {
                store: store.clone(),
                bucket: bucket.clone(),
            },
        },
        bucket,
    });
    let app = ReportApp {
        store,
        contract: config::contract_from_env()?,
        exports,
    };
    // The first request's connection, opened now rather than in the first invocation.
    warm::dynamodb(&app.store, warm::PARTITION_KEY).await;
    // The entry point owns the clock: it stamps a request only when API Gateway did not.
    run_lambda(function_router(routes(app)), chrono::Utc::now).await
}
