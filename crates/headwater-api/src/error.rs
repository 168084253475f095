//! The one error type every handler returns, rendered as Contentstack's error body:
//! `{"error_message": "…", "error_code": N, "errors": {"field": ["…"]}}`.
//! The full code table is in docs/errors.md.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use headwater_core::policy::Denial;
use headwater_core::scope::FieldErrors;
use headwater_store::StoreError;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::OnceLock;

/// Error codes Headwater answers with. Codes Contentstack documents keep their meaning;
/// the others are Headwater's own and stable.
pub mod code {
    pub const MALFORMED_BODY: i64 = 100;
    pub const BODY_TOO_LARGE: i64 = 101;
    pub const BAD_LOGIN: i64 = 104;
    pub const NOT_LOGGED_IN: i64 = 105;
    pub const LOGIN_THROTTLED: i64 = 107;
    pub const INVALID_API_KEY: i64 = 109;
    pub const VALIDATION: i64 = 120;
    pub const NOT_FOUND: i64 = 141;
    pub const SSO_REQUIRED: i64 = 151;
    pub const ENVIRONMENT: i64 = 161;
    pub const FORBIDDEN: i64 = 162;
    pub const TOKEN_LIMIT: i64 = 171;
    pub const DELIVERY_TOKEN_LIMIT: i64 = 172;
    pub const TFA_REQUIRED: i64 = 294;
    pub const TFA_INVALID: i64 = 295;
    pub const UNKNOWN_ROUTE: i64 = 404;
    pub const RATE_LIMITED: i64 = 429;
    pub const UNAVAILABLE: i64 = 503;
    pub const INTERNAL: i64 = 500;
    pub const BRANCH_NOT_FOUND: i64 = 903;
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: i64,
    pub message: String,
    pub errors: Value,
    /// Extra top-level members (e.g. `tfa_type`) and response headers.
    pub extra: Map<String, Value>,
    pub headers: Vec<(&'static str, String)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: i64, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            errors: json!({}),
            extra: Map::new(),
            headers: Vec::new(),
        }
    }

    /// Adds `errors[field] = [message]`.
    pub fn field(mut self, field: &str, message: impl Into<String>) -> ApiError {
        if let Some(map) = self.errors.as_object_mut() {
            map.entry(field.to_string())
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .expect("errors entries are arrays")
                .push(Value::String(message.into()));
        }
        self
    }

    pub fn with(mut self, key: &str, value: Value) -> ApiError {
        self.extra.insert(key.to_string(), value);
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> ApiError {
        self.headers.push((name, value.into()));
        self
    }

    /// The single answer for every missing, malformed, unknown, expired or revoked credential.
    pub fn not_logged_in() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            code::NOT_LOGGED_IN,
            "You're not allowed in here unless you're logged in.",
        )
        .field("authtoken", "is not valid.")
    }

    pub fn forbidden(denial: Denial) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            code::FORBIDDEN,
            format!("{} (rule {})", denial.message, denial.rule),
        )
        .field("permission", format!("denied by rule {}", denial.rule))
    }

    pub fn validation(message: impl Into<String>, errors: FieldErrors) -> ApiError {
        let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code::VALIDATION, message);
        for (field, msgs) in errors {
            for m in msgs {
                e = e.field(&field, m);
            }
        }
        e
    }

    /// 422 (code 120) for one field. `field` is the path in the request body
    /// (`label.content_types`, `token.scope[0].module`); the message names it so, and the
    /// `errors` key is [`error_key`] of it (`content_types`, `scope[0].module`).
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code::VALIDATION,
            format!("Invalid '{field}': {message}"),
        )
        .field(error_key(field), message)
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            code::NOT_FOUND,
            format!("The requested {what} doesn't exist."),
        )
        .field("uid", "is not valid.")
    }

    pub fn bad_body(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code::MALFORMED_BODY, message)
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            "Something went wrong on the server. The request id in the X-Request-Id header identifies it in the server log.",
        )
    }
}

/// The `errors` key of a request-body path. Contentstack keys `errors` by the field as it sits
/// in the resource (`errors.title`, `errors.uid`, `errors.content_types`), not by the request
/// envelope around it: a leading envelope segment (`label.` of `label.content_types`) is left
/// out. The envelopes are the `{"<key>": {…}}` bodies declared in [`crate::openapi::OPERATIONS`],
/// so a new resource declared there follows the rule without further code. Other paths
/// (`rate_limit.read`, `entries[0].uid`, an envelope alone) are kept as they are.
pub fn error_key(path: &str) -> &str {
    static ENVELOPES: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let envelopes = ENVELOPES.get_or_init(|| {
        crate::openapi::OPERATIONS
            .iter()
            .filter_map(|o| match o.body {
                crate::openapi::Body::Json(key) => Some(key),
                crate::openapi::Body::AssetJsonOrUpload => Some("asset"),
                _ => None,
            })
            .collect()
    });
    match path.split_once('.') {
        Some((first, rest)) if !rest.is_empty() && envelopes.contains(first) => rest,
        _ => path,
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Busy | StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code::UNAVAILABLE,
                    "The database is busy or unavailable. Please retry shortly.",
                )
                .header("retry-after", "1")
            }
            StoreError::Full => {
                tracing::error!(error = %e, "database full");
                ApiError::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    code::UNAVAILABLE,
                    "The server's storage is full; nothing was written.",
                )
            }
            StoreError::Conflict(msg) => {
                tracing::info!(constraint = %msg, "unique constraint");
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    code::VALIDATION,
                    "An object with the same unique value already exists.",
                )
            }
            StoreError::Decode(msg) | StoreError::Other(msg) => {
                tracing::error!(error = %msg, "database error");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("error_message".into(), Value::String(self.message));
        body.insert("error_code".into(), json!(self.code));
        body.insert("errors".into(), self.errors);
        body.extend(self.extra);
        let mut resp = (self.status, axum::Json(Value::Object(body))).into_response();
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::error_key;

    #[test]
    fn errors_keys_leave_out_the_request_envelope() {
        assert_eq!(error_key("label.content_types"), "content_types");
        assert_eq!(error_key("token.scope[0].module"), "scope[0].module");
        assert_eq!(error_key("environment.urls[1]"), "urls[1]");
        assert_eq!(error_key("rate_limit.read"), "rate_limit.read");
        assert_eq!(error_key("entries[0].uid"), "entries[0].uid");
        assert_eq!(error_key("label"), "label");
    }
}
