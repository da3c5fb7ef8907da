//! Cold starts of every function binary through the Lambda Runtime API (issue 15): how
//! long init takes (process start to the first `GET /runtime/invocation/next`), the
//! peak RSS (`VmHWM`), and the first invocation's latency (event handed out to answer
//! posted), with the init-time connection warm-up (`leadwatch_adapters::warm`) and
//! without it (`LEADWATCH_WARM_UP=off`).
//!
//! Figures, not assertions: the test is ignored and prints a table. It fails only when a
//! function does not start or its first invocation fails. Measure release builds:
//!
//! ```text
//! scripts/cold_start.sh        # builds the functions (profile `lambda`), then runs this
//! ```
//!
//! or by hand, `LEADWATCH_FUNCTION_BIN_DIR=<dir of the binaries> cargo test -p
//! leadwatch-e2e --test cold_start -- --ignored --nocapture`
//! (`LEADWATCH_COLD_START_RUNS`, default 5, cold starts per function and mode; each
//! figure is their median). Without `LEADWATCH_FUNCTION_BIN_DIR` it measures the debug
//! binaries next to the test, which says little.
//!
//! The local stack is moto over loopback and plain HTTP: no TLS handshake and a
//! sub-millisecond round trip, so what the warm-up saves in AWS (TCP and TLS to the
//! regional endpoint) is larger than what it saves here.

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use leadwatch_adapters::store::Store;
use leadwatch_api::caller::ClaimMapping;
use leadwatch_api::web::session::{session_value, SESSION_COOKIE};
use leadwatch_core::access::Role;
use leadwatch_core::alert::sla_alert;
use leadwatch_core::lead::{LeadProfile, Signal};
use leadwatch_core::signed::Signer;
use leadwatch_core::sla::StepKind;
use leadwatch_core::state::LeadState;
use leadwatch_core::Contract;
use leadwatch_e2e::runtime_api::{function_binary, ColdStart, HttpApiEvent, LambdaProcess};
use leadwatch_e2e::{moto, test_caller, unique_name};

const FUNCTIONS: [&str; 8] = [
    "ingest",
    "disposition",
    "report",
    "web",
    "watchdog",
    "notifier",
    "export",
    "rollup",
];

const SOURCE_SECRETS: &str = r#"{"crm": "cold-crm-secret", "marketing": "cold-marketing-secret"}"#;
const WEB_SECRET: &str = "cold-start web secret of 32 bytes or more";

fn binary(name: &str) -> PathBuf {
    match std::env::var("LEADWATCH_FUNCTION_BIN_DIR") {
        Ok(dir) if !dir.is_empty() => {
            let path = PathBuf::from(dir).join(name);
            assert!(path.exists(), "{} is not built", path.display());
            path
        }
        _ => function_binary(name),
    }
}

fn http(
    method: &'static str,
    path: &'static str,
    query: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Option<&str>,
    claims: Option<&leadwatch_core::access::Caller>,
) -> Value {
    HttpApiEvent {
        method,
        path,
        query,
        stage: "$default",
        headers,
        body: body.map(|b| b.as_bytes().to_vec()),
        time_epoch: Utc::now().timestamp_millis(),
        claims: claims.map(|c| ClaimMapping::default().claims_for(c).0),
    }
    .to_json()
}

/// A breach alert of a fast-lane MQL, as the alert queue hands it to the notifier.
fn alert_batch(contract: &Contract) -> Value {
    let at = Utc
        .with_ymd_and_hms(2026, 11, 23, 14, 0, 0)
        .single()
        .expect("a valid time");
    let profile = LeadProfile {
        email: format!("{}@northwind.io", unique_name("cold")),
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
        profile,
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
    let breach = steps
        .iter()
        .find(|s| s.kind == StepKind::Breach)
        .expect("a breach step")
        .clone();
    let document = sla_alert(&state, &breach, contract, breach.at).document;
    json!({"Records": [
        {"messageId": "m1", "receiptHandle": "r1", "body": document.to_string(),
         "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
         "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:notify",
         "awsRegion": "us-east-1"}
    ]})
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[test]
#[ignore = "prints cold-start figures; run by scripts/cold_start.sh on release builds"]
fn cold_start_and_first_invocation_of_every_function() {
    let runs: usize = std::env::var("LEADWATCH_COLD_START_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let table = unique_name("cold");
    let web_secret = format!("/leadwatch/{}/web-secret", unique_name("cold"));
    let topic = runtime.block_on(async {
        let config = moto().sdk_config().await;
        let store = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
        store.create_table().await.expect("create the table");
        aws_sdk_ssm::Client::new(&config)
            .put_parameter()
            .name(&web_secret)
            .value(WEB_SECRET)
            .r#type(ParameterType::SecureString)
            .send()
            .await
            .expect("put the web secret");
        aws_sdk_sns::Client::new(&config)
            .create_topic()
            .name(unique_name("cold-alerts"))
            .send()
            .await
            .expect("create the alert topic")
            .topic_arn
            .unwrap_or_default()
    });
    let dir = std::env::temp_dir();
    let email_file = dir.join(format!("{}.jsonl", unique_name("cold-email")));
    let slack_file = dir.join(format!("{}.jsonl", unique_name("cold-slack")));
    let slack_url = format!("file://{}", slack_file.display());
    let email_path = email_file.display().to_string();
    let contract = Contract::default_contract().expect("the built-in contract");
    let rep = test_caller("sam@seller.io", &["ae-na"], &[Role::Rep]);
    let ops = test_caller("olga@seller.io", &[], &[Role::Ops]);

    let event = |function: &str| -> Value {
        match function {
            "ingest" => http(
                "POST",
                "/leads",
                "",
                vec![(
                    "content-type",
                    "application/x-www-form-urlencoded".to_string(),
                )],
                Some("form=contact_sales&email=ola%40initech.io&first_name=Ola&company=Initech&employees=120&country=DE&signal=contact_sales"),
                None,
            ),
            "disposition" => http("GET", "/queue", "team=ae-na", vec![], None, Some(&rep)),
            "report" => http(
                "GET",
                "/reports/sla",
                "from=2026-11&to=2026-11",
                vec![],
                None,
                Some(&ops),
            ),
            "web" => {
                let signer =
                    Signer::new(WEB_SECRET.as_bytes().to_vec()).expect("a long enough secret");
                let claims = ClaimMapping::default().claims_for(&rep);
                let session = session_value(&signer, &claims, Utc::now() + chrono::Duration::hours(8));
                http(
                    "GET",
                    "/app",
                    "",
                    vec![
                        ("cookie", format!("{SESSION_COOKIE}={session}")),
                        ("host", "api.example.com".to_string()),
                    ],
                    None,
                    None,
                )
            }
            "watchdog" => json!({"version": "0", "id": "cold", "detail-type": "Scheduled Event",
                                 "source": "aws.events", "time": Utc::now().to_rfc3339(),
                                 "resources": [], "detail": {}}),
            // A job the table does not hold (expired): looked up, logged, dropped.
            "export" => json!({"Records": [
                {"messageId": "m1", "receiptHandle": "r1", "body": "{\"export_id\": \"ex_cold\"}",
                 "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                 "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:export",
                 "awsRegion": "us-east-1"}
            ]}),
            // A stream record of a version that adds to no counter.
            "rollup" => json!({"Records": [
                {"eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
                 "awsRegion": "us-east-1",
                 "dynamodb": {"Keys": {"pk": {"S": "LEAD#cold"}, "sk": {"S": "STATE"}},
                              "NewImage": {"pk": {"S": "LEAD#cold"}, "sk": {"S": "STATE"},
                                           "version": {"N": "1"}},
                              "SequenceNumber": "1", "SizeBytes": 40,
                              "StreamViewType": "NEW_IMAGE"}}
            ]}),
            _ => alert_batch(&contract),
        }
    };
    let env = |function: &str, warm: &'static str| -> Vec<(String, String)> {
        let mut env = vec![
            ("LEADWATCH_TABLE".to_string(), table.clone()),
            ("LEADWATCH_WARM_UP".to_string(), warm.to_string()),
        ];
        let extra: Vec<(&str, String)> = match function {
            "ingest" => vec![("LEADWATCH_SOURCE_SECRETS", SOURCE_SECRETS.to_string())],
            "web" => vec![("LEADWATCH_WEB_SECRET_PARAMETER", web_secret.clone())],
            "watchdog" => vec![("LEADWATCH_ALERTS_TOPIC_ARN", topic.clone())],
            "export" => vec![(
                "LEADWATCH_EXPORT_BUCKET",
                "leadwatch-cold-exports".to_string(),
            )],
            "notifier" => vec![
                ("LEADWATCH_EMAIL_FILE", email_path.clone()),
                ("LEADWATCH_WEBHOOK_URL_AE_NA_SLACK", slack_url.clone()),
            ],
            _ => vec![],
        };
        env.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
        env
    };
    let measure = |function: &str, warm: &'static str| -> ColdStart {
        let env = env(function, warm);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut lambda = LambdaProcess::start_binary(function, binary(function), &env);
        let figures = lambda.measure_cold_start(event(function));
        lambda.stop();
        figures
    };

    println!(
        "\ncold starts through the Runtime API, median of {runs} per function and mode \
         (binaries: {})",
        binary("ingest")
            .parent()
            .map_or(String::new(), |d| d.display().to_string())
    );
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>9} {:>12} {:>12}",
        "function", "init ms", "init ms", "RSS MiB", "RSS MiB", "1st call ms", "1st call ms"
    );
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>9} {:>12} {:>12}",
        "", "warm-up", "none", "at init", "peak", "warm-up", "none"
    );
    for function in FUNCTIONS {
        let (mut on, mut off) = (Vec::new(), Vec::new());
        // Alternating, so a busy moment of the machine weighs on both modes alike.
        for _ in 0..runs {
            on.push(measure(function, "on"));
            off.push(measure(function, "off"));
        }
        let mib = |kib: u64| kib as f64 / 1024.0;
        println!(
            "{:<12} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>12.2} {:>12.2}",
            function,
            median(on.iter().map(|c| ms(c.init)).collect()),
            median(off.iter().map(|c| ms(c.init)).collect()),
            median(on.iter().map(|c| mib(c.init_peak_rss_kib)).collect()),
            median(on.iter().map(|c| mib(c.peak_rss_kib)).collect()),
            median(on.iter().map(|c| ms(c.first_invocation)).collect()),
            median(off.iter().map(|c| ms(c.first_invocation)).collect()),
        );
    }
    let _ = std::fs::remove_file(&email_file);
    let _ = std::fs::remove_file(&slack_file);
}
