//! Replaying a history: each lead is assessed at each of its signals' times, in time
//! order, exactly as the ingest path would have assessed it, to find when (if ever) the
//! contract made it an MQL and how high it scored. Leads are replayed in parallel.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use leadwatch_core::assess::{assess, Action};
use leadwatch_core::contract::Contract;
use leadwatch_core::lead::Signal;

use crate::HistoryRecord;

/// What the contract decided about one lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadReplay {
    /// When it became an MQL, if it did.
    pub mql_at: Option<DateTime<Utc>>,
    /// It became an MQL through the fast lane.
    pub fast_lane: bool,
    /// The highest total the contract gave it at any of its signals (assessments that
    /// failed the gates excluded): how good the contract thinks the lead got.
    pub score: f64,
    /// The first gate it failed, if the gates disqualified it before it became an MQL.
    pub disqualified_by: Option<String>,
}

/// Replay one lead: assess it at each of its signals' times, in time order. The first
/// `act_now` makes it an MQL; the replay goes on to find its peak score, and stops early
/// only when the gates disqualify it.
pub fn replay_lead(record: &HistoryRecord, contract: &Contract) -> LeadReplay {
    replay_with_window(record, contract, longest_window(contract))
}

/// No signal older than the longest recency window counts, so each assessment is given
/// only the signals inside it: the decision is the same and a lead with hundreds of
/// email opens costs linear time instead of quadratic.
fn longest_window(contract: &Contract) -> Duration {
    let days = contract
        .spec
        .signals
        .values()
        .map(|s| s.recency_days)
        .max()
        .unwrap_or(0);
    // One extra day keeps the cut safely outside assess's own age test.
    Duration::days(i64::from(days) + 1)
}

fn replay_with_window(record: &HistoryRecord, contract: &Contract, window: Duration) -> LeadReplay {
    let sorted_copy;
    let signals: &[Signal] = if record.signals.is_sorted_by_key(|s| s.at) {
        &record.signals
    } else {
        let mut copy = record.signals.clone();
        copy.sort_by_key(|s| s.at);
        sorted_copy = copy;
        &sorted_copy
    };
    let profile = &record.profile;
    let mut peak = 0.0_f64;
    let mut mql: Option<(DateTime<Utc>, bool)> = None;
    let mut oldest = 0;
    let mut next = 0;
    loop {
        // A lead without signals is judged once, when it was created.
        let (at, live) = if signals.is_empty() {
            (record.created_at.unwrap_or(DateTime::UNIX_EPOCH), signals)
        } else {
            let at = signals[next].at;
            // Signals at the same instant arrive together: one assessment for them all.
            let mut end = next + 1;
            while end < signals.len() && signals[end].at == at {
                end += 1;
            }
            let cut = at
                .checked_sub_signed(window)
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            while signals[oldest].at < cut {
                oldest += 1;
            }
            let live = &signals[oldest..end];
            next = end;
            (at, live)
        };
        let a = assess(profile, live, contract, at);
        match a.action {
            // Gates never reopen: the profile does not change and a disqualifying signal
            // counts at any age (which is also why the window above is safe for them).
            // An MQL that is disqualified later was still sent to sales.
            Action::Disqualify => {
                return LeadReplay {
                    mql_at: mql.map(|m| m.0),
                    fast_lane: mql.is_some_and(|m| m.1),
                    score: peak,
                    disqualified_by: match mql {
                        Some(_) => None,
                        None => a.failed_gates.first().map(|g| g.gate.clone()),
                    },
                };
            }
            Action::ActNow => {
                mql.get_or_insert((at, a.fast_lane));
                peak = peak.max(a.total);
            }
            Action::Nurture => peak = peak.max(a.total),
        }
        if next >= signals.len() {
            break;
        }
    }
    LeadReplay {
        mql_at: mql.map(|m| m.0),
        fast_lane: mql.is_some_and(|m| m.1),
        score: peak,
        disqualified_by: None,
    }
}

/// Replay every lead, in parallel over chunks; the result is in the records' order.
pub fn replay(
    records: &[HistoryRecord],
    contract: &Contract,
    threads: Option<usize>,
) -> Vec<LeadReplay> {
    let window = longest_window(contract);
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .clamp(1, 64)
        // Below a few hundred leads a thread costs more than it saves.
        .min(records.len() / 256 + 1);
    if threads == 1 {
        return records
            .iter()
            .map(|r| replay_with_window(r, contract, window))
            .collect();
    }
    let chunk = records.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = records
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|r| replay_with_window(r, contract, window))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(records.len());
        for worker in workers {
            match worker.join() {
                Ok(part) => all.extend(part),
                // assess does not panic on any input; if it ever does, fail as loudly
                // as the sequential path would.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    })
}
