//! Replay protection for signed requests. A signature is valid for its whole tolerance
//! window, so a captured request could be sent again within it and counted twice. The
//! first request with a signature claims it with a conditional PutItem of a small item
//! (`SIG#<digest>`); a second claim of the same signature fails, and the request is
//! refused before it touches the lead. The item expires through the table's TTL once
//! the window has passed, when the signature's timestamp alone refuses it.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{aws, conditional, Store, StoreError};
use crate::table;

fn marker_pk(digest: &str) -> String {
    format!("SIG#{digest}")
}

impl Store {
    /// Claim the signature with `digest` (a hash of the source, timestamp and
    /// signature) until `expires_at` (epoch seconds). `false`: it was claimed already,
    /// so the request is a replay.
    pub async fn claim_signature(&self, digest: &str, expires_at: i64) -> Result<bool, StoreError> {
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(table::PK, AttributeValue::S(marker_pk(digest)))
            .item(table::SK, AttributeValue::S("SIG".into()))
            .item(
                table::TTL_ATTRIBUTE,
                AttributeValue::N(expires_at.to_string()),
            )
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        Ok(conditional(out)?.is_some())
    }

    /// Give a claimed signature back: its request failed before writing anything (a
    /// store error), so the sender's retry of the very same request must not be taken
    /// for a replay.
    pub async fn release_signature(&self, digest: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(table::PK, AttributeValue::S(marker_pk(digest)))
            .key(table::SK, AttributeValue::S("SIG".into()))
            .send()
            .await
            .map_err(aws)?;
        Ok(())
    }
}
