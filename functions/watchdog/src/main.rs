//! Lambda entry point of the watchdog: an EventBridge scheduled event in, a run
//! summary out. `now` is the event's `time`, so a redelivered event replays the same run.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

use leadwatch_adapters::alerts::AlertPublisher;
use leadwatch_adapters::aws::{function_config, TimeBudget};
use leadwatch_adapters::store::Store;
use leadwatch_watchdog::WatchdogApp;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let topic = std::env::var("LEADWATCH_ALERTS_TOPIC_ARN")
        .map_err(|_| "LEADWATCH_ALERTS_TOPIC_ARN is not set")?;
    // Claims, publishes and commits must fit in the run: the watchdog's own time budget.
    let config = function_config("watchdog", TimeBudget::WATCHDOG).await;
    let app = WatchdogApp {
        store: Store::from_config(&config),
        alerts: AlertPublisher::from_config(&config, topic),
        contract: leadwatch_adapters::config::contract_from_env()?,
    };
    let app = Arc::new(app);
    run(service_fn(move |event: LambdaEvent<Value>| {
        let app = Arc::clone(&app);
        async move {
            let now = event
                .payload
                .get("time")
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
            let summary = leadwatch_watchdog::run(&app, now).await;
            Ok::<_, Error>(serde_json::to_value(summary)?)
        }
    }))
    .await
}
