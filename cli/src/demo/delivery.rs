//! What each manager actually got: the notifier's side of the demo.
//!
//! As deployed, every alert goes from the topic through a raw, filter-less SQS queue to
//! the notifier, which sends it to the channels the contract's `[delivery]` routes
//! name. Here the queue is on the local stack, the Slack and Teams webhooks are a
//! loopback HTTP server posing as both (its URLs stored in the local SSM as the
//! SecureString parameters the contract names, as an operator would store the real
//! ones), and email goes into a file instead of SES. After the simulated days, the
//! queue is drained into the real notifier handler, and each person's messages are
//! printed as their channel would show them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use axum::extract::{Path, State};
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use serde_json::Value;

use leadwatch_adapters::notify::{Channels, EmailTransport, FileSink, WebhookClient, WebhookUrls};
use leadwatch_adapters::secrets::ParameterStore;
use leadwatch_adapters::store::Store;
use leadwatch_core::Contract;
use leadwatch_notifier::{handle, NotifierApp, LEASE_SECONDS};

use super::queues::subscribe;
use super::DemoResult;

/// The people of the demo and their channels under the shipped contract's routes.
const PEOPLE: [(&str, &[&str]); 7] = [
    ("ae-na manager", &["ae-na-slack", "ae-na-manager"]),
    ("ae-emea manager", &["ae-emea-slack", "ae-emea-manager"]),
    ("sdr-na manager", &["sdr-na-slack", "sdr-na-manager"]),
    (
        "sdr-na-enterprise manager",
        &["sdr-na-enterprise-slack", "sdr-na-enterprise-manager"],
    ),
    ("sdr-emea manager", &["sdr-emea-slack", "sdr-emea-manager"]),
    (
        "head of sales",
        &["sales-leadership-teams", "head-of-sales"],
    ),
    ("marketing", &["marketing"]),
];

/// Posts the local webhook server received, by channel.
type Posts = Arc<Mutex<BTreeMap<String, Vec<Value>>>>;

/// The notifier's queue, webhook server and sinks on the local stack.
pub(super) struct Delivery {
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
    app: NotifierApp,
    email: FileSink,
    posts: Posts,
}

impl Delivery {
    /// Subscribes the notifier's queue to `topic`, starts the webhook server and puts
    /// its URLs in SSM under the contract's parameter names.
    pub(super) async fn start(
        config: &aws_config::SdkConfig,
        store: &Store,
        contract: &Arc<Contract>,
        topic: &str,
        suffix: i64,
    ) -> DemoResult<Delivery> {
        let sns = aws_sdk_sns::Client::new(config);
        let sqs = aws_sdk_sqs::Client::new(config);
        let queue_url =
            subscribe(&sns, &sqs, topic, &format!("demo-{suffix}-notify"), None).await?;

        let posts: Posts = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("webhook sink: {e}"))?;
        let base = format!(
            "http://{}",
            listener
                .local_addr()
                .map_err(|e| format!("webhook sink: {e}"))?
        );
        let router = Router::new()
            .route("/hooks/{channel}", post(receive))
            .with_state(Arc::clone(&posts));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let ssm = aws_sdk_ssm::Client::new(config);
        for (name, channel) in &contract.spec.delivery.channels {
            let Some(parameter) = channel.webhook_parameter() else {
                continue;
            };
            ssm.put_parameter()
                .name(parameter)
                .value(format!("{base}/hooks/{name}"))
                .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                .overwrite(true)
                .send()
                .await
                .map_err(|e| format!("put parameter {parameter}: {e}"))?;
        }

        let email = FileSink::new(
            std::env::temp_dir().join(format!("leadwatch-demo-{suffix}-email.jsonl")),
        );
        let urls = WebhookUrls::new(Some(ParameterStore::from_config(config)));
        let app = NotifierApp {
            store: store.clone(),
            contract: Arc::clone(contract),
            channels: Channels {
                email: EmailTransport::File(email.clone()),
                webhooks: WebhookClient::new(urls)?,
            },
            retries: None,
            lease: chrono::Duration::seconds(LEASE_SECONDS),
        };
        Ok(Delivery {
            queue_url,
            sqs,
            app,
            email,
            posts,
        })
    }

    /// Hands every queued alert to the notifier, ten at a time as Lambda would, until
    /// the queue is empty; returns how many messages it handled.
    pub(super) async fn drain(&self) -> DemoResult<usize> {
        let mut handled = 0;
        for _ in 0..1000 {
            let batch = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .map_err(|e| format!("receive: {e}"))?
                .messages
                .unwrap_or_default();
            if batch.is_empty() {
                return Ok(handled);
            }
            let mut event = SqsEvent::default();
            for m in &batch {
                let mut message = SqsMessage::default();
                message.message_id = m.message_id.clone();
                message.receipt_handle = m.receipt_handle.clone();
                message.body = m.body.clone();
                event.records.push(message);
            }
            let (response, summary) = handle(&self.app, event, Utc::now()).await;
            if summary.failed + summary.invalid > 0 {
                return Err(format!("the notifier failed deliveries: {summary:?}"));
            }
            handled += summary.messages;
            for m in &batch {
                let failed = response
                    .batch_item_failures
                    .iter()
                    .any(|f| Some(&f.item_identifier) == m.message_id.as_ref());
                if let (false, Some(handle)) = (failed, m.receipt_handle.as_ref()) {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .map_err(|e| format!("delete: {e}"))?;
                }
            }
        }
        Err("the notifier's queue did not drain".into())
    }

    /// Each person's messages: the latest Slack or Teams message as the channel shows
    /// it, the latest email in full, and the rest one line each.
    pub(super) fn print(&self) -> DemoResult<()> {
        let emails = self.email.read()?;
        let posts = self
            .posts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for (person, channels) in PEOPLE {
            let mut lines = Vec::new();
            let mut counts = Vec::new();
            for channel in channels {
                let Some(kind) = self.app.contract.spec.delivery.channels.get(*channel) else {
                    continue;
                };
                match kind.kind() {
                    leadwatch_core::contract::delivery::ChannelKind::Email => {
                        let mine: Vec<&Value> =
                            emails.iter().filter(|e| e["channel"] == *channel).collect();
                        let to = mine
                            .first()
                            .and_then(|e| e["recipient"].as_str())
                            .unwrap_or("-");
                        counts.push(format!("{} emails to {to}", mine.len()));
                        if let Some((last, rest)) = mine.split_last() {
                            lines.push(format!(
                                "    email, latest: {}",
                                last["subject"].as_str().unwrap_or("")
                            ));
                            for l in last["text"].as_str().unwrap_or("").lines() {
                                lines.push(format!("      | {l}"));
                            }
                            for e in rest.iter().rev() {
                                lines.push(format!(
                                    "    email, earlier: {}",
                                    e["subject"].as_str().unwrap_or("")
                                ));
                            }
                        }
                    }
                    kind => {
                        let mine = posts.get(*channel).cloned().unwrap_or_default();
                        let label =
                            if kind == leadwatch_core::contract::delivery::ChannelKind::Slack {
                                "Slack"
                            } else {
                                "Teams"
                            };
                        counts.push(format!("{} {label} messages to #{channel}", mine.len()));
                        if let Some((last, _)) = mine.split_last() {
                            lines.push(format!("    {label}, latest:"));
                            let shown = if label == "Slack" {
                                slack_lines(last)
                            } else {
                                teams_lines(last)
                            };
                            lines.extend(shown.into_iter().map(|l| format!("      | {l}")));
                        }
                    }
                }
            }
            println!("  {person}: {}", counts.join(", "));
            for l in lines {
                println!("{l}");
            }
        }
        Ok(())
    }
}

async fn receive(
    State(posts): State<Posts>,
    Path(channel): Path<String>,
    body: String,
) -> &'static str {
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    posts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(channel)
        .or_default()
        .push(body);
    "ok"
}

/// A Slack Block Kit message as Slack lays it out, in plain lines: the header, the
/// fields side by side, the sections, the context; `*bold*` marks and Slack's
/// escapes undone.
fn slack_lines(message: &Value) -> Vec<String> {
    let plain = |s: &str| {
        s.replace('*', "")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let mut out = Vec::new();
    for block in message["blocks"].as_array().into_iter().flatten() {
        match block["type"].as_str() {
            Some("header") => out.push(block["text"]["text"].as_str().unwrap_or("").to_string()),
            Some("section") => {
                let fields: Vec<String> = block["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| plain(f["text"].as_str().unwrap_or("")).replace('\n', ": "))
                    .collect();
                if !fields.is_empty() {
                    out.push(fields.join("  ·  "));
                }
                if let Some(text) = block["text"]["text"].as_str() {
                    out.extend(plain(text).lines().map(str::to_string));
                }
            }
            Some("context") => {
                let parts: Vec<String> = block["elements"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| plain(e["text"].as_str().unwrap_or("")))
                    .collect();
                out.push(parts.join("  ·  "));
            }
            _ => {}
        }
    }
    out
}

/// A Teams Adaptive Card in plain lines: text blocks, and facts as `title: value`.
fn teams_lines(message: &Value) -> Vec<String> {
    let plain = |s: &str| s.replace('\\', "");
    let mut out = Vec::new();
    let card = &message["attachments"][0]["content"];
    for item in card["body"].as_array().into_iter().flatten() {
        match item["type"].as_str() {
            Some("TextBlock") => out.push(plain(item["text"].as_str().unwrap_or(""))),
            Some("FactSet") => {
                for fact in item["facts"].as_array().into_iter().flatten() {
                    out.push(format!(
                        "{}: {}",
                        fact["title"].as_str().unwrap_or(""),
                        plain(fact["value"].as_str().unwrap_or(""))
                    ));
                }
            }
            _ => {}
        }
    }
    out
}
