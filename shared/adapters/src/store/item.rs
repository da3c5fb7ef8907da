//! A lead's items as they are stored: the state item, the `genesis` a new lead carries
//! in it, and the audit record of each later write. Every reader and writer of a lead
//! goes through these conversions, so the stored format is defined in one place; the
//! indexes stay sparse because of what `state_item` leaves out.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::idempotency::{CreatedBy, IdempotencyRecord};
use super::{corrupt, put_new, StoreError};
use crate::table;
use leadwatch_core::lifecycle::Status;
use leadwatch_core::state::{AuditEvent, LeadState};

/// The sort key of a lead's state item.
pub(super) const STATE_SK: &str = "STATE";
/// The attribute holding a lead's state as a JSON document.
const STATE_DOCUMENT: &str = "state";
/// The attribute of a lead created by one PutItem holding what its first write would
/// otherwise have put in records of their own (see [`Genesis`]).
const GENESIS: &str = "genesis";
/// The sort key prefix of a lead's audit records.
pub(super) const AUDIT_SK_PREFIX: &str = "EVT#";

pub fn lead_pk(lead_id: &str) -> String {
    format!("LEAD#{lead_id}")
}

/// The state item: the serialised state plus the key and index attributes derived
/// from it. Attributes of an index are written only when the lead belongs in it; that
/// absence is what keeps both indexes sparse.
pub(super) fn state_item(state: &LeadState) -> Result<HashMap<String, AttributeValue>, StoreError> {
    // The state travels as one JSON document: nothing queries inside it, and one string
    // attribute is far cheaper to write and parse than a deep tree of maps. The
    // attributes that conditions and indexes use sit beside it.
    let document = serde_json::to_string(state).map_err(corrupt)?;
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

pub(super) fn state_from_item(
    item: HashMap<String, AttributeValue>,
) -> Result<LeadState, StoreError> {
    match item.get(STATE_DOCUMENT) {
        Some(AttributeValue::S(document)) => serde_json::from_str(document).map_err(corrupt),
        _ => Err(StoreError::Corrupt(
            "lead item without its state document".into(),
        )),
    }
}

/// What a new lead's single PutItem keeps in its item instead of separate records:
/// the audit events of its first version and the idempotency record of the request
/// that created it. Present only until the lead's next write.
#[derive(Debug)]
pub(super) struct Genesis {
    pub(super) version: u64,
    pub(super) events: Vec<AuditEvent>,
    pub(super) idempotency: Option<IdempotencyRecord>,
}

/// [`Genesis`] as stored: the creating request's answer is left out, because it is
/// the summary of the very state the item holds ([`LeadState::summary`]); that keeps
/// a new lead's item, and so its write, about a kilobyte smaller.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct GenesisDocument {
    pub(super) version: u64,
    pub(super) events: Vec<AuditEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_by: Option<CreatedBy>,
}

impl GenesisDocument {
    /// `state`: the lead item's state, which is still the version the genesis made.
    pub(super) fn with_answer(self, state: &LeadState) -> Genesis {
        Genesis {
            version: self.version,
            events: self.events,
            idempotency: self.created_by.map(|c| c.answered(state)),
        }
    }
}

/// Put the genesis of a new lead, `state` (its first version) with `events` and the
/// record of the request that creates it, into the lead's state item.
pub(super) fn add_genesis(
    item: &mut HashMap<String, AttributeValue>,
    state: &LeadState,
    events: &[AuditEvent],
    idempotency: Option<&IdempotencyRecord>,
) -> Result<(), StoreError> {
    let genesis = GenesisDocument {
        version: state.version,
        events: events.to_vec(),
        created_by: idempotency.map(|record| record.in_genesis(state)),
    };
    let document = serde_json::to_string(&genesis).map_err(corrupt)?;
    item.insert(GENESIS.into(), AttributeValue::S(document));
    Ok(())
}

/// The genesis a state item still carries, if any.
pub(super) fn genesis_of(
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

impl Genesis {
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

    use super::{add_genesis, genesis_of, state_from_item, state_item};
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

        let mut item = state_item(&state).unwrap();
        add_genesis(&mut item, &state, &events, Some(&first)).unwrap();
        let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "created_at",
                "genesis",
                "lead_id",
                "pk",
                "sk",
                "sla_step",
                "state",
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

        let genesis = genesis_of(&item).unwrap().unwrap().with_answer(&state);
        assert_eq!(genesis.version, 1);
        let idempotency = genesis.idempotency.unwrap();
        assert_eq!(
            (idempotency.key.as_str(), &idempotency.response),
            ("k", &response)
        );
        assert_eq!(state_from_item(item).unwrap(), state);
    }
}
