//! Embedded migrations, one folder per backend with the same versions. sqlx's migrator
//! records what ran and, on PostgreSQL, takes an advisory lock so that several instances
//! starting together apply each migration once.

use crate::db::Backend;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;

struct Source {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// One migration: the same file name in both backends' folders.
macro_rules! source {
    ($version:literal, $description:literal, $file:literal) => {
        Source {
            version: $version,
            description: $description,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file)),
            postgres: include_str!(concat!("../migrations/postgres/", $file)),
        }
    };
}

/// The newest migration this build knows.
pub fn latest_version() -> i64 {
    SOURCES.iter().map(|s| s.version).max().unwrap_or(0)
}

const SOURCES: &[Source] = &[
    source!(1, "identity", "0001_identity.sql"),
    source!(2, "content", "0002_content.sql"),
    source!(3, "assets", "0003_assets.sql"),
    source!(4, "delivery", "0004_delivery.sql"),
    source!(5, "branches", "0005_branches.sql"),
    source!(6, "workflows", "0006_workflows.sql"),
    source!(7, "webhooks", "0007_webhooks.sql"),
    source!(8, "entry field index", "0008_entry_field_index.sql"),
    source!(9, "releases", "0009_releases.sql"),
    source!(10, "sessions", "0010_sessions.sql"),
    source!(11, "token controls", "0011_token_controls.sql"),
    source!(13, "taxonomies", "0013_taxonomies.sql"),
    source!(15, "extensions", "0015_extensions.sql"),
    source!(16, "branch merges", "0016_branch_merges.sql"),
    source!(14, "publish jobs", "0014_publish_jobs.sql"),
    source!(12, "organization administration", "0012_org_admin.sql"),
    source!(
        17,
        "taxonomy locales and publications",
        "0017_taxonomy_locales_publications.sql"
    ),
    source!(
        18,
        "metadata publications",
        "0018_metadata_publications.sql"
    ),
    source!(19, "single sign-on", "0019_sso.sql"),
    source!(20, "entry change log", "0020_entry_changes.sql"),
    source!(
        21,
        "entry change log by transaction",
        "0021_entry_changes_by_transaction.sql"
    ),
];

pub(crate) fn migrator(backend: Backend) -> Migrator {
    let migrations: Vec<Migration> = SOURCES
        .iter()
        .map(|s| {
            let sql = match backend {
                Backend::Sqlite => s.sqlite,
                Backend::Postgres => s.postgres,
            };
            Migration::new(
                s.version,
                Cow::Borrowed(s.description),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_versions_on_disk() {
        let dir = |b: &str| {
            let mut v: Vec<String> =
                std::fs::read_dir(format!("{}/migrations/{b}", env!("CARGO_MANIFEST_DIR")))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
            v.sort();
            v
        };
        assert_eq!(dir("sqlite"), dir("postgres"));
        assert_eq!(dir("sqlite").len(), SOURCES.len());
    }
}
