//! The notifier: alerts from the alert queue (an SQS queue subscribed to the alert
//! topic, raw delivery) to the people and channels the contract's `[delivery]` routes
//! name: email through SES, Slack and Teams webhooks.
//!
//! SNS delivers at least once, and the watchdog may publish an alert again (a run that
//! died after publishing, a retried publish whose first response was lost). The
//! notifier makes that once per person: for each (alert id, channel, recipient) it
//! **claims** a delivery record with a short lease, **sends**, then **records** the
//! delivery (`leadwatch_adapters::store::DeliveryClaim`). A copy that finds the record
//! delivered is done; one that finds a live lease is retried later, when it will find
//! the record delivered, or the lease lapsed because its holder died mid-send (then it
//! sends: at-least-once overall).
//!
//! A message fails (it is reported in `batchItemFailures`, so only it is retried) when
//! any of its deliveries failed or is still in another notifier's hands. Its deliveries
//! that went out are recorded and not repeated by the retry. Before reporting the
//! failure the notifier pushes the message's next attempt back by an exponential
//! backoff (`ChangeMessageVisibility`); after the queue's `maxReceiveCount` attempts it
//! goes to the dead-letter queue, whose depth alarms. A message that is not an alert
//! document fails the same way and ends in the dead-letter queue for a person to read.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use tokio::task::JoinSet;

use leadwatch_adapters::emf::Datum;
use leadwatch_adapters::notify::Channels;
use leadwatch_adapters::store::{DeliveryClaim, Store};
use leadwatch_core::contract::delivery::ChannelKind;
use leadwatch_core::notify::{render, targets, AlertDocument, Rendered};
use leadwatch_core::Contract;

/// How long a claimed delivery is this notifier's alone. Longer than the function's
/// 30 s timeout, so a live notifier never loses a claim mid-send; short enough that a
/// crashed one holds nobody up for long.
pub const LEASE_SECONDS: i64 = 60;

/// The first retry's delay; each further one doubles, up to [`MAX_RETRY_DELAY_SECONDS`].
pub const FIRST_RETRY_DELAY_SECONDS: i64 = 60;
pub const MAX_RETRY_DELAY_SECONDS: i64 = 900;

#[derive(Clone)]
pub struct NotifierApp {
    pub store: Store,
    pub contract: Arc<Contract>,
    pub channels: Channels,
    /// The queue, to push a failed message's next attempt back; without it the queue's
    /// own visibility timeout decides.
    pub retries: Option<RetryQueue>,
    pub lease: Duration,
}

/// The alert queue, for `ChangeMessageVisibility`.
#[derive(Clone)]
pub struct RetryQueue {
    pub client: aws_sdk_sqs::Client,
    pub url: String,
}

/// What one invocation did, logged and returned beside the batch response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchSummary {
    pub messages: usize,
    /// Sends that went out in this invocation.
    pub delivered: usize,
    /// Deliveries found already done: duplicates absorbed.
    pub duplicates: usize,
    /// Deliveries another notifier held: their messages are retried.
    pub in_flight: usize,
    /// Sends that failed: their messages are retried.
    pub failed: usize,
    /// Messages no route takes.
    pub unrouted: usize,
    /// Messages that are not alert documents (they end in the dead-letter queue).
    pub invalid: usize,
    /// Messages reported as failed.
    pub retried: usize,
}

impl BatchSummary {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &BatchSummary) {
        self.messages += other.messages;
        self.delivered += other.delivered;
        self.duplicates += other.duplicates;
        self.in_flight += other.in_flight;
        self.failed += other.failed;
        self.unrouted += other.unrouted;
        self.invalid += other.invalid;
        self.retried += other.retried;
    }
}

/// Handle one SQS batch at `now` (the wall clock: leases are measured on it).
pub async fn handle(
    app: &NotifierApp,
    event: SqsEvent,
    now: DateTime<Utc>,
) -> (SqsBatchResponse, BatchSummary) {
    let token = invocation_token();
    let mut tasks = JoinSet::new();
    for message in event.records {
        let app = app.clone();
        let token = token.clone();
        tasks.spawn(async move {
            let mut summary = deliver_message(&app, &message, &token, now).await;
            summary.messages = 1;
            let failed = summary.retried > 0;
            if failed {
                push_back(&app, &message).await;
            }
            (message.message_id.unwrap_or_default(), failed, summary)
        });
    }
    let mut response = SqsBatchResponse::default();
    let mut summary = BatchSummary::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((id, failed, one)) => {
                summary.add(&one);
                if failed {
                    // An empty id makes Lambda retry the whole batch, which is right for
                    // a record it cannot name.
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    response.batch_item_failures.push(failure);
                }
            }
            // A panicked task: its message is unknown here, so the whole batch is retried.
            Err(e) => {
                tracing::error!(error = %e, "a message's task failed");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = String::new();
                response.batch_item_failures.push(failure);
                summary.retried += 1;
            }
        }
    }
    emit(app, now, &summary);
    tracing::info!(summary = ?summary, "notifier batch");
    (response, summary)
}

async fn deliver_message(
    app: &NotifierApp,
    message: &SqsMessage,
    token: &str,
    now: DateTime<Utc>,
) -> BatchSummary {
    let mut summary = BatchSummary::default();
    let id = message.message_id.as_deref().unwrap_or("");
    let doc = match AlertDocument::parse(message.body.as_deref().unwrap_or("")) {
        Ok(doc) => doc,
        Err(e) => {
            tracing::error!(message_id = id, error = %e, "not an alert document; it will end in the dead-letter queue");
            summary.invalid = 1;
            summary.retried = 1;
            return summary;
        }
    };
    let targets = targets(&app.contract, &doc);
    if targets.is_empty() {
        tracing::info!(alert_id = %doc.alert_id, team = doc.team(), audience = %doc.audience, "no delivery route takes this alert");
        summary.unrouted = 1;
        return summary;
    }
    let links_base = app.contract.spec.delivery.links_base_url.as_deref();
    let mut rendered: BTreeMap<ChannelKind, Rendered> = BTreeMap::new();
    for target in &targets {
        let key = target.key();
        let claim = app
            .store
            .claim_delivery(&doc.alert_id, &key, token, now, app.lease)
            .await;
        match claim {
            Ok(DeliveryClaim::Claimed) => {}
            Ok(DeliveryClaim::Delivered) => {
                summary.duplicates += 1;
                continue;
            }
            Ok(DeliveryClaim::InFlight { until }) => {
                tracing::info!(alert_id = %doc.alert_id, delivery = %key, until = %until, "another notifier holds this delivery; retrying later");
                summary.in_flight += 1;
                continue;
            }
            Err(e) => {
                tracing::error!(alert_id = %doc.alert_id, delivery = %key, error = %e, "delivery claim failed");
                summary.failed += 1;
                continue;
            }
        }
        let body = rendered
            .entry(target.kind)
            .or_insert_with(|| render(target.kind, &doc, links_base));
        match app.channels.send(&doc.alert_id, target, body).await {
            Ok(()) => {
                summary.delivered += 1;
                match app
                    .store
                    .finish_delivery(&doc.alert_id, &key, token, now)
                    .await
                {
                    Ok(true) => {}
                    // Sent, but not recorded: when the lease lapses a retry may send it
                    // again. The one window where a person can get an alert twice.
                    Ok(false) => {
                        tracing::warn!(alert_id = %doc.alert_id, delivery = %key, "sent after the lease lapsed")
                    }
                    Err(e) => {
                        tracing::error!(alert_id = %doc.alert_id, delivery = %key, error = %e, "sent, but recording the delivery failed")
                    }
                }
            }
            Err(e) => {
                summary.failed += 1;
                tracing::warn!(alert_id = %doc.alert_id, delivery = %key, retryable = e.retryable, error = %e, "send failed; the message will be retried");
                if let Err(e) = app.store.release_delivery(&doc.alert_id, &key, token).await {
                    tracing::error!(alert_id = %doc.alert_id, delivery = %key, error = %e, "release failed; the lease will lapse instead");
                }
            }
        }
    }
    if summary.failed + summary.in_flight > 0 {
        summary.retried = 1;
    }
    summary
}

/// The delay before the next attempt of a message received `receive_count` times:
/// 60 s, 120 s, 240 s, ... up to 15 minutes. The first is the lease, so a copy that
/// found another notifier's claim comes back after that claim has settled or lapsed.
pub fn retry_delay(receive_count: u32) -> Duration {
    let doublings = receive_count.saturating_sub(1).min(10);
    Duration::seconds((FIRST_RETRY_DELAY_SECONDS << doublings).min(MAX_RETRY_DELAY_SECONDS))
}

/// Delay the failed message's next attempt (best effort: without it the queue's
/// visibility timeout applies).
async fn push_back(app: &NotifierApp, message: &SqsMessage) {
    let (Some(queue), Some(handle)) = (&app.retries, &message.receipt_handle) else {
        return;
    };
    let count = message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    let delay = retry_delay(count)
        .num_seconds()
        .clamp(0, i64::from(i32::MAX)) as i32;
    if let Err(e) = queue
        .client
        .change_message_visibility()
        .queue_url(&queue.url)
        .receipt_handle(handle)
        .visibility_timeout(delay)
        .send()
        .await
    {
        tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "could not delay the retry; the queue's visibility timeout applies");
    }
}

fn emit(app: &NotifierApp, now: DateTime<Utc>, s: &BatchSummary) {
    let count = |name, value: usize| Datum {
        name,
        value: value as f64,
        unit: "Count",
    };
    app.store.metrics().emit(
        now,
        &[],
        &[&[]],
        &[
            count("NotificationsDelivered", s.delivered),
            count("NotificationsDuplicate", s.duplicates),
            count("NotificationsFailed", s.failed),
            count("NotificationsInvalid", s.invalid),
        ],
    );
}

/// A token that tells this invocation's claims from any other's. `RandomState` is
/// seeded randomly per process.
fn invocation_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::retry_delay;

    #[test]
    fn retries_back_off_from_the_lease_to_fifteen_minutes() {
        let delays: Vec<i64> = (1..=7).map(|n| retry_delay(n).num_seconds()).collect();
        assert_eq!(delays, vec![60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(retry_delay(0).num_seconds(), 60);
        assert_eq!(retry_delay(u32::MAX).num_seconds(), 900);
    }
}
