//! Seeded synthetic lead history, for tests, benchmarks and demos.
//!
//! Each lead gets a hidden ground-truth quality `q` in [0, 1]: how likely this person
//! is to buy. `q` drives everything observable: who they are (seniority, company size,
//! industry, country, ABM), what they do (how many intent and readiness signals, whether
//! they raise a hand, how long they stay on pages, whether they ask questions, how tight
//! their burst of activity is) and whether they became an SQL. A share of the leads,
//! larger among low `q`, is junk that the gates exist for: free-mail, students, job
//! seekers, vendors, competitors, leads from countries that are not served.
//!
//! Vocabulary comes from the contract where it can (countries, industries, employee
//! bands, signal types, free-mail, student, competitor and vendor domains, title
//! disqualifiers, rejection reasons) so that the history exercises that contract, and
//! from built-in lists where a contract says nothing (titles, names, companies).
//!
//! The same seed gives the same history, byte for byte, on every machine: each lead has
//! its own ChaCha8 stream derived from (seed, index), and the draws below use only the
//! raw 64-bit output, never a distribution whose algorithm could change. The first N
//! leads of a larger history are the N-lead history.
//!
//! This file holds the API, the seeded draws and the palette taken from the contract;
//! one lead's story is drawn in the `lead` submodule.

use std::collections::HashSet;

use chrono::{DateTime, TimeZone, Utc};
use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::HistoryRecord;
use leadwatch_core::contract::{Contract, Pillar};

mod lead;

use lead::one_lead;

#[derive(Debug, Clone, Copy)]
pub struct GeneratorOptions {
    pub leads: usize,
    pub seed: u64,
    /// Leads are created between `start` and `start + days`; their signals may run on
    /// for some weeks after.
    pub start: DateTime<Utc>,
    pub days: u32,
}

impl Default for GeneratorOptions {
    /// A quarter starting Monday 2026-08-03: fixed, so that the default history does
    /// not depend on when it is generated.
    fn default() -> Self {
        GeneratorOptions {
            leads: 1000,
            seed: 1,
            start: Utc
                .with_ymd_and_hms(2026, 8, 3, 0, 0, 0)
                .single()
                .unwrap_or(DateTime::UNIX_EPOCH),
            days: 91,
        }
    }
}

/// What kind of person filled in the form; everything but `Prospect` is meant to fail
/// a gate of a sensible contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadKind {
    Prospect,
    FreeMail,
    Student,
    JobSeeker,
    Vendor,
    Competitor,
    OutOfMarket,
}

/// A generated lead with its hidden truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeneratedLead {
    pub record: HistoryRecord,
    /// Ground-truth quality in [0, 1].
    pub quality: f64,
    /// The probability the outcome was drawn with.
    pub sql_probability: f64,
    pub kind: LeadKind,
}

/// Generate `options.leads` leads for this contract.
pub fn generate(contract: &Contract, options: &GeneratorOptions) -> Vec<GeneratedLead> {
    let palette = Palette::new(contract);
    let mut emails = HashSet::with_capacity(options.leads);
    (0..options.leads)
        .map(|i| {
            let mut draw = Draw(lead_rng(options.seed, i as u64));
            let mut lead = one_lead(&mut draw, &palette, options);
            unique_email(&mut lead.record.profile.email, &mut emails);
            lead
        })
        .collect()
}

/// Just the records, as a history file holds them.
pub fn generate_history(contract: &Contract, options: &GeneratorOptions) -> Vec<HistoryRecord> {
    generate(contract, options)
        .into_iter()
        .map(|g| g.record)
        .collect()
}

/// The probability that a lead of this quality and kind becomes an SQL. Steep in `q`:
/// most leads never convert and the best ones often do.
pub fn sql_probability(quality: f64, kind: LeadKind) -> f64 {
    let factor = match kind {
        LeadKind::Prospect => 1.0,
        // Some small-business buyers do use a personal address.
        LeadKind::FreeMail => 0.15,
        LeadKind::OutOfMarket => 0.05,
        LeadKind::Student | LeadKind::JobSeeker | LeadKind::Vendor | LeadKind::Competitor => 0.0,
    };
    factor * (0.001 + 0.85 * quality.clamp(0.0, 1.0).powf(2.5))
}

fn lead_rng(seed: u64, index: u64) -> ChaCha8Rng {
    let mut state = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut bytes = [0_u8; 32];
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    ChaCha8Rng::from_seed(bytes)
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The draws the generator needs, on the raw stream only (see the module docs).
struct Draw(ChaCha8Rng);

impl Draw {
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.0.next_u64() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }

    fn weighted<'a, T>(&mut self, items: &'a [(T, f64)]) -> Option<&'a T> {
        let total: f64 = items.iter().map(|(_, w)| w.max(0.0)).sum();
        if total <= 0.0 {
            return self.pick(items).map(|(t, _)| t);
        }
        let mut x = self.unit() * total;
        for (item, w) in items {
            x -= w.max(0.0);
            if x < 0.0 {
                return Some(item);
            }
        }
        items.last().map(|(t, _)| t)
    }

    fn poisson(&mut self, mean: f64) -> usize {
        let limit = (-mean.clamp(0.0, 30.0)).exp();
        let (mut k, mut p) = (0, 1.0);
        loop {
            p *= self.unit();
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }

    /// Roughly normal with mean 0 and deviation 1 (sum of uniforms), bounded to ±3.
    fn bell(&mut self) -> f64 {
        (0..6).map(|_| self.unit()).sum::<f64>() - 3.0
    }

    fn between(&mut self, low: u32, high: u32) -> u32 {
        low + self.below((high.saturating_sub(low) as usize) + 1) as u32
    }

    /// Log-uniform, so that company sizes spread over orders of magnitude.
    fn log_between(&mut self, low: u32, high: u32) -> u32 {
        let (lo, hi) = (
            f64::from(low.max(1)).ln(),
            f64::from(high.max(low.max(1))).ln(),
        );
        (lo + self.unit() * (hi - lo)).exp().round() as u32
    }
}

/// A signal type of the contract as the generator uses it.
#[derive(Debug, Clone)]
struct Kind {
    name: String,
    measures_seconds: bool,
    asks: bool,
}

/// What the generator draws from, computed once from the contract.
struct Palette {
    countries: Vec<(String, f64)>,
    outside_countries: Vec<String>,
    industries: Vec<(String, f64)>,
    other_industries: Vec<String>,
    /// (min, max) of the employee bands, best-scoring first.
    bands: Vec<(u32, u32)>,
    employee_range: (u32, u32),
    free_domains: Vec<String>,
    student_suffixes: Vec<String>,
    competitors: Vec<String>,
    vendors: Vec<String>,
    title_disqualifiers: Vec<String>,
    hand_raise: Vec<Kind>,
    engaged: Vec<(Kind, f64)>,
    readiness: Vec<(Kind, f64)>,
    cheap: Vec<Kind>,
    negative: Vec<Kind>,
    vendor_signal: Option<Kind>,
    job_signal: Option<Kind>,
    reasons: Vec<String>,
}

const FALLBACK_COUNTRIES: &[&str] = &["US", "GB", "DE", "CA", "FR", "NL", "AU"];
const OUTSIDE_COUNTRIES: &[&str] = &[
    "BR", "IN", "MX", "JP", "ZA", "SG", "AR", "PL", "ES", "IT", "NG", "TR",
];
const OTHER_INDUSTRIES: &[&str] = &[
    "education",
    "government",
    "nonprofit",
    "retail",
    "hospitality",
    "media",
    "healthcare",
    "construction",
    "logistics",
    "agriculture",
];

impl Palette {
    fn new(contract: &Contract) -> Palette {
        let spec = &contract.spec;
        let g = &spec.gates;
        let served: Vec<String> = if g.serviceable_countries.is_empty() {
            FALLBACK_COUNTRIES.iter().map(|c| c.to_string()).collect()
        } else {
            g.serviceable_countries.clone()
        };
        // Markets are uneven: the first countries listed get most of the leads.
        let countries = served
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), 1.0 / (i as f64 + 1.0)))
            .collect();
        let outside_countries = OUTSIDE_COUNTRIES
            .iter()
            .filter(|c| !served.iter().any(|s| s == *c))
            .map(|c| c.to_string())
            .collect();
        let industries = spec
            .fit
            .industries
            .iter()
            .map(|(name, points)| (name.clone(), f64::from(*points).powi(2).max(1.0)))
            .collect();
        let other_industries = OTHER_INDUSTRIES
            .iter()
            .filter(|i| !spec.fit.industries.contains_key(**i))
            .map(|i| i.to_string())
            .collect();
        let mut scored_bands: Vec<(u32, u32, u32)> = spec
            .fit
            .employee_bands
            .iter()
            .map(|b| (b.min, b.max, b.points))
            .collect();
        scored_bands.sort_by_key(|b| std::cmp::Reverse(b.2));
        let bands = scored_bands.iter().map(|b| (b.0, b.1)).collect();
        let employee_range = (
            g.min_employees.unwrap_or(1).max(1),
            g.max_employees.unwrap_or(100_000).max(2),
        );

        let negatives: HashSet<&str> = spec
            .negatives
            .values()
            .filter_map(|n| n.when_only.as_deref().or(n.when_present.as_deref()))
            .collect();
        let mut palette = Palette {
            countries,
            outside_countries,
            industries,
            other_industries,
            bands,
            employee_range,
            free_domains: g.free_email_domains.clone(),
            student_suffixes: g.student_email_suffixes.clone(),
            competitors: g.competitor_domains.clone(),
            vendors: g.vendor_domains.clone(),
            title_disqualifiers: g.title_disqualifiers.clone(),
            hand_raise: Vec::new(),
            engaged: Vec::new(),
            readiness: Vec::new(),
            cheap: Vec::new(),
            negative: Vec::new(),
            vendor_signal: None,
            job_signal: None,
            reasons: spec.rejection.reasons.clone(),
        };
        for (name, t) in &spec.signals {
            let kind = Kind {
                name: name.clone(),
                measures_seconds: t.min_seconds.is_some() || t.strong_min_seconds.is_some(),
                asks: t.strong_if_question,
            };
            // Strong signals are rarer than mild ones.
            let weight = 1.0 / f64::from(t.points.max(1)).sqrt();
            if g.disqualifying_signals.contains(name) {
                if name.contains("vendor") || palette.vendor_signal.is_none() {
                    palette.vendor_signal = Some(kind.clone());
                }
                if name.contains("job") || palette.job_signal.is_none() {
                    palette.job_signal = Some(kind);
                }
            } else if spec.fast_lane.signals.contains(name) {
                palette.hand_raise.push(kind);
            } else if negatives.contains(name.as_str()) || t.points == 0 {
                palette.negative.push(kind);
            } else if t.cheap {
                palette.cheap.push(kind);
            } else if t.pillar == Pillar::Readiness {
                palette.readiness.push((kind, weight));
            } else {
                palette.engaged.push((kind, weight));
            }
        }
        palette
    }

    /// A reason from the contract's picklist, or the closest one it has.
    fn reason(&self, wanted: &str) -> Option<String> {
        self.reasons
            .iter()
            .find(|r| *r == wanted)
            .or_else(|| self.reasons.iter().find(|r| *r == "other"))
            .or_else(|| self.reasons.first())
            .cloned()
    }
}

/// The same person twice would be one lead in Leadwatch; keep generated emails apart.
fn unique_email(email: &mut String, seen: &mut HashSet<String>) {
    if seen.insert(email.clone()) {
        return;
    }
    let (local, domain) = match email.split_once('@') {
        Some((l, d)) => (l.to_string(), d.to_string()),
        None => (email.clone(), String::new()),
    };
    for n in 2.. {
        let candidate = format!("{local}{n}@{domain}");
        if seen.insert(candidate.clone()) {
            *email = candidate;
            return;
        }
    }
}
