//! JSON files uploaded for import: `POST /v3/content_types/import`, `/v3/global_fields/import`,
//! `/v3/webhooks[/{uid}]/import` and `…/entries[/{uid}]/import` send a `multipart/form-data`
//! body whose file part (`content_type`, `global_field`, `webhook`, `entry`) holds one JSON
//! object. The file is read whole (bounded by `--max-body-bytes`), parsed, and handed to the
//! same code a JSON create or update runs, so an import validates exactly like one.

use crate::body::{nul_path, nul_refused, too_large, JsonBody};
use crate::error::{ApiError, ApiResult};
use axum::body::Body;
use axum::extract::multipart::Multipart;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use serde_json::{Map, Value};

/// The parsed file of an import.
pub struct ImportFile {
    /// The object in the file, unwrapped when the file wraps it (`{"webhook": {…}}`).
    pub object: Map<String, Value>,
}

fn refused(field: &str, what: impl Into<String>) -> ApiError {
    ApiError::invalid(field, what)
}

impl ImportFile {
    /// Reads the part named `field`, or the only part sent whatever its name (the Python
    /// client names the webhook file `entry`). Other parts are read and ignored.
    pub async fn read(req: Request, field: &str, limit: usize) -> ApiResult<ImportFile> {
        let req = with_boundary(req, limit).await?;
        let mut mp = Multipart::from_request(req, &()).await.map_err(|e| {
            ApiError::bad_body(format!(
                "Send the file to import as multipart/form-data in a part named '{field}': {e}"
            ))
        })?;
        let mut named: Option<Vec<u8>> = None;
        let mut others: Vec<Vec<u8>> = Vec::new();
        // Every part counts against the one limit: a form of many parts is no larger.
        let mut total = 0usize;
        loop {
            let mut part = match mp.next_field().await {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    return Err(ApiError::bad_body(format!(
                        "The multipart body is malformed: {e}"
                    )))
                }
            };
            let name = part.name().unwrap_or_default().to_string();
            let mut bytes = Vec::new();
            loop {
                match part.chunk().await {
                    Ok(Some(chunk)) => {
                        total += chunk.len();
                        if total > limit {
                            return Err(too_large());
                        }
                        bytes.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        return Err(ApiError::bad_body(format!(
                            "The multipart part '{name}' could not be read: {e}"
                        )))
                    }
                }
            }
            if name == field {
                named = Some(bytes);
            } else {
                others.push(bytes);
            }
        }
        let bytes = match (named, others.len()) {
            (Some(b), _) => b,
            (None, 1) => others.pop().unwrap_or_default(),
            (None, _) => {
                return Err(refused(
                    field,
                    format!("is required: the JSON file to import, in a part named '{field}'."),
                ))
            }
        };
        let object = match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(refused(field, "must hold one JSON object.")),
            Err(e) => return Err(refused(field, format!("is not valid JSON: {e}."))),
        };
        if let Some(path) = nul_path(&object, field) {
            return Err(nul_refused(&path));
        }
        let object = match object.get(field) {
            Some(Value::Object(inner)) if object.len() == 1 => inner.clone(),
            _ => object,
        };
        Ok(ImportFile { object })
    }

    /// The body a JSON create or update of `key` would have sent: `{"<key>": {…}}`.
    pub fn as_body(&self, key: &str) -> JsonBody {
        let mut m = Map::new();
        m.insert(key.to_string(), Value::Object(self.object.clone()));
        JsonBody(m)
    }

    /// A string member of the imported object (e.g. its `uid`).
    pub fn str(&self, key: &str) -> Option<&str> {
        self.object.get(key).and_then(Value::as_str)
    }
}

/// The Python client sets `Content-Type: multipart/form-data` itself, without the boundary,
/// on its imports; the boundary is then read from the body's first line (`--<boundary>`), as
/// the multipart format puts it there.
async fn with_boundary(req: Request, limit: usize) -> ApiResult<Request> {
    let ct = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !ct.starts_with("multipart/form-data") || ct.contains("boundary=") {
        return Ok(req);
    }
    let (mut parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let boundary = std::str::from_utf8(first)
        .ok()
        .and_then(|l| l.trim_end_matches('\r').strip_prefix("--"))
        .filter(|b| !b.is_empty() && b.len() <= 200 && b.bytes().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::bad_body("The multipart body has no boundary, in its header or first line.")
        })?;
    let value = HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}"))
        .map_err(|_| ApiError::bad_body("The multipart boundary is not valid."))?;
    parts.headers.insert(CONTENT_TYPE, value);
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
