//! OpenID Connect sign-in: the provider's discovery document and keys (cached), the code
//! exchange, and the ID token's checks. The routes (`routes/sso.rs`) drive it; the database
//! side (states, identities, sessions) is `headwater_store::repo::sso`.
//!
//! Signatures are verified by `jsonwebtoken` (ring) against the provider's JWKS; only
//! asymmetric algorithms are accepted. Every request to the provider goes through the same
//! outbound guard as webhooks, with its own allowed ranges (`--sso-allow-cidr`): an
//! organization owner cannot make the server fetch internal addresses the operator did not
//! allow.

use crate::outbound::{self, Cidr, GuardedResolver};
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a discovery document is kept.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// How long a key set is kept before it is fetched again (an unknown `kid` may fetch sooner).
const JWKS_TTL: Duration = Duration::from_secs(3600);
/// The largest answer read from the provider.
const MAX_BODY: usize = 256 * 1024;
/// Clock skew allowed on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 60;

/// Why a sign-in failed: its `code` is the `sso_error` the browser is sent back with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The organization has no enabled configuration.
    NotConfigured,
    /// The discovery document, the key set or the token endpoint could not be reached or read.
    IssuerUnreachable(String),
    /// The discovery document names another issuer than the one configured.
    IssuerMismatch(String),
    /// The provider answered the sign-in with an error (`error=` on the callback, or the
    /// token endpoint refused the code).
    Provider(String),
    /// The state is unknown, used already or expired.
    State,
    Signature,
    Issuer,
    Audience,
    Expired,
    Nonce,
    /// Any other defect of the ID token (unreadable, unsupported algorithm, missing claims).
    Token(String),
    /// The token carries no email (in the configured claim), or the provider says it is not
    /// verified.
    Email(String),
    DomainNotAllowed,
    /// The email belongs to an account that is not a member of the organization and has no
    /// link to this identity (see `docs/security.md`).
    AccountExists,
    /// The account is deactivated.
    Inactive,
    /// No public URL to build the callback address from (`--public-url`).
    PublicUrl,
    /// This server could not finish (its database): logged.
    Server(String),
}

impl Failure {
    pub fn code(&self) -> &'static str {
        match self {
            Failure::NotConfigured => "not_configured",
            Failure::IssuerUnreachable(_) => "issuer_unreachable",
            Failure::IssuerMismatch(_) => "issuer_mismatch",
            Failure::Provider(_) => "provider_error",
            Failure::State => "state",
            Failure::Signature => "signature",
            Failure::Issuer => "issuer",
            Failure::Audience => "audience",
            Failure::Expired => "expired",
            Failure::Nonce => "nonce",
            Failure::Token(_) => "token_invalid",
            Failure::Email(_) => "email",
            Failure::DomainNotAllowed => "domain_not_allowed",
            Failure::AccountExists => "account_exists",
            Failure::Inactive => "account_inactive",
            Failure::PublicUrl => "public_url",
            Failure::Server(_) => "server_error",
        }
    }
}

impl Failure {
    /// What went wrong, for logs and for the settings' refusal.
    pub fn detail(&self) -> String {
        match self {
            Failure::IssuerUnreachable(m)
            | Failure::IssuerMismatch(m)
            | Failure::Provider(m)
            | Failure::Token(m)
            | Failure::Server(m)
            | Failure::Email(m) => m.clone(),
            other => other.code().to_string(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::IssuerUnreachable(m)
            | Failure::IssuerMismatch(m)
            | Failure::Provider(m)
            | Failure::Token(m)
            | Failure::Server(m)
            | Failure::Email(m) => write!(f, "{}: {m}", self.code()),
            other => f.write_str(other.code()),
        }
    }
}

/// The parts of a provider's discovery document Headwater uses.
#[derive(Clone, Debug, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

struct Keys {
    set: Arc<JwkSet>,
    fetched: Instant,
}

/// The HTTP client towards providers and its caches (per process).
pub struct Oidc {
    client: reqwest::Client,
    allow: Arc<[Cidr]>,
    /// The shortest time between two key-set fetches caused by an unknown `kid`.
    refresh_interval: Duration,
    discovery: Mutex<HashMap<String, (Instant, Arc<Discovery>)>>,
    keys: Mutex<HashMap<String, Keys>>,
}

impl Oidc {
    pub fn new(allow: &[Cidr], refresh_interval: Duration) -> Oidc {
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver::new(allow)))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .user_agent("Headwater-SSO/1")
            .build()
            .expect("the HTTP client builds");
        Oidc {
            client,
            allow: allow.into(),
            refresh_interval,
            discovery: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
        }
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let parsed = Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("{url}: not an http(s) URL"));
        }
        outbound::check_literal(&parsed, &self.allow).map_err(|r| refused(&r))?;
        let resp = self
            .client
            .get(parsed)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("{url}: {}", describe(&e)))?;
        read_json(url, resp).await
    }

    /// The issuer's discovery document, fetched now (`fresh`) or from the cache. Its
    /// `issuer` must be exactly the one configured.
    pub async fn discover(&self, issuer: &str, fresh: bool) -> Result<Arc<Discovery>, Failure> {
        if !fresh {
            let cached = self.discovery.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, d)) = cached.get(issuer) {
                if at.elapsed() < DISCOVERY_TTL {
                    return Ok(d.clone());
                }
            }
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let v = self
            .get_json(&url)
            .await
            .map_err(Failure::IssuerUnreachable)?;
        let d: Discovery = serde_json::from_value(v).map_err(|e| {
            Failure::IssuerUnreachable(format!("{url}: not a discovery document ({e})"))
        })?;
        if d.issuer != issuer {
            return Err(Failure::IssuerMismatch(format!(
                "the discovery document names the issuer '{}', not '{issuer}'",
                d.issuer
            )));
        }
        for (name, u) in [
            ("authorization_endpoint", &d.authorization_endpoint),
            ("token_endpoint", &d.token_endpoint),
            ("jwks_uri", &d.jwks_uri),
        ] {
            if Url::parse(u).is_err() {
                return Err(Failure::IssuerUnreachable(format!(
                    "the discovery document's {name} is not a URL"
                )));
            }
        }
        let d = Arc::new(d);
        self.discovery
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(issuer.to_string(), (Instant::now(), d.clone()));
        Ok(d)
    }

    async fn fetch_keys(&self, jwks_uri: &str) -> Result<Arc<JwkSet>, Failure> {
        let v = self
            .get_json(jwks_uri)
            .await
            .map_err(Failure::IssuerUnreachable)?;
        let Some(listed) = v.get("keys").and_then(Value::as_array) else {
            return Err(Failure::IssuerUnreachable(format!(
                "{jwks_uri}: not a JWK set"
            )));
        };
        // Keys this library cannot read (encryption keys of other kinds) are left out, not
        // fatal to the whole set.
        let set = JwkSet {
            keys: listed
                .iter()
                .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
                .collect(),
        };
        let set = Arc::new(set);
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).insert(
            jwks_uri.to_string(),
            Keys {
                set: set.clone(),
                fetched: Instant::now(),
            },
        );
        Ok(set)
    }

    /// The key a token names. A `kid` the cached set lacks fetches the set again, at most
    /// once per refresh interval (key rotation), so tokens with made-up `kid`s cannot make
    /// the server hammer the provider.
    async fn key(&self, jwks_uri: &str, kid: Option<&str>, alg: Algorithm) -> Result<Jwk, Failure> {
        let cached = {
            let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            keys.get(jwks_uri)
                .map(|k| (k.set.clone(), k.fetched.elapsed()))
        };
        let (set, fresh) = match cached {
            Some((set, age)) if age < JWKS_TTL => (set, false),
            _ => (self.fetch_keys(jwks_uri).await?, true),
        };
        if let Some(k) = pick(&set, kid, alg) {
            return Ok(k);
        }
        if fresh {
            return Err(Failure::Signature);
        }
        let may_refresh = {
            let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            keys.get(jwks_uri)
                .is_none_or(|k| k.fetched.elapsed() >= self.refresh_interval)
        };
        if !may_refresh {
            tracing::info!(
                jwks_uri,
                "an ID token names an unknown key; the key set was fetched moments ago"
            );
            return Err(Failure::Signature);
        }
        let set = self.fetch_keys(jwks_uri).await?;
        pick(&set, kid, alg).ok_or(Failure::Signature)
    }

    /// Exchanges an authorization code for the ID token (PKCE verifier, client secret).
    pub async fn exchange(
        &self,
        d: &Discovery,
        client_id: &str,
        client_secret: &str,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<String, Failure> {
        let url = Url::parse(&d.token_endpoint)
            .map_err(|e| Failure::IssuerUnreachable(format!("token endpoint: {e}")))?;
        outbound::check_literal(&url, &self.allow)
            .map_err(|r| Failure::IssuerUnreachable(refused(&r)))?;
        let methods = &d.token_endpoint_auth_methods_supported;
        let post = methods.iter().any(|m| m == "client_secret_post")
            && !methods.iter().any(|m| m == "client_secret_basic");
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let mut rb = self.client.post(url).header("accept", "application/json");
        if post {
            form.push(("client_id", client_id));
            form.push(("client_secret", client_secret));
        } else {
            // RFC 6749 2.3.1: both parts form-encoded before Basic.
            rb = rb.basic_auth(form_encode(client_id), Some(form_encode(client_secret)));
        }
        let resp =
            rb.form(&form).send().await.map_err(|e| {
                Failure::IssuerUnreachable(format!("token endpoint: {}", describe(&e)))
            })?;
        let status = resp.status();
        let body = read_json("token endpoint", resp).await;
        if !status.is_success() {
            let why = body
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| status.to_string());
            return Err(Failure::Provider(format!(
                "the token endpoint refused the code: {why}"
            )));
        }
        let body = body.map_err(Failure::IssuerUnreachable)?;
        body.get("id_token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Failure::Provider("the token answer has no id_token".into()))
    }

    /// Checks an ID token: signature (the issuer's keys), `iss`, `aud`, `exp`, then `nonce`.
    /// Returns its claims.
    pub async fn verify(
        &self,
        d: &Discovery,
        client_id: &str,
        id_token: &str,
        nonce: &str,
    ) -> Result<serde_json::Map<String, Value>, Failure> {
        let header = jsonwebtoken::decode_header(id_token)
            .map_err(|e| Failure::Token(format!("unreadable header ({e})")))?;
        use Algorithm::*;
        if !matches!(
            header.alg,
            RS256 | RS384 | RS512 | PS256 | PS384 | PS512 | ES256 | ES384 | EdDSA
        ) {
            return Err(Failure::Token(format!(
                "the algorithm {:?} is not accepted (asymmetric signatures only)",
                header.alg
            )));
        }
        let jwk = self
            .key(&d.jwks_uri, header.kid.as_deref(), header.alg)
            .await?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| Failure::Signature)?;
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[&d.issuer]);
        v.set_audience(&[client_id]);
        v.leeway = LEEWAY_SECS;
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(id_token, &key, &v)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                match e.kind() {
                    K::InvalidSignature | K::InvalidAlgorithm | K::InvalidKeyFormat => {
                        Failure::Signature
                    }
                    K::ExpiredSignature => Failure::Expired,
                    K::InvalidIssuer => Failure::Issuer,
                    K::InvalidAudience => Failure::Audience,
                    _ => Failure::Token(e.to_string()),
                }
            })?;
        let claims = data.claims;
        if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return Err(Failure::Nonce);
        }
        Ok(claims)
    }
}

/// The key of a set a token names: by `kid`, or the only key fit for the algorithm when the
/// token names none.
fn pick(set: &JwkSet, kid: Option<&str>, alg: Algorithm) -> Option<Jwk> {
    let usable = |k: &&Jwk| {
        !matches!(
            k.common.public_key_use,
            Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
        )
    };
    match kid {
        Some(kid) => set
            .keys
            .iter()
            .filter(usable)
            .find(|k| k.common.key_id.as_deref() == Some(kid))
            .cloned(),
        None => {
            let fit: Vec<&Jwk> = set
                .keys
                .iter()
                .filter(usable)
                .filter(|k| family_fits(k, alg))
                .collect();
            (fit.len() == 1).then(|| fit[0].clone())
        }
    }
}

fn family_fits(k: &Jwk, alg: Algorithm) -> bool {
    use jsonwebtoken::jwk::AlgorithmParameters as P;
    use Algorithm::*;
    match &k.algorithm {
        P::RSA(_) => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
        P::EllipticCurve(_) => matches!(alg, ES256 | ES384),
        P::OctetKeyPair(_) => alg == EdDSA,
        _ => false,
    }
}

fn refused(r: &outbound::Refused) -> String {
    format!(
        "{} leads to {}, a {} address, which single sign-on may reach only when the server allows its range (--sso-allow-cidr)",
        r.host, r.ip, r.kind
    )
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

async fn read_json(what: &str, resp: reqwest::Response) -> Result<Value, String> {
    let status = resp.status();
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(format!("{what}: the answer is too large"));
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| format!("{what}: {}", describe(&e)))?;
    if bytes.len() > MAX_BODY {
        return Err(format!("{what}: the answer is too large"));
    }
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|_| format!("{what}: answered {status} without JSON"))?;
    if !status.is_success() && v.get("error").is_none() {
        return Err(format!("{what}: answered {status}"));
    }
    Ok(v)
}

/// `application/x-www-form-urlencoded` of one value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// 32 random bytes, base64url without padding (43 characters): states, nonces, verifiers.
pub fn random_token() -> String {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut b = [0u8; 32];
    SystemRandom::new()
        .fill(&mut b)
        .expect("the system random generator works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The PKCE S256 challenge of a verifier.
pub fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The authorization request URL.
pub fn authorize_url(
    d: &Discovery,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[String],
    state: &str,
    nonce: &str,
    verifier: &str,
) -> Result<String, Failure> {
    let mut url = Url::parse(&d.authorization_endpoint)
        .map_err(|e| Failure::IssuerUnreachable(format!("authorization endpoint: {e}")))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &scopes.join(" "))
        .append_pair("state", state)
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", &challenge(verifier))
        .append_pair("code_challenge_method", "S256");
    Ok(url.into())
}

/// The domain of an email address, lowercased.
pub fn email_domain(email: &str) -> Option<String> {
    email
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_rfc_7636_s256() {
        // RFC 7636 appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn form_encoding_of_basic_credentials() {
        assert_eq!(form_encode("a b:c/d"), "a%20b%3Ac%2Fd");
        assert_eq!(form_encode("client-1_x.y~"), "client-1_x.y~");
    }
}

/// An organization's settings as given (API body or command line). `None`: keep the stored
/// value (or the default for a new configuration).
#[derive(Clone, Debug, Default)]
pub struct ConfigInput {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub email_claim: Option<String>,
    pub allowed_domains: Option<Vec<String>>,
    pub default_role: Option<String>,
    pub enabled: Option<bool>,
}

/// Why settings were refused: the field and the message (422, `errors.<field>`).
#[derive(Debug)]
pub enum ConfigError {
    Invalid(&'static str, String),
    Store(headwater_store::StoreError),
}

impl From<headwater_store::StoreError> for ConfigError {
    fn from(e: headwater_store::StoreError) -> ConfigError {
        ConfigError::Store(e)
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Invalid(field, m) => write!(f, "{field}: {m}"),
            ConfigError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ConfigError {}

pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "email", "profile"];

fn invalid(field: &'static str, m: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(field, m.into())
}

/// Checks the settings, fetches the issuer's discovery document (an unreachable issuer or one
/// naming another issuer is refused, on `issuer`), seals the client secret (bound to the
/// organization) and saves them with an audit record, in one transaction.
pub async fn save_config(
    db: &headwater_store::Db,
    oidc: &Oidc,
    key: &headwater_core::sealing::SealKey,
    org_uid: &str,
    input: ConfigInput,
    actor: &headwater_store::repo::Actor,
) -> Result<headwater_store::repo::sso::SsoConfig, ConfigError> {
    use headwater_store::repo::{audit, sso};
    let issuer = input.issuer.trim().to_string();
    let parsed = Url::parse(&issuer).map_err(|_| invalid("issuer", "is not a URL."))?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.query().is_some()
        || parsed.fragment().is_some()
        || parsed.host_str().is_none()
    {
        return Err(invalid(
            "issuer",
            "must be an http(s) URL without query or fragment (the provider's issuer identifier).",
        ));
    }
    let client_id = input.client_id.trim().to_string();
    if client_id.is_empty() || client_id.len() > 512 {
        return Err(invalid(
            "client_id",
            "is required (at most 512 characters).",
        ));
    }
    let existing = {
        let mut c = db.reader().await?;
        sso::config(&mut c, org_uid).await?
    };
    let sealed = match (input.client_secret.as_deref(), &existing) {
        (Some(s), _) if !s.is_empty() && s.len() <= 4096 => key.seal(s, org_uid),
        (Some(_), _) => {
            return Err(invalid(
                "client_secret",
                "must not be empty (at most 4096 characters).",
            ))
        }
        (None, Some(e)) => e.client_secret.clone(),
        (None, None) => return Err(invalid("client_secret", "is required.")),
    };
    let mut scopes = match (input.scopes, &existing) {
        (Some(s), _) => s,
        (None, Some(e)) => e.scopes.clone(),
        (None, None) => DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
    };
    scopes.retain(|s| !s.trim().is_empty());
    if scopes.iter().any(|s| {
        s.len() > 100
            || !s
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    }) {
        return Err(invalid(
            "scopes",
            "must be scope names (printable, no spaces).",
        ));
    }
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    let email_claim = input
        .email_claim
        .or_else(|| existing.as_ref().map(|e| e.email_claim.clone()))
        .unwrap_or_else(|| "email".into());
    if email_claim.is_empty() || email_claim.len() > 100 {
        return Err(invalid("email_claim", "must name a claim of the ID token."));
    }
    let mut domains = Vec::new();
    for d in input
        .allowed_domains
        .or_else(|| existing.as_ref().map(|e| e.allowed_domains.clone()))
        .unwrap_or_default()
    {
        let d = d.trim().trim_start_matches('@').to_ascii_lowercase();
        if d.is_empty()
            || !d.contains('.')
            || !d
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return Err(invalid(
                "allowed_domains",
                format!("'{d}' is not a domain name."),
            ));
        }
        if !domains.contains(&d) {
            domains.push(d);
        }
    }
    let default_role = input
        .default_role
        .or_else(|| existing.as_ref().map(|e| e.default_role.clone()))
        .unwrap_or_else(|| "member".into())
        .to_ascii_lowercase();
    if !matches!(default_role.as_str(), "member" | "admin") {
        return Err(invalid(
            "default_role",
            "must be 'member' or 'admin' (the role a first-time member gets).",
        ));
    }
    let enabled = input
        .enabled
        .or_else(|| existing.as_ref().map(|e| e.enabled))
        .unwrap_or(true);
    // The issuer must answer now, and name itself.
    if let Err(f) = oidc.discover(&issuer, true).await {
        return Err(invalid(
            "issuer",
            format!("discovery failed ({}): {}", f.code(), f.detail()),
        ));
    }
    let cfg = sso::SsoConfig {
        org_uid: org_uid.to_string(),
        issuer,
        client_id,
        client_secret: sealed,
        scopes,
        email_claim,
        allowed_domains: domains,
        default_role,
        enabled,
        created_at: String::new(),
        updated_at: String::new(),
    };
    let mut tx = db.begin().await?;
    let saved = sso::put_config(&mut tx, &cfg).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            org_uid: Some(org_uid),
            stack_uid: None,
            action: if existing.is_some() {
                "sso_update"
            } else {
                "sso_create"
            },
            module: "organization_sso",
            target_uid: Some(org_uid),
            target_title: Some(&saved.issuer),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(saved)
}

/// Removes (`delete`) or turns off an organization's settings, with an audit record. False
/// when it had none.
pub async fn remove_config(
    db: &headwater_store::Db,
    org_uid: &str,
    delete: bool,
    actor: &headwater_store::repo::Actor,
) -> Result<bool, headwater_store::StoreError> {
    use headwater_store::repo::{audit, sso};
    let mut tx = db.begin().await?;
    let Some(mut cfg) = sso::config(&mut tx, org_uid).await? else {
        return Ok(false);
    };
    if delete {
        sso::delete_config(&mut tx, org_uid).await?;
    } else {
        cfg.enabled = false;
        sso::put_config(&mut tx, &cfg).await?;
    }
    audit::record(
        &mut tx,
        actor,
        audit::Event {
            org_uid: Some(org_uid),
            stack_uid: None,
            action: if delete { "sso_delete" } else { "sso_disable" },
            module: "organization_sso",
            target_uid: Some(org_uid),
            target_title: Some(&cfg.issuer),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The settings as the API and the command line show them (never the secret).
pub fn config_json(
    cfg: &headwater_store::repo::sso::SsoConfig,
    redirect_uri: Option<&str>,
) -> Value {
    serde_json::json!({
        "org_uid": cfg.org_uid,
        "issuer": cfg.issuer,
        "client_id": cfg.client_id,
        "client_secret_set": !cfg.client_secret.is_empty(),
        "scopes": cfg.scopes,
        "email_claim": cfg.email_claim,
        "allowed_domains": cfg.allowed_domains,
        "default_role": cfg.default_role,
        "enabled": cfg.enabled,
        "redirect_uri": redirect_uri,
        "created_at": cfg.created_at,
        "updated_at": cfg.updated_at,
    })
}
