//! Secrets from SSM Parameter Store: the signed ingest sources' secrets, the key of
//! lead ids and the web app's secret (sessions, form tokens, lead-page links). Each is a SecureString there, so it never sits in the function's
//! configuration, where anyone allowed to read the function
//! (`lambda:GetFunctionConfiguration`) could see it; the environment carries only the
//! parameter's name (or, for the sources, a name prefix).
//!
//! A source's parameter holds one or two secrets, one per line: two while a sender
//! rotates, so that requests signed with the old secret and with the new one are both
//! accepted until the old line is removed (see [`secret_values`]).
//!
//! Read once at cold start: a failure ends the start-up with one error that names the
//! parameter and what to fix. No error or log line here ever carries a parameter's value.
//! The client is built from the shared AWS configuration ([`crate::aws`]), so an SSM
//! that does not answer fails the cold start within its time budget instead of
//! stalling it.

use std::collections::BTreeMap;
use std::fmt;

use aws_config::SdkConfig;
use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::types::ParameterType;
use aws_sdk_ssm::Client;

use crate::aws::{sdk_config, ssm_client, TimeBudget};
use crate::config::{SecretSource, SourceSecretsSetting};
use leadwatch_core::signed::{LeadLinks, Signer, MIN_SECRET_BYTES};
use leadwatch_core::LeadIds;

#[derive(thiserror::Error)]
pub enum SecretError {
    #[error("SSM parameter {name} does not exist in this account and region")]
    NotFound { name: String },
    #[error(
        "SSM parameter {name}: access denied (the function's role needs ssm:GetParameter \
         on it, and kms:Decrypt on its key unless that is aws/ssm): {detail}"
    )]
    AccessDenied { name: String, detail: String },
    #[error("SSM parameter {name} cannot be decrypted with its KMS key: {detail}")]
    Key { name: String, detail: String },
    #[error("SSM parameter {name} is empty; put the secret in it")]
    Empty { name: String },
    #[error(
        "SSM parameter {name} holds {count} values; a source has at most \
         {MAX_ACTIVE_SECRETS} active secrets (one per line: the new one and the old one)"
    )]
    TooMany { name: String, count: usize },
    #[error("{name}: {detail}")]
    Invalid { name: String, detail: String },
    #[error("SSM parameter {name}: GetParameter failed: {detail}")]
    Aws { name: String, detail: String },
    #[error("SSM parameter {name} is empty; put the value in it")]
    Blank { name: String },
}

// `main` returning this error prints it with `{:?}`; the message is the readable form,
// and it holds no secret, so Debug says the same as Display.
impl fmt::Debug for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

// Generic over the raw response only so that tests can build errors without HTTP types.
fn get_error<R: fmt::Debug>(name: &str, e: SdkError<GetParameterError, R>) -> SecretError {
    let name = name.to_string();
    if let SdkError::ServiceError(service) = &e {
        match service.err() {
            GetParameterError::ParameterNotFound(_) => return SecretError::NotFound { name },
            GetParameterError::InvalidKeyId(_) => {
                return SecretError::Key {
                    name,
                    detail: one_line(&DisplayErrorContext(&e).to_string()),
                }
            }
            // Access denial has no modelled variant; SSM and KMS both send this code.
            other if other.code() == Some("AccessDeniedException") => {
                return SecretError::AccessDenied {
                    name,
                    detail: one_line(other.message().unwrap_or("no message")),
                }
            }
            _ => {}
        }
    }
    SecretError::Aws {
        name,
        detail: one_line(&DisplayErrorContext(&e).to_string()),
    }
}

// A failed cold start is read in a log stream, where a line break splits one error into
// unrelated-looking events.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads parameters from SSM Parameter Store.
#[derive(Clone)]
pub struct ParameterStore {
    client: Client,
}

impl ParameterStore {
    pub fn new(client: Client) -> Self {
        ParameterStore { client }
    }

    /// A client of `config`: the shared one of [`crate::aws::sdk_config`].
    pub fn from_config(config: &SdkConfig) -> Self {
        ParameterStore::new(ssm_client(config))
    }

    /// A client of the shared configuration under [`TimeBudget::HTTP_API`]: the cold
    /// start of an API function reads its secret with it.
    pub async fn from_env() -> Self {
        ParameterStore::from_config(&sdk_config(TimeBudget::HTTP_API).await)
    }

    /// The decrypted value of parameter `name`, used byte for byte (no trimming: a
    /// sender signs with the secret exactly as stored). Empty or whitespace-only is an
    /// error, since it would be a secret anyone can guess.
    pub async fn secret(&self, name: &str) -> Result<Vec<u8>, SecretError> {
        self.value(name).await.map(String::into_bytes)
    }

    /// [`ParameterStore::secret`] as text.
    pub async fn value(&self, name: &str) -> Result<String, SecretError> {
        let out = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| get_error(name, e))?;
        let parameter = out.parameter.ok_or_else(|| SecretError::NotFound {
            name: name.to_string(),
        })?;
        if parameter.r#type.as_ref() != Some(&ParameterType::SecureString) {
            // Still usable, but stored unencrypted and shown in the console to anyone
            // who can read the parameter: worth a fix, not an outage.
            tracing::warn!(
                parameter = name,
                "the secret parameter is not a SecureString; recreate it as one"
            );
        }
        match parameter.value {
            Some(value) if !value.trim().is_empty() => Ok(value),
            _ => Err(SecretError::Empty {
                name: name.to_string(),
            }),
        }
    }
}

impl ParameterStore {
    /// The decrypted value of parameter `name`, trimmed (a notifier's webhook URL, say).
    /// Empty is an error naming the parameter; the value itself is never in an error.
    pub async fn parameter(&self, name: &str) -> Result<String, SecretError> {
        let out = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| get_error(name, e))?;
        let parameter = out.parameter.ok_or_else(|| SecretError::NotFound {
            name: name.to_string(),
        })?;
        if parameter.r#type.as_ref() != Some(&ParameterType::SecureString) {
            tracing::warn!(
                parameter = name,
                "the parameter holds a secret but is not a SecureString; recreate it as one"
            );
        }
        match parameter.value.as_deref().map(str::trim) {
            Some(value) if !value.is_empty() => Ok(value.to_string()),
            _ => Err(SecretError::Blank {
                name: name.to_string(),
            }),
        }
    }
}

/// Active secrets per signed source: a sender may sign with any of a source's values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SourceSecrets {
    by_source: BTreeMap<String, Vec<Vec<u8>>>,
}

// Names only: a printed configuration must never show a secret.
impl fmt::Debug for SourceSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.by_source
                    .iter()
                    .map(|(name, values)| (name, format!("<{} secret(s)>", values.len()))),
            )
            .finish()
    }
}

impl SourceSecrets {
    pub fn new() -> Self {
        SourceSecrets::default()
    }

    /// These secrets plus `values` for `source` (tests and local set-ups).
    pub fn with(mut self, source: &str, values: &[&[u8]]) -> Self {
        self.by_source.insert(
            source.to_string(),
            values.iter().map(|v| v.to_vec()).collect(),
        );
        self
    }

    /// The active secrets of `source`; none for a source without a secret.
    pub fn values(&self, source: &str) -> &[Vec<u8>] {
        self.by_source.get(source).map_or(&[], Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.by_source.is_empty()
    }

    /// The sources that have secrets.
    pub fn sources(&self) -> impl Iterator<Item = &str> {
        self.by_source.keys().map(String::as_str)
    }

    /// `LEADWATCH_SOURCE_SECRETS`: `{"crm": "secret"}` or `{"crm": ["new", "old"]}`.
    pub fn parse_json(text: &str) -> Result<SourceSecrets, SecretError> {
        let invalid = |detail: String| SecretError::Invalid {
            name: "LEADWATCH_SOURCE_SECRETS".into(),
            detail,
        };
        let map: BTreeMap<String, serde_json::Value> = serde_json::from_str(text).map_err(|e| {
            // serde_json's message quotes no input, so it cannot leak a secret.
            invalid(format!(
                "must be a JSON object from source name to secret(s): {e}"
            ))
        })?;
        let mut secrets = SourceSecrets::new();
        for (source, value) in map {
            let values: Vec<Vec<u8>> = match value {
                serde_json::Value::String(s) => secret_values(&s),
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(|v| v.as_str())
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| v.as_bytes().to_vec())
                    .collect(),
                _ => Vec::new(),
            };
            if values.is_empty() {
                return Err(invalid(format!(
                    "source {source}: give a secret or a list of one or two secrets"
                )));
            }
            if values.len() > MAX_ACTIVE_SECRETS {
                return Err(invalid(format!(
                    "source {source}: at most {MAX_ACTIVE_SECRETS} active secrets"
                )));
            }
            secrets.by_source.insert(source, values);
        }
        Ok(secrets)
    }
}

/// How many secrets a source may have active at once: the new one and the old one.
pub const MAX_ACTIVE_SECRETS: usize = 2;

/// A source parameter's value as its secrets: one per line, each trimmed of the
/// whitespace around it, blank lines ignored. To rotate, add the new secret as a
/// second line, move the sender to it, then delete the old line.
pub fn secret_values(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| line.as_bytes().to_vec())
        .collect()
}

/// The secrets of `sources` (the contract's `[intake.sources]`) from where `setting`
/// says. With an SSM prefix, each source's parameter must exist, hold one or two
/// values and be readable, or the cold start fails naming it: a source the contract
/// lists but cannot verify is a misconfiguration, not something to find out from a
/// sender's 401s.
pub async fn source_secrets<'a>(
    config: &SdkConfig,
    sources: impl IntoIterator<Item = &'a str>,
    setting: SourceSecretsSetting,
) -> Result<SourceSecrets, SecretError> {
    match setting {
        SourceSecretsSetting::None => Ok(SourceSecrets::new()),
        SourceSecretsSetting::Inline(json) => SourceSecrets::parse_json(&json),
        SourceSecretsSetting::Prefix(prefix) => {
            let store = ParameterStore::from_config(config);
            let mut secrets = SourceSecrets::new();
            for source in sources {
                let name = format!("{prefix}{source}");
                let values = secret_values(&store.value(&name).await?);
                if values.len() > MAX_ACTIVE_SECRETS {
                    return Err(SecretError::TooMany {
                        name,
                        count: values.len(),
                    });
                }
                secrets.by_source.insert(source.to_string(), values);
            }
            Ok(secrets)
        }
    }
}

/// The key of lead ids from where `setting` says; without one, the public development
/// key, with a warning (a deployment must set one: see the README, "Lead ids").
pub async fn lead_ids(config: &SdkConfig, setting: SecretSource) -> Result<LeadIds, SecretError> {
    match setting {
        SecretSource::None => {
            tracing::warn!(
                "no lead id key configured (LEADWATCH_LEAD_ID_KEY_PARAMETER or LEADWATCH_LEAD_ID_KEY); \
                 using the public development key: anyone can compute lead ids from emails"
            );
            Ok(LeadIds::development())
        }
        SecretSource::Inline(key) => Ok(LeadIds::new(key)),
        SecretSource::Parameter(name) => ParameterStore::from_config(config)
            .secret(&name)
            .await
            .map(LeadIds::new),
    }
}

/// The web app's secret (`LEADWATCH_WEB_SECRET_PARAMETER`, an SSM SecureString, else
/// `LEADWATCH_WEB_SECRET` inline): it signs session cookies, form tokens and the
/// lead-page links in alerts. None when neither is set; an error when the value is
/// shorter than [`MIN_SECRET_BYTES`] or the parameter cannot be read.
pub async fn web_secret_from(config: &SdkConfig) -> Result<Option<Signer>, String> {
    let secret =
        match SecretSource::from_env("LEADWATCH_WEB_SECRET_PARAMETER", "LEADWATCH_WEB_SECRET") {
            SecretSource::None => return Ok(None),
            SecretSource::Inline(secret) => secret,
            SecretSource::Parameter(name) => ParameterStore::from_config(config)
                .secret(&name)
                .await
                .map_err(|e| format!("the web secret: {e}"))?,
        };
    Signer::new(secret)
        .map(Some)
        .ok_or_else(|| format!("the web secret is shorter than {MIN_SECRET_BYTES} bytes"))
}

/// The lead-page links for alerts: the web app's base URL (`LEADWATCH_APP_URL`), the
/// web secret and how long a link holds (`LEADWATCH_LINK_HOURS`, default 72). None when
/// the URL or the secret is not set: alerts then go out without the link.
pub async fn lead_links_from(config: &SdkConfig) -> Result<Option<LeadLinks>, String> {
    let Some(base_url) = non_empty("LEADWATCH_APP_URL") else {
        return Ok(None);
    };
    let hours: i64 = match non_empty("LEADWATCH_LINK_HOURS") {
        None => 72,
        Some(h) => h
            .trim()
            .parse()
            .ok()
            .filter(|h| (1..=24 * 14).contains(h))
            .ok_or_else(|| format!("LEADWATCH_LINK_HOURS {h:?} is not 1 to 336 hours"))?,
    };
    Ok(web_secret_from(config).await?.map(|signer| LeadLinks {
        base_url,
        signer,
        valid_for: chrono::Duration::hours(hours),
    }))
}

fn non_empty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use aws_sdk_ssm::error::{ErrorMetadata, SdkError};
    use aws_sdk_ssm::operation::get_parameter::GetParameterError;
    use aws_sdk_ssm::types::error::ParameterNotFound;

    use super::{get_error, secret_values, SecretError, SourceSecrets};

    #[test]
    fn a_parameter_holds_one_secret_per_line() {
        assert_eq!(secret_values("one"), vec![b"one".to_vec()]);
        assert_eq!(
            secret_values("new\r\n  old  \n\n"),
            vec![b"new".to_vec(), b"old".to_vec()]
        );
        assert!(secret_values(" \n ").is_empty());
    }

    #[test]
    fn inline_source_secrets_are_json_and_never_printed() {
        let s = SourceSecrets::parse_json(r#"{"crm": ["new", "old"], "marketing": "m1"}"#).unwrap();
        assert_eq!(s.values("crm"), &[b"new".to_vec(), b"old".to_vec()]);
        assert_eq!(s.values("marketing"), &[b"m1".to_vec()]);
        assert!(s.values("other").is_empty());
        let shown = format!("{s:?}");
        assert!(shown.contains("crm") && !shown.contains("new"), "{shown}");
        for bad in [
            r#"["x"]"#,
            r#"{"crm": []}"#,
            r#"{"crm": ["a", "b", "c"]}"#,
            "{",
        ] {
            let e = SourceSecrets::parse_json(bad).unwrap_err().to_string();
            assert!(e.starts_with("LEADWATCH_SOURCE_SECRETS"), "{e}");
        }
    }

    // moto does not enforce IAM, so access denial is checked here on a built error.
    #[test]
    fn access_denied_names_the_parameter_and_the_permission() {
        let denied = GetParameterError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("User: arn:aws:sts::1:assumed-role/ingest is not authorized\nto perform: ssm:GetParameter")
                .build(),
        );
        let e = get_error("/lw/secret", SdkError::service_error(denied, ()));
        assert!(matches!(e, SecretError::AccessDenied { .. }), "{e}");
        let line = format!("{e:?}");
        assert!(
            line.contains("/lw/secret") && line.contains("ssm:GetParameter"),
            "{line}"
        );
        assert!(!line.contains('\n'), "one line: {line}");
    }

    #[test]
    fn a_missing_parameter_is_not_found() {
        let missing = GetParameterError::ParameterNotFound(ParameterNotFound::builder().build());
        let e = get_error("/lw/nope", SdkError::service_error(missing, ()));
        assert!(
            matches!(e, SecretError::NotFound { ref name } if name == "/lw/nope"),
            "{e}"
        );
    }
}
