//! One mapping from what went wrong to an HTTP status and a JSON body, so every route of
//! every function answers errors in the same shape: `{"error": code, "message": ...,
//! "fields": [...]}` plus any route-specific extras (the allowed reasons, the current
//! state of a lead).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};

use leadwatch_adapters::store::StoreError;
use leadwatch_core::lead::FieldError;
use leadwatch_core::text::clip;

/// A JSON response with `status`.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    let mut response = (status, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// An error response: `{"error": code, "message": ..., "fields": [...]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<FieldError>,
    pub extra: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
            extra: None,
        }
    }

    /// Bad fields: 400 when the body could not be read at all, 422 when it could but
    /// its fields are wrong.
    pub fn invalid(fields: Vec<FieldError>) -> Self {
        let unreadable = fields.iter().any(|f| f.field == "body");
        let message = fields
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        let (status, code) = if unreadable {
            (StatusCode::BAD_REQUEST, "malformed_body")
        } else {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields")
        };
        ApiError {
            status,
            code,
            message,
            fields,
            extra: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// A path no route serves.
    pub fn no_route(method: &str, path: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_route",
            format!("no route for {method} {}", clip(path, 200)),
        )
    }

    /// Adds route-specific members to the JSON body.
    pub fn with_extra(mut self, extra: Value) -> Self {
        self.extra = Some(extra);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code, "message": self.message });
        if !self.fields.is_empty() {
            body["fields"] = json!(self.fields);
        }
        if let Some(Value::Object(extra)) = self.extra {
            for (k, v) in extra {
                body[k] = v;
            }
        }
        json_response(self.status, &body)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            // Still conflicting after every retry: the client may simply retry.
            StoreError::Conflict => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the lead is being changed by other requests; retry",
            ),
            StoreError::DuplicateRequest => ApiError::new(
                StatusCode::CONFLICT,
                "duplicate_request",
                "a request with this idempotency key is being processed",
            ),
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the lead store is unavailable; retry later",
                )
            }
        }
    }
}

/// 405 with the `Allow` header HTTP requires, the same from every function.
pub fn method_not_allowed(allow: &'static str) -> Response {
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("this path accepts {allow} only"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}
