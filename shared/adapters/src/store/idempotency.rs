//! Idempotency: a client that retries a request (a timeout, a lost answer) must get the
//! first answer back, not a second change. The first answer is stored under the
//! request's idempotency key in the same transaction as the change it answered, so a
//! change and its record exist together or not at all.
//!
//! There is one record, [`IdempotencyRecord`], stored in one of two places: an item of
//! its own (`IDEMP#<key>`, expiring through the table's TTL), or, for the request that
//! created a lead, the lead's genesis ([`CreatedBy`]), until the lead's next write
//! moves it to an item of its own. Both places are read through
//! [`Store::stored_response`], so callers never see the difference.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{aws, build_error, corrupt, put_new, Store, StoreError};
use crate::table;
use leadwatch_core::state::LeadState;

/// Idempotency records live for a day: long enough for any client retry policy.
const IDEMPOTENCY_TTL_SECONDS: i64 = 86_400;

/// A stored response for an idempotency key: the first answer, replayed on retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

/// The first answer to the request with idempotency key `key`.
#[derive(Debug)]
pub(super) struct IdempotencyRecord {
    pub(super) key: String,
    pub(super) response: StoredResponse,
    /// Epoch seconds: the table's TTL attribute once it is a record of its own.
    expires_at: i64,
}

/// [`IdempotencyRecord`] as a lead's genesis keeps it: the answer is left out when it
/// is the summary of the very state the lead item holds ([`LeadState::summary`]), as
/// it is for a signed source; a public form's answer (a receipt) is kept.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct CreatedBy {
    key: String,
    request_hash: String,
    status: u16,
    expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
}

/// The key of the idempotency record of `key`.
fn record_key(key: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            table::PK.to_string(),
            AttributeValue::S(format!("IDEMP#{key}")),
        ),
        (table::SK.to_string(), AttributeValue::S("IDEMP".into())),
    ])
}

impl IdempotencyRecord {
    /// The record of `response`, the answer to request `key` given at `now`.
    pub(super) fn new(key: &str, response: &StoredResponse, now: DateTime<Utc>) -> Self {
        IdempotencyRecord {
            key: key.to_string(),
            response: response.clone(),
            expires_at: now.timestamp() + IDEMPOTENCY_TTL_SECONDS,
        }
    }

    /// The record's own item.
    fn item(&self) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let mut item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(&self.response).map_err(corrupt)?;
        item.extend(record_key(&self.key));
        item.insert(
            table::TTL_ATTRIBUTE.into(),
            AttributeValue::N(self.expires_at.to_string()),
        );
        Ok(item)
    }

    /// The transaction item that stores the record with a change, failing if the key
    /// already has one: that failure is how a duplicate request is told apart.
    pub(super) fn put_new(&self, table_name: &str) -> Result<TransactWriteItem, StoreError> {
        put_new(table_name, self.item()?)
    }

    /// The transaction item that moves the record out of a genesis: unconditional, as
    /// the key's record can only hold this same answer.
    pub(super) fn overwrite(&self, table_name: &str) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(table_name)
            .set_item(Some(self.item()?))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The record as the genesis of `state`, the lead it creates, keeps it.
    pub(super) fn in_genesis(&self, state: &LeadState) -> CreatedBy {
        // An answer that is the lead's summary is not stored: it is rebuilt from the
        // state of this same version when it is needed (see `CreatedBy::answered`).
        // Compared as text: the body is the JSON text that was answered.
        let summary = state.summary(true).to_string();
        let is_summary = self.response.body == summary;
        CreatedBy {
            key: self.key.clone(),
            request_hash: self.response.request_hash.clone(),
            status: self.response.status,
            expires_at: self.expires_at,
            body: (!is_summary).then(|| self.response.body.clone()),
        }
    }
}

impl IdempotencyRecord {
    /// The record as a genesis keeps it once the lead has moved past the version that
    /// answered: the answer whole, since it can no longer be rebuilt from the state.
    pub(super) fn kept_whole(&self) -> CreatedBy {
        CreatedBy {
            key: self.key.clone(),
            request_hash: self.response.request_hash.clone(),
            status: self.response.status,
            expires_at: self.expires_at,
            body: Some(self.response.body.clone()),
        }
    }
}

impl CreatedBy {
    /// The whole record again. `state`: the lead item's state, which is still the
    /// version the genesis made.
    pub(super) fn answered(self, state: &LeadState) -> IdempotencyRecord {
        IdempotencyRecord {
            key: self.key,
            response: StoredResponse {
                request_hash: self.request_hash,
                status: self.status,
                body: self.body.unwrap_or_else(|| state.summary(true).to_string()),
            },
            expires_at: self.expires_at,
        }
    }
}

impl Store {
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
            .and_then(|loaded| loaded.genesis?.idempotency)
            .filter(|first| first.key == key)
            .map(|first| first.response))
    }

    async fn idempotency_record(&self, key: &str) -> Result<Option<StoredResponse>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(record_key(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws)?;
        out.item
            .map(|item| serde_dynamo::from_item(item).map_err(corrupt))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::AttributeValue;
    use chrono::{TimeZone, Utc};

    use super::{IdempotencyRecord, StoredResponse};
    use leadwatch_core::lead::LeadProfile;
    use leadwatch_core::state::LeadState;
    use leadwatch_core::Contract;

    fn lead() -> LeadState {
        let profile = LeadProfile {
            email: "dana@northwind.io".into(),
            ..LeadProfile::default()
        };
        let contract = Contract::default_contract().unwrap();
        LeadState::new(
            leadwatch_core::LeadIds::development().id_for(&profile.email),
            profile,
            &contract,
            Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap(),
        )
    }

    fn record(state: &LeadState) -> IdempotencyRecord {
        let response = StoredResponse {
            request_hash: "h1".into(),
            status: 201,
            body: state.summary(true).to_string(),
        };
        let now = Utc.timestamp_opt(1_000_000, 0).unwrap();
        IdempotencyRecord::new("form-1", &response, now)
    }

    // The stored forms are read by every deployed version: they must not drift.
    #[test]
    fn a_record_of_its_own_is_the_response_keyed_by_idempotency_key_with_a_day_to_live() {
        let item = record(&lead()).item().unwrap();
        let s = |name: &str| item.get(name).cloned();
        assert_eq!(s("pk"), Some(AttributeValue::S("IDEMP#form-1".into())));
        assert_eq!(s("sk"), Some(AttributeValue::S("IDEMP".into())));
        assert_eq!(s("expires_at"), Some(AttributeValue::N("1086400".into())));
        assert_eq!(s("request_hash"), Some(AttributeValue::S("h1".into())));
        assert_eq!(s("status"), Some(AttributeValue::N("201".into())));
        assert!(matches!(s("body"), Some(AttributeValue::S(_))));
        assert_eq!(item.len(), 6, "{item:?}");
    }

    #[test]
    fn a_genesis_keeps_the_record_without_its_answer_and_gives_it_back_whole() {
        let state = lead();
        let first = record(&state);
        let stored = serde_json::to_value(first.in_genesis(&state)).unwrap();
        assert_eq!(
            stored,
            serde_json::json!({
                "key": "form-1", "request_hash": "h1", "status": 201, "expires_at": 1_086_400
            })
        );
        let again = serde_json::from_value::<super::CreatedBy>(stored)
            .unwrap()
            .answered(&state);
        assert_eq!(again.key, first.key);
        assert_eq!(again.response, first.response);
        assert_eq!(again.expires_at, first.expires_at);
    }

    #[test]
    fn a_genesis_keeps_an_answer_that_is_not_the_summary() {
        let state = lead();
        let response = StoredResponse {
            request_hash: "h2".into(),
            status: 202,
            body: r#"{"status":"received","receipt":"rcpt_1"}"#.into(),
        };
        let first = IdempotencyRecord::new("public:1", &response, Utc.timestamp_opt(0, 0).unwrap());
        let stored = serde_json::to_value(first.in_genesis(&state)).unwrap();
        assert_eq!(stored["body"], response.body.as_str());
        let again = serde_json::from_value::<super::CreatedBy>(stored)
            .unwrap()
            .answered(&state);
        assert_eq!(again.response, response);
    }
}
