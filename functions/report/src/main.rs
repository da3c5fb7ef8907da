//! Lambda entry point of the report function: build the app once, then serve.

use lambda_http::{run, service_fn, Error, Request};
use leadwatch_adapters::store::Store;
use leadwatch_api::http::request_time;
use leadwatch_report::{handle, ReportApp};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let app = ReportApp {
        store: Store::from_env().await,
        contract: leadwatch_adapters::config::contract_from_env()?,
    };
    let app = &app;
    run(service_fn(move |req: Request| async move {
        // Entry point: the only place that may fall back to the wall clock.
        let now = request_time(&req).unwrap_or_else(chrono::Utc::now);
        Ok::<_, Error>(handle(app, req, now).await)
    }))
    .await
}
