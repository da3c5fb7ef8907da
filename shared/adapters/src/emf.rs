//! CloudWatch metrics in the embedded metric format (EMF): one JSON log line per batch
//! of metrics, which CloudWatch Logs turns into metrics. No API call and no extra
//! latency: the dashboard and alarms in `infra/template.yaml` read these.
//!
//! The figures come from the same rollup counters the store commits, after the commit,
//! so a metric is emitted only for a transition that happened. Unlike the rollups, EMF
//! is at-least-once (a Lambda retry after the commit emits again); the exact monthly
//! figures are the report's job, EMF is for the live dashboard and alarms.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use leadwatch_core::rollup::{counter, MetricIncrement, TEAM_DIMENSION};

/// Where metrics go: the namespace, or nowhere (tests, the demo, the CLI).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    namespace: Option<String>,
}

/// One metric value with its CloudWatch unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
}

impl Metrics {
    pub fn to_namespace(namespace: impl Into<String>) -> Self {
        Metrics {
            namespace: Some(namespace.into()),
        }
    }

    pub fn disabled() -> Self {
        Metrics::default()
    }

    /// `LEADWATCH_METRICS_NAMESPACE` (set by the SAM template), else disabled.
    pub fn from_env() -> Self {
        match std::env::var("LEADWATCH_METRICS_NAMESPACE") {
            Ok(ns) if !ns.trim().is_empty() => Metrics::to_namespace(ns.trim()),
            _ => Metrics::disabled(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.namespace.is_some()
    }

    /// Print one EMF line for `data` under `dimensions` (each inner list is one
    /// dimension set; `[]` aggregates over everything).
    pub fn emit(
        &self,
        at: DateTime<Utc>,
        dimensions: &[(&str, &str)],
        dimension_sets: &[&[&str]],
        data: &[Datum],
    ) {
        if let Some(line) = self.line(at, dimensions, dimension_sets, data) {
            // stdout is the function's log stream; EMF lines must be whole JSON objects.
            println!("{line}");
        }
    }

    /// The EMF document, or `None` when disabled or there is nothing to say.
    pub fn line(
        &self,
        at: DateTime<Utc>,
        dimensions: &[(&str, &str)],
        dimension_sets: &[&[&str]],
        data: &[Datum],
    ) -> Option<String> {
        let namespace = self.namespace.as_ref()?;
        if data.is_empty() {
            return None;
        }
        let mut doc = Map::new();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": at.timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": dimension_sets,
                    "Metrics": data.iter().map(|d| json!({"Name": d.name, "Unit": d.unit})).collect::<Vec<_>>(),
                }],
            }),
        );
        for (k, v) in dimensions {
            doc.insert((*k).into(), Value::String((*v).into()));
        }
        for d in data {
            doc.insert(d.name.into(), json!(d.value));
        }
        Some(Value::Object(doc).to_string())
    }

    /// The live metrics of one committed save, from its rollup increments (the team
    /// increment carries everything; the other dimensions repeat it).
    pub fn emit_transition(&self, at: DateTime<Utc>, increments: &[MetricIncrement]) {
        if !self.enabled() {
            return;
        }
        let team_prefix = format!("{TEAM_DIMENSION}#");
        let Some(inc) = increments
            .iter()
            .find(|i| i.dimension.starts_with(&team_prefix))
        else {
            return;
        };
        let team = &inc.dimension[team_prefix.len()..];
        let (by_team, by_kind) = transition_data(&inc.counters);
        if !by_team.is_empty() {
            self.emit(at, &[("Team", team)], &[&["Team"], &[]], &by_team);
        }
        for (kind, n) in by_kind {
            self.emit(
                at,
                &[("Kind", kind.as_str()), ("Team", team)],
                &[&["Kind"]],
                &[Datum {
                    name: "AlertsPublished",
                    value: n as f64,
                    unit: "Count",
                }],
            );
        }
    }
}

impl Metrics {
    /// One alert that is not tied to a lead transition (a contract review).
    pub fn emit_alert(&self, at: DateTime<Utc>, kind: &str) {
        self.emit(
            at,
            &[("Kind", kind)],
            &[&["Kind"]],
            &[Datum {
                name: "AlertsPublished",
                value: 1.0,
                unit: "Count",
            }],
        );
    }

    /// One watchdog run, for the heartbeat, the degraded-run alarm and the dashboard.
    /// Emitted at the wall-clock time of the run's end (CloudWatch files a metric under
    /// its timestamp, and the heartbeat alarm looks at the last minutes), with no
    /// dimensions: the alarms read the stack-wide series.
    pub fn emit_watchdog_run(&self, at: DateTime<Utc>, run: &WatchdogRun) {
        if let Some(line) = self.watchdog_run_line(at, run) {
            println!("{line}");
        }
    }

    /// The EMF line of [`Metrics::emit_watchdog_run`].
    pub fn watchdog_run_line(&self, at: DateTime<Utc>, run: &WatchdogRun) -> Option<String> {
        let count = |name, value: usize| Datum {
            name,
            value: value as f64,
            unit: "Count",
        };
        self.line(
            at,
            &[],
            &[&[]],
            &[
                // The heartbeat: one per run, whatever it found.
                count("WatchdogRuns", 1),
                count("WatchdogDegraded", usize::from(run.degraded)),
                count("WatchdogDue", run.due),
                count("WatchdogPublished", run.published),
                count("WatchdogCommitted", run.committed),
                count("WatchdogFailed", run.failed),
                count("WatchdogDeferred", run.deferred),
                Datum {
                    name: "WatchdogRunSeconds",
                    value: run.seconds,
                    unit: "Seconds",
                },
            ],
        )
    }
}

/// The figures of one watchdog run that [`Metrics::emit_watchdog_run`] emits.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WatchdogRun {
    pub due: usize,
    /// Alerts that went out.
    pub published: usize,
    /// Of those, steps committed.
    pub committed: usize,
    /// Alerts that did not go out.
    pub failed: usize,
    /// Due leads left for the next run (the run's time ran short).
    pub deferred: usize,
    /// Part of the run's work failed (`WatchdogDegraded` = 1).
    pub degraded: bool,
    /// How long the run took, on the wall clock.
    pub seconds: f64,
}

/// Team metrics and alert counts by kind from rollup counters.
fn transition_data(counters: &[(String, i64)]) -> (Vec<Datum>, Vec<(String, i64)>) {
    let mut data = Vec::new();
    let mut alerts = Vec::new();
    let mut decided = false;
    let mut within = false;
    for (name, n) in counters {
        let n = *n;
        match name.as_str() {
            counter::MQLS => data.push(Datum {
                name: "MqlCreated",
                value: n as f64,
                unit: "Count",
            }),
            counter::ACCEPTED_WITHIN_SLA | counter::REJECTED_WITHIN_SLA => within = true,
            counter::ACCEPTED | counter::REJECTED_BEFORE_ACCEPT | counter::EXPIRED => {
                decided = true
            }
            other => {
                if let Some(minutes) = other.strip_prefix(counter::TIME_TO_ACCEPT_PREFIX) {
                    if let Ok(m) = minutes.parse::<f64>() {
                        data.push(Datum {
                            name: "TimeToAcceptMinutes",
                            value: m,
                            unit: "None",
                        });
                    }
                } else if let Some(kind) = other.strip_prefix(counter::ALERT_PREFIX) {
                    alerts.push((kind.to_string(), n));
                }
            }
        }
    }
    if decided {
        // 1 within the SLA, 0 late or expired: the template's alarm and dashboard
        // average it and show 100 × the average as "SLA met %".
        data.push(Datum {
            name: "SlaMet",
            value: if within { 1.0 } else { 0.0 },
            unit: "None",
        });
    }
    (data, alerts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn counters(names: &[&str]) -> Vec<(String, i64)> {
        names.iter().map(|n| (n.to_string(), 1)).collect()
    }

    #[test]
    fn an_emf_line_names_its_metrics_and_dimensions() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let m = Metrics::to_namespace("Leadwatch");
        let line = m
            .line(
                at,
                &[("Team", "ae-na")],
                &[&["Team"], &[]],
                &[Datum {
                    name: "MqlCreated",
                    value: 1.0,
                    unit: "Count",
                }],
            )
            .unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], json!(at.timestamp_millis()));
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "Leadwatch");
        assert_eq!(cw["Dimensions"], json!([["Team"], []]));
        assert_eq!(cw["Metrics"][0]["Name"], "MqlCreated");
        assert_eq!(v["Team"], "ae-na");
        assert_eq!(v["MqlCreated"], json!(1.0));
        assert_eq!(Metrics::disabled().line(at, &[], &[], &[]), None);
    }

    #[test]
    fn a_watchdog_run_line_carries_the_heartbeat_and_the_degraded_flag() {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let run = WatchdogRun {
            due: 12,
            published: 10,
            committed: 9,
            failed: 2,
            deferred: 3,
            degraded: true,
            seconds: 1.5,
        };
        let m = Metrics::to_namespace("Leadwatch");
        let v: Value = serde_json::from_str(&m.watchdog_run_line(at, &run).unwrap()).unwrap();
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Dimensions"], json!([[]]));
        let named: Vec<&str> = cw["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        for (name, value) in [
            ("WatchdogRuns", 1.0),
            ("WatchdogDegraded", 1.0),
            ("WatchdogDue", 12.0),
            ("WatchdogPublished", 10.0),
            ("WatchdogCommitted", 9.0),
            ("WatchdogFailed", 2.0),
            ("WatchdogDeferred", 3.0),
            ("WatchdogRunSeconds", 1.5),
        ] {
            assert!(named.contains(&name), "{name} declared");
            assert_eq!(v[name], json!(value), "{name}");
        }
        let healthy = WatchdogRun::default();
        let v: Value = serde_json::from_str(&m.watchdog_run_line(at, &healthy).unwrap()).unwrap();
        assert_eq!(v["WatchdogDegraded"], json!(0.0), "a healthy run reports 0");
        assert_eq!(v["WatchdogRuns"], json!(1.0), "and still beats");
        assert_eq!(Metrics::disabled().watchdog_run_line(at, &run), None);
    }

    #[test]
    fn decisions_become_sla_met_and_time_to_accept() {
        let (data, alerts) =
            transition_data(&counters(&["accepted", "accepted_within_sla", "tta#42"]));
        assert!(alerts.is_empty());
        assert!(data.contains(&Datum {
            name: "TimeToAcceptMinutes",
            value: 42.0,
            unit: "None"
        }));
        assert!(data.contains(&Datum {
            name: "SlaMet",
            value: 1.0,
            unit: "None"
        }));
        let (late, _) = transition_data(&counters(&["accepted", "accepted_late", "tta#600"]));
        assert!(late.iter().any(|d| d.name == "SlaMet" && d.value == 0.0));
        let (expired, alerts) = transition_data(&counters(&["expired", "alert#sla_expired"]));
        assert!(expired.iter().any(|d| d.name == "SlaMet" && d.value == 0.0));
        assert_eq!(alerts, vec![("sla_expired".to_string(), 1)]);
        // A SAL rejected later is not an SLA decision.
        let (sal_reject, _) = transition_data(&counters(&["rejected", "rejection#no_budget"]));
        assert!(sal_reject.is_empty());
    }
}
