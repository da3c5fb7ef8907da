//! One lead's part of a chunk: claim its due step, then commit it (the alert went out)
//! or release it (the alert did not), each a command written by the store; and the
//! bounded fan-out that runs many of them at once without running past the run's hard
//! stop.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use leadwatch_adapters::store::Change;
use leadwatch_core::alert::AlertMessage;
use leadwatch_core::commands::watchdog::{claim_due_step, commit_step, release_step, StepClaim};
use leadwatch_core::state::DueWork;

use crate::{WallClock, WatchdogApp};

/// A claim this run holds, with the alert it is going to send.
pub(crate) struct Claimed {
    /// The lead's place in the chunk: publishes keep the order of the due list.
    pub order: usize,
    pub lead_id: String,
    pub work: DueWork,
    pub alert: AlertMessage,
}

pub(crate) enum ClaimResult {
    Claimed(Box<Claimed>),
    /// Nothing due any more, or another run holds a live claim: the lead named.
    Skipped(String),
    Failed(String),
}

/// What became of a claim after its publish.
pub(crate) enum Settled {
    /// Committed (published) or released (not published).
    Done,
    /// This run no longer held the claim: the lead was accepted meanwhile, or the claim
    /// lapsed and another run took it.
    Lost,
    Failed(String),
}

/// Claim the due step of `lead_id`, leased from the wall clock at the moment of writing.
pub(crate) async fn claim(
    app: &WatchdogApp,
    order: usize,
    lead_id: String,
    token: &str,
    at: DateTime<Utc>,
    clock: &WallClock,
) -> ClaimResult {
    let result = app
        .store
        .update_lead(&lead_id, |current| {
            let outcome =
                current.and_then(|state| claim_due_step(state, token, &app.contract, at, clock()));
            Ok::<_, Infallible>(outcome.map(Change::from))
        })
        .await;
    match result {
        Ok(Ok(saved)) => match app.store.settle(saved) {
            Some(StepClaim { work, alert }) => ClaimResult::Claimed(Box::new(Claimed {
                order,
                lead_id,
                work,
                alert,
            })),
            None => ClaimResult::Skipped(lead_id),
        },
        Ok(Err(never)) => match never {},
        Err(e) => {
            tracing::error!(lead_id = %lead_id, error = %e, "claim failed");
            ClaimResult::Failed(e.to_string())
        }
    }
}

/// The alert went out: move the lead on.
pub(crate) async fn commit(
    app: &WatchdogApp,
    claim: &Claimed,
    token: &str,
    at: DateTime<Utc>,
) -> Settled {
    let result = app
        .store
        .update_lead(&claim.lead_id, |current| {
            let outcome =
                current.and_then(|state| commit_step(state, &claim.work, token, &app.contract, at));
            Ok::<_, Infallible>(outcome.map(Change::from))
        })
        .await;
    match result {
        Ok(Ok(saved)) => match app.store.settle(saved) {
            Some(()) => Settled::Done,
            None => {
                tracing::warn!(lead_id = %claim.lead_id, alert_id = %claim.alert.alert_id, "claim lost after publish");
                Settled::Lost
            }
        },
        Ok(Err(never)) => match never {},
        Err(e) => {
            tracing::error!(lead_id = %claim.lead_id, alert_id = %claim.alert.alert_id, error = %e, "commit failed; the claim will lapse and the alert be sent again");
            Settled::Failed(e.to_string())
        }
    }
}

/// The publish failed: give the step back so the next run retries it.
pub(crate) async fn release(
    app: &WatchdogApp,
    claim: &Claimed,
    token: &str,
    at: DateTime<Utc>,
) -> Settled {
    let result = app
        .store
        .update_lead(&claim.lead_id, |current| {
            let outcome = current.and_then(|state| release_step(state, &claim.work, token, at));
            Ok::<_, Infallible>(outcome.map(Change::from))
        })
        .await;
    match result {
        Ok(Ok(saved)) => match app.store.settle(saved) {
            Some(()) => Settled::Done,
            None => Settled::Lost,
        },
        Ok(Err(never)) => match never {},
        Err(e) => {
            tracing::error!(lead_id = %claim.lead_id, error = %e, "release failed; the claim will lapse instead");
            Settled::Failed(e.to_string())
        }
    }
}

/// What [`bounded`] got done before its stop.
pub(crate) struct Fanned<O> {
    pub done: Vec<O>,
    /// Items still running (or waiting) at the stop, and aborted.
    pub cut_off: usize,
    pub panicked: usize,
}

/// `work` on every item, at most `limit` at once, until `stop`. Work still running at
/// the stop is aborted: every step here is safe to abandon midway (a claim that landed
/// lapses, an unpublished alert is retried, an uncommitted one is sent again).
pub(crate) async fn bounded<I, O, F, Fut>(
    items: Vec<I>,
    limit: usize,
    stop: Instant,
    work: F,
) -> Fanned<O>
where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(I) -> Fut,
    Fut: Future<Output = O> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(limit.max(1)));
    let total = items.len();
    let mut tasks = JoinSet::new();
    for item in items {
        let permits = Arc::clone(&permits);
        let job = work(item);
        tasks.spawn(async move {
            // The semaphore is never closed, so a permit always comes.
            let _permit = permits.acquire_owned().await.ok();
            job.await
        });
    }
    let mut fanned = Fanned {
        done: Vec::with_capacity(total),
        cut_off: 0,
        panicked: 0,
    };
    loop {
        match tokio::time::timeout_at(stop, tasks.join_next()).await {
            Ok(Some(Ok(output))) => fanned.done.push(output),
            Ok(Some(Err(e))) => {
                tracing::error!(error = %e, "watchdog task failed");
                fanned.panicked += 1;
            }
            Ok(None) => break,
            Err(_) => {
                fanned.cut_off = tasks.len();
                tasks.abort_all();
                break;
            }
        }
    }
    fanned
}
