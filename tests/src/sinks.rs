//! The notifier's side of the local stack for tests: a loopback HTTP server posing as
//! Slack and Teams webhooks, a file standing in for SES, the alert queue subscribed to
//! the topic as the template subscribes it (raw delivery, no filter), and a driver
//! that drains the queue into the notifier's handler the way Lambda's SQS event
//! source would: batches of ten, several at once, failed messages back on the queue,
//! and, on request, the same batch handed to two notifiers at once.
//!
//! Test-harness code: it panics, saying what failed, rather than returning errors.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::Value;

use leadwatch_adapters::notify::{Channels, EmailTransport, FileSink, WebhookClient, WebhookUrls};
use leadwatch_adapters::store::Store;
use leadwatch_core::Contract;
use leadwatch_notifier::{handle, BatchSummary, NotifierApp, LEASE_SECONDS};

use crate::unique_name;

/// One POST the webhook server received.
#[derive(Debug, Clone)]
pub struct Post {
    pub channel: String,
    pub alert_id: String,
    pub body: Value,
}

#[derive(Default)]
struct Hooks {
    posts: Mutex<Vec<Post>>,
    /// Channels that answer 500 for now.
    failing: Mutex<BTreeSet<String>>,
}

/// Slack and Teams, as far as a webhook sender can tell: `POST /hooks/<channel>`
/// answers 200 `ok` and remembers the post.
pub struct WebhookServer {
    pub base: String,
    hooks: Arc<Hooks>,
}

impl WebhookServer {
    pub async fn start() -> WebhookServer {
        let hooks = Arc::new(Hooks::default());
        let app = Router::new()
            .route("/hooks/{channel}", post(receive))
            .with_state(Arc::clone(&hooks));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the webhook server");
        let addr = listener.local_addr().expect("its address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookServer {
            base: format!("http://{addr}"),
            hooks,
        }
    }

    /// The URL channel `name` posts to.
    pub fn url(&self, channel: &str) -> String {
        format!("{}/hooks/{channel}", self.base)
    }

    pub fn posts(&self) -> Vec<Post> {
        self.hooks
            .posts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Make `channel` answer 500 (`true`) or 200 again.
    pub fn fail(&self, channel: &str, failing: bool) {
        let mut set = self
            .hooks
            .failing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if failing {
            set.insert(channel.to_string());
        } else {
            set.remove(channel);
        }
    }
}

async fn receive(
    State(hooks): State<Arc<Hooks>>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, &'static str) {
    if hooks
        .failing
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .contains(&channel)
    {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    }
    let alert_id = headers
        .get("x-leadwatch-alert-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    hooks
        .posts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Post {
            channel,
            alert_id,
            body,
        });
    (StatusCode::OK, "ok")
}

/// A file for emails, fresh for each test.
pub fn email_sink() -> FileSink {
    let path = std::env::temp_dir().join(format!("{}.jsonl", unique_name("leadwatch-email")));
    let _ = std::fs::remove_file(&path);
    FileSink::new(path)
}

/// The notifier on `store` and `contract`, its emails into `email`, every webhook
/// channel of the contract posting to `hooks`. No queue for backoff: the driver puts
/// failed messages back itself.
pub fn notifier(
    store: &Store,
    contract: &Arc<Contract>,
    email: &FileSink,
    hooks: &WebhookServer,
) -> NotifierApp {
    let mut urls = WebhookUrls::new(None);
    for (name, channel) in &contract.spec.delivery.channels {
        if channel.webhook_parameter().is_some() {
            urls = urls.with_override(name, hooks.url(name));
        }
    }
    NotifierApp {
        store: store.clone(),
        contract: Arc::clone(contract),
        channels: Channels {
            email: EmailTransport::File(email.clone()),
            webhooks: WebhookClient::new(urls).expect("the webhook client starts"),
        },
        retries: None,
        lease: chrono::Duration::seconds(LEASE_SECONDS),
    }
}

/// How many times each (alert id, channel) reached a person: emails in the file,
/// posts at the webhook server.
pub fn deliveries(email: &FileSink, hooks: &WebhookServer) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for line in email.read().expect("the email sink reads") {
        let key = (
            line["alert_id"].as_str().unwrap_or("?").to_string(),
            format!(
                "{}#{}",
                line["channel"].as_str().unwrap_or("?"),
                line["recipient"].as_str().unwrap_or("?")
            ),
        );
        *counts.entry(key).or_insert(0) += 1;
    }
    for post in hooks.posts() {
        *counts.entry((post.alert_id, post.channel)).or_insert(0) += 1;
    }
    counts
}

/// An SQS queue subscribed to an alert topic as the template subscribes the notifier's:
/// raw message delivery, no filter policy.
pub struct AlertQueue {
    pub url: String,
    pub arn: String,
    pub sqs: aws_sdk_sqs::Client,
}

impl AlertQueue {
    /// A new queue; `redrive` sends a message to `(dead-letter queue ARN, max receives)`.
    pub async fn create(
        config: &aws_config::SdkConfig,
        redrive: Option<(&str, u32)>,
    ) -> AlertQueue {
        let sqs = aws_sdk_sqs::Client::new(config);
        let mut request = sqs.create_queue().queue_name(unique_name("notify"));
        if let Some((dlq, max)) = redrive {
            request = request.attributes(
                QueueAttributeName::RedrivePolicy,
                serde_json::json!({"deadLetterTargetArn": dlq, "maxReceiveCount": max}).to_string(),
            );
        }
        let url = request
            .send()
            .await
            .expect("create queue")
            .queue_url
            .expect("queue url");
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .expect("queue arn");
        AlertQueue { url, arn, sqs }
    }

    pub async fn subscribe_to(&self, config: &aws_config::SdkConfig, topic_arn: &str) {
        aws_sdk_sns::Client::new(config)
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(&self.arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .expect("subscribe");
    }

    /// Up to ten messages, as Lambda's SQS event source hands them to the function,
    /// hidden from other receivers for `hide` seconds.
    pub async fn receive(&self, hide: i32) -> Vec<SqsMessage> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .visibility_timeout(hide)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .expect("receive");
        out.messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let mut message = SqsMessage::default();
                message.message_id = m.message_id;
                message.receipt_handle = m.receipt_handle;
                message.body = m.body;
                message.attributes = m
                    .attributes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_string(), v))
                    .collect();
                message.event_source = Some("aws:sqs".into());
                message.event_source_arn = Some(self.arn.clone());
                message
            })
            .collect()
    }

    /// What Lambda does with a batch's response: delete what succeeded, and let what
    /// failed come back (here after `retry_after` seconds).
    pub async fn settle(
        &self,
        batch: &[SqsMessage],
        response: &SqsBatchResponse,
        retry_after: i32,
    ) {
        let failed: BTreeSet<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        for m in batch {
            let Some(handle) = &m.receipt_handle else {
                continue;
            };
            let id = m.message_id.as_deref().unwrap_or("");
            if failed.contains(id) {
                let _ = self
                    .sqs
                    .change_message_visibility()
                    .queue_url(&self.url)
                    .receipt_handle(handle)
                    .visibility_timeout(retry_after)
                    .send()
                    .await;
            } else {
                // A duplicate invocation may have deleted it already: that is fine.
                let _ = self
                    .sqs
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
    }

    /// Messages waiting or in flight.
    pub async fn depth(&self) -> usize {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .unwrap_or_default();
        attributes
            .values()
            .map(|v| v.parse::<usize>().unwrap_or(0))
            .sum()
    }
}

/// An SQS event of `messages`, as Lambda invokes the function with.
pub fn sqs_event(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages;
    event
}

/// What a drain saw.
#[derive(Debug, Default, Clone)]
pub struct Drained {
    /// For each alert id, the SQS messages that carried it: more than one is a
    /// duplicate from SNS or a republish by the watchdog.
    pub copies: BTreeMap<String, BTreeSet<String>>,
    /// The notifier's summaries added up (`messages`: handed to it, duplicates and
    /// retries included).
    pub summary: BatchSummary,
}

/// Drains `queue` into `app` with `workers` concurrent receivers until the queue is
/// empty, or panics after `limit`. With `duplicates`, every third batch goes to two
/// notifiers at once, as when SQS delivers a message twice.
pub async fn drain(
    app: &NotifierApp,
    queue: &Arc<AlertQueue>,
    workers: usize,
    duplicates: bool,
    limit: Duration,
) -> Drained {
    let started = Instant::now();
    let drained = Arc::new(Mutex::new(Drained::default()));
    let batches = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let app = app.clone();
        let queue = Arc::clone(queue);
        let drained = Arc::clone(&drained);
        let batches = Arc::clone(&batches);
        tasks.spawn(async move {
            loop {
                assert!(
                    started.elapsed() < limit,
                    "the queue did not drain within {limit:?}"
                );
                let batch = queue.receive(30).await;
                if batch.is_empty() {
                    if queue.depth().await == 0 {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                let twice = duplicates && batches.fetch_add(1, Ordering::Relaxed).is_multiple_of(3);
                let now = chrono::Utc::now();
                let (response, summary) = if twice {
                    let (a, b) = tokio::join!(
                        handle(&app, sqs_event(batch.clone()), now),
                        handle(&app, sqs_event(batch.clone()), now)
                    );
                    let mut summary = a.1.clone();
                    summary.add(&b.1);
                    // A message either copy failed comes back.
                    let mut response = a.0;
                    response.batch_item_failures.extend(b.0.batch_item_failures);
                    (response, summary)
                } else {
                    handle(&app, sqs_event(batch.clone()), now).await
                };
                {
                    let mut d = drained.lock().unwrap_or_else(PoisonError::into_inner);
                    d.summary.add(&summary);
                    for m in &batch {
                        let id = m
                            .body
                            .as_deref()
                            .and_then(|b| serde_json::from_str::<Value>(b).ok())
                            .and_then(|v| v["alert_id"].as_str().map(str::to_string))
                            .unwrap_or_default();
                        d.copies
                            .entry(id)
                            .or_default()
                            .insert(m.message_id.clone().unwrap_or_default());
                    }
                }
                queue.settle(&batch, &response, 1).await;
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    let d = drained
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    d
}
