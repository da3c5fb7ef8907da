//! Support for the end-to-end tests: each test binary starts its own moto server (the
//! local AWS stack, over the real wire protocol) and each test makes its own table, so
//! tests run in parallel without seeing each other's data.

pub mod browser;
pub mod exports;
pub mod faults;
pub mod iam;
pub mod moto;
pub mod runtime_api;
pub mod signed;
pub mod sinks;
pub mod web_app;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use aws_config::BehaviorVersion;
use leadwatch_core::access::{Caller, Role};

pub use moto::{repo_root, MotoServer};
pub use signed::{
    lead_id, signed, signed_as, table_snapshot, test_sources, CRM_SECRET, MARKETING_SECRET,
};

/// The shared moto server of this test binary, started on first use. It exits with the
/// test binary (see [`moto`]'s module docs), even though a static is never dropped.
pub fn moto() -> &'static MotoServer {
    static MOTO: OnceLock<MotoServer> = OnceLock::new();
    MOTO.get_or_init(MotoServer::start)
}

impl MotoServer {
    /// An SDK config pointed at this moto with dummy credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .load()
            .await
    }

    /// [`MotoServer::sdk_config`] for Lambda function `function` (`ingest`,
    /// `disposition`, `report`, `watchdog`). Clients built from it by
    /// `leadwatch_adapters::aws` (`dynamodb_client`, `Store::from_config`...) record
    /// their calls as that function's when `LEADWATCH_RECORD_AWS_CALLS` is set, so the
    /// IAM check ([`iam`]) sees what an in-process test makes each function do.
    pub async fn function_config(&self, function: &str) -> aws_config::SdkConfig {
        leadwatch_adapters::aws::for_function(&self.sdk_config().await, function)
    }
}

/// A store on `table` as Lambda function `function` would use it: its calls are
/// recorded as that function's (see [`MotoServer::function_config`]).
pub async fn function_store(function: &str, table: &str) -> leadwatch_adapters::store::Store {
    let config = moto().function_config(function).await;
    leadwatch_adapters::store::Store::new(leadwatch_adapters::aws::dynamodb_client(&config), table)
}

/// The monthly rollups of `table` brought up to date, as the rollup function keeps
/// them in AWS: every record of the table's change stream counted (moto has the
/// stream, not Lambda's event source mapping). The counting is recorded as the
/// rollup function's calls; call it before reading a report or a dashboard. Counting
/// twice counts nothing twice.
pub async fn count_stream(table: &str) -> leadwatch_rollup::BatchSummary {
    let store = function_store("rollup", table).await;
    leadwatch_rollup::count_local_stream(&moto().sdk_config().await, &store, chrono::Utc::now())
        .await
        .unwrap_or_else(|e| panic!("counting the change stream of {table}: {e}"))
}

/// A name (table, topic, queue) unique within this test binary.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// An SNS topic with one SQS queue per subscriber, each subscribed with raw delivery
/// and a filter policy, the way a sales manager subscribes to their own team.
pub struct AlertInbox {
    pub topic_arn: String,
    sqs: aws_sdk_sqs::Client,
    queues: Vec<(String, String)>,
}

impl AlertInbox {
    /// `subscribers`: (name, filter policy JSON on message attributes).
    pub async fn create(
        config: &aws_config::SdkConfig,
        subscribers: &[(&str, serde_json::Value)],
    ) -> AlertInbox {
        let sns = aws_sdk_sns::Client::new(config);
        let sqs = aws_sdk_sqs::Client::new(config);
        let topic_arn = sns
            .create_topic()
            .name(unique_name("alerts"))
            .send()
            .await
            .expect("create topic")
            .topic_arn
            .expect("topic arn");
        let mut queues = Vec::new();
        for (name, filter) in subscribers {
            let url = sqs
                .create_queue()
                .queue_name(unique_name(name))
                .send()
                .await
                .expect("create queue")
                .queue_url
                .expect("queue url");
            let arn = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .send()
                .await
                .expect("queue attributes")
                .attributes
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                        .cloned()
                })
                .expect("queue arn");
            sns.subscribe()
                .topic_arn(&topic_arn)
                .protocol("sqs")
                .endpoint(arn)
                .attributes("RawMessageDelivery", "true")
                .attributes("FilterPolicy", filter.to_string())
                .send()
                .await
                .expect("subscribe");
            queues.push((name.to_string(), url));
        }
        AlertInbox {
            topic_arn,
            sqs,
            queues,
        }
    }

    /// Everything that arrived on a subscriber's queue since the last call, as the JSON
    /// alert documents. No long polling: the local moto serves one request at a time.
    pub async fn drain(&self, name: &str) -> Vec<serde_json::Value> {
        let url = &self
            .queues
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no subscriber {name}"))
            .1;
        let mut documents = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .expect("receive");
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return documents;
            }
            for m in messages {
                let body = m.body.unwrap_or_default();
                documents
                    .push(serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)));
                if let Some(handle) = m.receipt_handle {
                    self.sqs
                        .delete_message()
                        .queue_url(url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("delete");
                }
            }
        }
    }
}

impl AlertInbox {
    /// Everything on a subscriber's queue, as the JSON alert documents, without
    /// deleting it: each message is hidden for an hour once received, so a large
    /// inbox is read in one request per ten messages.
    pub async fn receive_all(&self, name: &str) -> Vec<serde_json::Value> {
        let url = &self
            .queues
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no subscriber {name}"))
            .1;
        let mut documents = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .visibility_timeout(3600)
                .wait_time_seconds(0)
                .send()
                .await
                .expect("receive");
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return documents;
            }
            for m in messages {
                let body = m.body.unwrap_or_default();
                documents
                    .push(serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)));
            }
        }
    }
}

/// `req` from a signed-in caller, for tests about something other than authorization:
/// a rep on every team of the default contract, named by the body's `by` when it has
/// one (as dispositions used to name their actor), else an ops admin.
pub fn signed_in(req: lambda_http::Request) -> lambda_http::Request {
    let by = serde_json::from_slice::<serde_json::Value>(req.body().as_ref())
        .ok()
        .and_then(|v| v.get("by").and_then(|b| b.as_str()).map(str::to_string))
        // A `by` that cannot name anyone (blank, control characters, far too long) is
        // some test's bad input: leave it to the route to refuse.
        .filter(|b| !b.trim().is_empty() && !b.chars().any(char::is_control) && b.len() <= 200);
    let caller = match by {
        Some(by) => test_caller(&by, &ALL_TEAMS, &[Role::Rep]),
        None => test_caller("ops@leadwatch.test", &ALL_TEAMS, &[Role::Ops, Role::Admin]),
    };
    leadwatch_api::entry::as_caller(req, &caller)
}

/// The teams of the default contract.
pub const ALL_TEAMS: [&str; 5] = [
    "ae-na",
    "ae-emea",
    "sdr-na",
    "sdr-na-enterprise",
    "sdr-emea",
];

/// A caller whose subject and email are `email`.
pub fn test_caller(email: &str, teams: &[&str], roles: &[Role]) -> Caller {
    Caller {
        subject: email.to_string(),
        email: Some(email.to_string()),
        teams: teams.iter().map(|t| t.to_string()).collect(),
        roles: roles.iter().copied().collect(),
    }
}
