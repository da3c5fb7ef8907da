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
//!
//! One [`Store`] serves every concern, each in a module of its own so that a change to
//! one (the timer index, say) is read and reviewed without the others:
//!
//! | module          | concern                                                        |
//! |-----------------|----------------------------------------------------------------|
//! | `leads`         | reading and writing a lead: the optimistic-lock loop, `save`   |
//! | `item`          | the lead's items as stored: state item, genesis, audit record  |
//! | `history`       | a lead's audit history, genesis included                       |
//! | `idempotency`   | the one idempotency record, in its own item or in a genesis    |
//! | `timers`        | the sparse timer index and the one-off job markers             |
//! | `rollups`       | the monthly metric counters: written with a change, read back  |
//! | `export`        | multi-lead reads: exports and team queues                      |
//! | `deliveries`    | the notifier's delivery records: each alert once per person    |
//! | `replay`        | claimed signatures: a signed request is applied once           |
//! | `schema`        | creating the table (local stack and tests)                     |
//!
//! This file holds what they all share: the [`Store`] handle, its errors, the
//! capacity it reports and the helpers every module's requests use.

mod deliveries;
mod document;
mod export;
mod history;
mod idempotency;
mod item;
mod leads;
mod replay;
mod rollups;
mod schema;
mod timers;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;

use crate::aws::{dynamodb_client, sdk_config, TimeBudget};
use crate::emf::Metrics;

pub use deliveries::{DeliveryClaim, DeliveryRecord, DELIVERY_RECORD_DAYS};
pub use export::{ExportJob, ExportReader, JobStatus, EXPORT_JOB_DAYS};
pub use idempotency::StoredResponse;
pub use item::lead_pk;
pub use leads::{Change, Saved};
pub use rollups::{decode_counts, CountedVersion, CountsAdded};
pub use timers::TimerRef;

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

/// Write capacity a save consumed, as DynamoDB reported it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Consumed {
    pub write_units: f64,
    pub read_units: f64,
}

impl From<&ConsumedCapacity> for Consumed {
    fn from(c: &ConsumedCapacity) -> Self {
        consumed_of(std::slice::from_ref(c))
    }
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

/// Optimistic-lock retries before a write gives up with a conflict (and resends of
/// what a batch request left unprocessed before it gives up).
const MAX_ATTEMPTS: u32 = 60;

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

    /// The store of an API function: [`Store::from_config`] with the shared AWS
    /// configuration under [`TimeBudget::HTTP_API`] (endpoint, region and credentials
    /// from the environment, e.g. `AWS_ENDPOINT_URL`).
    pub async fn from_env() -> Self {
        Store::from_config(&sdk_config(TimeBudget::HTTP_API).await)
    }

    /// A client of `config` (see [`crate::aws::sdk_config`]), the table named by
    /// `LEADWATCH_TABLE` (default `leadwatch`), and EMF metrics when
    /// `LEADWATCH_METRICS_NAMESPACE` is set.
    pub fn from_config(config: &SdkConfig) -> Self {
        let table = std::env::var("LEADWATCH_TABLE").unwrap_or_else(|_| "leadwatch".into());
        Store::new(dynamodb_client(config), table).with_metrics(Metrics::from_env())
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
}

/// A failed request, with the context the SDK has about it.
fn aws<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Aws(DisplayErrorContext(e).to_string())
}

/// A request or item the SDK refused to build (a required field left out).
fn build_error(e: BuildError) -> StoreError {
    StoreError::Aws(e.to_string())
}

/// An item that does not (de)serialise.
fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// A conditional write's outcome: its output if written, `None` if its condition did
/// not hold.
fn conditional<O, E, R>(result: Result<O, SdkError<E, R>>) -> Result<Option<O>, StoreError>
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error().and_then(|s| s.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(None)
        }
        Err(e) => Err(aws(e)),
    }
}

fn consumed_of(c: &[ConsumedCapacity]) -> Consumed {
    c.iter().fold(Consumed::default(), |acc, c| Consumed {
        write_units: acc.write_units + c.write_capacity_units.or(c.capacity_units).unwrap_or(0.0),
        read_units: acc.read_units + c.read_capacity_units.unwrap_or(0.0),
    })
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
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Every page of a query (the SDK's paginator), with the read capacity it reported.
async fn query_all(
    request: QueryFluentBuilder,
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
