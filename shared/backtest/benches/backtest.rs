//! How long a backtest of 50,000 synthetic leads takes.
//!
//!     cargo bench -p leadwatch-backtest --bench backtest
//!
//! Target: under 10 s for the whole replay of 50k leads on a 2-core machine, so that a
//! RevOps engineer can backtest a contract change on a quarter's leads while reviewing
//! it. The history is generated once, outside the measurement.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

use leadwatch_backtest::generate::{generate_history, GeneratorOptions};
use leadwatch_backtest::{backtest, parse_history, write_history, BacktestOptions};
use leadwatch_core::contract::Contract;

const LEADS: usize = 50_000;

fn bench(c: &mut Criterion) {
    let contract = Contract::default_contract().expect("the shipped contract is valid");
    let history = generate_history(
        &contract,
        &GeneratorOptions {
            leads: LEADS,
            seed: 2026,
            ..GeneratorOptions::default()
        },
    );
    let mut csv = Vec::new();
    write_history(&history, &mut csv).expect("writing to memory cannot fail");
    let options = BacktestOptions::default();
    let result = backtest(&history, &contract, &options);
    assert_eq!(result.leads, LEADS);
    assert!(
        result.calibration.monotone,
        "calibration on the generator's ground truth: {:?}",
        result.calibration.inversions
    );

    let mut group = c.benchmark_group("backtest 50k synthetic leads");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(25));
    group.bench_function("replay and summarise", |b| {
        b.iter(|| backtest(black_box(&history), black_box(&contract), &options))
    });
    group.bench_function("parse CSV, replay and summarise", |b| {
        b.iter(|| {
            let records = parse_history(black_box(&csv)).expect("the generated CSV parses");
            backtest(&records, black_box(&contract), &options)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
