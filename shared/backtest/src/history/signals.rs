//! The `signals` cell of a history file: a lead's signals in one CSV cell, as
//! `kind@time[/Ns][/q]` items separated by `;`. Read and written here so the format has
//! one definition.

use chrono::SecondsFormat;

use leadwatch_core::lead::Signal;

use super::row::{parse_time, shown};
use super::MAX_SECONDS_ON_PAGE;

/// Parse a `signals` cell: `kind@time[/Ns][/q]` items separated by `;`, for example
/// `pricing_page_visit@2026-11-02T10:00:00Z/140s; email_reply@2026-11-03T09:12:00Z/q`.
/// `/140s` is the time on page in seconds, `/q` marks a question. Empty items are
/// skipped, so a trailing `;` is fine. The problem names the item by its position.
pub fn parse_signals(cell: &str) -> Result<Vec<Signal>, String> {
    let mut signals = Vec::new();
    for (i, item) in cell
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        let n = i + 1;
        let bad = |problem: String| format!("signal {n} \"{}\": {problem}", shown(item));
        let Some((kind, rest)) = item.split_once('@') else {
            return Err(bad(
                "expected type@time, for example pricing_page_visit@2026-11-02T10:00:00Z".into(),
            ));
        };
        let kind = kind.trim();
        if kind.is_empty()
            || !kind
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad(format!(
                "\"{}\" is not a signal type (letters, digits, _ and -)",
                shown(kind)
            )));
        }
        let mut parts = rest.split('/');
        let time = parts.next().unwrap_or("").trim();
        let at = parse_time(time).map_err(bad)?;
        let mut seconds_on_page = None;
        let mut question = false;
        for modifier in parts.map(str::trim) {
            if modifier == "q" {
                question = true;
            } else if let Some(number) = modifier.strip_suffix('s') {
                match number.parse::<u32>() {
                    Ok(s) if s <= MAX_SECONDS_ON_PAGE => seconds_on_page = Some(s),
                    _ => {
                        return Err(bad(format!(
                            "\"{modifier}\" is not a time on page from 0s to {MAX_SECONDS_ON_PAGE}s"
                        )))
                    }
                }
            } else {
                return Err(bad(format!(
                    "unknown modifier \"/{}\" (use /Ns for seconds on page, /q for a question)",
                    shown(modifier)
                )));
            }
        }
        signals.push(Signal {
            kind: kind.to_string(),
            at,
            seconds_on_page,
            question,
            detail: None,
        });
    }
    Ok(signals)
}

/// The `signals` cell for these signals; [`parse_signals`] reads it back. The detail
/// text is not written: it never changes a score.
pub fn encode_signals(signals: &[Signal]) -> String {
    let mut out = String::with_capacity(signals.len() * 40);
    for (i, s) in signals.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&s.kind);
        out.push('@');
        out.push_str(&s.at.to_rfc3339_opts(SecondsFormat::Secs, true));
        if let Some(seconds) = s.seconds_on_page {
            out.push_str(&format!("/{seconds}s"));
        }
        if s.question {
            out.push_str("/q");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_cell_round_trips() {
        let cell = "pricing_page_visit@2026-11-02T10:00:00Z/140s; email_reply@2026-11-03T09:12:00+01:00/q;";
        let signals = parse_signals(cell).unwrap();
        assert_eq!(signals.len(), 2);
        assert_eq!(signals[0].seconds_on_page, Some(140));
        assert!(signals[1].question);
        assert_eq!(signals[1].at.to_rfc3339(), "2026-11-03T08:12:00+00:00");
        assert_eq!(parse_signals(&encode_signals(&signals)).unwrap(), signals);
        assert_eq!(parse_signals("").unwrap(), vec![]);
    }

    #[test]
    fn bad_signal_items_are_named_by_position() {
        let err =
            parse_signals("blog_view@2026-11-02T10:00:00Z; demo_request@yesterday").unwrap_err();
        assert!(
            err.starts_with("signal 2 \"demo_request@yesterday\""),
            "{err}"
        );
        let err = parse_signals("blog_view@2026-11-02T10:00:00Z/x").unwrap_err();
        assert!(err.contains("unknown modifier \"/x\""), "{err}");
        let err = parse_signals("blog_view 2026-11-02").unwrap_err();
        assert!(err.contains("expected type@time"), "{err}");
        let err = parse_signals("blog_view@2026-11-02T10:00:00Z/99999s").unwrap_err();
        assert!(err.contains("0s to 86400s"), "{err}");
    }
}
