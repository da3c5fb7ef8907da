//! Alert messages, built from a lead's state: a short subject, a readable text for
//! email, a JSON document with a stable schema for tools, and the attributes that SNS
//! subscription filter policies match on.
//!
//! JSON document (`schema: "leadwatch.alert.v1"`):
//!
//! | field | meaning |
//! |---|---|
//! | `alert_id` | `lead_id:kind:level` (`@cycle` appended for a lead's 2nd+ MQL cycle): dedupe on it |
//! | `kind` | `sla_warning`, `sla_breach`, `sla_escalation`, `sla_expired`, `returned_to_nurture`, `contract_review` |
//! | `level` | `0` warning, `1` breach, `2`, `2.1` (first repeat of level 2), ... |
//! | `audience`, `team` | who it is for; also message attributes |
//! | `lead_id`, `status`, `fit_tier`, `fast_lane` | the lead |
//! | `mql_at`, `due_at`, `sent_at` | RFC 3339 instants |
//! | `business_minutes_overdue` | business minutes past the deadline (0 before it) |
//! | `business_minutes_left` | business minutes until the deadline (0 after it) |
//! | `reason` | the rejection or return reason, where there is one |
//! | `packet` | the handoff packet |
//! | `links` | API paths to read, accept or reject the lead |

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use super::contract::Contract;
use super::packet::HandoffPacket;
use super::report::ContractReview;
use super::sla::{SlaStep, StepKind};
use super::state::LeadState;
use super::text::{clip, strip_hidden};

pub const SCHEMA: &str = "leadwatch.alert.v1";

/// SNS allows subjects under 100 ASCII characters without control characters.
const SUBJECT_CHARS: usize = 99;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertMessage {
    pub alert_id: String,
    pub kind: String,
    pub level: String,
    pub team: String,
    pub audience: String,
    pub fit_tier: u8,
    pub subject: String,
    pub text: String,
    pub document: Value,
}

/// The alert of one SLA step for an MQL.
pub fn sla_alert(
    state: &LeadState,
    step: &SlaStep,
    contract: &Contract,
    now: DateTime<Utc>,
) -> AlertMessage {
    let team = state.team.clone().unwrap_or_default();
    let kind = step.kind.alert_kind();
    let level = step.level_label();
    let due_at = state.sla.as_ref().map(|s| s.due_at);
    let calendar = contract.team_calendar(&team);
    let overdue = match (calendar, due_at) {
        (Some(cal), Some(due)) => cal.business_minutes_between(due, now),
        _ => 0,
    };
    let left = match (calendar, due_at) {
        (Some(cal), Some(due)) => cal.business_minutes_between(now, due),
        _ => 0,
    };
    let who = lead_line(state);
    let headline = match step.kind {
        StepKind::Warning => format!("SLA warning: {who} is due in {left} business min"),
        StepKind::Breach => format!("SLA breach: {who} was not accepted in time"),
        StepKind::Escalation => {
            format!("SLA escalation level {level}: {who} is {overdue} business min late")
        }
        StepKind::Expire => format!("SLA expired: {who} returned to nurture"),
    };
    let mut text = format!("{headline}\n\nTeam: {team}\nAudience: {}\n", step.audience);
    if let Some(due) = due_at {
        text.push_str(&format!("Due: {}\n", due.to_rfc3339()));
    }
    if overdue > 0 {
        text.push_str(&format!("Late by: {overdue} business minutes\n"));
    }
    text.push_str(&packet_text(state));
    let mut document = base_document(state, kind, &level, &step.audience, now);
    document["due_at"] = json!(due_at);
    document["business_minutes_overdue"] = json!(overdue);
    document["business_minutes_left"] = json!(left);
    if step.kind == StepKind::Expire {
        document["reason"] = json!(super::state::SLA_EXPIRED);
    }
    AlertMessage {
        alert_id: state.alert_id(kind, &level),
        kind: kind.to_string(),
        level,
        team,
        audience: step.audience.clone(),
        fit_tier: state.assessment.as_ref().map_or(3, |a| a.fit_tier),
        subject: subject(&format!("[Leadwatch] {headline}")),
        text,
        document,
    }
}

/// Marketing hears when sales sends a lead back, with the coded reason.
pub fn returned_to_nurture_alert(state: &LeadState, now: DateTime<Utc>) -> AlertMessage {
    let team = state.team.clone().unwrap_or_default();
    let reason = state
        .rejection
        .as_ref()
        .map(|r| r.reason.clone())
        .unwrap_or_default();
    let who = lead_line(state);
    let headline = format!("Returned to nurture: {who} ({reason})");
    let mut text = format!("{headline}\n\nRejected by team {team}");
    if let Some(r) = &state.rejection {
        text.push_str(&format!(
            " at {} by {}",
            r.at.to_rfc3339(),
            clip(&r.by, 100)
        ));
        if let Some(note) = &r.note {
            text.push_str(&format!("\nNote: {}", clip(note, 300)));
        }
    }
    text.push('\n');
    text.push_str(&packet_text(state));
    let mut document = base_document(state, "returned_to_nurture", "0", "marketing", now);
    document["reason"] = json!(reason);
    document["note"] = json!(state
        .rejection
        .as_ref()
        .and_then(|r| r.note.as_deref())
        .map(strip_hidden));
    AlertMessage {
        alert_id: state.alert_id("returned_to_nurture", "0"),
        kind: "returned_to_nurture".into(),
        level: "0".into(),
        team,
        audience: "marketing".into(),
        fit_tier: state.assessment.as_ref().map_or(3, |a| a.fit_tier),
        subject: subject(&format!("[Leadwatch] {headline}")),
        text,
        document,
    }
}

/// RevOps hears when the contract misses its targets month after month: the MQL
/// definition, the routing or the SLA needs a review. One per month (`alert_id`
/// `contract_review:<month>`), audience `revops`, no team.
pub fn contract_review_alert(
    review: &ContractReview,
    contract: &Contract,
    now: DateTime<Utc>,
) -> AlertMessage {
    let alert_id = format!("contract_review:{}", review.month);
    let headline = format!(
        "Contract review: {} missed its targets in {}",
        contract.version(),
        review.months.join(" and ")
    );
    let mut text = format!("{headline}\n\n");
    for f in &review.findings {
        text.push_str(&format!("- {f}\n"));
    }
    text.push_str(&format!(
        "\nReport: /reports/sla?from={}&to={}\n",
        review.months.first().map_or("", String::as_str),
        review.month
    ));
    let document = json!({
        "schema": SCHEMA,
        "alert_id": alert_id,
        "kind": "contract_review",
        "level": "0",
        "audience": "revops",
        "team": null,
        "month": review.month,
        "months": review.months,
        "findings": review.findings,
        "contract_version": contract.version(),
        "targets": contract.spec.targets,
        "sent_at": now,
        "links": {
            "report": format!(
                "/reports/sla?from={}&to={}",
                review.months.first().map_or("", String::as_str),
                review.month
            ),
        },
    });
    AlertMessage {
        alert_id,
        kind: "contract_review".into(),
        level: "0".into(),
        team: String::new(),
        audience: "revops".into(),
        fit_tier: 0,
        subject: subject(&format!("[Leadwatch] {headline}")),
        text,
        document,
    }
}

fn lead_line(state: &LeadState) -> String {
    let name = state
        .packet
        .as_ref()
        .map(|p| p.name.clone())
        .or_else(|| state.profile.full_name())
        .unwrap_or_else(|| state.lead_id.clone());
    match state.profile.company.as_deref() {
        Some(c) => clip(&format!("{name} ({c})"), 80),
        None => clip(&name, 80),
    }
}

fn packet_text(state: &LeadState) -> String {
    let Some(p) = state.packet.as_ref().map(HandoffPacket::display_safe) else {
        return String::new();
    };
    let mut t =
        format!(
        "\nWho: {}{} at {}\nWhy: {}\nScore: {} (fit {}, intent {}, readiness {}), fit tier {}\n",
        p.name,
        p.title.as_deref().map(|t| format!(", {t}")).unwrap_or_default(),
        p.company,
        p.context,
        p.pillars.total,
        p.pillars.fit,
        p.pillars.intent,
        p.pillars.readiness,
        p.fit_tier
    );
    t.push_str("Evidence:\n");
    for e in p.evidence.iter().take(5) {
        t.push_str(&format!(
            "  {} {}{}\n",
            e.at.format("%Y-%m-%d %H:%M UTC"),
            e.label,
            e.detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        ));
    }
    t.push_str(&format!(
        "Opener: {}\nNext step: {}\nRouting: {}\n",
        p.opener, p.next_step, p.routing_note
    ));
    t
}

fn base_document(
    state: &LeadState,
    kind: &str,
    level: &str,
    audience: &str,
    now: DateTime<Utc>,
) -> Value {
    let id = &state.lead_id;
    json!({
        "schema": SCHEMA,
        "alert_id": state.alert_id(kind, level),
        "kind": kind,
        "level": level,
        "audience": audience,
        "team": state.team,
        "lead_id": id,
        "status": state.status,
        "fit_tier": state.assessment.as_ref().map(|a| a.fit_tier),
        "fast_lane": state.assessment.as_ref().map(|a| a.fast_lane),
        "mql_at": state.mql_at,
        "sent_at": now,
        // Stored packets may predate intake's cleaning: show them cleaned.
        "packet": state.packet.as_ref().map(HandoffPacket::display_safe),
        "links": {
            "lead": format!("/leads/{id}"),
            "accept": format!("/leads/{id}/accept"),
            "reject": format!("/leads/{id}/reject"),
        },
    })
}

/// SNS subjects: ASCII, no control characters, under 100 characters.
fn subject(text: &str) -> String {
    let ascii: String = clip(text, SUBJECT_CHARS)
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect();
    ascii
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::{LeadProfile, Signal};
    use chrono::{Duration, TimeZone};

    fn mql() -> (LeadState, Contract) {
        let c = Contract::default_contract().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap();
        let profile = LeadProfile {
            email: "zoë@northwind.io".into(),
            first_name: Some("Zoë\u{7}\u{1b}[2J".into()),
            title: Some("VP Sales".into()),
            company: Some("Northwind".into()),
            employees: Some(250),
            country: Some("US".into()),
            source: Some("website".into()),
            ..Default::default()
        };
        let mut s = LeadState::new(
            crate::LeadIds::development().id_for(&profile.email),
            profile,
            &c,
            now,
        );
        let demo = Signal {
            kind: "demo_request".into(),
            at: now,
            seconds_on_page: None,
            question: true,
            detail: Some("line one\nline two\u{0}".into()),
        };
        s.ingest(None, &[demo], &c, now);
        (s, c)
    }

    #[test]
    fn breach_alert_has_id_attributes_and_safe_text() {
        let (s, c) = mql();
        let breach = s
            .sla
            .as_ref()
            .unwrap()
            .steps
            .iter()
            .find(|st| st.kind == StepKind::Breach)
            .unwrap()
            .clone();
        let later = breach.at + Duration::minutes(35);
        let a = sla_alert(&s, &breach, &c, later);
        assert_eq!(a.alert_id, format!("{}:sla_breach:1", s.lead_id));
        assert_eq!(
            (a.team.as_str(), a.audience.as_str(), a.level.as_str()),
            ("ae-na", "team-manager", "1")
        );
        assert_eq!(a.document["business_minutes_overdue"], 35);
        assert_eq!(a.document["schema"], SCHEMA);
        assert!(
            a.subject.is_ascii() && a.subject.len() < 100,
            "{}",
            a.subject
        );
        assert!(!a.subject.chars().any(|c| c.is_control()));
        assert!(
            !a.text.contains('\u{1b}') && !a.text.contains('\u{0}') && !a.text.contains('\u{7}'),
            "{}",
            a.text
        );
        assert!(a.text.contains("Late by: 35 business minutes"));
    }

    #[test]
    fn returned_to_nurture_alert_carries_the_reason() {
        let (mut s, c) = mql();
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 14, 10, 0).unwrap();
        s.reject("sam", "no_intent", Some("student project"), &c, now)
            .unwrap();
        let a = returned_to_nurture_alert(&s, now);
        assert_eq!(a.kind, "returned_to_nurture");
        assert_eq!(a.document["reason"], "no_intent");
        assert!(a.text.contains("Note: student project"));
    }

    /// A lead stored before intake dropped bidi controls: its profile, packet and
    /// rejection note still carry them, and the alerts must not.
    fn stored_before_the_fix() -> (LeadState, Contract) {
        let (mut s, c) = mql();
        let rlo = |text: &str| format!("\u{202E}{text}\u{202C}\u{200B}");
        s.profile.company = Some(rlo("Northwind"));
        s.profile.first_name = Some(rlo("Zoë"));
        let p = s.packet.as_mut().unwrap();
        p.name = rlo("Zoë");
        p.company = rlo("Northwind");
        p.title = Some(rlo("VP Sales"));
        p.context = rlo("asked for a demo");
        p.opener = rlo("Call +1 555-0100");
        p.evidence[0].detail = Some(rlo("+1 555-0100"));
        p.source = rlo("website");
        (s, c)
    }

    fn has_hidden(text: &str) -> bool {
        text.chars().any(crate::text::is_hidden_format)
    }

    #[test]
    fn alerts_drop_bidi_controls_from_stored_lead_text() {
        let (mut s, c) = stored_before_the_fix();
        let breach = s.sla.as_ref().unwrap().steps[1].clone();
        let a = sla_alert(&s, &breach, &c, breach.at);
        assert!(!has_hidden(&a.text), "{:?}", a.text);
        assert!(!has_hidden(&a.subject), "{:?}", a.subject);
        assert!(!has_hidden(&a.document.to_string()), "{}", a.document);
        assert!(a.text.contains("+1 555-0100"), "{}", a.text);
        assert_eq!(a.document["packet"]["company"], "Northwind");

        let now = Utc.with_ymd_and_hms(2026, 11, 23, 14, 10, 0).unwrap();
        s.reject("sam", "no_intent", Some("fine"), &c, now).unwrap();
        s.rejection.as_mut().unwrap().note = Some("\u{202E}call +1 555-0100".into());
        let a = returned_to_nurture_alert(&s, now);
        assert!(!has_hidden(&a.text), "{:?}", a.text);
        assert_eq!(a.document["note"], "call +1 555-0100");
        assert!(!has_hidden(&a.document.to_string()), "{}", a.document);
    }
}
