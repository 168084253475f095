//! Headwater's HTTP integration tests, one test binary (`cargo test -p headwater-api --test it`)
//! so the server and its dependencies are linked once instead of once per file. Each module is
//! one area; `common` holds the helpers several of them share. Run one area or one test with a
//! filter: `cargo test -p headwater-api --test it -- webhooks::` or `… -- sec_01`.

mod common;

mod assets;
mod branches;
mod bulk;
mod cli_needs;
mod content;
mod delivery;
mod entry_index;
mod foundation;
mod management_tokens;
mod openapi;
mod publishing;
mod releases;
mod s3_storage;
mod security;
mod security_content;
mod security_login;
mod tls;
mod webhooks;
mod workflows;
