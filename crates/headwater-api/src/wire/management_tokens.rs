//! `/v3/stacks/management_tokens`: `{"token": {"name", "description", "scope": [{"module",
//! "acl"}], "expires_on", …}}`. The scope itself is checked item by item by
//! [`headwater_core::scope::TokenScope::parse`], which names every faulty item at once.

use headwater_core::cidr::Cidr;
use headwater_core::clock;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The body of create and update; on update an absent field keeps its value (the official JS
/// client sends back the whole fetched token, so other members are ignored).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ManagementTokenBody {
    /// At most 255 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// `null` empties it.
    #[serde(default, deserialize_with = "super::nullable")]
    pub description: Option<Option<String>>,
    /// At least one item.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schemars(with = "Option<Vec<TokenScopeItem>>")]
    pub scope: Option<Option<Value>>,
    /// A date (`YYYY-MM-DD`) or RFC 3339 timestamp; `null` for no expiry (MT-20 may require one).
    #[serde(default, deserialize_with = "super::nullable")]
    #[schemars(with = "Option<String>")]
    pub expires_on: Option<Option<Expiry>>,
    /// MT-16: the address ranges the token may be used from (at least one); `null` for any
    /// address.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schemars(with = "Option<Vec<String>>")]
    pub allowed_cidrs: Option<Option<Vec<CidrText>>>,
    #[serde(default)]
    pub is_email_notification_enabled: Option<bool>,
    #[serde(default)]
    pub rate_limit_enabled: Option<bool>,
    /// MT-12: requests per second, within the organization's limits; `null` clears both.
    #[serde(default, deserialize_with = "super::nullable")]
    pub rate_limit: Option<Option<TokenRateLimit>>,
    /// MT-15: revoke the token when a rotated-out secret is used again.
    #[serde(default)]
    pub revoke_on_reuse: Option<bool>,
}

/// An expiry as sent (`sent`) and as the instant it names (`at`, RFC 3339 UTC).
#[derive(Debug)]
pub struct Expiry {
    pub sent: String,
    pub at: String,
}

impl<'de> Deserialize<'de> for Expiry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let sent = String::deserialize(d)?;
        match clock::parse_expiry(&sent) {
            Some(at) => Ok(Expiry {
                at: clock::format(at),
                sent,
            }),
            None => Err(serde::de::Error::custom(
                "must be a date (YYYY-MM-DD), an RFC 3339 timestamp, or null for no expiry.",
            )),
        }
    }
}

/// An address range, written canonically (`203.0.113.0/24`, `2001:db8::/32`).
#[derive(Debug)]
pub struct CidrText(pub String);

impl<'de> Deserialize<'de> for CidrText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let sent = String::deserialize(d)?;
        let cidr: Cidr = sent.parse().map_err(serde::de::Error::custom)?;
        Ok(CidrText(cidr.to_string()))
    }
}

/// Requests per second; `null` clears one.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TokenRateLimit {
    #[serde(default, deserialize_with = "super::nullable")]
    pub read: Option<Option<i64>>,
    #[serde(default, deserialize_with = "super::nullable")]
    pub write: Option<Option<i64>>,
}

/// One item of a management token's scope (described here; read by the scope module).
#[derive(Debug, JsonSchema)]
#[allow(dead_code)]
pub struct TokenScopeItem {
    /// `$all`, `content_type`, `entry`, `asset`, `global_field`, `environment`, `locale`, `role`,
    /// `workflow`, `webhook`, `label`, `release`, `extension`, `taxonomy`, `audit_log`,
    /// `publish_queue`, `branch` or `branch_alias`.
    module: String,
    acl: TokenScopeAcl,
    /// For `branch`: branch uids.
    branches: Option<Vec<String>>,
    /// For `branch_alias`: alias uids.
    branch_aliases: Option<Vec<String>>,
    /// MT-18: the content types an `entry` or `content_type` item is narrowed to.
    content_types: Option<Vec<String>>,
    /// MT-18: the environments an `entry` or `asset` item may publish to.
    environments: Option<Vec<String>>,
}

#[derive(Debug, JsonSchema)]
#[allow(dead_code)]
pub struct TokenScopeAcl {
    read: Option<bool>,
    write: Option<bool>,
}

/// A management token as shown: the secret (`token`) only in the answers of create and
/// rotation; `revoked_at` and `revoked_reason` only once it is revoked.
#[derive(Debug, serde::Serialize, JsonSchema)]
pub struct ManagementTokenOut {
    pub uid: String,
    pub name: String,
    pub description: String,
    #[schemars(with = "Vec<TokenScopeItem>")]
    pub scope: Value,
    /// A date, a timestamp, or `null` for never.
    pub expires_on: Option<String>,
    pub is_email_notification_enabled: bool,
    pub rate_limit_enabled: bool,
    pub rate_limit: TokenRateLimitOut,
    pub last_used_at: Option<String>,
    /// Address ranges the token works from (MT-16); `null` for anywhere.
    pub allowed_cidrs: Option<Vec<String>>,
    pub revoke_on_reuse: bool,
    pub rotated_at: Option<String>,
    pub api_key: String,
    /// Always `management`.
    #[serde(rename = "type")]
    pub kind: String,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Present (possibly `null`) when `revoked_at` is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_reason: Option<Option<String>>,
    /// The secret: in the answers of create and rotation only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// The token's own request rates (within the organization's); `null` for the organization's.
#[derive(Debug, serde::Serialize, JsonSchema)]
pub struct TokenRateLimitOut {
    pub read: Option<i64>,
    pub write: Option<i64>,
}
