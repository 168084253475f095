//! Server-wide state and settings shared by every request.

use headwater_core::throttle::Policy;
use headwater_store::repo::tokens::WhenFull;
use headwater_store::Db;
use std::sync::Arc;

/// Settings an operator chooses when starting the server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Requests per second an organization may make through management tokens, when the
    /// organization has no limit of its own.
    pub default_org_read_rps: u32,
    pub default_org_write_rps: u32,
    /// Management tokens a stack may hold, unless its stack or organization says otherwise.
    pub max_management_tokens: i64,
    pub when_tokens_full: WhenFull,
    /// The largest JSON body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The largest asset upload accepted, in bytes.
    pub max_upload_bytes: usize,
    /// Where asset files are stored.
    pub assets_dir: std::path::PathBuf,
    /// The URL clients reach this server at, used in asset `url`s (e.g. `http://127.0.0.1:8080`).
    /// When unset, the request's `Host` header is used.
    pub public_url: Option<String>,
    /// A separate origin for asset files (e.g. `https://files.example.com`), reaching this same
    /// server: asset `url`s use it, and downloads asked of any other host are redirected to it,
    /// so uploaded files never share an origin with the API or the app.
    pub assets_public_url: Option<String>,
    /// Keep asset files in this S3-compatible bucket instead of `assets_dir` (which then
    /// holds only upload spool files).
    pub s3: Option<crate::storage::S3Config>,
    /// Whether this server speaks HTTPS: asset `url`s built from the `Host` header then start
    /// with `https://`.
    pub tls: bool,
    /// Webhook delivery and management-token expiry notices.
    pub events: EventsConfig,
    /// Login throttling, password hashing and authtoken lifetimes.
    pub login: LoginConfig,
    /// Timeouts of client connections and of shutdown.
    pub conn: crate::serve::ConnLimits,
    /// Internal address ranges webhooks may nevertheless be delivered to (on-premises
    /// receivers). Empty by default: loopback, private, link-local and other internal
    /// addresses are refused (see [`crate::outbound`]).
    pub webhook_allow_cidrs: Vec<crate::outbound::Cidr>,
    /// Share rate limits between instances through this Redis (`redis://…`); without it
    /// they are counted in process.
    pub redis_url: Option<String>,
    /// How many instances share the limits: while Redis is unreachable each instance allows
    /// this fraction of every limit (1: the full limit).
    pub instances: u32,
    /// Proxies whose `X-Forwarded-For` names the client (MT-16, MT-17, MT-19). Empty by
    /// default: the socket's peer address is the client, and the header is ignored.
    pub trusted_proxies: Vec<headwater_core::cidr::Cidr>,
    /// How often management-token usage tallies are written to the database (MT-19).
    pub usage_flush_interval: std::time::Duration,
    /// Leak reports (`POST /v3/token-revocations`) accepted per second and client address
    /// (MT-17).
    pub token_revocation_rps: u32,
    /// The key two-factor secrets are sealed with in the database (SEC-14).
    pub seal_key: headwater_core::sealing::SealKey,
    /// Internal address ranges single sign-on may reach (an identity provider on the
    /// operator's network). Empty by default: as for webhooks, internal addresses are refused.
    pub sso_allow_cidrs: Vec<crate::outbound::Cidr>,
    /// The shortest time between two fetches of a provider's key set caused by an ID token
    /// naming a key the cached set lacks (key rotation).
    pub sso_jwks_refresh_interval: std::time::Duration,
}

/// Login throttling (SEC-3), bounded password hashing (SEC-4) and authtoken lifetimes (SEC-17).
#[derive(Clone, Debug)]
pub struct LoginConfig {
    /// Failed logins per email (known or not), counted in this process.
    pub account: Policy,
    /// Failed logins per client address (IPv4 address or IPv6 /64).
    pub address: Policy,
    /// Wrong two-factor codes per user.
    pub tfa: Policy,
    /// How long a login waits for a free password hasher before it is answered 503.
    pub hash_wait: std::time::Duration,
    /// An authtoken unused for this long is refused (401, code 105).
    pub session_idle: std::time::Duration,
    /// An authtoken older than this is refused, however recently it was used.
    pub session_max_age: std::time::Duration,
    /// A browser session (single sign-on cookie) unused for this long is refused.
    pub browser_session_idle: std::time::Duration,
    /// A browser session older than this is refused, however recently it was used.
    pub browser_session_max_age: std::time::Duration,
}

const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

impl Default for LoginConfig {
    fn default() -> LoginConfig {
        LoginConfig {
            account: Policy {
                free: 5,
                window: 15 * MINUTE,
                base_lockout: std::time::Duration::from_secs(1),
                max_lockout: 15 * MINUTE,
            },
            address: Policy {
                free: 50,
                window: 15 * MINUTE,
                base_lockout: std::time::Duration::from_secs(1),
                max_lockout: 15 * MINUTE,
            },
            tfa: Policy {
                free: 5,
                window: 15 * MINUTE,
                base_lockout: std::time::Duration::from_secs(30),
                max_lockout: 15 * MINUTE,
            },
            hash_wait: crate::hashing::DEFAULT_WAIT,
            session_idle: 24 * 60 * MINUTE,
            session_max_age: 30 * 24 * 60 * MINUTE,
            browser_session_idle: 2 * 60 * MINUTE,
            browser_session_max_age: 12 * 60 * MINUTE,
        }
    }
}

/// Settings of the webhook delivery worker and the expiry-notice scan.
#[derive(Clone, Debug)]
pub struct EventsConfig {
    /// How often the delivery worker looks for due deliveries when it found none.
    pub poll_interval: std::time::Duration,
    /// The first retry waits this long; each further retry waits twice as long as the last
    /// (capped at one hour).
    pub retry_base: std::time::Duration,
    /// Attempts per delivery before it is marked failed (a manual retry adds one).
    pub max_attempts: i64,
    /// Timeout of one delivery request (connecting included).
    pub request_timeout: std::time::Duration,
    /// A management token with notifications enabled gets an "expiring" event this many days
    /// before it expires.
    pub notice_days: i64,
    /// How often tokens are scanned for expiry notices.
    pub notice_interval: std::time::Duration,
    /// Where expiry notices are also emailed to the stack's owner and admins.
    pub smtp: Option<crate::smtp::SmtpConfig>,
    /// How often the publishing-job worker looks for due jobs (bulk jobs, scheduled
    /// publishes) when it found none.
    pub jobs_poll_interval: std::time::Duration,
    /// Whether this instance carries out publishing jobs (tests turn it off to leave a job
    /// queued for the next server).
    pub run_jobs: bool,
}

impl Default for EventsConfig {
    fn default() -> EventsConfig {
        EventsConfig {
            poll_interval: std::time::Duration::from_secs(1),
            retry_base: std::time::Duration::from_secs(30),
            max_attempts: 5,
            request_timeout: std::time::Duration::from_secs(10),
            notice_days: 7,
            notice_interval: std::time::Duration::from_secs(3600),
            smtp: None,
            jobs_poll_interval: std::time::Duration::from_millis(500),
            run_jobs: true,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            default_org_read_rps: 10,
            default_org_write_rps: 10,
            max_management_tokens: 30,
            when_tokens_full: WhenFull::Refuse,
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 100 * 1024 * 1024,
            assets_dir: std::path::PathBuf::from("./headwater-data/assets"),
            public_url: None,
            assets_public_url: None,
            events: EventsConfig::default(),
            conn: crate::serve::ConnLimits::default(),
            tls: false,
            s3: None,
            login: LoginConfig::default(),
            webhook_allow_cidrs: Vec::new(),
            redis_url: None,
            instances: 1,
            trusted_proxies: Vec::new(),
            usage_flush_interval: std::time::Duration::from_secs(60),
            token_revocation_rps: 1,
            seal_key: headwater_core::sealing::SealKey::generate(),
            sso_allow_cidrs: Vec::new(),
            sso_jwks_refresh_interval: std::time::Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    pub db: Db,
    pub tokens: crate::cache::TokenCache,
    /// Bumped by every change this instance makes (see [`crate::cache::Generation`]).
    pub generation: crate::cache::Generation,
    /// Authtoken sessions and users' standings in stacks (see [`crate::cache::StandingCache`]).
    pub standings: crate::cache::StandingCache,
    /// Delivery API answers (see [`crate::cda_cache`]).
    pub delivered: crate::cda_cache::DeliveryCache,
    pub storage: crate::storage::Storage,
    pub config: ServerConfig,
    pub limiter: crate::shared_limits::Limiter,
    /// True while this instance listens for other instances' credential changes.
    pub revocations_live: std::sync::atomic::AtomicBool,
    pub usage: crate::usage::UsageBook,
    /// Failed-login counters (SEC-3), per process.
    pub login_throttles: crate::routes::session::Throttles,
    /// Single sign-on: the client towards identity providers and its caches.
    pub oidc: crate::sso::Oidc,
}

impl AppState {
    pub fn new(db: Db, config: ServerConfig) -> AppState {
        AppState(Arc::new(Inner {
            tokens: crate::cache::TokenCache::default(),
            generation: crate::cache::Generation::default(),
            standings: crate::cache::StandingCache::default(),
            delivered: crate::cda_cache::DeliveryCache::default(),
            storage: crate::storage::Storage::from_config(&config)
                .expect("storage settings are checked with Storage::from_config before start"),
            login_throttles: crate::routes::session::Throttles::new(&config.login),
            oidc: crate::sso::Oidc::new(&config.sso_allow_cidrs, config.sso_jwks_refresh_interval),
            db,
            limiter: match &config.redis_url {
                Some(url) => crate::shared_limits::Limiter::redis(url, config.instances)
                    .expect("the Redis URL is checked with Limiter::redis before start"),
                None => crate::shared_limits::Limiter::local(),
            },
            config,
            revocations_live: std::sync::atomic::AtomicBool::new(false),
            usage: crate::usage::UsageBook::default(),
        }))
    }

    pub fn db(&self) -> &Db {
        &self.0.db
    }

    pub fn token_cache(&self) -> &crate::cache::TokenCache {
        &self.0.tokens
    }

    pub fn generation(&self) -> &crate::cache::Generation {
        &self.0.generation
    }

    pub fn standings(&self) -> &crate::cache::StandingCache {
        &self.0.standings
    }

    pub fn delivered(&self) -> &crate::cda_cache::DeliveryCache {
        &self.0.delivered
    }

    /// After a change committed: cached standings and delivery answers are stale.
    pub fn changed(&self) {
        self.0.generation.bump();
    }

    pub fn storage(&self) -> &crate::storage::Storage {
        &self.0.storage
    }

    pub fn limiter(&self) -> &crate::shared_limits::Limiter {
        &self.0.limiter
    }

    pub fn usage(&self) -> &crate::usage::UsageBook {
        &self.0.usage
    }

    pub fn oidc(&self) -> &crate::sso::Oidc {
        &self.0.oidc
    }

    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }
}
