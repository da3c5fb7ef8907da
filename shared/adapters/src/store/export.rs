//! Reads of many leads at once: exports for the export job and the CLI, and a team's
//! queue of open MQLs. None of them scans the table: an export pages through the
//! `timers` index (its `M#<month>#<n>` partitions, and its `T<n>` partitions filtered on
//! `created_at`, see [`crate::table`]) and reads the states by key with BatchGetItem,
//! one page of at most 100 keys at a time, so its memory is one page whatever the
//! table's size. Export job records (`EXPORT#<id>`) live here too.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::item::state_from_item;
use super::{
    aws, backoff, build_error, conditional, corrupt, query_all, Store, StoreError, MAX_ATTEMPTS,
};
use crate::table;
use leadwatch_core::export::ExportQuery;
use leadwatch_core::lifecycle::Status;
use leadwatch_core::state::LeadState;

/// Keys per BatchGetItem request: DynamoDB's limit.
const BATCH_GET_KEYS: usize = 100;

/// One index partition an export reads.
#[derive(Debug, Clone)]
enum Partition {
    /// `M#<month>#<n>`: leads without a pending timer, created that month.
    Month(String),
    /// `T<n>`: leads with a pending timer, filtered on their creation time.
    Timers(String),
}

/// An export read page by page: each [`ExportReader::next_page`] is one index query of
/// at most 100 keys and one BatchGetItem, the kept states of that page, dropped by the
/// caller before the next. Leads come month by month (each month's partitions in
/// creation order), then the leads with a pending timer.
///
/// A lead is taken from the partition it is in when its state is read: one found in a
/// month partition that has a timer by now is left to the timer partitions (read
/// later), and one found in a timer partition that no longer has one is skipped. So no
/// lead is written twice, and a lead that does not change partition during the export
/// is written exactly once.
pub struct ExportReader {
    store: Store,
    query: ExportQuery,
    partitions: std::vec::IntoIter<Partition>,
    current: Option<Partition>,
    start_key: Option<HashMap<String, AttributeValue>>,
    /// Open MQLs of one team come from the team-queue index instead, all at once (a
    /// queue, not a table: bounded by what a team can work).
    team_queue: Option<String>,
    /// Index queries and BatchGetItem calls made so far.
    pub requests: u64,
}

impl ExportReader {
    /// The next page of kept lead states; None when the export is read.
    pub async fn next_page(&mut self) -> Result<Option<Vec<LeadState>>, StoreError> {
        if let Some(team) = self.team_queue.take() {
            let states = self.store.team_queue(&team).await?;
            self.requests += 1 + states.len().div_ceil(BATCH_GET_KEYS) as u64;
            return Ok(Some(
                states.into_iter().filter(|s| self.query.keeps(s)).collect(),
            ));
        }
        loop {
            let partition = match &self.current {
                Some(p) => p.clone(),
                None => match self.partitions.next() {
                    Some(p) => {
                        self.current = Some(p.clone());
                        p
                    }
                    None => return Ok(None),
                },
            };
            let (keys, next) = self.query_page(&partition).await?;
            self.start_key = next;
            if self.start_key.is_none() {
                self.current = None;
            }
            if keys.is_empty() {
                continue;
            }
            self.requests += 1;
            let states = self.store.states_by_key(keys).await?;
            let timers = matches!(partition, Partition::Timers(_));
            return Ok(Some(
                states
                    .into_iter()
                    .filter(|s| s.next_timer().is_some() == timers && self.query.keeps(s))
                    .collect(),
            ));
        }
    }

    /// One page of keys of `partition`, and where the next page starts.
    #[allow(clippy::type_complexity)]
    async fn query_page(
        &mut self,
        partition: &Partition,
    ) -> Result<
        (
            Vec<HashMap<String, AttributeValue>>,
            Option<HashMap<String, AttributeValue>>,
        ),
        StoreError,
    > {
        let mut request = self
            .store
            .client
            .query()
            .table_name(&self.store.table)
            .index_name(table::TIMERS_INDEX)
            .key_condition_expression("#shard = :shard")
            .expression_attribute_names("#shard", table::TIMER_SHARD)
            .limit(BATCH_GET_KEYS as i32)
            .set_exclusive_start_key(self.start_key.take());
        match partition {
            Partition::Month(shard) => {
                request =
                    request.expression_attribute_values(":shard", AttributeValue::S(shard.clone()));
            }
            Partition::Timers(shard) => {
                let (start, end) = self.query.created_range();
                request = request
                    .expression_attribute_values(":shard", AttributeValue::S(shard.clone()))
                    .filter_expression("#created >= :start AND #created < :end")
                    .expression_attribute_names("#created", table::CREATED_AT)
                    .expression_attribute_values(
                        ":start",
                        AttributeValue::N(start.timestamp().to_string()),
                    )
                    .expression_attribute_values(
                        ":end",
                        AttributeValue::N(end.timestamp().to_string()),
                    );
            }
        }
        self.requests += 1;
        let out = request.send().await.map_err(aws)?;
        let keys = out
            .items
            .unwrap_or_default()
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
        Ok((keys, out.last_evaluated_key.filter(|k| !k.is_empty())))
    }
}

/// Where an export job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Running,
    Done,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }
}

/// An export job's record (`EXPORT#<id>`): what was asked, by whom, and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportJob {
    pub export_id: String,
    pub query: ExportQuery,
    /// The caller's subject: who may poll the job besides ops.
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub status: JobStatus,
    /// The CSV's object key in the export bucket, once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_key: Option<String>,
    #[serde(default)]
    pub rows: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How long a job record is kept (DynamoDB TTL): as long as the bucket keeps its CSV.
pub const EXPORT_JOB_DAYS: i64 = 7;

fn job_key(export_id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            table::PK.to_string(),
            AttributeValue::S(format!("EXPORT#{export_id}")),
        ),
        (table::SK.to_string(), AttributeValue::S("EXPORT".into())),
    ])
}

const JOB_DOCUMENT: &str = "job";
const JOB_STATUS: &str = "job_status";

impl Store {
    /// Read the leads `query` asks for, page by page (see [`ExportReader`]). Open MQLs
    /// of one team come from the team-queue index.
    pub fn export_reader(&self, query: &ExportQuery) -> ExportReader {
        let team_queue = match (query.status, &query.team) {
            (Some(Status::Mql), Some(team)) => Some(team.clone()),
            _ => None,
        };
        let mut partitions = Vec::new();
        if team_queue.is_none() {
            for month in query.months() {
                partitions.extend(table::month_shards(&month.to_string()).map(Partition::Month));
            }
            partitions.extend(table::all_timer_shards().map(Partition::Timers));
        }
        ExportReader {
            store: self.clone(),
            query: query.clone(),
            partitions: partitions.into_iter(),
            current: None,
            start_key: None,
            team_queue,
            requests: 0,
        }
    }

    /// Record a new export job; false if its id is taken.
    pub async fn create_export_job(
        &self,
        job: &ExportJob,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let document = serde_json::to_string(job).map_err(corrupt)?;
        let expires = now + chrono::Duration::days(EXPORT_JOB_DAYS);
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(job_key(&job.export_id)))
            .item(JOB_DOCUMENT, AttributeValue::S(document))
            .item(JOB_STATUS, AttributeValue::S(job.status.as_str().into()))
            .item(
                table::TTL_ATTRIBUTE,
                AttributeValue::N(expires.timestamp().to_string()),
            )
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", table::PK)
            .send()
            .await;
        Ok(conditional(out)?.is_some())
    }

    /// The export job `export_id`, if there is one.
    pub async fn export_job(&self, export_id: &str) -> Result<Option<ExportJob>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(job_key(export_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws)?;
        match out.item.as_ref().and_then(|i| i.get(JOB_DOCUMENT)) {
            None => Ok(None),
            Some(AttributeValue::S(document)) => {
                serde_json::from_str(document).map(Some).map_err(corrupt)
            }
            Some(_) => Err(StoreError::Corrupt("export job is not a string".into())),
        }
    }

    /// Settle a running job (done or failed); false if it was not running any more
    /// (a repeated delivery of the same job finished it first).
    pub async fn finish_export_job(&self, job: &ExportJob) -> Result<bool, StoreError> {
        let document = serde_json::to_string(job).map_err(corrupt)?;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(job_key(&job.export_id)))
            .update_expression("SET #job = :job, #status = :status")
            .condition_expression("#status = :running")
            .expression_attribute_names("#job", JOB_DOCUMENT)
            .expression_attribute_names("#status", JOB_STATUS)
            .expression_attribute_values(":job", AttributeValue::S(document))
            .expression_attribute_values(":status", AttributeValue::S(job.status.as_str().into()))
            .expression_attribute_values(
                ":running",
                AttributeValue::S(JobStatus::Running.as_str().into()),
            )
            .send()
            .await;
        Ok(conditional(out)?.is_some())
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
        let mut states = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_KEYS) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()
                    .map_err(build_error)?,
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
