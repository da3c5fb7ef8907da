//! Settings read once at cold start. A bad setting fails start-up with a clear message
//! instead of failing every request later.

use std::sync::Arc;

use leadwatch_core::contract::Contract;

/// The contract: the file named by `LEADWATCH_CONTRACT_FILE`, else the one compiled in.
pub fn contract_from_env() -> Result<Arc<Contract>, String> {
    match std::env::var("LEADWATCH_CONTRACT_FILE") {
        Ok(path) if !path.is_empty() => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("LEADWATCH_CONTRACT_FILE {path}: {e}"))?;
            Contract::parse(&text)
                .map(Arc::new)
                .map_err(|e| format!("LEADWATCH_CONTRACT_FILE {path} is invalid:\n{e}"))
        }
        _ => Contract::default_contract()
            .map(Arc::new)
            .map_err(|e| format!("the built-in contract is invalid:\n{e}")),
    }
}

/// The ingest webhook secret (`LEADWATCH_WEBHOOK_SECRET`); unset or empty disables
/// signature checks, for forms posted straight from browsers.
pub fn webhook_secret_from_env() -> Option<Vec<u8>> {
    non_empty_env("LEADWATCH_WEBHOOK_SECRET").map(String::into_bytes)
}

/// Where the ingest webhook secret comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum WebhookSecretSource {
    /// No secret: signature checks are off (forms posted straight from browsers).
    None,
    /// The secret itself, from `LEADWATCH_WEBHOOK_SECRET`: for local runs.
    Inline(Vec<u8>),
    /// The name of an SSM SecureString parameter, from
    /// `LEADWATCH_WEBHOOK_SECRET_PARAMETER`: what the SAM template deploys.
    Parameter(String),
}

// Hand-written so that a logged or printed source never shows an inline secret.
impl std::fmt::Debug for WebhookSecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebhookSecretSource::None => f.write_str("None"),
            WebhookSecretSource::Inline(_) => f.write_str("Inline(<redacted>)"),
            WebhookSecretSource::Parameter(name) => f.debug_tuple("Parameter").field(name).finish(),
        }
    }
}

impl WebhookSecretSource {
    /// From the two settings (each `None` when unset or empty). When both are set the
    /// parameter wins: it is the deployed, encrypted, rotatable one, and a stray local
    /// value must not quietly replace it.
    pub fn from_settings(parameter: Option<String>, inline: Option<Vec<u8>>) -> Self {
        match (parameter, inline) {
            (Some(name), _) => WebhookSecretSource::Parameter(name),
            (None, Some(secret)) => WebhookSecretSource::Inline(secret),
            (None, None) => WebhookSecretSource::None,
        }
    }
}

/// [`WebhookSecretSource`] from `LEADWATCH_WEBHOOK_SECRET_PARAMETER` and
/// `LEADWATCH_WEBHOOK_SECRET`; warns when both are set, since one of them is ignored.
pub fn webhook_secret_source_from_env() -> WebhookSecretSource {
    let parameter = non_empty_env("LEADWATCH_WEBHOOK_SECRET_PARAMETER");
    let inline = webhook_secret_from_env();
    if let (Some(name), Some(_)) = (&parameter, &inline) {
        tracing::warn!(
            parameter = %name,
            "both LEADWATCH_WEBHOOK_SECRET_PARAMETER and LEADWATCH_WEBHOOK_SECRET are set; \
             using the SSM parameter and ignoring LEADWATCH_WEBHOOK_SECRET"
        );
    }
    WebhookSecretSource::from_settings(parameter, inline)
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::WebhookSecretSource as Source;

    #[test]
    fn the_parameter_wins_over_an_inline_secret() {
        let name = || Some("/leadwatch/webhook".to_string());
        let inline = || Some(b"local".to_vec());
        assert_eq!(
            Source::from_settings(name(), inline()),
            Source::Parameter("/leadwatch/webhook".into())
        );
        assert_eq!(
            Source::from_settings(name(), None),
            Source::Parameter("/leadwatch/webhook".into())
        );
        assert_eq!(
            Source::from_settings(None, inline()),
            Source::Inline(b"local".to_vec())
        );
        assert_eq!(Source::from_settings(None, None), Source::None);
    }

    #[test]
    fn debug_never_shows_an_inline_secret() {
        let shown = format!("{:?}", Source::Inline(b"hunter2".to_vec()));
        assert!(!shown.contains("hunter2"), "{shown}");
        let shown = format!("{:?}", Source::Parameter("/p".into()));
        assert!(shown.contains("/p"), "{shown}");
    }
}
