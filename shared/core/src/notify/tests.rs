//! Unit tests of reading alert documents, routing them and rendering their messages.

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};

use super::*;
use crate::alert::{contract_review_alert, sla_alert};
use crate::lead::{LeadProfile, Signal};
use crate::report::ContractReview;
use crate::sla::StepKind;
use crate::state::LeadState;

fn contract() -> Contract {
    Contract::default_contract().unwrap()
}

/// The breach alert of a fast-lane MQL for ae-na, as the watchdog publishes it.
fn breach_document(c: &Contract) -> Value {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap();
    let profile = LeadProfile {
        email: "zoe@northwind.io".into(),
        first_name: Some("Zoë".into()),
        last_name: Some("Quinn".into()),
        title: Some("VP Sales".into()),
        company: Some("Northwind".into()),
        employees: Some(250),
        country: Some("US".into()),
        source: Some("website".into()),
        ..Default::default()
    };
    let mut s = LeadState::new(
        crate::LeadIds::development().id_for("zoe@northwind.io"),
        profile,
        c,
        now,
    );
    let demo = Signal {
        kind: "demo_request".into(),
        at: now,
        seconds_on_page: None,
        question: true,
        detail: Some("Can we see it this week?".into()),
    };
    s.ingest(None, &[demo], c, now);
    let breach = s
        .sla
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .find(|st| st.kind == StepKind::Breach)
        .unwrap()
        .clone();
    sla_alert(&s, &breach, c, breach.at + Duration::minutes(5)).document
}

fn doc(value: &Value) -> AlertDocument {
    AlertDocument::parse(&value.to_string()).unwrap()
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// The strings Slack parses for links and mentions: all but `plain_text` objects'.
fn slack_parsed(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) if o.get("type") == Some(&json!("plain_text")) => {}
        Value::Object(o) => o.values().for_each(|x| slack_parsed(x, out)),
        Value::Array(a) => a.iter().for_each(|x| slack_parsed(x, out)),
        other => strings(other, out),
    }
}

#[test]
fn a_breach_goes_to_the_teams_manager_by_email_and_to_its_slack_channel() {
    let c = contract();
    let d = doc(&breach_document(&c));
    assert_eq!((d.kind.as_str(), d.team()), ("sla_breach", "ae-na"));
    let targets = targets(&c, &d);
    let keys: Vec<(ChannelKind, String)> = targets.iter().map(|t| (t.kind, t.key())).collect();
    assert_eq!(
        keys,
        vec![
            (
                ChannelKind::Email,
                "ae-na-manager#kim@seller.io".to_string()
            ),
            (ChannelKind::Slack, "ae-na-slack#ae-na-slack".to_string()),
        ]
    );
    assert_eq!(
        targets[1].webhook_parameter.as_deref(),
        Some("/leadwatch/webhooks/ae-na-slack")
    );
}

#[test]
fn each_channel_gets_the_alert_in_its_own_format() {
    let c = contract();
    let d = doc(&breach_document(&c));
    let Rendered::Email(mail) = render(ChannelKind::Email, &d, None) else {
        panic!("an email")
    };
    assert!(
        mail.subject
            .starts_with("[Leadwatch] SLA breach: Zoë Quinn (Northwind) was not accepted"),
        "{}",
        mail.subject
    );
    for expected in [
        "Team: ae-na",
        "Late by: 5 business minutes",
        "Who: Zoë Quinn, VP Sales at Northwind",
        "Opener:",
        "Can we see it this week?",
        "Open the lead: /leads/",
        &format!("Alert {}", d.alert_id),
    ] {
        assert!(
            mail.text.contains(expected),
            "{expected} in:\n{}",
            mail.text
        );
    }

    let Rendered::Webhook(slack) = render(ChannelKind::Slack, &d, None) else {
        panic!("a webhook body")
    };
    assert_eq!(slack["blocks"][0]["type"], "header");
    assert!(slack["text"].as_str().unwrap().starts_with("SLA breach: "));
    assert_eq!(slack["unfurl_links"], false);

    let Rendered::Webhook(teams) = render(ChannelKind::Teams, &d, None) else {
        panic!("a webhook body")
    };
    let card = &teams["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert!(card["content"]["body"][1]["facts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["title"] == "Team" && f["value"] == "ae-na"));
}

#[test]
fn links_become_buttons_only_on_the_configured_base_url() {
    let c = contract();
    let mut value = breach_document(&c);
    let Rendered::Webhook(slack) = render(
        ChannelKind::Slack,
        &doc(&value),
        Some("https://leads.example.com/"),
    ) else {
        panic!()
    };
    let actions = slack["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("buttons")
        .clone();
    let url = actions["elements"][0]["url"].as_str().unwrap();
    assert!(url.starts_with("https://leads.example.com/leads/"), "{url}");

    // A document cannot point a button elsewhere.
    value["links"] = json!({"lead": "https://evil.example/x", "accept": "//evil.example/y"});
    let Rendered::Webhook(slack) = render(
        ChannelKind::Slack,
        &doc(&value),
        Some("https://leads.example.com"),
    ) else {
        panic!()
    };
    let mut all = Vec::new();
    strings(&slack, &mut all);
    assert!(all.iter().all(|s| !s.contains("evil")), "{all:#?}");
}

#[test]
fn hostile_lead_text_stays_text_in_every_channel() {
    let c = contract();
    let mut value = breach_document(&c);
    let long = "x".repeat(10_000);
    value["packet"]["name"] = json!("<!channel> Zoë\u{1b}[2J\u{7}");
    value["packet"]["company"] =
        json!("[click](https://evil.example) & <https://evil.example|Acme>");
    value["packet"]["opener"] = json!(format!("line one\nline two\r\n{long}"));
    value["packet"]["evidence"][0]["detail"] = json!("*bold* _it_ `code` \u{0}");
    value["note"] = json!(long);
    let d = doc(&value);

    for kind in [ChannelKind::Email, ChannelKind::Slack, ChannelKind::Teams] {
        let rendered = render(kind, &d, None);
        let mut texts = Vec::new();
        match &rendered {
            Rendered::Email(m) => {
                texts.push(m.subject.clone());
                // Lines are the email's own; within a line there is no control character.
                texts.extend(m.text.lines().map(str::to_string));
            }
            Rendered::Webhook(v) if kind == ChannelKind::Slack => slack_parsed(v, &mut texts),
            Rendered::Webhook(v) => {
                // A card's fallback text is for clients that render no card: plain text.
                let mut card = v.clone();
                card["attachments"][0]["content"]["fallbackText"] = Value::Null;
                strings(&card, &mut texts)
            }
        }
        for t in &texts {
            assert!(
                !t.chars().any(|c| c.is_control() && c != '\n'),
                "{kind:?}: {t:?}"
            );
            assert!(
                t.chars().count() <= 2_000,
                "{kind:?}: {} chars",
                t.chars().count()
            );
        }
        let all = texts.join("\n");
        assert!(
            !all.contains(&"x".repeat(301)),
            "{kind:?}: a field was not capped"
        );
        match kind {
            ChannelKind::Slack => {
                assert!(!all.contains("<!channel>"), "{all}");
                assert!(!all.contains("<https://"), "{all}");
                assert!(all.contains("&lt;!channel&gt;"), "{all}");
            }
            ChannelKind::Teams => {
                assert!(!all.contains("[click](https"), "{all}");
                assert!(all.contains("\\[click\\]\\(https"), "{all}");
                assert!(all.contains("\\*bold\\*"), "{all}");
            }
            ChannelKind::Email => assert!(all.contains("<!channel> Zoë [2J"), "{all}"),
        }
    }
}

#[test]
fn a_contract_review_goes_to_revops_with_its_findings() {
    let c = contract();
    let review = ContractReview {
        month: "2026-10".into(),
        months: vec!["2026-09".into(), "2026-10".into()],
        findings: vec!["SLA met 80.0 % is below the target 90.0 %".into()],
    };
    let now = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
    let d = doc(&contract_review_alert(&review, &c, now).document);
    let targets = targets(&c, &d);
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].key(), "revops#revops@seller.io");
    let Rendered::Email(mail) = render(ChannelKind::Email, &d, None) else {
        panic!()
    };
    assert!(
        mail.subject
            .contains("Contract review: 2026.11.1 missed its targets in 2026-09 and 2026-10"),
        "{}",
        mail.subject
    );
    assert!(
        mail.text.contains("Findings:\n  SLA met 80.0 %"),
        "{}",
        mail.text
    );
}

#[test]
fn what_is_not_an_alert_document_is_refused_with_the_reason() {
    let c = contract();
    let good = breach_document(&c);
    assert!(matches!(
        AlertDocument::parse("not json"),
        Err(DocumentError::Unreadable(_))
    ));
    let mut v = good.clone();
    v["schema"] = json!("other.v9");
    assert_eq!(
        AlertDocument::parse(&v.to_string())
            .unwrap_err()
            .to_string(),
        "schema: \"other.v9\" is not leadwatch.alert.v1"
    );
    for (id, why) in [
        ("", "alert_id: is empty"),
        (
            "a\u{0}b",
            "alert_id: holds characters other than printable ASCII",
        ),
        (
            "a b",
            "alert_id: holds characters other than printable ASCII",
        ),
    ] {
        let mut v = good.clone();
        v["alert_id"] = json!(id);
        assert_eq!(
            AlertDocument::parse(&v.to_string())
                .unwrap_err()
                .to_string(),
            why
        );
    }
    let mut v = good;
    v["alert_id"] = json!("x".repeat(ALERT_ID_MAX + 1));
    assert_eq!(
        AlertDocument::parse(&v.to_string())
            .unwrap_err()
            .to_string(),
        "alert_id: is too long"
    );
}

#[test]
fn an_alert_no_route_takes_goes_nowhere() {
    let c = contract();
    let mut v = breach_document(&c);
    v["team"] = json!("unknown-team");
    assert!(targets(&c, &doc(&v)).is_empty());
}

#[test]
fn the_signed_lead_page_link_is_the_first_button_and_only_under_the_base() {
    let c = contract();
    let mut value = breach_document(&c);
    let page = "https://leads.example.com/app/leads/ld_1?link=v1.abc.def";
    value["links"]["page"] = json!(page);
    for kind in [ChannelKind::Slack, ChannelKind::Teams] {
        let Rendered::Webhook(message) =
            render(kind, &doc(&value), Some("https://leads.example.com"))
        else {
            panic!()
        };
        let mut all = Vec::new();
        strings(&message, &mut all);
        assert!(all.iter().any(|s| s == page), "{kind:?}: {message:#}");
    }
    let Rendered::Email(email) = render(
        ChannelKind::Email,
        &doc(&value),
        Some("https://leads.example.com"),
    ) else {
        panic!()
    };
    assert!(email.text.contains(page), "{}", email.text);

    // Another host, or no base to check it against: no page link.
    for (link, base) in [
        (
            "https://evil.example/app/leads/ld_1?link=x",
            Some("https://leads.example.com"),
        ),
        (
            "https://leads.example.com.evil.example/app/leads/ld_1",
            Some("https://leads.example.com"),
        ),
        (page, None),
    ] {
        value["links"]["page"] = json!(link);
        let Rendered::Webhook(slack) = render(ChannelKind::Slack, &doc(&value), base) else {
            panic!()
        };
        let mut all = Vec::new();
        strings(&slack, &mut all);
        assert!(
            all.iter().all(|s| !s.contains("/app/leads/")),
            "{link}: {all:#?}"
        );
    }
}
