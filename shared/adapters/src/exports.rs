//! Where export jobs put their CSV: an S3 bucket, written by multipart upload with one
//! part in memory at a time, and handed out as presigned GET links; and the queue that
//! hands a job to the export function.
//!
//! Settings: `LEADWATCH_EXPORT_BUCKET` (the bucket), `LEADWATCH_EXPORT_QUEUE_URL` (the
//! job queue; unset, a job runs in the process that started it, as `leadwatch serve`
//! and the tests do).

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use chrono::{DateTime, Utc};

use crate::aws::{s3_client, sqs_client};

/// The size of one uploaded part, and so about the most CSV an export holds in memory.
/// S3 wants at least 5 MiB for every part but the last.
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// How long a presigned link to an export works.
pub const LINK_SECONDS: u64 = 15 * 60;

/// The key prefix of every export object (the IAM grants name it).
pub const EXPORT_PREFIX: &str = "exports/";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("S3: {0}")]
    S3(String),
    #[error("SQS: {0}")]
    Queue(String),
}

fn s3<E: std::error::Error + 'static, R: std::fmt::Debug>(
    e: aws_sdk_s3::error::SdkError<E, R>,
) -> ExportError {
    ExportError::S3(aws_sdk_s3::error::DisplayErrorContext(e).to_string())
}

/// The export bucket.
#[derive(Clone, Debug)]
pub struct ExportBucket {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl ExportBucket {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> ExportBucket {
        ExportBucket {
            client,
            bucket: bucket.into(),
        }
    }

    /// The bucket `LEADWATCH_EXPORT_BUCKET` names, if set.
    pub fn from_env(config: &SdkConfig) -> Option<ExportBucket> {
        std::env::var("LEADWATCH_EXPORT_BUCKET")
            .ok()
            .filter(|b| !b.trim().is_empty())
            .map(|b| ExportBucket::new(s3_client(config), b))
    }

    pub fn name(&self) -> &str {
        &self.bucket
    }

    /// The object key of export `export_id`.
    pub fn object_key(export_id: &str) -> String {
        format!("{EXPORT_PREFIX}{export_id}.csv")
    }

    /// Create the bucket if it is missing: the local stack and tests only (the
    /// template declares the real one).
    pub async fn create_if_missing(&self) -> Result<(), ExportError> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(s3)
    }

    /// Start writing object `key`.
    pub async fn upload(&self, key: &str) -> Result<CsvUpload, ExportError> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type("text/csv; charset=utf-8")
            .content_disposition("attachment; filename=\"leadwatch-export.csv\"")
            .send()
            .await
            .map_err(s3)?;
        let upload_id = out
            .upload_id
            .ok_or_else(|| ExportError::S3("CreateMultipartUpload gave no upload id".into()))?;
        Ok(CsvUpload {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.to_string(),
            upload_id,
            buffer: Vec::with_capacity(PART_BYTES + PART_BYTES / 8),
            parts: Vec::new(),
            bytes: 0,
        })
    }

    /// A GET link to `key`, valid from `now` for `seconds`, and when it stops working.
    /// Signing is local: no request is made.
    pub async fn presigned_get(
        &self,
        key: &str,
        now: DateTime<Utc>,
        seconds: u64,
    ) -> Result<(String, DateTime<Utc>), ExportError> {
        let config = PresigningConfig::builder()
            .start_time(SystemTime::from(now))
            .expires_in(Duration::from_secs(seconds))
            .build()
            .map_err(|e| ExportError::S3(e.to_string()))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(s3)?;
        let expires = now + chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX));
        Ok((request.uri().to_string(), expires))
    }
}

/// One object being written: bytes collect in a buffer of one part, which is uploaded
/// once it reaches [`PART_BYTES`]; memory stays one part whatever the object's size.
pub struct CsvUpload {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    upload_id: String,
    buffer: Vec<u8>,
    parts: Vec<CompletedPart>,
    bytes: u64,
}

impl CsvUpload {
    /// The buffer to write the next bytes into; call [`CsvUpload::flushed`] after.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buffer
    }

    /// Upload the buffer as a part if it has reached [`PART_BYTES`].
    pub async fn flushed(&mut self) -> Result<(), ExportError> {
        if self.buffer.len() >= PART_BYTES {
            self.upload_part().await?;
        }
        Ok(())
    }

    async fn upload_part(&mut self) -> Result<(), ExportError> {
        let number = i32::try_from(self.parts.len() + 1)
            .map_err(|_| ExportError::S3("too many parts".into()))?;
        let body = std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(PART_BYTES + PART_BYTES / 8),
        );
        self.bytes += body.len() as u64;
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(s3)?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag)
                .build(),
        );
        Ok(())
    }

    /// Upload what is left and complete the object; returns its size in bytes.
    pub async fn finish(mut self) -> Result<u64, ExportError> {
        if !self.buffer.is_empty() || self.parts.is_empty() {
            self.upload_part().await?;
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(std::mem::take(&mut self.parts)))
                    .build(),
            )
            .send()
            .await
            .map_err(s3)?;
        Ok(self.bytes)
    }

    /// Give the upload up, so that S3 keeps none of its parts.
    pub async fn abort(self) -> Result<(), ExportError> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await
            .map(|_| ())
            .map_err(s3)
    }
}

/// The queue of export jobs, which the export function consumes.
#[derive(Clone, Debug)]
pub struct ExportQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl ExportQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> ExportQueue {
        ExportQueue {
            client,
            url: url.into(),
        }
    }

    /// The queue `LEADWATCH_EXPORT_QUEUE_URL` names, if set.
    pub fn from_env(config: &SdkConfig) -> Option<ExportQueue> {
        std::env::var("LEADWATCH_EXPORT_QUEUE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .map(|u| ExportQueue::new(sqs_client(config), u))
    }

    /// Hand job `export_id` to the export function.
    pub async fn send(&self, export_id: &str) -> Result<(), ExportError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(serde_json::json!({ "export_id": export_id }).to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| ExportError::Queue(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))
    }
}
