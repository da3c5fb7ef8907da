//! The monthly contract review: when the last closed months all missed a target, one
//! `contract_review` alert for the latest of them. The once-marker makes it one per
//! month however many runs (and concurrent runs) see the same bad months; its claim is
//! leased on the wall clock like a step's, and a failed publish releases it so that
//! the next run retries.

use chrono::{DateTime, Duration, Utc};

use leadwatch_core::alert::contract_review_alert;
use leadwatch_core::report::{build_report, contract_review, Month};
use leadwatch_core::state::CLAIM_LEASE_SECONDS;

use crate::{Tick, WatchdogApp};

/// What the review did: the month it alerted for, or a problem that degrades the run.
pub(crate) enum Review {
    Quiet,
    Published(String),
    Problem(String),
}

pub(crate) async fn review_contract(app: &WatchdogApp, token: &str, tick: &Tick) -> Review {
    let now = tick.at;
    let last = Month::of(now.date_naive()).previous();
    let key = format!("contract_review#{last}");
    match app.store.once_done(&key).await {
        Ok(true) => return Review::Quiet,
        Ok(false) => {}
        Err(e) => return Review::Problem(format!("contract review: marker read failed: {e}")),
    }
    let targets = &app.contract.spec.targets;
    let mut first = last;
    for _ in 1..targets.consecutive_months.max(1) {
        first = first.previous();
    }
    let items = match app.store.rollups(&first.through(last)).await {
        Ok(items) => items,
        Err(e) => return Review::Problem(format!("contract review: rollup read failed: {e}")),
    };
    let report = build_report(first, last, None, &items);
    let Some(review) = contract_review(&report, last, targets) else {
        return Review::Quiet;
    };
    let wall: DateTime<Utc> = tick.wall();
    let until = wall + Duration::seconds(CLAIM_LEASE_SECONDS);
    match app.store.claim_once(&key, token, wall, until).await {
        Ok(true) => {}
        Ok(false) => return Review::Quiet,
        Err(e) => return Review::Problem(format!("contract review: claim failed: {e}")),
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
            app.store.metrics().emit_alert(wall, "contract_review");
            Review::Published(last.to_string())
        }
        other => {
            let _ = app.store.release_once(&key, token).await;
            let error = match other {
                Some(Err(e)) => e,
                _ => "no result".to_string(),
            };
            Review::Problem(format!("contract review: publish failed: {error}"))
        }
    }
}
