//! Typed request and response bodies of the fixed-shape resources (tokens, roles,
//! environments, locales, webhooks, workflows, publish rules, releases, labels, branches).
//!
//! Each resource has one file with its request struct(s) (`Deserialize`) and its rendering
//! (`Serialize`); both derive `JsonSchema`, from which `openapi.rs` describes the bodies.
//! Requests are read with [`parse`] (or [`from_value`] for a nested value): a serde failure
//! becomes the usual 422 (code 120) naming the field by its dotted path, through
//! [`ApiError::invalid`], which also decides how `errors` keys are written.
//!
//! Entries and content-type schemas stay free-form JSON.

pub mod branches;
pub mod delivery_tokens;
pub mod environments;
pub mod labels;
pub mod locales;
pub mod management_tokens;
pub mod publish_rules;
pub mod releases;
pub mod roles;
pub mod webhooks;
pub mod workflows;

use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The object under `key` of the request body (`{"<key>": {…}}`) read as `T`.
pub fn parse<T: DeserializeOwned>(body: &JsonBody, key: &str) -> ApiResult<T> {
    let map = body.wrapped(key)?;
    let value = Value::Object(map.clone());
    from_value(&value, key)
}

/// `value` read as `T`; `path` is where the value sits in the body (e.g. `token`), so a
/// refusal names the whole path (`token.scope[0].module`).
pub fn from_value<T: DeserializeOwned>(value: &Value, path: &str) -> ApiResult<T> {
    serde_path_to_error::deserialize(value).map_err(|e| refusal(path, e))
}

/// A rendering as a JSON value (for the `{"notice", "<key>"}` envelopes).
pub fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("wire types serialize")
}

fn refusal(prefix: &str, e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let mut path = prefix.to_string();
    for seg in e.path().iter() {
        use serde_path_to_error::Segment;
        match seg {
            Segment::Seq { index } => path.push_str(&format!("[{index}]")),
            Segment::Map { key } => join(&mut path, key),
            Segment::Enum { variant } => join(&mut path, variant),
            Segment::Unknown => join(&mut path, "?"),
        }
    }
    let inner = e.inner().to_string();
    let (path, message) = message(path, &inner);
    ApiError::invalid(&path, message)
}

fn join(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

/// serde's wording turned into the project's (`must be a string.`, `is required.`); a
/// message a type wrote itself (`serde::de::Error::custom`) is kept as written.
fn message(mut path: String, inner: &str) -> (String, String) {
    if let Some(rest) = inner.strip_prefix("missing field `") {
        join(&mut path, rest.split('`').next().unwrap_or(""));
        return (path, "is required.".into());
    }
    if let Some(rest) = inner.strip_prefix("invalid type: ") {
        let expected = rest.split(", expected ").nth(1).unwrap_or("");
        return (path, format!("must be {}.", kind(expected)));
    }
    if let Some(rest) = inner.strip_prefix("unknown variant `") {
        let expected = rest.split(", expected ").nth(1).unwrap_or("");
        return (path, format!("must be {expected}."));
    }
    if inner.starts_with("invalid value: ") || inner.starts_with("invalid length ") {
        let expected = inner.split(", expected ").nth(1).unwrap_or("");
        return (path, format!("must be {}.", kind(expected)));
    }
    (path, inner.to_string())
}

fn kind(expected: &str) -> &str {
    match expected {
        "a string" | "a borrowed string" => "a string",
        "a boolean" => "a boolean",
        "a sequence" => "an array",
        "a map" => "an object",
        e if e.starts_with("struct ") => "an object",
        "i64" | "i32" | "u64" | "u32" | "u16" | "u8" | "usize" => "an integer",
        "f64" | "f32" => "a number",
        e => e,
    }
}

/// A required, non-blank string (trimmed).
pub fn required(value: Option<String>, path: &str) -> ApiResult<String> {
    match value {
        Some(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => Err(ApiError::invalid(path, "is required.")),
    }
}

/// An optional string that, when sent, must not be blank (trimmed).
pub fn not_blank(value: Option<String>, path: &str) -> ApiResult<Option<String>> {
    match value {
        Some(s) if s.trim().is_empty() => Err(ApiError::invalid(path, "must not be blank.")),
        Some(s) => Ok(Some(s.trim().to_string())),
        None => Ok(None),
    }
}

/// A field that may be absent, `null` or a value (`Option<Option<T>>` where serde cannot tell
/// absent from `null`): use `#[serde(default, deserialize_with = "wire::nullable")]`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}

/// One typed resource for the API description: the operations of `tag` whose body or answer
/// is `{"<key>": …}` (or a list under `plural`) use these schemas.
#[derive(Clone)]
pub struct Typed {
    pub tag: &'static str,
    pub key: &'static str,
    pub plural: &'static str,
    /// `$ref` to the request body's schema.
    pub request: Value,
    /// `$ref` to the rendering's schema.
    pub reply: Value,
    /// Whether an operation (by path) uses these schemas: another body of the same tag may
    /// share the envelope key (`workflow` of an entry's stage, `release` of a deploy).
    pub applies: fn(&str) -> bool,
}

/// The typed resources and the schemas they reference (for `components.schemas`).
pub struct Described {
    pub typed: Vec<Typed>,
    pub definitions: serde_json::Map<String, Value>,
}

impl Described {
    /// The typed resource an operation of `tag` with envelope `key` (singular or plural) uses.
    pub fn find(&self, tag: &str, key: &str) -> Option<&Typed> {
        self.typed
            .iter()
            .find(|t| t.tag == tag && (t.key == key || t.plural == key))
    }

    /// The typed resources that apply to the operation at `path` (no definitions).
    pub fn at(&self, path: &str) -> Described {
        Described {
            typed: self
                .typed
                .iter()
                .filter(|t| (t.applies)(path))
                .cloned()
                .collect(),
            definitions: serde_json::Map::new(),
        }
    }
}

/// Schemas of the typed bodies, generated from the types themselves (JSON Schema 2020-12, as
/// OpenAPI 3.1 uses), referenced from `#/components/schemas/`.
pub fn described() -> Described {
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut g = settings.into_generator();
    let mut typed = Vec::new();
    macro_rules! typed {
        ($tag:literal, $key:literal, $plural:literal, $req:ty, $out:ty) => {
            typed!($tag, $key, $plural, $req, $out, |_| true)
        };
        ($tag:literal, $key:literal, $plural:literal, $req:ty, $out:ty, $applies:expr) => {
            typed.push(Typed {
                tag: $tag,
                key: $key,
                plural: $plural,
                request: serde_json::to_value(g.subschema_for::<$req>()).expect("schema"),
                reply: serde_json::to_value(g.subschema_for::<$out>()).expect("schema"),
                applies: $applies,
            });
        };
    }
    typed!(
        "environments",
        "environment",
        "environments",
        environments::EnvironmentBody,
        environments::EnvironmentOut
    );
    typed!(
        "locales",
        "locale",
        "locales",
        locales::LocaleBody,
        locales::LocaleOut
    );
    typed!("roles", "role", "roles", roles::RoleBody, roles::RoleOut);
    typed!(
        "labels",
        "label",
        "labels",
        labels::LabelBody,
        labels::LabelOut
    );
    typed!(
        "branches",
        "branch",
        "branches",
        branches::BranchBody,
        branches::BranchOut
    );
    typed!(
        "branches",
        "branch_alias",
        "branch_aliases",
        branches::AliasBody,
        branches::AliasOut
    );
    typed!(
        "workflows",
        "publishing_rule",
        "publishing_rules",
        publish_rules::PublishRuleBody,
        publish_rules::PublishRuleOut
    );
    typed!(
        "workflows",
        "workflow",
        "workflows",
        workflows::WorkflowBody,
        workflows::WorkflowOut,
        |path| path.starts_with("/v3/workflows")
    );
    typed!(
        "releases",
        "release",
        "releases",
        releases::ReleaseBody,
        releases::ReleaseOut,
        |path| !path.ends_with("/deploy")
    );
    typed!(
        "releases",
        "release",
        "releases",
        releases::ReleaseDeployBody,
        releases::ReleaseOut,
        |path| path.ends_with("/deploy")
    );
    typed!(
        "releases",
        "item",
        "items",
        releases::ReleaseItemBody,
        releases::ReleaseItemOut
    );
    typed!(
        "delivery tokens",
        "token",
        "tokens",
        delivery_tokens::DeliveryTokenBody,
        delivery_tokens::DeliveryTokenOut
    );
    // The executions and logs operations share the tag and the `webhook`/`webhooks` keys but
    // answer deliveries, not webhooks.
    typed!(
        "webhooks",
        "webhook",
        "webhooks",
        webhooks::WebhookBody,
        webhooks::WebhookOut,
        |path| !path.contains("/executions") && !path.contains("/logs")
    );
    typed!(
        "management tokens",
        "token",
        "tokens",
        management_tokens::ManagementTokenBody,
        management_tokens::ManagementTokenOut
    );
    Described {
        typed,
        definitions: g.take_definitions(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct T {
        name: String,
        #[serde(default)]
        urls: Vec<U>,
        flag: Option<bool>,
    }
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct U {
        url: String,
    }

    fn err(v: Value) -> ApiError {
        from_value::<T>(&v, "thing").unwrap_err()
    }

    #[test]
    fn refusals_name_the_field() {
        let e = err(serde_json::json!({"urls": []}));
        assert_eq!(e.message, "Invalid 'thing.name': is required.");
        let e = err(serde_json::json!({"name": 5}));
        assert_eq!(e.message, "Invalid 'thing.name': must be a string.");
        let e = err(serde_json::json!({"name": "a", "urls": [{"url": true}]}));
        assert_eq!(e.message, "Invalid 'thing.urls[0].url': must be a string.");
        let e = err(serde_json::json!({"name": "a", "urls": {}}));
        assert_eq!(e.message, "Invalid 'thing.urls': must be an array.");
        let e = err(serde_json::json!({"name": "a", "flag": "yes"}));
        assert_eq!(e.message, "Invalid 'thing.flag': must be a boolean.");
    }
}
