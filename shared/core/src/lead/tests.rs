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

/// Every invisible format character issue 13 names, and then some.
const HIDDEN: [char; 14] = [
    '\u{200B}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{FEFF}', '\u{00AD}',
];

#[test]
fn an_email_with_an_invisible_character_is_refused_naming_it() {
    let mut cases: Vec<String> = HIDDEN.iter().map(|c| format!("ana{c}@acme.io")).collect();
    // At either end (where trimming would not reach it), in the domain, and a joiner.
    cases.extend([
        "\u{FEFF}ana@acme.io".to_string(),
        "ana@acme.io\u{200B}".to_string(),
        "ana@ac\u{200B}me.io".to_string(),
        "ana\u{200D}@acme.io".to_string(),
        "ana@acme.io\u{E0041}".to_string(),
    ]);
    for email in cases {
        let body = serde_json::json!({ "email": email }).to_string();
        let errors = parse_lead_json(body.as_bytes(), &contract(), now()).unwrap_err();
        assert_eq!(fields(&errors), vec!["email"], "{email:?}");
        let hidden = email
            .chars()
            .find(|c| !c.is_ascii())
            .map(crate::text::code_point)
            .unwrap();
        assert!(
            errors[0].problem.contains(&hidden),
            "{hidden} not named in {errors:?}"
        );
    }
}

#[test]
fn invisible_characters_are_dropped_from_every_lead_text_at_intake() {
    for c in HIDDEN {
        let hostile = |text: &str| format!("{c}{text}{c}").replacen(' ', &format!(" {c}"), 1);
        let body = serde_json::json!({
            "email": "ana@acme.io",
            "first_name": hostile("Ana"), "last_name": hostile("Ruiz"),
            "title": hostile("VP RevOps"), "company": hostile("Acme Inc"),
            "industry": hostile("SaaS"), "country": hostile("us"),
            "source": hostile("web site"), "campaign": hostile("Q4 push"),
            "signals": [{"type": "email_reply", "detail": hostile("call +1 555-0100?")}],
        })
        .to_string();
        let s = parse_lead_json(body.as_bytes(), &contract(), now()).unwrap();
        let p = &s.profile;
        let texts = [
            p.first_name.as_deref(),
            p.last_name.as_deref(),
            p.title.as_deref(),
            p.company.as_deref(),
            p.industry.as_deref(),
            p.country.as_deref(),
            p.source.as_deref(),
            p.campaign.as_deref(),
            s.signals[0].detail.as_deref(),
        ];
        assert_eq!(
            texts,
            [
                Some("Ana"),
                Some("Ruiz"),
                Some("VP RevOps"),
                Some("Acme Inc"),
                Some("SaaS"),
                Some("US"),
                Some("web site"),
                Some("Q4 push"),
                Some("call +1 555-0100?")
            ],
            "{}",
            crate::text::code_point(c)
        );
    }
}

#[test]
fn a_form_message_loses_its_bidi_controls_too() {
    // %E2%80%AE is U+202E RIGHT-TO-LEFT OVERRIDE, %E2%80%AC U+202C POP.
    let body = b"email=ana%40acme.io&first_name=%E2%80%AEAna&signal=demo_request&message=%E2%80%AEcall+%2B1+555-0100%E2%80%AC";
    let s = parse_lead_form(body, &contract(), now()).unwrap();
    assert_eq!(s.profile.first_name.as_deref(), Some("Ana"));
    assert_eq!(s.signals[0].detail.as_deref(), Some("call +1 555-0100"));
}

#[test]
fn a_text_of_nothing_but_invisible_characters_is_absent() {
    let body = serde_json::json!({"email": "ana@acme.io", "company": "\u{200B}\u{202E}"});
    let s = parse_lead_json(body.to_string().as_bytes(), &contract(), now()).unwrap();
    assert_eq!(s.profile.company, None);
}

#[test]
fn a_submission_id_with_an_invisible_character_is_refused_not_changed() {
    let body = serde_json::json!({"email": "ana@acme.io", "submission_id": "form\u{200B}-1"});
    let errors = parse_lead_json(body.to_string().as_bytes(), &contract(), now()).unwrap_err();
    assert_eq!(fields(&errors), vec!["submission_id"]);
    assert!(errors[0].problem.contains("U+200B"), "{errors:?}");
}

#[test]
fn malformed_form_encoding_is_refused_naming_the_field() {
    for (body, field) in [
        (&b"email=ana%40acme.io&first_name=%E9"[..], "first_name"),
        (b"email=ana%40acme.io&company=%ZZ", "company"),
        (
            b"email=ana%40acme.io&signal=demo_request&message=50%",
            "message",
        ),
        (b"email=ana%40acme.io&na%ZZme=x", "body"),
    ] {
        let errors = parse_lead_form(body, &contract(), now()).unwrap_err();
        assert_eq!(
            fields(&errors),
            vec![field],
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn a_repeated_json_key_is_refused_in_leads_and_signal_batches() {
    let errors = parse_lead_json(
        br#"{"email":"ana@acme.io","email":"bo@acme.io"}"#,
        &contract(),
        now(),
    )
    .unwrap_err();
    assert_eq!(errors, vec![FieldError::new("email", DUPLICATE_KEY)]);
    let errors = parse_lead_json(
        br#"{"email":"ana@acme.io","signals":[{"type":"blog_view","type":"demo_request"}]}"#,
        &contract(),
        now(),
    )
    .unwrap_err();
    assert_eq!(fields(&errors), vec!["signals[0].type"]);
    let errors = parse_signal_batch(
        br#"{"signals":[{"type":"blog_view"}],"signals":[]}"#,
        &contract(),
        now(),
    )
    .unwrap_err();
    assert_eq!(fields(&errors), vec!["signals"]);
}

#[test]
fn the_honeypot_is_seen_through_a_repeated_key_or_a_broken_escape() {
    assert!(honeypot_in(
        br#"{"email":"a@b.co","email":"c@d.co","website_url":"http://spam"}"#,
        false
    ));
    assert!(honeypot_in(b"email=%E9&website_url=spam", true));
}

#[test]
fn an_unknown_key_is_named_clipped_and_visible() {
    let key = format!("\u{202E}{}", "k".repeat(5_000));
    let body = serde_json::json!({"email": "ana@acme.io", key: 1});
    let errors = parse_lead_json(body.to_string().as_bytes(), &contract(), now()).unwrap_err();
    assert_eq!(errors[0].problem, "unknown field");
    assert_eq!(errors[0].field.chars().count(), 100);
    assert!(
        errors[0].field.starts_with('k'),
        "{:?}",
        &errors[0].field[..10]
    );
}
