//! Lambda entry point of the notifier: an SQS batch of alert documents in, a partial
//! batch response out (`ReportBatchItemFailures`), so that only the messages that
//! failed are retried. `now`, which measures delivery leases, is the wall clock.
//!
//! Settings: `LEADWATCH_TABLE`, `LEADWATCH_CONTRACT_FILE` (the routes and channels),
//! `LEADWATCH_NOTIFY_QUEUE_URL` (for retry backoff), and for local runs
//! `LEADWATCH_EMAIL_FILE` (append emails to a file instead of sending them with SES)
//! and `LEADWATCH_WEBHOOK_URL_<CHANNEL>` (a webhook URL instead of its SSM parameter).

use aws_lambda_events::sqs::SqsEvent;
use chrono::{Duration, Utc};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

use leadwatch_adapters::aws::{function_config, sesv2_client, sqs_client, TimeBudget};
use leadwatch_adapters::notify::{
    Channels, EmailTransport, FileSink, SesEmail, WebhookClient, WebhookUrls,
};
use leadwatch_adapters::secrets::ParameterStore;
use leadwatch_adapters::store::Store;
use leadwatch_adapters::warm;
use leadwatch_notifier::{handle, NotifierApp, RetryQueue, LEASE_SECONDS};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = function_config("notifier", TimeBudget::NOTIFIER).await;
    let contract = leadwatch_adapters::config::contract_from_env()?;
    let email = match std::env::var("LEADWATCH_EMAIL_FILE") {
        Ok(path) if !path.is_empty() => EmailTransport::File(FileSink::new(path)),
        _ => EmailTransport::Ses(SesEmail::new(
            sesv2_client(&config),
            contract
                .spec
                .delivery
                .email_from
                .clone()
                .unwrap_or_default(),
        )),
    };
    let urls =
        WebhookUrls::new(Some(ParameterStore::from_config(&config))).with_env_overrides(&contract);
    let retries = std::env::var("LEADWATCH_NOTIFY_QUEUE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|url| RetryQueue {
            client: sqs_client(&config),
            url,
        });
    let app = NotifierApp {
        store: Store::from_config(&config),
        contract,
        channels: Channels {
            email,
            webhooks: WebhookClient::new(urls)?,
        },
        retries,
        lease: Duration::seconds(LEASE_SECONDS),
    };
    // The first request's connection (a delivery claim), opened now rather than in the
    // first invocation; the role may read delivery records only.
    warm::dynamodb(&app.store, "DELIVERY#WARM-UP").await;
    let app = std::sync::Arc::new(app);
    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let app = std::sync::Arc::clone(&app);
        async move {
            let (response, _) = handle(&app, event.payload, Utc::now()).await;
            Ok::<_, Error>(response)
        }
    }))
    .await
}
