//! HTML form bodies (`application/x-www-form-urlencoded`), decoded strictly. The usual
//! decoders (`serde_urlencoded`, `form_urlencoded`) follow the URL standard, which is
//! lenient on purpose: `%ZZ` is kept as the three characters and `%E9` (Latin-1 "é",
//! invalid UTF-8) becomes U+FFFD. Either way the lead would be stored with text the
//! sender never typed. Here a malformed escape or a byte sequence that is not UTF-8
//! once decoded is refused, naming the field it is in, or `body` when the field's name
//! itself is broken (then no field can be named, and the body is unreadable: 400).

use percent_encoding::percent_decode;

use super::FieldError;
use crate::text::clip;

/// The body's `name=value` pairs, decoded, in order; empty pairs (`a=1&&b=2`) are
/// skipped as browsers do.
pub fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, Vec<FieldError>> {
    let mut pairs = Vec::new();
    let mut errors = Vec::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &pair[..0]),
        };
        let name = match decode(raw_name) {
            Ok(name) => name,
            Err(problem) => {
                errors.push(FieldError::new("body", format!("a field name {problem}")));
                continue;
            }
        };
        match decode(raw_value) {
            Ok(value) => pairs.push((name, value)),
            Err(problem) => errors.push(FieldError::new(clip(&name, 100), problem)),
        }
    }
    if errors.is_empty() {
        Ok(pairs)
    } else {
        Err(errors)
    }
}

/// One name or value: `+` is a space, `%XX` a byte, and the bytes must be UTF-8.
fn decode(raw: &[u8]) -> Result<String, String> {
    if let Some(at) = malformed_escape(raw) {
        let shown: String = raw[at..]
            .iter()
            .take(3)
            .map(|b| {
                if b.is_ascii_graphic() {
                    char::from(*b)
                } else {
                    '?'
                }
            })
            .collect();
        return Err(format!(
            "has a malformed percent-escape \"{shown}\" (a % must be followed by two hex digits)"
        ));
    }
    let spaced: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_decode(&spaced)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| {
            "is not UTF-8 once percent-decoded (send the form as UTF-8: accept-charset=\"UTF-8\")"
                .to_string()
        })
}

/// Where the first `%` not followed by two hex digits is.
fn malformed_escape(raw: &[u8]) -> Option<usize> {
    raw.iter().enumerate().find_map(|(i, b)| {
        let well_formed = raw
            .get(i + 1..i + 3)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit));
        (*b == b'%' && !well_formed).then_some(i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(body: &str) -> Vec<(String, String)> {
        form_pairs(body.as_bytes()).unwrap()
    }

    fn refused(body: &[u8]) -> Vec<FieldError> {
        form_pairs(body).unwrap_err()
    }

    #[test]
    fn well_formed_forms_decode_like_a_browser_sent_them() {
        assert_eq!(
            pairs("email=ana%40acme.io&message=Hi+there%2B%3F&&flag&first_name=Zo%C3%AB"),
            vec![
                ("email".into(), "ana@acme.io".into()),
                ("message".into(), "Hi there+?".into()),
                ("flag".into(), String::new()),
                ("first_name".into(), "Zoë".into()),
            ]
        );
        assert_eq!(pairs("a=b=c"), vec![("a".into(), "b=c".into())]);
        assert_eq!(pairs("name=Zoë"), vec![("name".into(), "Zoë".into())]);
        assert!(pairs("").is_empty());
    }

    #[test]
    fn a_byte_that_is_not_utf8_names_its_field() {
        let errors = refused(b"email=a%40b.co&first_name=%E9");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "first_name");
        assert!(errors[0].problem.contains("UTF-8"), "{errors:?}");
        // Raw (not escaped) Latin-1 bytes are no better.
        assert_eq!(refused(b"company=Caf\xe9")[0].field, "company");
        // Half a UTF-8 sequence.
        assert_eq!(refused(b"last_name=M%C3")[0].field, "last_name");
    }

    #[test]
    fn malformed_escapes_name_their_field() {
        for (body, field) in [
            ("email=a%40b.co&first_name=%ZZ", "first_name"),
            ("title=100%", "title"),
            ("title=50%2", "title"),
            ("company=%%41", "company"),
        ] {
            let errors = refused(body.as_bytes());
            assert_eq!(errors[0].field, field, "{body}");
            assert!(errors[0].problem.contains("percent-escape"), "{errors:?}");
        }
    }

    #[test]
    fn a_broken_field_name_names_the_body_and_every_problem_is_listed() {
        let errors = refused(b"na%ZZme=x&first_name=%E9&email=%G0");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["body", "first_name", "email"]);
        assert_eq!(refused(b"%FF=x")[0].field, "body");
    }

    #[test]
    fn no_replacement_character_is_ever_made() {
        for body in [&b"a=%E9"[..], b"a=%FF%FE", b"a=%ED%A0%80", b"a=%C0%AF"] {
            assert!(
                form_pairs(body).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
