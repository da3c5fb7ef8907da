//! Where alerts go: the `[delivery]` section. The notifier reads each alert off the
//! alert queue and sends it to the channels that the routes here name for its team and
//! audience: email addresses (sent with SES), Slack and Microsoft Teams incoming
//! webhooks.
//!
//! A webhook URL is a secret (anyone who has it can post into the channel), so the
//! contract, which is reviewed and versioned in the open, never holds one: a webhook
//! channel names the SSM SecureString parameter that does.
//!
//! ```toml
//! [delivery]
//! email_from = "leadwatch@seller.io"
//!
//! [delivery.channels.ae-na-slack]
//! kind = "slack"
//! webhook_parameter = "/leadwatch/webhooks/ae-na-slack"
//!
//! [delivery.channels.ae-na-manager]
//! kind = "email"
//! to = ["kim@seller.io"]
//!
//! [[delivery.routes]]
//! team = "ae-na"                       # or "*": every team, and alerts of no team
//! audience = "*"                       # or one audience: owner, team-manager, ...
//! kinds = ["sla_breach", "sla_escalation"]   # optional; every kind when left out
//! channels = ["ae-na-slack", "ae-na-manager"]
//! ```
//!
//! An alert goes to every channel of every route that matches it, each channel once.
//! Validation (with the rest of the contract, each problem naming its key) checks that
//! routes name known teams, audiences, kinds and channels, that addresses look like
//! addresses, and that a webhook parameter is a parameter name and not a URL.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::ContractSpec;

/// Matches every team (and alerts of no team) or every audience.
pub const ANY: &str = "*";

/// The alert kinds a route may select (see `crate::alert`).
pub const ALERT_KINDS: [&str; 6] = [
    "sla_warning",
    "sla_breach",
    "sla_escalation",
    "sla_expired",
    "returned_to_nurture",
    "contract_review",
];

/// Audiences that alerts carry besides the SLA ladder's: the warning goes to the lead's
/// owner, a return to nurture to marketing, a contract review to RevOps.
pub const FIXED_AUDIENCES: [&str; 3] = ["owner", "marketing", "revops"];

/// Longest channel name: it is part of delivery record keys and of environment variable
/// names (`LEADWATCH_WEBHOOK_URL_<NAME>`).
const CHANNEL_NAME_MAX: usize = 64;

/// SSM's limit on a parameter name, full path included.
const PARAMETER_NAME_MAX: usize = 1011;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// The address emails come from: an identity verified in SES.
    pub email_from: Option<String>,
    /// The API's public base URL (`https://leads.example.com`), so that messages link
    /// to the lead. Without it, messages show the API paths.
    pub links_base_url: Option<String>,
    #[serde(default)]
    pub channels: BTreeMap<String, Channel>,
    #[serde(default)]
    pub routes: Vec<DeliveryRoute>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Channel {
    /// One email per address, from `delivery.email_from`.
    Email { to: Vec<String> },
    /// A Slack incoming webhook; the SSM parameter holds its URL.
    Slack { webhook_parameter: String },
    /// A Microsoft Teams webhook (a Workflows "post to a channel when a webhook request
    /// is received" flow); the SSM parameter holds its URL.
    Teams { webhook_parameter: String },
}

impl Channel {
    pub fn kind(&self) -> ChannelKind {
        match self {
            Channel::Email { .. } => ChannelKind::Email,
            Channel::Slack { .. } => ChannelKind::Slack,
            Channel::Teams { .. } => ChannelKind::Teams,
        }
    }

    /// The SSM parameter holding a webhook channel's URL.
    pub fn webhook_parameter(&self) -> Option<&str> {
        match self {
            Channel::Email { .. } => None,
            Channel::Slack { webhook_parameter } | Channel::Teams { webhook_parameter } => {
                Some(webhook_parameter)
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Email,
    Slack,
    Teams,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Email => "email",
            ChannelKind::Slack => "slack",
            ChannelKind::Teams => "teams",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRoute {
    /// A team under `[teams]`, or `"*"`.
    pub team: String,
    /// An audience alerts carry (`owner`, a ladder level's, `marketing`, `revops`), or `"*"`.
    pub audience: String,
    /// Only these alert kinds; every kind when empty.
    #[serde(default)]
    pub kinds: Vec<String>,
    pub channels: Vec<String>,
}

impl DeliveryRoute {
    /// Does this route take an alert of `team` (empty: no team), `audience` and `kind`?
    pub fn matches(&self, team: &str, audience: &str, kind: &str) -> bool {
        (self.team == ANY || self.team == team)
            && (self.audience == ANY || self.audience == audience)
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| k == kind))
    }
}

impl Delivery {
    /// The channels, by name, that an alert of `team`, `audience` and `kind` goes to:
    /// every channel of every matching route, each once, in name order.
    pub fn channels_for(&self, team: &str, audience: &str, kind: &str) -> Vec<(&str, &Channel)> {
        let names: BTreeSet<&str> = self
            .routes
            .iter()
            .filter(|r| r.matches(team, audience, kind))
            .flat_map(|r| r.channels.iter().map(String::as_str))
            .collect();
        names
            .into_iter()
            .filter_map(|n| self.channels.get_key_value(n))
            .map(|(n, c)| (n.as_str(), c))
            .collect()
    }
}

/// The `[delivery]` rules; one message per problem, each starting with its key.
pub(super) fn check(spec: &ContractSpec, p: &mut impl FnMut(String)) {
    let d = &spec.delivery;
    let has_email = d
        .channels
        .values()
        .any(|c| matches!(c, Channel::Email { .. }));
    match &d.email_from {
        Some(from) => {
            if let Err(why) = check_address(from) {
                p(format!("delivery.email_from: \"{from}\" {why}"));
            }
        }
        None if has_email => p(
            "delivery.email_from: required when a channel is of kind \"email\" (a sender verified in SES)"
                .into(),
        ),
        None => {}
    }
    if let Some(base) = &d.links_base_url {
        let rest = base
            .strip_prefix("https://")
            .or_else(|| base.strip_prefix("http://"));
        if rest
            .is_none_or(|r| r.is_empty() || r.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            p(format!(
                "delivery.links_base_url: \"{base}\" is not an http(s) URL"
            ));
        }
    }

    for (name, channel) in &d.channels {
        let key = format!("delivery.channels.{name}");
        if !is_channel_name(name) {
            p(format!(
                "{key}: the name must be 1-{CHANNEL_NAME_MAX} lower-case letters, digits and '-'"
            ));
        }
        match channel {
            Channel::Email { to } => {
                if to.is_empty() {
                    p(format!("{key}.to: must list at least one address"));
                }
                let mut seen = BTreeSet::new();
                for (i, address) in to.iter().enumerate() {
                    if let Err(why) = check_address(address) {
                        p(format!("{key}.to[{i}]: \"{address}\" {why}"));
                    } else if !seen.insert(address.to_ascii_lowercase()) {
                        p(format!("{key}.to[{i}]: \"{address}\" is listed twice"));
                    }
                }
            }
            Channel::Slack { webhook_parameter } | Channel::Teams { webhook_parameter } => {
                if let Err(why) = check_parameter_name(webhook_parameter) {
                    p(format!("{key}.webhook_parameter: {why}"));
                }
            }
        }
    }

    let mut audiences: BTreeSet<&str> = FIXED_AUDIENCES.into_iter().collect();
    for policy in spec.sla.policies.values() {
        audiences.extend(policy.ladder.iter().map(|l| l.audience.as_str()));
    }
    let mut used = BTreeSet::new();
    for (i, route) in d.routes.iter().enumerate() {
        let key = format!("delivery.routes[{i}]");
        if route.team != ANY && !spec.teams.contains_key(&route.team) {
            p(format!(
                "{key}.team: unknown team \"{}\" (a team under [teams], or \"*\")",
                route.team
            ));
        }
        if route.audience != ANY && !audiences.contains(route.audience.as_str()) {
            p(format!(
                "{key}.audience: no alert goes to \"{}\" (one of {}, or \"*\")",
                route.audience,
                audiences.iter().copied().collect::<Vec<_>>().join(", ")
            ));
        }
        for (j, kind) in route.kinds.iter().enumerate() {
            if !ALERT_KINDS.contains(&kind.as_str()) {
                p(format!(
                    "{key}.kinds[{j}]: unknown alert kind \"{kind}\" (one of {})",
                    ALERT_KINDS.join(", ")
                ));
            }
        }
        if route.channels.is_empty() {
            p(format!("{key}.channels: must name at least one channel"));
        }
        for (j, channel) in route.channels.iter().enumerate() {
            if d.channels.contains_key(channel) {
                used.insert(channel.as_str());
            } else {
                p(format!(
                    "{key}.channels[{j}]: unknown channel \"{channel}\" (add it under [delivery.channels])"
                ));
            }
        }
    }
    for name in d.channels.keys() {
        if !used.contains(name.as_str()) {
            p(format!(
                "delivery.channels.{name}: no route sends to it (name it in a [[delivery.routes]])"
            ));
        }
    }
}

fn is_channel_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= CHANNEL_NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A plain `local@domain.tld` address: what SES accepts in a destination, with nothing
/// a header could be smuggled in with (spaces, commas, angle brackets, controls).
fn check_address(address: &str) -> Result<(), &'static str> {
    if address.len() > 254 {
        return Err("is longer than 254 characters");
    }
    if address.chars().any(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, ',' | ';' | '<' | '>' | '"' | '(' | ')')
    }) {
        return Err("is not a plain address (spaces, commas, quotes or brackets)");
    }
    match address.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(())
        }
        _ => Err("is not an email address (local@domain.tld)"),
    }
}

fn check_parameter_name(name: &str) -> Result<(), String> {
    if name.contains("://") {
        return Err(
            "holds a URL; name the SSM SecureString parameter that holds the webhook URL \
             instead (the contract is not a place for secrets)"
                .into(),
        );
    }
    let valid = name.starts_with('/')
        && name.len() > 1
        && name.len() <= PARAMETER_NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "\"{name}\" is not an SSM parameter name (a path starting with '/', of letters, \
             digits and _ . - /)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Contract, ContractErrors, ContractSpec, DEFAULT_CONTRACT_TOML};
    use super::*;

    fn with(edit: impl FnOnce(&mut Delivery)) -> Result<Contract, ContractErrors> {
        let mut spec: ContractSpec = toml::from_str(DEFAULT_CONTRACT_TOML).unwrap();
        edit(&mut spec.delivery);
        Contract::validate(spec)
    }

    fn problems(edit: impl FnOnce(&mut Delivery)) -> Vec<String> {
        with(edit).expect_err("invalid").0
    }

    #[test]
    fn the_shipped_contract_routes_every_team_and_audience_somewhere() {
        let c = Contract::default_contract().unwrap();
        let d = &c.spec.delivery;
        for team in c.spec.teams.keys() {
            for kind in ["sla_warning", "sla_breach", "sla_escalation", "sla_expired"] {
                assert!(
                    !d.channels_for(team, "team-manager", kind).is_empty(),
                    "{team} {kind}"
                );
            }
            assert!(!d
                .channels_for(team, "head-of-sales", "sla_escalation")
                .is_empty());
            assert!(!d
                .channels_for(team, "marketing", "returned_to_nurture")
                .is_empty());
        }
        assert!(!d.channels_for("", "revops", "contract_review").is_empty());
    }

    #[test]
    fn a_channel_named_by_two_routes_is_sent_once() {
        let c = with(|d| {
            d.routes.push(DeliveryRoute {
                team: "*".into(),
                audience: "*".into(),
                kinds: vec![],
                channels: vec!["ae-na-slack".into()],
            })
        })
        .unwrap();
        let names: Vec<&str> = c
            .spec
            .delivery
            .channels_for("ae-na", "team-manager", "sla_breach")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names.iter().filter(|n| **n == "ae-na-slack").count(),
            1,
            "{names:?}"
        );
    }

    #[test]
    fn unknown_team_audience_kind_and_channel_name_their_keys() {
        let all = problems(|d| {
            d.routes.push(DeliveryRoute {
                team: "nobody".into(),
                audience: "ceo".into(),
                kinds: vec!["sla_panic".into()],
                channels: vec!["pager".into()],
            })
        });
        let i = DEFAULT_ROUTES;
        for expected in [
            format!("delivery.routes[{i}].team: unknown team \"nobody\""),
            format!("delivery.routes[{i}].audience: no alert goes to \"ceo\""),
            format!("delivery.routes[{i}].kinds[0]: unknown alert kind \"sla_panic\""),
            format!("delivery.routes[{i}].channels[0]: unknown channel \"pager\""),
        ] {
            assert!(
                all.iter().any(|p| p.starts_with(&expected)),
                "{expected} not in {all:#?}"
            );
        }
    }

    /// How many routes the shipped contract has (new routes get this index).
    const DEFAULT_ROUTES: usize = 8;

    #[test]
    fn the_shipped_route_count_is_what_these_tests_index() {
        let c = Contract::default_contract().unwrap();
        assert_eq!(c.spec.delivery.routes.len(), DEFAULT_ROUTES);
    }

    #[test]
    fn a_webhook_url_in_the_contract_is_refused_as_a_secret() {
        let all = problems(|d| {
            d.channels.insert(
                "ae-na-slack".into(),
                Channel::Slack {
                    webhook_parameter: "https://hooks.slack.com/services/T0/B0/XYZ".into(),
                },
            );
        });
        assert!(
            all.iter()
                .any(|p| p
                    .starts_with("delivery.channels.ae-na-slack.webhook_parameter: holds a URL")),
            "{all:#?}"
        );
        assert!(
            all.iter().all(|p| !p.contains("XYZ")),
            "the URL is not repeated: {all:#?}"
        );
    }

    #[test]
    fn bad_addresses_names_and_senders_name_their_keys() {
        let all = problems(|d| {
            d.email_from = Some("leadwatch".into());
            d.channels.insert(
                "Bad Name".into(),
                Channel::Email {
                    to: vec![
                        "kim@seller.io".into(),
                        "Kim <kim@seller.io>".into(),
                        "a@b".into(),
                    ],
                },
            );
            d.channels
                .insert("empty".into(), Channel::Email { to: vec![] });
            d.links_base_url = Some("leads.example.com".into());
        });
        for expected in [
            "delivery.email_from: \"leadwatch\" is not an email address",
            "delivery.channels.Bad Name: the name must be",
            "delivery.channels.Bad Name.to[1]: \"Kim <kim@seller.io>\" is not a plain address",
            "delivery.channels.Bad Name.to[2]: \"a@b\" is not an email address",
            "delivery.channels.empty.to: must list at least one address",
            "delivery.channels.empty: no route sends to it",
            "delivery.links_base_url: \"leads.example.com\" is not an http(s) URL",
        ] {
            assert!(
                all.iter().any(|p| p.starts_with(expected)),
                "{expected} not in {all:#?}"
            );
        }
    }

    #[test]
    fn email_channels_need_a_sender() {
        let all = problems(|d| d.email_from = None);
        assert!(
            all.iter()
                .any(|p| p.starts_with("delivery.email_from: required")),
            "{all:#?}"
        );
    }

    #[test]
    fn a_contract_without_delivery_is_valid_and_routes_nothing() {
        let c = with(|d| *d = Delivery::default()).unwrap();
        assert!(c
            .spec
            .delivery
            .channels_for("ae-na", "team-manager", "sla_breach")
            .is_empty());
    }

    #[test]
    fn an_unknown_channel_kind_is_a_parse_error_naming_it() {
        let text = format!(
            "{DEFAULT_CONTRACT_TOML}\n[delivery.channels.pager]\nkind = \"sms\"\nto = [\"1\"]\n"
        );
        let err = Contract::parse(&text).unwrap_err().to_string();
        assert!(err.contains("sms"), "{err}");
    }
}
