//! The DynamoDB store. Every write is conditional: a lead's state item is written only
//! if its `version` is still the one that was read, so two concurrent writers can never
//! overwrite each other; the loser re-reads and re-applies (see [`Store::update_lead`]).
//! A state change, its audit record, its metric counters and its idempotency record go
//! in one transaction: they are all stored, or none is.
//!
//! A new lead is the exception, because it is the write every form post makes: it is
//! one conditional PutItem, its audit events and idempotency record riding in its state
//! item (the `genesis` attribute). That costs 2 write units for a typical form post;
//! state, audit and idempotency items in a transaction (2 units per started KB of each)
//! cost 10. The lead's next write moves them to records of their own in its
//! transaction, so a lead's history and its creating request's replay look the same to
//! readers either way.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType as AwsKeyType, Projection as AwsProjection, ProjectionType, Put,
    ReturnConsumedCapacity, ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem,
    Update,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::emf::Metrics;
use crate::table::{self, KeyType, Projection};
use leadwatch_core::lifecycle::Status;
use leadwatch_core::report::{Month, RollupItem};
use leadwatch_core::rollup;
use leadwatch_core::state::{AuditEvent, LeadState};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone else wrote the lead since it was read.
    #[error("the lead changed while this request was being processed")]
    Conflict,
    /// Another request with the same idempotency key was stored first.
    #[error("a request with this idempotency key was already stored")]
    DuplicateRequest,
    #[error("DynamoDB: {0}")]
    Aws(String),
    #[error("stored item is unreadable: {0}")]
    Corrupt(String),
}

fn aws<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Aws(DisplayErrorContext(e).to_string())
}

/// A stored response for an idempotency key: the first answer, replayed on retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

/// Write capacity a save consumed, as DynamoDB reported it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Consumed {
    pub write_units: f64,
    pub read_units: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimerRef {
    pub lead_id: String,
    pub timer_at: i64,
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
    /// Live EMF metrics of committed transitions (Lambda only; off by default).
    metrics: Metrics,
    /// Write units that lead writes through this store (and its clones) consumed, as
    /// DynamoDB reported them, in thousandths: the cost a request really paid, retries
    /// and lost races included.
    write_milliunits: Arc<AtomicU64>,
}

const STATE_SK: &str = "STATE";
/// The attribute holding a lead's state as a JSON document.
const STATE_DOCUMENT: &str = "state";
/// The attribute of a lead created by one PutItem holding what its first write would
/// otherwise have put in records of their own (see [`Genesis`]).
const GENESIS: &str = "genesis";
/// Idempotency records live for a day: long enough for any client retry policy.
const IDEMPOTENCY_TTL_SECONDS: i64 = 86_400;
/// Optimistic-lock retries before a write gives up with a conflict.
const MAX_ATTEMPTS: u32 = 60;

pub fn lead_pk(lead_id: &str) -> String {
    format!("LEAD#{lead_id}")
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store {
            client,
            table: table.into(),
            metrics: Metrics::disabled(),
            write_milliunits: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Write capacity units consumed by lead writes through this store so far.
    pub fn write_units_consumed(&self) -> f64 {
        self.write_milliunits.load(Ordering::Relaxed) as f64 / 1000.0
    }

    fn count_consumed(&self, consumed: Consumed) {
        let milli = (consumed.write_units * 1000.0).round().max(0.0) as u64;
        self.write_milliunits.fetch_add(milli, Ordering::Relaxed);
    }

    /// Client and table from the environment (`AWS_ENDPOINT_URL`, `LEADWATCH_TABLE`),
    /// and EMF metrics when `LEADWATCH_METRICS_NAMESPACE` is set.
    pub async fn from_env() -> Self {
        let config = aws_config::load_from_env().await;
        let table = std::env::var("LEADWATCH_TABLE").unwrap_or_else(|_| "leadwatch".into());
        Store::new(Client::new(&config), table).with_metrics(Metrics::from_env())
    }

    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Where this store's users emit live metrics (the watchdog's run figures).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Create the table from [`table::table_definition`] (local stack and tests; in AWS
    /// the SAM template creates it). Returns Ok if it already exists.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let def = table::table_definition();
        let scalar = |t: KeyType| match t {
            KeyType::S => ScalarAttributeType::S,
            KeyType::N => ScalarAttributeType::N,
        };
        let key = |name: &str, kind: AwsKeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| StoreError::Aws(e.to_string()))
        };
        let mut attrs: Vec<(&str, KeyType)> = vec![def.hash, def.range];
        for i in &def.indexes {
            attrs.push(i.hash);
            attrs.push(i.range);
        }
        let mut request = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(def.hash.0, AwsKeyType::Hash)?)
            .key_schema(key(def.range.0, AwsKeyType::Range)?);
        for (name, ty) in attrs {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(scalar(ty))
                    .build()
                    .map_err(|e| StoreError::Aws(e.to_string()))?,
            );
        }
        for i in &def.indexes {
            let projection = match &i.projection {
                Projection::All => AwsProjection::builder().projection_type(ProjectionType::All),
                Projection::KeysOnly => {
                    AwsProjection::builder().projection_type(ProjectionType::KeysOnly)
                }
                Projection::Include(attrs) => attrs.iter().fold(
                    AwsProjection::builder().projection_type(ProjectionType::Include),
                    |b, a| b.non_key_attributes(*a),
                ),
            };
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(i.name)
                    .key_schema(key(i.hash.0, AwsKeyType::Hash)?)
                    .key_schema(key(i.range.0, AwsKeyType::Range)?)
                    .projection(projection.build())
                    .build()
                    .map_err(|e| StoreError::Aws(e.to_string()))?,
            );
        }
        match request.send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                return Ok(())
            }
            Err(e) => return Err(aws(e)),
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(def.ttl_attribute)
                    .enabled(true)
                    .build()
                    .map_err(|e| StoreError::Aws(e.to_string()))?,
            )
            .send()
            .await
            .map_err(aws)?;
        Ok(())
    }

    pub async fn get_lead(&self, lead_id: &str) -> Result<Option<LeadState>, StoreError> {
        Ok(self.load(lead_id).await?.map(|(state, _)| state))
    }

    /// The lead's state and, while it is still at its first version, its [`Genesis`].
    async fn load(
        &self,
        lead_id: &str,
    ) -> Result<Option<(LeadState, Option<Genesis>)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(lead_pk(lead_id)))
            .key(table::SK, AttributeValue::S(STATE_SK.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let document = genesis_of(&item)?;
        let state = state_from_item(item)?;
        let genesis = document.map(|d| d.with_answer(&state));
        Ok(Some((state, genesis)))
    }

    /// Read-modify-write with optimistic locking: load the lead, let `change` decide
    /// (it may refuse with its own error), write conditionally, and on a version
    /// conflict start again from a fresh read, so concurrent writers never lose updates.
    pub async fn update_lead<F, T, E>(
        &self,
        lead_id: &str,
        mut change: F,
    ) -> Result<Result<Saved<T>, E>, StoreError>
    where
        F: FnMut(Option<LeadState>) -> Result<Option<Change<T>>, E>,
    {
        for attempt in 0..MAX_ATTEMPTS {
            let (current, genesis) = match self.load(lead_id).await? {
                Some((state, genesis)) => (Some(state), genesis),
                None => (None, None),
            };
            let expected = current.as_ref().map(|s| s.version);
            let change = match change(current) {
                Ok(Some(c)) => c,
                Ok(None) => return Ok(Ok(Saved::Unchanged)),
                Err(e) => return Ok(Err(e)),
            };
            // The request that created the lead, retried: its record is still in the
            // lead's genesis, where the duplicate check of `save` cannot see it.
            let created_by = genesis.as_ref().and_then(|g| g.idempotency.as_ref());
            if let (Some((key, ..)), Some(first)) = (&change.idempotency, created_by) {
                if *key == first.key {
                    return Err(StoreError::DuplicateRequest);
                }
            }
            match self
                .save(
                    change.state,
                    expected,
                    &change.events,
                    change.idempotency.as_ref(),
                    genesis,
                )
                .await
            {
                Ok((state, consumed)) => {
                    return Ok(Ok(Saved::Written {
                        state: Box::new(state),
                        output: change.output,
                        consumed,
                    }))
                }
                Err(StoreError::Conflict) => backoff(attempt).await,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }

    /// Write a lead state conditionally on `expected_version` (None: must not exist yet),
    /// with its audit record, the monthly rollup counters its events add
    /// ([`rollup::increments`]) and its idempotency record, atomically: the counters
    /// move exactly when the transition commits, so nothing is counted twice. A new
    /// lead keeps its audit events and idempotency record in its own item; `genesis`,
    /// that of the version being replaced, is moved to its own records here.
    async fn save(
        &self,
        mut state: LeadState,
        expected_version: Option<u64>,
        events: &[AuditEvent],
        idempotency: Option<&(String, StoredResponse, DateTime<Utc>)>,
        genesis: Option<Genesis>,
    ) -> Result<(LeadState, Consumed), StoreError> {
        state.version = expected_version.map_or(1, |v| v + 1);
        let metrics = rollup::increments(&state, events);
        let metrics = metrics.as_slice();
        let mut item = state_item(&state)?;
        let creating = expected_version.is_none();
        if creating {
            let genesis = GenesisDocument {
                version: state.version,
                events: events.to_vec(),
                created_by: idempotency.map(|(key, response, now)| {
                    // The answer is not stored: it is the lead's summary, rebuilt from
                    // the state of this same version when it is needed (see `load`).
                    debug_assert_eq!(response.body, state.summary(true).to_string());
                    CreatedBy {
                        key: key.clone(),
                        request_hash: response.request_hash.clone(),
                        status: response.status,
                        expires_at: now.timestamp() + IDEMPOTENCY_TTL_SECONDS,
                    }
                }),
            };
            let document =
                serde_json::to_string(&genesis).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            item.insert(GENESIS.into(), AttributeValue::S(document));
        }
        let (condition, names, values) = match expected_version {
            None => ("attribute_not_exists(pk)", None, None),
            Some(v) => (
                "#version = :expected",
                Some(HashMap::from([(
                    "#version".to_string(),
                    "version".to_string(),
                )])),
                Some(HashMap::from([(
                    ":expected".to_string(),
                    AttributeValue::N(v.to_string()),
                )])),
            ),
        };

        let lone_write = metrics.is_empty()
            && genesis.is_none()
            && (creating || (events.is_empty() && idempotency.is_none()));
        if lone_write {
            // A new lead that is not an MQL, or a watchdog claim: one conditional put.
            let out = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            return match out {
                Ok(o) => {
                    let consumed = consumed_of(o.consumed_capacity.as_slice());
                    self.count_consumed(consumed);
                    Ok((state, consumed))
                }
                // For a new lead: created meanwhile, perhaps by a twin of this request;
                // the retry reads the lead and its genesis and tells which.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                {
                    Err(StoreError::Conflict)
                }
                Err(e) => Err(aws(e)),
            };
        }

        let state_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(|e| StoreError::Aws(e.to_string()))?;
        let mut items = vec![TransactWriteItem::builder().put(state_put).build()];
        if let Some(genesis) = genesis {
            items.extend(self.genesis_records(&state.lead_id, genesis)?);
        }
        if !events.is_empty() && !creating {
            let record = AuditRecord {
                pk: lead_pk(&state.lead_id),
                sk: format!("EVT#{:010}", state.version),
                lead_id: state.lead_id.clone(),
                version: state.version,
                events: events.to_vec(),
            };
            let item =
                serde_dynamo::to_item(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            items.push(put_new(&self.table, item)?);
        }
        for m in metrics {
            items.push(
                TransactWriteItem::builder()
                    .update(metric_update(&self.table, m)?)
                    .build(),
            );
        }
        let idempotency_index = items.len();
        // A new lead's idempotency record is in its genesis.
        if let Some((key, response, now)) = idempotency.filter(|_| !creating) {
            let record = IdempotencyRecord {
                key: key.clone(),
                response: response.clone(),
                expires_at: now.timestamp() + IDEMPOTENCY_TTL_SECONDS,
            };
            items.push(put_new(&self.table, record.item()?)?);
        }
        let out = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match out {
            Ok(o) => {
                if let Some(last) = events.last() {
                    self.metrics.emit_transition(last.at, metrics);
                }
                let consumed = consumed_of(o.consumed_capacity());
                self.count_consumed(consumed);
                Ok((state, consumed))
            }
            Err(e) => {
                let reasons: Vec<Option<String>> = e
                    .as_service_error()
                    .and_then(|s| match s {
                        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t) => {
                            Some(t.cancellation_reasons().iter().map(|r| r.code().map(str::to_string)).collect())
                        }
                        _ => None,
                    })
                    .unwrap_or_default();
                let failed = |i: usize| {
                    reasons.get(i).and_then(|c| c.as_deref()) == Some("ConditionalCheckFailed")
                };
                if idempotency.is_some() && !creating && failed(idempotency_index) {
                    Err(StoreError::DuplicateRequest)
                } else if (0..idempotency_index).any(failed)
                    || reasons
                        .iter()
                        .any(|r| r.as_deref() == Some("TransactionConflict"))
                {
                    // The state's version, or the audit record of that version, was
                    // written by someone else first: either way, a lost race.
                    Err(StoreError::Conflict)
                } else {
                    Err(aws(e))
                }
            }
        }
    }

    /// The audit record and idempotency record a new lead kept in its item, as the
    /// transaction items that give them their own records. The idempotency record is
    /// overwritten rather than conditionally created: it can only hold this same answer.
    fn genesis_records(
        &self,
        lead_id: &str,
        genesis: Genesis,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let record = AuditRecord {
            pk: lead_pk(lead_id),
            sk: format!("EVT#{:010}", genesis.version),
            lead_id: lead_id.to_string(),
            version: genesis.version,
            events: genesis.events,
        };
        let item =
            serde_dynamo::to_item(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut items = vec![put_new(&self.table, item)?];
        if let Some(first) = genesis.idempotency {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(first.item()?))
                .build()
                .map_err(|e| StoreError::Aws(e.to_string()))?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        Ok(items)
    }

    /// The first response stored under an idempotency key, if any. `lead_id`: the lead
    /// the request was for, whose item holds the record while the request that created
    /// the lead is its only write.
    pub async fn stored_response(
        &self,
        key: &str,
        lead_id: Option<&str>,
    ) -> Result<Option<StoredResponse>, StoreError> {
        if let Some(stored) = self.idempotency_record(key).await? {
            return Ok(Some(stored));
        }
        let Some(lead_id) = lead_id else {
            return Ok(None);
        };
        Ok(self
            .load(lead_id)
            .await?
            .and_then(|(_, genesis)| genesis?.idempotency)
            .filter(|first| first.key == key)
            .map(|first| first.response))
    }

    async fn idempotency_record(&self, key: &str) -> Result<Option<StoredResponse>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(format!("IDEMP#{key}")))
            .key(table::SK, AttributeValue::S("IDEMP".into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws)?;
        out.item
            .map(|item| {
                serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .transpose()
    }

    /// A lead's audit history, oldest first.
    pub async fn history(&self, lead_id: &str) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(self
            .history_records(lead_id)
            .await?
            .into_iter()
            .flat_map(|(_, events)| events)
            .collect())
    }

    /// The audit records of a lead with the state version each one was written with,
    /// oldest first: the order in which changes committed. One query reads the lead's
    /// whole partition: its `EVT#` records and its state item, whose genesis holds the
    /// first version's events until the second write moves them.
    pub async fn history_records(
        &self,
        lead_id: &str,
    ) -> Result<Vec<(u64, Vec<AuditEvent>)>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(lead_pk(lead_id)))
            .consistent_read(true);
        let mut records = Vec::new();
        let mut first = None;
        for item in query_all(request).await?.0 {
            match item.get(table::SK) {
                Some(AttributeValue::S(sk)) if sk.starts_with("EVT#") => {
                    let record: AuditRecord = serde_dynamo::from_item(item)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    records.push((record.version, record.events));
                }
                Some(AttributeValue::S(sk)) if sk == STATE_SK => first = genesis_of(&item)?,
                _ => {}
            }
        }
        // A query is not isolated from a transaction committing meanwhile: the moved
        // record and the genesis it came from may both be read. They are the same.
        if let Some(genesis) = first {
            if !records.iter().any(|(v, _)| *v == genesis.version) {
                records.push((genesis.version, genesis.events));
            }
        }
        records.sort_by_key(|(version, _)| *version);
        Ok(records)
    }

    /// Bulk-load lead states into an empty table (imports, backfills, load tests), 25
    /// items per request. Unconditional: never use it on leads that may exist.
    pub async fn import(&self, states: &[LeadState]) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        for chunk in states.chunks(25) {
            let mut requests = Vec::with_capacity(chunk.len());
            for state in chunk {
                let put = PutRequest::builder()
                    .set_item(Some(state_item(state)?))
                    .build()
                    .map_err(|e| StoreError::Aws(e.to_string()))?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
            let mut pending = HashMap::from([(self.table.clone(), requests)]);
            // BatchWriteItem may leave items unprocessed under load: resend them.
            for attempt in 0..MAX_ATTEMPTS {
                let out = self
                    .client
                    .batch_write_item()
                    .set_request_items(Some(pending))
                    .send()
                    .await
                    .map_err(aws)?;
                match out.unprocessed_items {
                    Some(left) if !left.is_empty() => {
                        pending = left;
                        backoff(attempt).await;
                    }
                    _ => break,
                }
            }
        }
        Ok(())
    }

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
        condition_held(out)
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
        condition_held(request.send().await)
    }

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
                .expression_attribute_values(":pk", AttributeValue::S(format!("METRICS#{month}")))
                .consistent_read(true);
            for item in query_all(request).await?.0 {
                items.push(rollup_from_item(&month, item)?);
            }
        }
        Ok(items)
    }

    /// Lead states for an export, filtered by status and team. Open MQLs of one team
    /// come from the team-queue index; anything wider is a full export, which reads
    /// the table by nature (a paginated scan of state items only).
    pub async fn export_leads(
        &self,
        status: Option<Status>,
        team: Option<&str>,
    ) -> Result<Vec<LeadState>, StoreError> {
        if let (Some(Status::Mql), Some(team)) = (status, team) {
            return self.team_queue(team).await;
        }
        let mut filter = vec!["#sk = :state"];
        let mut scan = self
            .client
            .scan()
            .table_name(&self.table)
            .expression_attribute_names("#sk", table::SK)
            .expression_attribute_values(":state", AttributeValue::S(STATE_SK.into()));
        if let Some(status) = status {
            filter.push("#status = :status");
            scan = scan
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", AttributeValue::S(status.as_str().into()));
        }
        if let Some(team) = team {
            filter.push("#team = :team");
            scan = scan
                .expression_attribute_names("#team", "team")
                .expression_attribute_values(":team", AttributeValue::S(team.into()));
        }
        let mut pages = scan
            .filter_expression(filter.join(" AND "))
            .into_paginator()
            .send();
        let mut leads = Vec::new();
        while let Some(page) = pages.next().await {
            for item in page.map_err(aws)?.items.unwrap_or_default() {
                leads.push(state_from_item(item)?);
            }
        }
        leads.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then(a.lead_id.cmp(&b.lead_id))
        });
        Ok(leads)
    }

    /// A team's open MQLs, oldest first, from the sparse team-queue index.
    pub async fn team_queue(&self, team: &str) -> Result<Vec<LeadState>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(table::TEAM_QUEUE_INDEX)
            .key_condition_expression("#team = :team")
            .expression_attribute_names("#team", table::QUEUE_TEAM)
            .expression_attribute_values(":team", AttributeValue::S(team.into()))
            .scan_index_forward(true);
        let keys: Vec<HashMap<String, AttributeValue>> = query_all(request)
            .await?
            .0
            .into_iter()
            .map(|mut entry| {
                let mut key = HashMap::new();
                for name in [table::PK, table::SK] {
                    if let Some(value) = entry.remove(name) {
                        key.insert(name.to_string(), value);
                    }
                }
                key
            })
            .collect();
        self.states_by_key(keys).await
    }

    /// The lead states of `keys`, strongly consistent, 100 keys per BatchGetItem,
    /// resending what DynamoDB left unprocessed. Keys whose item is gone are skipped.
    async fn states_by_key(
        &self,
        keys: Vec<HashMap<String, AttributeValue>>,
    ) -> Result<Vec<LeadState>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut states = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Aws(e.to_string()))?,
            );
            let mut attempt = 0;
            while let Some(request) = pending.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(aws)?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    states.push(state_from_item(item)?);
                }
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys().is_empty());
                if pending.is_some() {
                    if attempt >= MAX_ATTEMPTS {
                        return Err(StoreError::Aws(
                            "BatchGetItem kept leaving keys unprocessed".into(),
                        ));
                    }
                    backoff(attempt).await;
                    attempt += 1;
                }
            }
        }
        Ok(states)
    }
}

/// What a change function asks the store to write.
pub struct Change<T> {
    pub state: LeadState,
    pub events: Vec<AuditEvent>,
    pub idempotency: Option<(String, StoredResponse, DateTime<Utc>)>,
    pub output: T,
}

pub enum Saved<T> {
    Written {
        state: Box<LeadState>,
        output: T,
        consumed: Consumed,
    },
    Unchanged,
}

/// What a new lead's single PutItem keeps in its item instead of separate records:
/// the audit events of its first version and the idempotency record of the request
/// that created it. Present only until the lead's next write.
#[derive(Debug)]
struct Genesis {
    version: u64,
    events: Vec<AuditEvent>,
    idempotency: Option<IdempotencyRecord>,
}

/// [`Genesis`] as stored: the creating request's answer is left out, because it is
/// the summary of the very state the item holds ([`LeadState::summary`]); that keeps
/// a new lead's item, and so its write, about a kilobyte smaller.
#[derive(Debug, Serialize, Deserialize)]
struct GenesisDocument {
    version: u64,
    events: Vec<AuditEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_by: Option<CreatedBy>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CreatedBy {
    key: String,
    request_hash: String,
    status: u16,
    expires_at: i64,
}

impl GenesisDocument {
    /// `state`: the lead item's state, which is still the version the genesis made.
    fn with_answer(self, state: &LeadState) -> Genesis {
        Genesis {
            version: self.version,
            events: self.events,
            idempotency: self.created_by.map(|c| IdempotencyRecord {
                key: c.key,
                response: StoredResponse {
                    request_hash: c.request_hash,
                    status: c.status,
                    body: state.summary(true).to_string(),
                },
                expires_at: c.expires_at,
            }),
        }
    }
}

#[derive(Debug)]
struct IdempotencyRecord {
    key: String,
    response: StoredResponse,
    /// Epoch seconds: the table's TTL attribute once it is a record of its own.
    expires_at: i64,
}

impl IdempotencyRecord {
    fn item(&self) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(&self.response)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        item.insert(
            table::PK.into(),
            AttributeValue::S(format!("IDEMP#{}", self.key)),
        );
        item.insert(table::SK.into(), AttributeValue::S("IDEMP".into()));
        item.insert(
            table::TTL_ATTRIBUTE.into(),
            AttributeValue::N(self.expires_at.to_string()),
        );
        Ok(item)
    }
}

fn genesis_of(
    item: &HashMap<String, AttributeValue>,
) -> Result<Option<GenesisDocument>, StoreError> {
    match item.get(GENESIS) {
        None => Ok(None),
        Some(AttributeValue::S(document)) => serde_json::from_str(document)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("lead genesis: {e}"))),
        Some(_) => Err(StoreError::Corrupt("lead genesis is not a string".into())),
    }
}

#[derive(Serialize, Deserialize)]
struct AuditRecord {
    pk: String,
    sk: String,
    lead_id: String,
    version: u64,
    events: Vec<AuditEvent>,
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

/// A conditional write's outcome: `true` written, `false` its condition did not hold.
fn condition_held<O, E, R>(result: Result<O, SdkError<E, R>>) -> Result<bool, StoreError>
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().and_then(|s| s.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(aws(e)),
    }
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

fn metric_update(table_name: &str, m: &rollup::MetricIncrement) -> Result<Update, StoreError> {
    let mut expr = Vec::new();
    let mut update = Update::builder()
        .table_name(table_name)
        .key(table::PK, AttributeValue::S(format!("METRICS#{}", m.month)))
        .key(table::SK, AttributeValue::S(m.dimension.clone()));
    for (i, (name, by)) in m.counters.iter().enumerate() {
        expr.push(format!("#c{i} :v{i}"));
        update = update
            .expression_attribute_names(format!("#c{i}"), name)
            .expression_attribute_values(format!(":v{i}"), AttributeValue::N(by.to_string()));
    }
    update
        .update_expression(format!("ADD {}", expr.join(", ")))
        .build()
        .map_err(|e| StoreError::Aws(e.to_string()))
}

fn consumed_of(c: &[aws_sdk_dynamodb::types::ConsumedCapacity]) -> Consumed {
    c.iter().fold(Consumed::default(), |acc, c| Consumed {
        write_units: acc.write_units + c.write_capacity_units.or(c.capacity_units).unwrap_or(0.0),
        read_units: acc.read_units + c.read_capacity_units.unwrap_or(0.0),
    })
}

impl From<&aws_sdk_dynamodb::types::ConsumedCapacity> for Consumed {
    fn from(c: &aws_sdk_dynamodb::types::ConsumedCapacity) -> Self {
        consumed_of(std::slice::from_ref(c))
    }
}

/// The state item: the serialised state plus the key and index attributes derived
/// from it. Attributes of an index are written only when the lead belongs in it; that
/// absence is what keeps both indexes sparse.
fn state_item(state: &LeadState) -> Result<HashMap<String, AttributeValue>, StoreError> {
    // The state travels as one JSON document: nothing queries inside it, and one string
    // attribute is far cheaper to write and parse than a deep tree of maps. The
    // attributes that conditions and indexes use sit beside it.
    let document = serde_json::to_string(state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut item = HashMap::from([
        (
            table::PK.to_string(),
            AttributeValue::S(lead_pk(&state.lead_id)),
        ),
        (table::SK.to_string(), AttributeValue::S(STATE_SK.into())),
        (
            "lead_id".to_string(),
            AttributeValue::S(state.lead_id.clone()),
        ),
        (
            "status".to_string(),
            AttributeValue::S(state.status.as_str().into()),
        ),
        (
            "version".to_string(),
            AttributeValue::N(state.version.to_string()),
        ),
        (
            table::SLA_STEP.to_string(),
            AttributeValue::N(state.sla_step.to_string()),
        ),
        (STATE_DOCUMENT.to_string(), AttributeValue::S(document)),
    ]);
    if let Some(team) = &state.team {
        item.insert("team".into(), AttributeValue::S(team.clone()));
    }
    // The queue index sorts on `mql_at`: a fixed-width form (always milliseconds), since
    // chrono omits a zero fraction and "…:00.500Z" sorts before "…:00Z" as a string.
    // `queue_team`, its partition key, is present only while the lead waits for sales.
    if let Some(mql_at) = state.mql_at {
        item.insert(
            table::MQL_AT.into(),
            AttributeValue::S(mql_at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
        );
        if state.status == leadwatch_core::lifecycle::Status::Mql {
            if let Some(team) = &state.team {
                item.insert(table::QUEUE_TEAM.into(), AttributeValue::S(team.clone()));
            }
        }
    }
    if let Some((at, kind)) = state.next_timer() {
        item.insert(
            table::TIMER_SHARD.into(),
            AttributeValue::S(table::timer_shard_of(&state.lead_id)),
        );
        item.insert(
            table::TIMER_AT.into(),
            AttributeValue::N(at.timestamp().to_string()),
        );
        item.insert(
            table::TIMER_KIND.into(),
            AttributeValue::S(kind.as_str().into()),
        );
    }
    Ok(item)
}

fn state_from_item(item: HashMap<String, AttributeValue>) -> Result<LeadState, StoreError> {
    match item.get(STATE_DOCUMENT) {
        Some(AttributeValue::S(document)) => {
            serde_json::from_str(document).map_err(|e| StoreError::Corrupt(e.to_string()))
        }
        _ => Err(StoreError::Corrupt(
            "lead item without its state document".into(),
        )),
    }
}

/// A transaction item that creates `item` and fails if it already exists: audit and
/// idempotency records are written once, never overwritten.
fn put_new(
    table_name: &str,
    item: HashMap<String, AttributeValue>,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table_name)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(|e| StoreError::Aws(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Every page of a query (the SDK's paginator), with the read capacity it reported.
async fn query_all(
    request: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<(Vec<HashMap<String, AttributeValue>>, f64), StoreError> {
    let mut pages = request.into_paginator().send();
    let mut items = Vec::new();
    let mut read_units = 0.0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws)?;
        read_units += page
            .consumed_capacity
            .as_ref()
            .and_then(|c| c.capacity_units)
            .unwrap_or(0.0);
        items.extend(page.items.unwrap_or_default());
    }
    Ok((items, read_units))
}

async fn backoff(attempt: u32) {
    // Jitter spreads colliding writers apart. `RandomState` is seeded randomly for each
    // instance, which is all the randomness this needs (no clock, no extra crate).
    use std::hash::BuildHasher;
    let jitter = std::collections::hash_map::RandomState::new().hash_one(attempt) % 20;
    let base = 5u64 * u64::from(attempt.min(10) + 1);
    tokio::time::sleep(StdDuration::from_millis(base + jitter)).await;
}
