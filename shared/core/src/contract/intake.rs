//! The contract's `[intake]` section: who may send what. Leads arrive in two lanes, and
//! this section is the list of both:
//!
//! * `[intake.forms.<id>]`: public browser forms. Anyone on the internet can post one,
//!   unsigned, so each declares the fields and signal types it accepts, where a browser
//!   goes after posting it (`thank_you_url`), and nothing else gets in.
//! * `[intake.sources.<name>]`: signed integrations (a CRM, a marketing automation
//!   tool). Each has a secret of its own, kept outside the contract (see the README),
//!   and the signal types it may send; only a source marked `sales = true` may send the
//!   sales-side types listed in `sales_signals`.
//!
//! `cors_origins` lists the web origins whose pages may post forms with `fetch()`.
//! Validation here names every problem with its key path, like the rest of the contract.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ContractSpec;

/// The `[intake]` section. Absent: no public form and no signed source is accepted.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Intake {
    /// Web origins (`https://www.example.com`) allowed to call `POST /leads` from a
    /// page's script (CORS). A plain HTML form post needs no entry here.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Signal types that report what happened in a sales conversation; they are
    /// accepted only from a signed source with `sales = true`.
    #[serde(default)]
    pub sales_signals: Vec<String>,
    #[serde(default)]
    pub forms: BTreeMap<String, Form>,
    #[serde(default)]
    pub sources: BTreeMap<String, Source>,
}

/// A public form: the fields and signal types an unsigned post may carry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    /// The fields a visitor may fill in, from [`FORM_FIELDS`]; must include `email`.
    pub fields: Vec<String>,
    /// The signal types the form may record (its hidden `signal` field names one).
    #[serde(default)]
    pub signals: Vec<String>,
    /// Where a browser is sent (303) after a successful post; without one, it gets a
    /// small thank-you page.
    pub thank_you_url: Option<String>,
    /// The lead's `source` recorded for posts of this form; defaults to `form:<id>`.
    pub source: Option<String>,
}

/// A signed integration source.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The signal types it may send.
    pub signals: Vec<String>,
    /// A sales system (CRM): may send the `sales_signals` types.
    #[serde(default)]
    pub sales: bool,
}

/// Every field a public form may list: the profile fields a visitor can know about
/// themselves, and `message` (the detail of the form's signal).
pub const FORM_FIELDS: &[&str] = &[
    "email",
    "first_name",
    "last_name",
    "title",
    "company",
    "employees",
    "industry",
    "country",
    "campaign",
    "message",
];

/// Profile fields that a public form may never set, and why.
pub const FORM_FORBIDDEN_FIELDS: &[(&str, &str)] = &[
    (
        "abm_target",
        "is set by sales and marketing, never by a visitor (a signed source may set it)",
    ),
    (
        "source",
        "is the form's own `source`, not something a visitor chooses",
    ),
];

/// Longest form id or source name: they travel in form fields and headers and name
/// SSM parameters.
pub const NAME_MAX_CHARS: usize = 40;

/// Is `name` a usable form id or source name: lower-case letters, digits, `-`, `_`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= NAME_MAX_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Is `origin` a serialised web origin: `http(s)://host[:port]`, nothing after it.
pub fn is_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()))
}

/// Is `url` an absolute http(s) URL without characters that would need escaping in a
/// `Location` header or an HTML attribute.
fn is_plain_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2000
        && url
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '<' | '>' | '\\' | '`'))
}

/// The rules of `[intake]`. Pushes one message per problem, prefixed with its key path.
pub(super) fn check(spec: &ContractSpec, problems: &mut Vec<String>) {
    let intake = &spec.intake;
    let known = |kind: &str| spec.signals.contains_key(kind);
    let is_sales = |kind: &str| intake.sales_signals.iter().any(|s| s == kind);

    for (i, origin) in intake.cors_origins.iter().enumerate() {
        if origin == "*" {
            problems.push(format!(
                "intake.cors_origins[{i}]: \"*\" would let every site post; list each origin"
            ));
        } else if !is_origin(origin) {
            problems.push(format!(
                "intake.cors_origins[{i}]: \"{origin}\" is not an origin like https://www.example.com (scheme, host, optional port; no path or trailing slash)"
            ));
        }
    }
    for (i, kind) in intake.sales_signals.iter().enumerate() {
        if !known(kind) {
            problems.push(format!(
                "intake.sales_signals[{i}]: unknown signal type \"{kind}\""
            ));
        }
    }

    for (id, form) in &intake.forms {
        let at = format!("intake.forms.{id}");
        if !is_valid_name(id) {
            problems.push(format!(
                "{at}: a form id is 1 to {NAME_MAX_CHARS} lower-case letters, digits, '-' or '_'"
            ));
        }
        if !form.fields.iter().any(|f| f == "email") {
            problems.push(format!(
                "{at}.fields: must include \"email\" (a lead is identified by it)"
            ));
        }
        for (i, field) in form.fields.iter().enumerate() {
            if let Some((_, why)) = FORM_FORBIDDEN_FIELDS.iter().find(|(f, _)| f == field) {
                problems.push(format!("{at}.fields[{i}]: \"{field}\" {why}"));
            } else if !FORM_FIELDS.contains(&field.as_str()) {
                problems.push(format!(
                    "{at}.fields[{i}]: unknown field \"{field}\" (one of {})",
                    FORM_FIELDS.join(", ")
                ));
            }
        }
        if form.fields.iter().any(|f| f == "message") && form.signals.is_empty() {
            problems.push(format!(
                "{at}.fields: \"message\" is the detail of the form's signal; list a signal type in {at}.signals"
            ));
        }
        for (i, kind) in form.signals.iter().enumerate() {
            if !known(kind) {
                problems.push(format!("{at}.signals[{i}]: unknown signal type \"{kind}\""));
            } else if is_sales(kind) {
                problems.push(format!(
                    "{at}.signals[{i}]: \"{kind}\" is a sales-side signal; it comes only from a signed source with sales = true"
                ));
            }
        }
        if let Some(url) = &form.thank_you_url {
            if !is_plain_url(url) {
                problems.push(format!(
                    "{at}.thank_you_url: must be an absolute http(s) URL without quotes, spaces or angle brackets"
                ));
            }
        }
        if let Some(source) = &form.source {
            if source.trim().is_empty() || source.chars().count() > 100 {
                problems.push(format!("{at}.source: must be 1 to 100 characters"));
            }
        }
    }

    for (name, source) in &intake.sources {
        let at = format!("intake.sources.{name}");
        if !is_valid_name(name) {
            problems.push(format!(
                "{at}: a source name is 1 to {NAME_MAX_CHARS} lower-case letters, digits, '-' or '_'"
            ));
        }
        for (i, kind) in source.signals.iter().enumerate() {
            if !known(kind) {
                problems.push(format!("{at}.signals[{i}]: unknown signal type \"{kind}\""));
            } else if is_sales(kind) && !source.sales {
                problems.push(format!(
                    "{at}.signals[{i}]: \"{kind}\" is a sales-side signal; set sales = true if this source is a sales system (CRM)"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        for ok in [
            "https://www.example.com",
            "http://127.0.0.1:8080",
            "https://a-b.example",
        ] {
            assert!(is_origin(ok), "{ok}");
        }
        for bad in [
            "https://www.example.com/",
            "www.example.com",
            "https://x.com/path",
            "ftp://x.com",
            "https://",
            "https://x.com:",
            "https://x.com:99999x",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }

    #[test]
    fn names_are_short_lower_case_words() {
        assert!(is_valid_name("demo"));
        assert!(is_valid_name("crm_2-b"));
        assert!(!is_valid_name("Demo"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("a b"));
        assert!(!is_valid_name(&"a".repeat(41)));
    }
}
