//! A lead's items as they are stored: the state item, the `genesis` a new lead carries
//! in it, and the audit record of each later write. Every reader and writer of a lead
//! goes through these conversions, so the stored format is defined in one place; the
//! indexes stay sparse because of what `state_item` leaves out.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::idempotency::{CreatedBy, IdempotencyRecord};
use super::{corrupt, document, put_new, StoreError};
use crate::table;
use leadwatch_core::lifecycle::Status;
use leadwatch_core::state::{AuditEvent, LeadState};

/// The sort key of a lead's state item.
pub(super) const STATE_SK: &str = "STATE";
/// The attribute holding a lead's state, genesis and journal: compressed JSON (see
/// [`crate::store::document`]).
pub(super) const DOCUMENT: &str = "doc";
/// Before the compressed document: the state as plain JSON, and the genesis beside it.
/// Items written so are still read.
const LEGACY_STATE: &str = "state";
const LEGACY_GENESIS: &str = "genesis";
/// The rollup counters this version of the lead adds, for the change-stream consumer
/// (see [`crate::store::rollups`]). Present only on a version that adds some.
pub(super) const COUNTS: &str = "counts";
/// The sort key prefix of a lead's audit records.
pub(super) const AUDIT_SK_PREFIX: &str = "EVT#";

pub fn lead_pk(lead_id: &str) -> String {
    format!("LEAD#{lead_id}")
}

/// Audit events of the versions a lone PutItem wrote after the genesis was settled:
/// kept in the state item, like the genesis, until a transaction files them as `EVT#`
/// records. That lets a watchdog step or a disposition without an idempotency key be
/// one small write instead of a transaction that writes every item twice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct JournalEntry {
    pub(super) version: u64,
    pub(super) events: Vec<AuditEvent>,
}

/// Versions the journal holds before the next write files it, whatever it is: it keeps
/// the item (and every write of it) small, and a transaction well under its item limit.
pub(super) const MAX_JOURNAL: usize = 6;

/// Everything a state item holds besides its keys and index attributes, as read.
#[derive(Debug, Deserialize)]
pub(super) struct LeadDocument {
    pub(super) state: LeadState,
    #[serde(default)]
    pub(super) genesis: Option<GenesisDocument>,
    #[serde(default)]
    pub(super) journal: Vec<JournalEntry>,
}

/// [`LeadDocument`] as written, borrowing what it writes.
#[derive(Serialize)]
struct LeadDocumentRef<'a> {
    state: &'a LeadState,
    #[serde(skip_serializing_if = "Option::is_none")]
    genesis: Option<&'a GenesisDocument>,
    #[serde(skip_serializing_if = "<[JournalEntry]>::is_empty")]
    journal: &'a [JournalEntry],
}

/// The state item: the lead's document (state, genesis, journal) compressed into one
/// binary attribute, plus the key and index attributes derived from the state, and the
/// rollup counters this version adds (`counts`, for the change-stream consumer).
/// Attributes of an index are written only when the lead belongs in it; that absence
/// is what keeps both indexes sparse.
pub(super) fn state_item(
    state: &LeadState,
    genesis: Option<&GenesisDocument>,
    journal: &[JournalEntry],
    counts: Option<String>,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    // The document travels as one compressed JSON value: nothing queries inside it,
    // and write units are paid per started kilobyte of the whole item, so a typical
    // MQL's 3.5 KB of JSON costing 4 units a write costs 1 compressed (see `document`).
    let json = serde_json::to_vec(&LeadDocumentRef {
        state,
        genesis,
        journal,
    })
    .map_err(corrupt)?;
    let document = document::compress(&json);
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
        (DOCUMENT.to_string(), AttributeValue::B(Blob::new(document))),
    ]);
    if let Some(counts) = counts {
        item.insert(COUNTS.into(), AttributeValue::S(counts));
    }
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
        if state.status == Status::Mql {
            if let Some(team) = &state.team {
                item.insert(table::QUEUE_TEAM.into(), AttributeValue::S(team.clone()));
            }
        }
    }
    // `timers` holds every state item (see `table`): under its pending timer in a `T<n>`
    // partition, else under its creation time in its month's `M#` partition, which is
    // what an export queries. `created_at` never changes, so it costs no index write.
    let created = state.created_at.timestamp().to_string();
    item.insert(table::CREATED_AT.into(), AttributeValue::N(created.clone()));
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
    } else {
        let month = state.created_at.format("%Y-%m").to_string();
        item.insert(
            table::TIMER_SHARD.into(),
            AttributeValue::S(table::month_shard_of(&state.lead_id, &month)),
        );
        item.insert(table::TIMER_AT.into(), AttributeValue::N(created));
    }
    Ok(item)
}

/// The document of a state item, in either stored form.
pub(super) fn document_of(
    item: &HashMap<String, AttributeValue>,
) -> Result<LeadDocument, StoreError> {
    match (item.get(DOCUMENT), item.get(LEGACY_STATE)) {
        (Some(AttributeValue::B(blob)), _) => {
            let json = document::decompress(blob.as_ref())
                .map_err(|e| StoreError::Corrupt(format!("lead document: {e}")))?;
            serde_json::from_slice(&json).map_err(corrupt)
        }
        (None, Some(AttributeValue::S(state))) => Ok(LeadDocument {
            state: serde_json::from_str(state).map_err(corrupt)?,
            genesis: match item.get(LEGACY_GENESIS) {
                None => None,
                Some(AttributeValue::S(g)) => Some(
                    serde_json::from_str(g)
                        .map_err(|e| StoreError::Corrupt(format!("lead genesis: {e}")))?,
                ),
                Some(_) => return Err(StoreError::Corrupt("lead genesis is not a string".into())),
            },
            journal: Vec::new(),
        }),
        _ => Err(StoreError::Corrupt(
            "lead item without its state document".into(),
        )),
    }
}

pub(super) fn state_from_item(
    item: HashMap<String, AttributeValue>,
) -> Result<LeadState, StoreError> {
    Ok(document_of(&item)?.state)
}

/// What a new lead's single PutItem keeps in its item instead of separate records:
/// the audit events of its first version and the idempotency record of the request
/// that created it. Present until a transaction files it (see [`JournalEntry`]).
#[derive(Debug)]
pub(super) struct Genesis {
    pub(super) version: u64,
    pub(super) events: Vec<AuditEvent>,
    pub(super) idempotency: Option<IdempotencyRecord>,
}

/// [`Genesis`] as stored. While the item still holds the version the genesis made, the
/// creating request's answer is left out when it is the summary of that very state
/// ([`LeadState::summary`]); that keeps a new lead's item, and so its write, smaller.
/// A later lone write keeps the answer whole ([`Genesis::kept`]).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct GenesisDocument {
    pub(super) version: u64,
    pub(super) events: Vec<AuditEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_by: Option<CreatedBy>,
}

impl GenesisDocument {
    /// The genesis of a new lead, `state` (its first version), with `events` and the
    /// record of the request that creates it.
    pub(super) fn new(
        state: &LeadState,
        events: &[AuditEvent],
        idempotency: Option<&IdempotencyRecord>,
    ) -> Self {
        GenesisDocument {
            version: state.version,
            events: events.to_vec(),
            created_by: idempotency.map(|record| record.in_genesis(state)),
        }
    }

    /// `state`: the lead item's state. Only while it is still the version the genesis
    /// made can an answer left out be rebuilt from it.
    pub(super) fn with_answer(self, state: &LeadState) -> Genesis {
        Genesis {
            version: self.version,
            events: self.events,
            idempotency: self.created_by.map(|c| c.answered(state)),
        }
    }
}

impl Genesis {
    /// The genesis as a later lone write keeps it: the creating request's answer whole,
    /// since the state beside it will no longer be the one it summarised.
    pub(super) fn kept(&self) -> GenesisDocument {
        GenesisDocument {
            version: self.version,
            events: self.events.clone(),
            created_by: self.idempotency.as_ref().map(IdempotencyRecord::kept_whole),
        }
    }

    /// The audit record and idempotency record a new lead kept in its item, as the
    /// transaction items that give them their own records. The idempotency record is
    /// overwritten rather than conditionally created: it can only hold this same answer.
    pub(super) fn into_records(
        self,
        table_name: &str,
        lead_id: &str,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut items = vec![audit_put(table_name, lead_id, self.version, self.events)?];
        if let Some(first) = self.idempotency {
            items.push(first.overwrite(table_name)?);
        }
        Ok(items)
    }
}

/// The audit record of one write: the events of the state version it wrote.
#[derive(Serialize, Deserialize)]
pub(super) struct AuditRecord {
    pk: String,
    sk: String,
    lead_id: String,
    pub(super) version: u64,
    pub(super) events: Vec<AuditEvent>,
}

/// The transaction item that creates the audit record of `version`, once: a second
/// writer of the same version fails on it, as on the state item.
pub(super) fn audit_put(
    table_name: &str,
    lead_id: &str,
    version: u64,
    events: Vec<AuditEvent>,
) -> Result<TransactWriteItem, StoreError> {
    let record = AuditRecord {
        pk: lead_pk(lead_id),
        sk: format!("{AUDIT_SK_PREFIX}{version:010}"),
        lead_id: lead_id.to_string(),
        version,
        events,
    };
    put_new(table_name, serde_dynamo::to_item(&record).map_err(corrupt)?)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::{document_of, state_from_item, state_item, GenesisDocument, JournalEntry};
    use crate::store::idempotency::IdempotencyRecord;
    use crate::store::StoredResponse;
    use leadwatch_core::lead::LeadProfile;
    use leadwatch_core::state::{AuditEvent, LeadState};
    use leadwatch_core::Contract;

    #[test]
    fn a_new_leads_item_carries_its_genesis_and_gives_back_its_state() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let profile = LeadProfile {
            email: "sam@litware.io".into(),
            ..LeadProfile::default()
        };
        let mut state = LeadState::new(
            leadwatch_core::LeadIds::development().id_for(&profile.email),
            profile,
            &Contract::default_contract().unwrap(),
            now,
        );
        state.version = 1;
        let events: Vec<AuditEvent> = Vec::new();
        let response = StoredResponse {
            request_hash: "h".into(),
            status: 201,
            body: state.summary(true).to_string(),
        };
        let first = IdempotencyRecord::new("k", &response, now);

        let genesis = GenesisDocument::new(&state, &events, Some(&first));
        let item = state_item(&state, Some(&genesis), &[], None).unwrap();
        let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "created_at",
                "doc",
                "lead_id",
                "pk",
                "sk",
                "sla_step",
                "status",
                "timer_at",
                "timer_shard",
                "version"
            ]
        );
        // No pending timer: the lead sits in its month's partition of `timers`,
        // under its creation time, where an export finds it.
        let shard = match item.get("timer_shard") {
            Some(aws_sdk_dynamodb::types::AttributeValue::S(s)) => s.clone(),
            other => panic!("timer_shard {other:?}"),
        };
        assert!(shard.starts_with("M#2026-11#"), "{shard}");
        assert_eq!(
            item.get("timer_at"),
            Some(&aws_sdk_dynamodb::types::AttributeValue::N(
                now.timestamp().to_string()
            ))
        );

        let document = document_of(&item).unwrap();
        let genesis = document.genesis.unwrap().with_answer(&state);
        assert_eq!(genesis.version, 1);
        let idempotency = genesis.idempotency.as_ref().unwrap();
        assert_eq!(
            (idempotency.key.as_str(), &idempotency.response),
            ("k", &response)
        );
        assert_eq!(state_from_item(item.clone()).unwrap(), state);

        // A later lone write keeps the genesis with its answer whole, and a journal.
        let mut later = state.clone();
        later.version = 2;
        later.sla_step = 1;
        let journal = vec![JournalEntry {
            version: 2,
            events: serde_json::from_value(serde_json::json!([
                {"at": now, "kind": "alert", "contract_version": "2026.11.1"}
            ]))
            .unwrap(),
        }];
        let item = state_item(&later, Some(&genesis.kept()), &journal, Some("c".into())).unwrap();
        let document = document_of(&item).unwrap();
        assert_eq!(document.state, later);
        assert_eq!(document.journal.len(), 1);
        let kept = document.genesis.unwrap().with_answer(&later);
        assert_eq!(
            kept.idempotency.unwrap().response,
            response,
            "not rebuilt from `later`"
        );
    }

    #[test]
    fn items_written_before_the_compressed_document_are_still_read() {
        use aws_sdk_dynamodb::types::AttributeValue;
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let profile = LeadProfile {
            email: "old@litware.io".into(),
            ..LeadProfile::default()
        };
        let state = LeadState::new(
            "ld_old".into(),
            profile,
            &Contract::default_contract().unwrap(),
            now,
        );
        let item = std::collections::HashMap::from([
            (
                "state".to_string(),
                AttributeValue::S(serde_json::to_string(&state).unwrap()),
            ),
            (
                "genesis".to_string(),
                AttributeValue::S(r#"{"version":1,"events":[]}"#.into()),
            ),
        ]);
        let document = document_of(&item).unwrap();
        assert_eq!(document.state, state);
        assert_eq!(document.genesis.unwrap().version, 1);
    }
}
