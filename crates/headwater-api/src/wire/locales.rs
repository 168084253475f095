//! `/v3/locales`: `{"locale": {"code", "name", "fallback_locale"}}`.

use headwater_store::repo::locales::Locale;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The body of create and update. On update `code` may be sent (the official clients send
/// the whole locale back) but is never changed: the path names the locale.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct LocaleBody {
    /// Required on create, e.g. `fr-fr`.
    #[serde(default)]
    pub code: Option<String>,
    /// Defaults to the language's name (`French - France`).
    #[serde(default)]
    pub name: Option<String>,
    /// Defaults to the master locale on create; `null` on update removes it.
    #[serde(default, deserialize_with = "super::nullable")]
    pub fallback_locale: Option<Option<String>>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LocaleOut {
    pub uid: String,
    pub code: String,
    pub name: String,
    pub fallback_locale: Option<String>,
    #[serde(rename = "_version")]
    pub version: i64,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// Always empty.
    #[serde(rename = "ACL")]
    pub acl: Vec<Value>,
}

impl From<&Locale> for LocaleOut {
    fn from(l: &Locale) -> Self {
        LocaleOut {
            uid: l.uid.clone(),
            code: l.code.clone(),
            name: l.name.clone(),
            fallback_locale: l.fallback_locale.clone(),
            version: l.version,
            created_by: l.created_by.clone(),
            updated_by: l.updated_by.clone(),
            created_at: l.created_at.clone(),
            updated_at: l.updated_at.clone(),
            acl: Vec::new(),
        }
    }
}
