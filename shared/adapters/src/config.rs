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

/// Where a secret comes from: nowhere, the environment (local runs), or an SSM
/// SecureString parameter named in the environment (what the SAM template deploys).
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    None,
    /// The secret itself: for local runs.
    Inline(Vec<u8>),
    /// The name of an SSM SecureString parameter holding it.
    Parameter(String),
}

// Hand-written so that a logged or printed source never shows an inline secret.
impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::None => f.write_str("None"),
            SecretSource::Inline(_) => f.write_str("Inline(<redacted>)"),
            SecretSource::Parameter(name) => f.debug_tuple("Parameter").field(name).finish(),
        }
    }
}

impl SecretSource {
    /// From the two settings (each `None` when unset or empty). When both are set the
    /// parameter wins: it is the deployed, encrypted, rotatable one, and a stray local
    /// value must not quietly replace it.
    pub fn from_settings(parameter: Option<String>, inline: Option<Vec<u8>>) -> Self {
        match (parameter, inline) {
            (Some(name), _) => SecretSource::Parameter(name),
            (None, Some(secret)) => SecretSource::Inline(secret),
            (None, None) => SecretSource::None,
        }
    }

    /// From the variables `parameter_var` (an SSM parameter name) and `inline_var`
    /// (the value); warns when both are set, since one of them is ignored.
    pub fn from_env(parameter_var: &str, inline_var: &str) -> Self {
        let parameter = non_empty_env(parameter_var);
        let inline = non_empty_env(inline_var).map(String::into_bytes);
        if let (Some(name), Some(_)) = (&parameter, &inline) {
            tracing::warn!(
                parameter = %name,
                "both {parameter_var} and {inline_var} are set; using the SSM parameter and ignoring {inline_var}"
            );
        }
        SecretSource::from_settings(parameter, inline)
    }
}

/// The key of lead ids ([`leadwatch_core::LeadIds`]): the SSM parameter named by
/// `LEADWATCH_LEAD_ID_KEY_PARAMETER`, else the key itself in `LEADWATCH_LEAD_ID_KEY`;
/// neither set means the public development key (local runs only).
pub fn lead_id_key_source_from_env() -> SecretSource {
    SecretSource::from_env("LEADWATCH_LEAD_ID_KEY_PARAMETER", "LEADWATCH_LEAD_ID_KEY")
}

/// Where the signed sources' secrets come from.
#[derive(Clone, PartialEq, Eq)]
pub enum SourceSecretsSetting {
    /// No secrets: every signed request is refused (public forms still work).
    None,
    /// `LEADWATCH_SOURCE_SECRETS`: a JSON object from source name to its secret or
    /// secrets, `{"crm": ["current", "previous"]}`; for local runs.
    Inline(String),
    /// `LEADWATCH_SOURCE_SECRETS_PREFIX`: each source's secret is the SSM SecureString
    /// `<prefix><source name>`, one or two values on lines of their own.
    Prefix(String),
}

impl std::fmt::Debug for SourceSecretsSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceSecretsSetting::None => f.write_str("None"),
            SourceSecretsSetting::Inline(_) => f.write_str("Inline(<redacted>)"),
            SourceSecretsSetting::Prefix(p) => f.debug_tuple("Prefix").field(p).finish(),
        }
    }
}

/// [`SourceSecretsSetting`] from the environment; the SSM prefix wins over inline
/// secrets, as for every secret.
pub fn source_secrets_setting_from_env() -> SourceSecretsSetting {
    let prefix = non_empty_env("LEADWATCH_SOURCE_SECRETS_PREFIX");
    let inline = non_empty_env("LEADWATCH_SOURCE_SECRETS");
    match (prefix, inline) {
        (Some(prefix), inline) => {
            if inline.is_some() {
                tracing::warn!(
                    prefix = %prefix,
                    "both LEADWATCH_SOURCE_SECRETS_PREFIX and LEADWATCH_SOURCE_SECRETS are set; using SSM"
                );
            }
            SourceSecretsSetting::Prefix(prefix)
        }
        (None, Some(json)) => SourceSecretsSetting::Inline(json),
        (None, None) => SourceSecretsSetting::None,
    }
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{SecretSource as Source, SourceSecretsSetting};

    #[test]
    fn the_parameter_wins_over_an_inline_secret() {
        let name = || Some("/leadwatch/lead-id-key".to_string());
        let inline = || Some(b"local".to_vec());
        assert_eq!(
            Source::from_settings(name(), inline()),
            Source::Parameter("/leadwatch/lead-id-key".into())
        );
        assert_eq!(
            Source::from_settings(name(), None),
            Source::Parameter("/leadwatch/lead-id-key".into())
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
        let shown = format!(
            "{:?}",
            SourceSecretsSetting::Inline(r#"{"crm":"hunter2"}"#.into())
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
