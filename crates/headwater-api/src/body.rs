//! Request bodies and query strings, read leniently where clients differ and strictly where
//! they could lose data: JSON is accepted without a Content-Type (one official client drops
//! it), but malformed JSON, a non-object body or a wrong field type is a clear 4xx.

use crate::error::{code, ApiError};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A JSON object body.
pub struct JsonBody(pub Map<String, Value>);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.config().max_body_bytes;
        let bytes: Bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|e| {
                let too_big = std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                    || e.to_string().contains("length limit");
                if too_big {
                    too_large()
                } else {
                    ApiError::bad_body(format!("The request body could not be read: {e}"))
                }
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Map::new()));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => match nul_path(&map, "") {
                Some(path) => Err(nul_refused(&path)),
                None => Ok(JsonBody(map)),
            },
            Ok(_) => Err(ApiError::bad_body(
                "The request body must be a JSON object.",
            )),
            Err(e) => Err(ApiError::bad_body(format!(
                "The request body is not valid JSON: {e}."
            ))),
        }
    }
}

/// The path of the first string value or object key of `map` that contains U+0000 (NUL),
/// which no text column can hold (PostgreSQL refuses it in `text` and `jsonb`): such values are
/// refused at the edge, the same on both backends. Keys are named as written, NUL as `\u0000`.
pub fn nul_path(map: &Map<String, Value>, prefix: &str) -> Option<String> {
    fn join(prefix: &str, key: &str) -> String {
        let key = key.replace('\0', "\\u0000");
        if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        }
    }
    fn walk(v: &Value, path: &str) -> Option<String> {
        match v {
            Value::String(s) if s.contains('\0') => Some(path.to_string()),
            Value::Object(m) => nul_path(m, path),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, &format!("{path}[{i}]"))),
            _ => None,
        }
    }
    map.iter().find_map(|(k, v)| {
        let path = join(prefix, k);
        if k.contains('\0') {
            Some(path)
        } else {
            walk(v, &path)
        }
    })
}

/// The refusal of a NUL character (422, code 120) naming the field.
pub fn nul_refused(path: &str) -> ApiError {
    ApiError::invalid(path, "must not contain the NUL character (U+0000).")
}

pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        code::BODY_TOO_LARGE,
        "The request body is larger than this server accepts.",
    )
}

impl JsonBody {
    /// The object under `key` (e.g. `token` in `{"token": {…}}`).
    pub fn wrapped(&self, key: &str) -> Result<&Map<String, Value>, ApiError> {
        match self.0.get(key) {
            Some(Value::Object(m)) => Ok(m),
            Some(_) => Err(ApiError::invalid(key, "must be an object.")),
            None => Err(ApiError::invalid(
                key,
                format!("is required: send {{\"{key}\": {{…}}}}."),
            )),
        }
    }
}

/// Typed reads of fields in a JSON object, with errors that name the field.
pub struct Fields<'a> {
    pub map: &'a Map<String, Value>,
    pub prefix: &'a str,
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>, prefix: &'a str) -> Fields<'a> {
        Fields { map, prefix }
    }

    fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// An optional string; `null` counts as absent.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ApiError::invalid(&self.name(key), "must be a string.")),
        }
    }

    /// A required, non-blank string.
    pub fn req_str(&self, key: &str) -> Result<&'a str, ApiError> {
        match self.opt_str(key)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(ApiError::invalid(&self.name(key), "is required.")),
        }
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::invalid(&self.name(key), "must be a boolean.")),
        }
    }
}

/// Query parameters, tolerant of the forms official clients send (`?&query=…`, `true`/`false`
/// strings, numbers in odd notations).
#[derive(Debug, Default)]
pub struct Query(pub HashMap<String, String>, pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or("");
        let mut map = HashMap::new();
        let mut pairs = Vec::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (decode(k), decode(v));
            pairs.push((k.clone(), v.clone()));
            map.insert(k, v);
        }
        Ok(Query(map, pairs))
    }
}

pub(crate) fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Query {
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.0.get(key).map(String::as_str), Some("true" | "1"))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Every value of a repeated parameter (`only[BASE][]=a&only[BASE][]=b`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.1
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A non-negative integer parameter, clamped to `max`; junk is a 400 naming it.
    pub fn int(&self, key: &str, default: i64, max: i64) -> Result<i64, ApiError> {
        match self.0.get(key) {
            None => Ok(default),
            Some(v) if v.is_empty() => Ok(default),
            Some(v) => {
                let n: f64 = v.parse().map_err(|_| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        code::VALIDATION,
                        format!("The query parameter '{key}' must be a number."),
                    )
                    .field(key, "must be a number.")
                })?;
                if n.is_nan() || n < 0.0 {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        code::VALIDATION,
                        format!("The query parameter '{key}' must not be negative."),
                    )
                    .field(key, "must not be negative."));
                }
                Ok(if n >= max as f64 { max } else { n as i64 })
            }
        }
    }

    /// `skip`, `limit` (at most 100, as Contentstack) and the sort direction by creation.
    pub fn page(&self) -> Result<(i64, i64, bool), ApiError> {
        let skip = self.int("skip", 0, i64::from(i32::MAX))?;
        let limit = self.int("limit", 100, 100)?;
        let ascending = !self.0.contains_key("desc");
        Ok((skip, limit, ascending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(decode("%7B%22a%22%3A1%7D"), "{\"a\":1}");
        assert_eq!(decode("a+b"), "a b");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("%é"), "%é");
        assert_eq!(decode("%4"), "%4");
    }

    #[test]
    fn numbers_are_clamped_or_refused() {
        let q = Query(
            HashMap::from([
                ("skip".to_string(), "1e+100".to_string()),
                ("limit".to_string(), "5000".to_string()),
                ("bad".to_string(), "x".to_string()),
            ]),
            Vec::new(),
        );
        assert_eq!(q.int("skip", 0, 1000).unwrap(), 1000);
        assert_eq!(q.page().unwrap().1, 100);
        assert!(q.int("bad", 0, 10).is_err());
    }
}
