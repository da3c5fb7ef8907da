//! Unit tests of the lanes' rules: a public post is held to its form, a signed source to
//! its signal types, and the contract's `[intake]` section is validated by key.

use chrono::TimeZone;

use super::*;
use crate::contract::{ContractSpec, DEFAULT_CONTRACT_TOML};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

fn contract() -> Contract {
    Contract::default_contract().unwrap()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn named(errors: &[FieldError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

#[test]
fn a_demo_form_post_becomes_a_submission_with_the_forms_signal_and_source() {
    let post = pairs(&[
        ("form", "demo"),
        ("email", " Dana@Northwind.io "),
        ("title", "VP RevOps"),
        ("employees", "250"),
        ("message", "Can we see it this week?"),
        ("_charset_", "UTF-8"),
    ]);
    let p = parse_public(&post, &contract(), now()).unwrap();
    assert_eq!(p.form, "demo");
    let s = &p.submission;
    assert_eq!(s.profile.email, "dana@northwind.io");
    assert_eq!(s.profile.employees, Some(250));
    assert_eq!(s.profile.source.as_deref(), Some("website"));
    assert!(!s.profile.abm_target);
    assert_eq!(s.signals.len(), 1);
    assert_eq!(s.signals[0].kind, "demo_request", "the form's own signal");
    assert_eq!(s.signals[0].at, now(), "public posts cannot choose a time");
    assert!(s.signals[0].question);
    assert_eq!(
        s.signals[0].detail.as_deref(),
        Some("Can we see it this week?")
    );
}

#[test]
fn unlisted_fields_and_signal_types_are_named() {
    let c = contract();
    let post = pairs(&[
        ("form", "newsletter"),
        ("email", "a@b.io"),
        ("title", "CEO"),
        ("abm_target", "true"),
        ("source", "crm"),
        ("signal", "demo_request"),
    ]);
    let errors = parse_public(&post, &c, now()).unwrap_err();
    assert_eq!(
        named(&errors),
        vec!["title", "abm_target", "source", "signal"],
        "{errors:?}"
    );
    assert!(errors[0]
        .problem
        .contains("not a field of form \"newsletter\""));
    assert!(errors[1]
        .problem
        .contains("may not be set by a public form"));
    assert!(errors[3].problem.contains("not accepted by form"));

    let sales = pairs(&[
        ("form", "demo"),
        ("email", "a@b.io"),
        ("signal", "meeting_accepted"),
    ]);
    let errors = parse_public(&sales, &c, now()).unwrap_err();
    assert_eq!(named(&errors), vec!["signal"]);
    assert!(errors[0].problem.contains("sales-side"), "{errors:?}");

    for (post, problem) in [
        (pairs(&[("email", "a@b.io")]), "is required"),
        (
            pairs(&[("form", "nope"), ("email", "a@b.io")]),
            "unknown form",
        ),
    ] {
        let errors = parse_public(&post, &c, now()).unwrap_err();
        assert_eq!(named(&errors), vec!["form"]);
        assert!(errors[0].problem.contains(problem), "{errors:?}");
    }
}

#[test]
fn bad_values_are_named_in_the_forms_terms() {
    let long = "x".repeat(600);
    let post = pairs(&[
        ("form", "demo"),
        ("email", "not-an-email"),
        ("employees", "lots"),
        ("message", &long),
    ]);
    let errors = parse_public(&post, &contract(), now()).unwrap_err();
    let mut fields = named(&errors);
    fields.sort_unstable();
    assert_eq!(fields, vec!["email", "employees", "message"], "{errors:?}");
}

#[test]
fn json_values_become_form_fields_and_lists_are_still_judged() {
    let object = serde_json::json!({
        "form": "demo", "email": "a@b.io", "employees": 40, "abm_target": true,
        "title": null, "signals": [{"type": "meeting_accepted"}]
    });
    let fields = fields_of_json(object.as_object().unwrap());
    assert!(fields.contains(&("employees".into(), "40".into())));
    assert!(!fields.iter().any(|(k, _)| k == "title"));
    let errors = parse_public(&fields, &contract(), now()).unwrap_err();
    let mut names = named(&errors);
    names.sort_unstable();
    assert_eq!(names, vec!["abm_target", "signals"]);
}

#[test]
fn a_public_post_fills_only_what_is_empty() {
    let current = LeadProfile {
        email: "a@b.io".into(),
        title: Some("VP Sales".into()),
        company: None,
        abm_target: true,
        ..LeadProfile::default()
    };
    let newer = LeadProfile {
        email: "a@b.io".into(),
        title: Some("Intern".into()),
        company: Some("Acme".into()),
        abm_target: true,
        ..LeadProfile::default()
    };
    let fill = fill_only(&current, &newer);
    assert_eq!(fill.title, None, "an existing title is kept");
    assert_eq!(
        fill.company.as_deref(),
        Some("Acme"),
        "an empty field is filled"
    );
    assert!(!fill.abm_target);
    let mut merged = current.clone();
    merged.merge_from(&fill);
    assert_eq!(merged.title.as_deref(), Some("VP Sales"));
    assert!(merged.abm_target, "never unset either");
}

#[test]
fn one_submission_one_digest_and_buckets_overlap() {
    let c = contract();
    let post = pairs(&[("form", "demo"), ("email", "a@b.io"), ("message", "hi")]);
    let a = parse_public(&post, &c, now()).unwrap();
    let later = parse_public(&post, &c, now() + chrono::Duration::seconds(30)).unwrap();
    let d = dedupe_digest("ld_1", "demo", &a.submission);
    assert_eq!(
        d,
        dedupe_digest("ld_1", "demo", &later.submission),
        "time is not content"
    );
    let other = parse_public(
        &pairs(&[("form", "demo"), ("email", "a@b.io"), ("message", "hello")]),
        &c,
        now(),
    )
    .unwrap();
    assert_ne!(d, dedupe_digest("ld_1", "demo", &other.submission));
    assert_ne!(d, dedupe_digest("ld_2", "demo", &a.submission));
    // A repeat in the next bucket finds the first post under its previous-bucket key.
    let first = dedupe_keys(&d, now());
    let next = dedupe_keys(&d, now() + chrono::Duration::seconds(DEDUPE_WINDOW_SECONDS));
    assert_eq!(next[1], first[0]);
    let ids = LeadIds::development();
    assert_eq!(receipt_for(&ids, &d), receipt_for(&ids, &d));
    assert!(receipt_for(&ids, &d).starts_with("rcpt_"));
}

#[test]
fn sources_send_only_their_signal_types() {
    let c = contract();
    let signal = |kind: &str| Signal {
        kind: kind.into(),
        at: now(),
        seconds_on_page: None,
        question: false,
        detail: None,
    };
    let batch = [signal("email_click"), signal("meeting_accepted")];
    assert!(check_source_signals(&c, "crm", &batch).is_empty());
    let errors = check_source_signals(&c, "marketing", &batch);
    assert_eq!(named(&errors), vec!["signals[1].type"]);
    assert!(errors[0].problem.contains("sales-side"), "{errors:?}");
    assert_eq!(
        named(&check_source_signals(&c, "nobody", &batch)),
        vec!["source"]
    );
}

#[test]
fn the_intake_section_is_validated_by_key() {
    let mut spec: ContractSpec = toml::from_str(DEFAULT_CONTRACT_TOML).unwrap();
    let intake = &mut spec.intake;
    intake.cors_origins.push("https://x.example/".into());
    intake.cors_origins.push("*".into());
    intake.sales_signals.push("telepathy".into());
    let demo = intake.forms.get_mut("demo").unwrap();
    demo.fields.push("abm_target".into());
    demo.fields.push("shoe_size".into());
    demo.signals.push("meeting_accepted".into());
    demo.thank_you_url = Some("javascript:alert(1)".into());
    let newsletter = intake.forms.get_mut("newsletter").unwrap();
    newsletter.fields.retain(|f| f != "email");
    newsletter.fields.push("message".into());
    intake
        .sources
        .get_mut("marketing")
        .unwrap()
        .signals
        .push("budget_acknowledged".into());
    let text = Contract::validate(spec).unwrap_err().to_string();
    for expected in [
        "intake.cors_origins[1]: \"https://x.example/\" is not an origin",
        "intake.cors_origins[2]: \"*\"",
        "intake.sales_signals[4]: unknown signal type \"telepathy\"",
        "intake.forms.demo.fields[10]: \"abm_target\" is set by sales",
        "intake.forms.demo.fields[11]: unknown field \"shoe_size\"",
        "intake.forms.demo.signals[1]: \"meeting_accepted\" is a sales-side signal",
        "intake.forms.demo.thank_you_url: must be an absolute http(s) URL",
        "intake.forms.newsletter.fields: must include \"email\"",
        "intake.forms.newsletter.fields: \"message\" is the detail",
        "intake.sources.marketing.signals[13]: \"budget_acknowledged\" is a sales-side signal",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}
