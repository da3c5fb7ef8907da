//! Reads of many leads at once: exports for the CLI and the report, and a team's queue
//! of open MQLs. They share the choice of the cheapest read that is still complete:
//! the sparse team-queue index and BatchGetItem where the question allows it, a
//! paginated scan only for a full export, which reads the table by nature.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use super::item::{state_from_item, STATE_SK};
use super::{aws, backoff, build_error, query_all, Store, StoreError, MAX_ATTEMPTS};
use crate::table;
use leadwatch_core::lifecycle::Status;
use leadwatch_core::state::LeadState;

/// Keys per BatchGetItem request: DynamoDB's limit.
const BATCH_GET_KEYS: usize = 100;

impl Store {
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
