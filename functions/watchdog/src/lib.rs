//! The SLA watchdog, run by an EventBridge schedule with `now` taken from the event.
//!
//! Each run reads every timer shard for due timers (queries of the sparse `timers`
//! index, never a scan) and, for each due lead, works in three steps:
//!
//! 1. **claim** the due work with a conditional write (only one run can win it);
//! 2. **publish** the alerts of all claims, batched;
//! 3. **commit** each published step (next step, or the return to nurture), or
//!    **release** the claim if its publish failed, so the next run retries it.
//!
//! An acceptance that commits before the claim leaves nothing to claim; a claim that
//! lapses (a run that died after claiming) becomes due again. Together with the stable
//! `alert_id`, that is "exactly once per level".

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::task::JoinSet;

use leadwatch_adapters::alerts::AlertPublisher;
use leadwatch_adapters::store::{Change, Store};
use leadwatch_adapters::table::all_timer_shards;
use leadwatch_core::alert::{contract_review_alert, AlertMessage};
use leadwatch_core::commands::watchdog::{claim_due_step, commit_step, release_step, StepClaim};
use leadwatch_core::report::{build_report, contract_review, Month};
use leadwatch_core::sla::StepKind;
use leadwatch_core::state::{DueWork, CLAIM_LEASE_SECONDS};
use leadwatch_core::Contract;

/// Catch-up bound: a lead whose warning, breach and level 2 are all due (say after an
/// outage) fires one step per round.
const MAX_ROUNDS: usize = 8;
/// Leads handled at once; DynamoDB calls are I/O-bound.
const PARALLEL: usize = 16;

#[derive(Clone)]
pub struct WatchdogApp {
    pub store: Store,
    pub alerts: AlertPublisher,
    pub contract: Arc<Contract>,
}

/// What a run did; returned to the caller and logged.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunSummary {
    /// Leads with a due timer at the start of the run.
    pub due: usize,
    pub warned: usize,
    /// Breach and escalation alerts, by level label (`1`, `2`, `2.1`, ...).
    pub escalated: BTreeMap<String, usize>,
    /// MQLs returned to nurture as `sla_expired`.
    pub expired: usize,
    /// Rejected leads returned to nurture.
    pub returned: usize,
    /// Alerts that could not be published; their steps stay claimable.
    pub failed: usize,
    /// Read capacity of the timer queries, as DynamoDB reported it.
    pub timer_read_units: f64,
    /// The month a `contract_review` alert was published for in this run, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract_review: Option<String>,
}

/// A claim this run holds, with the alert it is going to send.
struct Claimed {
    lead_id: String,
    work: DueWork,
    alert: AlertMessage,
}

pub async fn run(app: &WatchdogApp, now: DateTime<Utc>) -> RunSummary {
    let token = run_token();
    let mut summary = RunSummary::default();
    for round in 0..MAX_ROUNDS {
        let (due, read_units) = due_leads(app, now).await;
        summary.timer_read_units += read_units;
        if round == 0 {
            summary.due = due.len();
        }
        let claimed = claim_all(app, due, &token, now).await;
        if claimed.is_empty() {
            break;
        }
        let alerts: Vec<AlertMessage> = claimed.iter().map(|c| c.alert.clone()).collect();
        let published = app.alerts.publish(&alerts).await;
        let mut tasks = JoinSet::new();
        for (claim, result) in claimed.into_iter().zip(published) {
            let app = app.clone();
            let token = token.clone();
            tasks.spawn(async move {
                let ok = match &result {
                    Ok(()) => commit(&app, &claim, &token, now).await,
                    Err(e) => {
                        tracing::warn!(lead_id = %claim.lead_id, alert_id = %claim.alert.alert_id, error = %e, "publish failed; releasing the claim");
                        release(&app, &claim, &token, now).await;
                        false
                    }
                };
                (claim, result.is_ok() && ok)
            });
            if tasks.len() >= PARALLEL {
                if let Some(Ok((claim, sent))) = tasks.join_next().await {
                    tally(&mut summary, &claim, sent);
                }
            }
        }
        while let Some(joined) = tasks.join_next().await {
            if let Ok((claim, sent)) = joined {
                tally(&mut summary, &claim, sent);
            }
        }
    }
    summary.contract_review = review_contract(app, &token, now).await;
    app.store
        .metrics()
        .emit_watchdog_run(now, summary.due, summary.failed);
    tracing::info!(summary = ?summary, "watchdog run");
    summary
}

/// When the last closed months all missed a target, publish one `contract_review`
/// alert for the latest of them. The once-marker makes it one per month however many
/// runs (and concurrent runs) see the same bad months; a failed publish releases the
/// marker so the next run retries.
async fn review_contract(app: &WatchdogApp, token: &str, now: DateTime<Utc>) -> Option<String> {
    let last = Month::of(now.date_naive()).previous();
    let key = format!("contract_review#{last}");
    match app.store.once_done(&key).await {
        Ok(true) => return None,
        Ok(false) => {}
        Err(e) => {
            tracing::error!(error = %e, "contract review: marker read failed");
            return None;
        }
    }
    let targets = &app.contract.spec.targets;
    let mut first = last;
    for _ in 1..targets.consecutive_months.max(1) {
        first = first.previous();
    }
    let items = match app.store.rollups(&first.through(last)).await {
        Ok(items) => items,
        Err(e) => {
            tracing::error!(error = %e, "contract review: rollup read failed");
            return None;
        }
    };
    let report = build_report(first, last, None, &items);
    let review = contract_review(&report, last, targets)?;
    let until = now + chrono::Duration::seconds(CLAIM_LEASE_SECONDS);
    match app.store.claim_once(&key, token, now, until).await {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => {
            tracing::error!(error = %e, "contract review: claim failed");
            return None;
        }
    }
    let alert = contract_review_alert(&review, &app.contract, now);
    let published = app.alerts.publish(std::slice::from_ref(&alert)).await;
    match published.into_iter().next() {
        Some(Ok(())) => {
            if let Err(e) = app.store.finish_once(&key, token).await {
                // The alert went out; a lapsed claim may send it again, and the stable
                // alert_id lets subscribers drop the repeat.
                tracing::error!(error = %e, "contract review: marking done failed");
            }
            app.store.metrics().emit_alert(now, "contract_review");
            Some(last.to_string())
        }
        other => {
            tracing::warn!(result = ?other, "contract review publish failed; releasing");
            let _ = app.store.release_once(&key, token).await;
            None
        }
    }
}

fn tally(summary: &mut RunSummary, claim: &Claimed, sent: bool) {
    if !sent {
        summary.failed += 1;
        return;
    }
    match &claim.work {
        DueWork::ReturnToNurture => summary.returned += 1,
        DueWork::Step { step, .. } => match step.kind {
            StepKind::Warning => summary.warned += 1,
            StepKind::Breach | StepKind::Escalation => {
                *summary.escalated.entry(step.level_label()).or_default() += 1
            }
            StepKind::Expire => summary.expired += 1,
        },
    }
}

/// Leads with a due timer, from every shard of the sparse timer index.
async fn due_leads(app: &WatchdogApp, now: DateTime<Utc>) -> (Vec<String>, f64) {
    let mut tasks = JoinSet::new();
    for shard in all_timer_shards() {
        let store = app.store.clone();
        tasks.spawn(async move { store.due_timers(&shard, now).await });
    }
    let mut leads = Vec::new();
    let mut units = 0.0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok((refs, read))) => {
                units += read;
                leads.extend(refs.into_iter().map(|r| r.lead_id));
            }
            Ok(Err(e)) => tracing::error!(error = %e, "timer query failed"),
            Err(e) => tracing::error!(error = %e, "timer query task failed"),
        }
    }
    leads.sort();
    leads.dedup();
    (leads, units)
}

async fn claim_all(
    app: &WatchdogApp,
    leads: Vec<String>,
    token: &str,
    now: DateTime<Utc>,
) -> Vec<Claimed> {
    let mut tasks = JoinSet::new();
    let mut claimed = Vec::new();
    for lead_id in leads {
        let app = app.clone();
        let token = token.to_string();
        tasks.spawn(async move { claim(&app, lead_id, &token, now).await });
        if tasks.len() >= PARALLEL {
            if let Some(Ok(Some(c))) = tasks.join_next().await {
                claimed.push(c);
            }
        }
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok(Some(c)) = joined {
            claimed.push(c);
        }
    }
    claimed
}

async fn claim(
    app: &WatchdogApp,
    lead_id: String,
    token: &str,
    now: DateTime<Utc>,
) -> Option<Claimed> {
    let result = app
        .store
        .update_lead(&lead_id, |current| {
            let outcome =
                current.and_then(|state| claim_due_step(state, token, &app.contract, now));
            Ok::<_, Infallible>(outcome.map(Change::from))
        })
        .await;
    match result {
        Ok(Ok(saved)) => {
            let StepClaim { work, alert } = app.store.settle(saved)?;
            Some(Claimed {
                lead_id,
                work,
                alert,
            })
        }
        Ok(Err(never)) => match never {},
        Err(e) => {
            tracing::error!(lead_id = %lead_id, error = %e, "claim failed");
            None
        }
    }
}

/// The alert went out: move the lead on.
async fn commit(app: &WatchdogApp, claim: &Claimed, token: &str, now: DateTime<Utc>) -> bool {
    let result = app
        .store
        .update_lead(&claim.lead_id, |current| {
            let outcome = current
                .and_then(|state| commit_step(state, &claim.work, token, &app.contract, now));
            Ok::<_, Infallible>(outcome.map(Change::from))
        })
        .await;
    match result {
        Ok(Ok(saved)) => {
            if app.store.settle(saved).is_none() {
                // Published, but the lead moved on meanwhile (accepted, or a lapsed
                // claim taken by another run): subscribers dedupe on the alert id.
                tracing::warn!(lead_id = %claim.lead_id, alert_id = %claim.alert.alert_id, "claim lost after publish");
            }
            true
        }
        Ok(Err(never)) => match never {},
        Err(e) => {
            tracing::error!(lead_id = %claim.lead_id, error = %e, "commit failed; the claim will lapse and the step be retried");
            false
        }
    }
}

/// The publish failed: give the step back so the next run retries it.
async fn release(app: &WatchdogApp, claim: &Claimed, token: &str, now: DateTime<Utc>) {
    let result = app
        .store
        .update_lead(&claim.lead_id, |current| {
            let outcome = current.and_then(|state| release_step(state, &claim.work, token, now));
            Ok::<_, Infallible>(outcome.map(Change::from))
        })
        .await;
    if let Err(e) = result {
        tracing::error!(lead_id = %claim.lead_id, error = %e, "release failed; the claim will lapse instead");
    }
}

/// A token that tells this run's claims from any other run's, even of the same event
/// delivered twice. `RandomState` is seeded randomly per process.
fn run_token() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", h.finish())
}
