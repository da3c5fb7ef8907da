//! What a run did, told apart the way an operator needs it: an alert that went out but
//! whose step was not committed is "published, not committed" (it will go out again
//! when its claim lapses, with the same `alert_id`), not "failed"; only an alert that
//! did not go out is failed. A run that could not do part of its work (a timer shard
//! unread, publishes refused, writes failed, steps cut off at the deadline) is
//! *degraded*: it still does all it can, then says so, and the Lambda handler turns
//! that into an invocation error so that Lambda's error metrics and alarms count it.

use std::collections::BTreeMap;

use serde::Serialize;

use leadwatch_core::sla::StepKind;
use leadwatch_core::state::DueWork;

/// What a run did; returned to the caller and logged.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunSummary {
    /// Leads with a due timer at the start of the run.
    pub due: usize,
    /// Due steps this run claimed (the rest were held by other runs, no longer due, or
    /// left for the next run).
    pub claimed: usize,
    /// Alerts SNS accepted: these went out.
    pub published: usize,
    /// Published alerts whose step was committed: done for good.
    pub committed: usize,
    /// Published alerts whose step was not committed: the write failed or was cut off
    /// (the claim lapses and the alert goes out again, with the same `alert_id` for
    /// subscribers to drop), or the lead moved on meanwhile (accepted: nothing more).
    pub uncommitted: usize,
    /// Alerts SNS did not accept: they did not go out, and their steps are retried.
    pub failed: usize,
    /// Of the failed, claims given back at once (the rest lapse with their lease).
    pub released: usize,
    /// Due leads this run left for the next one because its time ran short.
    pub deferred: usize,
    /// Published warnings.
    pub warned: usize,
    /// Published breach and escalation alerts, by level label (`1`, `2`, `2.1`, ...).
    pub escalated: BTreeMap<String, usize>,
    /// Published expiries (MQLs returned to nurture as `sla_expired`).
    pub expired: usize,
    /// Published returns of rejected leads to nurture.
    pub returned: usize,
    /// Catch-up rounds run (a lead with several steps due fires one per round).
    pub rounds: usize,
    /// Chunks of claims, publishes and commits run.
    pub chunks: usize,
    /// Read capacity of the timer queries, as DynamoDB reported it.
    pub timer_read_units: f64,
    /// The month a `contract_review` alert was published for in this run, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract_review: Option<String>,
    /// What went wrong, one line each; empty for a healthy run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl RunSummary {
    /// Did part of the work fail? (Deferring work to the next run is not a failure: it
    /// is how a run keeps its deadline.)
    pub fn degraded(&self) -> bool {
        !self.problems.is_empty()
    }

    /// Count a published alert by what it announced.
    pub(crate) fn published_alert(&mut self, work: &DueWork) {
        self.published += 1;
        match work {
            DueWork::ReturnToNurture => self.returned += 1,
            DueWork::Step { step, .. } => match step.kind {
                StepKind::Warning => self.warned += 1,
                StepKind::Breach | StepKind::Escalation => {
                    *self.escalated.entry(step.level_label()).or_default() += 1
                }
                StepKind::Expire => self.expired += 1,
            },
        }
    }

    pub(crate) fn problem(&mut self, text: impl Into<String>) {
        self.problems.push(text.into());
    }
}

/// Counts of one kind of trouble in a run, reported as one problem line each.
#[derive(Debug, Default)]
pub(crate) struct Trouble {
    pub claim_errors: usize,
    pub commit_errors: usize,
    pub release_errors: usize,
    /// Steps cut off in flight by the run's hard stop (claims, publishes, commits).
    pub cut_off: usize,
    /// Tasks that panicked (a bug): their step's outcome is unknown.
    pub panicked: usize,
    /// A sample error of each kind, for the log and the invocation error.
    pub samples: BTreeMap<&'static str, String>,
}

impl Trouble {
    pub fn sample(&mut self, kind: &'static str, error: impl ToString) {
        self.samples
            .entry(kind)
            .or_insert_with(|| error.to_string());
    }

    /// Into `summary.problems`, one line per kind of trouble.
    pub fn report(self, summary: &mut RunSummary) {
        let sample = |kind: &str| {
            self.samples
                .get(kind)
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        };
        if summary.failed > 0 {
            summary.problem(format!(
                "{} alerts were not published{}",
                summary.failed,
                sample("publish")
            ));
        }
        for (n, what, kind) in [
            (self.claim_errors, "claims failed", "claim"),
            (
                self.commit_errors,
                "commits failed after publishing",
                "commit",
            ),
            (self.release_errors, "releases failed", "release"),
        ] {
            if n > 0 {
                summary.problem(format!("{n} {what}{}", sample(kind)));
            }
        }
        if self.cut_off > 0 {
            summary.problem(format!(
                "{} steps were cut off at the run's deadline",
                self.cut_off
            ));
        }
        if self.panicked > 0 {
            summary.problem(format!("{} step tasks panicked", self.panicked));
        }
    }
}
