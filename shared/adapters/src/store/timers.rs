//! What the watchdog reads and claims. Due timers come from the sparse `timers` index,
//! so a run's cost follows the number of due timers, never the table size. One-off
//! jobs (a monthly contract review, say) are guarded by `ONCE#` markers that a run
//! claims with a lease: overlapping runs never do a job twice, and a run that dies
//! mid-job never loses it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use chrono::{DateTime, Utc};

use super::{aws, conditional, query_all, Store, StoreError};
use crate::table;

#[derive(Debug, Clone, PartialEq)]
pub struct TimerRef {
    pub lead_id: String,
    pub timer_at: i64,
}

/// The key of the one-off job marker `key`.
fn once_key(key: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            table::PK.to_string(),
            AttributeValue::S(format!("ONCE#{key}")),
        ),
        (table::SK.to_string(), AttributeValue::S("ONCE".into())),
    ])
}

impl Store {
    /// Leads whose timer in `shard` is due at `now`, read from the sparse timer index.
    /// Returns the read capacity consumed too, so the watchdog can report its cost.
    pub async fn due_timers(
        &self,
        shard: &str,
        now: DateTime<Utc>,
    ) -> Result<(Vec<TimerRef>, f64), StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(table::TIMERS_INDEX)
            .key_condition_expression("#shard = :shard AND #at <= :now")
            .expression_attribute_names("#shard", table::TIMER_SHARD)
            .expression_attribute_names("#at", table::TIMER_AT)
            .expression_attribute_values(":shard", AttributeValue::S(shard.into()))
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        let (items, read_units) = query_all(request).await?;
        let mut due = Vec::with_capacity(items.len());
        for item in items {
            let lead_id = match item.get(table::PK) {
                Some(AttributeValue::S(pk)) => pk.trim_start_matches("LEAD#").to_string(),
                _ => return Err(StoreError::Corrupt("timer index item without pk".into())),
            };
            let timer_at = match item.get(table::TIMER_AT) {
                Some(AttributeValue::N(n)) => n.parse().unwrap_or_default(),
                _ => 0,
            };
            due.push(TimerRef { lead_id, timer_at });
        }
        Ok((due, read_units))
    }

    /// Has the one-off job `key` (a contract review of a month, say) been done?
    pub async fn once_done(&self, key: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(once_key(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws)?;
        Ok(out
            .item
            .is_some_and(|i| i.get("once_state") == Some(&AttributeValue::S("done".into()))))
    }

    /// Claim the one-off job `key` for `token` until `until`: true if this caller won.
    /// A claim whose holder died lapses at `until` and can be taken again, so a job is
    /// never lost; [`Store::finish_once`] makes it final.
    pub async fn claim_once(
        &self,
        key: &str,
        token: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(once_key(key)))
            .item("once_state", AttributeValue::S("claimed".into()))
            .item("once_token", AttributeValue::S(token.into()))
            .item(
                "once_until",
                AttributeValue::N(until.timestamp().to_string()),
            )
            .condition_expression(
                "attribute_not_exists(#pk) OR (#state = :claimed AND #until < :now)",
            )
            .expression_attribute_names("#pk", table::PK)
            .expression_attribute_names("#state", "once_state")
            .expression_attribute_names("#until", "once_until")
            .expression_attribute_values(":claimed", AttributeValue::S("claimed".into()))
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .send()
            .await;
        Ok(conditional(out)?.is_some())
    }

    /// Mark the one-off job done, if `token` still holds it.
    pub async fn finish_once(&self, key: &str, token: &str) -> Result<bool, StoreError> {
        self.settle_once(key, token, true).await
    }

    /// Give the one-off job back (its side effect failed), if `token` still holds it.
    pub async fn release_once(&self, key: &str, token: &str) -> Result<bool, StoreError> {
        self.settle_once(key, token, false).await
    }

    async fn settle_once(&self, key: &str, token: &str, done: bool) -> Result<bool, StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(once_key(key)))
            .condition_expression("#token = :token AND #state = :claimed")
            .expression_attribute_names("#token", "once_token")
            .expression_attribute_names("#state", "once_state")
            .expression_attribute_values(":token", AttributeValue::S(token.into()))
            .expression_attribute_values(":claimed", AttributeValue::S("claimed".into()));
        let request = if done {
            request
                .update_expression("SET #state = :done")
                .expression_attribute_values(":done", AttributeValue::S("done".into()))
        } else {
            // Lapse the claim at once so the next run retries.
            request
                .update_expression("SET #until = :zero")
                .expression_attribute_names("#until", "once_until")
                .expression_attribute_values(":zero", AttributeValue::N("0".into()))
        };
        Ok(conditional(request.send().await)?.is_some())
    }
}
