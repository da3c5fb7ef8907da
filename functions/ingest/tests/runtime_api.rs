//! The real `ingest` binary, driven through the Lambda Runtime API with API Gateway
//! HTTP API (v2) events, storing into moto. This is how Lambda runs it: nothing is
//! called in-process.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use leadwatch_adapters::store::Store;
use leadwatch_core::lead::lead_id_for;
use leadwatch_e2e::{moto, unique_name};

/// A minimal Runtime API: hands out queued events and collects the responses.
#[derive(Default)]
struct RuntimeApi {
    events: VecDeque<Value>,
    responses: Vec<(String, Value)>,
    errors: Vec<String>,
}

fn serve(listener: TcpListener, api: Arc<Mutex<RuntimeApi>>) {
    for stream in listener.incoming().flatten() {
        let api = Arc::clone(&api);
        std::thread::spawn(move || {
            let _ = handle_connection(stream, &api);
        });
    }
}

fn handle_connection(stream: TcpStream, api: &Mutex<RuntimeApi>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        if path.ends_with("/invocation/next") {
            // Wait for an event; with none left, hold the request like Lambda does.
            let event = loop {
                if let Some(e) = api.lock().unwrap().events.pop_front() {
                    break e;
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            let id = format!(
                "req-{}",
                event["requestContext"]["requestId"].as_str().unwrap_or("x")
            );
            let payload = event.to_string();
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            write!(
                writer,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:ingest\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n\
                 Content-Length: {}\r\n\r\n{payload}",
                payload.len()
            )?;
        } else if path.ends_with("/response") {
            let id = path.split('/').nth(4).unwrap_or("").to_string();
            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            api.lock().unwrap().responses.push((id, value));
            write!(
                writer,
                "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{{}}"
            )?;
        } else {
            api.lock()
                .unwrap()
                .errors
                .push(String::from_utf8_lossy(&body).into_owned());
            write!(
                writer,
                "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{{}}"
            )?;
        }
        writer.flush()?;
    }
}

fn http_api_event(
    request_id: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
    base64: bool,
    time_epoch: i64,
) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": { "content-type": content_type, "user-agent": "runtime-api-test" },
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": { "method": method, "path": path, "protocol": "HTTP/1.1",
                      "sourceIp": "127.0.0.1", "userAgent": "runtime-api-test" },
            "requestId": request_id, "routeKey": "$default", "stage": "$default",
            "time": "23/Nov/2026:15:00:00 +0000", "timeEpoch": time_epoch
        },
        "body": body,
        "isBase64Encoded": base64
    })
}

#[tokio::test]
async fn the_ingest_binary_serves_api_gateway_events_through_the_runtime_api() {
    let table = unique_name("runtime");
    let config = moto().sdk_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), &table);
    store.create_table().await.unwrap();

    // 2026-11-23T15:00:00Z, the time API Gateway "received" the requests.
    let time_epoch = 1_795_446_000_000_i64;
    let lead = json!({"email": "Rae@Globex.io", "first_name": "Rae", "title": "CRO", "company": "Globex",
                      "employees": 900, "industry": "SaaS", "country": "US", "source": "website",
                      "signals": [{"type": "demo_request", "at": "2026-11-23T14:55:00Z"}]});
    // A plain HTML form arrives base64-encoded from API Gateway.
    let form = "email=ola%40initech.io&first_name=Ola&company=Initech&employees=120&country=DE&source=site&signal=contact_sales";
    let form_b64 = base64::engine::general_purpose::STANDARD.encode(form);
    let api = Arc::new(Mutex::new(RuntimeApi::default()));
    {
        let mut a = api.lock().unwrap();
        a.events.push_back(http_api_event(
            "1",
            "POST",
            "/leads",
            "application/json",
            &lead.to_string(),
            false,
            time_epoch,
        ));
        a.events.push_back(http_api_event(
            "2",
            "POST",
            "/leads",
            "application/x-www-form-urlencoded",
            &form_b64,
            true,
            time_epoch,
        ));
        a.events.push_back(http_api_event(
            "3",
            "POST",
            "/leads",
            "application/json",
            "{not json",
            false,
            time_epoch,
        ));
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server_api = Arc::clone(&api);
    std::thread::spawn(move || serve(listener, server_api));

    let mut child = Command::new(env!("CARGO_BIN_EXE_ingest"))
        .envs(moto().env())
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "ingest")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
        .env("LEADWATCH_TABLE", &table)
        .env("LEADWATCH_METRICS_NAMESPACE", "Leadwatch")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while api.lock().unwrap().responses.len() < 3 {
        assert!(
            Instant::now() < deadline,
            "the binary answered {:?}",
            api.lock().unwrap().responses
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the ingest binary exited"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);

    // Take what the runtime collected before awaiting anything else.
    let (errors, responses) = {
        let api = api.lock().unwrap();
        (api.errors.clone(), api.responses.clone())
    };
    assert!(errors.is_empty(), "invocation errors: {errors:?}");
    let by_id = |id: &str| {
        responses
            .iter()
            .find(|(r, _)| r == id)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let first = by_id("req-1");
    assert_eq!(first["statusCode"], 201, "{first}");
    let body: Value = serde_json::from_str(first["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["status"], "mql");
    assert_eq!(by_id("req-2")["statusCode"], 201);
    let bad = by_id("req-3");
    assert_eq!(bad["statusCode"], 400);
    assert!(bad["body"].as_str().unwrap().contains("\"field\":\"body\""));

    // Stored in moto, judged at the request's own time, not the wall clock.
    let stored = store
        .get_lead(&lead_id_for("rae@globex.io"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.assessment.unwrap().assessed_at.timestamp_millis(),
        time_epoch
    );
    assert!(store
        .get_lead(&lead_id_for("ola@initech.io"))
        .await
        .unwrap()
        .is_some());

    // JSON logs, with lead ids but never the raw email address.
    assert!(
        logs.lines().any(|l| serde_json::from_str::<Value>(l)
            .is_ok_and(|v| v.to_string().contains("lead stored"))),
        "{logs}"
    );
    assert!(!logs.to_lowercase().contains("rae@globex.io"), "{logs}");

    // Each new MQL is an EMF metric line for CloudWatch: MqlCreated by team, at the
    // request's time.
    let emf: Vec<Value> = output
        .stdout
        .split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    let mql_created: Vec<&Value> = emf
        .iter()
        .filter(|v| v.get("MqlCreated").is_some())
        .collect();
    assert_eq!(mql_created.len(), 2, "{emf:?}");
    assert_eq!(
        mql_created[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "Leadwatch"
    );
    assert_eq!(mql_created[0]["_aws"]["Timestamp"], json!(time_epoch));
    let teams: Vec<&str> = mql_created
        .iter()
        .filter_map(|v| v["Team"].as_str())
        .collect();
    assert!(
        teams.contains(&"ae-na") && teams.contains(&"ae-emea"),
        "{teams:?}"
    );
    assert!(!logs.contains("ola@initech.io"), "{logs}");
}
