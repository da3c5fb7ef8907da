//! Lambda entry point of the export function: the export queue's messages
//! (`{"export_id": "ex_..."}`, sent by the report function's `POST /exports`) in, one
//! job each (`leadwatch_api::export::run_export`: a paginated Query of the `timers`
//! index, CSV streamed to S3 by multipart upload, the job item settled). The queue's
//! batch size is 1; a message whose job failed for a reason worth retrying (the store
//! or S3 failing) is reported as a batch item failure, and the queue retries it
//! (a job already settled is left as it is).
//!
//! Settings: `LEADWATCH_TABLE`, `LEADWATCH_EXPORT_BUCKET`.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde::Deserialize;

use leadwatch_adapters::aws::{function_config, TimeBudget};
use leadwatch_adapters::exports::ExportBucket;
use leadwatch_adapters::store::Store;
use leadwatch_adapters::warm;
use leadwatch_api::export::{run_export, JobError};

#[derive(Deserialize)]
struct JobMessage {
    export_id: String,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = function_config("export", TimeBudget::EXPORT).await;
    let store = Store::from_config(&config);
    let bucket = ExportBucket::from_env(&config)
        .ok_or("LEADWATCH_EXPORT_BUCKET is not set: the export function needs its bucket")?;
    // The first job's connection, opened now. A job's partition: all this role may
    // read by key (infra/template.yaml).
    warm::dynamodb(&store, "EXPORT#warm-up").await;
    let app = std::sync::Arc::new((store, bucket));
    run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let app = std::sync::Arc::clone(&app);
        async move {
        let (store, bucket) = &*app;
        let mut response = SqsBatchResponse::default();
        for record in event.payload.records {
            let id = record.message_id.clone().unwrap_or_default();
            let job: Result<JobMessage, _> =
                serde_json::from_str(record.body.as_deref().unwrap_or_default());
            let Ok(job) = job else {
                // Not a job: retrying it cannot help.
                tracing::error!(message_id = %id, "export queue message is not a job");
                continue;
            };
            // The entry point owns the clock: it stamps the job's finish.
            match run_export(store, bucket, &job.export_id, chrono::Utc::now).await {
                Ok(done) => tracing::info!(
                    export_id = %done.export_id,
                    status = done.status.as_str(),
                    rows = done.rows,
                    "export job settled"
                ),
                Err(JobError::Unknown(export_id)) => {
                    tracing::error!(%export_id, "no such export job (expired?)");
                }
                Err(e) => {
                    tracing::error!(export_id = %job.export_id, error = %e, "export job failed");
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    response.batch_item_failures.push(failure);
                }
            }
        }
        Ok::<_, Error>(response)
        }
    }))
    .await
}
