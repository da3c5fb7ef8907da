//! Delivery records: what the notifier has sent, one item per (alert id, channel,
//! recipient), so that a person sees each alert once however many times SNS or the
//! watchdog hands the same alert over.
//!
//! The notifier **claims, then sends, then records**:
//!
//! 1. [`Store::claim_delivery`]: a conditional write takes the record with a short
//!    lease, unless it is already delivered or another notifier's lease is live.
//! 2. The notifier sends.
//! 3. [`Store::finish_delivery`] marks it delivered; or, when the send failed,
//!    [`Store::release_delivery`] lapses the lease at once so a retry can take it.
//!
//! Two copies of an alert handled at once cannot both send: only one wins the claim,
//! and the other is retried later, when it finds the record delivered. A notifier that
//! dies mid-send leaves a claim whose lease lapses, and the queue's retry sends again:
//! at-least-once overall, and at most once per person once a send succeeded and was
//! recorded. (Sending first and recording after would let concurrent copies both send.)
//!
//! Every record expires (the table's TTL attribute) long after any copy of its alert
//! could still arrive: the queue keeps a message at most 14 days.
//!
//! | pk                     | sk                      |
//! |------------------------|-------------------------|
//! | `DELIVERY#<alert_id>`  | `<channel>#<recipient>` |

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};

use super::{aws, conditional, Store, StoreError};
use crate::table;

const STATE: &str = "delivery_state";
const TOKEN: &str = "delivery_token";
const UNTIL: &str = "delivery_until";
const ATTEMPTS: &str = "delivery_attempts";
const DELIVERED_AT: &str = "delivered_at";
const CLAIMED: &str = "claimed";
const DELIVERED: &str = "delivered";

/// How long a delivery record outlives its claim: beyond the queue's longest
/// retention (14 days), so no late copy of an alert finds its record gone.
pub const DELIVERY_RECORD_DAYS: i64 = 30;

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryClaim {
    /// This caller holds the delivery until the lease ends: send it.
    Claimed,
    /// Sent before: nothing to do.
    Delivered,
    /// Another notifier holds a live lease until then: try again after it.
    InFlight { until: DateTime<Utc> },
}

/// A delivery record as stored (for tests and inspection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// `<channel>#<recipient>`
    pub key: String,
    pub delivered: bool,
    /// Claims taken, the first included: more than one means a retry.
    pub attempts: u64,
}

fn delivery_key(alert_id: &str, key: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            table::PK.to_string(),
            AttributeValue::S(format!("DELIVERY#{alert_id}")),
        ),
        (table::SK.to_string(), AttributeValue::S(key.to_string())),
    ])
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

fn is_delivered(item: &HashMap<String, AttributeValue>) -> bool {
    item.get(STATE) == Some(&AttributeValue::S(DELIVERED.into()))
}

impl Store {
    /// Take the delivery `key` of alert `alert_id` for `token` until `now + lease`.
    pub async fn claim_delivery(
        &self,
        alert_id: &str,
        key: &str,
        token: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<DeliveryClaim, StoreError> {
        let until = now + lease;
        let expires = now + Duration::days(DELIVERY_RECORD_DAYS);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(delivery_key(alert_id, key)))
            .update_expression(
                "SET #state = :claimed, #token = :token, #until = :until, #ttl = :expires \
                 ADD #attempts :one",
            )
            .condition_expression(
                "attribute_not_exists(#pk) OR (#state = :claimed AND #until < :now)",
            )
            .expression_attribute_names("#pk", table::PK)
            .expression_attribute_names("#state", STATE)
            .expression_attribute_names("#token", TOKEN)
            .expression_attribute_names("#until", UNTIL)
            .expression_attribute_names("#ttl", table::TTL_ATTRIBUTE)
            .expression_attribute_names("#attempts", ATTEMPTS)
            .expression_attribute_values(":claimed", AttributeValue::S(CLAIMED.into()))
            .expression_attribute_values(":token", AttributeValue::S(token.into()))
            .expression_attribute_values(":until", AttributeValue::N(until.timestamp().to_string()))
            .expression_attribute_values(
                ":expires",
                AttributeValue::N(expires.timestamp().to_string()),
            )
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await;
        if conditional(out)?.is_some() {
            return Ok(DeliveryClaim::Claimed);
        }
        // Lost: delivered already, or someone else's live lease. Read which.
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(delivery_key(alert_id, key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws)?
            .item
            .unwrap_or_default();
        if is_delivered(&item) {
            return Ok(DeliveryClaim::Delivered);
        }
        let until = number(&item, UNTIL)
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .unwrap_or(until);
        Ok(DeliveryClaim::InFlight { until })
    }

    /// The send went out: mark the delivery done, if `token` still holds it. False
    /// when the lease had lapsed and another notifier took it (it may send again).
    pub async fn finish_delivery(
        &self,
        alert_id: &str,
        key: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(delivery_key(alert_id, key)))
            .update_expression("SET #state = :delivered, #at = :at REMOVE #until")
            .condition_expression("#token = :token AND #state = :claimed")
            .expression_attribute_names("#state", STATE)
            .expression_attribute_names("#token", TOKEN)
            .expression_attribute_names("#until", UNTIL)
            .expression_attribute_names("#at", DELIVERED_AT)
            .expression_attribute_values(":delivered", AttributeValue::S(DELIVERED.into()))
            .expression_attribute_values(":claimed", AttributeValue::S(CLAIMED.into()))
            .expression_attribute_values(":token", AttributeValue::S(token.into()))
            .expression_attribute_values(":at", AttributeValue::S(now.to_rfc3339()))
            .send()
            .await;
        Ok(conditional(out)?.is_some())
    }

    /// The send failed: lapse the lease now, if `token` still holds it, so that the
    /// retry need not wait for it.
    pub async fn release_delivery(
        &self,
        alert_id: &str,
        key: &str,
        token: &str,
    ) -> Result<bool, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(delivery_key(alert_id, key)))
            .update_expression("SET #until = :zero")
            .condition_expression("#token = :token AND #state = :claimed")
            .expression_attribute_names("#state", STATE)
            .expression_attribute_names("#token", TOKEN)
            .expression_attribute_names("#until", UNTIL)
            .expression_attribute_values(":claimed", AttributeValue::S(CLAIMED.into()))
            .expression_attribute_values(":token", AttributeValue::S(token.into()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .send()
            .await;
        Ok(conditional(out)?.is_some())
    }

    /// Every delivery record of alert `alert_id`.
    pub async fn deliveries(&self, alert_id: &str) -> Result<Vec<DeliveryRecord>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", table::PK)
            .expression_attribute_values(":pk", AttributeValue::S(format!("DELIVERY#{alert_id}")))
            .consistent_read(true);
        let (items, _) = super::query_all(request).await?;
        Ok(items
            .iter()
            .map(|item| DeliveryRecord {
                key: match item.get(table::SK) {
                    Some(AttributeValue::S(s)) => s.clone(),
                    _ => String::new(),
                },
                delivered: is_delivered(item),
                attempts: number(item, ATTEMPTS).unwrap_or(0).max(0) as u64,
            })
            .collect())
    }
}
