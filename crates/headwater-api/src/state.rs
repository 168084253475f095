//! Server-wide state and settings shared by every request.

use headwater_core::ratelimit::RateLimiter;
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
    /// Keep asset files in this S3-compatible bucket instead of `assets_dir` (which then
    /// holds only upload spool files).
    pub s3: Option<crate::storage::S3Config>,
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
            s3: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    pub db: Db,
    pub tokens: crate::cache::TokenCache,
    pub storage: crate::storage::Storage,
    pub config: ServerConfig,
    pub limiter: RateLimiter,
}

impl AppState {
    pub fn new(db: Db, config: ServerConfig) -> AppState {
        AppState(Arc::new(Inner {
            tokens: crate::cache::TokenCache::default(),
            storage: crate::storage::Storage::from_config(&config)
                .expect("storage settings are checked with Storage::from_config before start"),
            db,
            config,
            limiter: RateLimiter::new(),
        }))
    }

    pub fn db(&self) -> &Db {
        &self.0.db
    }

    pub fn token_cache(&self) -> &crate::cache::TokenCache {
        &self.0.tokens
    }

    pub fn storage(&self) -> &crate::storage::Storage {
        &self.0.storage
    }

    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }
}
