//! Opening a function's first AWS connection during init, not in its first invocation.
//!
//! An SDK client opens its connections lazily: without this, the first request of a
//! cold start's first invocation pays for everything the client has not done yet (the
//! endpoint and credentials resolved, the TCP connection, and in AWS the TLS handshake)
//! while API Gateway's caller waits. Each function's `main` calls the warm-up of the
//! service it calls first (DynamoDB for all six) with the very client its handlers use,
//! just before it starts polling the Runtime API, so the connection waits in that
//! client's pool.
//!
//! A warm-up must never stop or slow a cold start for long: it is bounded by
//! [`TIMEOUT`] whatever the client's own time budget, and a failure or a timeout is
//! logged and ignored (the first invocation then connects as it would have anyway).
//!
//! `LEADWATCH_WARM_UP=off` ([`OFF_ENV`]) skips every warm-up: the measurement of the
//! first invocation's latency (`tests/tests/cold_start.rs`) compares both ways with one
//! build, and an operator can rule the warm-up out when chasing a cold-start problem.
//!
//! Each warm-up is one cheap call that the function's role already has to be granted
//! (`infra/template.yaml`; `tests/tests/iam_in_step.rs` records it like any other call):
//! for DynamoDB, a `GetItem` of a key no item has (0.5 RCU, eventually consistent).

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::Store;
use crate::table;

/// The longest a warm-up may add to a cold start. A `GetItem` over a new TLS
/// connection takes a few tens of milliseconds in AWS; one still waiting after this
/// long is better left to the first invocation.
pub const TIMEOUT: Duration = Duration::from_millis(300);

/// The sort key of every warm-up read: none of the table's items has it (see
/// [`crate::table`]'s layout), so the read finds nothing whatever its partition key.
pub const SORT_KEY: &str = "WARM-UP";

/// The partition key a function reads to warm up when its role may read any key.
pub const PARTITION_KEY: &str = "WARM-UP";

/// Set to `off`, no warm-up is made.
pub const OFF_ENV: &str = "LEADWATCH_WARM_UP";

/// Whether warm-ups are on: unless [`OFF_ENV`] says `off`.
pub fn enabled() -> bool {
    std::env::var(OFF_ENV).map_or(true, |v| !v.trim().eq_ignore_ascii_case("off"))
}

/// What a warm-up did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warmed {
    /// The call was answered (the connection is open and pooled), after this long.
    Ready(Duration),
    /// The call failed: the first invocation connects by itself.
    Failed(String),
    /// No answer within [`TIMEOUT`]: given up on, the cold start goes on.
    TimedOut,
    /// Not made: [`OFF_ENV`] is `off`.
    Skipped,
}

/// Opens `store`'s DynamoDB connection: a `GetItem` of the item (`partition_key`,
/// [`SORT_KEY`]), which does not exist. `partition_key` is one the function's role may
/// read: [`PARTITION_KEY`], or a key under the prefix a role is confined to (the
/// notifier's `DELIVERY#`).
pub async fn dynamodb(store: &Store, partition_key: &str) -> Warmed {
    if !enabled() {
        return Warmed::Skipped;
    }
    let started = Instant::now();
    let call = store
        .client()
        .get_item()
        .table_name(store.table_name())
        .key(table::PK, AttributeValue::S(partition_key.to_string()))
        .key(table::SK, AttributeValue::S(SORT_KEY.to_string()))
        .send();
    let warmed = match tokio::time::timeout(TIMEOUT, call).await {
        Ok(Ok(_)) => Warmed::Ready(started.elapsed()),
        Ok(Err(e)) => Warmed::Failed(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()),
        Err(_) => Warmed::TimedOut,
    };
    log("DynamoDB", &warmed);
    warmed
}

fn log(service: &str, warmed: &Warmed) {
    match warmed {
        Warmed::Ready(took) => {
            tracing::debug!(
                service,
                took_ms = took.as_secs_f64() * 1e3,
                "connection warmed"
            )
        }
        Warmed::Failed(error) => {
            tracing::warn!(service, %error, "connection warm-up failed; ignored")
        }
        Warmed::TimedOut => tracing::warn!(
            service,
            timeout_ms = TIMEOUT.as_millis() as u64,
            "connection warm-up timed out; ignored"
        ),
        Warmed::Skipped => {}
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    use aws_config::Region;

    use super::{dynamodb, Warmed, TIMEOUT};
    use crate::aws::{config_loader, dynamodb_client, TimeBudget};
    use crate::store::Store;

    async fn store_at(endpoint: &str) -> Store {
        let config = config_loader(TimeBudget::HTTP_API)
            .region(Region::from_static("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .load()
            .await;
        Store::new(dynamodb_client(&config), "leadwatch")
    }

    #[tokio::test]
    async fn a_dependency_that_never_answers_holds_the_cold_start_no_longer_than_the_timeout() {
        // Accepts connections (the kernel's backlog does) and never answers.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
        let store = store_at(&endpoint).await;
        let started = Instant::now();
        assert_eq!(dynamodb(&store, "WARM-UP").await, Warmed::TimedOut);
        // Well inside the client's own 2 s attempt and 6 s operation budget.
        assert!(started.elapsed() < TIMEOUT + Duration::from_secs(1));
        drop(listener);
    }

    #[tokio::test]
    async fn a_refused_connection_is_reported_not_raised() {
        // A port just freed: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let store = store_at(&format!("http://127.0.0.1:{port}")).await;
        match dynamodb(&store, "WARM-UP").await {
            Warmed::Failed(_) | Warmed::TimedOut => {}
            other => panic!("nothing listens there: {other:?}"),
        }
    }
}
