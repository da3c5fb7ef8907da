//! The table's change stream, as the rollup function reads it.
//!
//! In AWS, Lambda's event source mapping reads the table's DynamoDB stream and hands
//! the rollup function batches of records as JSON ([`counted_versions`] reads them).
//! The local stack has no event source mapping, so [`LocalStream`] (feature
//! `local-stream`: the CLI and the tests; no Lambda links it) reads the stream itself
//! with the DynamoDB Streams API and hands over the same JSON, so that the local path
//! and the deployed one parse the very same shape.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::store::{decode_counts, CountedVersion};

/// One stream record Lambda hands over: only what the rollups read.
#[derive(Debug, Deserialize)]
struct StreamRecord {
    #[serde(rename = "eventSource", default)]
    event_source: Option<String>,
    #[serde(rename = "eventName", default)]
    event_name: Option<String>,
    dynamodb: Option<StreamData>,
}

#[derive(Debug, Deserialize)]
struct StreamData {
    #[serde(rename = "SequenceNumber", default)]
    sequence_number: Option<String>,
    #[serde(rename = "NewImage", default)]
    new_image: Option<Map<String, Value>>,
}

/// A batch of stream records, read.
#[derive(Debug, Default)]
pub struct StreamBatch {
    /// Records in the batch.
    pub records: usize,
    /// The lead versions in it that add counters.
    pub versions: Vec<CountedVersion>,
    /// Records whose counters cannot be read, by sequence number, with why. They are
    /// left out (a bad record must not stop every later one on its shard) and logged.
    pub unreadable: Vec<(String, String)>,
}

/// Why an event is not a batch of DynamoDB stream records.
#[derive(Debug, thiserror::Error)]
pub enum StreamEventError {
    #[error("not a DynamoDB stream event: {0}")]
    NotAStreamEvent(String),
}

/// The lead versions with counters in a DynamoDB stream event (Lambda's event source
/// mapping shape: `{"Records": [{"eventSource": "aws:dynamodb", "dynamodb": {...}}]}`).
/// Records of other items (audit records, markers, counters themselves) and removals
/// count nothing.
pub fn counted_versions(event: &Value) -> Result<StreamBatch, StreamEventError> {
    let records = event
        .get("Records")
        .ok_or_else(|| StreamEventError::NotAStreamEvent("no `Records`".into()))?;
    let records: Vec<StreamRecord> = serde_json::from_value(records.clone())
        .map_err(|e| StreamEventError::NotAStreamEvent(format!("`Records`: {e}")))?;
    let mut batch = StreamBatch {
        records: records.len(),
        ..StreamBatch::default()
    };
    for (i, record) in records.into_iter().enumerate() {
        if record.event_source.as_deref() != Some("aws:dynamodb") {
            return Err(StreamEventError::NotAStreamEvent(format!(
                "record {i} has eventSource {:?}",
                record.event_source
            )));
        }
        let Some(data) = record.dynamodb else {
            return Err(StreamEventError::NotAStreamEvent(format!(
                "record {i} has no `dynamodb`"
            )));
        };
        if record.event_name.as_deref() == Some("REMOVE") {
            continue;
        }
        let Some(image) = data.new_image else {
            continue;
        };
        let Some(counts) = image.get("counts") else {
            continue;
        };
        let sequence = data
            .sequence_number
            .unwrap_or_else(|| format!("record {i}"));
        match version_of(&image, counts) {
            Ok(version) => batch.versions.push(version),
            Err(why) => batch.unreadable.push((sequence, why)),
        }
    }
    Ok(batch)
}

/// The counted version of a state item's image (DynamoDB JSON: `{"S": "..."}`).
fn version_of(image: &Map<String, Value>, counts: &Value) -> Result<CountedVersion, String> {
    let string = |name: &str, value: Option<&Value>| -> Result<String, String> {
        value
            .and_then(|v| v.get("S"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("`{name}` is not a string attribute"))
    };
    let counts = string("counts", Some(counts))?;
    let lead_id = string("lead_id", image.get("lead_id"))?;
    let version = image
        .get("version")
        .and_then(|v| v.get("N"))
        .and_then(Value::as_str)
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or("`version` is not a whole number")?;
    let increments = decode_counts(&counts).map_err(|e| e.to_string())?;
    Ok(CountedVersion {
        lead_id,
        version,
        increments,
    })
}

#[cfg(feature = "local-stream")]
pub use local::{LocalStream, StreamStart};

#[cfg(feature = "local-stream")]
mod local {
    use std::collections::HashMap;

    use aws_config::SdkConfig;
    use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
    use aws_sdk_dynamodbstreams::Client;
    use serde_json::{json, Map, Value};

    use crate::store::StoreError;

    /// Where a [`LocalStream`] starts reading.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum StreamStart {
        /// Every record the stream still holds: a replay, which the rollups' markers make
        /// harmless (each version counts once).
        Oldest,
        /// Only what is written from now on.
        Latest,
    }

    /// The local stack's stand-in for Lambda's event source mapping: reads the table's
    /// stream shard by shard, where it left off, and hands over Lambda's event JSON.
    pub struct LocalStream {
        client: Client,
        stream_arn: String,
        start: StreamStart,
        /// The next iterator of each shard seen; None once a closed shard is read out.
        iterators: HashMap<String, Option<String>>,
    }

    fn failed(e: impl std::fmt::Display) -> StoreError {
        StoreError::Aws(format!("change stream: {e}"))
    }

    impl LocalStream {
        /// The stream of `table`, which must have one (the table definition enables it).
        pub async fn open(
            config: &SdkConfig,
            table: &str,
            start: StreamStart,
        ) -> Result<Self, StoreError> {
            let described = crate::aws::dynamodb_client(config)
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(|e| failed(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
            let stream_arn = described
                .table
                .and_then(|t| t.latest_stream_arn)
                .ok_or_else(|| failed(format!("table {table} has no stream")))?;
            let mut stream = LocalStream {
                client: crate::aws::dynamodb_streams_client(config),
                stream_arn,
                start,
                iterators: HashMap::new(),
            };
            stream.discover_shards().await?;
            Ok(stream)
        }

        async fn discover_shards(&mut self) -> Result<(), StoreError> {
            let described = self
                .client
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .send()
                .await
                .map_err(|e| failed(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?;
            let shards = described
                .stream_description
                .map(|d| d.shards.unwrap_or_default())
                .unwrap_or_default();
            for shard in shards {
                let Some(id) = shard.shard_id else { continue };
                if self.iterators.contains_key(&id) {
                    continue;
                }
                let kind = match self.start {
                    StreamStart::Oldest => ShardIteratorType::TrimHorizon,
                    StreamStart::Latest => ShardIteratorType::Latest,
                };
                let iterator = self
                    .client
                    .get_shard_iterator()
                    .stream_arn(&self.stream_arn)
                    .shard_id(&id)
                    .shard_iterator_type(kind)
                    .send()
                    .await
                    .map_err(|e| failed(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?
                    .shard_iterator;
                self.iterators.insert(id, iterator);
            }
            Ok(())
        }

        /// The next batch of records, as Lambda's event JSON; None when every shard
        /// is read up to now.
        pub async fn next_event(&mut self) -> Result<Option<Value>, StoreError> {
            self.discover_shards().await?;
            let shards: Vec<String> = self.iterators.keys().cloned().collect();
            for shard in shards {
                let Some(Some(iterator)) = self.iterators.get(&shard).cloned() else {
                    continue;
                };
                let out = self
                    .client
                    .get_records()
                    .shard_iterator(iterator)
                    .limit(1000)
                    .send()
                    .await
                    .map_err(|e| failed(aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)))?;
                self.iterators.insert(shard, out.next_shard_iterator);
                let records = out.records.unwrap_or_default();
                if !records.is_empty() {
                    let records: Vec<Value> = records
                        .iter()
                        .map(|r| lambda_record(r, &self.stream_arn))
                        .collect();
                    return Ok(Some(json!({ "Records": records })));
                }
            }
            Ok(None)
        }
    }

    /// A record as Lambda's event source mapping hands it to a function.
    fn lambda_record(record: &Record, stream_arn: &str) -> Value {
        let mut data = Map::new();
        if let Some(d) = &record.dynamodb {
            if let Some(seq) = &d.sequence_number {
                data.insert("SequenceNumber".into(), json!(seq));
            }
            if let Some(keys) = &d.keys {
                data.insert("Keys".into(), image(keys));
            }
            if let Some(new) = &d.new_image {
                data.insert("NewImage".into(), image(new));
            }
            if let Some(kind) = &d.stream_view_type {
                data.insert("StreamViewType".into(), json!(kind.as_str()));
            }
        }
        json!({
            "eventID": record.event_id,
            "eventName": record.event_name.as_ref().map(|n| n.as_str()),
            "eventSource": "aws:dynamodb",
            "eventVersion": "1.1",
            "eventSourceARN": stream_arn,
            "dynamodb": data,
        })
    }

    fn image(attributes: &HashMap<String, AttributeValue>) -> Value {
        Value::Object(
            attributes
                .iter()
                .map(|(k, v)| (k.clone(), attribute(v)))
                .collect(),
        )
    }

    /// DynamoDB JSON of one attribute value, as Lambda writes it (binary in base64).
    fn attribute(value: &AttributeValue) -> Value {
        use aws_sdk_dynamodbstreams::primitives::Blob;
        use base64::Engine;
        let base64 = |b: &Blob| base64::engine::general_purpose::STANDARD.encode(b.as_ref());
        match value {
            AttributeValue::S(s) => json!({ "S": s }),
            AttributeValue::N(n) => json!({ "N": n }),
            AttributeValue::B(b) => json!({ "B": base64(b) }),
            AttributeValue::Bool(b) => json!({ "BOOL": b }),
            AttributeValue::Null(n) => json!({ "NULL": n }),
            AttributeValue::Ss(v) => json!({ "SS": v }),
            AttributeValue::Ns(v) => json!({ "NS": v }),
            AttributeValue::Bs(v) => json!({ "BS": v.iter().map(base64).collect::<Vec<_>>() }),
            AttributeValue::L(v) => json!({ "L": v.iter().map(attribute).collect::<Vec<_>>() }),
            AttributeValue::M(m) => json!({ "M": image(m) }),
            _ => Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(name: &str, image: Value) -> Value {
        json!({
            "eventID": "e1", "eventName": name, "eventSource": "aws:dynamodb",
            "dynamodb": {"SequenceNumber": "100", "NewImage": image}
        })
    }

    #[test]
    fn a_state_items_counts_are_read_and_everything_else_is_left_out() {
        let counts = r#"[{"m":"2026-11","d":["team#ae-na","source#web"],"c":[["mqls",1]]}]"#;
        let event = json!({"Records": [
            record("INSERT", json!({"lead_id": {"S": "ld_1"}, "version": {"N": "1"}, "counts": {"S": counts}})),
            record("MODIFY", json!({"lead_id": {"S": "ld_1"}, "version": {"N": "2"}})),
            record("REMOVE", json!({"lead_id": {"S": "ld_1"}, "version": {"N": "3"}, "counts": {"S": counts}})),
            record("INSERT", json!({"pk": {"S": "METRICS#2026-11"}})),
        ]});
        let batch = counted_versions(&event).unwrap();
        assert_eq!(batch.records, 4);
        assert_eq!(batch.versions.len(), 1);
        let v = &batch.versions[0];
        assert_eq!((v.lead_id.as_str(), v.version), ("ld_1", 1));
        assert_eq!(v.increments.len(), 2);
        assert_eq!(v.increments[1].dimension, "source#web");
        assert!(batch.unreadable.is_empty());
    }

    #[test]
    fn a_record_with_unreadable_counts_is_named_and_left_out() {
        let event = json!({"Records": [
            record("INSERT", json!({"lead_id": {"S": "ld_1"}, "version": {"N": "1"}, "counts": {"S": "not json"}})),
            record("INSERT", json!({"lead_id": {"S": "ld_2"}, "version": {"N": "x"}, "counts": {"S": "[]"}})),
        ]});
        let batch = counted_versions(&event).unwrap();
        assert!(batch.versions.is_empty());
        assert_eq!(batch.unreadable.len(), 2);
        assert!(
            batch.unreadable[1].1.contains("version"),
            "{:?}",
            batch.unreadable
        );
    }

    #[test]
    fn an_event_that_is_not_a_stream_batch_is_refused_by_name() {
        for (event, why) in [
            (json!({}), "Records"),
            (json!(null), "Records"),
            (json!({"Records": "x"}), "Records"),
            (
                json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}),
                "eventSource",
            ),
            (
                json!({"Records": [{"eventSource": "aws:dynamodb"}]}),
                "dynamodb",
            ),
        ] {
            let e = counted_versions(&event).unwrap_err().to_string();
            assert!(e.contains(why), "{event}: {e}");
        }
    }
}
