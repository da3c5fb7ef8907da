//! The SLA watchdog, run by an EventBridge schedule: what is due is decided by the
//! event's `time`, how long claims hold and how long the run may last by the wall clock.
//!
//! Each run reads every timer shard for due timers (queries of the sparse `timers`
//! index, never a scan) and works through the due leads in **chunks**. For each chunk:
//!
//! 1. **claim** each lead's due step with a conditional write and a lease (only one
//!    run can win it), a bounded number at once;
//! 2. **publish** the chunk's alerts, in batches of ten, a few batches at once;
//! 3. **commit** each published step (next step, or the return to nurture), or
//!    **release** the claim if its publish failed, so the next run retries it.
//!
//! A run has a deadline (the Lambda invocation's). Before each chunk it checks that the
//! time left can finish one, sized by the pace of the chunks before it; if not, it
//! stops claiming and leaves the rest to the next run. A chunk it starts, it finishes:
//! nothing is claimed without being published and committed or released in the same
//! run, unless a dependency hangs past the run's hard stop, just short of the deadline,
//! where what is still in flight is abandoned (safely: see [`steps::bounded`]) and the
//! run reports itself degraded. A lead with several steps due (after an outage) fires
//! one per catch-up round, and rounds stop when the time does, so a run never takes
//! longer because its event time is far from today.
//!
//! An acceptance that commits before the claim leaves nothing to claim; a claim that
//! lapses (a run that died after claiming) becomes due again. Together with the stable
//! `alert_id`, that is "once per level" at the topic, and exactly once per subscriber
//! that drops repeated alert ids.

pub mod event;
mod review;
mod steps;
mod summary;

use std::collections::{BTreeSet, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use tokio::time::Instant;

use leadwatch_adapters::alerts::AlertPublisher;
use leadwatch_adapters::emf::WatchdogRun;
use leadwatch_adapters::store::Store;
use leadwatch_adapters::table::all_timer_shards;
use leadwatch_core::alert::AlertMessage;
use leadwatch_core::Contract;

use review::{review_contract, Review};
use steps::{bounded, claim, commit, release, ClaimResult, Claimed, Settled};
pub use summary::RunSummary;
use summary::Trouble;

/// SNS accepts at most ten entries per PublishBatch.
const PUBLISH_BATCH: usize = 10;

#[derive(Clone)]
pub struct WatchdogApp {
    pub store: Store,
    pub alerts: AlertPublisher,
    pub contract: Arc<Contract>,
}

/// The wall clock a run measures claim leases and its deadline on: `Utc::now` in the
/// Lambda entry point; a test's or a replay's own clock elsewhere.
pub type WallClock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// One run: the schedule event's time, the wall clock, and when the run must be done.
#[derive(Clone)]
pub struct Tick {
    /// The event's `time`: what is due.
    pub at: DateTime<Utc>,
    /// The wall clock: claim leases, and the time left before `deadline`.
    pub clock: WallClock,
    /// When the invocation ends (Lambda's deadline), on `clock`.
    pub deadline: DateTime<Utc>,
    pub limits: RunLimits,
}

impl Tick {
    /// A run at event time `at` that must end by `deadline` on `clock`, with the
    /// default [`RunLimits`].
    pub fn new(at: DateTime<Utc>, clock: WallClock, deadline: DateTime<Utc>) -> Tick {
        Tick {
            at,
            clock,
            deadline,
            limits: RunLimits::default(),
        }
    }

    pub fn with_limits(mut self, limits: RunLimits) -> Tick {
        self.limits = limits;
        self
    }

    /// The wall clock now.
    pub fn wall(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Time left before the deadline, on the wall clock (zero once past it).
    fn left(&self) -> StdDuration {
        (self.deadline - self.wall()).to_std().unwrap_or_default()
    }
}

/// How a run spends its time. The defaults suit the deployed watchdog (a 60 s Lambda
/// timeout, DynamoDB and SNS answering in milliseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunLimits {
    /// Claims, commits and releases in flight at once.
    pub parallel: usize,
    /// PublishBatch requests in flight at once.
    pub publish_parallel: usize,
    /// The most leads one chunk takes.
    pub max_chunk: usize,
    /// How long a chunk should take once the run knows its pace: long enough to
    /// amortise its fixed costs, short enough to stop close to the deadline.
    pub chunk_target: StdDuration,
    /// Time kept free at the end of a run for the contract review, the metrics and the
    /// answer: at most a tenth of the run's time.
    pub reserve: StdDuration,
    /// Catch-up rounds at most (one step per lead per round).
    pub max_rounds: usize,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            parallel: 16,
            publish_parallel: 4,
            max_chunk: 500,
            chunk_target: StdDuration::from_secs(5),
            reserve: StdDuration::from_secs(3),
            max_rounds: 8,
        }
    }
}

/// A chunk must fit this many times its expected duration into the time left: the
/// pace of one chunk is only a guess at the next.
const SAFETY: f64 = 2.0;

/// The pace of the chunks so far, which sizes the next one.
#[derive(Debug)]
struct Pace {
    /// Seconds per lead: the last chunk's, or an average that reacts to a slowdown at
    /// once and to a speed-up gradually.
    per_lead: Option<f64>,
    /// A guess at how long the first chunk takes, before there is a pace.
    first: StdDuration,
}

impl Pace {
    fn new(first: StdDuration) -> Pace {
        Pace {
            per_lead: None,
            first,
        }
    }

    fn observe(&mut self, took: StdDuration, leads: usize) {
        if leads == 0 {
            return;
        }
        let last = took.as_secs_f64() / leads as f64;
        self.per_lead = Some(match self.per_lead {
            Some(p) if last < p => (p + last) / 2.0,
            _ => last,
        });
    }

    /// How many leads the next chunk may take with `left` to spend on chunks; None
    /// when not even one fits.
    fn next_chunk(&self, left: StdDuration, limits: &RunLimits) -> Option<usize> {
        if left.is_zero() {
            return None;
        }
        let Some(per_lead) = self.per_lead else {
            // The first chunk learns the pace: one lead per claim in flight.
            return (left.as_secs_f64() >= self.first.as_secs_f64() * SAFETY)
                .then_some(limits.parallel.max(1));
        };
        let per_lead = per_lead.max(1e-6);
        let target = limits
            .chunk_target
            .as_secs_f64()
            .min(left.as_secs_f64() / SAFETY);
        let n = (target / per_lead).floor();
        (n >= 1.0).then(|| (n as usize).min(limits.max_chunk.max(1)))
    }
}

/// One run of the watchdog at `tick.at`, finished before `tick.deadline`.
pub async fn run(app: &WatchdogApp, tick: Tick) -> RunSummary {
    let started = tick.wall();
    let start_instant = Instant::now();
    let token = run_token();
    let limits = tick.limits;
    let budget = tick.left();
    let reserve = limits.reserve.min(budget / 10);
    // Past the hard stop nothing is awaited: a hung dependency cannot make the run
    // overrun its deadline. It leaves the last sliver for the answer.
    let hard_stop = start_instant + budget.saturating_sub(reserve / 4);
    let mut summary = RunSummary::default();
    let mut trouble = Trouble::default();
    // A first chunk is a few dozen requests: well under a second on a healthy stack.
    let mut pace = Pace::new(StdDuration::from_secs(1).min(budget / 10));
    let mut out_of_time = false;
    let mut unsettled = HashSet::new();
    for round in 0..limits.max_rounds.max(1) {
        if tick.left() <= reserve {
            break;
        }
        let mut due = due_leads(app, &tick, hard_stop, &mut summary).await;
        if round == 0 {
            summary.due = due.len();
        }
        due.retain(|lead| !unsettled.contains(lead));
        summary.rounds += 1;
        let mut claimed_this_round = 0;
        let mut rest = &due[..];
        while !rest.is_empty() {
            let Some(size) = pace.next_chunk(tick.left().saturating_sub(reserve), &limits) else {
                out_of_time = true;
                break;
            };
            let (chunk, later) = rest.split_at(size.min(rest.len()));
            let began = Instant::now();
            let done = run_chunk(
                app,
                &tick,
                &token,
                chunk,
                hard_stop,
                &mut summary,
                &mut trouble,
            )
            .await;
            claimed_this_round += done.claimed;
            unsettled.extend(done.unsettled);
            pace.observe(began.elapsed(), chunk.len());
            summary.chunks += 1;
            rest = later;
        }
        if out_of_time {
            summary.deferred = rest.len();
            break;
        }
        if claimed_this_round == 0 {
            break;
        }
    }
    if tick.left() > reserve / 2 {
        match tokio::time::timeout_at(hard_stop, review_contract(app, &token, &tick)).await {
            Ok(Review::Quiet) => {}
            Ok(Review::Published(month)) => summary.contract_review = Some(month),
            Ok(Review::Problem(p)) => summary.problem(p),
            Err(_) => summary.problem("contract review cut off at the run's deadline"),
        }
    }
    trouble.report(&mut summary);
    let ended = tick.wall();
    let figures = WatchdogRun {
        due: summary.due,
        published: summary.published,
        committed: summary.committed,
        failed: summary.failed,
        deferred: summary.deferred,
        degraded: summary.degraded(),
        seconds: (ended - started).num_milliseconds() as f64 / 1000.0,
    };
    app.store.metrics().emit_watchdog_run(ended, &figures);
    if summary.degraded() {
        tracing::error!(summary = ?summary, "watchdog run degraded");
    } else {
        tracing::info!(summary = ?summary, "watchdog run");
    }
    summary
}

/// What one chunk did.
struct ChunkDone {
    claimed: usize,
    /// Leads this run claimed, or may have, and did not commit: not to be claimed again
    /// by this run (its own live claim would let it, and an alert that went out would
    /// go out twice). The next run finds them once their claims lapse or are released.
    unsettled: Vec<String>,
}

/// Claim, publish and commit (or release) the due steps of `leads`.
async fn run_chunk(
    app: &WatchdogApp,
    tick: &Tick,
    token: &str,
    leads: &[String],
    hard_stop: Instant,
    summary: &mut RunSummary,
    trouble: &mut Trouble,
) -> ChunkDone {
    // Every lead starts unsettled; skipped and committed ones are taken off.
    let mut unsettled: BTreeSet<&String> = leads.iter().collect();
    let limits = &tick.limits;
    let jobs: Vec<(usize, String)> = leads.iter().cloned().enumerate().collect();
    let claims = bounded(jobs, limits.parallel, hard_stop, |(order, lead_id)| {
        let (app, token, clock, at) = (app.clone(), token.to_string(), tick.clock.clone(), tick.at);
        async move { claim(&app, order, lead_id, &token, at, &clock).await }
    })
    .await;
    trouble.cut_off += claims.cut_off;
    trouble.panicked += claims.panicked;
    let mut claimed = Vec::new();
    for result in claims.done {
        match result {
            ClaimResult::Claimed(c) => claimed.push(*c),
            ClaimResult::Skipped(lead_id) => {
                unsettled.remove(&lead_id);
            }
            ClaimResult::Failed(e) => {
                trouble.claim_errors += 1;
                trouble.sample("claim", e);
            }
        }
    }
    // In the order of the due list, whatever order the claims finished in.
    claimed.sort_by_key(|c| c.order);
    let count = claimed.len();
    summary.claimed += count;
    if claimed.is_empty() {
        return ChunkDone {
            claimed: 0,
            unsettled: unsettled.into_iter().cloned().collect(),
        };
    }

    let batches: Vec<Vec<Claimed>> = chunked(claimed, PUBLISH_BATCH);
    let published = bounded(batches, limits.publish_parallel, hard_stop, |batch| {
        let alerts = app.alerts.clone();
        async move {
            let messages: Vec<AlertMessage> = batch.iter().map(|c| c.alert.clone()).collect();
            let results = alerts.publish(&messages).await;
            (batch, results)
        }
    })
    .await;
    trouble.panicked += published.panicked;
    let mut outcomes: Vec<(Claimed, Result<(), String>)> = published
        .done
        .into_iter()
        .flat_map(|(batch, results)| batch.into_iter().zip(results))
        .collect();
    // Batches cut off mid-publish may or may not have gone out: their claims lapse.
    trouble.cut_off += count - outcomes.len();
    outcomes.sort_by_key(|(claim, _)| claim.order);
    let mut settle = Vec::with_capacity(outcomes.len());
    for (claim, result) in outcomes {
        let published = result.is_ok();
        match result {
            Ok(()) => summary.published_alert(&claim.work),
            Err(e) => {
                tracing::warn!(lead_id = %claim.lead_id, alert_id = %claim.alert.alert_id, error = %e, "publish failed; releasing the claim");
                trouble.sample("publish", e);
                summary.failed += 1;
            }
        }
        settle.push((claim, published));
    }

    let settled = bounded(settle, limits.parallel, hard_stop, |(claim, published)| {
        let (app, token, at) = (app.clone(), token.to_string(), tick.at);
        async move {
            let result = if published {
                commit(&app, &claim, &token, at).await
            } else {
                release(&app, &claim, &token, at).await
            };
            (claim.lead_id, published, result)
        }
    })
    .await;
    trouble.panicked += settled.panicked;
    trouble.cut_off += settled.cut_off;
    let mut committed = 0;
    for (lead_id, published, result) in settled.done {
        match (published, result) {
            (true, Settled::Done) => {
                committed += 1;
                unsettled.remove(&lead_id);
            }
            (true, Settled::Lost) => {}
            (true, Settled::Failed(e)) => {
                trouble.commit_errors += 1;
                trouble.sample("commit", e);
            }
            (false, Settled::Done) => summary.released += 1,
            (false, Settled::Lost) => {}
            (false, Settled::Failed(e)) => {
                trouble.release_errors += 1;
                trouble.sample("release", e);
            }
        }
    }
    summary.committed += committed;
    summary.uncommitted = summary.published - summary.committed;
    ChunkDone {
        claimed: count,
        unsettled: unsettled.into_iter().cloned().collect(),
    }
}

fn chunked<T>(items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut current = Vec::with_capacity(size);
    for item in items {
        current.push(item);
        if current.len() == size {
            out.push(std::mem::replace(&mut current, Vec::with_capacity(size)));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Leads with a due timer, from every shard of the sparse timer index, in lead order.
/// A shard that cannot be read is a problem of the run; the others are still worked.
async fn due_leads(
    app: &WatchdogApp,
    tick: &Tick,
    hard_stop: Instant,
    summary: &mut RunSummary,
) -> Vec<String> {
    let mut tasks = JoinSet::new();
    for shard in all_timer_shards() {
        let store = app.store.clone();
        let at = tick.at;
        tasks.spawn(async move { (shard.clone(), store.due_timers(&shard, at).await) });
    }
    let mut leads = BTreeSet::new();
    loop {
        match tokio::time::timeout_at(hard_stop, tasks.join_next()).await {
            Ok(Some(Ok((_, Ok((refs, read)))))) => {
                summary.timer_read_units += read;
                leads.extend(refs.into_iter().map(|r| r.lead_id));
            }
            Ok(Some(Ok((shard, Err(e))))) => {
                tracing::error!(shard = %shard, error = %e, "timer query failed");
                summary.problem(format!("timer shard {shard}: query failed: {e}"));
            }
            Ok(Some(Err(e))) => summary.problem(format!("a timer query task failed: {e}")),
            Ok(None) => break,
            Err(_) => {
                summary.problem(format!(
                    "{} timer shards unread at the run's deadline",
                    tasks.len()
                ));
                tasks.abort_all();
                break;
            }
        }
    }
    leads.into_iter().collect()
}

/// A token that tells this run's claims from any other run's, even of the same event
/// delivered twice. `RandomState` is seeded randomly per process and per instance.
fn run_token() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_chunk_learns_the_pace_and_later_ones_fit_the_time_left() {
        let limits = RunLimits::default();
        let mut pace = Pace::new(StdDuration::from_secs(1));
        assert_eq!(
            pace.next_chunk(StdDuration::from_secs(50), &limits),
            Some(16)
        );
        assert_eq!(
            pace.next_chunk(StdDuration::from_millis(1999), &limits),
            None,
            "the first chunk needs twice the guess"
        );
        assert_eq!(pace.next_chunk(StdDuration::ZERO, &limits), None);
        // 16 leads in 160 ms: 10 ms a lead.
        pace.observe(StdDuration::from_millis(160), 16);
        // Aim at the 5 s target: 500 leads (the cap).
        assert_eq!(
            pace.next_chunk(StdDuration::from_secs(50), &limits),
            Some(500)
        );
        // 3 s left: a chunk must fit twice into it, 1.5 s: 150 leads.
        assert_eq!(
            pace.next_chunk(StdDuration::from_secs(3), &limits),
            Some(150)
        );
        // A slowdown counts at once: 100 ms a lead.
        pace.observe(StdDuration::from_secs(10), 100);
        assert_eq!(
            pace.next_chunk(StdDuration::from_secs(3), &limits),
            Some(15)
        );
        assert_eq!(
            pace.next_chunk(StdDuration::from_millis(150), &limits),
            None
        );
        // A speed-up only halfway.
        pace.observe(StdDuration::from_millis(100), 10);
        assert_eq!(pace.per_lead, Some(0.055));
    }

    #[test]
    fn batches_keep_order_and_size() {
        let batches = chunked((0..23).collect(), 10);
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![10, 10, 3]
        );
        assert_eq!(batches[2], vec![20, 21, 22]);
    }
}
