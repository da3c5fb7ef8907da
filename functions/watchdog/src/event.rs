//! What the watchdog agrees to run on: an EventBridge scheduled event, and nothing else.
//!
//! A run sends real alerts, so an invocation by anything else (a test event typed into
//! the console, an API Gateway request, an SQS batch, a schedule event that lost its
//! `time`) must not fall back to "now" and run: it is refused with an error that names
//! what is wrong, before anything is read or written. The event's `time` decides what
//! is due, so a time far from the wall clock (a stale replay, a typo, year 9999) is
//! refused too, beyond a skew that the deployment sets and that replays, the demo and
//! tests widen.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

/// The environment variable that sets the largest accepted distance, in seconds,
/// between an event's `time` and the wall clock.
pub const MAX_EVENT_SKEW_ENV: &str = "LEADWATCH_MAX_EVENT_SKEW_SECONDS";

/// The default skew: EventBridge retries a scheduled event for up to 5 minutes (the
/// template's `MaximumEventAgeInSeconds`), and Lambda's own asynchronous retry as long
/// again; 15 minutes takes both, with room.
pub const DEFAULT_MAX_EVENT_SKEW_SECONDS: i64 = 900;

/// Why an invocation was not run. Its text is the invocation's error message.
#[derive(Debug, Clone, PartialEq)]
pub enum Refused {
    /// Not an EventBridge scheduled event with a usable `time`; says what it is instead.
    NotSchedule(String),
    /// A schedule event whose time is further from the wall clock than allowed.
    Skewed {
        at: DateTime<Utc>,
        wall: DateTime<Utc>,
        max: Duration,
    },
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::NotSchedule(problem) => write!(
                f,
                "not an EventBridge scheduled event: {problem}; nothing was run \
                 (the watchdog runs on events with source \"aws.events\", detail-type \
                 \"Scheduled Event\" and an RFC 3339 time)"
            ),
            Refused::Skewed { at, wall, max } => {
                let off = (*at - *wall).num_seconds();
                let direction = if off < 0 { "behind" } else { "ahead of" };
                write!(
                    f,
                    "event time {} is {} s {direction} the clock ({}), more than the \
                     {} s allowed ({MAX_EVENT_SKEW_ENV}); nothing was run",
                    at.to_rfc3339(),
                    off.unsigned_abs(),
                    wall.to_rfc3339(),
                    max.num_seconds()
                )
            }
        }
    }
}

impl std::error::Error for Refused {}

/// The `time` of an EventBridge scheduled event, or what is wrong with the event.
pub fn schedule_time(event: &Value) -> Result<DateTime<Utc>, Refused> {
    let refuse = |problem: String| Err(Refused::NotSchedule(problem));
    let fields = match event {
        Value::Object(fields) => fields,
        Value::Null => return refuse("the event is null".into()),
        other => return refuse(format!("the event is {}, not an object", kind_of(other))),
    };
    if fields.is_empty() {
        return refuse("the event is an empty object".into());
    }
    if let Some(what) = known_other_event(event) {
        return refuse(format!("the event is {what}"));
    }
    let mut problems = Vec::new();
    expect_text(event, "source", "aws.events", &mut problems);
    expect_text(event, "detail-type", "Scheduled Event", &mut problems);
    let time = match event.get("time") {
        None | Some(Value::Null) => {
            problems.push("time is missing".to_string());
            None
        }
        Some(Value::String(text)) => match DateTime::parse_from_rfc3339(text) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(e) => {
                problems.push(format!(
                    "time {:?} is not an RFC 3339 timestamp ({e})",
                    shortened(text)
                ));
                None
            }
        },
        Some(other) => {
            problems.push(format!("time is {}, not a string", kind_of(other)));
            None
        }
    };
    match time {
        Some(t) if problems.is_empty() => Ok(t),
        _ => refuse(problems.join(", ")),
    }
}

/// Refuse an event time further than `max` from the wall clock.
pub fn check_skew(at: DateTime<Utc>, wall: DateTime<Utc>, max: Duration) -> Result<(), Refused> {
    if (at - wall).abs() > max {
        return Err(Refused::Skewed { at, wall, max });
    }
    Ok(())
}

/// The allowed skew from the value of [`MAX_EVENT_SKEW_ENV`] (unset: the default).
pub fn max_skew_from(value: Option<&str>) -> Result<Duration, String> {
    let Some(text) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(Duration::seconds(DEFAULT_MAX_EVENT_SKEW_SECONDS));
    };
    match text.parse::<i64>() {
        Ok(seconds) if seconds >= 0 => Duration::try_seconds(seconds)
            .ok_or_else(|| format!("{MAX_EVENT_SKEW_ENV}={text} is too large")),
        _ => Err(format!(
            "{MAX_EVENT_SKEW_ENV}={text:?} is not a whole number of seconds (0 or more)"
        )),
    }
}

/// Events of other AWS sources that reach a function by mistake, by their telltale
/// fields.
fn known_other_event(event: &Value) -> Option<String> {
    if event.get("requestContext").is_some() || event.get("httpMethod").is_some() {
        return Some("an API Gateway HTTP request (it has requestContext)".into());
    }
    if let Some(Value::Array(records)) = event.get("Records") {
        let source = records
            .first()
            .and_then(|r| r.get("eventSource").or_else(|| r.get("EventSource")))
            .and_then(Value::as_str);
        return Some(match source {
            Some("aws:sqs") => "an SQS message batch (Records from aws:sqs)".into(),
            Some(other) => format!("a batch of records from {}", shortened(other)),
            None => "a batch of Records".into(),
        });
    }
    None
}

fn expect_text(event: &Value, field: &str, wanted: &str, problems: &mut Vec<String>) {
    match event.get(field) {
        Some(Value::String(s)) if s == wanted => {}
        Some(Value::String(s)) => {
            problems.push(format!("{field} is {:?}, not {wanted:?}", shortened(s)))
        }
        Some(other) => problems.push(format!("{field} is {}, not {wanted:?}", kind_of(other))),
        None => problems.push(format!("{field} is missing")),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Event text quoted in an error, cut short: the error goes to logs and alarms.
fn shortened(text: &str) -> String {
    const MAX: usize = 64;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(MAX).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn schedule(time: Value) -> Value {
        json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": time, "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/leadwatch-watchdog"],
            "detail": {}
        })
    }

    fn refusal(event: Value) -> String {
        schedule_time(&event).unwrap_err().to_string()
    }

    #[test]
    fn a_scheduled_event_gives_its_time() {
        let at = schedule_time(&schedule(json!("2026-11-23T14:45:00Z"))).unwrap();
        assert_eq!(at, Utc.with_ymd_and_hms(2026, 11, 23, 14, 45, 0).unwrap());
        let offset = schedule_time(&schedule(json!("2026-11-23T09:45:00-05:00"))).unwrap();
        assert_eq!(offset, at);
    }

    #[test]
    fn every_other_event_is_refused_naming_what_it_is() {
        let cases = [
            (Value::Null, "the event is null"),
            (json!({}), "the event is an empty object"),
            (json!([1]), "the event is an array, not an object"),
            (json!("2026-11-23T14:45:00Z"), "the event is a string"),
            (
                json!({"version": "2.0", "rawPath": "/", "requestContext": {"http": {}}}),
                "an API Gateway HTTP request",
            ),
            (
                json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}),
                "an SQS message batch",
            ),
            (
                json!({"Records": [{"EventSource": "aws:sns"}]}),
                "a batch of records from aws:sns",
            ),
            (
                json!({"source": "aws.events", "detail-type": "Scheduled Event"}),
                "time is missing",
            ),
            (schedule(Value::Null), "time is missing"),
            (
                schedule(json!(1_764_000_000)),
                "time is a number, not a string",
            ),
            (
                schedule(json!("next tuesday")),
                "time \"next tuesday\" is not an RFC 3339 timestamp",
            ),
            (
                json!({"source": "aws.s3", "detail-type": "Object Created", "time": "2026-11-23T14:45:00Z"}),
                "source is \"aws.s3\", not \"aws.events\", detail-type is \"Object Created\"",
            ),
            (json!({"time": "2026-11-23T14:45:00Z"}), "source is missing"),
        ];
        for (event, problem) in cases {
            let text = refusal(event.clone());
            assert!(text.contains(problem), "{event}: {text}");
            assert!(text.contains("nothing was run"), "{text}");
        }
    }

    #[test]
    fn times_beyond_the_skew_are_refused_either_way() {
        let wall = Utc.with_ymd_and_hms(2026, 12, 2, 11, 0, 0).unwrap();
        let max = max_skew_from(None).unwrap();
        assert_eq!(max, Duration::seconds(900));
        assert!(check_skew(wall - Duration::minutes(4), wall, max).is_ok());
        assert!(check_skew(wall + max, wall, max).is_ok());
        let far = Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap();
        let text = check_skew(far, wall, max).unwrap_err().to_string();
        assert!(text.contains("9999-01-01T00:00:00+00:00"), "{text}");
        assert!(text.contains("ahead of the clock"), "{text}");
        assert!(text.contains(MAX_EVENT_SKEW_ENV), "{text}");
        let stale = wall - Duration::hours(1);
        let text = check_skew(stale, wall, max).unwrap_err().to_string();
        assert!(text.contains("3600 s behind"), "{text}");
        // Widened, as a replay would.
        let wide = max_skew_from(Some("315360000")).unwrap();
        assert!(check_skew(stale, wall, wide).is_ok());
    }

    #[test]
    fn a_bad_skew_setting_names_the_variable() {
        for bad in ["-1", "15m", "1e3"] {
            let e = max_skew_from(Some(bad)).unwrap_err();
            assert!(e.contains(MAX_EVENT_SKEW_ENV), "{e}");
        }
        assert_eq!(max_skew_from(Some(" ")).unwrap(), Duration::seconds(900));
        assert!(max_skew_from(Some("999999999999999999")).is_err());
    }
}
