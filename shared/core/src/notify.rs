//! What the notifier does with one alert, without sending anything: read the alert
//! document off the queue, work out who gets it (the contract's `[delivery]` routes),
//! and render the message for each kind of channel (`render`: email text, Slack Block
//! Kit, a Teams Adaptive Card).
//!
//! The notifier reads the alert *document* (`leadwatch.alert.v1`, see `crate::alert`),
//! the body every SQS subscriber of the alert topic receives. Anything allowed to publish
//! to that topic can put a document on the queue, so the document is read leniently
//! (unknown fields ignored, a missing optional field left out) but never trusted: every
//! string is clipped and stripped of control characters again before it is shown, with
//! the same caps the alert itself uses, and escaped for the channel's markup.
//!
//! Each delivery is identified by (alert id, channel, recipient): [`Target::key`]. The
//! notifier records it before sending, so a person sees each alert once, however many
//! times SNS or the watchdog hands the same alert over.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::alert::SCHEMA;
use crate::contract::delivery::{Channel, ChannelKind};
use crate::contract::Contract;
use crate::text::clip;

mod render;

pub use render::{render, Email, Rendered};

/// Longest alert id accepted: ids are `lead_id:kind:level[@cycle]`, far shorter; the
/// cap keeps a hostile one out of the delivery records' keys.
pub const ALERT_ID_MAX: usize = 256;

/// An alert document as the notifier reads it: every field the messages show, each
/// optional except the ones that say what the alert is.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AlertDocument {
    pub schema: String,
    pub alert_id: String,
    pub kind: String,
    #[serde(default)]
    pub level: String,
    pub audience: String,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub lead_id: Option<String>,
    #[serde(default)]
    pub fit_tier: Option<u8>,
    #[serde(default)]
    pub fast_lane: Option<bool>,
    #[serde(default)]
    pub mql_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub business_minutes_overdue: Option<i64>,
    #[serde(default)]
    pub business_minutes_left: Option<i64>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub packet: Option<PacketView>,
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    // A contract review's fields.
    #[serde(default)]
    pub month: Option<String>,
    #[serde(default)]
    pub months: Vec<String>,
    #[serde(default)]
    pub findings: Vec<String>,
    #[serde(default)]
    pub contract_version: Option<String>,
}

/// The handoff packet's fields a message shows (see `crate::packet`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PacketView {
    pub name: String,
    pub title: Option<String>,
    pub company: String,
    pub context: String,
    pub evidence: Vec<EvidenceView>,
    pub pillars: Option<PillarsView>,
    pub fit_tier: Option<u8>,
    pub opener: String,
    pub next_step: String,
    pub routing_note: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct EvidenceView {
    pub at: Option<DateTime<Utc>>,
    pub label: String,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PillarsView {
    pub fit: f64,
    pub intent: f64,
    pub readiness: f64,
    pub total: f64,
}

/// Why a queue message is not an alert the notifier can deliver. It never will be, so
/// the notifier lets it go to the dead-letter queue, where someone can look at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("the message is not an alert document: {0}")]
    Unreadable(String),
    #[error("schema: \"{0}\" is not {SCHEMA}")]
    Schema(String),
    #[error("alert_id: {0}")]
    AlertId(&'static str),
}

impl AlertDocument {
    /// Read and check an alert document (a queue message's body).
    pub fn parse(body: &str) -> Result<AlertDocument, DocumentError> {
        let doc: AlertDocument = serde_json::from_str(body)
            .map_err(|e| DocumentError::Unreadable(clip(&e.to_string(), 200)))?;
        if doc.schema != SCHEMA {
            return Err(DocumentError::Schema(clip(&doc.schema, 60)));
        }
        if doc.alert_id.trim().is_empty() {
            return Err(DocumentError::AlertId("is empty"));
        }
        if doc.alert_id.chars().count() > ALERT_ID_MAX {
            return Err(DocumentError::AlertId("is too long"));
        }
        // Ids are `lead_id:kind:level`: printable ASCII, so they can go into keys and
        // mail and HTTP headers as they are.
        if !doc.alert_id.chars().all(|c| c.is_ascii_graphic()) {
            return Err(DocumentError::AlertId(
                "holds characters other than printable ASCII",
            ));
        }
        Ok(doc)
    }

    /// The team the alert is about; empty for alerts of no team (a contract review).
    pub fn team(&self) -> &str {
        self.team.as_deref().unwrap_or("")
    }
}

/// One person or channel an alert goes to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// The channel's name under `[delivery.channels]`.
    pub channel: String,
    pub kind: ChannelKind,
    /// An email address, or for a webhook the channel's name (one webhook, one room).
    pub recipient: String,
    /// The SSM parameter that holds a webhook channel's URL.
    pub webhook_parameter: Option<String>,
}

impl Target {
    /// The delivery record's key within the alert: one record per channel and
    /// recipient, so a person who is on two channels still gets both.
    pub fn key(&self) -> String {
        format!("{}#{}", self.channel, self.recipient)
    }
}

/// Everyone `doc` goes to under the contract's routes, in a stable order.
pub fn targets(contract: &Contract, doc: &AlertDocument) -> Vec<Target> {
    let delivery = &contract.spec.delivery;
    let mut out = Vec::new();
    for (name, channel) in delivery.channels_for(doc.team(), &doc.audience, &doc.kind) {
        match channel {
            Channel::Email { to } => out.extend(to.iter().map(|address| Target {
                channel: name.to_string(),
                kind: ChannelKind::Email,
                recipient: address.to_ascii_lowercase(),
                webhook_parameter: None,
            })),
            Channel::Slack { .. } | Channel::Teams { .. } => out.push(Target {
                channel: name.to_string(),
                kind: channel.kind(),
                recipient: name.to_string(),
                webhook_parameter: channel.webhook_parameter().map(str::to_string),
            }),
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests;
