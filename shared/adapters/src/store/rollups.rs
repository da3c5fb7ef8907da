//! The monthly metric rollups behind the report: counters in `METRICS#<month>` items,
//! read back by month without a scan.
//!
//! They are derived from the table's change stream, not written with each change. A
//! lead write stores the counters its version adds in the lead's item (`counts`), and
//! the rollup function, fed by DynamoDB Streams, adds them up:
//!
//! - **Exact.** Each lead version is counted once: the counters of a batch of stream
//!   records go in one transaction with a marker per version counted
//!   (`COUNTED#<lead>#<version>`, created only if absent, expiring after the stream's
//!   24-hour retention is long past). A batch delivered again, whole or in part, finds
//!   its markers and adds nothing twice. A version's counters are those its command
//!   decided (see `leadwatch_core::rollup`), as before; only where they are added moved.
//! - **Cheap where it matters.** A new MQL no longer writes three counter items in its
//!   own transaction (at twice the rate): its one PutItem carries a hundred bytes more.
//! - **No hot item.** A month's counter items are written once per stream batch, not
//!   once per MQL: at any rate of MQLs, each takes a few writes a second per stream
//!   shard.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnConsumedCapacity, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::query_all;
use super::{aws, backoff, build_error, consumed_of, corrupt, Store, StoreError, MAX_ATTEMPTS};
use crate::table;
use leadwatch_core::report::{Month, RollupItem};
use leadwatch_core::rollup::MetricIncrement;

/// The partition of the rollup items of `month` (`YYYY-MM`).
fn metrics_pk(month: &str) -> String {
    format!("METRICS#{month}")
}

/// The counters of one version as its item stores them: increments that share a month
/// and counters (all dimensions of one MQL do) are one group, so the attribute stays
/// about a hundred bytes.
#[derive(Debug, Serialize, Deserialize)]
struct CountGroup {
    /// Month, `YYYY-MM`.
    m: String,
    /// Dimensions, `team#ae-na`.
    d: Vec<String>,
    /// Counter names and amounts.
    c: Vec<(String, i64)>,
}

/// The `counts` attribute of a version adding `increments`; None if it adds nothing.
pub(super) fn encode_counts(increments: &[MetricIncrement]) -> Result<Option<String>, StoreError> {
    if increments.is_empty() {
        return Ok(None);
    }
    let mut groups: Vec<CountGroup> = Vec::new();
    for i in increments {
        match groups
            .iter_mut()
            .find(|g| g.m == i.month && g.c == i.counters)
        {
            Some(group) => group.d.push(i.dimension.clone()),
            None => groups.push(CountGroup {
                m: i.month.clone(),
                d: vec![i.dimension.clone()],
                c: i.counters.clone(),
            }),
        }
    }
    serde_json::to_string(&groups).map(Some).map_err(corrupt)
}

/// The increments a `counts` attribute holds.
pub fn decode_counts(counts: &str) -> Result<Vec<MetricIncrement>, StoreError> {
    let groups: Vec<CountGroup> =
        serde_json::from_str(counts).map_err(|e| StoreError::Corrupt(format!("counts: {e}")))?;
    let mut increments = Vec::new();
    for g in groups {
        if g.m.len() != 7 || g.c.is_empty() {
            return Err(StoreError::Corrupt(format!(
                "counts: bad group for {:?}",
                g.m
            )));
        }
        for dimension in g.d {
            increments.push(MetricIncrement {
                month: g.m.clone(),
                dimension,
                counters: g.c.clone(),
            });
        }
    }
    Ok(increments)
}

/// One lead version's counters, read off a change-stream record of its item.
#[derive(Debug, Clone, PartialEq)]
pub struct CountedVersion {
    pub lead_id: String,
    pub version: u64,
    pub increments: Vec<MetricIncrement>,
}

/// What [`Store::add_counts`] did with a batch.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct CountsAdded {
    /// Versions whose counters were added now.
    pub added: usize,
    /// Versions already counted (a batch delivered again): nothing added.
    pub already_counted: usize,
    /// Transactions written, and the write units they cost.
    pub transactions: usize,
    pub write_units: f64,
}

/// Markers outlive the stream's 24-hour retention by a day, so any redelivery finds
/// them; then the table's TTL removes them.
const MARKER_TTL_SECONDS: i64 = 2 * 86_400;

/// Versions per transaction: a marker each, plus at most three dimensions each of
/// counter items, within DynamoDB's 100 items.
const VERSIONS_PER_TRANSACTION: usize = 24;

fn marker_key(lead_id: &str, version: u64) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            table::PK.to_string(),
            AttributeValue::S(format!("COUNTED#{lead_id}#{version}")),
        ),
        (table::SK.to_string(), AttributeValue::S("COUNTED".into())),
    ])
}

/// The update adding `counters` to the rollup item (`month`, `dimension`).
fn counter_update(
    table_name: &str,
    month: &str,
    dimension: &str,
    counters: &[(String, i64)],
) -> Result<Update, StoreError> {
    let mut expr = Vec::new();
    let mut update = Update::builder()
        .table_name(table_name)
        .key(table::PK, AttributeValue::S(metrics_pk(month)))
        .key(table::SK, AttributeValue::S(dimension.to_string()));
    for (i, (name, by)) in counters.iter().enumerate() {
        expr.push(format!("#c{i} :v{i}"));
        update = update
            .expression_attribute_names(format!("#c{i}"), name)
            .expression_attribute_values(format!(":v{i}"), AttributeValue::N(by.to_string()));
    }
    update
        .update_expression(format!("ADD {}", expr.join(", ")))
        .build()
        .map_err(build_error)
}

impl Store {
    /// Add the counters of `versions` (read off the change stream) to the monthly
    /// rollups, each version once however often it is delivered. See the module docs.
    pub async fn add_counts(
        &self,
        versions: &[CountedVersion],
        now: DateTime<Utc>,
    ) -> Result<CountsAdded, StoreError> {
        let mut summary = CountsAdded::default();
        // A version twice in one batch (never from one stream, but a replay may join
        // two deliveries) must not cancel its own transaction.
        let mut seen = std::collections::HashSet::new();
        let unique: Vec<&CountedVersion> = versions
            .iter()
            .filter(|v| !v.increments.is_empty())
            .filter(|v| seen.insert((v.lead_id.as_str(), v.version)))
            .collect();
        summary.already_counted +=
            versions.iter().filter(|v| !v.increments.is_empty()).count() - unique.len();
        // This delivery's own tokens: see `chunk_token`.
        let mut delivery = [0u8; 16];
        getrandom::fill(&mut delivery)
            .map_err(|e| StoreError::Aws(format!("no random bytes for a request token: {e}")))?;
        for chunk in unique.chunks(VERSIONS_PER_TRANSACTION) {
            self.add_chunk(chunk.to_vec(), &delivery, now, &mut summary)
                .await?;
        }
        Ok(summary)
    }

    async fn add_chunk(
        &self,
        mut pending: Vec<&CountedVersion>,
        delivery: &[u8; 16],
        now: DateTime<Utc>,
        summary: &mut CountsAdded,
    ) -> Result<(), StoreError> {
        for attempt in 0..MAX_ATTEMPTS {
            if pending.is_empty() {
                return Ok(());
            }
            let expires = now.timestamp() + MARKER_TTL_SECONDS;
            let mut items = Vec::with_capacity(pending.len() * 4);
            for v in &pending {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(marker_key(&v.lead_id, v.version)))
                    .item(table::TTL_ATTRIBUTE, AttributeValue::N(expires.to_string()))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(build_error)?;
                items.push(TransactWriteItem::builder().put(put).build());
            }
            // The counters of the chunk, merged per rollup item: one update each.
            let mut merged: Vec<(RollupKey, Vec<(String, i64)>)> = Vec::new();
            for v in &pending {
                for i in &v.increments {
                    let key = (i.month.clone(), i.dimension.clone());
                    let slot = match merged.iter().position(|(k, _)| *k == key) {
                        Some(p) => &mut merged[p].1,
                        None => {
                            merged.push((key, Vec::new()));
                            let last = merged.len() - 1;
                            &mut merged[last].1
                        }
                    };
                    for (name, by) in &i.counters {
                        match slot.iter_mut().find(|(n, _)| n == name) {
                            Some((_, n)) => *n += by,
                            None => slot.push((name.clone(), *by)),
                        }
                    }
                }
            }
            for ((month, dimension), counters) in &merged {
                items.push(
                    TransactWriteItem::builder()
                        .update(counter_update(&self.table, month, dimension, counters)?)
                        .build(),
                );
            }
            let out = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .client_request_token(chunk_token(&self.table, delivery, &pending))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            match out {
                Ok(o) => {
                    summary.added += pending.len();
                    summary.transactions += 1;
                    summary.write_units += consumed_of(o.consumed_capacity()).write_units;
                    return Ok(());
                }
                Err(e) => {
                    let reasons: Vec<Option<String>> = e
                        .as_service_error()
                        .and_then(|s| match s {
                            TransactWriteItemsError::TransactionCanceledException(t) => Some(
                                t.cancellation_reasons()
                                    .iter()
                                    .map(|r| r.code().map(str::to_string))
                                    .collect(),
                            ),
                            _ => None,
                        })
                        .unwrap_or_default();
                    if reasons.is_empty() {
                        return Err(aws(e));
                    }
                    let counted: Vec<usize> = (0..pending.len())
                        .filter(|&i| {
                            reasons.get(i).and_then(|c| c.as_deref())
                                == Some("ConditionalCheckFailed")
                        })
                        .collect();
                    if !counted.is_empty() {
                        // Counted before: drop those, add the rest.
                        summary.already_counted += counted.len();
                        pending = pending
                            .into_iter()
                            .enumerate()
                            .filter(|(i, _)| !counted.contains(i))
                            .map(|(_, v)| v)
                            .collect();
                    } else {
                        // Another batch was adding to the same counters: try again.
                        backoff(attempt).await;
                    }
                }
            }
        }
        Err(StoreError::Conflict)
    }
}

/// A rollup item's (month, dimension).
type RollupKey = (String, String);

/// The ClientRequestToken of one chunk: this delivery's random bytes and the versions
/// it counts (the rest of the request follows from them). The SDK's retry of a chunk
/// whose answer was lost sends the same token and is told it succeeded, instead of
/// finding its own markers. Anything else is another delivery with another token, even
/// within the same second or of the very same records: a redelivered batch, or two
/// consumers racing. Its markers' conditions then drop what was counted, and it reports
/// those versions as already counted. (A token made of the versions and the time alone
/// would have DynamoDB answer such a redelivery "done", and the function log versions
/// as added that added nothing.)
fn chunk_token(table: &str, delivery: &[u8; 16], versions: &[&CountedVersion]) -> String {
    let mut hash = Sha256::new();
    hash.update(table.as_bytes());
    hash.update(delivery);
    for v in versions {
        hash.update([0]);
        hash.update(v.lead_id.as_bytes());
        hash.update(v.version.to_be_bytes());
    }
    hex::encode(&hash.finalize()[..16])
}

fn rollup_from_item(
    month: &str,
    item: HashMap<String, AttributeValue>,
) -> Result<RollupItem, StoreError> {
    let mut rollup = RollupItem {
        month: month.to_string(),
        ..RollupItem::default()
    };
    for (name, value) in item {
        match (name.as_str(), value) {
            (table::SK, AttributeValue::S(dimension)) => rollup.dimension = dimension,
            (table::PK, _) => {}
            (_, AttributeValue::N(n)) => {
                let n = n
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("rollup {month} {name}: {n}")))?;
                rollup.counters.insert(name, n);
            }
            (_, other) => {
                return Err(StoreError::Corrupt(format!(
                    "rollup {month} {name}: not a number: {other:?}"
                )))
            }
        }
    }
    Ok(rollup)
}

impl Store {
    /// The rollup items of `months`: one query per month on its `METRICS#<month>`
    /// partition, never a scan. Strongly consistent, so a report right after a
    /// transition includes it.
    pub async fn rollups(&self, months: &[Month]) -> Result<Vec<RollupItem>, StoreError> {
        let mut items = Vec::new();
        for month in months {
            let month = month.to_string();
            let request = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", table::PK)
                .expression_attribute_values(":pk", AttributeValue::S(metrics_pk(&month)))
                .consistent_read(true);
            for item in query_all(request).await?.0 {
                items.push(rollup_from_item(&month, item)?);
            }
        }
        Ok(items)
    }
}
