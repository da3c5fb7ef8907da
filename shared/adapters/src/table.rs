//! The one DynamoDB table, defined once. The store creates it from this definition in
//! the local stack and the tests; `infra/template.yaml` declares the same table, and a
//! test proves the two agree (names, keys, types, projections).
//!
//! Single-table layout:
//!
//! | item                      | pk                | sk                     |
//! |---------------------------|-------------------|------------------------|
//! | lead state                | `LEAD#<lead_id>`  | `STATE`                |
//! | audit record (per write)  | `LEAD#<lead_id>`  | `EVT#<version:010>`    |
//! | idempotency record (TTL)  | `IDEMP#<key>`     | `IDEMP`                |
//! | monthly metric rollup     | `METRICS#<YYYY-MM>` | `<dimension>`        |
//! | alert-once marker         | `ONCE#<alert_id>` | `ONCE`                 |
//! | delivery record (TTL)     | `DELIVERY#<alert_id>` | `<channel>#<recipient>` |
//! | claimed signature (TTL)   | `SIG#<digest>`    | `SIG`                  |
//! | counted-version marker (TTL) | `COUNTED#<lead_id>#<version>` | `COUNTED` |
//! | export job (TTL)          | `EXPORT#<id>`     | `EXPORT`               |
//!
//! A lead's state item carries its document compressed (`doc`: the state, and until a
//! transaction files them, its first audit record and idempotency record, the
//! `genesis`, and the audit events of later writes, the `journal`), so that most
//! writes are one small PutItem (see the store's module docs). It also carries the
//! rollup counters its version adds (`counts`): the table's stream (`NEW_IMAGE`) feeds
//! them to the rollup function, which adds each version once (its marker).
//!
//! Two sparse GSIs: `timers` holds only lead state items, sharded so that due timers
//! are read by N small queries whose cost follows the number of due timers, never the
//! table size; `team_queue` holds only open MQLs, per team, oldest first.
//!
//! `timers` is overloaded (issue 15, exports that stream): a lead with a pending
//! watchdog timer sits in partition `T<n>` under its timer's time; every other lead sits
//! in partition `M#<YYYY-MM of creation>#<n>` under its creation time. The watchdog
//! queries only the `T<n>` partitions; an export of months M1..M2 queries the `M#`
//! partitions of those months and the `T<n>` partitions filtered on `created_at`
//! (projected), so it never scans the table.

use serde::Serialize;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const TTL_ATTRIBUTE: &str = "expires_at";

pub const TIMERS_INDEX: &str = "timers";
pub const TIMER_SHARD: &str = "timer_shard";
pub const TIMER_AT: &str = "timer_at";
pub const TIMER_KIND: &str = "timer_kind";
pub const SLA_STEP: &str = "sla_step";
/// A lead's creation time, epoch seconds: set once, never changed (so projecting it
/// into `timers` costs no index write of its own).
pub const CREATED_AT: &str = "created_at";

pub const TEAM_QUEUE_INDEX: &str = "team_queue";
pub const QUEUE_TEAM: &str = "queue_team";
pub const MQL_AT: &str = "mql_at";

/// Timer shards: enough that one hot partition never throttles the watchdog, few enough
/// that a run's fixed cost (one query per shard) stays small.
pub const TIMER_SHARDS: u32 = 8;

/// Shards of each month's partition of the leads without a pending timer (see the
/// module docs): an export reads them in parallel-safe small queries, and a month of a
/// million leads is spread over this many partitions.
pub const MONTH_SHARDS: u32 = 16;

/// The prefix of the month partitions of the `timers` index.
pub const MONTH_SHARD_PREFIX: &str = "M#";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KeyType {
    S,
    N,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Projection {
    All,
    KeysOnly,
    Include(Vec<&'static str>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDefinition {
    pub name: &'static str,
    pub hash: (&'static str, KeyType),
    pub range: (&'static str, KeyType),
    pub projection: Projection,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    pub hash: (&'static str, KeyType),
    pub range: (&'static str, KeyType),
    pub indexes: Vec<IndexDefinition>,
    pub ttl_attribute: &'static str,
    /// What the change stream carries: the item after each write, from which the rollup
    /// function reads the counters a lead version adds (see `store::rollups`).
    pub stream_view_type: &'static str,
}

pub fn table_definition() -> TableDefinition {
    TableDefinition {
        hash: (PK, KeyType::S),
        range: (SK, KeyType::S),
        indexes: vec![
            IndexDefinition {
                name: TIMERS_INDEX,
                hash: (TIMER_SHARD, KeyType::S),
                range: (TIMER_AT, KeyType::N),
                projection: Projection::Include(vec![TIMER_KIND, SLA_STEP, CREATED_AT]),
            },
            IndexDefinition {
                name: TEAM_QUEUE_INDEX,
                hash: (QUEUE_TEAM, KeyType::S),
                range: (MQL_AT, KeyType::S),
                // Keys only: an MQL's state item is rewritten by every signal, claim and
                // step, and a full projection would make each of those writes pay for
                // the item twice. The queue reads the few states it lists by key.
                projection: Projection::KeysOnly,
            },
        ],
        ttl_attribute: TTL_ATTRIBUTE,
        stream_view_type: STREAM_VIEW_TYPE,
    }
}

/// The change stream's view: new images only; no reader needs the item before.
pub const STREAM_VIEW_TYPE: &str = "NEW_IMAGE";

impl TableDefinition {
    /// The same normalised description `infra/translate.py` prints for the template, so
    /// a test can compare code and infrastructure as plain JSON.
    pub fn normalised_json(&self) -> serde_json::Value {
        let mut attributes = serde_json::Map::new();
        let mut add = |(name, ty): (&str, KeyType)| {
            attributes.insert(name.to_string(), serde_json::json!(ty));
        };
        add(self.hash);
        add(self.range);
        for index in &self.indexes {
            add(index.hash);
            add(index.range);
        }
        let gsis: serde_json::Map<String, serde_json::Value> = self
            .indexes
            .iter()
            .map(|i| {
                let (projection, mut non_key) = match &i.projection {
                    Projection::All => ("ALL", vec![]),
                    Projection::KeysOnly => ("KEYS_ONLY", vec![]),
                    Projection::Include(attrs) => ("INCLUDE", attrs.clone()),
                };
                non_key.sort_unstable();
                (
                    i.name.to_string(),
                    serde_json::json!({
                        "hash": i.hash.0,
                        "range": i.range.0,
                        "projection": projection,
                        "non_key_attributes": non_key,
                    }),
                )
            })
            .collect();
        serde_json::json!({
            "attribute_definitions": attributes,
            "key_schema": { "hash": self.hash.0, "range": self.range.0 },
            "gsis": gsis,
            "ttl_attribute": self.ttl_attribute,
            "stream_view_type": self.stream_view_type,
        })
    }
}

/// A stable hash of a lead id; spread evenly because lead ids are hashes.
fn shard_hash(lead_id: &str) -> u32 {
    lead_id.bytes().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    })
}

/// The timer shard of a lead: stable, and spread evenly because lead ids are hashes.
pub fn timer_shard_of(lead_id: &str) -> String {
    format!("T{}", shard_hash(lead_id) % TIMER_SHARDS)
}

/// Is `shard` one of the watchdog's timer partitions (`T<n>`), rather than a month
/// partition of leads without a timer?
pub fn is_timer_shard(shard: &str) -> bool {
    shard.starts_with('T')
}

/// The month partition of a lead without a pending timer, created in `month`
/// (`YYYY-MM`).
pub fn month_shard_of(lead_id: &str, month: &str) -> String {
    format!(
        "{MONTH_SHARD_PREFIX}{month}#{}",
        shard_hash(lead_id) % MONTH_SHARDS
    )
}

/// Every partition of month `month` (`YYYY-MM`).
pub fn month_shards(month: &str) -> impl Iterator<Item = String> + '_ {
    (0..MONTH_SHARDS).map(move |n| format!("{MONTH_SHARD_PREFIX}{month}#{n}"))
}

pub fn all_timer_shards() -> impl Iterator<Item = String> {
    (0..TIMER_SHARDS).map(|n| format!("T{n}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_and_timer_partitions_never_meet() {
        let id = "ld_0123456789abcdef";
        let month = month_shard_of(id, "2026-11");
        assert!(month.starts_with("M#2026-11#"), "{month}");
        assert!(!is_timer_shard(&month));
        assert!(is_timer_shard(&timer_shard_of(id)));
        assert!(month_shards("2026-11").any(|s| s == month));
        assert_eq!(month_shards("2026-11").count(), MONTH_SHARDS as usize);
        assert!(all_timer_shards().all(|s| is_timer_shard(&s)));
    }
}
