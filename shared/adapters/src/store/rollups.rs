//! The monthly metric rollups behind the report: counters in `METRICS#<month>` items,
//! added to in the very transaction that commits a transition (so a figure moves
//! exactly when the lead does, and never twice), and read back by month without a scan.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Update};

use super::{build_error, query_all, Store, StoreError};
use crate::table;
use leadwatch_core::report::{Month, RollupItem};
use leadwatch_core::rollup;

/// The partition of the rollup items of `month` (`YYYY-MM`).
fn metrics_pk(month: &str) -> String {
    format!("METRICS#{month}")
}

/// The transaction item adding a transition's increments to its rollup counters.
pub(super) fn metric_update(
    table_name: &str,
    m: &rollup::MetricIncrement,
) -> Result<Update, StoreError> {
    let mut expr = Vec::new();
    let mut update = Update::builder()
        .table_name(table_name)
        .key(table::PK, AttributeValue::S(metrics_pk(&m.month)))
        .key(table::SK, AttributeValue::S(m.dimension.clone()));
    for (i, (name, by)) in m.counters.iter().enumerate() {
        expr.push(format!("#c{i} :v{i}"));
        update = update
            .expression_attribute_names(format!("#c{i}"), name)
            .expression_attribute_values(format!(":v{i}"), AttributeValue::N(by.to_string()));
    }
    update
        .update_expression(format!("ADD {}", expr.join(", ")))
        .build()
        .map_err(build_error)
}

fn rollup_from_item(
    month: &str,
    item: HashMap<String, AttributeValue>,
) -> Result<RollupItem, StoreError> {
    let mut rollup = RollupItem {
        month: month.to_string(),
        ..RollupItem::default()
    };
    for (name, value) in item {
        match (name.as_str(), value) {
            (table::SK, AttributeValue::S(dimension)) => rollup.dimension = dimension,
            (table::PK, _) => {}
            (_, AttributeValue::N(n)) => {
                let n = n
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("rollup {month} {name}: {n}")))?;
                rollup.counters.insert(name, n);
            }
            (_, other) => {
                return Err(StoreError::Corrupt(format!(
                    "rollup {month} {name}: not a number: {other:?}"
                )))
            }
        }
    }
    Ok(rollup)
}

impl Store {
    /// The rollup items of `months`: one query per month on its `METRICS#<month>`
    /// partition, never a scan. Strongly consistent, so a report right after a
    /// transition includes it.
    pub async fn rollups(&self, months: &[Month]) -> Result<Vec<RollupItem>, StoreError> {
        let mut items = Vec::new();
        for month in months {
            let month = month.to_string();
            let request = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", table::PK)
                .expression_attribute_values(":pk", AttributeValue::S(metrics_pk(&month)))
                .consistent_read(true);
            for item in query_all(request).await?.0 {
                items.push(rollup_from_item(&month, item)?);
            }
        }
        Ok(items)
    }
}
