//! The alert side of the local stack: an SQS queue per subscriber, subscribed to the SNS
//! topic with the filter policy that subscriber would use (or none, for the notifier's
//! queue), and drained at the end so the demo can print what each one received.

use serde_json::Value;

use super::DemoResult;

pub(super) async fn subscribe(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    topic: &str,
    queue: &str,
    filter: Option<&Value>,
) -> DemoResult<String> {
    let url = sqs
        .create_queue()
        .queue_name(queue)
        .send()
        .await
        .map_err(|e| format!("create queue: {e}"))?
        .queue_url
        .ok_or("no queue url")?;
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| format!("queue attributes: {e}"))?
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .ok_or("no queue arn")?;
    let mut request = sns
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("RawMessageDelivery", "true");
    if let Some(filter) = filter {
        request = request.attributes("FilterPolicy", filter.to_string());
    }
    request
        .send()
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    Ok(url)
}

pub(super) async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> DemoResult<Vec<Value>> {
    let mut out = Vec::new();
    loop {
        let batch = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(|e| format!("receive: {e}"))?
            .messages
            .unwrap_or_default();
        if batch.is_empty() {
            out.sort_by(|a: &Value, b: &Value| a["sent_at"].as_str().cmp(&b["sent_at"].as_str()));
            return Ok(out);
        }
        for m in batch {
            out.push(serde_json::from_str(m.body().unwrap_or("null")).unwrap_or(Value::Null));
            if let Some(h) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(h)
                    .send()
                    .await
                    .map_err(|e| format!("delete: {e}"))?;
            }
        }
    }
}
