//! A lead post's body as text, whatever a sender or a browser made of it: JSON, a
//! URL-encoded form or `multipart/form-data` (what many form builders send), in the
//! charset it declares.
//!
//! Charsets are decoded here, before any parser sees the text, and strictly: a byte
//! that is not valid in the declared charset is refused with the field it is in, and
//! no replacement character is ever stored. The charset is the one the request declares
//! (`Content-Type: ...; charset=windows-1252`), else the one a browser wrote into a
//! hidden `_charset_` field (HTML's convention: browsers do not label form posts), else
//! UTF-8. A UTF-8 URL-encoded body is checked here and then handed, as it is, to the
//! core's form decoder ([`leadwatch_core::lead::form_pairs`]), which owns the rules on
//! percent-encoding; a body in another charset is decoded here and only its UTF-8
//! text goes on.

use axum::body::{Body as AxumBody, Bytes};
use axum::extract::{FromRequest, Multipart};
use axum::http::{header, HeaderMap, Request, StatusCode};
use encoding_rs::{Encoding, UTF_8};
use percent_encoding::percent_decode;

use leadwatch_core::intake::CHARSET_FIELD;
use leadwatch_core::lead::{form_pairs, FieldError};
use leadwatch_core::text::clip;

use crate::error::ApiError;
use crate::request::{content_type, header_str};

/// A post's body, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum PostBody {
    /// A JSON document, as UTF-8.
    Json(Vec<u8>),
    /// Form fields (URL-encoded or multipart), decoded, in order.
    Form(Vec<(String, String)>),
}

/// Decode `raw` as its `Content-Type` says. A form's `_charset_` field is spent on
/// decoding it and is not among the fields returned.
pub async fn decode(headers: &HeaderMap, raw: Bytes) -> Result<PostBody, ApiError> {
    let declared = declared_charset(headers)?;
    let fields = |mut pairs: Vec<(String, String)>| {
        pairs.retain(|(name, _)| name != CHARSET_FIELD);
        PostBody::Form(pairs)
    };
    match content_type(headers).as_str() {
        "application/json" | "" => json(raw, declared).map(PostBody::Json),
        "application/x-www-form-urlencoded" => url_encoded(&raw, declared).map(fields),
        "multipart/form-data" => multipart(headers, raw, declared).await.map(fields),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "Content-Type {} is not accepted; send application/json, \
                 application/x-www-form-urlencoded or multipart/form-data",
                clip(other, 80)
            ),
        )),
    }
}

/// The `charset` parameter of the request's `Content-Type`, if any.
fn declared_charset(headers: &HeaderMap) -> Result<Option<&'static Encoding>, ApiError> {
    let Some(label) = header_str(headers, header::CONTENT_TYPE.as_str()).and_then(charset_param)
    else {
        return Ok(None);
    };
    Encoding::for_label(label.as_bytes()).map(Some).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_charset",
            format!(
                "charset {} is not a known character encoding; send UTF-8 or declare a known charset such as windows-1252",
                clip(&label, 40)
            ),
        )
    })
}

/// `charset=...` of a media type (`text/x; charset="utf-8"`).
fn charset_param(media_type: &str) -> Option<String> {
    media_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// A charset named in a `_charset_` field.
fn field_charset(label: &str) -> Result<&'static Encoding, ApiError> {
    Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
        ApiError::invalid(vec![FieldError::new(
            CHARSET_FIELD,
            format!("\"{}\" is not a known character encoding", clip(label, 40)),
        )])
    })
}

/// `bytes` of field `field` as text in `encoding`; refused, naming the field, if they
/// are not valid in it.
fn decode_text(
    field: &str,
    bytes: &[u8],
    encoding: &'static Encoding,
) -> Result<String, FieldError> {
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
        .ok_or_else(|| {
            let hint = if encoding == UTF_8 {
                "; the page sent another charset: declare it (a hidden `_charset_` field, or `; charset=` in Content-Type)"
            } else {
                ""
            };
            FieldError::new(
                clip(field, 40),
                format!("is not valid {} text{hint}", encoding.name()),
            )
        })
}

fn json(raw: Bytes, declared: Option<&'static Encoding>) -> Result<Vec<u8>, ApiError> {
    match declared {
        Some(encoding) if encoding != UTF_8 => decode_text("body", &raw, encoding)
            .map(String::into_bytes)
            .map_err(|e| ApiError::invalid(vec![e])),
        // UTF-8, declared or not: the JSON parser refuses anything else as `body`.
        _ => Ok(raw.to_vec()),
    }
}

/// One `name=value` of a URL-encoded body, still encoded.
fn raw_pairs(raw: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    raw.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &pair[pair.len()..]),
        })
}

/// The bytes a URL-encoded component stands for (`+` is a space).
fn unescape(component: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = component
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_decode(&spaced).collect()
}

/// Does `component` hold a `%` that is not followed by two hex digits?
fn has_malformed_escape(component: &[u8]) -> bool {
    component.iter().enumerate().any(|(i, b)| {
        *b == b'%'
            && !(component.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && component.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

fn url_encoded(
    raw: &[u8],
    declared: Option<&'static Encoding>,
) -> Result<Vec<(String, String)>, ApiError> {
    let from_field = raw_pairs(raw)
        .find(|(name, _)| *name == CHARSET_FIELD.as_bytes())
        .map(|(_, value)| String::from_utf8_lossy(&unescape(value)).into_owned())
        .filter(|label| !label.trim().is_empty());
    let encoding = match (declared, from_field) {
        (Some(encoding), _) => encoding,
        (None, Some(label)) => field_charset(&label)?,
        (None, None) => UTF_8,
    };
    let mut errors = Vec::new();
    if encoding == UTF_8 {
        // Checked, not decoded: the core's decoder reads the body as it is.
        for (name, value) in raw_pairs(raw) {
            let name = match String::from_utf8(unescape(name)) {
                Ok(name) => name,
                Err(_) => {
                    errors.push(FieldError::new(
                        "body",
                        "has a field name that is not valid UTF-8",
                    ));
                    continue;
                }
            };
            if let Err(e) = decode_text(&name, &unescape(value), UTF_8) {
                errors.push(e);
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::invalid(errors));
        }
        return form_pairs(raw).map_err(ApiError::invalid);
    }
    let mut pairs = Vec::new();
    for (name, value) in raw_pairs(raw) {
        let name = match decode_text("body", &unescape(name), encoding) {
            Ok(name) if !has_malformed_escape(name.as_bytes()) => name,
            _ => {
                errors.push(FieldError::new(
                    "body",
                    "has a field name that cannot be decoded",
                ));
                continue;
            }
        };
        if has_malformed_escape(value) {
            errors.push(FieldError::new(
                clip(&name, 40),
                "has a malformed percent-encoding (a % not followed by two hex digits)",
            ));
            continue;
        }
        match decode_text(&name, &unescape(value), encoding) {
            Ok(value) => pairs.push((name, value)),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(pairs)
    } else {
        Err(ApiError::invalid(errors))
    }
}

async fn multipart(
    headers: &HeaderMap,
    raw: Bytes,
    declared: Option<&'static Encoding>,
) -> Result<Vec<(String, String)>, ApiError> {
    let malformed = |e: &dyn std::fmt::Display| {
        ApiError::invalid(vec![FieldError::new(
            "body",
            format!(
                "is not valid multipart/form-data: {}",
                clip(&e.to_string(), 200)
            ),
        )])
    };
    let mut request = Request::new(AxumBody::from(raw));
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        request
            .headers_mut()
            .insert(header::CONTENT_TYPE, ct.clone());
    }
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| malformed(&e))?;
    let mut parts: Vec<(String, Option<&'static Encoding>, Bytes)> = Vec::new();
    let mut errors = Vec::new();
    while let Some(field) = form.next_field().await.map_err(|e| malformed(&e))? {
        let name = field.name().unwrap_or_default().to_string();
        if field.file_name().is_some() {
            errors.push(FieldError::new(
                clip(&name, 40),
                "is a file upload; lead forms take text fields only",
            ));
            continue;
        }
        let own = field
            .content_type()
            .and_then(charset_param)
            .and_then(|label| Encoding::for_label(label.as_bytes()));
        let bytes = field.bytes().await.map_err(|e| malformed(&e))?;
        parts.push((name, own, bytes));
    }
    let from_field = parts
        .iter()
        .find(|(name, _, _)| name == CHARSET_FIELD)
        .map(|(_, _, v)| String::from_utf8_lossy(v).into_owned())
        .filter(|label| !label.trim().is_empty());
    let default = match (declared, from_field) {
        (Some(encoding), _) => encoding,
        (None, Some(label)) => field_charset(&label)?,
        (None, None) => UTF_8,
    };
    let mut pairs = Vec::new();
    for (name, own, bytes) in parts {
        match decode_text(&name, &bytes, own.unwrap_or(default)) {
            Ok(value) => pairs.push((name, value)),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(pairs)
    } else {
        Err(ApiError::invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        h
    }

    async fn form(content_type: &str, body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
        match decode(&headers(content_type), Bytes::copy_from_slice(body)).await? {
            PostBody::Form(pairs) => Ok(pairs),
            PostBody::Json(_) => panic!("not a form"),
        }
    }

    fn value<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
        &pairs.iter().find(|(k, _)| k == name).unwrap().1
    }

    #[tokio::test]
    async fn a_windows_1252_form_is_decoded_from_its_declared_charset() {
        let url = "application/x-www-form-urlencoded";
        let body = b"email=jos%E9%40acme.io&company=Caf%E9+%93Cr%E8me%94";
        let declared = form(&format!("{url}; charset=windows-1252"), body)
            .await
            .unwrap();
        assert_eq!(value(&declared, "email"), "jos\u{e9}@acme.io");
        assert_eq!(
            value(&declared, "company"),
            "Caf\u{e9} \u{201c}Cr\u{e8}me\u{201d}"
        );
        let mut with_field = body.to_vec();
        with_field.extend_from_slice(b"&_charset_=windows-1252");
        let from_field = form(url, &with_field).await.unwrap();
        assert_eq!(value(&from_field, "company"), value(&declared, "company"));
        let latin1 = form(&format!("{url}; charset=iso-8859-1"), b"n=Ren%E9")
            .await
            .unwrap();
        assert_eq!(value(&latin1, "n"), "Ren\u{e9}");
    }

    #[tokio::test]
    async fn bytes_that_are_not_utf8_are_refused_naming_the_field() {
        let err = form(
            "application/x-www-form-urlencoded",
            b"email=a%40b.io&company=Caf%E9",
        )
        .await
        .unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.fields[0].field, "company");
        assert!(err.fields[0].problem.contains("not valid UTF-8"), "{err:?}");
        // UTF-8 itself passes, percent-encoded or not.
        let ok = form("application/x-www-form-urlencoded", b"company=Caf%C3%A9")
            .await
            .unwrap();
        assert_eq!(value(&ok, "company"), "Caf\u{e9}");
    }

    #[tokio::test]
    async fn charsets_nobody_knows_are_refused() {
        let err = form("application/x-www-form-urlencoded; charset=klingon", b"a=b")
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let err = form(
            "application/x-www-form-urlencoded",
            b"a=b&_charset_=klingon",
        )
        .await
        .unwrap_err();
        assert_eq!(err.fields[0].field, "_charset_");
        let err = form(
            "application/x-www-form-urlencoded; charset=windows-1252",
            b"a=%E",
        )
        .await
        .unwrap_err();
        assert_eq!(err.fields[0].field, "a");
    }

    #[tokio::test]
    async fn multipart_fields_are_read_in_their_charset_and_files_refused() {
        let body =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\ndana@acme.io\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"company\"\r\n\r\nCaf\xe9\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"_charset_\"\r\n\r\nwindows-1252\r\n--XyZ--\r\n";
        let pairs = form("multipart/form-data; boundary=XyZ", body)
            .await
            .unwrap();
        assert_eq!(value(&pairs, "company"), "Caf\u{e9}");
        assert_eq!(value(&pairs, "email"), "dana@acme.io");
        let file = b"--XyZ\r\nContent-Disposition: form-data; name=\"cv\"; filename=\"cv.pdf\"\r\n\r\n%PDF\r\n--XyZ--\r\n";
        let err = form("multipart/form-data; boundary=XyZ", file)
            .await
            .unwrap_err();
        assert_eq!(err.fields[0].field, "cv");
        let err = form("multipart/form-data; boundary=XyZ", b"garbage")
            .await
            .unwrap_err();
        assert_eq!(err.fields[0].field, "body");
    }

    #[tokio::test]
    async fn json_in_another_declared_charset_is_decoded() {
        let got = decode(
            &headers("application/json; charset=windows-1252"),
            Bytes::from_static(b"{\"company\":\"Caf\xe9\"}"),
        )
        .await
        .unwrap();
        assert_eq!(
            got,
            PostBody::Json("{\"company\":\"Caf\u{e9}\"}".as_bytes().to_vec())
        );
        let err = decode(&headers("text/csv"), Bytes::new())
            .await
            .unwrap_err();
        assert_eq!(err.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}
