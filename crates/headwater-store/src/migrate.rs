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

const SOURCES: &[Source] = &[
    Source {
        version: 1,
        description: "identity",
        sqlite: include_str!("../migrations/sqlite/0001_identity.sql"),
        postgres: include_str!("../migrations/postgres/0001_identity.sql"),
    },
    Source {
        version: 2,
        description: "content",
        sqlite: include_str!("../migrations/sqlite/0002_content.sql"),
        postgres: include_str!("../migrations/postgres/0002_content.sql"),
    },
    Source {
        version: 3,
        description: "assets",
        sqlite: include_str!("../migrations/sqlite/0003_assets.sql"),
        postgres: include_str!("../migrations/postgres/0003_assets.sql"),
    },
    Source {
        version: 4,
        description: "delivery",
        sqlite: include_str!("../migrations/sqlite/0004_delivery.sql"),
        postgres: include_str!("../migrations/postgres/0004_delivery.sql"),
    },
    Source {
        version: 5,
        description: "branches",
        sqlite: include_str!("../migrations/sqlite/0005_branches.sql"),
        postgres: include_str!("../migrations/postgres/0005_branches.sql"),
    },
    Source {
        version: 6,
        description: "workflows",
        sqlite: include_str!("../migrations/sqlite/0006_workflows.sql"),
        postgres: include_str!("../migrations/postgres/0006_workflows.sql"),
    },
    Source {
        version: 7,
        description: "webhooks",
        sqlite: include_str!("../migrations/sqlite/0007_webhooks.sql"),
        postgres: include_str!("../migrations/postgres/0007_webhooks.sql"),
    },
    Source {
        version: 8,
        description: "entry field index",
        sqlite: include_str!("../migrations/sqlite/0008_entry_field_index.sql"),
        postgres: include_str!("../migrations/postgres/0008_entry_field_index.sql"),
    },
    Source {
        version: 11,
        description: "releases",
        sqlite: include_str!("../migrations/sqlite/0011_releases.sql"),
        postgres: include_str!("../migrations/postgres/0011_releases.sql"),
    },
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
