use leadwatch::domain::backtest::generate::*;
use leadwatch::domain::backtest::*;
use leadwatch::domain::contract::Contract;

#[test]
fn explore() {
    let c = Contract::default_contract().unwrap();
    let mut fails = 0;
    for seed in 1u64..=20 {
        let g = generate(
            &c,
            &GeneratorOptions {
                leads: 5000,
                seed,
                ..Default::default()
            },
        );
        let recs: Vec<_> = g.iter().map(|x| x.record.clone()).collect();
        let t = std::time::Instant::now();
        let reps = replay(&recs, &c, None);
        let el = t.elapsed();
        let r = summarise(&recs, &reps, &c, &BacktestOptions::default());
        if !r.calibration.monotone {
            fails += 1;
        }
        if seed <= 2 {
            eprintln!("{:?}", el);
            eprintln!(
                "leads {} sqls {} mqls {} fl {} disq {} {:?}",
                r.leads, r.sqls, r.mqls, r.fast_lane_mqls, r.disqualified, r.disqualified_by_gate
            );
            eprintln!("p {:?} r {:?} f1 {:?}", r.precision, r.recall, r.f1);
            let mut qs = vec![(0.0, 0.0, 0usize); 10];
            for (x, rp) in g.iter().zip(&reps) {
                if rp.disqualified_by.is_none() {
                    let i = ((rp.score / 10.0) as usize).min(9);
                    qs[i].0 += x.quality;
                    qs[i].1 += x.sql_probability;
                    qs[i].2 += 1;
                }
            }
            for (b, q) in r.calibration.bands.iter().zip(&qs) {
                eprintln!(
                    "{} {} {} {} {:.3} q={:.3} p={:.3}",
                    b.label(),
                    b.leads,
                    b.mqls,
                    b.sqls,
                    b.sql_rate.unwrap_or(0.0),
                    q.0 / q.2 as f64,
                    q.1 / q.2 as f64
                );
            }
            eprintln!(
                "disq {} {}",
                r.calibration.disqualified_leads, r.calibration.disqualified_sqls
            );
            eprintln!("{:?}", r.rejected_mqls_by_reason);
        }
        eprintln!(
            "seed {seed} monotone {} {:?}",
            r.calibration.monotone, r.calibration.inversions
        );
    }
    eprintln!("fails {fails}/20");
}
