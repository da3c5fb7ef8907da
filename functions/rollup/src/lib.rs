//! The rollup function: reads batches of the table's change stream and adds the
//! counters each lead version carries (`counts`) to the monthly rollups, exactly once
//! per version (see `leadwatch_adapters::store::rollups`).
//!
//! A batch either counts whole or fails whole: a failed batch is delivered again, and
//! the versions it already counted are skipped by their markers. A record whose
//! counters cannot be read is logged and left out rather than failing the batch: it
//! would fail every delivery, and hold back every later record of its shard for the
//! stream's whole 24-hour retention.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use leadwatch_adapters::change_stream::{counted_versions, StreamEventError};
use leadwatch_adapters::store::{CountsAdded, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    #[error(transparent)]
    Event(#[from] StreamEventError),
    #[error("counting failed; the batch will be delivered again: {0}")]
    Store(#[from] StoreError),
}

/// What one batch did, as the function answers and logs it.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSummary {
    pub records: usize,
    pub counted: CountsAdded,
    pub unreadable: usize,
}

impl BatchSummary {
    pub fn to_json(&self) -> Value {
        json!({
            "records": self.records,
            "added": self.counted.added,
            "already_counted": self.counted.already_counted,
            "transactions": self.counted.transactions,
            "write_units": self.counted.write_units,
            "unreadable": self.unreadable,
        })
    }
}

/// Count one batch (Lambda's DynamoDB stream event). `now` stamps the markers' expiry.
pub async fn handle(
    store: &Store,
    event: &Value,
    now: DateTime<Utc>,
) -> Result<BatchSummary, RollupError> {
    let batch = counted_versions(event)?;
    for (sequence, why) in &batch.unreadable {
        tracing::error!(sequence_number = %sequence, error = %why, "stream record with unreadable counters left out");
    }
    let counted = store.add_counts(&batch.versions, now).await?;
    let summary = BatchSummary {
        records: batch.records,
        counted,
        unreadable: batch.unreadable.len(),
    };
    tracing::info!(
        records = summary.records,
        added = counted.added,
        already_counted = counted.already_counted,
        write_units = counted.write_units,
        "stream batch counted"
    );
    Ok(summary)
}

/// Everything the local table's change stream holds, counted: the local stack's
/// stand-in for Lambda's event source mapping, for the demo, the dev server and the
/// tests. It reads from the oldest record, so it may hand over batches already
/// counted; that is a redelivery, and counts nothing twice.
#[cfg(feature = "local")]
pub async fn count_local_stream(
    config: &aws_config::SdkConfig,
    store: &Store,
    now: DateTime<Utc>,
) -> Result<BatchSummary, RollupError> {
    use leadwatch_adapters::change_stream::{LocalStream, StreamStart};
    let mut stream = LocalStream::open(config, store.table_name(), StreamStart::Oldest).await?;
    let mut total = BatchSummary {
        records: 0,
        counted: CountsAdded::default(),
        unreadable: 0,
    };
    while let Some(event) = stream.next_event().await? {
        let batch = handle(store, &event, now).await?;
        total.records += batch.records;
        total.counted.added += batch.counted.added;
        total.counted.already_counted += batch.counted.already_counted;
        total.counted.transactions += batch.counted.transactions;
        total.counted.write_units += batch.counted.write_units;
        total.unreadable += batch.unreadable;
    }
    Ok(total)
}

/// [`count_local_stream`] for as long as the dev server runs: reads on where it left
/// off, and waits `pause` whenever the stream is read out. A failure is logged and the
/// stream opened again from the oldest record (counting nothing twice).
#[cfg(feature = "local")]
pub async fn follow_local_stream(
    config: aws_config::SdkConfig,
    store: Store,
    clock: fn() -> DateTime<Utc>,
    pause: std::time::Duration,
) {
    use leadwatch_adapters::change_stream::{LocalStream, StreamStart};
    loop {
        let mut stream =
            match LocalStream::open(&config, store.table_name(), StreamStart::Oldest).await {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the local change stream");
                    tokio::time::sleep(pause * 10).await;
                    continue;
                }
            };
        loop {
            let counted = match stream.next_event().await {
                Ok(Some(event)) => handle(&store, &event, clock()).await.map(|_| ()),
                Ok(None) => {
                    tokio::time::sleep(pause).await;
                    Ok(())
                }
                Err(e) => Err(e.into()),
            };
            if let Err(e) = counted {
                tracing::error!(error = %e, "counting the local change stream failed; starting over");
                tokio::time::sleep(pause).await;
                break;
            }
        }
    }
}
