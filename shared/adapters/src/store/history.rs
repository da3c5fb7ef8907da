//! A lead's audit history: what changed, when and in which order, for the lead's
//! timeline and for audits. It is kept apart from the write path because it has to
//! read both places an audit record can be (its own `EVT#` item, or the genesis of a
//! lead written once) and present them as one history.

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{genesis_of, lead_pk, AuditRecord, AUDIT_SK_PREFIX, STATE_SK};
use super::{corrupt, query_all, Store, StoreError};
use crate::table;
use leadwatch_core::state::AuditEvent;

impl Store {
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
                Some(AttributeValue::S(sk)) if sk.starts_with(AUDIT_SK_PREFIX) => {
                    let record: AuditRecord = serde_dynamo::from_item(item).map_err(corrupt)?;
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
}
