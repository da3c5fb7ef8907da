//! Faults put between the SDK and the local stack, as SDK interceptors on one client:
//! a response lost after the request took effect, a request refused before it is sent,
//! a slow dependency. Each names the operation it touches (`TransactWriteItems`,
//! `Query`, `PublishBatch`), so a test breaks exactly one thing and leaves the rest of
//! the client alone. Plus [`CapacityLedger`], which makes every DynamoDB request report
//! its consumed capacity and adds it up, for cost figures per step.
//!
//! Interceptors run inside the SDK's request pipeline and cannot await: [`Delay`]
//! blocks its worker thread, so tests that use it run on a multi-threaded runtime.
//!
//! ```ignore
//! let lose = LoseResponses::new("TransactWriteItems", 1);
//! let client = aws_sdk_dynamodb::Client::from_conf(
//!     aws_sdk_dynamodb::config::Builder::from(&config).interceptor(lose.clone()).build(),
//! );
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeDeserializationInterceptorContextMut,
    BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde_json::Value;

/// The name of the operation being sent (`GetItem`, `PublishBatch`, ...).
pub fn operation(cfg: &ConfigBag) -> &str {
    cfg.load::<Metadata>().map_or("", Metadata::name)
}

/// Lets requests of `operation` reach the stack and take effect, then turns the first
/// `n` answers into `500 InternalServerError`, as when a connection drops after the
/// server committed: the SDK sees a transient error and retries the same request.
#[derive(Debug, Clone)]
pub struct LoseResponses {
    operation: &'static str,
    left: Arc<AtomicUsize>,
    lost: Arc<AtomicUsize>,
}

impl LoseResponses {
    pub fn new(operation: &'static str, n: usize) -> Self {
        LoseResponses {
            operation,
            left: Arc::new(AtomicUsize::new(n)),
            lost: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Answers lost so far.
    pub fn lost(&self) -> usize {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Intercept for LoseResponses {
    fn name(&self) -> &'static str {
        "LoseResponses"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if operation(cfg) != self.operation {
            return Ok(());
        }
        let take = self
            .left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if take.is_err() {
            return Ok(());
        }
        self.lost.fetch_add(1, Ordering::SeqCst);
        let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected: the response was lost"}"#;
        let response = context.response_mut();
        *response.status_mut() = 500u16.try_into()?;
        response
            .headers_mut()
            .insert("content-length", body.len().to_string());
        *response.body_mut() = body.into();
        Ok(())
    }
}

/// Refuses, before sending, the requests of `operation` whose body `matches`: the
/// dependency is unreachable for them. Counts what it refused.
#[derive(Clone)]
pub struct FailRequests {
    operation: &'static str,
    matches: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    failed: Arc<AtomicUsize>,
}

impl std::fmt::Debug for FailRequests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FailRequests({})", self.operation)
    }
}

impl FailRequests {
    /// Every request of `operation`.
    pub fn all(operation: &'static str) -> Self {
        FailRequests::matching(operation, |_| true)
    }

    /// The requests of `operation` whose body (as text) `matches`.
    pub fn matching(
        operation: &'static str,
        matches: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        FailRequests {
            operation,
            matches: Arc::new(matches),
            failed: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn failed(&self) -> usize {
        self.failed.load(Ordering::SeqCst)
    }
}

impl Intercept for FailRequests {
    fn name(&self) -> &'static str {
        "FailRequests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if operation(cfg) != self.operation {
            return Ok(());
        }
        let body = context
            .request()
            .body()
            .bytes()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        if (self.matches)(&body) {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(format!("injected: {} is unreachable", self.operation).into());
        }
        Ok(())
    }
}

/// Holds every request of `operation` for `delay` before sending it: a slow dependency.
#[derive(Debug, Clone)]
pub struct Delay {
    pub operation: &'static str,
    pub delay: Duration,
}

impl Intercept for Delay {
    fn name(&self) -> &'static str {
        "Delay"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if operation(cfg) == self.operation {
            std::thread::sleep(self.delay);
        }
        Ok(())
    }
}

/// Operations that can report their consumed capacity.
const MEASURED: [&str; 8] = [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "TransactWriteItems",
    "TransactGetItems",
    "BatchWriteItem",
];

/// Asks every DynamoDB request that can for its consumed capacity
/// (`ReturnConsumedCapacity: TOTAL`) and adds up what the answers report, with the
/// number of requests per operation. The local stack reports capacity by DynamoDB's
/// sizing rules (`scripts/moto_server.py`).
#[derive(Debug, Clone, Default)]
pub struct CapacityLedger {
    read_milli: Arc<AtomicU64>,
    write_milli: Arc<AtomicU64>,
    requests: Arc<Mutex<BTreeMap<String, u64>>>,
    /// Operation -> (read, write) thousandths of a unit.
    by_operation: Arc<Mutex<BTreeMap<String, (u64, u64)>>>,
}

/// What a [`CapacityLedger`] has counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Capacity {
    pub read_units: f64,
    pub write_units: f64,
    /// Requests (attempts) per operation.
    pub requests: BTreeMap<String, u64>,
    /// (read units, write units) per operation.
    pub by_operation: BTreeMap<String, (f64, f64)>,
}

impl CapacityLedger {
    pub fn take(&self) -> Capacity {
        let requests =
            std::mem::take(&mut *self.requests.lock().unwrap_or_else(PoisonError::into_inner));
        let by_operation = std::mem::take(
            &mut *self
                .by_operation
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
        .into_iter()
        .map(|(op, (r, w))| (op, (r as f64 / 1000.0, w as f64 / 1000.0)))
        .collect();
        Capacity {
            read_units: self.read_milli.swap(0, Ordering::SeqCst) as f64 / 1000.0,
            write_units: self.write_milli.swap(0, Ordering::SeqCst) as f64 / 1000.0,
            requests,
            by_operation,
        }
    }

    fn add(&self, operation: &str, capacity: &Value) {
        let entries = match capacity {
            Value::Array(items) => items.iter().collect(),
            one @ Value::Object(_) => vec![one],
            _ => Vec::new(),
        };
        for c in entries {
            let units = |field: &str| c.get(field).and_then(Value::as_f64).unwrap_or(0.0);
            let milli = |u: f64| (u * 1000.0).round().max(0.0) as u64;
            let (read, write) = (
                milli(units("ReadCapacityUnits")),
                milli(units("WriteCapacityUnits")),
            );
            self.read_milli.fetch_add(read, Ordering::SeqCst);
            self.write_milli.fetch_add(write, Ordering::SeqCst);
            let mut by_operation = self
                .by_operation
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let entry = by_operation.entry(operation.to_string()).or_default();
            entry.0 += read;
            entry.1 += write;
        }
    }
}

impl Intercept for CapacityLedger {
    fn name(&self) -> &'static str {
        "CapacityLedger"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = operation(cfg).to_string();
        *self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(op.clone())
            .or_default() += 1;
        if !MEASURED.contains(&op.as_str()) {
            return Ok(());
        }
        let request = context.request_mut();
        let Some(mut body) = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        else {
            return Ok(());
        };
        if body.get("ReturnConsumedCapacity").is_none() {
            body["ReturnConsumedCapacity"] = Value::String("TOTAL".into());
            let bytes = serde_json::to_vec(&body)?;
            request
                .headers_mut()
                .insert("content-length", bytes.len().to_string());
            *request.body_mut() = bytes.into();
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context
            .response()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice::<Value>(b).ok());
        if let Some(capacity) = body.as_ref().and_then(|b| b.get("ConsumedCapacity")) {
            self.add(operation(cfg), capacity);
        }
        Ok(())
    }
}
