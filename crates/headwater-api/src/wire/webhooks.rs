//! `/v3/webhooks`: `{"webhook": {"name", "destinations": [{"target_url", …}], "channels",
//! "branches", "retry_policy", "notifiers", "disabled", "concise_payload"}}`.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The body of create, update and import; on update an absent field keeps its value.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct WebhookBody {
    #[serde(default)]
    pub name: Option<String>,
    /// At least one, at most ten; `null` is refused.
    #[serde(default, deserialize_with = "super::nullable")]
    pub destinations: Option<Option<Vec<DestinationBody>>>,
    /// Event names such as `content_types.entries.create`.
    #[serde(default)]
    pub channels: Option<Vec<String>>,
    /// Default `["main"]`.
    #[serde(default)]
    pub branches: Option<Vec<String>>,
    /// Default `manual`.
    #[serde(default)]
    pub retry_policy: Option<String>,
    #[serde(default)]
    pub notifiers: Option<Notifiers>,
    /// `true`, `false`, or those words as strings.
    #[serde(default, deserialize_with = "flag")]
    #[schemars(with = "Option<bool>")]
    pub disabled: Option<bool>,
    /// `true`, `false`, or those words as strings.
    #[serde(default, deserialize_with = "flag")]
    #[schemars(with = "Option<bool>")]
    pub concise_payload: Option<bool>,
}

/// Email addresses: a list, or one string of them separated by commas.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "must be an array of email addresses.")]
pub enum Notifiers {
    List(Vec<String>),
    Text(String),
}

impl Notifiers {
    pub fn into_list(self) -> Vec<String> {
        match self {
            Notifiers::List(l) => l,
            Notifiers::Text(s) => s
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }
}

fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        Some(_) => Err(serde::de::Error::custom("must be true or false.")),
    }
}

/// Where a webhook posts; other members are not kept.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DestinationBody {
    /// An absolute http(s) URL without credentials.
    #[serde(default)]
    pub target_url: Option<String>,
    /// Basic-auth user name.
    #[serde(default)]
    pub http_basic_auth: Option<String>,
    /// Basic-auth password; `********` (as shown) keeps the stored one.
    #[serde(default)]
    pub http_basic_password: Option<String>,
    #[serde(default)]
    pub custom_header: Option<Vec<HeaderBody>>,
}

/// A header sent with every delivery (a row with an empty name is skipped).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct HeaderBody {
    pub header_name: String,
    pub value: String,
}

/// A destination as stored and shown (the password masked).
#[derive(Debug, Serialize, JsonSchema)]
pub struct DestinationOut {
    pub target_url: String,
    pub http_basic_auth: String,
    /// `********` when set.
    pub http_basic_password: String,
    pub custom_header: Vec<HeaderBody>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WebhookOut {
    pub uid: String,
    pub name: String,
    #[schemars(with = "Vec<DestinationOut>")]
    pub destinations: Value,
    pub channels: Vec<String>,
    pub branches: Vec<String>,
    pub retry_policy: String,
    #[schemars(with = "Vec<String>")]
    pub notifiers: Value,
    pub disabled: bool,
    pub concise_payload: bool,
    pub org_uid: String,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// Signs each delivery (`X-Headwater-Signature`); not in lists or exports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
}
