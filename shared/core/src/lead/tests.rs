//! Unit tests of lead intake: JSON and form submissions, signal batches, every bad field
//! named, caps, the honeypot, lead ids and profile merging.

use super::*;
use crate::contract::Contract;
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

fn contract() -> Contract {
    Contract::default_contract().unwrap()
}

fn fields(errors: &[FieldError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

#[test]
fn lead_id_ignores_case_and_whitespace() {
    let ids = crate::LeadIds::development();
    assert_eq!(ids.id_for(" Ana@Acme.io "), ids.id_for("ana@acme.io"));
    assert_ne!(ids.id_for("ana@acme.io"), ids.id_for("bo@acme.io"));
    assert!(ids.id_for("ana@acme.io").starts_with("ld_"));
}

#[test]
fn valid_json_submission() {
    let body = br#"{"email":" Ana@Acme.io","title":"VP RevOps","employees":250,
            "country":"us","signals":[{"type":"pricing_page_visit","at":"2026-11-22T10:00:00Z","seconds_on_page":120}]}"#;
    let s = parse_lead_json(body, &contract(), now()).unwrap();
    assert_eq!(s.profile.email, "ana@acme.io");
    assert_eq!(s.profile.country.as_deref(), Some("US"));
    assert_eq!(s.signals.len(), 1);
    assert_eq!(s.signals[0].seconds_on_page, Some(120));
    assert!(!s.honeypot_filled);
}

#[test]
fn every_bad_field_is_named() {
    let body = br#"{"email":"not-an-email","employees":"many","country":"USA","abm_target":"yes",
            "nickname":"x","signals":[{"type":"telepathy"},{"type":"demo_request","at":"2027-01-01T00:00:00Z"},
            {"type":"pricing_page_visit","at":"yesterday"}]}"#;
    let errors = parse_lead_json(body, &contract(), now()).unwrap_err();
    let f = fields(&errors);
    for expected in [
        "email",
        "employees",
        "country",
        "abm_target",
        "nickname",
        "signals[0].type",
        "signals[1].at",
        "signals[2].at",
    ] {
        assert!(f.contains(&expected), "{expected} missing from {errors:?}");
    }
    let future = errors.iter().find(|e| e.field == "signals[1].at").unwrap();
    assert!(future.problem.contains("future"));
}

#[test]
fn missing_email_and_non_object_bodies() {
    let errors = parse_lead_json(br#"{"title":"CTO"}"#, &contract(), now()).unwrap_err();
    assert_eq!(errors, vec![FieldError::new("email", "is required")]);
    let errors = parse_lead_json(b"[1,2]", &contract(), now()).unwrap_err();
    assert_eq!(errors[0].field, "body");
    let errors = parse_lead_json(b"{\"email\":", &contract(), now()).unwrap_err();
    assert!(errors[0].problem.starts_with("is not valid JSON"));
    let errors = parse_lead_json(b"{\"email\":\"\xff\"}", &contract(), now()).unwrap_err();
    assert_eq!(errors[0].problem, "is not valid UTF-8");
}

#[test]
fn strings_over_their_cap_are_refused() {
    let long = "x".repeat(caps::COMPANY + 1);
    let body = format!(r#"{{"email":"a@b.co","company":"{long}"}}"#);
    let errors = parse_lead_json(body.as_bytes(), &contract(), now()).unwrap_err();
    assert_eq!(errors[0].field, "company");
    assert!(errors[0].problem.contains("longer than 200"));
}

#[test]
fn form_post_becomes_a_lead_with_one_signal() {
    let body = b"email=ana%40acme.io&first_name=Ana&employees=250&signal=demo_request&message=Do+you+integrate+with+Salesforce%3F&website_url=";
    let s = parse_lead_form(body, &contract(), now()).unwrap();
    assert_eq!(s.profile.email, "ana@acme.io");
    assert_eq!(s.profile.employees, Some(250));
    assert_eq!(s.signals.len(), 1);
    assert_eq!(s.signals[0].kind, "demo_request");
    assert!(s.signals[0].question);
    assert_eq!(s.signals[0].at, now());
    assert!(!s.honeypot_filled);
}

#[test]
fn form_errors_name_fields_and_honeypot_is_seen() {
    let errors = parse_lead_form(b"email=x&employees=lots", &contract(), now()).unwrap_err();
    assert_eq!(fields(&errors), vec!["email", "employees"]);
    let s = parse_lead_form(
        b"email=a%40b.co&website_url=http%3A%2F%2Fspam",
        &contract(),
        now(),
    )
    .unwrap();
    assert!(s.honeypot_filled);
}

#[test]
fn merge_keeps_what_the_newer_form_lacks() {
    let mut old = LeadProfile {
        email: "a@b.co".into(),
        title: Some("VP Sales".into()),
        ..Default::default()
    };
    let newer = LeadProfile {
        email: "a@b.co".into(),
        company: Some("Acme".into()),
        ..Default::default()
    };
    old.merge_from(&newer);
    assert_eq!(old.title.as_deref(), Some("VP Sales"));
    assert_eq!(old.company.as_deref(), Some("Acme"));
}

#[test]
fn signal_batch_requires_signals() {
    let errors = parse_signal_batch(b"{}", &contract(), now()).unwrap_err();
    assert_eq!(errors[0].field, "signals");
    let b = parse_signal_batch(
        br#"{"signals":[{"type":"email_reply","question":true,"detail":"pricing for 40 seats?"}],"submission_id":"s-1"}"#,
        &contract(),
        now(),
    )
    .unwrap();
    assert_eq!(b.submission_id.as_deref(), Some("s-1"));
    assert!(b.signals[0].question);
}
