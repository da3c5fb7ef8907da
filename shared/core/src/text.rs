//! Text that came from a lead travels into alerts, CSV files and terminals. These helpers
//! make it safe to show there: no control characters, no invisible format characters,
//! bounded length.
//!
//! Invisible format characters (Unicode general category `Cf`) are the hostile part of
//! otherwise printable text: bidirectional controls (U+202A..U+202E, U+2066..U+2069,
//! U+200E/U+200F, U+061C) make a phone number or a name display reversed in an alert
//! email, and zero-width characters (U+200B, U+2060, U+FEFF, the soft hyphen U+00AD)
//! make two different strings look the same. Lead text loses them when it enters the
//! domain (`lead::text_value`) and again on the way out ([`clip`], the CSV export), so
//! data stored before that rule is cleaned too.

use std::borrow::Cow;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The zero-width non-joiner and joiner are format characters too, but Persian and the
/// Indic scripts need them to spell words and emoji sequences are built with them; they
/// reorder nothing, so text keeps them (an email address does not, see
/// [`first_format_char`]).
const JOINERS: [char; 2] = ['\u{200C}', '\u{200D}'];

/// A character that is invisible and changes how the text around it displays or
/// compares: a format character (`Cf`) other than the two joiners.
pub fn is_hidden_format(c: char) -> bool {
    // ASCII holds no format character; skipping the table's binary search for it makes
    // cleaning the usual (ASCII) text several times faster.
    !c.is_ascii() && c.general_category() == GeneralCategory::Format && !JOINERS.contains(&c)
}

/// The first format character (`Cf`, joiners included) in `text`: an identifier such as
/// an email address has no business holding any.
pub fn first_format_char(text: &str) -> Option<char> {
    text.chars()
        .find(|c| c.general_category() == GeneralCategory::Format)
}

/// `U+200B`: how an error message names a character that cannot be shown.
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// `text` without its hidden format characters (see [`is_hidden_format`]); borrowed when
/// there is nothing to remove, which is nearly always.
pub fn strip_hidden(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_hidden_format) {
        Cow::Owned(text.chars().filter(|c| !is_hidden_format(*c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// Drop hidden format characters, replace control characters (including newlines and
/// escape sequences) with spaces, collapse runs of whitespace, and cut to `max_chars`
/// characters with an ellipsis.
pub fn clip(text: &str, max_chars: usize) -> String {
    let mut clipped = String::with_capacity(text.len().min(max_chars * 4));
    clip_into(&mut clipped, text, max_chars);
    clipped
}

/// [`clip`], appended to `out`: a caller building a line writes the clipped text in place
/// instead of allocating it first.
pub fn clip_into(out: &mut String, text: &str, max_chars: usize) {
    if text.is_ascii() {
        clip_ascii_into(out, text, max_chars);
        return;
    }
    let start = out.len();
    let mut last_space = true;
    for c in text.chars() {
        if is_hidden_format(c) {
            continue;
        }
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
        out.push(c);
    }
    let trimmed_len = out[start..].trim_end().len();
    out.truncate(start + trimmed_len);
    // Longer than `max_chars`: keep `max_chars - 1` characters and the ellipsis.
    if out[start..].chars().nth(max_chars).is_some() {
        let keep = out[start..]
            .char_indices()
            .nth(max_chars.saturating_sub(1))
            .map_or(out.len() - start, |(i, _)| i);
        out.truncate(start + keep);
        out.push('…');
    }
}

/// [`clip_into`] for ASCII text, the usual case (a page path, a short reply), word by word
/// instead of character by character: ASCII holds no format character, its whitespace is
/// a space or a control character, and each character is one byte.
fn clip_ascii_into(out: &mut String, text: &str, max_chars: usize) {
    let start = out.len();
    // Tidy text (no control character, no space at either end or next to another) is
    // copied as it is.
    let mut after_space = true;
    let tidy = text.bytes().all(|b| {
        let keep = !(b.is_ascii_control() || (b == b' ' && after_space));
        after_space = b == b' ';
        keep
    }) && !text.ends_with(' ');
    if tidy {
        out.push_str(text);
    } else {
        clip_words_into(out, text);
    }
    if out.len() - start > max_chars {
        out.truncate(start + max_chars.saturating_sub(1));
        out.push('…');
    }
}

/// The words of ASCII `text`, one space apart: what cleaning leaves of it.
fn clip_words_into(out: &mut String, text: &str) {
    let start = out.len();
    for word in text
        .split(|c: char| c == ' ' || c.is_ascii_control())
        .filter(|word| !word.is_empty())
    {
        if out.len() > start {
            out.push(' ');
        }
        out.push_str(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of hidden format character named by issue 13: bidi embeddings and
    /// overrides, isolates, marks, zero-width space, word joiner, BOM, soft hyphen, a
    /// tag character, the Arabic letter mark.
    const HIDDEN: [char; 18] = [
        '\u{200B}',
        '\u{200E}',
        '\u{200F}',
        '\u{202A}',
        '\u{202B}',
        '\u{202C}',
        '\u{202D}',
        '\u{202E}',
        '\u{2066}',
        '\u{2067}',
        '\u{2068}',
        '\u{2069}',
        '\u{FEFF}',
        '\u{00AD}',
        '\u{2060}',
        '\u{061C}',
        '\u{E0041}',
        '\u{180E}',
    ];

    #[test]
    fn ascii_holds_no_format_character() {
        // What the fast path of `is_hidden_format` relies on.
        for c in '\0'..='\x7f' {
            assert_ne!(
                c.general_category(),
                GeneralCategory::Format,
                "{}",
                code_point(c)
            );
        }
    }

    #[test]
    fn clip_into_appends_what_clip_returns() {
        for (text, max) in [
            ("abcdef", 4),
            ("abcd", 4),
            ("  lead  ", 10),
            ("x", 0),
            ("", 0),
        ] {
            let mut out = String::from("> ");
            clip_into(&mut out, text, max);
            assert_eq!(out, format!("> {}", clip(text, max)), "{text:?} {max}");
        }
        assert_eq!(clip("x", 0), "…");
        assert_eq!(clip("", 0), "");
    }

    /// The general path of `clip_into`, for comparing the ASCII one with.
    fn clip_chars(text: &str, max_chars: usize) -> String {
        let mut out = String::from("> ");
        // A non-ASCII character cut off at once keeps the general path, and drops out.
        let long = format!("{text}\u{200B}");
        clip_into(&mut out, &long, max_chars);
        out
    }

    #[test]
    fn the_ascii_path_clips_as_the_general_one_does() {
        // Every string of up to five characters from an alphabet with a letter, a space,
        // a tab, a newline, DEL and an escape, at every length limit around it.
        let alphabet = ['a', ' ', '\t', '\n', '\u{7f}', '\u{1b}', 'Z'];
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = texts
                .iter()
                .filter(|t| t.len() == texts.last().map_or(0, String::len))
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            texts.extend(longer);
        }
        for text in &texts {
            for max in 0..7 {
                let mut out = String::from("> ");
                clip_into(&mut out, text, max);
                assert_eq!(out, clip_chars(text, max), "{text:?} {max}");
            }
        }
    }

    #[test]
    fn strips_controls_and_caps_length() {
        assert_eq!(clip("a\u{1b}[31mred\r\nline\t2", 100), "a [31mred line 2");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("  lead  ", 10), "lead");
    }

    #[test]
    fn every_hidden_format_character_is_found_and_dropped() {
        for c in HIDDEN {
            assert!(is_hidden_format(c), "{}", code_point(c));
            let text = format!("+1 555{c}0100");
            assert_eq!(strip_hidden(&text), "+1 5550100", "{}", code_point(c));
            assert_eq!(clip(&text, 40), "+1 5550100", "{}", code_point(c));
            assert_eq!(first_format_char(&text), Some(c));
        }
    }

    #[test]
    fn a_reversed_phone_number_reads_forwards_again() {
        // RLO ... PDF: displays as "0010-555 1+" in a bidi-aware mail client.
        let hostile = "\u{202E}+1 555-0100\u{202C}";
        assert_eq!(clip(hostile, 40), "+1 555-0100");
        assert_eq!(strip_hidden(hostile), "+1 555-0100");
    }

    #[test]
    fn joiners_stay_in_text_but_count_in_identifiers() {
        // Persian "mi-khaham" is spelled with a ZWNJ; a family emoji with ZWJs.
        let persian = "می\u{200C}خواهم";
        let family = "👩\u{200D}👩\u{200D}👧";
        assert_eq!(strip_hidden(persian), persian);
        assert_eq!(clip(family, 10), family);
        assert_eq!(first_format_char(persian), Some('\u{200C}'));
    }

    #[test]
    fn plain_text_is_borrowed_and_named_code_points_are_padded() {
        assert!(matches!(strip_hidden("Zoë Müller"), Cow::Borrowed(_)));
        assert_eq!(first_format_char("ana@acme.io"), None);
        assert_eq!(code_point('\u{AD}'), "U+00AD");
        assert_eq!(code_point('\u{E0041}'), "U+E0041");
    }
}
