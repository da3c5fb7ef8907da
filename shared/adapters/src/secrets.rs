//! Secrets from SSM Parameter Store. The ingest webhook secret is a SecureString there,
//! so it never sits in the function's configuration, where anyone allowed to read the
//! function (`lambda:GetFunctionConfiguration`) could see it; the environment carries
//! only the parameter's name.
//!
//! Read once at cold start: a failure ends the start-up with one error that names the
//! parameter and what to fix. No error or log line here ever carries a parameter's value.
//! The client is built from the shared AWS configuration ([`crate::aws`]), so an SSM
//! that does not answer fails the cold start within its time budget instead of
//! stalling it.

use std::fmt;

use aws_config::SdkConfig;
use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::types::ParameterType;
use aws_sdk_ssm::Client;

use crate::aws::{sdk_config, TimeBudget};
use crate::config::WebhookSecretSource;

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
    #[error(
        "SSM parameter {name} is empty; put the webhook secret in it, or deploy without \
         a parameter name to turn signature checks off"
    )]
    Empty { name: String },
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
        ParameterStore::new(Client::new(config))
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
                "the webhook secret parameter is not a SecureString; recreate it as one"
            );
        }
        match parameter.value {
            Some(value) if !value.trim().is_empty() => Ok(value.into_bytes()),
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

/// The ingest webhook secret from where [`WebhookSecretSource`] says, for the cold start.
/// An SSM client is built only when a parameter is named, so local runs and deployments
/// without a secret pay nothing for it.
pub async fn webhook_secret(source: WebhookSecretSource) -> Result<Option<Vec<u8>>, SecretError> {
    match source {
        WebhookSecretSource::None => Ok(None),
        WebhookSecretSource::Inline(secret) => Ok(Some(secret)),
        WebhookSecretSource::Parameter(name) => ParameterStore::from_env()
            .await
            .secret(&name)
            .await
            .map(Some),
    }
}

/// [`webhook_secret`] with a client of `config`, for a cold start that loads the shared
/// configuration once for all its clients.
pub async fn webhook_secret_from(
    config: &SdkConfig,
    source: WebhookSecretSource,
) -> Result<Option<Vec<u8>>, SecretError> {
    match source {
        WebhookSecretSource::None => Ok(None),
        WebhookSecretSource::Inline(secret) => Ok(Some(secret)),
        WebhookSecretSource::Parameter(name) => ParameterStore::from_config(config)
            .secret(&name)
            .await
            .map(Some),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ssm::error::{ErrorMetadata, SdkError};
    use aws_sdk_ssm::operation::get_parameter::GetParameterError;
    use aws_sdk_ssm::types::error::ParameterNotFound;

    use super::{get_error, SecretError};

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
