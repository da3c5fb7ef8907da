//! Lambda entry point of the watchdog: an EventBridge scheduled event in, a run summary
//! out. The event's `time` decides what is due, so a redelivered event replays the same
//! run; this `main` owns the wall clock, which measures claim leases and the
//! invocation's deadline. Anything but a scheduled event with a `time` near the clock
//! is refused before anything is read, and a degraded run answers with an error after
//! doing what it could, so that Lambda's error metrics count it.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

use leadwatch_adapters::alerts::AlertPublisher;
use leadwatch_adapters::aws::{function_config, TimeBudget};
use leadwatch_adapters::store::Store;
use leadwatch_adapters::warm;
use leadwatch_watchdog::event::{check_skew, max_skew_from, schedule_time, MAX_EVENT_SKEW_ENV};
use leadwatch_watchdog::{Tick, WallClock, WatchdogApp};

/// The template's watchdog timeout, for an invocation that carries no deadline.
const DEFAULT_RUN_SECONDS: i64 = 60;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let topic = std::env::var("LEADWATCH_ALERTS_TOPIC_ARN")
        .map_err(|_| "LEADWATCH_ALERTS_TOPIC_ARN is not set")?;
    let max_skew = max_skew_from(std::env::var(MAX_EVENT_SKEW_ENV).ok().as_deref())?;
    // Claims, publishes and commits must fit in the run: the watchdog's own time budget.
    let config = function_config("watchdog", TimeBudget::WATCHDOG).await;
    // With the web app's URL and secret set, every alert links to the lead's page. A link
    // is a convenience and the alert is the promise: when the links cannot be set up (the
    // secret's parameter is missing or unreadable), alerts go out without them, and the
    // error is logged at every cold start rather than stopping every alert.
    let lead_links = leadwatch_adapters::secrets::lead_links_from(&config)
        .await
        .unwrap_or_else(|problem| {
            tracing::error!(%problem, "alerts go out without lead-page links");
            None
        });
    let app = WatchdogApp {
        store: Store::from_config(&config),
        alerts: AlertPublisher::from_config(&config, topic).with_lead_links(lead_links),
        contract: leadwatch_adapters::config::contract_from_env()?,
    };
    // The first request's connection, opened now rather than in the first invocation.
    warm::dynamodb(&app.store, warm::PARTITION_KEY).await;
    let app = Arc::new(app);
    let clock: WallClock = Arc::new(Utc::now);
    run(service_fn(move |event: LambdaEvent<Value>| {
        let app = Arc::clone(&app);
        let clock = Arc::clone(&clock);
        async move {
            let wall = clock();
            let at = schedule_time(&event.payload)
                .and_then(|at| check_skew(at, wall, max_skew).map(|()| at))
                .inspect_err(|refused| tracing::error!(error = %refused, "event refused"))?;
            let deadline = i64::try_from(event.context.deadline)
                .ok()
                .and_then(DateTime::from_timestamp_millis)
                .unwrap_or(wall + Duration::seconds(DEFAULT_RUN_SECONDS));
            let summary = leadwatch_watchdog::run(&app, Tick::new(at, clock, deadline)).await;
            if summary.degraded() {
                let message = format!(
                    "watchdog run degraded: {}; {}",
                    summary.problems.join("; "),
                    serde_json::to_string(&summary)?
                );
                return Err(Error::from(message));
            }
            Ok::<_, Error>(serde_json::to_value(summary)?)
        }
    }))
    .await
}
