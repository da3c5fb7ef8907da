//! The backtest and comparison reports as an operator reads them in a terminal: counts,
//! precision and recall, the calibration bands and what changed between two contracts.
//! Writing to a String cannot fail, so the `fmt::Result`s are ignored.

use std::fmt::Write as _;

use leadwatch_backtest::{BacktestResult, Band, Calibration, Comparison};

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |v| format!("{:.1} %", v * 100.0))
}

fn share(part: usize, whole: usize) -> String {
    if whole == 0 {
        "n/a".into()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / whole as f64)
    }
}

fn points(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".to_string(), |v| format!("{:+.1} pp", v * 100.0))
}

fn signed(n: i64) -> String {
    format!("{n:+}")
}

fn counts(map: &std::collections::BTreeMap<String, usize>) -> String {
    let mut items: Vec<(&String, &usize)> = map.iter().collect();
    items.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    items
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn monotone_word(c: &Calibration) -> &'static str {
    match (c.judged_bands >= 2, c.monotone) {
        (false, _) => "not judged",
        (true, true) => "yes",
        (true, false) => "no",
    }
}

pub(super) fn render(history: &str, source: &str, r: &BacktestResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Backtest of {} leads from {history} against contract {} ({source})",
        r.leads, r.contract_version
    );
    let _ = writeln!(out, "\nVolume");
    let _ = writeln!(out, "  leads                         {:>7}", r.leads);
    let _ = writeln!(
        out,
        "  disqualified by the gates     {:>7}  {:>7}",
        r.disqualified,
        share(r.disqualified, r.leads)
    );
    if !r.disqualified_by_gate.is_empty() {
        let _ = writeln!(out, "    by gate: {}", counts(&r.disqualified_by_gate));
    }
    let _ = writeln!(
        out,
        "  MQLs                          {:>7}  {:>7}",
        r.mqls,
        share(r.mqls, r.leads)
    );
    let _ = write!(
        out,
        "    of which fast lane          {:>7}",
        r.fast_lane_mqls
    );
    if r.fast_lane_mqls > 0 {
        let _ = write!(
            out,
            "  ({} of them became SQLs)",
            share(r.fast_lane_sqls, r.fast_lane_mqls)
        );
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "  SQLs (the outcome)            {:>7}  {:>7}",
        r.sqls,
        share(r.sqls, r.leads)
    );

    let _ = writeln!(
        out,
        "\nCalibration: SQL rate per score band (a lead's band is its peak score)"
    );
    let _ = writeln!(out, "  {BAND_HEADER}");
    for band in &r.calibration.bands {
        let _ = writeln!(out, "  {}", band_cells(band));
    }
    let c = &r.calibration;
    let _ = writeln!(
        out,
        "  {:<12} {:>7} {:>7} {:>7}  {:>8}",
        "gates failed",
        c.disqualified_leads,
        "-",
        c.disqualified_sqls,
        share(c.disqualified_sqls, c.disqualified_leads)
    );
    let _ = writeln!(out, "  {}", monotone_line(c));

    let k = &r.confusion;
    let _ = writeln!(out, "\nMQL decision against the SQL outcome");
    let _ = writeln!(
        out,
        "  MQL and SQL (true positives)      {:>7}",
        k.true_positives
    );
    let _ = writeln!(
        out,
        "  MQL, no SQL (false positives)     {:>7}",
        k.false_positives
    );
    let _ = writeln!(
        out,
        "  SQL, never MQL (missed)           {:>7}",
        k.false_negatives
    );
    let _ = writeln!(
        out,
        "  neither                           {:>7}",
        k.true_negatives
    );
    let _ = writeln!(
        out,
        "  precision  {:>7}  (share of MQLs that became SQLs)",
        pct(r.precision)
    );
    let _ = writeln!(
        out,
        "  recall     {:>7}  (share of SQLs the contract made MQLs)",
        pct(r.recall)
    );
    let _ = writeln!(out, "  F1         {:>7}", pct(r.f1));
    if !r.rejected_mqls_by_reason.is_empty() {
        let _ = writeln!(
            out,
            "\nMQLs sales rejected, by reason: {}",
            counts(&r.rejected_mqls_by_reason)
        );
    }
    unknown_types(&mut out, &r.contract_version, r);
    out.trim_end().to_string()
}

const BAND_HEADER: &str = "band           leads    MQLs    SQLs  SQL rate";

fn band_cells(b: &Band) -> String {
    format!(
        "{:<12} {:>7} {:>7} {:>7}  {:>8}{}",
        b.label(),
        b.leads,
        b.mqls,
        b.sqls,
        pct(b.sql_rate),
        if b.thin && b.leads > 0 {
            "  (few leads)"
        } else {
            ""
        }
    )
}

fn monotone_line(c: &Calibration) -> String {
    if c.judged_bands < 2 {
        return format!(
            "monotone: not judged (fewer than two bands with {} leads or more)",
            c.min_band_leads
        );
    }
    if c.monotone {
        return format!(
            "monotone: yes (a higher band never converts worse; bands under {} leads not judged)",
            c.min_band_leads
        );
    }
    let detail: Vec<String> = c
        .inversions
        .iter()
        .map(|i| {
            format!(
                "{} converts at {:.1} %, below {} at {:.1} %{}",
                i.higher,
                i.higher_rate * 100.0,
                i.lower,
                i.lower_rate * 100.0,
                if i.within_noise {
                    " (within noise)"
                } else {
                    ""
                }
            )
        })
        .collect();
    format!("monotone: NO: {}", detail.join("; "))
}

fn unknown_types(out: &mut String, version: &str, r: &BacktestResult) {
    if !r.unknown_signal_types.is_empty() {
        let _ = writeln!(
            out,
            "\nNote: signal types contract {version} does not know (they score nothing): {}",
            counts(&r.unknown_signal_types)
        );
    }
}

pub(super) fn render_comparison(history: &str, sources: (&str, &str), c: &Comparison) -> String {
    let (a, b, d) = (&c.a, &c.b, &c.delta);
    let mut out = String::new();
    let _ = writeln!(out, "Backtest of {} leads from {history}", a.leads);
    let _ = writeln!(out, "  A: contract {} ({})", a.contract_version, sources.0);
    let _ = writeln!(out, "  B: contract {} ({})", b.contract_version, sources.1);
    out.push('\n');
    let mut row = |name: &str, x: String, y: String, delta: String| {
        let line = format!("  {name:<30} {x:>10} {y:>10} {delta:>10}");
        let _ = writeln!(out, "{}", line.trim_end());
    };
    row("", "A".into(), "B".into(), "B - A".into());
    row(
        "leads",
        a.leads.to_string(),
        b.leads.to_string(),
        String::new(),
    );
    row(
        "SQLs (the outcome)",
        a.sqls.to_string(),
        b.sqls.to_string(),
        String::new(),
    );
    row(
        "disqualified by the gates",
        a.disqualified.to_string(),
        b.disqualified.to_string(),
        signed(d.disqualified),
    );
    row(
        "MQLs",
        a.mqls.to_string(),
        b.mqls.to_string(),
        signed(d.mqls),
    );
    row(
        "  of which fast lane",
        a.fast_lane_mqls.to_string(),
        b.fast_lane_mqls.to_string(),
        signed(d.fast_lane_mqls),
    );
    row(
        "MQL and SQL (true positives)",
        a.confusion.true_positives.to_string(),
        b.confusion.true_positives.to_string(),
        signed(d.true_positives),
    );
    row(
        "MQL, no SQL (false positives)",
        a.confusion.false_positives.to_string(),
        b.confusion.false_positives.to_string(),
        signed(d.false_positives),
    );
    row(
        "SQL, never MQL (missed)",
        a.confusion.false_negatives.to_string(),
        b.confusion.false_negatives.to_string(),
        signed(d.false_negatives),
    );
    row(
        "precision",
        pct(a.precision),
        pct(b.precision),
        points(d.precision),
    );
    row("recall", pct(a.recall), pct(b.recall), points(d.recall));
    row("F1", pct(a.f1), pct(b.f1), points(d.f1));
    row(
        "calibration monotone",
        monotone_word(&a.calibration).into(),
        monotone_word(&b.calibration).into(),
        String::new(),
    );
    let _ = writeln!(out);
    for (name, flip, meaning) in [
        ("A", c.only_a, "B would stop sending these to sales"),
        ("B", c.only_b, "B would add these"),
    ] {
        let _ = write!(out, "  MQL under {name} only: {:>6} leads", flip.leads);
        if flip.leads > 0 {
            let _ = write!(
                out,
                ", {} became SQLs ({}); {meaning}",
                flip.sqls,
                share(flip.sqls, flip.leads)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "  MQL under both:   {:>6} leads", c.both);

    let same_bands = a.calibration.bands.len() == b.calibration.bands.len()
        && a.calibration
            .bands
            .iter()
            .zip(&b.calibration.bands)
            .all(|(x, y)| x.low == y.low && x.high == y.high);
    let _ = writeln!(
        out,
        "\nCalibration: SQL rate per score band (a lead's band is its peak score)"
    );
    if same_bands {
        let _ = writeln!(
            out,
            "             A ---------------------------  B ---------------------------"
        );
        let _ = writeln!(
            out,
            "  band       leads   MQLs   SQLs  SQL rate    leads   MQLs   SQLs  SQL rate"
        );
        for (x, y) in a.calibration.bands.iter().zip(&b.calibration.bands) {
            let _ = writeln!(
                out,
                "  {:<8} {:>7} {:>6} {:>6}  {:>8}  {:>7} {:>6} {:>6}  {:>8}",
                x.label(),
                x.leads,
                x.mqls,
                x.sqls,
                pct(x.sql_rate),
                y.leads,
                y.mqls,
                y.sqls,
                pct(y.sql_rate)
            );
        }
    } else {
        for (name, r) in [("A", a), ("B", b)] {
            let _ = writeln!(out, "  {name}: {BAND_HEADER}");
            for band in &r.calibration.bands {
                let _ = writeln!(out, "     {}", band_cells(band));
            }
        }
    }
    let _ = writeln!(out, "  A {}", monotone_line(&a.calibration));
    let _ = writeln!(out, "  B {}", monotone_line(&b.calibration));
    for r in [a, b] {
        unknown_types(&mut out, &r.contract_version, r);
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_and_deltas() {
        assert_eq!(pct(Some(0.4123)), "41.2 %");
        assert_eq!(pct(None), "n/a");
        assert_eq!(points(Some(-0.111)), "-11.1 pp");
        assert_eq!(share(1, 0), "n/a");
        assert_eq!(signed(0), "+0");
    }
}
