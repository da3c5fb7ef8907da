//! A lead's audit history: what changed, when and in which order, for the lead's
//! timeline and for audits. It is kept apart from the write path because it has to
//! read both places an audit record can be (its own `EVT#` item, or the genesis or
//! journal in the lead's item, until a transaction files them) and present them as
//! one history.

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{document_of, lead_pk, AuditRecord, AUDIT_SK_PREFIX, STATE_SK};
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
    /// whole partition: its `EVT#` records and its state item, whose genesis and journal
    /// hold the events of versions not yet filed.
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
        let mut in_item = Vec::new();
        for item in query_all(request).await?.0 {
            match item.get(table::SK) {
                Some(AttributeValue::S(sk)) if sk.starts_with(AUDIT_SK_PREFIX) => {
                    let record: AuditRecord = serde_dynamo::from_item(item).map_err(corrupt)?;
                    records.push((record.version, record.events));
                }
                Some(AttributeValue::S(sk)) if sk == STATE_SK => {
                    let document = document_of(&item)?;
                    if let Some(genesis) = document.genesis {
                        in_item.push((genesis.version, genesis.events));
                    }
                    in_item.extend(document.journal.into_iter().map(|e| (e.version, e.events)));
                }
                _ => {}
            }
        }
        // A query is not isolated from a transaction committing meanwhile: a filed
        // record and the genesis or journal entry it came from may both be read. They
        // are the same.
        for (version, events) in in_item {
            if !records.iter().any(|(v, _)| *v == version) {
                records.push((version, events));
            }
        }
        records.sort_by_key(|(version, _)| *version);
        Ok(records)
    }
}
