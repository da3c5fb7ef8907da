//! Two contracts over the same history, side by side: the change in every figure, and
//! the leads only one of them would send to sales (with how many of those became SQLs).

use serde::Serialize;

use leadwatch_core::contract::Contract;

use crate::replay::replay;
use crate::summary::summarise;
use crate::{BacktestOptions, BacktestResult, HistoryRecord};

/// Leads that only one of two contracts makes MQLs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Flip {
    pub leads: usize,
    /// Of those, how many became SQLs.
    pub sqls: usize,
}

/// B minus A.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delta {
    pub mqls: i64,
    pub fast_lane_mqls: i64,
    pub disqualified: i64,
    pub true_positives: i64,
    pub false_positives: i64,
    pub false_negatives: i64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

/// Two contracts over the same history, side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub a: BacktestResult,
    pub b: BacktestResult,
    /// B minus A.
    pub delta: Delta,
    /// MQLs under A and not under B: what B would stop sending to sales.
    pub only_a: Flip,
    /// MQLs under B and not under A: what B would add.
    pub only_b: Flip,
    pub both: usize,
}

pub fn compare(
    records: &[HistoryRecord],
    a: &Contract,
    b: &Contract,
    options: &BacktestOptions,
) -> Comparison {
    let replays_a = replay(records, a, options.threads);
    let replays_b = replay(records, b, options.threads);
    let (mut only_a, mut only_b, mut both) = (Flip::default(), Flip::default(), 0);
    for ((record, ra), rb) in records.iter().zip(&replays_a).zip(&replays_b) {
        match (ra.mql_at.is_some(), rb.mql_at.is_some()) {
            (true, false) => {
                only_a.leads += 1;
                only_a.sqls += usize::from(record.sql);
            }
            (false, true) => {
                only_b.leads += 1;
                only_b.sqls += usize::from(record.sql);
            }
            (true, true) => both += 1,
            (false, false) => {}
        }
    }
    let a = summarise(records, &replays_a, a, options);
    let b = summarise(records, &replays_b, b, options);
    let count = |x: usize, y: usize| y as i64 - x as i64;
    let diff = |x: Option<f64>, y: Option<f64>| Some(y? - x?);
    let delta = Delta {
        mqls: count(a.mqls, b.mqls),
        fast_lane_mqls: count(a.fast_lane_mqls, b.fast_lane_mqls),
        disqualified: count(a.disqualified, b.disqualified),
        true_positives: count(a.confusion.true_positives, b.confusion.true_positives),
        false_positives: count(a.confusion.false_positives, b.confusion.false_positives),
        false_negatives: count(a.confusion.false_negatives, b.confusion.false_negatives),
        precision: diff(a.precision, b.precision),
        recall: diff(a.recall, b.recall),
        f1: diff(a.f1, b.f1),
    };
    Comparison {
        a,
        b,
        delta,
        only_a,
        only_b,
        both,
    }
}
