//! The notifier's channels: email through SES (`email`), Slack and Teams webhooks
//! (`webhook`), and, for local runs, tests and the demo, a file that every message is
//! appended to instead (`FileSink`).
//!
//! A channel either takes a message or fails with a [`SendError`] that says whether a
//! retry may help. Nothing here retries a send, dedupes or records anything: the
//! notifier claims each delivery before it sends (`crate::store::DeliveryClaim`) and
//! the queue retries failures with backoff. A transport that resent on its own could
//! deliver twice when only the response was lost.
//!
//! No error or log line here carries a webhook URL: the URL is the secret that lets
//! anyone post into the channel.

mod email;
mod webhook;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{json, Value};

use leadwatch_core::contract::delivery::ChannelKind;
use leadwatch_core::notify::{Rendered, Target};

pub use email::{EmailTransport, SesEmail};
pub use webhook::{webhook_env_var, WebhookClient, WebhookUrls};

/// A send that did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// Whether trying again later may succeed (throttling, a timeout, a 5xx) or the
    /// channel refused the message and a person must fix something (a 4xx, an
    /// unverified sender, a missing parameter). Both are retried; only the log differs.
    pub retryable: bool,
    pub message: String,
}

impl SendError {
    pub fn retryable(message: impl Into<String>) -> Self {
        SendError {
            retryable: true,
            message: message.into(),
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        SendError {
            retryable: false,
            message: message.into(),
        }
    }
}

/// Every channel kind's transport.
#[derive(Clone)]
pub struct Channels {
    pub email: EmailTransport,
    pub webhooks: WebhookClient,
}

impl Channels {
    /// Send `message` (rendered for `target.kind`) about alert `alert_id` to `target`.
    pub async fn send(
        &self,
        alert_id: &str,
        target: &Target,
        message: &Rendered,
    ) -> Result<(), SendError> {
        match (target.kind, message) {
            (ChannelKind::Email, Rendered::Email(mail)) => {
                self.email.send(alert_id, target, mail).await
            }
            (ChannelKind::Slack | ChannelKind::Teams, Rendered::Webhook(body)) => {
                self.webhooks.send(alert_id, target, body).await
            }
            (kind, _) => Err(SendError::permanent(format!(
                "channel {}: a message rendered for another kind than {}",
                target.channel,
                kind.as_str()
            ))),
        }
    }
}

/// Messages appended to a file, one JSON object a line, instead of being sent: what a
/// local run, a test or the demo uses in place of SES or a webhook. Each line holds
/// `alert_id`, `channel`, `kind`, `recipient` and the message (`subject` and `text`
/// for email, `body` for a webhook).
#[derive(Clone, Debug)]
pub struct FileSink {
    path: PathBuf,
    // Appends from concurrent deliveries must not interleave within a line.
    lock: Arc<Mutex<()>>,
}

impl FileSink {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSink {
            path: path.into(),
            lock: Arc::new(Mutex::new(())),
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn append(&self, line: &Value) -> Result<(), SendError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| SendError::retryable(format!("sink file {}: {e}", self.path.display())))?;
        writeln!(file, "{line}")
            .map_err(|e| SendError::retryable(format!("sink file {}: {e}", self.path.display())))
    }

    fn write(&self, alert_id: &str, target: &Target, message: Value) -> Result<(), SendError> {
        let mut line = json!({
            "alert_id": alert_id,
            "channel": target.channel,
            "kind": target.kind,
            "recipient": target.recipient,
        });
        if let (Value::Object(line), Value::Object(message)) = (&mut line, message) {
            line.extend(message);
        }
        self.append(&line)
    }

    /// Every line written so far, in order (for tests and the demo).
    pub fn read(&self) -> Result<Vec<Value>, String> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("{}: {e}", self.path.display())),
        };
        text.lines()
            .map(|l| serde_json::from_str(l).map_err(|e| format!("{}: {e}", self.path.display())))
            .collect()
    }
}
