//! `leadwatch demo`: the whole pipeline on the local AWS stack, on a simulated clock.
//!
//! Three working days of a sales floor in New York and London. Leads arrive through the
//! real ingest handler as they would in production: web forms posted as
//! `application/x-www-form-urlencoded`, JSON webhooks from marketing tools, and signals
//! that webinar and event platforms add to known leads. Sales accepts, rejects and
//! qualifies through the real disposition handler, and the real watchdog runs every
//! half hour of office time in between, so alerts go out while MQLs are still waiting.
//! Alerts are read from SQS queues subscribed to the SNS topic with the filter policy
//! each manager would use. Handlers take `now` as a parameter, so three days pass in
//! seconds.
//!
//! Afterwards the HTTP API is served on the demo's table (unless `--no-serve`), so a
//! person can look at the same leads with curl.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use lambda_http::http::{Request, StatusCode};
use lambda_http::Body;
use serde_json::{json, Map, Value};

use leadwatch_adapters::alerts::AlertPublisher;
use leadwatch_adapters::store::Store;
use leadwatch_api::disposition::DispositionApp;
use leadwatch_api::ingest::IngestApp;
use leadwatch_api::report::{sla_report, ReportQuery};
use leadwatch_cli::serve;
use leadwatch_core::lead::lead_id_for;
use leadwatch_core::report::{render_table, Month};
use leadwatch_core::Contract;
use leadwatch_watchdog::WatchdogApp;

type DemoResult<T> = Result<T, String>;

pub struct Options {
    /// Serve the HTTP API on the demo's table after the report, until Ctrl-C.
    pub serve: bool,
    /// Port for that; 0 picks any free port.
    pub port: u16,
}

/// Who gets which alerts: each manager filters on their team, the head of sales on the
/// escalations addressed to them, marketing on leads coming back to nurture.
const SUBSCRIBERS: [(&str, &str, &str); 7] = [
    ("ae-na manager", "team", "ae-na"),
    ("ae-emea manager", "team", "ae-emea"),
    ("sdr-na manager", "team", "sdr-na"),
    ("sdr-na-enterprise manager", "team", "sdr-na-enterprise"),
    ("sdr-emea manager", "team", "sdr-emea"),
    ("head of sales", "audience", "head-of-sales"),
    ("marketing", "kind", "returned_to_nurture"),
];

/// How often the simulated EventBridge schedule runs the watchdog.
const WATCHDOG_EVERY_MINUTES: i64 = 30;

/// UTC hours in which some office is open: London 09:00-17:30, New York 14:00-22:00.
/// SLA steps fall due in business time, so a run outside these hours finds nothing; the
/// simulation skips those runs, which keeps the demo quick (each run reads 8 shards).
const OFFICE_HOURS_UTC: std::ops::RangeInclusive<u32> = 9..=22;

pub async fn run(options: Options) -> DemoResult<()> {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        return Err(
            "AWS_ENDPOINT_URL is not set: run scripts/demo.sh, which starts the local AWS stack"
                .into(),
        );
    }
    let config =
        leadwatch_adapters::aws::sdk_config(leadwatch_adapters::aws::TimeBudget::CLI).await;
    let contract = Arc::new(Contract::default_contract().map_err(|e| e.to_string())?);
    let suffix = Utc::now().timestamp();
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&config),
        format!("leadwatch-demo-{suffix}"),
    );
    store.create_table().await.map_err(|e| e.to_string())?;
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let topic = sns
        .create_topic()
        .name(format!("leadwatch-alerts-{suffix}"))
        .send()
        .await
        .map_err(|e| format!("create topic: {e}"))?
        .topic_arn
        .ok_or("no topic arn")?;
    let mut queues = Vec::new();
    for (i, (name, attribute, value)) in SUBSCRIBERS.iter().enumerate() {
        let filter = if *attribute == "team" {
            json!({"team": [value], "kind": ["sla_warning", "sla_breach", "sla_escalation", "sla_expired"]})
        } else {
            json!({ *attribute: [value] })
        };
        queues.push((
            *name,
            subscribe(&sns, &sqs, &topic, &format!("demo-{suffix}-{i}"), &filter).await?,
        ));
    }
    println!("Local stack: table {}, topic {topic}", store.table_name());

    let ingest = IngestApp {
        store: store.clone(),
        contract: Arc::clone(&contract),
        webhook_secret: None,
    };
    let disposition = DispositionApp {
        store: store.clone(),
        contract: Arc::clone(&contract),
    };
    let watchdog = WatchdogApp {
        store: store.clone(),
        alerts: AlertPublisher::new(sns.clone(), &topic),
        contract: Arc::clone(&contract),
    };

    // Monday 2026-11-23, 09:00 in London, 04:00 in New York.
    let start = Utc
        .with_ymd_and_hms(2026, 11, 23, 9, 0, 0)
        .single()
        .ok_or("bad start")?;
    // Close of business in New York on Wednesday, the eve of Thanksgiving.
    let end = start + Duration::days(2) + Duration::hours(13);
    let steps = scenario(start);
    println!(
        "\n== Monday to Wednesday on a simulated clock: {} submissions, sales decisions, \
         the watchdog every {WATCHDOG_EVERY_MINUTES} minutes",
        steps.iter().filter(|s| s.is_submission()).count()
    );
    println!("   Times are UTC. London is UTC, New York UTC-5; Thu 26 Nov is a New York holiday.");

    let mut tally = Tally::default();
    let mut steps = steps.into_iter().peekable();
    let mut tick = start;
    let mut day = None;
    while tick <= end {
        while let Some(step) = steps.next_if(|s| s.at <= tick) {
            print_day(&mut day, step.at);
            let line = match &step.what {
                What::Dispose { .. } => dispose(&disposition, &step).await?,
                _ => submit(&ingest, &step, &mut tally).await?,
            };
            println!("  {}  {}", step.at.format("%a %H:%M"), line.trim_end());
        }
        if !OFFICE_HOURS_UTC.contains(&tick.hour()) {
            tick += Duration::minutes(WATCHDOG_EVERY_MINUTES);
            continue;
        }
        let s = leadwatch_watchdog::run(&watchdog, tick).await;
        if s.warned + s.expired + s.returned + s.failed > 0 || !s.escalated.is_empty() {
            print_day(&mut day, tick);
            let mut done = Vec::new();
            if s.warned > 0 {
                done.push(format!("warned {}", s.warned));
            }
            for (level, n) in &s.escalated {
                done.push(format!("escalated L{level} x{n}"));
            }
            if s.expired > 0 {
                done.push(format!("expired {}", s.expired));
            }
            if s.returned > 0 {
                done.push(format!("returned to nurture {}", s.returned));
            }
            if s.failed > 0 {
                done.push(format!("FAILED {}", s.failed));
            }
            println!(
                "  {}  watchdog {}",
                tick.format("%a %H:%M"),
                done.join(", ")
            );
        }
        tick += Duration::minutes(WATCHDOG_EVERY_MINUTES);
    }
    println!(
        "\n   {} submissions: {} MQLs ({} fast lane), {} disqualified, {} nurture, {} dropped as spam",
        tally.submissions,
        tally.mqls,
        tally.fast_lane,
        tally.disqualified,
        tally.nurture,
        tally.dropped
    );

    println!("\n== Alerts each subscriber received");
    for (name, url) in &queues {
        let alerts = drain(&sqs, url).await?;
        println!("  {name} ({} alerts)", alerts.len());
        for a in alerts {
            println!(
                "    {:<19} {:<20} level {:<4} {:<14} {:<18} {}",
                a["sent_at"].as_str().unwrap_or("").get(..16).unwrap_or(""),
                a["kind"].as_str().unwrap_or(""),
                a["level"].as_str().unwrap_or(""),
                a["audience"].as_str().unwrap_or(""),
                a["team"].as_str().unwrap_or(""),
                a["packet"]["name"]
                    .as_str()
                    .unwrap_or(a["lead_id"].as_str().unwrap_or(""))
            );
        }
    }

    // The report as ops read it: the same rollups and code as GET /reports/sla.
    let month = Month::of(start.date_naive());
    let query = ReportQuery {
        from: month,
        to: month,
        team: None,
    };
    let report = sla_report(&store, &query)
        .await
        .map_err(|e| format!("report: {e}"))?;
    println!("\n== SLA report (leadwatch report --from {month} --to {month})");
    print!("{}", render_table(&report));

    if options.serve {
        serve_demo(store, contract, options.port).await?;
    }
    Ok(())
}

/// The API on the demo's table, with commands to paste, until Ctrl-C.
async fn serve_demo(store: Store, contract: Arc<Contract>, port: u16) -> DemoResult<()> {
    let listener = serve::bind(port)
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let base = serve::base_url(
        listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?,
    );
    let zoe = json!({
        "email": "zoe.quinn@example-na.com", "first_name": "Zoe", "last_name": "Quinn",
        "title": "VP Sales", "company": "Example", "employees": 400, "industry": "saas",
        "country": "US", "source": "website",
        "signals": [{"type": "demo_request", "question": true, "detail": "Can I see it this week?"}]
    });
    let zoe_id = lead_id_for("zoe.quinn@example-na.com");
    serve::say(&format!(
        "\n== The HTTP API on the demo's leads (table {table})\n{routes}\n\
         Try it. The server stamps the real clock; the demo's leads live in 23-25 November 2026.\n\n  \
         # a demo request: a fast-lane MQL for ae-na\n  \
         curl -s -X POST {base}/leads -H 'content-type: application/json' -d '{zoe}'\n\n  \
         # that lead, by id: state, assessment, handoff packet, audit history\n  \
         curl -s {base}/leads/{zoe_id}\n\n  \
         # the team's open MQLs, oldest first, with business minutes left\n  \
         curl -s '{base}/queue?team=ae-na'\n\n  \
         # SLA adherence for the month\n  \
         curl -s '{base}/reports/sla?from=2026-11&to=2026-11'\n\n\
         There is no JWT authorizer locally; in AWS the read routes need one.\n\
         Press Ctrl-C to stop the server.",
        table = store.table_name(),
        routes = serve::describe(&base).trim_end(),
    ));
    serve::init_logging();
    serve::run(
        listener,
        serve::Api::new(store, contract, None),
        serve::ctrl_c(),
    )
    .await
    .map_err(|e| format!("the server stopped: {e}"))
}

fn print_day(day: &mut Option<u32>, at: DateTime<Utc>) {
    if *day != Some(at.ordinal()) {
        *day = Some(at.ordinal());
        println!("\n  -- {}", at.format("%A %-d %B"));
    }
}

/// What came of the submissions, for the summary line and the report.
#[derive(Default)]
struct Tally {
    submissions: usize,
    mqls: usize,
    fast_lane: usize,
    disqualified: usize,
    nurture: usize,
    dropped: usize,
}

/// A lead or its signals arrive; returns the line to print.
async fn submit(app: &IngestApp, step: &Step, tally: &mut Tally) -> DemoResult<String> {
    let (label, email, uri, content_type, body) = match &step.what {
        What::Form { email, fields } => (
            "form",
            email,
            "/leads".to_string(),
            "application/x-www-form-urlencoded",
            serde_urlencoded::to_string(fields).map_err(|e| e.to_string())?,
        ),
        What::Webhook { email, body } => (
            "webhook",
            email,
            "/leads".to_string(),
            "application/json",
            body.to_string(),
        ),
        What::Signals { email, body } => (
            "event",
            email,
            format!("/leads/{}/signals", lead_id_for(email)),
            "application/json",
            body.to_string(),
        ),
        What::Dispose { .. } => return Err("not a submission".into()),
    };
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", content_type)
        .body(Body::Text(body))
        .map_err(|e| e.to_string())?;
    let response = leadwatch_api::ingest::handle(app, req, step.at).await;
    let status = response.status();
    let doc: Value = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    let head = format!("{label:<8} {email:<32}");
    if status == StatusCode::ACCEPTED {
        tally.submissions += 1;
        tally.dropped += 1;
        return Ok(format!(
            "{head} 202, dropped: the hidden honeypot field was filled; nothing stored"
        ));
    }
    if !status.is_success() {
        return Ok(format!(
            "{head} {} {}",
            status.as_u16(),
            doc["message"].as_str().unwrap_or("")
        ));
    }
    let state = doc["status"].as_str().unwrap_or("-");
    if step.is_submission() {
        tally.submissions += 1;
        match state {
            "disqualified" => tally.disqualified += 1,
            "nurture" => tally.nurture += 1,
            _ => {}
        }
    } else if state == "mql" {
        // Promoted from nurture by these signals.
        tally.nurture = tally.nurture.saturating_sub(1);
    }
    if state == "mql" {
        tally.mqls += 1;
        if doc["fast_lane"].as_bool() == Some(true) {
            tally.fast_lane += 1;
        }
    }
    let total = doc["total"]
        .as_f64()
        .map_or("-".into(), |t| format!("{t:.0}"));
    let detail = match state {
        "mql" => format!(
            "{}{}, due {}",
            if doc["fast_lane"].as_bool() == Some(true) {
                "fast lane to "
            } else {
                ""
            },
            doc["team"].as_str().unwrap_or("-"),
            short_time(&doc["sla_due_at"])
        ),
        "disqualified" => format!(
            "gates: {}",
            doc["failed_gates"]
                .as_array()
                .map(|g| g
                    .iter()
                    .filter_map(|x| x["gate"].as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        ),
        _ => String::new(),
    };
    Ok(format!("{head} {state:<12} {total:>3}  {detail}"))
}

/// Sales answers; returns the line to print.
async fn dispose(app: &DispositionApp, step: &Step) -> DemoResult<String> {
    let What::Dispose {
        email,
        action,
        body,
    } = &step.what
    else {
        return Err("not a disposition".into());
    };
    let req = Request::builder()
        .method("POST")
        .uri(format!("/leads/{}/{action}", lead_id_for(email)))
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .map_err(|e| e.to_string())?;
    let response = leadwatch_api::disposition::handle(app, req, step.at).await;
    let status = response.status();
    let doc: Value = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    let head = format!("{action:<8} {email:<32}");
    if status != StatusCode::OK {
        return Ok(format!(
            "{head} {} {}",
            status.as_u16(),
            doc["message"].as_str().unwrap_or("")
        ));
    }
    let by = body["by"].as_str().unwrap_or("");
    let state = doc["status"].as_str().unwrap_or("-");
    let detail = match action.as_str() {
        "accept" => format!(
            "by {by}, {} business min, {}",
            doc["business_minutes"].as_i64().unwrap_or(0),
            if doc["within_sla"].as_bool() == Some(true) {
                "within SLA"
            } else {
                "LATE"
            }
        ),
        "reject" => format!(
            "{} by {by}{}",
            body["reason"].as_str().unwrap_or(""),
            body["note"]
                .as_str()
                .map(|n| format!(": \"{n}\""))
                .unwrap_or_default()
        ),
        _ => format!("by {by}"),
    };
    Ok(format!("{head} {state:<12}      {detail}"))
}

/// "Tue 09:35" for an RFC 3339 time in a response.
fn short_time(v: &Value) -> String {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or("-".into(), |t| {
            t.with_timezone(&Utc).format("%a %H:%M").to_string()
        })
}

async fn subscribe(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    topic: &str,
    queue: &str,
    filter: &Value,
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
    sns.subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("RawMessageDelivery", "true")
        .attributes("FilterPolicy", filter.to_string())
        .send()
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    Ok(url)
}

async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> DemoResult<Vec<Value>> {
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

/// One thing that happens at a simulated time.
struct Step {
    at: DateTime<Utc>,
    what: What,
}

enum What {
    /// A plain HTML form on the website, posted as `application/x-www-form-urlencoded`.
    Form {
        email: String,
        fields: Vec<(String, String)>,
    },
    /// A marketing tool's webhook: the lead with its recent behaviour, as JSON.
    Webhook { email: String, body: Value },
    /// A webinar or event platform reports more signals for a known lead.
    Signals { email: String, body: Value },
    /// Sales accepts, rejects, qualifies or logs a touch.
    Dispose {
        email: String,
        action: String,
        body: Value,
    },
}

impl Step {
    /// A new submission to `POST /leads` (not more signals, not a decision).
    fn is_submission(&self) -> bool {
        matches!(self.what, What::Form { .. } | What::Webhook { .. })
    }
}

/// Who a lead is, as a form or a marketing tool describes them.
#[derive(Clone, Copy)]
struct Person {
    email: &'static str,
    name: &'static str,
    title: &'static str,
    company: &'static str,
    /// 0: the form did not ask.
    employees: u32,
    industry: &'static str,
    country: &'static str,
}

fn person(
    email: &'static str,
    name: &'static str,
    title: &'static str,
    company: &'static str,
    employees: u32,
    industry: &'static str,
    country: &'static str,
) -> Person {
    Person {
        email,
        name,
        title,
        company,
        employees,
        industry,
        country,
    }
}

impl Person {
    fn fields(&self) -> Vec<(String, String)> {
        let (first, last) = self.name.split_once(' ').unwrap_or((self.name, ""));
        let employees = if self.employees > 0 {
            self.employees.to_string()
        } else {
            String::new()
        };
        [
            ("email", self.email),
            ("first_name", first),
            ("last_name", last),
            ("title", self.title),
            ("company", self.company),
            ("employees", employees.as_str()),
            ("industry", self.industry),
            ("country", self.country),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn json(&self) -> Map<String, Value> {
        self.fields()
            .into_iter()
            .map(|(k, v)| {
                let value = match (k.as_str(), v.parse::<u64>()) {
                    ("employees", Ok(n)) => json!(n),
                    _ => Value::String(v),
                };
                (k, value)
            })
            .collect()
    }
}

/// Builds the timeline; steps are sorted by time when it is done.
struct Scenario {
    monday: DateTime<Utc>,
    steps: Vec<Step>,
}

impl Scenario {
    /// UTC time `hh:mm` on day `day` (0 = Monday).
    fn at(&self, day: i64, hh: i64, mm: i64) -> DateTime<Utc> {
        self.monday - Duration::hours(9)
            + Duration::days(day)
            + Duration::hours(hh)
            + Duration::minutes(mm)
    }

    fn push(&mut self, at: DateTime<Utc>, what: What) {
        self.steps.push(Step { at, what });
    }

    /// A website form whose hidden `signal` field names it (`demo_request`,
    /// `contact_sales`); `message` becomes the signal's detail.
    fn form(&mut self, at: DateTime<Utc>, signal: &str, message: &str, p: Person) -> &'static str {
        let mut fields = p.fields();
        fields.extend(
            [
                ("source", "website"),
                ("campaign", "q4-demo-page"),
                ("signal", signal),
                ("message", message),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        self.push(
            at,
            What::Form {
                email: p.email.into(),
                fields,
            },
        );
        p.email
    }

    /// A form a bot filled in, hidden honeypot field included.
    fn bot_form(&mut self, at: DateTime<Utc>, p: Person) {
        let mut fields = p.fields();
        fields.push(("signal".into(), "demo_request".into()));
        fields.push((
            "website_url".into(),
            "https://best-backlinks.example".into(),
        ));
        self.push(
            at,
            What::Form {
                email: p.email.into(),
                fields,
            },
        );
    }

    /// A marketing tool's webhook with the lead's recent signals.
    fn webhook(
        &mut self,
        at: DateTime<Utc>,
        source: &str,
        campaign: &str,
        p: Person,
        signals: Vec<Value>,
    ) -> &'static str {
        let mut body = p.json();
        body.insert("source".into(), json!(source));
        body.insert("campaign".into(), json!(campaign));
        body.insert("signals".into(), Value::Array(signals));
        self.push(
            at,
            What::Webhook {
                email: p.email.into(),
                body: Value::Object(body),
            },
        );
        p.email
    }

    /// The usual road to a scored MQL: two pricing-page visits and a LinkedIn reply
    /// with a question, over the day before.
    fn engaged(&mut self, at: DateTime<Utc>, p: Person) -> &'static str {
        let signals = vec![
            page("pricing_page_visit", at - Duration::hours(20), 140),
            page("pricing_page_visit", at - Duration::hours(3), 60),
            said(
                "linkedin_reply",
                at - Duration::hours(1),
                "does it sync with HubSpot?",
            ),
        ];
        self.webhook(at, "linkedin", "revops-guide", p, signals)
    }

    /// A reader: blog views and email opens only, which the contract caps below the MQL
    /// intent minimum.
    fn reader(&mut self, at: DateTime<Utc>, p: Person) {
        let signals = vec![
            plain("blog_view", at - Duration::hours(5)),
            plain("blog_view", at - Duration::hours(30)),
            plain("email_open", at - Duration::hours(48)),
            plain("email_click", at - Duration::hours(2)),
        ];
        self.webhook(at, "blog", "newsletter", p, signals);
    }

    fn signals(&mut self, at: DateTime<Utc>, email: &str, signals: Vec<Value>) {
        self.push(
            at,
            What::Signals {
                email: email.into(),
                body: json!({ "signals": signals }),
            },
        );
    }

    fn decide(&mut self, at: DateTime<Utc>, email: &str, action: &str, body: Value) {
        self.push(
            at,
            What::Dispose {
                email: email.into(),
                action: action.into(),
                body,
            },
        );
    }

    fn accept(&mut self, at: DateTime<Utc>, email: &str, by: &str) {
        self.decide(at, email, "accept", json!({ "by": by }));
    }

    fn reject(&mut self, at: DateTime<Utc>, email: &str, by: &str, reason: &str, note: &str) {
        self.decide(
            at,
            email,
            "reject",
            json!({ "by": by, "reason": reason, "note": note }),
        );
    }
}

fn plain(kind: &str, at: DateTime<Utc>) -> Value {
    json!({ "type": kind, "at": at.to_rfc3339() })
}

fn page(kind: &str, at: DateTime<Utc>, seconds: u32) -> Value {
    json!({ "type": kind, "at": at.to_rfc3339(), "seconds_on_page": seconds })
}

fn said(kind: &str, at: DateTime<Utc>, text: &str) -> Value {
    json!({ "type": kind, "at": at.to_rfc3339(), "detail": text, "question": text.contains('?') })
}

/// Three days of leads and of what sales does with them. Each team gets MQLs accepted
/// in time, and most get one accepted late, one rejected with a coded reason, and one
/// left to breach, escalate and (if the ladder ends within the three days) expire.
// Laid out by hand as a table: one lead per statement, its person on one line.
#[rustfmt::skip]
fn scenario(monday: DateTime<Utc>) -> Vec<Step> {
    let mut s = Scenario { monday, steps: Vec::new() };
    let (kim, joe, amy, raj, eva) = (
        "ae.kim@seller.io", "ae.joe@seller.io", "sdr.amy@seller.io", "sdr.raj@seller.io", "sdr.eva@seller.io",
    );

    // ---- Monday, London's morning (the office is open 09:00-17:30 UTC).
    let lena = s.form(s.at(0, 9, 20), "demo_request", "Can you host our data in the EU?",
        person("lena.fischer@initech.de", "Lena Fischer", "Head of Sales", "Initech", 500, "saas", "DE"));
    s.accept(s.at(0, 9, 45), lena, joe);

    let una = s.engaged(s.at(0, 9, 40),
        person("una.kerr@tyrell.ie", "Una Kerr", "Director of Revenue Operations", "Tyrell", 300, "software", "IE"));
    s.accept(s.at(0, 10, 10), una, raj);

    s.form(s.at(0, 9, 55), "demo_request", "Can I get a free licence for my thesis?",
        person("sam.lee@state.edu", "Sam Lee", "Graduate Student", "State University", 0, "", "US"));

    // Nobody picks this one up: warning, breach, head of sales twice, back to nurture.
    s.engaged(s.at(0, 10, 15),
        person("vik.rao@cyberdyne.nl", "Vik Rao", "Head of Sales Operations", "Cyberdyne", 700, "saas", "NL"));

    s.form(s.at(0, 10, 30), "contact_sales", "We can 10x your pipeline. 15 minutes this week?",
        person("pat.doyle@outreachly.example", "Pat Doyle", "Account Executive", "Outreachly", 40, "", "US"));

    // Accepted only after the breach went to the manager and on to the head of sales.
    let omar = s.form(s.at(0, 10, 45), "demo_request", "Can we trial it with two teams?",
        person("omar.said@wayne.co.uk", "Omar Said", "VP Revenue", "Wayne Enterprises", 350, "software", "GB"));
    s.accept(s.at(0, 13, 10), omar, joe);

    let tom = s.engaged(s.at(0, 11, 0),
        person("tom.hale@soylent.co.uk", "Tom Hale", "Director of Sales Operations", "Soylent", 250, "saas", "GB"));
    s.reject(s.at(0, 11, 40), tom, raj, "not_icp", "Soylent sells to consumers only");

    s.reader(s.at(0, 11, 20),
        person("max.braun@contoso.de", "Max Braun", "Marketing Specialist", "Contoso", 120, "retail", "DE"));

    // 06:40 in New York: the fast-lane hour starts when the office opens at 09:00.
    let dev = s.form(s.at(0, 11, 40), "demo_request", "Can it route leads by territory?",
        person("dev.shah@initrode-na.com", "Dev Shah", "Head of Sales", "Initrode", 1200, "saas", "US"));
    s.accept(s.at(0, 14, 50), dev, kim);

    // Australia has no team of its own: fast-lane leads from the rest of the world go to London.
    let jack = s.form(s.at(0, 12, 0), "demo_request", "Is pricing available in AUD?",
        person("jack.wilson@koala.com.au", "Jack Wilson", "CRO", "Koala", 400, "software", "AU"));
    s.reject(s.at(0, 12, 20), jack, joe, "duplicate", "same buyer as jack.w@koala.com.au, demo already booked");

    let nina = s.engaged(s.at(0, 12, 30),
        person("nina.berg@nordlys.se", "Nina Berg", "Director of Marketing Operations", "Nordlys", 800, "fintech", "SE"));
    s.reject(s.at(0, 13, 30), nina, raj, "bad_data", "phone and company do not match the email domain");

    s.reader(s.at(0, 12, 50),
        person("ana.silva@adventure-works.co.uk", "Ana Silva", "Content Lead", "Adventure Works", 90, "ecommerce", "GB"));

    let mia = s.engaged(s.at(0, 13, 10),
        person("mia.kelly@kiwi.co.nz", "Mia Kelly", "VP Marketing", "Kiwi Software", 220, "software", "NZ"));
    s.accept(s.at(0, 14, 0), mia, raj);

    s.form(s.at(0, 13, 45), "demo_request", "How do you handle lead routing?",
        person("alex.smith@rivalcrm.example", "Alex Smith", "Product Manager", "RivalCRM", 300, "software", "US"));

    // ---- Monday, New York's day (the office is open 14:00-22:00 UTC).
    let ava = s.form(s.at(0, 14, 5), "demo_request", "Can we see the Salesforce sync?",
        person("ava.ng@acme-na.com", "Ava Ng", "VP Sales", "Acme", 450, "saas", "US"));
    s.accept(s.at(0, 14, 17), ava, kim);
    s.decide(s.at(0, 14, 40), ava, "touch", json!({ "by": kim }));
    s.decide(s.at(1, 16, 0), ava, "qualify", json!({ "by": kim }));

    // An ABM account of over 1000 people: the enterprise SDRs.
    let kai = s.webhook(s.at(0, 14, 20), "hubspot", "abm-enterprise",
        person("kai.lopez@cyberdyne-na.com", "Kai Lopez", "VP Sales Operations", "Cyberdyne Systems", 5000, "software", "US"),
        vec![
            page("comparison_page_visit", s.at(0, 13, 0), 200),
            page("pricing_page_visit", s.at(0, 13, 30), 95),
            said("email_reply", s.at(0, 14, 10), "Can we cover 40 SDRs across three regions?"),
        ]);
    s.accept(s.at(0, 14, 50), kai, eva);

    let dan = s.engaged(s.at(0, 14, 30),
        person("dan.wu@umbrella-na.com", "Dan Wu", "Director of Revenue Operations", "Umbrella", 300, "software", "US"));
    s.accept(s.at(0, 15, 10), dan, amy);
    s.decide(s.at(1, 19, 0), dan, "qualify", json!({ "by": "ae.lee@seller.io" }));

    let eve = s.engaged(s.at(0, 14, 45),
        person("eve.park@prestige-na.com", "Eve Park", "Director of Sales Operations", "Prestige", 260, "saas", "US"));
    s.reject(s.at(0, 15, 45), eve, amy, "no_intent", "downloaded the guide for a class project");

    let ben = s.form(s.at(0, 15, 10), "demo_request", "What is the price for 60 seats?",
        person("ben.ortiz@globex-na.com", "Ben Ortiz", "CRO", "Globex", 800, "fintech", "CA"));
    s.accept(s.at(0, 15, 45), ben, kim);

    s.form(s.at(0, 15, 20), "demo_request", "Is there a free plan?",
        person("jo.bloggs@gmail.com", "Jo Bloggs", "Owner", "Bloggs Consulting", 12, "", "US"));

    // Left alone for two days: escalates twice and expires back to nurture.
    s.engaged(s.at(0, 15, 25),
        person("fay.cole@vandelay-na.com", "Fay Cole", "Director of Revenue Operations", "Vandelay Industries", 300, "software", "US"));

    // Good fit, one pricing visit: nurture, until Tuesday's webinar.
    let raj_patel = s.webhook(s.at(0, 15, 30), "hubspot", "forecasting-webinar",
        person("raj.patel@gringotts-na.com", "Raj Patel", "Director of Revenue Operations", "Gringotts", 400, "fintech", "US"),
        vec![page("pricing_page_visit", s.at(0, 13, 30), 60)]);

    s.reader(s.at(0, 15, 50),
        person("li.wei@fabrikam-na.com", "Li Wei", "Marketing Specialist", "Fabrikam", 150, "retail", "US"));

    // The fast-lane ladder all the way: warning, breach, head of sales twice, expiry.
    s.form(s.at(0, 16, 0), "demo_request", "Do you support SSO?",
        person("cara.li@stark-na.com", "Cara Li", "VP Marketing", "Stark Industries", 300, "software", "US"));

    let gus = s.engaged(s.at(0, 16, 10),
        person("gus.berg@massive-na.com", "Gus Berg", "Director of Revenue Operations", "Massive Dynamic", 450, "software", "US"));
    s.accept(s.at(0, 18, 40), gus, amy);

    s.bot_form(s.at(0, 16, 40), person("seo@best-backlinks.example", "SEO Team", "", "", 0, "", "US"));

    // Second-tier fit: the standard SLA of one business day.
    let hal = s.webhook(s.at(0, 17, 0), "hubspot", "pricing-retargeting",
        person("hal.moss@ferris-na.com", "Hal Moss", "Sales Manager", "Ferris Foods", 150, "ecommerce", "US"),
        vec![
            page("pricing_page_visit", s.at(0, 15, 0), 120),
            said("email_reply", s.at(0, 16, 30), "What would onboarding take?"),
            said("timeline_shared", s.at(0, 16, 30), "We want this live before Q1?"),
        ]);
    s.accept(s.at(1, 14, 30), hal, amy);

    // 17:05 in London, 25 minutes before close: due next morning, not at 18:05.
    let chloe = s.form(s.at(0, 17, 5), "demo_request", "Can we start with the marketing team only?",
        person("chloe.martin@quantum.fr", "Chloe Martin", "VP Marketing", "Quantum", 220, "saas", "FR"));
    s.accept(s.at(1, 9, 20), chloe, joe);

    // Escalated to the head of sales, then accepted.
    let lee = s.engaged(s.at(0, 18, 0),
        person("lee.adams@weyland-na.com", "Lee Adams", "Director of Revenue Operations", "Weyland-Yutani", 12000, "saas", "US"));
    s.accept(s.at(1, 16, 30), lee, eva);

    // Only ever looked at the careers page: a job seeker, not a buyer.
    s.webhook(s.at(0, 18, 10), "website", "careers",
        person("kim.diaz@coho-na.com", "Kim Diaz", "Sales Associate", "Coho Winery", 60, "retail", "US"),
        vec![
            page("careers_page_visit", s.at(0, 17, 0), 300),
            page("careers_page_visit", s.at(0, 17, 10), 200),
        ]);

    let eli = s.form(s.at(0, 18, 30), "demo_request", "Can we migrate from our current tool in Q1?",
        person("eli.ross@hooli-na.com", "Eli Ross", "VP Revenue", "Hooli", 600, "software", "US"));
    s.accept(s.at(0, 20, 5), eli, kim);

    let fran = s.form(s.at(0, 19, 0), "demo_request", "What does onboarding look like?",
        person("fran.diaz@piedpiper-na.com", "Fran Diaz", "CMO", "Pied Piper", 250, "saas", "US"));
    s.reject(s.at(0, 19, 20), fran, kim, "already_in_pipeline", "open opportunity with their CEO");

    let ivy = s.webhook(s.at(0, 19, 30), "hubspot", "pricing-retargeting",
        person("ivy.chen@tessier-na.com", "Ivy Chen", "Marketing Manager", "Tessier-Ashpool", 180, "ecommerce", "US"),
        vec![
            page("pricing_page_visit", s.at(0, 18, 0), 150),
            said("email_reply", s.at(0, 19, 0), "Do you offer reseller pricing?"),
            said("budget_acknowledged", s.at(0, 19, 0), "Budget is approved?"),
        ]);
    s.reject(s.at(1, 15, 0), ivy, amy, "not_icp", "a reseller, not an end customer");

    // 16:30 in New York: half an hour today, the other half tomorrow morning.
    let gia = s.form(s.at(0, 21, 30), "contact_sales", "Do you integrate with Outreach?",
        person("gia.moretti@vought-na.com", "Gia Moretti", "Director of Sales Operations", "Vought", 900, "ecommerce", "US"));
    s.accept(s.at(1, 14, 15), gia, kim);

    // ---- Tuesday and Wednesday.
    // Badge scans from a trade show, imported as JSON. Norway is not served.
    s.webhook(s.at(1, 10, 0), "event", "saastr-europe",
        person("ola.nord@fjord.no", "Ola Nord", "Head of Sales", "Fjord", 300, "saas", "NO"),
        vec![said("webinar_attended", s.at(0, 15, 0), "booth demo at SaaStr Europe")]);
    // Left in the queue: overdue when the demo ends.
    s.webhook(s.at(1, 10, 5), "event", "saastr-europe",
        person("pia.schmidt@stahlwerk.de", "Pia Schmidt", "Marketing Manager", "Stahlwerk", 2500, "manufacturing", "DE"),
        vec![
            said("webinar_attended", s.at(0, 15, 0), "booth demo at SaaStr Europe"),
            page("pricing_page_visit", s.at(1, 8, 0), 180),
            plain("meeting_accepted", s.at(1, 9, 0)),
        ]);

    s.reader(s.at(1, 12, 0),
        person("tom.reed@litware-na.com", "Tom Reed", "Marketing Coordinator", "Litware", 45, "retail", "US"));

    // The webinar platform reports Raj's attendance and his reply: now an MQL.
    s.signals(s.at(1, 18, 0), raj_patel, vec![
        said("webinar_attended", s.at(1, 17, 0), "Forecasting with clean MQLs"),
        said("email_reply", s.at(1, 17, 50), "Can we get a trial for the RevOps team?"),
    ]);
    s.accept(s.at(1, 18, 45), raj_patel, amy);

    // Wednesday 10:00 in New York: the SLA runs past Thanksgiving to Friday.
    s.webhook(s.at(2, 15, 0), "g2", "category-intent",
        person("nora.blake@duff-na.com", "Nora Blake", "Marketing Manager", "Duff", 150, "ecommerce", "US"),
        vec![
            page("comparison_page_visit", s.at(2, 14, 0), 240),
            said("email_reply", s.at(2, 14, 40), "How do you compare on routing?"),
            said("timeline_shared", s.at(2, 14, 40), "Decision this quarter?"),
        ]);

    s.steps.sort_by_key(|step| step.at);
    s.steps
}
