//! `leadwatch demo`: the whole pipeline on the local AWS stack, on a simulated clock.
//!
//! Three working days of a sales floor in New York and London. Leads arrive through the
//! real ingest handler as they would in production: web forms posted as
//! `application/x-www-form-urlencoded`, JSON webhooks from marketing tools, and signals
//! that webinar and event platforms add to known leads. Sales accepts, rejects and
//! qualifies through the real disposition handler, and the real watchdog runs every
//! half hour of office time in between, so alerts go out while MQLs are still waiting.
//! Alerts are read from SQS queues subscribed to the SNS topic with the filter policy
//! each manager would use, and the notifier delivers them from its own queue to each
//! manager's Slack channel and inbox (local sinks, see `delivery`). Handlers take `now`
//! as a parameter, so three days pass in seconds.
//!
//! Afterwards the HTTP API is served on the demo's table (unless `--no-serve`), so a
//! person can look at the same leads with curl.
//!
//! This file runs the simulated clock and prints; the timeline is in `script`, every
//! call into the ingest and disposition handlers in `handlers`, the SNS and SQS
//! plumbing for the subscribers in `queues`, and the notifier and its sinks in
//! `delivery`.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use serde_json::json;

use leadwatch_adapters::store::Store;
use leadwatch_api::caller::DEV_CLAIMS_HEADER;
use leadwatch_api::report::{sla_report, ReportQuery};
use leadwatch_cli::serve;
use leadwatch_core::report::{render_table, Month};
use leadwatch_core::Contract;
use leadwatch_watchdog::{Tick, WallClock};

mod delivery;
mod handlers;
mod queues;
mod script;

use handlers::{demo_secrets, dispose, submit, Handlers, DEMO_CRM_SECRET};
use queues::{drain, subscribe};
use script::{scenario, What};

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
            subscribe(
                &sns,
                &sqs,
                &topic,
                &format!("demo-{suffix}-{i}"),
                Some(&filter),
            )
            .await?,
        ));
    }
    let delivery = delivery::Delivery::start(&config, &store, &contract, &topic, suffix).await?;
    println!("Local stack: table {}, topic {topic}", store.table_name());

    let Handlers {
        ingest,
        disposition,
        watchdog,
    } = Handlers::new(&store, &contract, &sns, &topic);

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
    let mut delivered = 0;
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
        // The simulated tick decides what is due; leases and the run's deadline are on
        // the real clock, as in Lambda (with all the time a local run needs).
        let clock: WallClock = Arc::new(Utc::now);
        let deadline = Utc::now() + Duration::minutes(5);
        let s = leadwatch_watchdog::run(&watchdog, Tick::new(tick, clock, deadline)).await;
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
        // The notifier delivers what the run published, as its queue would trigger it.
        delivered += delivery.drain().await?;
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

    let handled = delivered + delivery.drain().await?;
    println!(
        "\n== What each person got from the notifier ({handled} alerts off its queue; Slack and \
         Teams through a local webhook server, email into a file instead of SES)"
    );
    delivery.print()?;

    // The rollup function counts off the table's change stream; locally nothing feeds
    // it the stream, so the demo does what the event source mapping does in AWS.
    let counted = leadwatch_rollup::count_local_stream(&config, &store, chrono::Utc::now())
        .await
        .map_err(|e| format!("rollups: {e}"))?;
    println!(
        "\n== Rollups: {} stream records read, {} lead versions counted in {} transactions ({} WCU)",
        counted.records,
        counted.counted.added,
        counted.counted.transactions,
        counted.counted.write_units
    );

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
        serve_demo(&config, store, contract, options.port).await?;
    }
    Ok(())
}

/// The API on the demo's table, with commands to paste, until Ctrl-C.
async fn serve_demo(
    config: &aws_config::SdkConfig,
    store: Store,
    contract: Arc<Contract>,
    port: u16,
) -> DemoResult<()> {
    let listener = serve::bind(port)
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let base = serve::base_url(
        listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?,
    );
    let zoe = "form=demo&email=zoe.quinn%40example-na.com&first_name=Zoe&last_name=Quinn\
               &title=VP+Sales&company=Example&employees=400&industry=saas&country=US\
               &message=Can+I+see+it+this+week%3F";
    let (sources, lead_ids) = demo_secrets();
    let zoe_id = lead_ids.id_for("zoe.quinn@example-na.com");
    let crm_body = json!({"signals": [{"type": "meeting_accepted"}]}).to_string();
    serve::say(&format!(
        "\n== The HTTP API on the demo's leads (table {table})\n{routes}\n\
         Try it. The server stamps the real clock; the demo's leads live in 23-25 November 2026.\n\
         Locally a caller signs in with the {DEV_CLAIMS_HEADER} header (the claims a JWT\n\
         would carry); in AWS, API Gateway's JWT authorizer supplies them.\n\n  \
         # a demo request from the public website form: the visitor gets a receipt only\n  \
         curl -s -X POST {base}/leads -d '{zoe}'\n\n  \
         # that lead, by id, as a manager of ae-na: state, assessment, packet, history\n  \
         curl -s {base}/leads/{zoe_id} -H '{DEV_CLAIMS_HEADER}: {manager}'\n\n  \
         # the CRM reports a meeting: signed with its secret ({secret})\n  \
         ts=$(date +%s); body='{crm_body}'\n  \
         sig=$(printf '%s.%s' \"$ts\" \"$body\" | openssl dgst -sha256 -hmac {secret} | sed 's/.* //')\n  \
         curl -s -X POST {base}/leads/{zoe_id}/signals -H 'content-type: application/json' \\\n    \
         -H 'x-leadwatch-source: crm' -H \"x-leadwatch-timestamp: $ts\" -H \"x-leadwatch-signature: sha256=$sig\" -d \"$body\"\n\n  \
         # the team's open MQLs, oldest first, with business minutes left\n  \
         curl -s '{base}/queue?team=ae-na' -H '{DEV_CLAIMS_HEADER}: {manager}'\n\n  \
         # SLA adherence for the month, as ops\n  \
         curl -s '{base}/reports/sla?from=2026-11&to=2026-11' -H '{DEV_CLAIMS_HEADER}: {ops}'\n\n\
         The web app: sign in as rep.ae-na (local sign-in), open the queue and a lead, and the\n\
         dashboard for November: {base}/app/dashboard?from=2026-11&to=2026-11\n\
         Press Ctrl-C to stop the server.\n\n{web}",
        web = serve::web_line(&base),
        manager = json!({"sub": "dev-kim", "email": "kim@seller.io", "cognito:groups": "[team:ae-na role:manager]"}),
        ops = json!({"sub": "dev-olga", "email": "olga@seller.io", "cognito:groups": "[role:ops]"}),
        table = store.table_name(),
        routes = serve::describe(&base).trim_end(),
        secret = DEMO_CRM_SECRET,
    ));
    serve::init_logging();
    tokio::spawn(leadwatch_rollup::follow_local_stream(
        config.clone(),
        store.clone(),
        Utc::now,
        std::time::Duration::from_millis(500),
    ));
    let web = serve::dev_web(store.clone(), Arc::clone(&contract));
    serve::run(
        listener,
        serve::Api::new(store, contract)
            .with_ingest(sources, lead_ids)
            .with_web(web),
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
