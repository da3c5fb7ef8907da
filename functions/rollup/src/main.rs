//! Lambda entry point of the rollup function, fed by the table's DynamoDB stream
//! (an event source mapping in `infra/template.yaml`). `now`, which only stamps the
//! markers' expiry, is the wall clock.
//!
//! Settings: `LEADWATCH_TABLE`.

use chrono::Utc;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

use leadwatch_adapters::aws::{function_config, TimeBudget};
use leadwatch_adapters::store::Store;
use leadwatch_adapters::warm;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = function_config("rollup", TimeBudget::ROLLUP).await;
    let store = std::sync::Arc::new(Store::from_config(&config));
    // The first batch's connection, opened now. A marker's partition: all this role
    // may read (infra/template.yaml).
    warm::dynamodb(&store, "COUNTED#warm-up").await;
    run(service_fn(move |event: LambdaEvent<Value>| {
        let store = std::sync::Arc::clone(&store);
        async move {
            let summary = leadwatch_rollup::handle(&store, &event.payload, Utc::now()).await?;
            Ok::<_, Error>(summary.to_json())
        }
    }))
    .await
}
