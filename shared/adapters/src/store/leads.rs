//! Reading and writing one lead. Every change is a read-modify-write under optimistic
//! locking ([`Store::update_lead`]), so concurrent writers (a form post, a sales
//! disposition, the watchdog) never lose each other's updates; `save` decides how
//! little a change can be written with (one PutItem, or one transaction with its audit,
//! rollup and idempotency records) without ever writing part of it.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, PutRequest, ReturnConsumedCapacity, TransactWriteItem, WriteRequest,
};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::idempotency::{IdempotencyRecord, StoredResponse};
use super::item::{
    audit_put, document_of, lead_pk, state_item, Genesis, GenesisDocument, JournalEntry, DOCUMENT,
    MAX_JOURNAL, STATE_SK,
};
use super::rollups::encode_counts;
use super::{
    aws, backoff, build_error, conditional, consumed_of, Consumed, Store, StoreError, MAX_ATTEMPTS,
};
use crate::table;
use leadwatch_core::alert::AlertMessage;
use leadwatch_core::commands::Outcome;
use leadwatch_core::rollup::MetricIncrement;
use leadwatch_core::state::{AuditEvent, LeadState};

/// What a change function asks the store to write: a command's outcome and, for a
/// request that carried an idempotency key, the answer to remember under it (in the
/// same transaction).
pub struct Change<T> {
    pub outcome: Outcome<T>,
    pub idempotency: Option<(String, StoredResponse, DateTime<Utc>)>,
}

impl<T> From<Outcome<T>> for Change<T> {
    fn from(outcome: Outcome<T>) -> Self {
        Change {
            outcome,
            idempotency: None,
        }
    }
}

/// A lead as [`Store::load`] reads it.
pub(super) struct Loaded {
    pub(super) state: LeadState,
    pub(super) genesis: Option<Genesis>,
    pub(super) journal: Vec<JournalEntry>,
}

/// What [`Store::update_lead`] did.
pub enum Saved<T> {
    /// The outcome is stored. Its alerts and metric increments are handed back for the
    /// entry point to publish and emit, now that they are true.
    Written {
        state: Box<LeadState>,
        output: T,
        alerts: Vec<AlertMessage>,
        increments: Vec<MetricIncrement>,
        /// The time of the change's last audit event: when its metrics happened.
        changed_at: Option<DateTime<Utc>>,
        consumed: Consumed,
    },
    /// The change function had nothing to write.
    Unchanged,
}

impl Store {
    /// A stored change, seen through by the entry point that asked for it: log it,
    /// emit the metrics its transitions add (only now, when they are true), and hand
    /// back the command's answer. None for [`Saved::Unchanged`].
    pub fn settle<T>(&self, saved: Saved<T>) -> Option<T> {
        match saved {
            Saved::Written {
                state,
                output,
                increments,
                changed_at,
                consumed,
                ..
            } => {
                tracing::info!(
                    lead_id = %state.lead_id,
                    status = %state.status,
                    version = state.version,
                    write_units = consumed.write_units,
                    "lead stored"
                );
                if let Some(at) = changed_at {
                    self.metrics.emit_transition(at, &increments);
                }
                Some(output)
            }
            Saved::Unchanged => None,
        }
    }

    pub async fn get_lead(&self, lead_id: &str) -> Result<Option<LeadState>, StoreError> {
        Ok(self.load(lead_id).await?.map(|loaded| loaded.state))
    }

    /// The lead's state with what its item holds of its history: the [`Genesis`] and
    /// the journal, until a transaction files them.
    pub(super) async fn load(&self, lead_id: &str) -> Result<Option<Loaded>, StoreError> {
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
        let document = document_of(&item)?;
        let state = document.state;
        let genesis = document.genesis.map(|d| d.with_answer(&state));
        Ok(Some(Loaded {
            state,
            genesis,
            journal: document.journal,
        }))
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
            let (current, genesis, journal) = match self.load(lead_id).await? {
                Some(loaded) => (Some(loaded.state), loaded.genesis, loaded.journal),
                None => (None, None, Vec::new()),
            };
            let expected = current.as_ref().map(|s| s.version);
            let change = match change(current) {
                Ok(Some(c)) => c,
                Ok(None) => return Ok(Ok(Saved::Unchanged)),
                Err(e) => return Ok(Err(e)),
            };
            let Change {
                outcome,
                idempotency,
            } = change;
            let idempotency = idempotency
                .as_ref()
                .map(|(key, response, now)| IdempotencyRecord::new(key, response, *now));
            // The request that created the lead, retried: its record is still in the
            // lead's genesis, where the duplicate check of `save` cannot see it.
            let created_by = genesis.as_ref().and_then(|g| g.idempotency.as_ref());
            if let (Some(record), Some(first)) = (&idempotency, created_by) {
                if record.key == first.key {
                    return Err(StoreError::DuplicateRequest);
                }
            }
            let changed_at = outcome.events.last().map(|e| e.at);
            match self
                .save(
                    outcome.state,
                    expected,
                    &outcome.events,
                    &outcome.increments,
                    idempotency.as_ref(),
                    genesis,
                    journal,
                )
                .await
            {
                Ok((state, consumed)) => {
                    return Ok(Ok(Saved::Written {
                        state: Box::new(state),
                        output: outcome.response,
                        alerts: outcome.alerts,
                        increments: outcome.increments,
                        changed_at,
                        consumed,
                    }))
                }
                Err(StoreError::Conflict) => backoff(attempt).await,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }

    /// Write a lead state conditionally on `expected_version` (None: must not exist yet)
    /// with its audit events and idempotency record, all or nothing, as cheaply as
    /// that allows:
    ///
    /// - **One PutItem** when nothing needs an item of its own: a new lead (its events
    ///   and the creating request's record ride in its genesis), or a later change
    ///   without an idempotency key (its events join the item's journal). A watchdog
    ///   claim or step, a disposition without a key, a signal: one small write.
    /// - **One transaction** otherwise (an idempotency record must be findable by its
    ///   key; the journal is full): the state, and the genesis, the journal and this
    ///   version's events filed as `EVT#` records, and the idempotency record.
    ///
    /// Either way the item carries the rollup counters this version adds (`metrics`,
    /// decided by the command) in `counts`; the change-stream consumer adds them up
    /// (see `rollups`). Counting off the stream keeps the month's counter items out of
    /// every MQL's write, where they were both most of its cost and a hot key.
    #[allow(clippy::too_many_arguments)]
    async fn save(
        &self,
        mut state: LeadState,
        expected_version: Option<u64>,
        events: &[AuditEvent],
        metrics: &[MetricIncrement],
        idempotency: Option<&IdempotencyRecord>,
        genesis: Option<Genesis>,
        mut journal: Vec<JournalEntry>,
    ) -> Result<(LeadState, Consumed), StoreError> {
        state.version = expected_version.map_or(1, |v| v + 1);
        let creating = expected_version.is_none();
        let counts = encode_counts(metrics)?;
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

        let journal_has_room = events.is_empty() || journal.len() < MAX_JOURNAL;
        let lone_write = creating || (idempotency.is_none() && journal_has_room);
        if lone_write {
            let item = if creating {
                let genesis = GenesisDocument::new(&state, events, idempotency);
                state_item(&state, Some(&genesis), &[], counts)?
            } else {
                if !events.is_empty() {
                    journal.push(JournalEntry {
                        version: state.version,
                        events: events.to_vec(),
                    });
                }
                let genesis = genesis.as_ref().map(Genesis::kept);
                state_item(&state, genesis.as_ref(), &journal, counts)?
            };
            let written = item.get(DOCUMENT).cloned();
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
            return match conditional(out)? {
                Some(o) => {
                    let consumed = consumed_of(o.consumed_capacity.as_slice());
                    self.count_consumed(consumed);
                    Ok((state, consumed))
                }
                // The item already holds exactly this write: its answer was lost (a
                // timeout, a 5xx) after it took effect, and the SDK's retry of it failed
                // its own condition. That is this write's success, not a lost race.
                None if self.holds(&state, written.as_ref()).await? => {
                    Ok((state, Consumed::default()))
                }
                // For a new lead: created meanwhile, perhaps by a twin of this request;
                // the retry reads the lead and its genesis and tells which.
                None => Err(StoreError::Conflict),
            };
        }

        let state_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(state_item(&state, None, &[], counts)?))
            .condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(build_error)?;
        let mut items = vec![TransactWriteItem::builder().put(state_put).build()];
        if let Some(genesis) = genesis {
            items.extend(genesis.into_records(&self.table, &state.lead_id)?);
        }
        for entry in journal {
            items.push(audit_put(
                &self.table,
                &state.lead_id,
                entry.version,
                entry.events,
            )?);
        }
        if !events.is_empty() {
            items.push(audit_put(
                &self.table,
                &state.lead_id,
                state.version,
                events.to_vec(),
            )?);
        }
        let idempotency_index = items.len();
        if let Some(record) = idempotency {
            items.push(record.put_new(&self.table)?);
        }
        let token = request_token(
            &self.table,
            &state,
            expected_version,
            events,
            metrics,
            idempotency.map(|r| r.key.as_str()),
        )?;
        let out = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(token)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match out {
            Ok(o) => {
                let consumed = consumed_of(o.consumed_capacity());
                self.count_consumed(consumed);
                Ok((state, consumed))
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

    /// Whether the lead's item is `state`'s version with document `written`, byte for
    /// byte (the compression is deterministic, and the document holds the version's
    /// timestamps): read strongly consistent, only after a conditional write failed.
    async fn holds(
        &self,
        state: &LeadState,
        written: Option<&AttributeValue>,
    ) -> Result<bool, StoreError> {
        let Some(written) = written else {
            return Ok(false);
        };
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(lead_pk(&state.lead_id)))
            .key(table::SK, AttributeValue::S(STATE_SK.into()))
            .projection_expression("#version, #doc")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#doc", DOCUMENT)
            .consistent_read(true)
            .send()
            .await
            .map_err(aws)?;
        let Some(item) = out.item else {
            return Ok(false);
        };
        Ok(
            item.get("version") == Some(&AttributeValue::N(state.version.to_string()))
                && item.get(DOCUMENT) == Some(written),
        )
    }

    /// Bulk-load lead states into an empty table (imports, backfills, load tests), 25
    /// items per request. Unconditional: never use it on leads that may exist.
    pub async fn import(&self, states: &[LeadState]) -> Result<(), StoreError> {
        for chunk in states.chunks(25) {
            let mut requests = Vec::with_capacity(chunk.len());
            for state in chunk {
                let put = PutRequest::builder()
                    .set_item(Some(state_item(state, None, &[], None)?))
                    .build()
                    .map_err(build_error)?;
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
}

/// The ClientRequestToken of one logical write: the table, the lead, the version it
/// replaces and everything the transaction writes, hashed. The SDK retries a
/// transaction whose response it did not get (a timeout, a 5xx) with the same token,
/// and DynamoDB answers a token it committed in the last 10 minutes with success,
/// without applying it again. Without that, the retry of a committed write fails its
/// own version condition, and the caller is told of a conflict with itself (a
/// committed accept answered 409). (Left unset, the SDK would make up a random token
/// per call; this one is derived from the write, so it is stated here, reviewed and
/// tested, and names the same logical write wherever it is computed.)
///
/// Deterministic, so a token names the change and nothing else: a different change, or
/// the same change after a fresh read, is another token. Tokens are scoped to the
/// account and region, not the table, so the table is part of it: the same lead in a
/// staging and a production table must not share one. Two requests that write the
/// very same thing at the same version (the same caller's same action, stamped the same
/// instant) share one, and both are rightly told it is stored. 32 hex digits: within
/// DynamoDB's 36-character limit.
fn request_token(
    table: &str,
    state: &LeadState,
    expected_version: Option<u64>,
    events: &[AuditEvent],
    metrics: &[MetricIncrement],
    idempotency_key: Option<&str>,
) -> Result<String, StoreError> {
    let mut hash = Sha256::new();
    let mut part = |bytes: &[u8]| {
        // Length-prefixed, so that no two different sequences of parts hash alike.
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(bytes);
    };
    part(table.as_bytes());
    part(state.lead_id.as_bytes());
    part(&expected_version.map_or(0, |v| v + 1).to_be_bytes());
    part(&serde_json::to_vec(state).map_err(super::corrupt)?);
    part(&serde_json::to_vec(events).map_err(super::corrupt)?);
    part(format!("{metrics:?}").as_bytes());
    part(idempotency_key.unwrap_or("").as_bytes());
    let digest = hash.finalize();
    Ok(hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use leadwatch_core::lead::LeadProfile;
    use leadwatch_core::Contract;

    use super::*;

    #[test]
    fn a_request_token_names_one_logical_write() {
        let contract = Contract::default_contract().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let profile = LeadProfile {
            email: "dana@northwind.io".into(),
            ..Default::default()
        };
        let state = LeadState::new("ld_dana".into(), profile, &contract, now);
        let token = |table: &str, state: &LeadState, version: Option<u64>, key: Option<&str>| {
            request_token(table, state, version, &[], &[], key).unwrap()
        };
        let first = token("leadwatch", &state, Some(3), None);
        assert_eq!(first.len(), 32);
        assert!(first.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            first,
            token("leadwatch", &state, Some(3), None),
            "deterministic"
        );
        let mut changed = state.clone();
        changed.updated_at = now + chrono::Duration::seconds(1);
        for other in [
            token("staging", &state, Some(3), None),
            token("leadwatch", &state, Some(4), None),
            token("leadwatch", &state, None, None),
            token("leadwatch", &changed, Some(3), None),
            token("leadwatch", &state, Some(3), Some("key-1")),
        ] {
            assert_ne!(first, other);
        }
    }
}
