//! The SNS alert publisher. One topic; each message carries per-protocol bodies (the
//! JSON document by default and for SQS, readable text for email) and the attributes
//! that subscription filter policies match on, so each manager gets only their team's
//! alerts.

use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use aws_sdk_sns::Client;
use serde_json::json;

use leadwatch_core::alert::AlertMessage;

/// SNS accepts at most ten entries per PublishBatch.
const BATCH: usize = 10;

#[derive(Clone)]
pub struct AlertPublisher {
    client: Client,
    topic_arn: String,
}

impl AlertPublisher {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        AlertPublisher {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// A publisher with a client of `config` (see [`crate::aws::sns_client`]).
    pub fn from_config(config: &aws_config::SdkConfig, topic_arn: impl Into<String>) -> Self {
        AlertPublisher::new(crate::aws::sns_client(config), topic_arn)
    }

    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// Publish alerts in batches. Returns, for each alert in order, whether SNS accepted
    /// it; a failed alert is the caller's to retry (its step stays claimable).
    pub async fn publish(&self, alerts: &[AlertMessage]) -> Vec<Result<(), String>> {
        let mut results = Vec::with_capacity(alerts.len());
        for chunk in alerts.chunks(BATCH) {
            results.extend(self.publish_batch(chunk).await);
        }
        results
    }

    async fn publish_batch(&self, alerts: &[AlertMessage]) -> Vec<Result<(), String>> {
        let mut entries = Vec::with_capacity(alerts.len());
        for (i, alert) in alerts.iter().enumerate() {
            match entry(i, alert) {
                Ok(e) => entries.push(e),
                Err(e) => return vec![Err(e); alerts.len()],
            }
        }
        let out = self
            .client
            .publish_batch()
            .topic_arn(&self.topic_arn)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await;
        match out {
            Err(e) => vec![Err(DisplayErrorContext(e).to_string()); alerts.len()],
            Ok(out) => (0..alerts.len())
                .map(|i| {
                    let id = i.to_string();
                    match out.failed().iter().find(|f| f.id() == id) {
                        Some(f) => Err(format!(
                            "{}: {}",
                            f.code(),
                            f.message().unwrap_or("publish failed")
                        )),
                        None => Ok(()),
                    }
                })
                .collect(),
        }
    }
}

fn attribute(value: &str) -> Result<MessageAttributeValue, String> {
    MessageAttributeValue::builder()
        .data_type("String")
        // SNS refuses empty attribute values.
        .string_value(if value.is_empty() { "-" } else { value })
        .build()
        .map_err(|e| e.to_string())
}

fn entry(index: usize, alert: &AlertMessage) -> Result<PublishBatchRequestEntry, String> {
    let document = alert.document.to_string();
    let message = json!({
        "default": document,
        "sqs": document,
        "lambda": document,
        "email": alert.text,
    });
    let mut entry = PublishBatchRequestEntry::builder()
        .id(index.to_string())
        .message(message.to_string())
        .message_structure("json")
        .subject(&alert.subject);
    for (name, value) in [
        ("kind", alert.kind.as_str()),
        ("team", alert.team.as_str()),
        ("audience", alert.audience.as_str()),
        ("level", alert.level.as_str()),
        ("fit_tier", &alert.fit_tier.to_string()),
        ("alert_id", alert.alert_id.as_str()),
    ] {
        entry = entry.message_attributes(name, attribute(value)?);
    }
    entry.build().map_err(|e| e.to_string())
}
