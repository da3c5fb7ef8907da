//! The one AWS SDK configuration every Leadwatch function and tool uses.
//!
//! The SDK's defaults let a request to a slow or unreachable dependency (DynamoDB,
//! SNS, SSM) wait as long as the socket does: a connection that stalls after connect
//! has no timeout at all. In a Lambda function that time is the invocation's: the
//! function is killed at its own timeout with nothing logged but "Task timed out", and
//! behind API Gateway the client has waited the whole time. So every client gets a
//! [`TimeBudget`]: a deadline per attempt, a few retried attempts (the SDK's standard
//! mode, with backoff), and a deadline for the whole operation, retries included, well
//! inside the invocation's time. A dependency that does not answer then fails one
//! operation with an error the function logs and answers (a 5xx, a run summary).
//!
//! The numbers are chosen against the outer timeouts (`infra/template.yaml`):
//!
//! - API functions ([`TimeBudget::HTTP_API`]) run behind API Gateway, whose HTTP API
//!   integrations give up after 30 s, with a Lambda timeout of 15 s. A request makes
//!   two or three DynamoDB operations in a row (read, conditional write, another pair
//!   on a lost race): 6 s an operation lets two of them fail and the function still
//!   answer before its 15 s. DynamoDB answers in milliseconds, so an attempt still
//!   waiting after 2 s is stuck, and a fresh attempt does better than waiting on it.
//! - The watchdog ([`TimeBudget::WATCHDOG`]) has 60 s for a run of many reads, claims
//!   and SNS publishes; 10 s an operation lets it give up on a stuck dependency and
//!   still report what it did, instead of being cut off by the Lambda timeout.
//! - The notifier ([`TimeBudget::NOTIFIER`]) has 30 s for a batch of queued alerts;
//!   6 s an operation, like the API functions: a failed operation fails one message,
//!   which the queue retries with backoff.
//! - The CLI ([`TimeBudget::CLI`]) runs by hand, from anywhere, against whole tables;
//!   it has no outer deadline, only a person who should not wait for ever.
//!
//! Retrying a timed-out write is safe here: every store write is conditional (a repeat
//! fails its condition and is re-read, see [`crate::store`]), and alerts are claimed
//! once before they are published.
//!
//! Endpoints, region and credentials come from the environment, as `aws_config` reads
//! it (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_REGION`, profiles, the
//! Lambda role): never from code, so the same binary runs against AWS and the local
//! stack. The budget is the one thing set here, and it overrides the environment's
//! retry and timeout settings (`AWS_MAX_ATTEMPTS`, profile timeouts).
//!
//! A Lambda function loads [`function_config`], which also names the function in the
//! SDK's app name: every request's User-Agent then says which function sent it (CloudTrail
//! shows it), and [`crate::calls`] tags the calls it records with it. Clients are built
//! by [`dynamodb_client`], [`sns_client`] and [`ssm_client`], which add the call recorder
//! when recording is on and are plain `Client::new` otherwise.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{AppName, BehaviorVersion, ConfigLoader, SdkConfig};

use crate::calls::{self, APP_NAME_PREFIX};

/// How long an AWS call may take: per attempt, in all, and in how many attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBudget {
    /// Establishing a connection (TCP and TLS).
    pub connect: Duration,
    /// One attempt: sending the request and reading the whole response.
    pub attempt: Duration,
    /// The whole operation: every attempt and the backoff between them.
    pub operation: Duration,
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
}

impl TimeBudget {
    /// The API functions (ingest, disposition, report): 15 s Lambda timeout behind
    /// API Gateway's 30 s.
    pub const HTTP_API: TimeBudget = TimeBudget {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(2),
        operation: Duration::from_secs(6),
        max_attempts: 3,
    };

    /// The scheduled watchdog: 60 s Lambda timeout for a whole run.
    pub const WATCHDOG: TimeBudget = TimeBudget {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(3),
        operation: Duration::from_secs(10),
        max_attempts: 3,
    };

    /// The export job: 900 s Lambda timeout for one export, many small queries,
    /// BatchGetItems and part uploads of 8 MiB each (an attempt gets time for a part
    /// on a slow link).
    pub const EXPORT: TimeBudget = TimeBudget {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(20),
        operation: Duration::from_secs(60),
        max_attempts: 3,
    };

    /// The notifier: 30 s Lambda timeout for a batch of up to ten alerts, each a few
    /// delivery claims and records around its sends. An operation that fails fails its
    /// message only, which the queue retries.
    pub const NOTIFIER: TimeBudget = TimeBudget {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(2),
        operation: Duration::from_secs(6),
        max_attempts: 3,
    };

    /// The rollup function: 60 s Lambda timeout for a stream batch, a few counter
    /// transactions. A failed operation fails the batch, which the stream delivers
    /// again (each version still counts once).
    pub const ROLLUP: TimeBudget = TimeBudget {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(3),
        operation: Duration::from_secs(10),
        max_attempts: 3,
    };

    /// The command-line tools (imports, exports, reports, the dev server): no outer
    /// deadline, long scans and batches, and perhaps a distant region.
    pub const CLI: TimeBudget = TimeBudget {
        connect: Duration::from_secs(5),
        attempt: Duration::from_secs(30),
        operation: Duration::from_secs(120),
        max_attempts: 5,
    };

    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }

    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard().with_max_attempts(self.max_attempts)
    }
}

/// The SDK configuration under `budget`, everything else from the environment. Build
/// every client from it: `aws_sdk_dynamodb::Client::new(&config)`.
pub async fn sdk_config(budget: TimeBudget) -> SdkConfig {
    config_loader(budget).load().await
}

/// [`sdk_config`] before it is loaded, for a caller that must set something more
/// (a test that fixes the region, say).
pub fn config_loader(budget: TimeBudget) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(budget.timeout_config())
        .retry_config(budget.retry_config())
}

/// The configuration of Lambda function `function` (`ingest`, `disposition`, `report`,
/// `watchdog`, `notifier`): [`sdk_config`] under `budget`, named for the function (see [`for_function`]).
pub async fn function_config(function: &str, budget: TimeBudget) -> SdkConfig {
    for_function(&sdk_config(budget).await, function)
}

/// `config` with the app name `leadwatch-<function>`: the User-Agent of every request
/// names the function, and recorded calls are tagged with it. A name the SDK refuses
/// (it allows letters, digits and a few marks) leaves the configuration as it was.
pub fn for_function(config: &SdkConfig, function: &str) -> SdkConfig {
    match AppName::new(format!("{APP_NAME_PREFIX}{function}")) {
        Ok(name) => config.to_builder().app_name(name).build(),
        Err(e) => {
            tracing::warn!(function, error = %e, "not a valid SDK app name");
            config.clone()
        }
    }
}

/// A DynamoDB client of `config`, recording its calls when [`calls::RECORD_ENV`] is set.
pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    match calls::recorder_for(config) {
        None => aws_sdk_dynamodb::Client::new(config),
        Some(recorder) => aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(config)
                .interceptor(recorder)
                .build(),
        ),
    }
}

/// A DynamoDB Streams client of `config`, for the local stack's stand-in for Lambda's
/// event source mapping (no function reads a stream itself: in AWS the mapping's
/// poller does, with the role's managed policy). Its calls are not recorded, as they
/// are no function's.
#[cfg(feature = "local-stream")]
pub fn dynamodb_streams_client(config: &SdkConfig) -> aws_sdk_dynamodbstreams::Client {
    aws_sdk_dynamodbstreams::Client::new(config)
}

/// An SNS client of `config`, recording its calls when [`calls::RECORD_ENV`] is set.
pub fn sns_client(config: &SdkConfig) -> aws_sdk_sns::Client {
    match calls::recorder_for(config) {
        None => aws_sdk_sns::Client::new(config),
        Some(recorder) => aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(config)
                .interceptor(recorder)
                .build(),
        ),
    }
}

/// An SSM client of `config`, recording its calls when [`calls::RECORD_ENV`] is set.
pub fn ssm_client(config: &SdkConfig) -> aws_sdk_ssm::Client {
    match calls::recorder_for(config) {
        None => aws_sdk_ssm::Client::new(config),
        Some(recorder) => aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(config)
                .interceptor(recorder)
                .build(),
        ),
    }
}

/// An SQS client of `config`, recording its calls when [`calls::RECORD_ENV`] is set.
pub fn sqs_client(config: &SdkConfig) -> aws_sdk_sqs::Client {
    match calls::recorder_for(config) {
        None => aws_sdk_sqs::Client::new(config),
        Some(recorder) => aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(config)
                .interceptor(recorder)
                .build(),
        ),
    }
}

/// An S3 client of `config`, recording its calls when [`calls::RECORD_ENV`] is set.
/// With an endpoint URL set (the local stack), buckets are addressed by path: a
/// loopback endpoint has no per-bucket host names.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let mut builder =
        aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some());
    if let Some(recorder) = calls::recorder_for(config) {
        builder = builder.interceptor(recorder);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// An SES (v2) client of `config`, recording its calls when [`calls::RECORD_ENV`] is set.
pub fn sesv2_client(config: &SdkConfig) -> aws_sdk_sesv2::Client {
    match calls::recorder_for(config) {
        None => aws_sdk_sesv2::Client::new(config),
        Some(recorder) => aws_sdk_sesv2::Client::from_conf(
            aws_sdk_sesv2::config::Builder::from(config)
                .interceptor(recorder)
                .build(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_config::retry::RetryMode;
    use aws_config::Region;

    use super::{config_loader, TimeBudget};

    /// The loaded configuration as the clients will see it. The region is fixed and
    /// credentials left out so that loading reads nothing beyond the process.
    async fn loaded(budget: TimeBudget) -> aws_config::SdkConfig {
        config_loader(budget)
            .region(Region::from_static("us-east-1"))
            .no_credentials()
            .load()
            .await
    }

    async fn check(budget: TimeBudget, connect: u64, attempt: u64, operation: u64, tries: u32) {
        let config = loaded(budget).await;
        let timeouts = config.timeout_config().expect("a timeout config");
        assert_eq!(
            timeouts.connect_timeout(),
            Some(Duration::from_secs(connect))
        );
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(attempt))
        );
        assert_eq!(
            timeouts.operation_timeout(),
            Some(Duration::from_secs(operation))
        );
        let retries = config.retry_config().expect("a retry config");
        assert_eq!(retries.mode(), RetryMode::Standard);
        assert_eq!(retries.max_attempts(), tries);
    }

    #[tokio::test]
    async fn the_api_preset_fails_an_operation_well_inside_the_lambda_timeout() {
        check(TimeBudget::HTTP_API, 1, 2, 6, 3).await;
    }

    #[tokio::test]
    async fn the_watchdog_preset_leaves_a_run_time_to_report() {
        check(TimeBudget::WATCHDOG, 1, 3, 10, 3).await;
    }

    #[tokio::test]
    async fn the_cli_preset_is_the_most_patient() {
        check(TimeBudget::CLI, 5, 30, 120, 5).await;
    }

    #[test]
    fn every_preset_fails_an_operation_inside_its_outer_deadline() {
        for budget in [
            TimeBudget::HTTP_API,
            TimeBudget::WATCHDOG,
            TimeBudget::NOTIFIER,
            TimeBudget::ROLLUP,
            TimeBudget::EXPORT,
            TimeBudget::CLI,
        ] {
            assert!(budget.connect < budget.attempt, "{budget:?}");
            assert!(budget.attempt < budget.operation, "{budget:?}");
        }
        // The Lambda timeouts of infra/template.yaml: two failed operations in a row
        // still leave an API function time to answer, and the watchdog more than half
        // of its run.
        assert!(TimeBudget::HTTP_API.operation * 2 < Duration::from_secs(15));
        assert!(TimeBudget::WATCHDOG.operation * 2 < Duration::from_secs(60));
        assert!(TimeBudget::NOTIFIER.operation * 3 < Duration::from_secs(30));
        assert!(TimeBudget::ROLLUP.operation * 3 < Duration::from_secs(60));
        assert!(TimeBudget::EXPORT.operation * 2 < Duration::from_secs(900));
    }
}
