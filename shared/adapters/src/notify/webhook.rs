//! Slack and Teams incoming webhooks: one JSON POST per message.
//!
//! A channel's URL comes from the SSM SecureString parameter the contract names, read
//! on first use and kept for a few minutes (so a rotated URL is picked up without a
//! deploy), or, for local runs, from `LEADWATCH_WEBHOOK_URL_<CHANNEL>`. A `file://` URL
//! appends to that file instead of posting ([`FileSink`]). A URL must be `https://`,
//! except on the loopback interface, where a test or the demo poses as Slack or Teams.
//!
//! The HTTP client has its own time budget, like the AWS clients (`crate::aws`): a
//! webhook that does not answer fails its delivery within seconds, which the queue
//! retries, instead of holding the invocation. It never retries or follows a redirect
//! itself: a resent POST could post twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::Mutex;

use leadwatch_core::contract::Contract;
use leadwatch_core::notify::Target;
use leadwatch_core::text::clip;

use super::{FileSink, SendError};
use crate::secrets::ParameterStore;

/// Connecting (TCP and TLS) to a webhook.
const CONNECT: Duration = Duration::from_secs(2);
/// One whole request: connect, send, read the answer.
const REQUEST: Duration = Duration::from_secs(5);
/// How long a URL read from SSM is used before it is read again.
const URL_CACHE: Duration = Duration::from_secs(300);

/// The environment variable that holds channel `name`'s URL for local runs:
/// `LEADWATCH_WEBHOOK_URL_` and the name in upper case with `-` as `_`.
pub fn webhook_env_var(channel: &str) -> String {
    format!(
        "LEADWATCH_WEBHOOK_URL_{}",
        channel.to_ascii_uppercase().replace('-', "_")
    )
}

/// Where each webhook channel's URL comes from.
#[derive(Clone)]
pub struct WebhookUrls {
    /// Channel name -> URL, instead of its parameter (local runs, tests).
    overrides: HashMap<String, String>,
    parameters: Option<ParameterStore>,
    cache: Arc<Mutex<HashMap<String, (String, Instant)>>>,
}

impl WebhookUrls {
    /// URLs from SSM (`parameters`), or from overrides only when there is none.
    pub fn new(parameters: Option<ParameterStore>) -> Self {
        WebhookUrls {
            overrides: HashMap::new(),
            parameters,
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Channel `channel` posts to `url`, whatever its parameter holds.
    pub fn with_override(mut self, channel: impl Into<String>, url: impl Into<String>) -> Self {
        self.overrides.insert(channel.into(), url.into());
        self
    }

    /// The overrides the environment sets for `contract`'s webhook channels
    /// ([`webhook_env_var`]).
    pub fn with_env_overrides(mut self, contract: &Contract) -> Self {
        for (name, channel) in &contract.spec.delivery.channels {
            if channel.webhook_parameter().is_none() {
                continue;
            }
            if let Ok(url) = std::env::var(webhook_env_var(name)) {
                if !url.is_empty() {
                    self.overrides.insert(name.clone(), url);
                }
            }
        }
        self
    }

    async fn url(&self, target: &Target) -> Result<String, SendError> {
        if let Some(url) = self.overrides.get(&target.channel) {
            return Ok(url.clone());
        }
        let (Some(parameter), Some(store)) = (&target.webhook_parameter, &self.parameters) else {
            return Err(SendError::permanent(format!(
                "channel {}: no webhook URL (set {} for a local run)",
                target.channel,
                webhook_env_var(&target.channel)
            )));
        };
        let mut cache = self.cache.lock().await;
        if let Some((url, read)) = cache.get(parameter) {
            if read.elapsed() < URL_CACHE {
                return Ok(url.clone());
            }
        }
        let url = store
            .parameter(parameter)
            .await
            .map_err(|e| SendError::retryable(format!("channel {}: {e}", target.channel)))?;
        cache.insert(parameter.clone(), (url.clone(), Instant::now()));
        Ok(url)
    }
}

/// Posts webhook messages.
#[derive(Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    urls: WebhookUrls,
}

impl WebhookClient {
    pub fn new(urls: WebhookUrls) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT)
            .timeout(REQUEST)
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .user_agent(concat!("leadwatch-notifier/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the webhook HTTP client cannot start: {e}"))?;
        Ok(WebhookClient { http, urls })
    }

    pub(super) async fn send(
        &self,
        alert_id: &str,
        target: &Target,
        body: &Value,
    ) -> Result<(), SendError> {
        let url = self.urls.url(target).await?;
        if let Some(path) = url.strip_prefix("file://") {
            return FileSink::new(path).write(alert_id, target, json!({"body": body}));
        }
        if !allowed(&url) {
            return Err(SendError::permanent(format!(
                "channel {}: the webhook URL is not https:// (the URL is not shown: it is a secret)",
                target.channel
            )));
        }
        let response = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            // Slack and Teams ignore it; a proxy or a test sink can count by it.
            .header("x-leadwatch-alert-id", alert_id)
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| {
                let retryable = e.is_timeout() || e.is_connect() || e.is_request();
                // `without_url`: the URL is the secret.
                SendError {
                    retryable,
                    message: format!("channel {}: {}", target.channel, e.without_url()),
                }
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let answer = response.text().await.unwrap_or_default();
        let message = format!(
            "channel {}: the webhook answered {status}: {}",
            target.channel,
            clip(&answer, 200)
        );
        if status.as_u16() == 429 || status.is_server_error() {
            Err(SendError::retryable(message))
        } else {
            Err(SendError::permanent(message))
        }
    }
}

/// `https://`, or `http://` to the loopback interface (a local sink).
fn allowed(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::{allowed, webhook_env_var};

    #[test]
    fn only_https_or_loopback_http_is_posted_to() {
        assert!(allowed("https://hooks.slack.com/services/T/B/X"));
        assert!(allowed("http://127.0.0.1:3000/hook"));
        assert!(allowed("http://localhost/hook"));
        assert!(!allowed("http://hooks.slack.com/services/T/B/X"));
        assert!(!allowed("http://127.0.0.1.evil.example/hook"));
        assert!(!allowed("ftp://127.0.0.1/hook"));
    }

    #[test]
    fn channel_names_become_environment_variables() {
        assert_eq!(
            webhook_env_var("sdr-na-enterprise-slack"),
            "LEADWATCH_WEBHOOK_URL_SDR_NA_ENTERPRISE_SLACK"
        );
    }
}
