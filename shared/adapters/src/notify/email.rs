//! Email: one SES v2 `SendEmail` per recipient, so that each person's delivery is
//! claimed, sent and recorded on its own (one address that bounces never holds back,
//! or resends to, the others). Plain text, from the contract's `delivery.email_from`,
//! with an `X-Leadwatch-Alert-Id` header that mail rules can match on.

use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageHeader};
use aws_sdk_sesv2::Client;
use serde_json::json;

use leadwatch_core::notify::{Email, Target};

use super::{FileSink, SendError};

/// SES error codes that a retry can cure.
const RETRYABLE: [&str; 4] = [
    "TooManyRequestsException",
    "LimitExceededException",
    "SendingPausedException",
    "InternalFailure",
];

/// Sends through SES v2 from one verified identity.
#[derive(Clone, Debug)]
pub struct SesEmail {
    client: Client,
    from: String,
}

impl SesEmail {
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        SesEmail {
            client,
            from: from.into(),
        }
    }

    async fn send(&self, alert_id: &str, to: &str, mail: &Email) -> Result<(), SendError> {
        let content = |text: &str| {
            Content::builder()
                .data(text)
                .charset("UTF-8")
                .build()
                .map_err(|e| SendError::permanent(e.to_string()))
        };
        let header = MessageHeader::builder()
            .name("X-Leadwatch-Alert-Id")
            .value(alert_id)
            .build()
            .map_err(|e| SendError::permanent(e.to_string()))?;
        let message = Message::builder()
            .subject(content(&mail.subject)?)
            .body(Body::builder().text(content(&mail.text)?).build())
            .headers(header)
            .build();
        let result = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await;
        result.map(|_| ()).map_err(classify)
    }
}

fn classify<E, R>(e: SdkError<E, R>) -> SendError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    let retryable = match &e {
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_none_or(|code| RETRYABLE.contains(&code)),
        // Timeouts, connection failures, unreadable responses.
        _ => true,
    };
    let message = format!("SES SendEmail: {}", DisplayErrorContext(&e));
    SendError { retryable, message }
}

/// Where email goes.
#[derive(Clone, Debug)]
pub enum EmailTransport {
    Ses(SesEmail),
    /// Appended to a file instead (local runs, tests, the demo).
    File(FileSink),
}

impl EmailTransport {
    pub(super) async fn send(
        &self,
        alert_id: &str,
        target: &Target,
        mail: &Email,
    ) -> Result<(), SendError> {
        match self {
            EmailTransport::Ses(ses) => ses.send(alert_id, &target.recipient, mail).await,
            EmailTransport::File(sink) => sink.write(
                alert_id,
                target,
                json!({"subject": mail.subject, "text": mail.text}),
            ),
        }
    }
}
