//! Backtests and the synthetic history generator: the generator is reproducible and its
//! ground truth is learnable, the figures are right on a history small enough to work
//! out by hand, the replay judges each lead at its own time, and bad files are refused
//! with the line and column of each problem.

use chrono::{DateTime, Duration, Utc};
use leadwatch_backtest::generate::{generate, generate_history, GeneratedLead, GeneratorOptions};
use leadwatch_backtest::{
    backtest, compare, parse_history, replay, replay_lead, write_history, BacktestOptions,
    HistoryRecord, LeadReplay, COLUMNS,
};
use leadwatch_core::assess::{assess, Action};
use leadwatch_core::contract::{Contract, DEFAULT_CONTRACT_TOML};

fn contract() -> Contract {
    Contract::default_contract().expect("the shipped contract is valid")
}

/// The shipped contract with the MQL total threshold raised from 60 to `min_total`.
fn stricter(min_total: u32) -> Contract {
    let text = DEFAULT_CONTRACT_TOML
        .replace(
            "act_now_min_total = 60",
            &format!("act_now_min_total = {min_total}"),
        )
        .replace("version = \"2026.11.1\"", "version = \"strict\"");
    assert_ne!(text, DEFAULT_CONTRACT_TOML, "the threshold line moved");
    Contract::parse(&text).expect("a valid stricter contract")
}

fn options(leads: usize, seed: u64) -> GeneratorOptions {
    GeneratorOptions {
        leads,
        seed,
        ..GeneratorOptions::default()
    }
}

fn csv_of(records: &[HistoryRecord]) -> Vec<u8> {
    let mut out = Vec::new();
    write_history(records, &mut out).expect("writing to memory");
    out
}

// ---------------------------------------------------------------------------------------
// The generator

#[test]
fn the_same_seed_gives_the_same_history_and_another_seed_another() {
    let c = contract();
    let a = csv_of(&generate_history(&c, &options(500, 42)));
    let b = csv_of(&generate_history(&c, &options(500, 42)));
    let other = csv_of(&generate_history(&c, &options(500, 43)));
    assert_eq!(a, b);
    assert_ne!(a, other);
    // Lead i does not depend on how many leads follow it.
    let longer = csv_of(&generate_history(&c, &options(800, 42)));
    assert!(longer.starts_with(&a));
}

#[test]
fn a_generated_history_survives_the_csv_round_trip() {
    let records = generate_history(&contract(), &options(1000, 7));
    let text = csv_of(&records);
    let header = String::from_utf8_lossy(&text)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(header, COLUMNS.join(","));
    let parsed = parse_history(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed, records);
}

#[test]
fn generated_leads_look_like_a_real_funnel() {
    let c = contract();
    let leads = generate(&c, &options(5000, 11));
    let n = leads.len() as f64;
    let sql_rate = leads.iter().filter(|l| l.record.sql).count() as f64 / n;
    assert!((0.05..0.30).contains(&sql_rate), "SQL rate {sql_rate}");
    let emails: std::collections::HashSet<&str> = leads
        .iter()
        .map(|l| l.record.profile.email.as_str())
        .collect();
    assert_eq!(emails.len(), leads.len(), "one lead per person");
    // Every signal type is one the contract knows, and times run over weeks.
    for l in &leads {
        for s in &l.record.signals {
            assert!(c.signal_type(&s.kind).is_some(), "{}", s.kind);
        }
        assert!(l.record.signals.is_sorted_by_key(|s| s.at));
    }
    let spans: Vec<i64> = leads
        .iter()
        .filter_map(|l| {
            Some((l.record.signals.last()?.at - l.record.signals.first()?.at).num_days())
        })
        .collect();
    assert!(
        spans.iter().any(|d| *d >= 21),
        "journeys of three weeks and more"
    );
    // Junk leads are there for the gates to catch.
    let r = backtest(
        &leads.iter().map(|l| l.record.clone()).collect::<Vec<_>>(),
        &c,
        &BacktestOptions::default(),
    );
    for gate in [
        "free_email_domain",
        "student",
        "vendor",
        "competitor",
        "serviceable_country",
        "employee_band",
        "persona",
        "disqualifying_signal",
    ] {
        assert!(
            r.disqualified_by_gate.get(gate).is_some_and(|n| *n > 0),
            "no lead failed {gate}: {:?}",
            r.disqualified_by_gate
        );
    }
    assert!(r.fast_lane_mqls > 0 && r.mqls > r.fast_lane_mqls);
}

#[test]
fn the_ground_truth_itself_is_monotone() {
    let leads = generate(&contract(), &options(20_000, 5));
    let rates: Vec<f64> = (0..5)
        .map(|quintile| {
            let lo = f64::from(quintile) / 5.0;
            let of: Vec<&GeneratedLead> = leads
                .iter()
                .filter(|l| l.quality >= lo && l.quality < lo + 0.2)
                .collect();
            of.iter().filter(|l| l.record.sql).count() as f64 / of.len() as f64
        })
        .collect();
    assert!(rates.windows(2).all(|w| w[0] < w[1]), "{rates:?}");
}

#[test]
fn calibration_is_monotone_on_generated_history() {
    let c = contract();
    for seed in [1, 3, 2026] {
        let records = generate_history(&c, &options(5000, seed));
        let r = backtest(&records, &c, &BacktestOptions::default());
        let cal = &r.calibration;
        assert_eq!(cal.band_width, 10);
        assert_eq!(cal.bands.len(), 10);
        assert!(
            cal.monotone && cal.inversions.is_empty(),
            "seed {seed}: {:?}",
            cal.inversions
        );
        let judged: Vec<_> = cal.bands.iter().filter(|b| !b.thin).collect();
        assert!(judged.len() >= 8, "seed {seed}: too few bands judged");
        let (first, last) = (judged[0], judged[judged.len() - 1]);
        let (low, high) = (first.sql_rate.unwrap_or(0.0), last.sql_rate.unwrap_or(0.0));
        assert!(high > 0.4 && low < 0.05, "seed {seed}: {low} .. {high}");
        // Every lead is counted once: in a band or among the disqualified.
        let banded: usize = cal.bands.iter().map(|b| b.leads).sum();
        assert_eq!(banded + cal.disqualified_leads, r.leads);
        let k = r.confusion;
        assert_eq!(
            k.true_positives + k.false_positives + k.false_negatives + k.true_negatives,
            r.leads
        );
    }
}

#[test]
fn an_inversion_is_reported_with_its_bands() {
    // Reverse the outcome: the best-scored leads now never convert.
    let c = contract();
    let mut records = generate_history(&c, &options(3000, 9));
    let replays = replay(&records, &c, None);
    for (r, rp) in records.iter_mut().zip(&replays) {
        r.sql = rp.score < 40.0 && rp.disqualified_by.is_none();
    }
    let result = backtest(&records, &c, &BacktestOptions::default());
    assert!(!result.calibration.monotone);
    let first = &result.calibration.inversions[0];
    assert_eq!(
        (first.lower.as_str(), first.higher.as_str()),
        ("30-40", "40-50")
    );
    assert_eq!(first.higher_rate, 0.0);
    assert!(!first.within_noise, "z = {}", first.z);
}

// ---------------------------------------------------------------------------------------
// Figures on a history worked out by hand

/// Fit 50: 250 employees (20) + SaaS (15) + director of revenue operations (15).
/// Fit 35: 250 employees (20) + manufacturing (5) + sales manager (10).
const HAND_MADE: &str = "\
email,title,employees,industry,country,signals,sql,rejection_reason
a@acme.io,Director of Revenue Operations,250,SaaS,US,demo_request@2026-11-02T10:00:00Z,true,
b@acme.io,Director of Revenue Operations,250,SaaS,US,pricing_page_visit@2026-11-02T10:00:00Z/200s; email_reply@2026-11-02T12:00:00Z/q,false,no_intent
c@acme.io,Director of Revenue Operations,250,SaaS,US,blog_view@2026-11-02T10:00:00Z; blog_view@2026-11-03T10:00:00Z,true,
d@gmail.com,Director of Revenue Operations,250,SaaS,US,demo_request@2026-11-02T10:00:00Z,false,
e@acme.io,Director of Revenue Operations,250,SaaS,US,,false,
f@acme.io,Sales Manager,250,Manufacturing,US,pricing_page_visit@2026-10-01T10:00:00Z; email_reply@2026-10-21T10:00:00Z/q,false,
g@acme.io,Sales Manager,250,Manufacturing,US,pricing_page_visit@2026-10-01T10:00:00Z; email_reply@2026-10-02T10:00:00Z/q,true,
h@acme.io,VP Sales,250,SaaS,US,contact_sales@2026-11-04T09:00:00Z,false,not_icp
";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 time")
}

#[test]
fn precision_and_recall_on_a_hand_made_history() {
    let records = parse_history(HAND_MADE.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let c = contract();
    let r = backtest(&records, &c, &BacktestOptions::default());
    // a: fast lane MQL, SQL (TP). b: MQL on the pricing page, rejected (FP).
    // c: blog views only, never an MQL but an SQL (FN). d: free mail (TN).
    // e: no signals (TN). f: the reply comes after the pricing visit left its 14-day
    // window, 35 + 20 = 55 (TN). g: the same a day apart, 35 + 7.25 + 20 = 62.25 (TP).
    // h: contact-sales form, fast lane, rejected (FP).
    assert_eq!(r.leads, 8);
    assert_eq!(r.sqls, 3);
    assert_eq!(r.mqls, 4);
    assert_eq!(r.fast_lane_mqls, 2);
    assert_eq!(r.fast_lane_sqls, 1);
    assert_eq!(r.disqualified, 1);
    assert_eq!(r.disqualified_by_gate.get("free_email_domain"), Some(&1));
    assert_eq!(
        (
            r.confusion.true_positives,
            r.confusion.false_positives,
            r.confusion.false_negatives,
            r.confusion.true_negatives
        ),
        (2, 2, 1, 3)
    );
    let close = |x: Option<f64>, y: f64| x.is_some_and(|x| (x - y).abs() < 1e-12);
    assert!(close(r.precision, 2.0 / 4.0), "{:?}", r.precision);
    assert!(close(r.recall, 2.0 / 3.0), "{:?}", r.recall);
    assert!(close(r.f1, 4.0 / 7.0), "{:?}", r.f1);
    assert_eq!(r.rejected_mqls_by_reason.get("no_intent"), Some(&1));
    assert_eq!(r.rejected_mqls_by_reason.get("not_icp"), Some(&1));
    // Seven leads are too few to judge calibration, and the result says so.
    assert_eq!(r.calibration.judged_bands, 0);

    let replays: Vec<LeadReplay> = records.iter().map(|x| replay_lead(x, &c)).collect();
    assert_eq!(replays[0].mql_at, Some(at("2026-11-02T10:00:00Z")));
    assert!(replays[0].fast_lane);
    // b qualifies on its first signal: 50 + 15.
    assert_eq!(replays[1].mql_at, Some(at("2026-11-02T10:00:00Z")));
    assert_eq!(replays[1].score, 80.0, "peak: fit 50 + intent capped at 30");
    // 50 + 1 + a day-old blog view decayed over its 7-day half-life.
    assert_eq!(replays[2].score, 51.91);
    assert_eq!(
        replays[3].disqualified_by.as_deref(),
        Some("free_email_domain")
    );
    assert_eq!(replays[4].score, 50.0);
    assert_eq!(replays[5].mql_at, None);
    assert_eq!(replays[5].score, 55.0);
    assert_eq!(replays[6].mql_at, Some(at("2026-10-02T10:00:00Z")));
    assert_eq!(replays[6].score, 62.25);
}

#[test]
fn a_stricter_threshold_gives_fewer_mqls_and_the_deltas_say_so() {
    let records = parse_history(HAND_MADE.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (contract(), stricter(70));
    let cmp = compare(&records, &a, &b, &BacktestOptions::default());
    // Only g (62.25) falls below 70; a and h are fast lane and b peaks at 80.
    assert_eq!((cmp.a.mqls, cmp.b.mqls), (4, 3));
    assert_eq!(cmp.delta.mqls, -1);
    assert_eq!(cmp.delta.true_positives, -1);
    assert_eq!(cmp.delta.false_negatives, 1);
    assert_eq!((cmp.only_a.leads, cmp.only_a.sqls), (1, 1));
    assert_eq!(cmp.only_b.leads, 0);
    assert_eq!(cmp.both, 3);
    let close = |x: Option<f64>, y: f64| x.is_some_and(|x| (x - y).abs() < 1e-12);
    assert!(
        close(cmp.delta.precision, 1.0 / 3.0 - 2.0 / 4.0),
        "{:?}",
        cmp.delta
    );
    assert!(
        close(cmp.delta.recall, 1.0 / 3.0 - 2.0 / 3.0),
        "{:?}",
        cmp.delta
    );

    // The same on a generated quarter: a higher bar never adds an MQL.
    let records = generate_history(&a, &options(5000, 21));
    let cmp = compare(&records, &a, &b, &BacktestOptions::default());
    assert!(cmp.b.mqls < cmp.a.mqls, "{} vs {}", cmp.b.mqls, cmp.a.mqls);
    assert_eq!(cmp.delta.mqls, cmp.b.mqls as i64 - cmp.a.mqls as i64);
    assert_eq!(cmp.only_b.leads, 0);
    assert_eq!(cmp.only_a.leads as i64, -cmp.delta.mqls);
    // The fast lane ignores the threshold, so a lead that no longer crosses it first
    // may still become an MQL later through a demo request: more fast-lane MQLs.
    assert!(cmp.delta.fast_lane_mqls >= 0, "{:?}", cmp.delta);
    assert!(
        cmp.delta.precision.is_some_and(|d| d > 0.0),
        "{:?}",
        cmp.delta
    );
    assert!(cmp.delta.recall.is_some_and(|d| d < 0.0), "{:?}", cmp.delta);
}

#[test]
fn the_example_strict_contract_differs_only_in_version_and_threshold() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/contract-strict.toml"
    );
    let text = std::fs::read_to_string(path).expect("examples/contract-strict.toml");
    let strict = Contract::parse(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(strict.spec.actions.act_now_min_total, 70);
    let mut spec = strict.spec.clone();
    spec.version = contract().spec.version.clone();
    spec.actions.act_now_min_total = contract().spec.actions.act_now_min_total;
    let json = |s: &leadwatch_core::contract::ContractSpec| {
        serde_json::to_value(s).expect("a contract serialises")
    };
    assert_eq!(
        json(&spec),
        json(&contract().spec),
        "examples/contract-strict.toml drifted from contract/contract.toml"
    );
}

// ---------------------------------------------------------------------------------------
// Replay

/// Assess at every distinct signal time with the whole history: the definition that the
/// windowed, early-stopping replay must match.
fn naive_replay(record: &HistoryRecord, c: &Contract) -> LeadReplay {
    let mut times: Vec<DateTime<Utc>> = record.signals.iter().map(|s| s.at).collect();
    times.sort();
    times.dedup();
    if times.is_empty() {
        // A lead without signals is judged once, when it was created.
        times.push(record.created_at.unwrap_or(DateTime::UNIX_EPOCH));
    }
    let (mut mql, mut peak) = (None, 0.0_f64);
    for t in times {
        let a = assess(&record.profile, &record.signals, c, t);
        match a.action {
            Action::Disqualify => {
                return LeadReplay {
                    mql_at: mql.map(|(t, _)| t),
                    fast_lane: mql.is_some_and(|(_, f)| f),
                    score: peak,
                    disqualified_by: mql.is_none().then(|| a.failed_gates[0].gate.clone()),
                }
            }
            Action::ActNow => {
                mql.get_or_insert((t, a.fast_lane));
                peak = peak.max(a.total);
            }
            Action::Nurture => peak = peak.max(a.total),
        }
    }
    LeadReplay {
        mql_at: mql.map(|(t, _)| t),
        fast_lane: mql.is_some_and(|(_, f)| f),
        score: peak,
        disqualified_by: None,
    }
}

#[test]
fn the_fast_replay_matches_the_definition() {
    let c = contract();
    let mut records = generate_history(&c, &options(2000, 13));
    // Long histories where the recency window matters: a lead reading for months.
    for r in records.iter_mut().take(50) {
        let extra: Vec<_> = r
            .signals
            .iter()
            .map(|s| leadwatch_core::lead::Signal {
                at: s.at - Duration::days(40),
                ..s.clone()
            })
            .collect();
        r.signals.splice(0..0, extra);
    }
    let fast = replay(&records, &c, Some(2));
    for (r, f) in records.iter().zip(&fast) {
        assert_eq!(f, &naive_replay(r, &c), "{}", r.profile.email);
    }
    assert_eq!(
        fast,
        replay(&records, &c, Some(1)),
        "threads change nothing"
    );
}

#[test]
fn unsorted_signals_are_replayed_in_time_order() {
    let mut records = parse_history(HAND_MADE.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let c = contract();
    let sorted = replay_lead(&records[6], &c);
    records[6].signals.reverse();
    assert_eq!(replay_lead(&records[6], &c), sorted);
}

#[test]
fn signal_types_the_contract_does_not_know_are_counted() {
    let text = "email,signals,sql\na@acme.io,webinar_atended@2026-11-02T10:00:00Z; blog_view@2026-11-02T11:00:00Z,false\n";
    let records = parse_history(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let r = backtest(&records, &contract(), &BacktestOptions::default());
    assert_eq!(r.unknown_signal_types.get("webinar_atended"), Some(&1));
    assert_eq!(r.unknown_signal_types.len(), 1);
}

// ---------------------------------------------------------------------------------------
// Bad files

fn problems(text: &str) -> Vec<String> {
    match parse_history(text.as_bytes()) {
        Ok(records) => panic!("accepted {} records", records.len()),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn each_bad_cell_is_named_by_line_and_column() {
    let text = "\
email,employees,signals,sql
ok@acme.io,250,,false
bad@acme.io,many,,false
x@acme.io,10,demo_request@soon,true
y@acme.io,10,,maybe
z@acme.io,10,false
,10,,false
w@acme.io,10,,
";
    let p = problems(text);
    let expected = [
        "line 3, column 2 (employees): \"many\" is not a whole number from 0 to 10000000",
        "line 4, column 3 (signals): signal 1 \"demo_request@soon\": \"soon\" is not an RFC 3339 time such as 2026-11-02T10:00:00Z",
        "line 5, column 4 (sql): \"maybe\" is not true or false (or yes/no, 1/0)",
        "line 6: has 3 cells, but the header has 4",
        "line 7, column 1 (email): is required",
        "line 8, column 4 (sql): is required: true if the lead became an SQL, else false",
    ];
    assert_eq!(p, expected);
}

#[test]
fn the_header_is_checked_first() {
    assert_eq!(
        problems("email,signals,sql,employes\na@b.io,,false,10\n"),
        vec![format!(
            "line 1, column 4 (employes): unknown column; the columns are {}",
            COLUMNS.join(", ")
        )]
    );
    assert_eq!(
        problems("email,signals\na@b.io,\n"),
        vec!["line 1: the required column \"sql\" is missing"]
    );
    assert_eq!(
        problems("email,signals,sql,sql\n"),
        vec!["line 1, column 4 (sql): column appears twice"]
    );
    assert!(problems("")[0].starts_with("line 1: the file is empty"));
    assert_eq!(
        problems("email,signals,sql\n"),
        vec!["line 2: no leads: the file has a header but no rows"]
    );
}

#[test]
fn lines_count_from_the_file_not_the_records() {
    // A quoted cell may span lines; the next row's problem names its real line.
    let text = "email,title,signals,sql\n\"a@b.io\",\"VP\nSales\",,false\nc@d.io,CTO,,perhaps\n";
    let p = problems(text);
    assert_eq!(
        p[0],
        "line 2, column 2 (title): contains control characters"
    );
    assert!(p[1].starts_with("line 4, column 4 (sql)"), "{p:?}");
}

#[test]
fn a_broken_file_lists_the_first_problems_and_counts_the_rest() {
    let mut text = String::from("email,signals,sql\n");
    for i in 0..25 {
        text.push_str(&format!("lead{i}@acme.io,,perhaps\n"));
    }
    let err = parse_history(text.as_bytes()).expect_err("all rows are bad");
    assert_eq!(err.problems.len(), 20);
    assert_eq!(err.more, 5);
    assert!(err.to_string().ends_with("... and 5 more problems"));
}

#[test]
fn spreadsheet_exports_parse() {
    // A byte-order mark, spaces around cells, yes/no booleans and upper-case email.
    let text = "\u{feff}email , signals , sql , abm_target , country\n  Ana@Acme.IO , demo_request@2026-11-02T10:00:00Z , yes , Y , us \n";
    let records = parse_history(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(records[0].profile.email, "ana@acme.io");
    assert_eq!(records[0].profile.country.as_deref(), Some("US"));
    assert!(records[0].sql && records[0].profile.abm_target);
}

#[test]
fn garbage_is_refused_without_a_panic() {
    for text in [
        &b"\xff\xfe\x00garbage"[..],
        b"email,signals,sql\n\"unterminated,x,y\n",
        b"email,signals,sql\na@b.io,;;;@@@/q/q;,true\n",
        b"email,signals,sql\na@b.io,x@2026-11-02T10:00:00Z/-5s,true\n",
        b"email,signals,sql\na@b.io,\xff@2026,true\n",
    ] {
        assert!(
            parse_history(text).is_err(),
            "{}",
            String::from_utf8_lossy(text)
        );
    }
}
