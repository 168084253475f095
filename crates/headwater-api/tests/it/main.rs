//! Headwater's HTTP integration tests, one test binary (`cargo test -p headwater-api --test it`)
//! so the server and its dependencies are linked once instead of once per file. Each module is
//! one area; `common` holds the helpers several of them share. Run one area or one test with a
//! filter: `cargo test -p headwater-api --test it -- webhooks::` or `… -- sec_01`.

mod common;

mod asset_query;
mod assets;
mod branch_merge;
mod branches;
mod bulk;
mod bulk_jobs;
mod cli_needs;
mod content;
mod delivery;
mod entry_extras;
mod entry_index;
mod extensions;
mod foundation;
mod import_export;
mod management_tokens;
mod openapi;
mod org;
mod publish_nested;
mod publishing;
mod read_caches;
mod releases;
mod s3_storage;
mod security;
mod security_content;
mod security_login;
mod sso;
mod taxonomies;
mod taxonomy_publish;
mod tls;
mod web_app;
mod webhooks;
mod wire;
mod workflows;
