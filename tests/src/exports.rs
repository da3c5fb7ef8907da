//! Export jobs in the tests: a bucket of their own on moto, jobs run in-process with
//! the export function's clients (so the IAM check sees its calls), and the CSV read
//! back through the presigned link with a plain HTTP GET, as a browser would.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use leadwatch_adapters::aws::s3_client;
use leadwatch_adapters::exports::ExportBucket;
use leadwatch_api::export::{ExportRunner, Exports};

use crate::{function_store, moto, unique_name};

/// A fresh export bucket on moto, and in-process jobs on `table`: the jobs' calls are
/// the export function's, the presigning the report function's.
pub async fn exports_for(table: &str) -> Exports {
    let name = unique_name("exports").to_ascii_lowercase();
    let export_config = moto().function_config("export").await;
    let job_bucket = ExportBucket::new(s3_client(&export_config), &name);
    ExportBucket::new(s3_client(&moto().sdk_config().await), &name)
        .create_if_missing()
        .await
        .expect("create the export bucket");
    Exports {
        bucket: ExportBucket::new(s3_client(&moto().function_config("report").await), &name),
        runner: ExportRunner::InProcess {
            store: function_store("export", table).await,
            bucket: job_bucket,
        },
    }
}

/// A plain GET of `url`: its status and body.
pub async fn http_get(url: &str) -> (u16, Vec<u8>) {
    let client = Client::builder(TokioExecutor::new()).build_http::<String>();
    let uri: http::Uri = url.parse().expect("a URL");
    let response = client.get(uri).await.expect("GET");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes()
        .to_vec();
    (status, body)
}

/// Poll `poll` (a `GET /exports/{id}` through `call`) until the job is no longer
/// running, for up to `seconds`; the last answer.
pub async fn wait_for_job<F, Fut>(mut call: F, seconds: u64) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    // Quick at first, then once a second: moto serves one request at a time, and a
    // poll competes with the job it waits for.
    let mut pause = Duration::from_millis(25);
    loop {
        let doc = call().await;
        if doc["status"] != "running" || std::time::Instant::now() > deadline {
            return doc;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// An export through `get` (a GET of a path through the report routes, answering
/// status and JSON body): started at `path` (202), polled until done, and its CSV read
/// back through the presigned link.
pub async fn export_csv<F, Fut>(get: F, path: &str) -> String
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = (u16, Value)>,
{
    let (status, started) = get(path.to_string()).await;
    assert_eq!(status, 202, "{path}: {started}");
    let poll = started["poll"].as_str().expect("a poll path").to_string();
    let done = wait_for_job(|| async { get(poll.clone()).await.1 }, 120).await;
    assert_eq!(done["status"], "done", "{path}: {done}");
    let (status, csv) = http_get(done["url"].as_str().expect("a link")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&csv));
    String::from_utf8(csv).expect("UTF-8 CSV")
}

/// The status and JSON body of a handler's response.
pub fn answer(response: &lambda_http::Response<lambda_http::Body>) -> (u16, Value) {
    (
        response.status().as_u16(),
        serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null),
    )
}
