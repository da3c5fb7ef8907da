//! Scoring a replay against what really happened: the confusion matrix (precision,
//! recall, F1), the calibration of SQL rate by score band with its inversions, and the
//! breakdowns by gate, rejection reason and unknown signal type.

use std::collections::BTreeMap;

use serde::Serialize;

use leadwatch_core::contract::{Contract, Pillar};

use crate::replay::replay;
use crate::{HistoryRecord, LeadReplay};

/// How a backtest is summarised.
#[derive(Debug, Clone, Copy)]
pub struct BacktestOptions {
    /// Width of a score band; by default a tenth of the contract's total scale.
    pub band_width: Option<u32>,
    /// Bands with fewer leads are shown but not held to monotone calibration: a rate
    /// from a handful of leads is noise.
    pub min_band_leads: usize,
    /// Worker threads for the replay; by default the machine's parallelism.
    pub threads: Option<usize>,
}

impl Default for BacktestOptions {
    fn default() -> Self {
        BacktestOptions {
            band_width: None,
            min_band_leads: 30,
            threads: None,
        }
    }
}

/// MQL decision against SQL outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// MQL and became an SQL.
    pub true_positives: usize,
    /// MQL, never an SQL.
    pub false_positives: usize,
    /// Became an SQL without being an MQL (missed).
    pub false_negatives: usize,
    /// Neither.
    pub true_negatives: usize,
}

impl Confusion {
    pub fn precision(&self) -> Option<f64> {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    pub fn recall(&self) -> Option<f64> {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    pub fn f1(&self) -> Option<f64> {
        let (p, r) = (self.precision()?, self.recall()?);
        (p + r > 0.0).then(|| 2.0 * p * r / (p + r))
    }
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Leads whose score fell in `[low, high)` (the last band also holds its upper bound).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    pub low: u32,
    pub high: u32,
    pub leads: usize,
    pub mqls: usize,
    pub sqls: usize,
    /// SQLs / leads; `None` for an empty band.
    pub sql_rate: Option<f64>,
    /// Fewer leads than the options' `min_band_leads`: left out of the monotone check.
    pub thin: bool,
}

impl Band {
    pub fn label(&self) -> String {
        format!("{}-{}", self.low, self.high)
    }
}

/// Two bands where the higher one converts worse.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inversion {
    pub lower: String,
    pub lower_rate: f64,
    pub higher: String,
    pub higher_rate: f64,
    /// Two-proportion z statistic of the drop.
    pub z: f64,
    /// The drop is smaller than two standard errors: with this few leads it may be
    /// chance rather than a scoring problem. Still an inversion; this only says how
    /// much to read into it.
    pub within_noise: bool,
}

/// How many standard errors a drop between two bands' SQL rates is.
fn drop_z(lower: &Band, higher: &Band) -> f64 {
    let (n1, n2) = (lower.leads as f64, higher.leads as f64);
    let (r1, r2) = (lower.sqls as f64 / n1, higher.sqls as f64 / n2);
    let pooled = (lower.sqls + higher.sqls) as f64 / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se > 0.0 {
        (r1 - r2) / se
    } else {
        f64::INFINITY
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    pub band_width: u32,
    pub min_band_leads: usize,
    /// Leads that passed the gates, by the score band of [`LeadReplay::score`].
    pub bands: Vec<Band>,
    /// Leads the gates disqualified, whatever their score.
    pub disqualified_leads: usize,
    pub disqualified_sqls: usize,
    /// Bands with enough leads to be judged; with fewer than two, `monotone` is true
    /// only because there is nothing to compare.
    pub judged_bands: usize,
    /// The SQL rate never falls from one band to the next (thin bands aside).
    pub monotone: bool,
    pub inversions: Vec<Inversion>,
}

/// The backtest of one contract over one history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestResult {
    pub contract_version: String,
    pub leads: usize,
    pub sqls: usize,
    pub mqls: usize,
    pub fast_lane_mqls: usize,
    /// Fast-lane MQLs that became SQLs.
    pub fast_lane_sqls: usize,
    pub disqualified: usize,
    pub disqualified_by_gate: BTreeMap<String, usize>,
    pub confusion: Confusion,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    pub calibration: Calibration,
    /// MQLs that did not become SQLs, by the reason sales gave when it rejected them.
    pub rejected_mqls_by_reason: BTreeMap<String, usize>,
    /// Signals whose type this contract does not know; they score nothing, which is
    /// worth a look (a renamed type, a typo in the export).
    pub unknown_signal_types: BTreeMap<String, usize>,
}

/// Replay and summarise.
pub fn backtest(
    records: &[HistoryRecord],
    contract: &Contract,
    options: &BacktestOptions,
) -> BacktestResult {
    let replays = replay(records, contract, options.threads);
    summarise(records, &replays, contract, options)
}

/// Summarise replays; `replays[i]` is the replay of `records[i]`.
pub fn summarise(
    records: &[HistoryRecord],
    replays: &[LeadReplay],
    contract: &Contract,
    options: &BacktestOptions,
) -> BacktestResult {
    let scale = contract.pillar_max(Pillar::Fit)
        + contract.pillar_max(Pillar::Intent)
        + contract.pillar_max(Pillar::Readiness);
    let width = options
        .band_width
        .unwrap_or_else(|| scale.div_ceil(10))
        .max(1);
    let band_count = scale.div_ceil(width).max(1);
    let mut bands: Vec<Band> = (0..band_count)
        .map(|i| Band {
            low: i * width,
            high: ((i + 1) * width).min(scale.max(width)),
            leads: 0,
            mqls: 0,
            sqls: 0,
            sql_rate: None,
            thin: true,
        })
        .collect();

    let mut confusion = Confusion::default();
    let (mut mqls, mut fast_lane_mqls, mut fast_lane_sqls, mut sqls) = (0, 0, 0, 0);
    let (mut disqualified, mut disqualified_sqls) = (0, 0);
    let mut disqualified_by_gate: BTreeMap<String, usize> = BTreeMap::new();
    let mut rejected_mqls_by_reason: BTreeMap<String, usize> = BTreeMap::new();
    let mut unknown_signal_types: BTreeMap<String, usize> = BTreeMap::new();

    for (record, replay) in records.iter().zip(replays) {
        let mql = replay.mql_at.is_some();
        sqls += usize::from(record.sql);
        match (mql, record.sql) {
            (true, true) => confusion.true_positives += 1,
            (true, false) => confusion.false_positives += 1,
            (false, true) => confusion.false_negatives += 1,
            (false, false) => confusion.true_negatives += 1,
        }
        if mql {
            mqls += 1;
            if replay.fast_lane {
                fast_lane_mqls += 1;
                fast_lane_sqls += usize::from(record.sql);
            }
            if !record.sql {
                if let Some(reason) = &record.rejection_reason {
                    *rejected_mqls_by_reason.entry(reason.clone()).or_default() += 1;
                }
            }
        }
        if let Some(gate) = &replay.disqualified_by {
            disqualified += 1;
            disqualified_sqls += usize::from(record.sql);
            *disqualified_by_gate.entry(gate.clone()).or_default() += 1;
        } else {
            let index = if replay.score.is_finite() && replay.score > 0.0 {
                ((replay.score / f64::from(width)) as usize).min(bands.len() - 1)
            } else {
                0
            };
            let band = &mut bands[index];
            band.leads += 1;
            band.mqls += usize::from(mql);
            band.sqls += usize::from(record.sql);
        }
        for s in &record.signals {
            if contract.signal_type(&s.kind).is_none() {
                match unknown_signal_types.get_mut(s.kind.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        unknown_signal_types.insert(s.kind.clone(), 1);
                    }
                }
            }
        }
    }

    for band in &mut bands {
        band.sql_rate = ratio(band.sqls, band.leads);
        band.thin = band.leads < options.min_band_leads.max(1);
    }
    let mut inversions = Vec::new();
    let mut previous: Option<(&Band, f64)> = None;
    for band in bands.iter().filter(|b| !b.thin) {
        let rate = band.sql_rate.unwrap_or(0.0);
        if let Some((lower, lower_rate)) = previous {
            if rate < lower_rate {
                let z = drop_z(lower, band);
                inversions.push(Inversion {
                    lower: lower.label(),
                    lower_rate,
                    higher: band.label(),
                    higher_rate: rate,
                    z,
                    within_noise: z < 1.96,
                });
            }
        }
        previous = Some((band, rate));
    }

    BacktestResult {
        contract_version: contract.version().to_string(),
        leads: records.len().min(replays.len()),
        sqls,
        mqls,
        fast_lane_mqls,
        fast_lane_sqls,
        disqualified,
        disqualified_by_gate,
        confusion,
        precision: confusion.precision(),
        recall: confusion.recall(),
        f1: confusion.f1(),
        calibration: Calibration {
            band_width: width,
            min_band_leads: options.min_band_leads,
            judged_bands: bands.iter().filter(|b| !b.thin).count(),
            monotone: inversions.is_empty(),
            inversions,
            bands,
            disqualified_leads: disqualified,
            disqualified_sqls,
        },
        rejected_mqls_by_reason,
        unknown_signal_types,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f1_is_the_harmonic_mean() {
        let c = Confusion {
            true_positives: 2,
            false_positives: 2,
            false_negatives: 6,
            true_negatives: 90,
        };
        assert_eq!(c.precision(), Some(0.5));
        assert_eq!(c.recall(), Some(0.25));
        let f1 = c.f1().unwrap();
        assert!((f1 - 1.0 / 3.0).abs() < 1e-12, "{f1}");
        assert_eq!(Confusion::default().precision(), None);
    }
}
