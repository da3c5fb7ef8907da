//! JSON request bodies, read strictly. `serde_json::Value` resolves a duplicate key by
//! keeping the last value, so `{"email": "a@x.io", "email": "b@x.io"}` would be a lead
//! for whichever address the parser happened to see last, and a proxy or a log that
//! keeps the first would disagree with us about what was sent. Every body the API
//! accepts is read here instead, and a key that appears twice in any object, at any
//! depth, is refused by its path (`email`, `signals[0].type`).

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::FieldError;
use crate::text::clip;

/// What a duplicate key is called in errors: 422 `invalid_fields` naming its path,
/// like a form field sent twice.
pub const DUPLICATE_KEY: &str = "appears more than once";

/// Keys are shown in paths, clipped: a hostile key may be 60 KB long.
const KEY_CHARS: usize = 100;

/// The body as a JSON object, or the field error saying why not: `body` when it is
/// not UTF-8, not JSON or not an object (a 400), the key's path when a key repeats (a
/// 422).
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, Vec<FieldError>> {
    let text = std::str::from_utf8(body)
        .map_err(|_| vec![FieldError::new("body", "is not valid UTF-8")])?;
    let duplicate = RefCell::new(None);
    let seed = StrictValue {
        path: String::new(),
        duplicate: &duplicate,
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = seed
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match parsed {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(vec![FieldError::new("body", "must be a JSON object")]),
        Err(e) => match duplicate.into_inner() {
            Some(path) => Err(vec![FieldError::new(path, DUPLICATE_KEY)]),
            None => Err(vec![FieldError::new(
                "body",
                format!("is not valid JSON: {e}"),
            )]),
        },
    }
}

/// Builds a `Value` like serde_json's own visitor, refusing repeated keys. `path` is
/// where this value sits; the first duplicate's path is left in `duplicate`, since a
/// serde error can carry only a message.
struct StrictValue<'a> {
    path: String,
    duplicate: &'a RefCell<Option<String>>,
}

impl StrictValue<'_> {
    fn child(&self, path: String) -> Self {
        StrictValue {
            path,
            duplicate: self.duplicate,
        }
    }

    fn key_path(&self, key: &str) -> String {
        let key = clip(key, KEY_CHARS);
        if self.path.is_empty() {
            key
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity, so this is always a number.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) =
            seq.next_element_seed(self.child(format!("{}[{}]", self.path, items.len())))?
        {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = self.key_path(&key);
            if object.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(path);
                return Err(de::Error::custom(DUPLICATE_KEY));
            }
            let value = map.next_value_seed(self.child(path))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn duplicate_in(body: &str) -> Option<String> {
        match json_object(body.as_bytes()) {
            Err(errors) if errors[0].problem == DUPLICATE_KEY => Some(errors[0].field.clone()),
            _ => None,
        }
    }

    #[test]
    fn a_repeated_key_is_named_by_its_path_at_any_depth() {
        assert_eq!(
            duplicate_in(r#"{"email":"a@x.io","email":"b@x.io"}"#).as_deref(),
            Some("email")
        );
        assert_eq!(
            duplicate_in(r#"{"email":"a@x.io","signals":[{"type":"a","at":null,"type":"b"}]}"#)
                .as_deref(),
            Some("signals[0].type")
        );
        assert_eq!(
            duplicate_in(r#"{"signals":[{},{"x":{"y":1,"y":2}}]}"#).as_deref(),
            Some("signals[1].x.y")
        );
        assert_eq!(
            duplicate_in(r#"{"by":"sam","by":"sam"}"#).as_deref(),
            Some("by"),
            "even the same value twice is refused"
        );
    }

    #[test]
    fn an_escaped_spelling_of_the_same_key_is_the_same_key() {
        assert_eq!(
            duplicate_in(r#"{"email":"a@x.io","\u0065mail":"b@x.io"}"#).as_deref(),
            Some("email")
        );
    }

    #[test]
    fn a_long_duplicate_key_is_clipped_in_the_path() {
        let key = "k".repeat(5_000);
        let field = duplicate_in(&format!(r#"{{"{key}":1,"{key}":2}}"#)).unwrap();
        assert_eq!(field.chars().count(), KEY_CHARS);
    }

    #[test]
    fn values_read_strictly_equal_serde_jsons() {
        let body = r#"{"a":[1,-2,3.5,1e400,null,true,"x",{"b":{}}],"c":18446744073709551615,
                      "d":"\u00e9\ud83d\ude00","e":-9223372036854775808}"#;
        let strict = json_object(body.as_bytes());
        // 1e400 overflows f64: serde_json refuses it, and so does the strict reader.
        assert_eq!(strict.unwrap_err()[0].field, "body");
        let body = body.replace("1e400", "1e300");
        let strict = Value::Object(json_object(body.as_bytes()).unwrap());
        let loose: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(strict, loose);
        assert_eq!(strict["d"], json!("é😀"));
    }

    #[test]
    fn unreadable_bodies_still_name_the_body() {
        for body in [&b"{\"a\":"[..], b"[1]", b"{} {}", b"{\"a\":1}x", b"\xff"] {
            let errors = json_object(body).unwrap_err();
            assert_eq!(
                errors[0].field,
                "body",
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        // serde_json's depth limit holds for this visitor too: no stack overflow.
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(60_000), "]".repeat(60_000));
        assert_eq!(json_object(deep.as_bytes()).unwrap_err()[0].field, "body");
        // Unpaired surrogates cannot become a Rust string.
        assert_eq!(
            json_object(br#"{"a":"\ud800"}"#).unwrap_err()[0].field,
            "body"
        );
    }
}
