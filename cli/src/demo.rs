//! `leadwatch demo`: the whole pipeline on the local AWS stack, on a simulated clock.
//!
//! Leads go in through the real ingest handler, sales accepts and rejects through the
//! real disposition handler, and the real watchdog runs every half hour of simulated
//! time for three days. Alerts are read from SQS queues subscribed to the SNS topic
//! with the filter policy each manager would use. The clock is simulated (handlers take
//! `now` as a parameter), so three days of SLA pass in under a minute.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use lambda_http::http::{Request, StatusCode};
use lambda_http::Body;
use serde_json::{json, Value};

use leadwatch::adapters::alerts::AlertPublisher;
use leadwatch::adapters::store::Store;
use leadwatch::domain::metrics::sla_by_team;
use leadwatch::Contract;
use leadwatch_disposition::DispositionApp;
use leadwatch_ingest::IngestApp;
use leadwatch_watchdog::WatchdogApp;

type DemoResult<T> = Result<T, String>;

const SUBSCRIBERS: [(&str, &str); 5] = [
    ("ae-na manager", "ae-na"),
    ("ae-emea manager", "ae-emea"),
    ("sdr-na manager", "sdr-na"),
    ("sdr-emea manager", "sdr-emea"),
    ("marketing", ""),
];

pub async fn run() -> DemoResult<()> {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        return Err(
            "AWS_ENDPOINT_URL is not set: run scripts/demo.sh, which starts the local AWS stack"
                .into(),
        );
    }
    let config = aws_config::load_from_env().await;
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
    for (i, (name, team)) in SUBSCRIBERS.iter().enumerate() {
        let filter = if team.is_empty() {
            json!({"kind": ["returned_to_nurture"]})
        } else {
            json!({"team": [team], "kind": ["sla_warning", "sla_breach", "sla_escalation", "sla_expired"]})
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

    // Monday 2026-11-23, 09:00 in New York, 14:00 in London.
    let start = Utc
        .with_ymd_and_hms(2026, 11, 23, 14, 0, 0)
        .single()
        .ok_or("bad start")?;
    println!("\n== Ingest at {start} (simulated clock)");
    let mut lead_ids = Vec::new();
    for (i, lead) in scenario_leads(start).into_iter().enumerate() {
        let at = start + Duration::minutes(i as i64);
        let req = Request::builder()
            .method("POST")
            .uri("/leads")
            .header("content-type", "application/json")
            .body(Body::Text(lead.to_string()))
            .map_err(|e| e.to_string())?;
        let response = leadwatch_ingest::handle(&ingest, req, at).await;
        let body: Value = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
        println!(
            "  {:<34} {:>3} {:<12} total {:>5} {:<9} {}",
            lead["email"].as_str().unwrap_or("?"),
            response.status().as_u16(),
            body["status"].as_str().unwrap_or("-"),
            body["total"]
                .as_f64()
                .map_or("-".into(), |t| format!("{t:.1}")),
            body["team"].as_str().unwrap_or("-"),
            body["failed_gates"]
                .as_array()
                .filter(|g| !g.is_empty())
                .map(|g| format!(
                    "gates: {}",
                    g.iter()
                        .filter_map(|x| x["gate"].as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                ))
                .unwrap_or_default()
        );
        if let Some(id) = body["lead_id"].as_str() {
            lead_ids.push((
                lead["email"].as_str().unwrap_or("?").to_string(),
                id.to_string(),
            ));
        }
    }

    println!("\n== Sales works the queues 20-40 minutes later");
    let decisions: [(&str, &str, Value, i64); 7] = [
        (
            "ava.ng@acme-na.com",
            "accept",
            json!({"by": "rep.kim@seller.io"}),
            20,
        ),
        (
            "ben.ortiz@globex-na.com",
            "accept",
            json!({"by": "rep.kim@seller.io"}),
            25,
        ),
        (
            "lena.fischer@initech.de",
            "accept",
            json!({"by": "rep.joe@seller.io"}),
            30,
        ),
        (
            "dan.wu@umbrella-na.com",
            "accept",
            json!({"by": "sdr.amy@seller.io"}),
            35,
        ),
        (
            "eve.park@hooli-na.com",
            "reject",
            json!({"by": "sdr.amy@seller.io", "reason": "no_intent", "note": "student project"}),
            40,
        ),
        (
            "tom.hale@soylent.co.uk",
            "reject",
            json!({"by": "sdr.raj@seller.io", "reason": "not_icp"}),
            40,
        ),
        (
            "dan.wu@umbrella-na.com",
            "qualify",
            json!({"by": "ae.lee@seller.io"}),
            240,
        ),
    ];
    for (email, action, body, minutes) in decisions {
        let Some((_, id)) = lead_ids.iter().find(|(e, _)| e == email) else {
            continue;
        };
        let req = Request::builder()
            .method("POST")
            .uri(format!("/leads/{id}/{action}"))
            .header("content-type", "application/json")
            .body(Body::Text(body.to_string()))
            .map_err(|e| e.to_string())?;
        let response =
            leadwatch_disposition::handle(&disposition, req, start + Duration::minutes(minutes))
                .await;
        let status = response.status();
        let doc: Value = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
        println!(
            "  {action:<8} {email:<30} {} {}",
            status.as_u16(),
            if status == StatusCode::OK {
                doc["status"].as_str().unwrap_or("").to_string()
            } else {
                doc["message"].as_str().unwrap_or("").to_string()
            }
        );
    }

    println!("\n== Watchdog every 30 simulated minutes for three days");
    let mut at = start;
    let end = start + Duration::days(3);
    while at <= end {
        let s = leadwatch_watchdog::run(&watchdog, at).await;
        if s.warned + s.expired + s.returned + s.failed > 0 || !s.escalated.is_empty() {
            println!(
                "  {}  warned {} escalated {:?} expired {} returned {} failed {}",
                at.format("%a %H:%M UTC"),
                s.warned,
                s.escalated,
                s.expired,
                s.returned,
                s.failed
            );
        }
        at += Duration::minutes(30);
    }

    println!("\n== Alerts each subscriber received");
    for (name, url) in &queues {
        let alerts = drain(&sqs, url).await?;
        println!("  {name} ({} alerts)", alerts.len());
        for a in alerts {
            println!(
                "    {:<19} {:<20} level {:<4} {:<14} {}",
                a["sent_at"].as_str().unwrap_or("").get(..16).unwrap_or(""),
                a["kind"].as_str().unwrap_or(""),
                a["level"].as_str().unwrap_or(""),
                a["audience"].as_str().unwrap_or(""),
                a["packet"]["name"]
                    .as_str()
                    .unwrap_or(a["lead_id"].as_str().unwrap_or(""))
            );
        }
    }

    let mut states = Vec::new();
    for (_, id) in &lead_ids {
        if let Some(s) = store.get_lead(id).await.map_err(|e| e.to_string())? {
            states.push(s);
        }
    }
    println!("\n== SLA report");
    println!(
        "  {:<18} {:>5} {:>5} {:>7} {:>5} {:>8} {:>7} {:>5} {:>8} {:>8}  rejections",
        "team", "MQLs", "fast", "in SLA", "late", "rejected", "expired", "SQL", "met %", "p50/p90"
    );
    for row in sla_by_team(&states) {
        println!(
            "  {:<18} {:>5} {:>5} {:>7} {:>5} {:>8} {:>7} {:>5} {:>8} {:>8}  {:?}",
            row.team,
            row.mqls,
            row.fast_lane_mqls,
            row.accepted_within_sla,
            row.accepted_late,
            row.rejected,
            row.expired,
            row.qualified,
            row.sla_met_pct.map_or("-".into(), |p| format!("{p:.1}")),
            match (row.time_to_accept_p50, row.time_to_accept_p90) {
                (Some(a), Some(b)) => format!("{a}/{b}"),
                _ => "-".into(),
            },
            row.rejections
        );
    }
    Ok(())
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

/// A morning's leads: fast-lane demo requests, engaged directors, readers, a student
/// and a vendor, in North America and Europe.
fn scenario_leads(start: DateTime<Utc>) -> Vec<Value> {
    let ago = |hours: i64| (start - Duration::hours(hours)).to_rfc3339();
    let demo = |email: &str,
                name: &str,
                title: &str,
                company: &str,
                country: &str,
                question: &str| {
        json!({"email": email, "first_name": name, "last_name": "Demo", "title": title, "company": company,
               "employees": 450, "industry": "SaaS", "country": country, "source": "website", "campaign": "q4-demo",
               "signals": [{"type": "demo_request", "at": ago(0), "question": true, "detail": question}]})
    };
    let engaged = |email: &str, name: &str, company: &str, country: &str| {
        json!({"email": email, "first_name": name, "last_name": "Demo", "title": "Director of Revenue Operations",
        "company": company, "employees": 300, "industry": "software", "country": country,
        "source": "linkedin", "campaign": "revops-guide",
        "signals": [
            {"type": "pricing_page_visit", "at": ago(20), "seconds_on_page": 140},
            {"type": "pricing_page_visit", "at": ago(3), "seconds_on_page": 60},
            {"type": "linkedin_reply", "at": ago(1), "question": true, "detail": "does it sync with HubSpot?"}
        ]})
    };
    let reader = |i: usize| {
        json!({"email": format!("reader{i}@northwind-{i}.com"), "first_name": "Reader", "title": "Marketing Specialist",
               "company": format!("Northwind {i}"), "employees": 120, "industry": "retail", "country": "US",
               "source": "blog",
               "signals": [{"type": "blog_view", "at": ago(5)}, {"type": "email_open", "at": ago(30)}]})
    };
    let mut leads = vec![
        demo(
            "ava.ng@acme-na.com",
            "Ava",
            "VP Sales",
            "Acme",
            "US",
            "Can we see the Salesforce sync?",
        ),
        demo(
            "ben.ortiz@globex-na.com",
            "Ben",
            "CRO",
            "Globex",
            "CA",
            "Pricing for 60 seats?",
        ),
        demo(
            "cara.li@stark-na.com",
            "Cara",
            "VP Marketing",
            "Stark",
            "US",
            "Do you support SSO?",
        ),
        demo(
            "lena.fischer@initech.de",
            "Lena",
            "Head of Sales",
            "Initech",
            "DE",
            "GDPR hosting in the EU?",
        ),
        demo(
            "omar.said@wayne.co.uk",
            "Omar",
            "VP Revenue",
            "Wayne",
            "GB",
            "Can we trial it?",
        ),
        engaged("dan.wu@umbrella-na.com", "Dan", "Umbrella", "US"),
        engaged("eve.park@hooli-na.com", "Eve", "Hooli", "US"),
        engaged("fay.cole@vandelay-na.com", "Fay", "Vandelay", "US"),
        engaged("gus.berg@massive-na.com", "Gus", "Massive", "US"),
        engaged("tom.hale@soylent.co.uk", "Tom", "Soylent", "GB"),
        engaged("una.kerr@tyrell.ie", "Una", "Tyrell", "IE"),
        engaged("vik.rao@cyberdyne.nl", "Vik", "Cyberdyne", "NL"),
        json!({"email": "sam@state.edu", "first_name": "Sam", "title": "Graduate Student", "source": "blog",
               "signals": (0..40).map(|h| json!({"type": "blog_view", "at": ago(h)})).collect::<Vec<_>>()}),
        json!({"email": "pitch@outreachly.example", "first_name": "Pat", "title": "Account Executive",
               "company": "Outreachly", "employees": 40, "country": "US", "source": "contact-form",
               "signals": [{"type": "vendor_outreach", "at": ago(2), "detail": "we can 10x your pipeline"}]}),
    ];
    leads.extend((1..=8).map(reader));
    leads
}
