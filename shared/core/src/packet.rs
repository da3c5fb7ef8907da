//! The handoff packet: what an SDR needs to act on an MQL without opening five tools.
//! Built at promotion; a packet missing a mandatory field blocks the promotion and
//! names the field, because an MQL nobody can act on is worse than none.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::assess::Assessment;
use super::contract::{Contract, Pillar};
use super::lead::{LeadProfile, Signal};
use super::text::{clip, strip_hidden};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub at: DateTime<Utc>,
    pub signal: String,
    pub label: String,
    pub points: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PillarBreakdown {
    pub fit: f64,
    pub intent: f64,
    pub readiness: f64,
    pub total: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoffPacket {
    pub lead_id: String,
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub company: String,
    /// One line: who, and what triggered the MQL.
    pub context: String,
    /// Newest first.
    pub evidence: Vec<Evidence>,
    pub pillars: PillarBreakdown,
    pub fit_tier: u8,
    pub top_reasons: Vec<String>,
    pub opener: String,
    pub next_step: String,
    pub routing_note: String,
    pub team: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    pub last_touch: DateTime<Utc>,
    pub fast_lane: bool,
    pub contract_version: String,
}

impl HandoffPacket {
    /// The packet as alerts show it: every text without hidden format characters (bidi
    /// controls, zero-width spaces). Packets built now are clean already; a packet stored
    /// before lead text was cleaned at intake may not be, and it is shown the same way.
    pub fn display_safe(&self) -> HandoffPacket {
        fn clean(text: &mut String) {
            if let std::borrow::Cow::Owned(visible) = strip_hidden(text) {
                *text = visible;
            }
        }
        let mut p = self.clone();
        for text in [
            &mut p.lead_id,
            &mut p.name,
            &mut p.email,
            &mut p.company,
            &mut p.context,
            &mut p.opener,
            &mut p.next_step,
            &mut p.routing_note,
            &mut p.team,
            &mut p.source,
            &mut p.contract_version,
        ] {
            clean(text);
        }
        for text in [&mut p.title, &mut p.campaign].into_iter().flatten() {
            clean(text);
        }
        p.top_reasons.iter_mut().for_each(clean);
        for e in &mut p.evidence {
            clean(&mut e.signal);
            clean(&mut e.label);
            if let Some(d) = &mut e.detail {
                clean(d);
            }
        }
        p
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the handoff packet is missing {field}")]
pub struct MissingField {
    pub field: &'static str,
}

/// Free text from the lead is clipped before it goes into a packet.
const DETAIL_CHARS: usize = 160;

/// Build the packet for an assessment that says `act_now`.
pub fn build_packet(
    lead_id: &str,
    lead: &LeadProfile,
    signals: &[Signal],
    assessment: &Assessment,
    contract: &Contract,
) -> Result<HandoffPacket, MissingField> {
    let name = lead.full_name().ok_or(MissingField { field: "name" })?;
    let company = lead
        .company
        .clone()
        .ok_or(MissingField { field: "company" })?;
    let source = lead
        .source
        .clone()
        .ok_or(MissingField { field: "source" })?;
    let route = assessment
        .route
        .as_ref()
        .ok_or(MissingField { field: "route" })?;

    let mut evidence: Vec<Evidence> = assessment
        .reasons
        .iter()
        .filter_map(|r| {
            Some(Evidence {
                at: r.at?,
                signal: r.source.clone(),
                label: r.label.clone(),
                points: r.points,
                detail: r.detail.as_deref().map(|d| clip(d, DETAIL_CHARS)),
            })
        })
        .collect();
    if evidence.is_empty() {
        return Err(MissingField { field: "evidence" });
    }
    evidence.sort_by_key(|e| std::cmp::Reverse(e.at));

    let strongest = assessment.strongest_intent();
    let strongest_type = strongest.and_then(|r| contract.signal_type(&r.source));
    let opener = strongest_type
        .and_then(|t| t.opener.as_deref())
        .map(|template| {
            let detail = strongest
                .and_then(|r| r.detail.as_deref())
                .map(|d| format!(" (\"{}\")", clip(d, 80)))
                .unwrap_or_default();
            template.replace("{detail}", &detail)
        })
        .ok_or(MissingField { field: "opener" })?;
    let next_step = strongest_type
        .and_then(|t| t.next_step.clone())
        .unwrap_or_else(|| "Call within the SLA and qualify need, timeline and budget.".into());

    let mut top: Vec<&super::assess::Reason> = assessment
        .reasons
        .iter()
        .filter(|r| r.points > 0.0)
        .collect();
    top.sort_by(|a, b| b.points.total_cmp(&a.points));
    let top_reasons = top
        .iter()
        .take(5)
        .map(|r| format!("{} +{} ({})", r.label, trim_points(r.points), r.pillar))
        .collect();

    let last_touch = signals
        .iter()
        .map(|s| s.at)
        .filter(|at| *at <= assessment.assessed_at)
        .max()
        .unwrap_or(assessment.assessed_at);
    let routing_note = format!(
        "{} via rule \"{}\"{}; fit tier {}, intent {}",
        route.team,
        route.rule,
        if assessment.fast_lane {
            " (fast lane)"
        } else {
            ""
        },
        assessment.fit_tier,
        assessment.intent_tier.as_str()
    );

    Ok(HandoffPacket {
        lead_id: lead_id.to_string(),
        name: clip(&name, 100),
        email: lead.email.clone(),
        title: lead.title.as_deref().map(|t| clip(t, 150)),
        company: clip(&company, 200),
        context: clip(&assessment.mql_reason, 300),
        evidence,
        pillars: PillarBreakdown {
            fit: assessment.pillar(Pillar::Fit).points,
            intent: assessment.pillar(Pillar::Intent).points,
            readiness: assessment.pillar(Pillar::Readiness).points,
            total: assessment.total,
        },
        fit_tier: assessment.fit_tier,
        top_reasons,
        opener,
        next_step,
        routing_note,
        team: route.team.clone(),
        source,
        campaign: lead.campaign.clone(),
        last_touch,
        fast_lane: assessment.fast_lane,
        contract_version: assessment.contract_version.clone(),
    })
}

fn trim_points(p: f64) -> String {
    let s = format!("{p:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The stable column order of the CSV dossier. Append new columns at the end only:
/// CRM import mappings are keyed on these names.
pub const CSV_HEADER: [&str; 20] = [
    "lead_id",
    "status",
    "name",
    "email",
    "title",
    "company",
    "team",
    "fit_tier",
    "fast_lane",
    "total",
    "fit",
    "intent",
    "readiness",
    "context",
    "evidence",
    "opener",
    "next_step",
    "source",
    "campaign",
    "last_touch",
];

/// One CSV row per packet. Quoting follows RFC 4180 (the csv crate); hidden format
/// characters are dropped from every cell (a packet stored before intake dropped them
/// may hold some), then cells that a spreadsheet would run as a formula are prefixed
/// with a quote: in that order, so `\u{200B}=cmd` cannot hide its `=`.
pub fn packet_csv_row(status: &str, p: &HandoffPacket) -> Vec<String> {
    let evidence = p
        .evidence
        .iter()
        .map(|e| {
            format!(
                "{} {} +{}{}",
                e.at.format("%Y-%m-%d %H:%M"),
                e.label,
                trim_points(e.points),
                e.detail
                    .as_ref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(" | ");
    [
        p.lead_id.clone(),
        status.to_string(),
        p.name.clone(),
        p.email.clone(),
        p.title.clone().unwrap_or_default(),
        p.company.clone(),
        p.team.clone(),
        p.fit_tier.to_string(),
        p.fast_lane.to_string(),
        trim_points(p.pillars.total),
        trim_points(p.pillars.fit),
        trim_points(p.pillars.intent),
        trim_points(p.pillars.readiness),
        p.context.clone(),
        evidence,
        p.opener.clone(),
        p.next_step.clone(),
        p.source.clone(),
        p.campaign.clone().unwrap_or_default(),
        p.last_touch.to_rfc3339(),
    ]
    .into_iter()
    .map(|cell| neutralise_formula(&strip_hidden(&cell)))
    .collect()
}

/// Write packets as CSV with the header.
pub fn write_csv<'a, W: std::io::Write>(
    out: W,
    rows: impl IntoIterator<Item = (&'a str, &'a HandoffPacket)>,
) -> Result<(), csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    writer.write_record(CSV_HEADER)?;
    for (status, packet) in rows {
        writer.write_record(packet_csv_row(status, packet))?;
    }
    writer.flush()?;
    Ok(())
}

/// OWASP's advice for CSV injection: a cell starting with = + - @ (or a tab or carriage
/// return that some spreadsheets skip) is prefixed with a single quote.
pub fn neutralise_formula(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assess::assess;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
    }

    fn lead() -> LeadProfile {
        LeadProfile {
            email: "ana@acme.io".into(),
            first_name: Some("Ana".into()),
            last_name: Some("Ruiz".into()),
            title: Some("VP RevOps".into()),
            company: Some("Acme".into()),
            employees: Some(250),
            industry: Some("SaaS".into()),
            country: Some("US".into()),
            source: Some("website".into()),
            campaign: Some("=HYPERLINK(\"http://evil\")".into()),
            ..Default::default()
        }
    }

    fn signals() -> Vec<Signal> {
        vec![
            Signal {
                kind: "demo_request".into(),
                at: now() - Duration::hours(1),
                seconds_on_page: None,
                question: true,
                detail: Some("Do you integrate with HubSpot?".into()),
            },
            Signal {
                kind: "pricing_page_visit".into(),
                at: now() - Duration::hours(20),
                seconds_on_page: Some(120),
                question: false,
                detail: None,
            },
        ]
    }

    #[test]
    fn packet_carries_opener_from_the_strongest_intent_signal() {
        let c = Contract::default_contract().unwrap();
        let a = assess(&lead(), &signals(), &c, now());
        let p = build_packet("ld_1", &lead(), &signals(), &a, &c).unwrap();
        assert_eq!(p.name, "Ana Ruiz");
        assert!(
            p.opener
                .starts_with("You asked for a demo (\"Do you integrate with HubSpot?\")"),
            "{}",
            p.opener
        );
        assert_eq!(p.next_step, "Call within the SLA and book the demo.");
        assert_eq!(p.evidence[0].signal, "demo_request");
        assert_eq!(p.team, "ae-na");
        assert!(p.routing_note.contains("fast lane"));
        assert_eq!(p.last_touch, now() - Duration::hours(1));
    }

    #[test]
    fn missing_mandatory_fields_are_named() {
        let c = Contract::default_contract().unwrap();
        let a = assess(&lead(), &signals(), &c, now());
        let mut no_company = lead();
        no_company.company = None;
        assert_eq!(
            build_packet("ld_1", &no_company, &signals(), &a, &c)
                .unwrap_err()
                .to_string(),
            "the handoff packet is missing company"
        );
        let mut no_name = lead();
        no_name.first_name = None;
        no_name.last_name = None;
        assert_eq!(
            build_packet("ld_1", &no_name, &signals(), &a, &c)
                .unwrap_err()
                .field,
            "name"
        );
        let fit_only = assess(&lead(), &[], &c, now());
        assert_eq!(
            build_packet("ld_1", &lead(), &[], &fit_only, &c)
                .unwrap_err()
                .field,
            "evidence"
        );
    }

    #[test]
    fn csv_is_quoted_and_formula_safe() {
        let c = Contract::default_contract().unwrap();
        let a = assess(&lead(), &signals(), &c, now());
        let mut p = build_packet("ld_1", &lead(), &signals(), &a, &c).unwrap();
        p.company = "Acme, \"Inc\"".into();
        p.title = Some("@admin".into());
        let mut out = Vec::new();
        write_csv(&mut out, [("mql", &p)]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.split("\r\n");
        assert_eq!(lines.next().unwrap(), CSV_HEADER.join(","));
        let row = lines.next().unwrap();
        assert!(row.contains(r#""Acme, ""Inc""""#), "{row}");
        assert!(row.contains(",'@admin,"), "{row}");
        assert!(row.contains(r#""'=HYPERLINK(""http://evil"")""#), "{row}");
        // Reading it back gives the same number of cells as the header.
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(record.len(), CSV_HEADER.len());
        assert_eq!(&record[5], "Acme, \"Inc\"");
    }

    #[test]
    fn neutralises_every_formula_prefix() {
        for prefix in ["=", "+", "-", "@", "\t", "\r"] {
            assert!(neutralise_formula(&format!("{prefix}1+1")).starts_with('\''));
        }
        assert_eq!(neutralise_formula("plain"), "plain");
    }

    #[test]
    fn csv_cells_lose_hidden_characters_before_the_formula_check() {
        let c = Contract::default_contract().unwrap();
        let a = assess(&lead(), &signals(), &c, now());
        // As stored before intake dropped hidden characters.
        let mut p = build_packet("ld_1", &lead(), &signals(), &a, &c).unwrap();
        p.name = "\u{202E}Ana Ruiz\u{202C}".into();
        p.title = Some("\u{200B}=cmd|' /C calc'!A0".into());
        p.email = "ana\u{200B}@acme.io".into();
        p.evidence[0].detail = Some("call \u{2066}+1 555-0100\u{2069}".into());
        let row = packet_csv_row("mql", &p);
        assert!(
            !row.iter()
                .any(|cell| cell.chars().any(crate::text::is_hidden_format)),
            "{row:?}"
        );
        assert_eq!(row[2], "Ana Ruiz");
        assert_eq!(row[3], "ana@acme.io");
        assert_eq!(row[4], "'=cmd|' /C calc'!A0");
        assert!(row[14].contains("(call +1 555-0100)"), "{}", row[14]);
    }

    #[test]
    fn a_display_safe_packet_has_no_hidden_characters_left() {
        let c = Contract::default_contract().unwrap();
        let a = assess(&lead(), &signals(), &c, now());
        let mut p = build_packet("ld_1", &lead(), &signals(), &a, &c).unwrap();
        let clean = p.clone();
        assert_eq!(p.display_safe(), clean, "a clean packet is unchanged");
        p.company = "Ac\u{200B}me".into();
        p.campaign = Some("\u{FEFF}q4".into());
        p.top_reasons[0].insert(0, '\u{202E}');
        p.evidence[1].label.push('\u{2067}');
        let safe = p.display_safe();
        assert!(
            !serde_json::to_string(&safe)
                .unwrap()
                .chars()
                .any(crate::text::is_hidden_format),
            "{safe:?}"
        );
        assert_eq!(safe.company, "Acme");
        assert_eq!(safe.top_reasons, clean.top_reasons);
    }
}
