//! The real `leadwatch` binary, run as an operator runs it: exit codes, what goes to
//! stdout and stderr, and that bad input is a clear message, never a panic.
//!
//! Exit codes: 0 success, 1 invalid contract, 2 bad input (lead file, arguments).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, Utc};
use leadwatch_core::assess::assess;
use leadwatch_core::contract::Contract;
use leadwatch_core::explain::render;
use leadwatch_core::lead::parse_lead_json;

mod common;
use common::{leadwatch, stderr, stdout, Scratch};

const AT: &str = "2026-11-23T15:00:00Z";

fn shipped_contract() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../contract/contract.toml")
}

/// Exit code 2, the message names what is wrong, nothing on stdout, no panic.
fn assert_input_error(o: &Output, names: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(o.stdout.is_empty(), "stdout: {}", stdout(o));
    for name in names {
        assert!(err.contains(name), "{name:?} missing from:\n{err}");
    }
}

const DIRECTOR: &str = r#"{
  "email": "Dana.Ortiz@Ledgerly.co.uk",
  "first_name": "Dana",
  "last_name": "Ortiz",
  "title": "Director of Sales Operations",
  "company": "Ledgerly",
  "employees": 120,
  "industry": "Fintech",
  "country": "GB",
  "source": "linkedin",
  "signals": [
    {"type": "pricing_page_visit", "at": "2026-11-21T15:00:00Z", "seconds_on_page": 120},
    {"type": "pricing_page_visit", "at": "2026-11-19T15:00:00Z", "seconds_on_page": 45},
    {"type": "linkedin_reply", "at": "2026-11-22T15:00:00Z", "detail": "Thanks, forwarding this to our CRO"}
  ]
}"#;

// --- contract check -------------------------------------------------------------------

#[test]
fn contract_check_accepts_the_shipped_contract() {
    let text = std::fs::read_to_string(shipped_contract()).unwrap();
    let version = Contract::parse(&text).unwrap().version().to_string();
    let path = shipped_contract();
    for args in [
        vec!["contract", "check", path.to_str().unwrap()],
        vec!["contract", "check"],
    ] {
        let o = leadwatch(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let out = stdout(&o);
        assert!(
            out.contains(&format!("contract {version} is valid")),
            "{args:?}: {out}"
        );
    }
}

#[test]
fn contract_check_lists_every_problem_with_its_key() {
    let scratch = Scratch::new("broken-contract");
    let shipped = std::fs::read_to_string(shipped_contract()).unwrap();
    let mut broken = shipped.clone();
    for (from, to) in [
        // Pricing page points above the intent cap of 30.
        (
            "[signals.pricing_page_visit]\nlabel = \"pricing page\"\npillar = \"intent\"\nclass = \"behavioural\"\npoints = 8\n",
            "[signals.pricing_page_visit]\nlabel = \"pricing page\"\npillar = \"intent\"\nclass = \"behavioural\"\npoints = 40\n",
        ),
        // A routing rule to a team that does not exist.
        ("name = \"EMEA\"\nregions = [\"emea\"]\nteam = \"sdr-emea\"", "name = \"EMEA\"\nregions = [\"emea\"]\nteam = \"sdr-atlantis\""),
        // A time zone that does not exist.
        ("time_zone = \"Europe/London\"", "time_zone = \"Europe/Atlantis\""),
    ] {
        assert!(broken.contains(from), "the shipped contract changed: {from:?} not found");
        broken = broken.replacen(from, to, 1);
    }
    let path = scratch.write("contract.toml", &broken);

    let o = leadwatch(&["contract", "check", &path]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "stderr:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    assert!(err.contains(&path), "names the file:\n{err}");
    for expected in [
        "signals.pricing_page_visit.points: 40 exceeds the intent cap 30",
        "signals.pricing_page_visit.strong_points: 15 is below points 40",
        "routing[4].team: unknown team \"sdr-atlantis\"",
        "calendars.london.time_zone: unknown time zone \"Europe/Atlantis\"",
    ] {
        assert!(err.contains(expected), "{expected:?} missing from:\n{err}");
    }
    // One line per problem after the header, nothing else.
    let problems: Vec<&str> = err.lines().skip(1).filter(|l| !l.is_empty()).collect();
    assert_eq!(problems.len(), 4, "{err}");

    // `score` refuses to work with it, with the same exit code.
    let lead = scratch.write("lead.json", DIRECTOR);
    let o = leadwatch(&["score", "--at", AT, "--contract", &path, &lead]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("calendars.london.time_zone"));
}

#[test]
fn contract_check_reports_syntax_errors_and_missing_files() {
    let scratch = Scratch::new("syntax-contract");
    let shipped = std::fs::read_to_string(shipped_contract()).unwrap();
    let bad = shipped.replacen("[pillars]\nfit = 50", "[pillars]\nfit = \"fifty\"", 1);
    assert_ne!(bad, shipped, "the shipped contract changed");
    let path = scratch.write("contract.toml", &bad);
    let o = leadwatch(&["contract", "check", &path]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("fit") && err.contains("fifty"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let missing = scratch.path("no-such-contract.toml");
    let o = leadwatch(&["contract", "check", &missing]);
    assert_input_error(&o, &["no-such-contract.toml"]);
}

// --- score ----------------------------------------------------------------------------

#[test]
fn score_prints_the_explanation() {
    let scratch = Scratch::new("score");
    let lead = scratch.write("director.json", DIRECTOR);
    let o = leadwatch(&["score", "--at", AT, &lead]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stderr.is_empty(), "{}", stderr(&o));

    // The same lead through the library gives the same text, after one line naming it.
    let contract = Contract::default_contract().unwrap();
    let at: DateTime<Utc> = AT.parse().unwrap();
    let submission = parse_lead_json(DIRECTOR.as_bytes(), &contract, at).unwrap();
    let assessment = assess(&submission.profile, &submission.signals, &contract, at);
    let expected = format!(
        "Lead:      dana.ortiz@ledgerly.co.uk ({})\n{}\n",
        leadwatch_e2e::lead_id("dana.ortiz@ledgerly.co.uk"),
        render(&assessment)
    );
    assert_eq!(stdout(&o), expected);

    let out = stdout(&o);
    assert!(out.contains("Decision:  ACT NOW (MQL)\n"), "{out}");
    assert!(out.contains("Route:     sdr-emea"), "{out}");
    assert!(
        out.contains("Contract:  2026.11.1 at 2026-11-23T15:00:00Z"),
        "{out}"
    );
}

#[test]
fn score_json_is_parseable() {
    let scratch = Scratch::new("score-json");
    let lead = scratch.write("director.json", DIRECTOR);
    let o = leadwatch(&["score", "--json", "--at", AT, &lead]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
    assert_eq!(doc["assessment"]["action"], "act_now", "{doc:#}");
    assert_eq!(doc["assessment"]["fast_lane"], false);
    assert_eq!(doc["assessment"]["route"]["team"], "sdr-emea");
    assert_eq!(doc["assessment"]["assessed_at"], AT);
    assert_eq!(
        doc["lead_id"],
        leadwatch_e2e::lead_id("dana.ortiz@ledgerly.co.uk").as_str()
    );

    // Exactly the library's assessment, serialised.
    let contract = Contract::default_contract().unwrap();
    let at: DateTime<Utc> = AT.parse().unwrap();
    let submission = parse_lead_json(DIRECTOR.as_bytes(), &contract, at).unwrap();
    let assessment = assess(&submission.profile, &submission.signals, &contract, at);
    assert_eq!(
        doc["assessment"],
        serde_json::to_value(&assessment).unwrap()
    );
}

#[test]
fn score_rejects_bad_input_by_name() {
    let scratch = Scratch::new("bad-input");
    let cases: [(&str, &str, &[&str]); 6] = [
        (
            "malformed.json",
            "{\"email\": \"ana@acme.io\",",
            &["body", "not valid JSON"],
        ),
        (
            "not-an-object.json",
            "[1, 2, 3]",
            &["body", "must be a JSON object"],
        ),
        (
            "no-email.json",
            "{\"title\": \"CTO\"}",
            &["email: is required"],
        ),
        (
            "unknown-signal.json",
            r#"{"email": "ana@acme.io", "signals": [{"type": "telepathy"}]}"#,
            &["signals[0].type", "telepathy"],
        ),
        (
            "many-problems.json",
            r#"{"email": "ana@acme.io", "employees": "lots", "signals": [
                {"type": "demo_request", "at": "yesterday"},
                {"type": "pricing_page_visit", "seconds_on_page": -4}]}"#,
            &["employees", "signals[0].at", "signals[1].seconds_on_page"],
        ),
        ("binary.json", "\u{0}\u{1}\u{2}", &["body"]),
    ];
    for (file, body, names) in cases {
        let path = scratch.write(file, body);
        let o = leadwatch(&["score", "--at", AT, &path]);
        assert_input_error(&o, names);
        assert!(stderr(&o).contains(file), "names the file: {}", stderr(&o));
        let o = leadwatch(&["score", "--json", "--at", AT, &path]);
        assert_input_error(&o, names);
    }
}

#[test]
fn score_rejects_a_missing_file() {
    let scratch = Scratch::new("missing");
    let missing = scratch.path("no-such-lead.json");
    let o = leadwatch(&["score", "--at", AT, &missing]);
    assert_input_error(&o, &["no-such-lead.json"]);
}

#[test]
fn score_rejects_a_bad_at() {
    let scratch = Scratch::new("bad-at");
    let lead = scratch.write("director.json", DIRECTOR);
    for at in ["yesterday", "2026-11-23", "2026-13-45T25:61:00Z", ""] {
        let o = leadwatch(&["score", "--at", at, &lead]);
        assert_input_error(&o, &["--at", "RFC 3339"]);
    }
}

#[test]
fn unknown_commands_are_usage_errors() {
    let o = leadwatch(&["contract", "sign"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
    let o = leadwatch(&["score"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("<LEAD>"), "{}", stderr(&o));
}

#[test]
fn a_reader_that_goes_away_is_not_a_panic() {
    // `leadwatch score --json lead.json | head -1`: the pipe closes before we write.
    let lead = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/director-pricing.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_leadwatch"))
        .args(["score", "--json", "--at", "2026-11-23T15:00:00Z"])
        .arg(&lead)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "{:?} {err}", out.status);
}
