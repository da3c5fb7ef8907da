//! The notifier against the local stack: each (alert, channel, recipient) once however
//! often the alert arrives, failed sends retried alone and dead-lettered in the end,
//! email through SES v2, webhook URLs from SSM SecureStrings.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_lambda_events::sqs::SqsMessage;
use aws_sdk_sesv2::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_sesv2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sesv2::error::BoxError;
use aws_sdk_ssm::types::ParameterType;
use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};

use leadwatch_adapters::notify::{Channels, EmailTransport, SesEmail, WebhookClient, WebhookUrls};
use leadwatch_adapters::secrets::ParameterStore;
use leadwatch_adapters::store::Store;
use leadwatch_core::alert::sla_alert;
use leadwatch_core::contract::ContractSpec;
use leadwatch_core::lead::{LeadProfile, Signal};
use leadwatch_core::notify::{targets, AlertDocument};
use leadwatch_core::sla::StepKind;
use leadwatch_core::state::LeadState;
use leadwatch_core::Contract;
use leadwatch_e2e::sinks::{
    deliveries, email_sink, notifier, sqs_event, AlertQueue, WebhookServer,
};
use leadwatch_e2e::{moto, unique_name};
use leadwatch_notifier::{handle, RetryQueue};

/// The alert documents of a fast-lane ae-na MQL: its breach (to the team) and its level
/// 2 escalation (to the team and the head of sales).
fn alerts(contract: &Contract) -> (Value, Value) {
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap();
    let profile = LeadProfile {
        email: format!("{}@northwind.io", unique_name("vp")),
        first_name: Some("Zoe".into()),
        title: Some("VP Sales".into()),
        company: Some("Northwind".into()),
        employees: Some(300),
        country: Some("US".into()),
        source: Some("website".into()),
        ..Default::default()
    };
    let mut state = LeadState::new(
        leadwatch_e2e::lead_id(&profile.email),
        profile.clone(),
        contract,
        at,
    );
    let demo = Signal {
        kind: "demo_request".into(),
        at,
        seconds_on_page: None,
        question: false,
        detail: None,
    };
    state.ingest(None, &[demo], contract, at);
    let steps = state.sla.clone().expect("an MQL").steps;
    let step = |kind| {
        steps
            .iter()
            .find(|s| s.kind == kind)
            .expect("a step")
            .clone()
    };
    let breach = step(StepKind::Breach);
    let escalation = step(StepKind::Escalation);
    (
        sla_alert(&state, &breach, contract, breach.at).document,
        sla_alert(
            &state,
            &escalation,
            contract,
            escalation.at + Duration::minutes(3),
        )
        .document,
    )
}

fn message(id: &str, document: &Value) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_string());
    m.body = Some(document.to_string());
    m
}

struct Setup {
    config: aws_config::SdkConfig,
    store: Store,
    contract: Arc<Contract>,
    hooks: WebhookServer,
}

async fn setup() -> Setup {
    let config = moto().sdk_config().await;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&config),
        unique_name("notify"),
    );
    store.create_table().await.unwrap();
    Setup {
        config,
        store,
        contract: Arc::new(Contract::default_contract().unwrap()),
        hooks: WebhookServer::start().await,
    }
}

/// The deliveries `document` should make under the shipped contract, as the sinks key them.
fn expected(contract: &Contract, document: &Value) -> Vec<(String, String)> {
    let doc = AlertDocument::parse(&document.to_string()).unwrap();
    targets(contract, &doc)
        .into_iter()
        .map(|t| {
            let key = match t.kind {
                leadwatch_core::contract::delivery::ChannelKind::Email => t.key(),
                _ => t.channel,
            };
            (doc.alert_id.clone(), key)
        })
        .collect()
}

#[tokio::test]
async fn an_alert_arriving_again_or_at_two_notifiers_at_once_reaches_each_channel_once() {
    let s = setup().await;
    let email = email_sink();
    let app = notifier(&s.store, &s.contract, &email, &s.hooks);
    let (breach, escalation) = alerts(&s.contract);
    let now = Utc::now();

    // Two notifiers with the same two messages at once (SQS delivered them twice), a
    // batch that holds one alert twice (SNS delivered it twice), and a late copy.
    let both = || sqs_event(vec![message("m1", &breach), message("m2", &escalation)]);
    let (a, b) = tokio::join!(handle(&app, both(), now), handle(&app, both(), now));
    let twice = sqs_event(vec![message("m3", &escalation), message("m4", &escalation)]);
    let (c, _) = handle(&app, twice, now).await;
    let (late, _) = handle(&app, sqs_event(vec![message("m5", &breach)]), now).await;
    assert!(
        late.batch_item_failures.is_empty(),
        "a copy of a delivered alert succeeds"
    );

    // Whatever found another notifier's claim failed and comes back: retry it, as the
    // queue would, until nothing fails.
    let mut retry: Vec<String> = [&a.0, &b.0, &c]
        .iter()
        .flat_map(|r| {
            r.batch_item_failures
                .iter()
                .map(|f| f.item_identifier.clone())
        })
        .collect();
    let mut rounds = 0;
    while !retry.is_empty() {
        rounds += 1;
        assert!(rounds < 20, "retries never settled");
        let batch = retry
            .iter()
            .map(|id| message(id, if id == "m1" { &breach } else { &escalation }))
            .collect();
        let (r, _) = handle(&app, sqs_event(batch), Utc::now()).await;
        retry = r
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
    }

    let counts = deliveries(&email, &s.hooks);
    let mut want: Vec<(String, String)> = expected(&s.contract, &breach);
    want.extend(expected(&s.contract, &escalation));
    assert_eq!(
        counts.keys().cloned().collect::<Vec<_>>(),
        {
            want.sort();
            want.clone()
        },
        "every channel of both alerts, and nothing else"
    );
    assert!(counts.values().all(|n| *n == 1), "each once: {counts:#?}");
    assert!(
        want.iter()
            .any(|(_, k)| k == "head-of-sales#hana@seller.io")
            && want.iter().any(|(_, k)| k == "sales-leadership-teams"),
        "the escalation reaches the head of sales by email and Teams: {want:?}"
    );
    let teams = s
        .hooks
        .posts()
        .into_iter()
        .find(|p| p.channel == "sales-leadership-teams")
        .expect("a Teams post");
    assert_eq!(teams.body["type"], "message");
    assert_eq!(
        teams.body["attachments"][0]["content"]["type"],
        "AdaptiveCard"
    );
    for document in [&breach, &escalation] {
        let id = document["alert_id"].as_str().unwrap();
        let records = s.store.deliveries(id).await.unwrap();
        assert!(
            !records.is_empty() && records.iter().all(|r| r.delivered),
            "{records:?}"
        );
    }
}

/// The lease, directly: a delivery another notifier holds is left alone and its
/// message retried; one whose holder died (its lease lapsed) is sent by the retry.
#[tokio::test]
async fn a_live_claim_holds_a_delivery_back_and_a_lapsed_one_lets_the_retry_send() {
    let s = setup().await;
    let email = email_sink();
    let app = notifier(&s.store, &s.contract, &email, &s.hooks);
    let (breach, _) = alerts(&s.contract);
    let id = breach["alert_id"].as_str().unwrap();
    let lease = Duration::seconds(leadwatch_notifier::LEASE_SECONDS);
    let now = Utc::now();
    // Another notifier is sending the email right now; the Slack post's notifier died
    // two leases ago, mid-send.
    let mail_key = "ae-na-manager#kim@seller.io";
    let slack_key = "ae-na-slack#ae-na-slack";
    s.store
        .claim_delivery(id, mail_key, "other", now, lease)
        .await
        .unwrap();
    s.store
        .claim_delivery(id, slack_key, "dead", now - lease * 3, lease)
        .await
        .unwrap();

    let (r, summary) = handle(&app, sqs_event(vec![message("m1", &breach)]), now).await;
    assert_eq!(
        r.batch_item_failures.len(),
        1,
        "retried: the email is in flight"
    );
    assert_eq!(
        (summary.in_flight, summary.delivered),
        (1, 1),
        "{summary:?}"
    );
    let sent = deliveries(&email, &s.hooks);
    assert_eq!(
        sent.get(&(id.to_string(), "ae-na-slack".to_string())),
        Some(&1)
    );
    assert!(
        sent.keys().all(|(_, k)| k != mail_key),
        "the held email was not sent"
    );

    // The other notifier finishes; the retry finds both delivered and sends nothing.
    assert!(s
        .store
        .finish_delivery(id, mail_key, "other", now)
        .await
        .unwrap());
    let (r, summary) = handle(&app, sqs_event(vec![message("m1", &breach)]), now).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(
        (summary.duplicates, summary.delivered),
        (2, 0),
        "{summary:?}"
    );
    let records = s.store.deliveries(id).await.unwrap();
    let slack = records.iter().find(|r| r.key == slack_key).unwrap();
    assert_eq!(
        slack.attempts, 2,
        "claimed by the dead notifier, then by the retry"
    );
}

#[tokio::test]
async fn a_failed_send_is_retried_alone_with_backoff_and_dead_lettered_in_the_end() {
    let s = setup().await;
    let email = email_sink();
    let app = notifier(&s.store, &s.contract, &email, &s.hooks);
    let (breach, _) = alerts(&s.contract);
    let id = breach["alert_id"].as_str().unwrap().to_string();
    let sent = |channel: &str| {
        deliveries(&email, &s.hooks)
            .into_iter()
            .filter(|((_, k), _)| k.starts_with(channel))
            .map(|(_, n)| n)
            .sum::<usize>()
    };

    s.hooks.fail("ae-na-slack", true);
    for attempt in 1..=2 {
        let (r, summary) = handle(&app, sqs_event(vec![message("m1", &breach)]), Utc::now()).await;
        assert_eq!(
            r.batch_item_failures.len(),
            1,
            "attempt {attempt}: the message fails"
        );
        assert_eq!(r.batch_item_failures[0].item_identifier, "m1");
        assert_eq!(summary.failed, 1, "attempt {attempt}");
        assert_eq!(
            (sent("ae-na-manager"), sent("ae-na-slack")),
            (1, 0),
            "attempt {attempt}: the email went once"
        );
    }
    let records: BTreeMap<String, bool> = s
        .store
        .deliveries(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.key, r.delivered))
        .collect();
    assert_eq!(records.get("ae-na-manager#kim@seller.io"), Some(&true));
    assert_eq!(
        records.get("ae-na-slack#ae-na-slack"),
        Some(&false),
        "released for the retry"
    );

    s.hooks.fail("ae-na-slack", false);
    let (r, summary) = handle(&app, sqs_event(vec![message("m1", &breach)]), Utc::now()).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!((summary.delivered, summary.duplicates), (1, 1));
    assert_eq!((sent("ae-na-manager"), sent("ae-na-slack")), (1, 1));

    // On a queue with a dead-letter queue after 2 receives, as the template wires it
    // (with 5): a channel that keeps failing sends the message there.
    let dlq = AlertQueue::create(&s.config, None).await;
    let queue = AlertQueue::create(&s.config, Some((&dlq.arn, 2))).await;
    let mut app = app;
    app.retries = Some(RetryQueue {
        client: queue.sqs.clone(),
        url: queue.url.clone(),
    });
    let (_, escalation) = alerts(&s.contract);
    s.hooks.fail("sales-leadership-teams", true);
    queue
        .sqs
        .send_message()
        .queue_url(&queue.url)
        .message_body(escalation.to_string())
        .send()
        .await
        .unwrap();
    let batch = queue.receive(30).await;
    assert_eq!(batch.len(), 1);
    let (r, _) = handle(&app, sqs_event(batch.clone()), Utc::now()).await;
    assert_eq!(r.batch_item_failures.len(), 1);
    // The handler pushed the retry back (60 s for a first receive): nothing to receive now.
    assert!(
        queue.receive(30).await.is_empty(),
        "the retry waits for its backoff"
    );
    assert_eq!(queue.depth().await, 1, "still on the queue");
    queue.settle(&batch, &r, 0).await; // make it visible again at once
    let batch = queue.receive(30).await;
    let (r, _) = handle(&app, sqs_event(batch.clone()), Utc::now()).await;
    assert_eq!(
        r.batch_item_failures.len(),
        1,
        "the second receive fails too"
    );
    queue.settle(&batch, &r, 0).await;
    // The third receive finds the message over maxReceiveCount: SQS moves it.
    assert!(queue.receive(30).await.is_empty());
    let dead = dlq.receive(30).await;
    assert_eq!(dead.len(), 1, "the message is in the dead-letter queue");
    let dead_doc: Value = serde_json::from_str(dead[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(dead_doc["alert_id"], escalation["alert_id"]);
}

#[tokio::test]
async fn what_is_not_an_alert_fails_and_an_alert_without_a_route_is_done() {
    let s = setup().await;
    let email = email_sink();
    let app = notifier(&s.store, &s.contract, &email, &s.hooks);
    let (mut breach, _) = alerts(&s.contract);
    let mut garbage = SqsMessage::default();
    garbage.message_id = Some("junk".into());
    garbage.body = Some("{\"hello\": \"world\"}".into());
    breach["team"] = json!("a-team-nobody-routes");
    let (r, summary) = handle(
        &app,
        sqs_event(vec![garbage, message("nowhere", &breach)]),
        Utc::now(),
    )
    .await;
    let failed: Vec<&str> = r
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        failed,
        vec!["junk"],
        "only the unreadable message is retried (and dead-lettered)"
    );
    assert_eq!(
        (summary.invalid, summary.unrouted, summary.delivered),
        (1, 1, 0)
    );
    assert!(deliveries(&email, &s.hooks).is_empty());
}

/// Every SES v2 request body the client sends.
#[derive(Debug, Default, Clone)]
struct SesRequests(Arc<Mutex<Vec<Value>>>);

impl Intercept for SesRequests {
    fn name(&self) -> &'static str {
        "SesRequests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.request().body().bytes().unwrap_or_default();
        let json = serde_json::from_slice(body).unwrap_or(Value::Null);
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(json);
        Ok(())
    }
}

#[tokio::test]
async fn email_goes_through_ses_one_message_per_recipient_from_the_verified_sender() {
    let s = setup().await;
    let sesv2 = aws_sdk_sesv2::Client::new(&s.config);
    sesv2
        .create_email_identity()
        .email_identity("leadwatch@seller.io")
        .send()
        .await
        .expect("verify the sender in the local SES");
    let requests = SesRequests::default();
    let client = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(&s.config)
            .interceptor(requests.clone())
            .build(),
    );
    let email = email_sink();
    let mut app = notifier(&s.store, &s.contract, &email, &s.hooks);
    app.channels.email = EmailTransport::Ses(SesEmail::new(client.clone(), "leadwatch@seller.io"));
    let (_, escalation) = alerts(&s.contract);
    let (r, summary) = handle(
        &app,
        sqs_event(vec![message("m1", &escalation)]),
        Utc::now(),
    )
    .await;
    assert!(r.batch_item_failures.is_empty(), "{summary:?}");
    let sent = requests
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let to: Vec<&str> = sent
        .iter()
        .map(|b| b["Destination"]["ToAddresses"][0].as_str().unwrap_or(""))
        .collect();
    assert_eq!(to.len(), 2, "one SendEmail per recipient: {sent:#?}");
    assert!(
        to.contains(&"kim@seller.io") && to.contains(&"hana@seller.io"),
        "{to:?}"
    );
    let one = &sent[0];
    assert_eq!(one["FromEmailAddress"], "leadwatch@seller.io");
    let simple = &one["Content"]["Simple"];
    assert!(simple["Subject"]["Data"]
        .as_str()
        .unwrap()
        .starts_with("[Leadwatch] SLA escalation level 2"));
    assert!(simple["Body"]["Text"]["Data"]
        .as_str()
        .unwrap()
        .contains("Alert "));
    assert_eq!(simple["Headers"][0]["Name"], "X-Leadwatch-Alert-Id");
    assert_eq!(simple["Headers"][0]["Value"], escalation["alert_id"]);

    // A sender SES has not verified: refused, and the message is retried.
    app.channels.email = EmailTransport::Ses(SesEmail::new(client, "nobody@unverified.example"));
    let (_, other) = alerts(&s.contract);
    let (r, summary) = handle(&app, sqs_event(vec![message("m2", &other)]), Utc::now()).await;
    assert_eq!(r.batch_item_failures.len(), 1);
    assert_eq!(
        summary.failed, 2,
        "both emails of the escalation failed: {summary:?}"
    );
}

#[tokio::test]
async fn webhook_urls_come_from_ssm_secure_strings_and_never_show_in_errors() {
    let s = setup().await;
    let parameter = format!("/leadwatch/{}/ae-na-slack", unique_name("hooks"));
    let secret_url = s.hooks.url("ae-na-slack");
    aws_sdk_ssm::Client::new(&s.config)
        .put_parameter()
        .name(&parameter)
        .value(&secret_url)
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let mut spec: ContractSpec = s.contract.spec.clone();
    spec.delivery.channels.insert(
        "ae-na-slack".into(),
        leadwatch_core::contract::delivery::Channel::Slack {
            webhook_parameter: parameter.clone(),
        },
    );
    let contract = Arc::new(Contract::validate(spec).unwrap());
    let email = email_sink();
    let mut app = notifier(&s.store, &contract, &email, &s.hooks);
    let urls = WebhookUrls::new(Some(ParameterStore::from_config(&s.config)));
    app.channels = Channels {
        email: app.channels.email.clone(),
        webhooks: WebhookClient::new(urls).unwrap(),
    };
    let (breach, escalation) = alerts(&contract);
    let (r, _) = handle(&app, sqs_event(vec![message("m1", &breach)]), Utc::now()).await;
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(
        s.hooks.posts().len(),
        1,
        "posted to the URL in the parameter"
    );

    // The Teams channel's parameter does not exist: the error names it, not a URL.
    let doc = AlertDocument::parse(&escalation.to_string()).unwrap();
    let teams = targets(&contract, &doc)
        .into_iter()
        .find(|t| t.channel == "sales-leadership-teams")
        .unwrap();
    let rendered = leadwatch_core::notify::render(teams.kind, &doc, None);
    let e = app
        .channels
        .send(&doc.alert_id, &teams, &rendered)
        .await
        .unwrap_err();
    assert!(
        e.message
            .contains("/leadwatch/webhooks/sales-leadership-teams"),
        "{e}"
    );
    assert!(!e.message.contains("http"), "{e}");
    // And a failed post never shows the URL either.
    s.hooks.fail("ae-na-slack", true);
    let slack = targets(&contract, &doc)
        .into_iter()
        .find(|t| t.channel == "ae-na-slack")
        .unwrap();
    let e = app
        .channels
        .send(
            &doc.alert_id,
            &slack,
            &leadwatch_core::notify::render(slack.kind, &doc, None),
        )
        .await
        .unwrap_err();
    assert!(e.retryable && e.message.contains("500"), "{e}");
    assert!(!e.message.contains(&secret_url), "{e}");
}

/// The real notifier binary through the Lambda Runtime API, configured as a local run
/// would configure it: emails and the Slack channel into files, everything else from
/// the environment. A batch with one alert twice and one non-alert answers with the
/// non-alert alone in `batchItemFailures`, and each channel got the alert once.
#[tokio::test]
async fn the_notifier_binary_answers_with_the_failed_messages_only() {
    let s = setup().await;
    let dir = std::env::temp_dir();
    let email_file = dir.join(format!("{}.jsonl", unique_name("bin-email")));
    let slack_file = dir.join(format!("{}.jsonl", unique_name("bin-slack")));
    let (breach, _) = alerts(&s.contract);
    let event = json!({"Records": [
        {"messageId": "a", "receiptHandle": "ra", "body": breach.to_string(),
         "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
         "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:notify",
         "awsRegion": "us-east-1"},
        {"messageId": "b", "receiptHandle": "rb", "body": breach.to_string(),
         "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
         "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:notify",
         "awsRegion": "us-east-1"},
        {"messageId": "c", "receiptHandle": "rc", "body": "not an alert",
         "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
         "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:notify",
         "awsRegion": "us-east-1"}
    ]});
    let table = s.store.table_name().to_string();
    let email_path = email_file.display().to_string();
    let slack_url = format!("file://{}", slack_file.display());
    let answers = tokio::task::spawn_blocking(move || {
        let mut lambda = leadwatch_e2e::runtime_api::LambdaProcess::start(
            "notifier",
            &[
                ("LEADWATCH_TABLE", table.as_str()),
                ("LEADWATCH_EMAIL_FILE", email_path.as_str()),
                ("LEADWATCH_WEBHOOK_URL_AE_NA_SLACK", slack_url.as_str()),
            ],
        );
        let answers = lambda.invoke_all(vec![event]);
        lambda.stop();
        answers
    })
    .await
    .unwrap();
    let failures: Vec<&str> = answers[0]["batchItemFailures"]
        .as_array()
        .expect("a partial batch response")
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap_or(""))
        .collect();
    // The second copy of the alert either found the first's claim (retried later) or,
    // handled after it, found it delivered.
    assert!(failures.contains(&"c"), "the non-alert fails: {failures:?}");
    assert!(
        !(failures.contains(&"a") && failures.contains(&"b")),
        "one copy of the alert went through: {failures:?}"
    );
    let lines = |p: &std::path::Path| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let emails = lines(&email_file);
    let slack = lines(&slack_file);
    assert_eq!(emails.len(), 1, "{emails:#?}");
    assert_eq!(emails[0]["recipient"], "kim@seller.io");
    assert_eq!(slack.len(), 1, "{slack:#?}");
    assert_eq!(slack[0]["alert_id"], breach["alert_id"]);
    assert_eq!(slack[0]["body"]["blocks"][0]["type"], "header");
}
