//! Recording the AWS calls each function makes, so that a test can hold the IAM grants
//! of `infra/template.yaml` to what the code really calls.
//!
//! moto checks no IAM: a call the template forgot to grant passes every local test and
//! fails only in a real account, as the first request that needs it. So when
//! `LEADWATCH_RECORD_AWS_CALLS=<dir>` is set, every client that [`crate::aws`] builds
//! from a function's configuration ([`crate::aws::function_config`], which names the
//! function in the SDK's app name) carries a [`CallRecorder`]: an SDK interceptor that
//! appends one JSON line per operation to `<dir>/<function>-<pid>.jsonl`:
//!
//! ```text
//! {"function":"disposition","service":"DynamoDB","operation":"BatchGetItem",
//!  "targets":[{"resource":"leadwatch","part":null,"index":null,"key":"LEAD#ld_..."}]}
//! ```
//!
//! It records what was asked of AWS, not what IAM makes of it: the service, the
//! operation and, for each item the request touches, the resource (table, topic ARN,
//! parameter name), the index, the part of a transaction or batch (`Put`, `Update`,
//! `PutRequest`...) and the item's partition key. Turning that into IAM actions is the
//! test's job (`tests/src/iam.rs`), where the mapping is written down once.
//!
//! With the variable unset, as in every deployment, no interceptor is registered: a
//! client costs what `Client::new` costs, and no request pays anything.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::table;

/// The directory calls are recorded in; unset, nothing is recorded.
pub const RECORD_ENV: &str = "LEADWATCH_RECORD_AWS_CALLS";

/// The SDK app name of a function's clients is this prefix and the function's name.
pub const APP_NAME_PREFIX: &str = "leadwatch-";

/// One item (or the whole resource) an operation touches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    /// The table name, topic ARN or parameter name, as the request names it.
    pub resource: String,
    /// The secondary index a query or scan reads.
    pub index: Option<String>,
    /// The request inside a transaction (`Put`, `Update`, `Delete`, `ConditionCheck`,
    /// `Get`) or a batch write (`PutRequest`, `DeleteRequest`).
    pub part: Option<String>,
    /// The item's partition key, where the request names the item.
    pub key: Option<String>,
}

/// One operation a function sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecordedCall {
    pub function: String,
    /// The SDK's service name: `DynamoDB`, `SNS`, `SSM`, `SQS`, `SESv2`.
    pub service: String,
    /// The API operation: `TransactWriteItems`, `PublishBatch`...
    pub operation: String,
    pub targets: Vec<Target>,
}

impl RecordedCall {
    /// The call as its serialised request describes it.
    pub fn of(function: &str, service: &str, operation: &str, body: &[u8]) -> RecordedCall {
        let targets = match service {
            "DynamoDB" => serde_json::from_slice(body)
                .map(|v| dynamodb_targets(&v))
                .unwrap_or_default(),
            "SSM" => serde_json::from_slice(body)
                .map(|v| ssm_targets(&v))
                .unwrap_or_default(),
            "SNS" => sns_targets(body),
            // Both speak JSON: the queue by its URL, an email by its sender's address.
            "SQS" => json_target(body, "QueueUrl"),
            "SESv2" => json_target(body, "FromEmailAddress"),
            _ => Vec::new(),
        };
        RecordedCall {
            function: function.to_string(),
            service: service.to_string(),
            operation: operation.to_string(),
            targets,
        }
    }
}

impl RecordedCall {
    /// An S3 call on `resource`: `<bucket>/<key>`, or `<bucket>` for a bucket-level
    /// call (see `s3_resource`).
    pub fn of_s3(function: &str, operation: &str, resource: &str) -> RecordedCall {
        RecordedCall {
            function: function.to_string(),
            service: "S3".to_string(),
            operation: operation.to_string(),
            targets: vec![target(resource, None, None, None)],
        }
    }
}

/// The one resource a JSON request names in its `field`.
fn json_target(body: &[u8], field: &str) -> Vec<Target> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get(field)?.as_str().map(str::to_string))
        .map(|resource| vec![target(&resource, None, None, None)])
        .unwrap_or_default()
}

fn target(resource: &str, index: Option<&str>, part: Option<&str>, key: Option<String>) -> Target {
    Target {
        resource: resource.to_string(),
        index: index.map(str::to_string),
        part: part.map(str::to_string),
        key,
    }
}

/// The partition key of an item or key map in DynamoDB JSON.
fn key_of(item: Option<&Value>) -> Option<String> {
    item?.get(table::PK)?.get("S")?.as_str().map(str::to_string)
}

/// The item or key a request of the DynamoDB JSON protocol names.
fn item_of(request: &Value) -> Option<&Value> {
    request.get("Key").or_else(|| request.get("Item"))
}

fn dynamodb_targets(body: &Value) -> Vec<Target> {
    let mut targets = Vec::new();
    if let Some(table) = body.get("TableName").and_then(Value::as_str) {
        let index = body.get("IndexName").and_then(Value::as_str);
        targets.push(target(table, index, None, key_of(item_of(body))));
    }
    // BatchGetItem: {table: {"Keys": [...]}}; BatchWriteItem: {table: [{"PutRequest": {"Item"}}]}.
    for (table, requests) in body
        .get("RequestItems")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        match requests {
            Value::Array(writes) => {
                for (part, request) in writes.iter().filter_map(Value::as_object).flatten() {
                    targets.push(target(table, None, Some(part), key_of(item_of(request))));
                }
            }
            reads => {
                for key in reads
                    .get("Keys")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    targets.push(target(table, None, None, key_of(Some(key))));
                }
            }
        }
    }
    // TransactWriteItems / TransactGetItems: [{"Put": {"TableName", "Item"}}, ...].
    let transact = body.get("TransactItems").and_then(Value::as_array);
    for (part, request) in transact
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flatten()
    {
        let table = request
            .get("TableName")
            .and_then(Value::as_str)
            .unwrap_or("");
        targets.push(target(table, None, Some(part), key_of(item_of(request))));
    }
    targets
}

fn ssm_targets(body: &Value) -> Vec<Target> {
    let one = body.get("Name").and_then(Value::as_str);
    let many = body
        .get("Names")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    one.into_iter()
        .chain(many.filter_map(Value::as_str))
        .map(|name| target(name, None, None, None))
        .collect()
}

/// SNS speaks the query protocol: a form-encoded body naming the topic.
fn sns_targets(body: &[u8]) -> Vec<Target> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    fields
        .iter()
        .filter(|(name, _)| name == "TopicArn" || name == "TargetArn")
        .map(|(_, arn)| target(arn, None, None, None))
        .collect()
}

/// The SDK interceptor that records a function's calls (see the module docs).
#[derive(Debug, Clone)]
pub struct CallRecorder {
    function: Arc<str>,
    sink: Arc<Mutex<Sink>>,
}

#[derive(Debug)]
struct Sink {
    path: PathBuf,
    file: File,
    /// Lines already written: a run repeats the same calls many times over.
    written: HashSet<String>,
}

impl CallRecorder {
    /// A recorder appending `function`'s calls to `<dir>/<function>-<pid>.jsonl`.
    pub fn create(dir: &Path, function: &str) -> io::Result<CallRecorder> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{function}-{}.jsonl", std::process::id()));
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(CallRecorder {
            function: function.into(),
            sink: Arc::new(Mutex::new(Sink {
                path,
                file,
                written: HashSet::new(),
            })),
        })
    }

    fn record(&self, call: &RecordedCall) {
        let Ok(mut line) = serde_json::to_string(call) else {
            return;
        };
        let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        if sink.written.contains(&line) {
            return;
        }
        line.push('\n');
        // One write of a whole line: processes recording into one directory append to
        // files of their own, and threads of one process hold the lock.
        if let Err(e) = sink.file.write_all(line.as_bytes()) {
            tracing::warn!(path = %sink.path.display(), error = %e, "cannot record an AWS call");
            return;
        }
        line.pop();
        sink.written.insert(line);
    }
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "LeadwatchCallRecorder"
    }

    // S3 names its bucket in the host or the path, which the request does not carry
    // until its endpoint is resolved (after serialisation), and its body is the object's
    // bytes: its calls are recorded from their input. This hook runs for presigned
    // requests too, which is what a presigned link's GET is allowed by.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(metadata) = cfg.load::<Metadata>() {
            if metadata.service() == "S3" {
                let resource = s3_resource(context.input());
                self.record(&RecordedCall::of_s3(
                    &self.function,
                    metadata.name(),
                    &resource,
                ));
            }
        }
        Ok(())
    }

    // After serialisation, once per operation (not per retried attempt), with the body
    // that names the resources. Recording never fails the call.
    fn read_after_serialization(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(metadata) = cfg.load::<Metadata>() {
            // S3 is recorded from its input (see `read_before_serialization`).
            if metadata.service() == "S3" {
                return Ok(());
            }
            let body = context.request().body().bytes().unwrap_or_default();
            self.record(&RecordedCall::of(
                &self.function,
                metadata.service(),
                metadata.name(),
                body,
            ));
        }
        Ok(())
    }
}

/// `<bucket>/<key>` (or `<bucket>`) of the S3 operations Leadwatch makes; `?` for
/// another, so that the IAM check names it.
fn s3_resource(input: &aws_smithy_runtime_api::client::interceptors::context::Input) -> String {
    use aws_sdk_s3::operation as op;
    let object = |bucket: Option<&str>, key: Option<&str>| {
        format!("{}/{}", bucket.unwrap_or("?"), key.unwrap_or("?"))
    };
    if let Some(i) = input.downcast_ref::<op::create_multipart_upload::CreateMultipartUploadInput>()
    {
        return object(i.bucket(), i.key());
    }
    if let Some(i) = input.downcast_ref::<op::upload_part::UploadPartInput>() {
        return object(i.bucket(), i.key());
    }
    if let Some(i) =
        input.downcast_ref::<op::complete_multipart_upload::CompleteMultipartUploadInput>()
    {
        return object(i.bucket(), i.key());
    }
    if let Some(i) = input.downcast_ref::<op::abort_multipart_upload::AbortMultipartUploadInput>() {
        return object(i.bucket(), i.key());
    }
    if let Some(i) = input.downcast_ref::<op::get_object::GetObjectInput>() {
        return object(i.bucket(), i.key());
    }
    if let Some(i) = input.downcast_ref::<op::put_object::PutObjectInput>() {
        return object(i.bucket(), i.key());
    }
    if let Some(i) = input.downcast_ref::<op::head_bucket::HeadBucketInput>() {
        return i.bucket().unwrap_or("?").to_string();
    }
    if let Some(i) = input.downcast_ref::<op::create_bucket::CreateBucketInput>() {
        return i.bucket().unwrap_or("?").to_string();
    }
    "?".to_string()
}

/// The function a configuration belongs to: its app name without [`APP_NAME_PREFIX`].
pub fn function_of(config: &SdkConfig) -> Option<&str> {
    config.app_name()?.as_ref().strip_prefix(APP_NAME_PREFIX)
}

/// The recorder for clients of `config`: `None` unless [`RECORD_ENV`] is set and the
/// configuration is a function's. A directory that cannot be written is logged and
/// records nothing, which the IAM test reports as calls missing.
pub fn recorder_for(config: &SdkConfig) -> Option<CallRecorder> {
    let dir = std::env::var_os(RECORD_ENV)?;
    let function = function_of(config)?;
    match CallRecorder::create(Path::new(&dir), function) {
        Ok(recorder) => Some(recorder),
        Err(e) => {
            tracing::warn!(dir = ?dir, error = %e, "cannot record AWS calls");
            None
        }
    }
}

/// Every call recorded in `dir`, in no particular order, each once.
pub fn read_recorded(dir: &Path) -> io::Result<Vec<RecordedCall>> {
    let mut calls = HashSet::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
            continue;
        }
        for line in io::BufReader::new(File::open(&path)?).lines() {
            let line = line?;
            let call = serde_json::from_str(&line).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}: {line}", path.display()),
                )
            })?;
            calls.insert(call);
        }
    }
    Ok(calls.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{RecordedCall, Target};

    fn t(resource: &str, part: Option<&str>, key: Option<&str>) -> Target {
        Target {
            resource: resource.into(),
            index: None,
            part: part.map(Into::into),
            key: key.map(Into::into),
        }
    }

    #[test]
    fn an_s3_call_is_recorded_from_its_input() {
        use aws_sdk_s3::operation::upload_part::UploadPartInput;
        use aws_smithy_runtime_api::client::interceptors::context::Input;
        let input = UploadPartInput::builder()
            .bucket("exports-b")
            .key("exports/x.csv")
            .build()
            .unwrap();
        assert_eq!(
            super::s3_resource(&Input::erase(input)),
            "exports-b/exports/x.csv"
        );
        assert_eq!(super::s3_resource(&Input::erase(42u8)), "?");
    }

    fn call(service: &str, operation: &str, body: &[u8]) -> Vec<Target> {
        RecordedCall::of("f", service, operation, body).targets
    }

    #[test]
    fn a_transaction_is_recorded_part_by_part_with_each_items_key() {
        let body = json!({"TransactItems": [
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "LEAD#a"}, "sk": {"S": "STATE"}}}},
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "METRICS#2026-11"}, "sk": {"S": "x"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "ONCE#r"}}}}
        ]});
        let targets = call(
            "DynamoDB",
            "TransactWriteItems",
            body.to_string().as_bytes(),
        );
        assert_eq!(
            targets,
            vec![
                t("t", Some("Put"), Some("LEAD#a")),
                t("t", Some("Update"), Some("METRICS#2026-11")),
                t("t", Some("ConditionCheck"), Some("ONCE#r")),
            ]
        );
    }

    #[test]
    fn batches_queries_and_single_items_name_their_table_index_and_keys() {
        let get = json!({"RequestItems": {"t": {"Keys": [{"pk": {"S": "LEAD#a"}}, {"pk": {"S": "LEAD#b"}}], "ConsistentRead": true}}});
        assert_eq!(
            call("DynamoDB", "BatchGetItem", get.to_string().as_bytes()),
            vec![t("t", None, Some("LEAD#a")), t("t", None, Some("LEAD#b"))]
        );
        let write = json!({"RequestItems": {"t": [{"PutRequest": {"Item": {"pk": {"S": "LEAD#a"}}}}, {"DeleteRequest": {"Key": {"pk": {"S": "LEAD#b"}}}}]}});
        assert_eq!(
            call("DynamoDB", "BatchWriteItem", write.to_string().as_bytes()),
            vec![
                t("t", Some("PutRequest"), Some("LEAD#a")),
                t("t", Some("DeleteRequest"), Some("LEAD#b"))
            ]
        );
        let query = json!({"TableName": "t", "IndexName": "team_queue", "KeyConditionExpression": "#team = :team"});
        let targets = call("DynamoDB", "Query", query.to_string().as_bytes());
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].index.as_deref(), Some("team_queue"));
        assert_eq!(targets[0].key, None);
        let get = json!({"TableName": "t", "Key": {"pk": {"S": "ONCE#x"}, "sk": {"S": "ONCE"}}});
        assert_eq!(
            call("DynamoDB", "GetItem", get.to_string().as_bytes()),
            vec![t("t", None, Some("ONCE#x"))]
        );
    }

    #[test]
    fn sns_and_ssm_requests_name_their_topic_and_parameter() {
        let publish = b"Action=PublishBatch&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3Aalerts&PublishBatchRequestEntries.member.1.Id=0";
        assert_eq!(
            call("SNS", "PublishBatch", publish),
            vec![t("arn:aws:sns:us-east-1:1:alerts", None, None)]
        );
        let get = json!({"Name": "/lw/secret", "WithDecryption": true});
        assert_eq!(
            call("SSM", "GetParameter", get.to_string().as_bytes()),
            vec![t("/lw/secret", None, None)]
        );
        assert!(call("DynamoDB", "GetItem", b"not json").is_empty());
    }

    #[test]
    fn a_function_configuration_names_its_function_and_others_name_none() {
        let plain = aws_config::SdkConfig::builder().build();
        assert_eq!(super::function_of(&plain), None, "the CLI records nothing");
        let ingest = crate::aws::for_function(&plain, "ingest");
        assert_eq!(super::function_of(&ingest), Some("ingest"));
        assert_eq!(
            ingest.app_name().map(|n| n.to_string()).as_deref(),
            Some("leadwatch-ingest")
        );
    }

    #[test]
    fn a_recorder_writes_each_distinct_call_once_and_reads_them_back() {
        let dir = std::env::temp_dir().join(format!("lw-calls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let recorder = super::CallRecorder::create(&dir, "report").unwrap();
        let scan = RecordedCall::of("report", "DynamoDB", "Scan", br#"{"TableName":"t"}"#);
        let query = RecordedCall::of("report", "DynamoDB", "Query", br#"{"TableName":"t"}"#);
        for c in [&scan, &query, &scan] {
            recorder.record(c);
        }
        let mut read = super::read_recorded(&dir).unwrap();
        read.sort_by(|a, b| a.operation.cmp(&b.operation));
        assert_eq!(read, vec![query, scan]);
        let text =
            std::fs::read_to_string(dir.join(format!("report-{}.jsonl", std::process::id())))
                .unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
