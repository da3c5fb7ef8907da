//! IAM in step with the code (issue 13): every AWS action a function performs is granted
//! to its role in `infra/template.yaml`, and every grant is used or says why it stays.
//!
//! moto checks no IAM, so this test does what a real account would: it runs the real
//! function binaries through the Lambda Runtime API with call recording on
//! (`LEADWATCH_RECORD_AWS_CALLS`, see `leadwatch_adapters::calls`), through a scenario
//! that takes every code path that talks to AWS (signed ingest with the secret from
//! SSM, replays, signals, lead reads, dispositions, the queue, the SLA report, both
//! exports, the watchdog's timers, claims, alerts with signed lead links and
//! contract-review once-markers, the web app's pages and an accept from its lead page),
//! and compares the recorded calls with the grants `infra/translate.py --iam` reads
//! from the template (`leadwatch_e2e::iam`). It depends on no other test binary.
//!
//! The binaries must be built first (`cargo build --bins`; `scripts/test.sh` does).
//!
//! `every_call_the_suite_recorded_is_granted` (ignored, run by `scripts/test.sh`) checks
//! the calls of the whole end-to-end suite, recorded into `LEADWATCH_RECORD_AWS_CALLS`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use aws_sdk_ssm::types::ParameterType;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

use leadwatch_adapters::calls::{read_recorded, RecordedCall, RECORD_ENV};
use leadwatch_adapters::change_stream::{LocalStream, StreamStart};
use leadwatch_adapters::store::Store;
use leadwatch_api::caller::ClaimMapping;
use leadwatch_api::ingest::signed_headers;
use leadwatch_api::web::session::{form_token, session_value, SESSION_COOKIE};
use leadwatch_core::access::Role;
use leadwatch_core::signed::Signer;
use leadwatch_core::LeadIds;
use leadwatch_e2e::iam::{
    compare, glob, needs, report, used, Allowance, Deployment, Finding, Grants, TEMPLATE_APP_URL,
    TEMPLATE_EMAIL_IDENTITY,
};
use leadwatch_e2e::runtime_api::{decode_answer, HttpApiEvent, LambdaProcess};
use leadwatch_e2e::{moto, repo_root, test_caller, unique_name, AlertInbox, ALL_TEAMS};

/// Grants no call of the code uses, which must stay all the same, and why.
const ALLOWANCES: &[Allowance] = &[
    Allowance {
        function: "*",
        grant: "kms:*",
        reason: "The table and the alert topic are encrypted with the stack's key. DynamoDB \
                 and SNS use it on the caller's behalf (the statements are confined to \
                 kms:ViaService); the code never calls KMS itself.",
    },
    Allowance {
        function: "*",
        grant: "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        reason: "Added by SAM: Lambda writes the function's log streams with its role. The \
                 code only prints (its EMF metric lines included).",
    },
    Allowance {
        function: "*",
        grant: "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        reason: "Added by SAM for `Tracing: Active`: Lambda sends the trace segments.",
    },
    Allowance {
        function: "watchdog",
        grant: "sqs:SendMessage",
        reason: "Added by SAM for the DeadLetterQueue: Lambda dead-letters failed \
                 asynchronous invocations with the role; the code sends nothing.",
    },
    Allowance {
        function: "export",
        grant: "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
        reason: "Added by SAM for the SQS event source: Lambda's poller receives and \
                 deletes the export queue's messages with the role; the code sends nothing.",
    },
    Allowance {
        function: "export",
        grant: "s3:AbortMultipartUpload",
        reason: "A job that fails midway aborts its upload so S3 keeps no parts; the \
                 scenario's jobs succeed.",
    },
    Allowance {
        function: "report",
        grant: "dynamodb:UpdateItem",
        reason: "A job the export queue refused is settled as failed at once; the \
                 scenario's queue takes every job.",
    },
    Allowance {
        function: "rollup",
        grant: "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",
        reason: "Added by SAM for the DynamoDB stream event source: Lambda's poller reads \
                 the table's stream with the role and hands the records over; the code \
                 reads no stream.",
    },
    Allowance {
        function: "rollup",
        grant: "sqs:SendMessage",
        reason: "Added by SAM for the stream's OnFailure destination: Lambda sends what \
                 keeps failing to RollupDLQ with the role; the code sends nothing.",
    },
    Allowance {
        function: "notifier",
        grant: "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
        reason: "Added by SAM for the SQS event source: Lambda's poller receives and \
                 deletes the queue's messages with the role; the code only pushes a failed \
                 message back (sqs:ChangeMessageVisibility, a statement of its own).",
    },
];

/// The webhook secret, and the HMAC every ingest post is signed with.
const SECRET: &str = "whsec_iam_in_step";

/// The lead-id key the scenario's ingest function reads from SSM.
const LEAD_ID_KEY: &str = "iam-in-step-lead-id-key";

/// The web app's secret (sessions, form tokens, the alerts' lead links), which the web
/// function and the watchdog read from SSM.
const WEB_SECRET: &str = "iam-in-step web secret of 32 bytes or more";

/// A lead's id under the scenario's key.
fn lead_id_for(email: &str) -> String {
    LeadIds::new(LEAD_ID_KEY).id_for(email)
}

struct Scenario {
    calls: Vec<RecordedCall>,
    deployment: Deployment,
}

/// The scenario, run once for every test of this binary that needs it.
fn scenario() -> &'static Scenario {
    static SCENARIO: OnceLock<Scenario> = OnceLock::new();
    SCENARIO.get_or_init(run_scenario)
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("a valid time")
}

/// An API Gateway event received at `at`, signed with [`SECRET`] when it has a body.
fn event(method: &str, path: &str, body: Option<&Value>, at: DateTime<Utc>) -> Value {
    event_with(method, path, body, at, &[])
}

fn event_with(
    method: &str,
    path: &str,
    body: Option<&Value>,
    at: DateTime<Utc>,
    extra: &[(&'static str, String)],
) -> Value {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut headers = vec![("content-type", "application/json".to_string())];
    headers.extend(extra.iter().cloned());
    let body = body.map(|b| b.to_string().into_bytes());
    let ingest_write = path == "/leads" || path.ends_with("/signals");
    if let (true, Some(bytes)) = (ingest_write, &body) {
        headers.extend(signed_headers(
            "crm",
            SECRET.as_bytes(),
            at.timestamp(),
            bytes,
        ));
    }
    // Signed in (this test is about IAM, not authorization): as the body's `by` when it
    // names someone, else as an ops admin, on every team.
    let actor = body
        .as_ref()
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        .and_then(|v| v["by"].as_str().map(str::to_string))
        .unwrap_or_else(|| "ops@leadwatch.test".to_string());
    let caller = test_caller(&actor, &ALL_TEAMS, &[Role::Rep, Role::Ops, Role::Admin]);
    HttpApiEvent {
        method,
        path,
        query,
        stage: "$default",
        headers,
        body,
        time_epoch: at.timestamp_millis(),
        claims: Some(ClaimMapping::default().claims_for(&caller).0),
    }
    .to_json()
}

/// One request to a function: its status and JSON body (`Null` if not JSON).
fn call(lambda: &mut LambdaProcess, event: Value) -> (u16, Value) {
    let answers = lambda.invoke_all(vec![event]);
    let (status, _, body) = decode_answer(&answers[0]);
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Three pricing visits' worth of intent and a question: a tier-1 MQL for sdr-na.
fn director(email: &str, at: DateTime<Utc>) -> Value {
    json!({
        "email": email, "first_name": "Dana", "title": "Director of Revenue Operations",
        "company": "Northwind", "employees": 300, "industry": "software", "country": "US",
        "source": "linkedin",
        "signals": [
            {"type": "pricing_page_visit", "at": (at - Duration::hours(20)).to_rfc3339(), "seconds_on_page": 140},
            {"type": "pricing_page_visit", "at": (at - Duration::hours(3)).to_rfc3339(), "seconds_on_page": 60},
            {"type": "linkedin_reply", "at": at.to_rfc3339(), "question": true, "detail": "pricing?"}
        ]
    })
}

/// A watchdog run on a scheduled EventBridge event at `at`: its run summary.
fn tick(watchdog: &mut LambdaProcess, at: DateTime<Utc>) -> Value {
    let event = json!({"version": "0", "id": "iam", "detail-type": "Scheduled Event",
                       "source": "aws.events", "time": at.to_rfc3339(), "resources": [], "detail": {}});
    watchdog.invoke_all(vec![event]).remove(0)
}

/// A request to the web function from a browser signed in as `caller`: the session
/// cookie the deployed sign-in sets, sealed with the secret the function reads from SSM,
/// and no authorizer claims (the web routes have no authorizer).
fn web_event(
    method: &str,
    path: &str,
    form: Option<&str>,
    caller: &leadwatch_core::access::Caller,
    at: DateTime<Utc>,
) -> Value {
    let signer = Signer::new(WEB_SECRET.as_bytes().to_vec()).expect("a long enough secret");
    let claims = ClaimMapping::default().claims_for(caller);
    let session = session_value(&signer, &claims, at + Duration::hours(8));
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut headers = vec![
        ("cookie", format!("{SESSION_COOKIE}={session}")),
        ("host", "api.example.com".to_string()),
    ];
    if form.is_some() {
        headers.push((
            "content-type",
            "application/x-www-form-urlencoded".to_string(),
        ));
    }
    HttpApiEvent {
        method,
        path,
        query,
        stage: "$default",
        headers,
        body: form.map(|f| f.as_bytes().to_vec()),
        time_epoch: at.timestamp_millis(),
        claims: None,
    }
    .to_json()
}

/// A webhook URL at which nothing listens: a delivery to it fails at once.
const UNREACHABLE_WEBHOOK: &str = "http://127.0.0.1:9/unreachable";

/// `count` messages of `queue` as Lambda's SQS event source hands them to a function.
async fn notify_batch(sqs: &aws_sdk_sqs::Client, queue: &str, count: usize) -> Value {
    let mut records = Vec::new();
    while records.len() < count {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive the queued alerts");
        for m in out.messages.unwrap_or_default() {
            let attributes: serde_json::Map<String, Value> = m
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_string(), json!(v)))
                .collect();
            records.push(json!({
                "messageId": m.message_id, "receiptHandle": m.receipt_handle,
                "body": m.body, "attributes": attributes, "messageAttributes": {},
                "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:notify",
            }));
        }
    }
    json!({ "Records": records })
}

fn run_scenario() -> Scenario {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let dir: PathBuf = std::env::temp_dir().join(unique_name("iam-calls"));
    let table = unique_name("iam");
    let base = format!("/leadwatch/{}", unique_name("iam"));
    let source_prefix = format!("{base}/sources/");
    let lead_id_key = format!("{base}/lead-id-key");
    let web_secret = format!("{base}/web-secret");
    // The test's own clients are nobody's function: nothing they do is recorded.
    let (store, inbox, sqs, notify_queue, export_queue, export_bucket) = runtime.block_on(async {
        let config = moto().sdk_config().await;
        let store = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
        store.create_table().await.expect("create the table");
        let ssm = aws_sdk_ssm::Client::new(&config);
        for (name, value) in [
            (format!("{source_prefix}crm"), SECRET),
            // Every source of the contract must have its secret, or the cold start fails.
            (format!("{source_prefix}marketing"), "iam-marketing-secret"),
            (lead_id_key.clone(), LEAD_ID_KEY),
            (web_secret.clone(), WEB_SECRET),
        ] {
            ssm.put_parameter()
                .name(name)
                .value(value)
                .r#type(ParameterType::SecureString)
                .send()
                .await
                .expect("put a secret parameter");
        }
        // The notifier's: its queue (for the retry backoff), a Slack webhook URL nobody
        // answers at (so a delivery fails and is pushed back), and the sender's domain.
        ssm.put_parameter()
            .name(format!("{base}/webhooks/ae-na-slack"))
            .value(UNREACHABLE_WEBHOOK)
            .r#type(ParameterType::SecureString)
            .send()
            .await
            .expect("put the webhook parameter");
        aws_sdk_sesv2::Client::new(&config)
            .create_email_identity()
            .email_identity(TEMPLATE_EMAIL_IDENTITY)
            .send()
            .await
            .expect("verify the sender's domain");
        let sqs = aws_sdk_sqs::Client::new(&config);
        let notify_queue = sqs
            .create_queue()
            .queue_name(unique_name("iam-notify"))
            .send()
            .await
            .expect("create the notifier's queue")
            .queue_url
            .unwrap_or_default();
        let export_queue = sqs
            .create_queue()
            .queue_name(unique_name("iam-export"))
            .send()
            .await
            .expect("create the export queue")
            .queue_url
            .unwrap_or_default();
        let export_bucket = unique_name("iam-exports").to_ascii_lowercase();
        leadwatch_adapters::exports::ExportBucket::new(
            leadwatch_adapters::aws::s3_client(&config),
            &export_bucket,
        )
        .create_if_missing()
        .await
        .expect("create the export bucket");
        let subscribers = [
            ("revops", json!({"kind": ["contract_review"]})),
            ("ae-na", json!({"team": ["ae-na"]})),
        ];
        let inbox = AlertInbox::create(&config, &subscribers).await;
        (store, inbox, sqs, notify_queue, export_queue, export_bucket)
    });

    let record = dir.to_str().expect("a UTF-8 temp dir").to_string();
    let env = [
        ("LEADWATCH_TABLE", table.as_str()),
        (RECORD_ENV, record.as_str()),
    ];
    let secret = [
        ("LEADWATCH_SOURCE_SECRETS_PREFIX", source_prefix.as_str()),
        ("LEADWATCH_LEAD_ID_KEY_PARAMETER", lead_id_key.as_str()),
    ];
    let mut ingest = LambdaProcess::start("ingest", &[&env[..], &secret].concat());
    let mut disposition = LambdaProcess::start("disposition", &env);
    let exports = [
        ("LEADWATCH_EXPORT_BUCKET", export_bucket.as_str()),
        ("LEADWATCH_EXPORT_QUEUE_URL", export_queue.as_str()),
    ];
    let mut report_fn = LambdaProcess::start("report", &[&env[..], &exports].concat());
    let topic = [("LEADWATCH_ALERTS_TOPIC_ARN", inbox.topic_arn.as_str())];
    // The scenario's events are weeks old; a deployment refuses those (15 minutes' skew).
    let replay = [("LEADWATCH_MAX_EVENT_SKEW_SECONDS", "315360000")];
    // Alerts carry signed links to the lead page: the watchdog reads the web secret.
    let links = [
        ("LEADWATCH_APP_URL", TEMPLATE_APP_URL),
        ("LEADWATCH_WEB_SECRET_PARAMETER", web_secret.as_str()),
    ];
    let mut watchdog =
        LambdaProcess::start("watchdog", &[&env[..], &topic, &replay, &links].concat());
    // The rollup function, fed the table's stream as its event source mapping would.
    let mut rollup = LambdaProcess::start("rollup", &env);
    let mut stream = runtime.block_on(async {
        LocalStream::open(&moto().sdk_config().await, &table, StreamStart::Oldest)
            .await
            .expect("open the table's stream")
    });
    // Deployed without a sign-in client: the pages trust the session cookie only.
    let mut web = LambdaProcess::start(
        "web",
        &[
            &env[..],
            &[("LEADWATCH_WEB_SECRET_PARAMETER", web_secret.as_str())],
        ]
        .concat(),
    );

    // September and October far below the SLA target (every MQL accepted days late):
    // the first run of November claims the contract-review once-marker and alerts.
    for (tag, day) in [
        ("sep", utc(2026, 9, 15, 15, 0)),
        ("oct", utc(2026, 10, 14, 15, 0)),
    ] {
        let email = format!("late-{tag}@northwind.com");
        let (status, body) = call(
            &mut ingest,
            event("POST", "/leads", Some(&director(&email, day)), day),
        );
        assert_eq!((status, &body["status"]), (201, &json!("mql")), "{body}");
        let accept = format!("/leads/{}/accept", lead_id_for(&email));
        let by = json!({"by": "rep@example.com"});
        let (status, body) = call(
            &mut disposition,
            event("POST", &accept, Some(&by), day + Duration::days(2)),
        );
        assert_eq!(status, 200, "{body}");
    }
    let counted = count_stream(&runtime, &mut stream, &mut rollup);
    assert!(counted > 0, "the late months' versions were counted");
    let summary = tick(&mut watchdog, utc(2026, 11, 1, 0, 0));
    assert_eq!(summary["contract_review"], "2026-10", "{summary}");

    // A VP's demo request: a fast-lane MQL of ae-na at 09:00 New York, sent twice
    // with one idempotency key, then a signal, then read back.
    let mql_at = utc(2026, 11, 23, 14, 0);
    let demo = json!({
        "email": "vp@acme.io", "first_name": "Vee", "title": "VP Sales", "company": "Acme",
        "employees": 300, "country": "US", "source": "website",
        "signals": [{"type": "demo_request", "at": mql_at.to_rfc3339()}]
    });
    let key = [("idempotency-key", "iam-demo-1".to_string())];
    for _ in 0..2 {
        let (status, body) = call(
            &mut ingest,
            event_with("POST", "/leads", Some(&demo), mql_at, &key),
        );
        assert_eq!((status, &body["status"]), (201, &json!("mql")), "{body}");
    }
    let id = lead_id_for("vp@acme.io");
    let signal = json!({"signals": [{"type": "pricing_page_visit", "at": mql_at.to_rfc3339(), "seconds_on_page": 95}]});
    let (status, body) = call(
        &mut ingest,
        event(
            "POST",
            &format!("/leads/{id}/signals"),
            Some(&signal),
            mql_at + Duration::minutes(5),
        ),
    );
    assert_eq!(status, 200, "{body}");
    // A signed request that writes nothing (no such lead) gives its signature claim back.
    let (status, body) = call(
        &mut ingest,
        event(
            "POST",
            &format!("/leads/{}/signals", lead_id_for("nobody@acme.io")),
            Some(&signal),
            mql_at + Duration::minutes(5),
        ),
    );
    assert_eq!(status, 404, "{body}");
    let (status, body) = call(
        &mut ingest,
        event(
            "GET",
            &format!("/leads/{id}"),
            None,
            mql_at + Duration::minutes(6),
        ),
    );
    assert_eq!(status, 200, "{body}");

    // The warning falls due 45 business minutes in: the watchdog reads the timer
    // index, claims, publishes and commits.
    let summary = tick(&mut watchdog, mql_at + Duration::minutes(46));
    assert_eq!(summary["warned"], 1, "{summary}");

    // Sales reads its queue (the team index, then the states by key) and logs a touch.
    let after = mql_at + Duration::minutes(50);
    let (status, queue) = call(
        &mut disposition,
        event("GET", "/queue?team=ae-na", None, after),
    );
    assert_eq!(status, 200, "{queue}");
    assert!(queue.to_string().contains(&id), "{queue}");
    let by = json!({"by": "ae@example.com"});
    let (status, body) = call(
        &mut disposition,
        event("POST", &format!("/leads/{id}/touch"), Some(&by), after),
    );
    assert_eq!(status, 200, "{body}");

    // The SLA report (rollups); the full export and one team's open MQLs, as jobs:
    // the report function records each and queues it, the export function reads the
    // timers index (or the team index) and BatchGetItem, writes the CSV to S3 and
    // settles the job, and the report function hands out a presigned link.
    count_stream(&runtime, &mut stream, &mut rollup);
    let (status, report_body) = call(
        &mut report_fn,
        event("GET", "/reports/sla?from=2026-09&to=2026-11", None, after),
    );
    assert_eq!(status, 200, "{report_body}");
    let month = after.format("%Y-%m").to_string();
    let mut polls = Vec::new();
    for path in [
        format!("/exports?from={month}&to={month}"),
        format!("/export?status=mql&team=ae-na&from={month}&to={month}"),
    ] {
        let method = if path.starts_with("/exports") {
            "POST"
        } else {
            "GET"
        };
        let (status, started) = call(&mut report_fn, event(method, &path, None, after));
        assert_eq!(status, 202, "{path}: {started}");
        polls.push(started["poll"].as_str().unwrap_or_default().to_string());
    }
    let jobs = runtime.block_on(notify_batch(&sqs, &export_queue, 2));
    let mut export_fn = LambdaProcess::start(
        "export",
        &[
            &env[..],
            &[("LEADWATCH_EXPORT_BUCKET", export_bucket.as_str())],
        ]
        .concat(),
    );
    let batches: Vec<Value> = jobs["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|record| json!({ "Records": [record] }))
        .collect();
    for answer in export_fn.invoke_all(batches) {
        assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    }
    export_fn.stop();
    for poll in &polls {
        let (status, job) = call(&mut report_fn, event("GET", poll, None, after));
        assert_eq!(status, 200, "{poll}: {job}");
        assert_eq!(job["status"], "done", "{poll}: {job}");
        let url = job["url"].as_str().unwrap_or_default().to_string();
        let (status, csv) = runtime.block_on(leadwatch_e2e::exports::http_get(&url));
        assert_eq!(status, 200);
        assert!(String::from_utf8_lossy(&csv).contains(&id), "{poll}");
    }

    // The web app, as a rep and manager of ae-na (the lead's team) signed in: the queue (the team
    // index and BatchGetItem), the lead page (the lead and its history), the dashboard
    // (rollups), then an accept from the lead page's form (the disposition transaction).
    let rep = test_caller("ae@example.com", &["ae-na"], &[Role::Rep, Role::Manager]);
    let web_at = after + Duration::minutes(1);
    let lead_page = format!("/app/leads/{id}");
    for path in ["/app", lead_page.as_str(), "/app/dashboard"] {
        let answers = web.invoke_all(vec![web_event("GET", path, None, &rep, web_at)]);
        let (status, _, body) = decode_answer(&answers[0]);
        let body = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "{path}: {body}");
        if path != "/app/dashboard" {
            assert!(body.contains(&id), "{path} shows the lead");
        }
    }
    let signer = Signer::new(WEB_SECRET.as_bytes().to_vec()).expect("a long enough secret");
    let form = serde_urlencoded::to_string([
        ("action", "accept".to_string()),
        ("csrf", form_token(&signer, &rep, web_at)),
    ])
    .expect("an encodable form");
    let answers = web.invoke_all(vec![web_event(
        "POST",
        &lead_page,
        Some(&form),
        &rep,
        web_at,
    )]);
    let (status, headers, body) = decode_answer(&answers[0]);
    assert_eq!(
        status,
        303,
        "the accept: {headers} {}",
        String::from_utf8_lossy(&body)
    );

    for lambda in [ingest, disposition, report_fn, watchdog, web, rollup] {
        lambda.stop();
    }
    runtime.block_on(async {
        assert_eq!(
            inbox.drain("revops").await.len(),
            1,
            "the contract review arrived"
        );
        let lead = store.get_lead(&id).await.expect("read").expect("the lead");
        assert_eq!(lead.status.as_str(), "sal", "accepted from the lead page");
    });

    // The notifier takes the warning from its queue, twice (SNS delivers at least once):
    // one copy claims each channel, the other finds the claim. Email goes out through
    // SES; the Slack URL comes from SSM and does not answer, so that delivery fails and
    // its message is pushed back on the queue.
    let event = runtime.block_on(async {
        let warnings = inbox.drain("ae-na").await;
        assert!(!warnings.is_empty(), "the warning arrived");
        let link = warnings[0]["links"]["page"].as_str().unwrap_or_default();
        assert!(
            link.starts_with(&format!("{TEMPLATE_APP_URL}/app/leads/{id}?link=")),
            "the warning links to the lead page: {}",
            warnings[0]
        );
        for copy in [&warnings[0], &warnings[0]] {
            sqs.send_message()
                .queue_url(&notify_queue)
                .message_body(copy.to_string())
                .send()
                .await
                .expect("queue the alert");
        }
        notify_batch(&sqs, &notify_queue, 2).await
    });
    let contract_file = dir.join("contract.toml");
    let contract = std::fs::read_to_string(repo_root().join("contract/contract.toml"))
        .expect("the contract")
        .replace("\"/leadwatch/webhooks/", &format!("\"{base}/webhooks/"))
        .replace("email_from = \"leadwatch@", "email_from = \"iam@");
    std::fs::write(&contract_file, contract).expect("write the notifier's contract");
    let contract_path = contract_file.display().to_string();
    let mut notifier = LambdaProcess::start(
        "notifier",
        &[
            &env[..],
            &[
                ("LEADWATCH_CONTRACT_FILE", contract_path.as_str()),
                ("LEADWATCH_NOTIFY_QUEUE_URL", notify_queue.as_str()),
            ],
        ]
        .concat(),
    );
    let answer = notifier.invoke_all(vec![event]).remove(0);
    notifier.stop();
    let failed = answer["batchItemFailures"].as_array().map_or(0, Vec::len);
    assert!(failed >= 1, "the Slack delivery failed: {answer}");
    let calls = read_recorded(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let _ = std::fs::remove_dir_all(&dir);
    Scenario {
        calls,
        deployment: Deployment {
            table: Some(table),
            topic: Some(inbox.topic_arn.clone()),
            notify_queue: Some(notify_queue),
            export_queue: Some(export_queue),
            export_bucket: Some(export_bucket),
        },
    }
}

/// What is new on the table's stream, through the rollup function, batch by batch;
/// the versions it added.
fn count_stream(
    runtime: &tokio::runtime::Runtime,
    stream: &mut LocalStream,
    rollup: &mut LambdaProcess,
) -> u64 {
    let mut batches = Vec::new();
    runtime.block_on(async {
        while let Some(batch) = stream.next_event().await.expect("read the stream") {
            batches.push(batch);
        }
    });
    if batches.is_empty() {
        return 0;
    }
    rollup
        .invoke_all(batches)
        .iter()
        .map(|answer| {
            assert_eq!(answer["unreadable"], 0, "{answer}");
            answer["added"]
                .as_u64()
                .unwrap_or_else(|| panic!("{answer}"))
        })
        .sum()
}

fn template_grants() -> Grants {
    Grants::of_template(&repo_root().join("infra/template.yaml")).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn iam_in_step() {
    let s = scenario();
    let needs = needs(&s.calls, &s.deployment);
    let mut by_function: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for need in &needs {
        by_function
            .entry(&need.function)
            .or_default()
            .insert(format!("{} on {}", need.action, need.resource));
    }
    for (function, actions) in &by_function {
        println!("{function}:");
        for action in actions {
            println!("  {action}");
        }
    }
    // The scenario reached every kind of call the issue lists.
    for (function, action) in [
        ("ingest", "ssm:GetParameter"),
        ("ingest", "dynamodb:PutItem"),
        ("disposition", "dynamodb:BatchGetItem"),
        ("report", "dynamodb:PutItem"),
        ("report", "dynamodb:GetItem"),
        ("report", "sqs:SendMessage"),
        ("export", "dynamodb:Query"),
        ("export", "dynamodb:BatchGetItem"),
        ("export", "dynamodb:GetItem"),
        ("export", "dynamodb:UpdateItem"),
        ("export", "s3:PutObject"),
        ("report", "s3:GetObject"),
        ("watchdog", "sns:Publish"),
        ("watchdog", "dynamodb:UpdateItem"),
        ("watchdog", "ssm:GetParameter"),
        ("web", "ssm:GetParameter"),
        ("web", "dynamodb:BatchGetItem"),
        ("web", "dynamodb:GetItem"),
        ("web", "dynamodb:Query"),
        ("web", "dynamodb:PutItem"),
        ("notifier", "dynamodb:UpdateItem"),
        ("notifier", "dynamodb:GetItem"),
        ("notifier", "ssm:GetParameter"),
        ("notifier", "ses:SendEmail"),
        ("notifier", "sqs:ChangeMessageVisibility"),
        ("rollup", "dynamodb:PutItem"),
        ("rollup", "dynamodb:UpdateItem"),
    ] {
        assert!(
            needs
                .iter()
                .any(|n| n.function == function && n.action == action),
            "the scenario made no {action} call as {function}"
        );
    }
    let grants = template_grants();
    let findings = compare(&needs, &grants, ALLOWANCES);
    assert!(findings.is_empty(), "{}", report(&findings));
}

#[test]
fn removing_any_grant_the_code_uses_is_caught() {
    let s = scenario();
    let needs = needs(&s.calls, &s.deployment);
    let grants = template_grants();
    let mut checked = BTreeSet::new();
    for (i, used) in used(&needs, &grants).into_iter().enumerate() {
        if !used {
            continue;
        }
        let removed = &grants.grants[i];
        let mut fewer = grants.clone();
        fewer.grants.remove(i);
        let findings = compare(&needs, &fewer, ALLOWANCES);
        assert!(
            findings.iter().any(|f| matches!(f,
                Finding::NotGranted { function, action, resource, .. }
                    if *function == removed.function && *action == removed.action
                        && glob(&removed.resource, resource, false))),
            "without {} on {} (statement {}), {} still passes: another statement grants the \
             same; remove the duplicate\n{}",
            removed.action,
            removed.resource,
            removed.statement,
            removed.function,
            report(&findings)
        );
        checked.insert((removed.function.clone(), removed.action.clone()));
    }
    // Issue 13's bug, removed grant by grant: the queue and the team export need it.
    for function in ["disposition", "export"] {
        assert!(
            checked.contains(&(function.to_string(), "dynamodb:BatchGetItem".to_string())),
            "{function}: dynamodb:BatchGetItem is not among the grants its calls use"
        );
    }
    for function in [
        "ingest",
        "disposition",
        "report",
        "watchdog",
        "notifier",
        "web",
        "export",
    ] {
        assert!(
            checked.iter().any(|(f, _)| f == function),
            "{function}: no used grant to remove"
        );
    }
    println!("{} used grants, each missed when removed", checked.len());
}

#[test]
fn a_grant_no_call_uses_is_caught() {
    let s = scenario();
    let needs = needs(&s.calls, &s.deployment);
    let mut grants = template_grants();
    let mut extra = grants
        .grants
        .iter()
        .find(|g| g.function == "report" && g.action.starts_with("dynamodb:"))
        .expect("the report function has a DynamoDB statement")
        .clone();
    extra.action = "dynamodb:DeleteItem".to_string();
    grants.grants.push(extra);
    let findings = compare(&needs, &grants, ALLOWANCES);
    assert!(
        findings
            .iter()
            .any(|f| matches!(f, Finding::Unused { function, action, .. }
            if function == "report" && action == "dynamodb:DeleteItem")),
        "{}",
        report(&findings)
    );
}

/// Every client a function uses comes from `leadwatch_adapters::aws`, where recording is
/// attached, and every main names its function: otherwise its calls go unrecorded and
/// unchecked.
#[test]
fn every_function_client_can_record_its_calls() {
    let root = repo_root();
    let mut sources = Vec::new();
    for dir in ["functions", "shared/api/src", "shared/adapters/src"] {
        collect_rust(&root.join(dir), &mut sources);
    }
    assert!(sources.len() > 10, "{sources:?}");
    for path in &sources {
        let text = std::fs::read_to_string(path).expect("readable source");
        let relative = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        if relative.ends_with("adapters/src/aws.rs") {
            continue;
        }
        for built in ["Client::new(", "Client::from_conf("] {
            // An SDK's `Client`, not a type of ours whose name ends in it (`WebhookClient`).
            let sdk_client = text.match_indices(built).any(|(at, _)| {
                !text[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            assert!(
                !sdk_client,
                "{relative} builds a client with {built}: use leadwatch_adapters::aws::*_client, which records calls"
            );
        }
    }
    for function in [
        "ingest",
        "disposition",
        "report",
        "watchdog",
        "notifier",
        "web",
        "export",
    ] {
        let main = root.join(format!("functions/{function}/src/main.rs"));
        let text = std::fs::read_to_string(&main).expect("the function's main");
        assert!(
            text.contains(&format!("function_config(\"{function}\"")),
            "{} must load its AWS configuration with function_config(\"{function}\", ...)",
            main.display()
        );
    }
}

fn collect_rust(dir: &std::path::Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rust(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// The calls of a whole end-to-end run, recorded into `LEADWATCH_RECORD_AWS_CALLS`
/// (`scripts/test.sh` sets it for `cargo test`, then runs this): each is granted.
/// Grants that only this binary's scenario uses are its business, not this test's.
#[test]
#[ignore = "run by scripts/test.sh after the suite, with LEADWATCH_RECORD_AWS_CALLS"]
fn every_call_the_suite_recorded_is_granted() {
    let dir = std::env::var_os(RECORD_ENV).unwrap_or_else(|| {
        panic!("set {RECORD_ENV} to the directory a `cargo test` run recorded its calls in")
    });
    let calls = read_recorded(std::path::Path::new(&dir)).expect("the recorded calls");
    let functions: BTreeSet<&str> = calls.iter().map(|c| c.function.as_str()).collect();
    println!("{} distinct calls recorded, by {functions:?}", calls.len());
    assert!(
        [
            "ingest",
            "disposition",
            "report",
            "watchdog",
            "notifier",
            "web",
            "export"
        ]
        .iter()
        .all(|f| functions.contains(f)),
        "the suite recorded calls of {functions:?} only"
    );
    let deployment = Deployment::default();
    let findings: Vec<Finding> =
        compare(&needs(&calls, &deployment), &template_grants(), ALLOWANCES)
            .into_iter()
            .filter(|f| {
                matches!(
                    f,
                    Finding::NotGranted { .. }
                        | Finding::Denied { .. }
                        | Finding::UnsupportedCondition { .. }
                )
            })
            .collect();
    assert!(findings.is_empty(), "{}", report(&findings));
}
