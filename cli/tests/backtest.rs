//! `leadwatch history generate` and `leadwatch backtest`, run as an operator runs them:
//! generate a history, backtest it, compare two contracts, and refuse a bad file with
//! exit code 2 and the line and column of the problem.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;
use common::{leadwatch, stderr, stdout, Scratch};

fn repo_file(relative: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
        .to_str()
        .expect("a UTF-8 path")
        .to_string()
}

fn assert_ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "stderr:\n{}", stderr(o));
}

/// A generated history of `leads` leads, written by the binary into `dir`.
fn generated_history(dir: &Scratch, leads: usize, seed: u64) -> String {
    let path = dir.path(&format!("history-{leads}-{seed}.csv"));
    let o = leadwatch(&[
        "history",
        "generate",
        "--leads",
        &leads.to_string(),
        "--seed",
        &seed.to_string(),
        "--out",
        &path,
    ]);
    assert_ok(&o);
    assert!(o.stdout.is_empty(), "--out writes nothing to stdout");
    path
}

/// The number at the start of a labelled line of the table: `  MQLs     654  32.7 %`.
fn figure(text: &str, label: &str) -> i64 {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{text}"));
    line.trim_start()[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {label:?} in {line:?}"))
}

#[test]
fn generate_is_reproducible_and_writes_the_documented_header() {
    let dir = Scratch::new("generate");
    let first = std::fs::read(generated_history(&dir, 300, 9)).expect("the generated file");
    let again = leadwatch(&["history", "generate", "--leads", "300", "--seed", "9"]);
    assert_ok(&again);
    assert_eq!(again.stdout, first, "stdout and --out hold the same bytes");
    let other = leadwatch(&["history", "generate", "--leads", "300", "--seed", "10"]);
    assert_ne!(other.stdout, first);
    let text = String::from_utf8(first).expect("UTF-8 CSV");
    assert_eq!(
        text.lines().next(),
        Some("email,first_name,last_name,title,company,employees,industry,country,abm_target,source,campaign,created_at,signals,sql,rejection_reason")
    );
    assert_eq!(text.lines().count(), 301);
}

#[test]
fn backtest_prints_volume_calibration_and_precision() {
    let dir = Scratch::new("single");
    let history = generated_history(&dir, 2000, 7);
    let o = leadwatch(&["backtest", &history]);
    assert_ok(&o);
    let text = stdout(&o);
    assert!(
        text.starts_with(&format!(
            "Backtest of 2000 leads from {history} against contract 2026.11.1 (built-in)"
        )),
        "{text}"
    );
    assert_eq!(figure(&text, "leads"), 2000);
    let mqls = figure(&text, "MQLs");
    let tp = figure(&text, "MQL and SQL (true positives)");
    let fp = figure(&text, "MQL, no SQL (false positives)");
    let missed = figure(&text, "SQL, never MQL (missed)");
    let neither = figure(&text, "neither");
    assert_eq!(tp + fp, mqls);
    assert_eq!(tp + fp + missed + neither, 2000);
    assert_eq!(tp + missed, figure(&text, "SQLs (the outcome)"));
    for band in [
        "0-10", "10-20", "20-30", "30-40", "40-50", "50-60", "60-70", "70-80", "80-90", "90-100",
    ] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{band} "))),
            "band {band} missing:\n{text}"
        );
    }
    assert!(text.contains("monotone: yes"), "{text}");
    let precision = format!("{:.1} %", tp as f64 * 100.0 / mqls as f64);
    assert!(
        text.lines()
            .any(|l| l.contains("precision") && l.contains(&precision)),
        "precision {precision} not shown:\n{text}"
    );
}

#[test]
fn json_output_carries_the_same_figures() {
    let dir = Scratch::new("json");
    let history = generated_history(&dir, 1000, 3);
    let o = leadwatch(&["backtest", &history, "--json"]);
    assert_ok(&o);
    let doc: Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    let b = &doc["backtest"];
    assert_eq!(doc["contract"]["file"], "built-in");
    assert_eq!(b["leads"], 1000);
    let banded: u64 = b["calibration"]["bands"]
        .as_array()
        .expect("bands")
        .iter()
        .map(|band| band["leads"].as_u64().expect("leads"))
        .sum();
    assert_eq!(
        banded + b["calibration"]["disqualified_leads"].as_u64().expect("n"),
        1000
    );
    let tp = b["confusion"]["true_positives"].as_f64().expect("tp");
    let mqls = b["mqls"].as_f64().expect("mqls");
    assert_eq!(b["precision"].as_f64(), Some(tp / mqls));
}

#[test]
fn compare_shows_both_contracts_and_the_deltas() {
    let dir = Scratch::new("compare");
    let history = generated_history(&dir, 2000, 7);
    let strict = repo_file("examples/contract-strict.toml");
    let o = leadwatch(&["backtest", &history, "--compare", &strict]);
    assert_ok(&o);
    let text = stdout(&o);
    assert!(text.contains("A: contract 2026.11.1 (built-in)"), "{text}");
    assert!(
        text.contains(&format!("B: contract 2026.11.1-strict ({strict})")),
        "{text}"
    );
    // The MQLs row: A, B, B - A.
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("MQLs "))
        .unwrap_or_else(|| panic!("{text}"));
    let cells: Vec<i64> = row
        .split_whitespace()
        .skip(1)
        .map(|c| c.parse().expect("a count"))
        .collect();
    assert_eq!(cells.len(), 3, "{row}");
    assert!(
        cells[1] < cells[0],
        "the stricter contract makes fewer MQLs: {row}"
    );
    assert_eq!(cells[2], cells[1] - cells[0]);
    assert!(text.contains("MQL under B only:      0 leads"), "{text}");

    let o = leadwatch(&["backtest", &history, "--compare", &strict, "--json"]);
    assert_ok(&o);
    let doc: Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    let c = &doc["comparison"];
    assert_eq!(doc["b"]["version"], "2026.11.1-strict");
    assert_eq!(c["delta"]["mqls"].as_i64(), Some(cells[2]));
    assert_eq!(c["only_a"]["leads"].as_i64(), Some(-cells[2]));
    assert_eq!(c["only_b"]["leads"], 0);
    assert!(c["delta"]["precision"].as_f64().is_some_and(|d| d > 0.0));
}

#[test]
fn history_can_come_from_stdin() {
    let generated = leadwatch(&["history", "generate", "--leads", "50", "--seed", "2"]);
    assert_ok(&generated);
    let mut child = Command::new(env!("CARGO_BIN_EXE_leadwatch"))
        .args(["backtest", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the leadwatch binary runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("a stdin pipe");
        stdin
            .write_all(&generated.stdout)
            .expect("write the history");
    }
    let o = child.wait_with_output().expect("the backtest finishes");
    assert_ok(&o);
    assert!(stdout(&o).starts_with("Backtest of 50 leads from -"));
}

#[test]
fn a_bad_history_is_exit_2_with_the_line_and_column() {
    let dir = Scratch::new("bad");
    let bad = dir.write(
        "bad.csv",
        "email,employees,signals,sql\nok@acme.io,250,,false\nbad@acme.io,many,,false\nx@acme.io,10,demo_request@soon,true\n",
    );
    let o = leadwatch(&["backtest", &bad]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    assert!(!err.contains("panicked"), "{err}");
    for expected in [
        "bad.csv: invalid lead history",
        "line 3, column 2 (employees): \"many\" is not a whole number",
        "line 4, column 3 (signals): signal 1 \"demo_request@soon\"",
    ] {
        assert!(err.contains(expected), "{expected:?} missing from:\n{err}");
    }

    let unknown = dir.write("unknown.csv", "email,signals,sql,employes\n");
    let o = leadwatch(&["backtest", &unknown]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 1, column 4 (employes): unknown column"));

    let o = leadwatch(&["backtest", &dir.path("missing.csv")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.csv"));

    let binary = dir.write("binary.csv", "\u{0}\u{1}garbage\n");
    let o = leadwatch(&["backtest", &binary]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn bad_arguments_and_contracts_are_named() {
    let dir = Scratch::new("args");
    let history = generated_history(&dir, 20, 1);
    // Same codes as `leadwatch score`: an invalid contract is 1, a missing file 2.
    let broken = dir.write("broken.toml", "version = 1\n");
    let o = leadwatch(&["backtest", &history, "--compare", &broken]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("broken.toml: invalid contract"));
    let o = leadwatch(&["backtest", &history, "--contract", &dir.path("nope.toml")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nope.toml"));

    let o = leadwatch(&["history", "generate", "--leads", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--leads"));
    let o = leadwatch(&["history", "generate", "--start", "someday"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--start: \"someday\""));
    let o = leadwatch(&["backtest", &history, "--band-width", "0"]);
    assert_eq!(o.status.code(), Some(2));
}
