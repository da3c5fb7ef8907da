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
//!
//! A lead written once so far keeps its first audit record and idempotency record in
//! its state item (`genesis`); its second write moves them to the rows above (see the
//! store's module docs: it makes a new lead one PutItem).
//!
//! Two sparse GSIs: `timers` holds only leads with a pending watchdog timer, sharded
//! so that due timers are read by N small queries whose cost follows the number of due
//! timers, never the table size; `team_queue` holds only open MQLs, per team, oldest first.

use serde::Serialize;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const TTL_ATTRIBUTE: &str = "expires_at";

pub const TIMERS_INDEX: &str = "timers";
pub const TIMER_SHARD: &str = "timer_shard";
pub const TIMER_AT: &str = "timer_at";
pub const TIMER_KIND: &str = "timer_kind";
pub const SLA_STEP: &str = "sla_step";

pub const TEAM_QUEUE_INDEX: &str = "team_queue";
pub const QUEUE_TEAM: &str = "queue_team";
pub const MQL_AT: &str = "mql_at";

/// Timer shards: enough that one hot partition never throttles the watchdog, few enough
/// that a run's fixed cost (one query per shard) stays small.
pub const TIMER_SHARDS: u32 = 8;

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
                projection: Projection::Include(vec![TIMER_KIND, SLA_STEP]),
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

/// The timer shard of a lead: stable, and spread evenly because lead ids are hashes.
pub fn timer_shard_of(lead_id: &str) -> String {
    let n = lead_id.bytes().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    format!("T{}", n % TIMER_SHARDS)
}

pub fn all_timer_shards() -> impl Iterator<Item = String> {
    (0..TIMER_SHARDS).map(|n| format!("T{n}"))
}
