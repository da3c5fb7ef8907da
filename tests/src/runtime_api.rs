//! A minimal Lambda Runtime API, so the end-to-end tests run the real function binaries
//! the way Lambda runs them: the binary polls `/invocation/next` for events and posts
//! its answers back; nothing is called in-process.
//!
//! ```ignore
//! let lambda = LambdaProcess::start("ingest", &[("LEADWATCH_TABLE", table)]);
//! let answers = lambda.invoke_all(vec![event_1, event_2]);
//! let logs = lambda.stop();
//! ```
//!
//! Test-harness code: it panics with what failed rather than returning errors.
//! Standard library only.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::moto;

/// How long a binary may take for its cold start and one batch of events, on a busy
/// two-core machine.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Default)]
struct Queue {
    events: VecDeque<(String, Value)>,
    responses: Vec<(String, Value)>,
    errors: Vec<(String, String)>,
    /// When the function first asked for an event: its init was over.
    first_next: Option<Instant>,
    /// When each invocation's event was handed out, and when its answer came back.
    handed_out: HashMap<String, Instant>,
    answered: HashMap<String, Instant>,
}

/// How a cold start and the first invocation went, as the Runtime API saw them.
#[derive(Debug, Clone, Copy)]
pub struct ColdStart {
    /// From just before the process was spawned to its first `GET
    /// /runtime/invocation/next`: Lambda's init phase.
    pub init: Duration,
    /// Peak resident memory (`VmHWM`) at the end of init, in KiB.
    pub init_peak_rss_kib: u64,
    /// From handing the first event out to the answer posted (`/response` or `/error`).
    pub first_invocation: Duration,
    /// Peak resident memory after the first invocation, in KiB.
    pub peak_rss_kib: u64,
}

fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A function binary running against our Runtime API, with the local AWS stack's
/// environment.
pub struct LambdaProcess {
    name: String,
    child: Child,
    /// Just before the process was spawned.
    started: Instant,
    queue: Arc<Mutex<Queue>>,
    next_id: u64,
}

/// The path of a function binary of this workspace, built by the same `cargo test`
/// run (`scripts/test.sh` builds every binary first: `cargo build --workspace --bins`).
pub fn function_binary(name: &str) -> PathBuf {
    // target/<profile>/deps/<test binary> -> target/<profile>/<name>
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run `cargo build --workspace --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

impl LambdaProcess {
    /// Starts function binary `name` (see [`function_binary`]) with `env` on top of the
    /// local stack's, pointed at a Runtime API of its own.
    pub fn start(name: &str, env: &[(&str, &str)]) -> LambdaProcess {
        LambdaProcess::start_binary(name, function_binary(name), env)
    }

    /// As [`LambdaProcess::start`], with the binary's path given.
    pub fn start_binary(name: &str, binary: PathBuf, env: &[(&str, &str)]) -> LambdaProcess {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the runtime API");
        let port = listener.local_addr().expect("runtime API address").port();
        let queue = Arc::new(Mutex::new(Queue::default()));
        let served = Arc::clone(&queue);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let queue = Arc::clone(&served);
                std::thread::spawn(move || {
                    let _ = serve_connection(stream, &queue);
                });
            }
        });
        let started = Instant::now();
        let child = Command::new(&binary)
            .envs(moto().env())
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        LambdaProcess {
            name: name.to_string(),
            child,
            started,
            queue,
            next_id: 0,
        }
    }

    /// Hands `events` to the binary and waits for all their answers, in order. An
    /// invocation error (the handler failed or panicked) fails the test.
    pub fn invoke_all(&mut self, events: Vec<Value>) -> Vec<Value> {
        let ids: Vec<String> = events
            .into_iter()
            .map(|event| {
                self.next_id += 1;
                let id = format!("{}-{}", self.name, self.next_id);
                lock(&self.queue).events.push_back((id.clone(), event));
                id
            })
            .collect();
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            {
                let queue = lock(&self.queue);
                assert!(
                    queue.errors.is_empty(),
                    "{} reported invocation errors: {:?}",
                    self.name,
                    queue.errors
                );
                let answered: Vec<Value> = ids
                    .iter()
                    .filter_map(|id| {
                        queue
                            .responses
                            .iter()
                            .find(|(r, _)| r == id)
                            .map(|(_, v)| v.clone())
                    })
                    .collect();
                if answered.len() == ids.len() {
                    return answered;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} did not answer in time",
                self.name
            );
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}) before answering", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Hands `events` to the binary and waits until each is answered or has failed, in
    /// order: `Ok` with the answer, or `Err` with the error the function posted (its
    /// JSON `errorType` and `errorMessage`).
    pub fn invoke_each(&mut self, events: Vec<Value>) -> Vec<Result<Value, String>> {
        let ids: Vec<String> = events
            .into_iter()
            .map(|event| {
                self.next_id += 1;
                let id = format!("{}-{}", self.name, self.next_id);
                lock(&self.queue).events.push_back((id.clone(), event));
                id
            })
            .collect();
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            {
                let queue = lock(&self.queue);
                let outcome = |id: &String| {
                    let answer = queue.responses.iter().find(|(r, _)| r == id);
                    let error = queue.errors.iter().find(|(r, _)| r == id);
                    match (answer, error) {
                        (Some((_, v)), _) => Some(Ok(v.clone())),
                        (None, Some((_, e))) => Some(Err(e.clone())),
                        (None, None) => None,
                    }
                };
                let done: Vec<Result<Value, String>> = ids.iter().filter_map(outcome).collect();
                if done.len() == ids.len() {
                    return done;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} did not answer in time",
                self.name
            );
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}) before answering", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Measures the cold start of a process just started and its first invocation,
    /// `event`: waits until the function first asks for an event (nothing is queued
    /// before, so init is all it has done), reads its peak RSS, then hands `event` out
    /// and waits for its answer. Panics if the function fails or does not answer.
    pub fn measure_cold_start(&mut self, event: Value) -> ColdStart {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        let ready = loop {
            if let Some(at) = lock(&self.queue).first_next {
                break at;
            }
            assert!(
                Instant::now() < deadline,
                "{} never asked for an event",
                self.name
            );
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}) during init", self.name);
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        let init_peak_rss_kib = self.peak_rss_kib();
        let outcome = self.invoke_each(vec![event]).remove(0);
        if let Err(error) = outcome {
            panic!("{}'s first invocation failed: {error}", self.name);
        }
        let id = format!("{}-{}", self.name, self.next_id);
        let queue = lock(&self.queue);
        let (Some(handed), Some(answered)) = (queue.handed_out.get(&id), queue.answered.get(&id))
        else {
            panic!("{}: no timing recorded for {id}", self.name);
        };
        let first_invocation = answered.saturating_duration_since(*handed);
        drop(queue);
        ColdStart {
            init: ready.saturating_duration_since(self.started),
            init_peak_rss_kib,
            first_invocation,
            peak_rss_kib: self.peak_rss_kib(),
        }
    }

    /// The process's peak resident set size so far (`VmHWM` of `/proc/<pid>/status`),
    /// in KiB; 0 where there is no such file.
    pub fn peak_rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|status| {
                status.lines().find_map(|line| {
                    line.strip_prefix("VmHWM:")?
                        .trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse()
                        .ok()
                })
            })
            .unwrap_or(0)
    }

    /// Waits for the binary to exit by itself (a cold start that fails), at most as
    /// long as for an answer.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) => {}
                Err(e) => panic!("cannot wait for {}: {e}", self.name),
            }
            assert!(Instant::now() < deadline, "{} did not exit", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ends the process and returns everything it printed (stdout, then stderr).
    pub fn stop(mut self) -> (String, String) {
        let _ = self.child.kill();
        match self.child.wait_with_output() {
            Ok(output) => (
                String::from_utf8_lossy(&output.stdout).into_owned(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            ),
            Err(e) => panic!("cannot collect the output of {}: {e}", self.name),
        }
    }
}

/// One keep-alive connection from the runtime client: `next` hands out the next event
/// (holding the request while there is none, as Lambda does), `response` and `error`
/// collect what the function answered.
fn serve_connection(stream: TcpStream, queue: &Mutex<Queue>) -> std::io::Result<()> {
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
            lock(queue).first_next.get_or_insert_with(Instant::now);
            let (id, event) = loop {
                let mut queue = lock(queue);
                if let Some(next) = queue.events.pop_front() {
                    queue.handed_out.insert(next.0.clone(), Instant::now());
                    break next;
                }
                drop(queue);
                std::thread::sleep(Duration::from_millis(1));
            };
            let payload = event.to_string();
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
                + 30_000;
            write!(
                writer,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:test\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n\
                 Content-Length: {}\r\n\r\n{payload}",
                payload.len()
            )?;
        } else {
            // /runtime/invocation/<id>/response or /error
            let id = path.split('/').nth(4).unwrap_or("").to_string();
            lock(queue).answered.insert(id.clone(), Instant::now());
            if path.ends_with("/response") {
                let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                lock(queue).responses.push((id, value));
            } else {
                let text = String::from_utf8_lossy(&body).into_owned();
                lock(queue).errors.push((id, text));
            }
            write!(
                writer,
                "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{{}}"
            )?;
        }
        writer.flush()?;
    }
}

/// An API Gateway HTTP API (payload 2.0) event, as API Gateway hands it to a function.
#[derive(Debug, Clone)]
pub struct HttpApiEvent<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub stage: &'a str,
    pub headers: Vec<(&'a str, String)>,
    pub body: Option<Vec<u8>>,
    /// `requestContext.timeEpoch`, in milliseconds.
    pub time_epoch: i64,
    /// The JWT claims API Gateway's authorizer verified, if the route has one.
    pub claims: Option<HashMap<String, String>>,
}

impl HttpApiEvent<'_> {
    /// The event's JSON. Bodies that are not UTF-8, and form posts, are base64-encoded
    /// as API Gateway encodes them.
    pub fn to_json(&self) -> Value {
        use base64::Engine;
        let content_type = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let (body, encoded) = match &self.body {
            None => (Value::Null, false),
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) if !content_type.starts_with("application/x-www-form-urlencoded") => {
                    (Value::String(text.to_string()), false)
                }
                _ => (
                    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
                    true,
                ),
            },
        };
        let raw_path = if self.stage == "$default" {
            self.path.to_string()
        } else {
            format!("/{}{}", self.stage, self.path)
        };
        let headers: serde_json::Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), Value::String(v.clone())))
            .collect();
        serde_json::json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path,
            "rawQueryString": self.query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
                "domainPrefix": "api",
                "http": { "method": self.method, "path": raw_path, "protocol": "HTTP/1.1",
                          "sourceIp": "127.0.0.1", "userAgent": "runtime-api-test" },
                "requestId": "request", "routeKey": "$default", "stage": self.stage,
                "time": "23/Nov/2026:15:00:00 +0000", "timeEpoch": self.time_epoch,
                "authorizer": self.claims.as_ref().map(|claims| serde_json::json!({
                    "jwt": { "claims": claims, "scopes": null }
                }))
            },
            "body": body,
            "isBase64Encoded": encoded
        })
    }
}

/// A function's answer from the Runtime API: status, headers and the body's bytes
/// (base64-decoded when the function encoded it).
pub fn decode_answer(answer: &Value) -> (u16, Value, Vec<u8>) {
    use base64::Engine;
    let status = answer["statusCode"].as_u64().unwrap_or(0) as u16;
    let body = answer["body"].as_str().unwrap_or("");
    let bytes = if answer["isBase64Encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("a base64 body")
    } else {
        body.as_bytes().to_vec()
    };
    (status, answer["headers"].clone(), bytes)
}
