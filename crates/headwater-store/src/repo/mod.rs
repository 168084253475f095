//! Repositories, one module per aggregate. Functions take a connection (`&mut AnyConnection`),
//! so the same function serves inside a write transaction and on a read connection.

pub mod assets;
pub mod audit;
pub mod branch_merges;
pub mod branches;
pub mod delivery_tokens;
pub mod entries;
pub mod environments;
pub mod extensions;
pub mod field_index;
pub mod invitations;
pub mod links;
pub mod locales;
pub mod orgs;
pub mod publications;
pub mod publish_jobs;
pub mod references;
pub mod releases;
pub mod roles;
pub mod schemas;
pub mod sso;
pub mod stack_settings;
pub mod stacks;
pub mod taxonomies;
pub mod teams;
pub mod token_notices;
pub mod token_usage;
pub mod tokens;
pub mod users;
pub mod webhooks;
pub mod workflows;

pub use sqlx::AnyConnection as Conn;

/// Who performed a change: a person or a management token (never a person for a token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    User(String),
    ManagementToken(String),
    /// The operator, through the command line.
    System,
}

impl Actor {
    /// The value written to `created_by` / `updated_by`.
    pub fn uid(&self) -> &str {
        match self {
            Actor::User(u) | Actor::ManagementToken(u) => u,
            Actor::System => "system",
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::ManagementToken(_) => "management_token",
            Actor::System => "system",
        }
    }
}
