//! The message each kind of channel gets for one alert: a plain-text email, a Slack
//! Block Kit message, a Teams Adaptive Card.
//!
//! Every string that came from the document goes through [`clip`] here (no control
//! characters, bounded length), whatever the watchdog already did, because the queue
//! takes documents from anything allowed to publish to the topic. Then each channel's
//! markup is escaped: Slack's `&`, `<` and `>` (which would otherwise turn a lead's
//! "note" into `<!channel>` or a disguised link), and in Teams the Markdown characters
//! that make links and emphasis. Plain-text fields (Slack headers, email) need neither.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::AlertDocument;
use crate::contract::delivery::ChannelKind;
use crate::text::clip;

/// Caps, in characters, on what a message shows of each field.
const NAME: usize = 80;
const LINE: usize = 200;
const PARAGRAPH: usize = 300;
const SHORT: usize = 60;
/// Evidence lines and review findings shown.
const LIST: usize = 5;
/// Slack's limit on a header block's text, and a readable email subject.
const HEADER: usize = 150;

/// A plain-text email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
}

/// The message for one kind of channel.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    Email(Email),
    /// The JSON body to post to a webhook.
    Webhook(Value),
}

impl Rendered {
    /// A one-line summary: the subject, or a webhook message's fallback text.
    pub fn summary(&self) -> String {
        match self {
            Rendered::Email(e) => e.subject.clone(),
            Rendered::Webhook(v) => v["text"]
                .as_str()
                .or_else(|| v["attachments"][0]["content"]["fallbackText"].as_str())
                .unwrap_or("")
                .to_string(),
        }
    }
}

/// The message of `doc` for a channel of `kind`. `links_base` is the API's public base
/// URL (the contract's `delivery.links_base_url`), without which links are API paths.
pub fn render(kind: ChannelKind, doc: &AlertDocument, links_base: Option<&str>) -> Rendered {
    let view = View::of(doc, links_base);
    match kind {
        ChannelKind::Email => Rendered::Email(email(&view)),
        ChannelKind::Slack => Rendered::Webhook(slack(&view)),
        ChannelKind::Teams => Rendered::Webhook(teams(&view)),
    }
}

/// The document's fields, clipped, as the renderers use them.
struct View {
    headline: String,
    /// (label, value) pairs: team, audience, due, lateness...
    facts: Vec<(&'static str, String)>,
    /// (label, value) pairs of the handoff packet or the review, in reading order.
    details: Vec<(&'static str, String)>,
    /// Evidence or findings, one line each.
    items: Vec<String>,
    items_label: &'static str,
    /// (title, URL or path)
    links: Vec<(&'static str, String)>,
    alert_id: String,
}

impl View {
    fn of(doc: &AlertDocument, links_base: Option<&str>) -> View {
        let who = who(doc);
        let level = clip(&doc.level, 12);
        let left = doc.business_minutes_left.unwrap_or(0);
        let overdue = doc.business_minutes_overdue.unwrap_or(0);
        let reason = doc.reason.as_deref().map(|r| clip(r, SHORT));
        let headline = match doc.kind.as_str() {
            "sla_warning" => format!("SLA warning: {who} is due in {left} business min"),
            "sla_breach" => format!("SLA breach: {who} was not accepted in time"),
            "sla_escalation" => {
                format!("SLA escalation level {level}: {who} is {overdue} business min late")
            }
            "sla_expired" => format!("SLA expired: {who} returned to nurture"),
            "returned_to_nurture" => format!(
                "Returned to nurture: {who} ({})",
                reason.as_deref().unwrap_or("no reason")
            ),
            "contract_review" => format!(
                "Contract review: {} missed its targets in {}",
                clip(
                    doc.contract_version.as_deref().unwrap_or("the contract"),
                    SHORT
                ),
                clip(&doc.months.join(" and "), SHORT)
            ),
            other => format!("{}: {who}", clip(other, SHORT)),
        };
        let mut facts = Vec::new();
        if let Some(team) = doc.team.as_deref().filter(|t| !t.is_empty()) {
            facts.push(("Team", clip(team, SHORT)));
        }
        facts.push(("Audience", clip(&doc.audience, SHORT)));
        if let Some(due) = doc.due_at {
            facts.push(("Due", time(due)));
        }
        if overdue > 0 {
            facts.push(("Late by", format!("{overdue} business minutes")));
        } else if doc.kind == "sla_warning" {
            facts.push(("Left", format!("{left} business minutes")));
        }
        if let Some(r) = reason {
            facts.push(("Reason", r));
        }
        if let Some(note) = doc.note.as_deref() {
            facts.push(("Note", clip(note, PARAGRAPH)));
        }

        let mut details = Vec::new();
        let mut items = Vec::new();
        let mut items_label = "Evidence";
        if let Some(p) = &doc.packet {
            let title = p
                .title
                .as_deref()
                .map(|t| format!(", {}", clip(t, NAME)))
                .unwrap_or_default();
            details.push((
                "Who",
                format!(
                    "{}{title} at {}",
                    clip(&p.name, NAME),
                    clip(&p.company, NAME)
                ),
            ));
            details.push(("Why", clip(&p.context, PARAGRAPH)));
            if let Some(s) = p.pillars {
                details.push((
                    "Score",
                    format!(
                        "{} (fit {}, intent {}, readiness {}), fit tier {}",
                        s.total,
                        s.fit,
                        s.intent,
                        s.readiness,
                        p.fit_tier.or(doc.fit_tier).unwrap_or(0)
                    ),
                ));
            }
            details.push(("Opener", clip(&p.opener, PARAGRAPH)));
            details.push(("Next step", clip(&p.next_step, LINE)));
            details.push(("Routing", clip(&p.routing_note, LINE)));
            items = p
                .evidence
                .iter()
                .take(LIST)
                .map(|e| {
                    let at = e.at.map(time).unwrap_or_default();
                    let detail = e
                        .detail
                        .as_deref()
                        .map(|d| format!(": {}", clip(d, LINE)))
                        .unwrap_or_default();
                    clip(&format!("{at} {}{detail}", clip(&e.label, NAME)), PARAGRAPH)
                })
                .collect();
        }
        if doc.kind == "contract_review" {
            items_label = "Findings";
            items = doc
                .findings
                .iter()
                .take(LIST)
                .map(|f| clip(f, PARAGRAPH))
                .collect();
        }
        details.retain(|(_, v)| !v.is_empty());

        let mut links = Vec::new();
        // The signed, short-lived link to the lead's page in the web app (added by the
        // publisher, see `alert::attach_lead_page`) is a whole URL: like every link, it
        // counts only under the configured base, so a document cannot point elsewhere.
        if let (Some(base), Some(page)) = (links_base, doc.links.get("page")) {
            let pages = format!("{}/app/leads/", base.trim_end_matches('/'));
            let query = page.strip_prefix(&pages).unwrap_or_default();
            if !query.is_empty() && is_api_path(&format!("/{query}")) {
                links.push(("Open the lead page", page.clone()));
            }
        }
        for (key, title) in [
            ("lead", "Open the lead"),
            ("accept", "Accept"),
            ("reject", "Reject"),
            ("report", "SLA report"),
        ] {
            if let Some(path) = doc.links.get(key).filter(|p| is_api_path(p)) {
                let url = match links_base {
                    Some(base) => format!("{}{path}", base.trim_end_matches('/')),
                    None => path.clone(),
                };
                links.push((title, url));
            }
        }
        View {
            headline: clip(&headline, HEADER),
            facts,
            details,
            items,
            items_label,
            links,
            alert_id: clip(&doc.alert_id, super::ALERT_ID_MAX),
        }
    }

    /// Links that are full URLs: only those can be buttons.
    fn urls(&self) -> impl Iterator<Item = &(&'static str, String)> {
        self.links
            .iter()
            .filter(|(_, u)| u.starts_with("https://") || u.starts_with("http://"))
    }
}

fn who(doc: &AlertDocument) -> String {
    let (name, company) = match &doc.packet {
        Some(p) if !p.name.trim().is_empty() => (p.name.as_str(), p.company.as_str()),
        _ => (doc.lead_id.as_deref().unwrap_or("a lead"), ""),
    };
    if company.trim().is_empty() {
        clip(name, NAME)
    } else {
        clip(&format!("{name} ({company})"), NAME)
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A path the API serves (`/leads/<id>/accept`): nothing a document could use to point
/// a button somewhere else.
fn is_api_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 300
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.:@?=&%".contains(&b))
}

fn email(v: &View) -> Email {
    let mut text = format!("{}\n\n", v.headline);
    for (label, value) in &v.facts {
        text.push_str(&format!("{label}: {value}\n"));
    }
    if !v.details.is_empty() {
        text.push('\n');
        for (label, value) in &v.details {
            text.push_str(&format!("{label}: {value}\n"));
        }
    }
    if !v.items.is_empty() {
        text.push_str(&format!("{}:\n", v.items_label));
        for item in &v.items {
            text.push_str(&format!("  {item}\n"));
        }
    }
    if !v.links.is_empty() {
        text.push('\n');
        for (title, url) in &v.links {
            text.push_str(&format!("{title}: {url}\n"));
        }
    }
    text.push_str(&format!("\nAlert {}\n", v.alert_id));
    Email {
        subject: clip(&format!("[Leadwatch] {}", v.headline), HEADER),
        text,
    }
}

/// Slack's escaping for text in `mrkdwn` and in `text`: the three characters that start
/// links, mentions and entities.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack(v: &View) -> Value {
    let e = slack_escape;
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": v.headline, "emoji": false},
    })];
    // A section holds at most 10 fields.
    let fields: Vec<Value> = v
        .facts
        .iter()
        .take(10)
        .map(|(label, value)| json!({"type": "mrkdwn", "text": format!("*{label}*\n{}", e(value))}))
        .collect();
    blocks.push(json!({"type": "section", "fields": fields}));
    if !v.details.is_empty() || !v.items.is_empty() {
        let mut body: Vec<String> = v
            .details
            .iter()
            .map(|(label, value)| format!("*{label}:* {}", e(value)))
            .collect();
        if !v.items.is_empty() {
            body.push(format!("*{}:*", v.items_label));
            body.extend(v.items.iter().map(|i| format!("• {}", e(i))));
        }
        blocks
            .push(json!({"type": "section", "text": {"type": "mrkdwn", "text": body.join("\n")}}));
    }
    let buttons: Vec<Value> = v
        .urls()
        .map(|(title, url)| {
            json!({"type": "button", "text": {"type": "plain_text", "text": title}, "url": url})
        })
        .collect();
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    let paths: Vec<String> = v
        .links
        .iter()
        .filter(|(_, u)| u.starts_with('/'))
        .map(|(title, path)| format!("{title}: `{}`", e(path)))
        .collect();
    let mut context =
        vec![json!({"type": "mrkdwn", "text": format!("Alert `{}`", e(&v.alert_id))})];
    if !paths.is_empty() {
        context.push(json!({"type": "mrkdwn", "text": paths.join(" · ")}));
    }
    blocks.push(json!({"type": "context", "elements": context}));
    json!({
        // The notification and screen-reader text, and all an old client shows.
        "text": e(&v.headline),
        "blocks": blocks,
        // Links in lead text stay text: no previews of someone else's page.
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

/// Teams renders a subset of Markdown in Adaptive Card text; a backslash makes each
/// of these characters literal, so lead text cannot become a link or emphasis.
fn teams_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '[' | ']' | '(' | ')' | '~' | '`' | '#' | '<' | '>'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn teams(v: &View) -> Value {
    let e = teams_escape;
    let mut body = vec![json!({
        "type": "TextBlock", "text": e(&v.headline), "weight": "Bolder", "size": "Medium", "wrap": true,
    })];
    let mut facts: Vec<Value> = v
        .facts
        .iter()
        .map(|(label, value)| json!({"title": label, "value": e(value)}))
        .collect();
    facts.extend(
        v.details
            .iter()
            .map(|(label, value)| json!({"title": label, "value": e(value)})),
    );
    body.push(json!({"type": "FactSet", "facts": facts}));
    if !v.items.is_empty() {
        body.push(
            json!({"type": "TextBlock", "text": v.items_label, "weight": "Bolder", "wrap": true}),
        );
        for item in &v.items {
            body.push(
                json!({"type": "TextBlock", "text": e(item), "wrap": true, "spacing": "None"}),
            );
        }
    }
    for (title, path) in v.links.iter().filter(|(_, u)| u.starts_with('/')) {
        body.push(json!({"type": "TextBlock", "text": format!("{title}: {}", e(path)), "isSubtle": true, "wrap": true}));
    }
    body.push(json!({
        "type": "TextBlock", "text": format!("Alert {}", e(&v.alert_id)), "isSubtle": true, "size": "Small", "wrap": true,
    }));
    let actions: Vec<Value> = v
        .urls()
        .map(|(title, url)| json!({"type": "Action.OpenUrl", "title": title, "url": url}))
        .collect();
    // The payload a Teams Workflows webhook ("post to a channel when a webhook request
    // is received") takes: a message with one Adaptive Card attachment.
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "fallbackText": v.headline,
                "body": body,
                "actions": actions,
            },
        }],
    })
}
