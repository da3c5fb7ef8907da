//! Text that came from a lead travels into alerts, CSV files and terminals. These helpers
//! make it safe to show there: no control characters, bounded length.

/// Replace control characters (including newlines and escape sequences) with spaces,
/// collapse runs of whitespace, and cut to `max_chars` characters with an ellipsis.
pub fn clip(text: &str, max_chars: usize) -> String {
    let mut cleaned = String::with_capacity(text.len().min(max_chars * 4));
    let mut last_space = true;
    for c in text.chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        cleaned.push(c);
    }
    let trimmed = cleaned.trim_end();
    if trimmed.chars().count() <= max_chars {
        return trimmed.to_string();
    }
    let mut cut: String = trimmed.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_controls_and_caps_length() {
        assert_eq!(clip("a\u{1b}[31mred\r\nline\t2", 100), "a [31mred line 2");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("  lead  ", 10), "lead");
    }
}
