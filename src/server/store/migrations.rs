//! The migrations of each engine, embedded in the binary: what
//! `sqlx::migrate!` does, written out (see `row.rs` for why not the macro).
//! Versions, descriptions and checksums are the ones the macro recorded in
//! `_sqlx_migrations`, so databases migrated before open unchanged; a test
//! compares this list with the folders.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

macro_rules! migration {
    ($version:literal, $description:literal, $file:literal) => {
        Migration::new(
            $version,
            Cow::Borrowed($description),
            MigrationType::Simple,
            sqlx::AssertSqlSafe(include_str!($file)).into_sql_str(),
            include_str!($file).starts_with("-- no-transaction"),
        )
    };
}

/// `migrations/sqlite/`, in order.
pub fn sqlite() -> Migrator {
    Migrator::with_migrations(vec![
        migration!(1, "init", "../../../migrations/sqlite/0001_init.sql"),
        migration!(
            2,
            "audit idempotency",
            "../../../migrations/sqlite/0002_audit_idempotency.sql"
        ),
        migration!(
            3,
            "queue speed",
            "../../../migrations/sqlite/0003_queue_speed.sql"
        ),
        migration!(
            4,
            "undo and search",
            "../../../migrations/sqlite/0004_undo_and_search.sql"
        ),
        migration!(
            5,
            "blobs elsewhere",
            "../../../migrations/sqlite/0005_blobs_elsewhere.sql"
        ),
        migration!(6, "events", "../../../migrations/sqlite/0006_events.sql"),
        migration!(
            7,
            "login failures",
            "../../../migrations/sqlite/0007_login_failures.sql"
        ),
    ])
}

/// `migrations/postgres/`, in order.
pub fn postgres() -> Migrator {
    Migrator::with_migrations(vec![
        migration!(1, "init", "../../../migrations/postgres/0001_init.sql"),
        migration!(
            2,
            "blobs events logins",
            "../../../migrations/postgres/0002_blobs_events_logins.sql"
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `migrate!` would have embedded: sqlx reading the folder.
    async fn from_folder(dir: &str) -> Vec<(i64, String, Vec<u8>, bool)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let m = Migrator::new(path.as_path())
            .await
            .expect("the folder reads");
        m.iter()
            .map(|m| {
                (
                    m.version,
                    m.description.to_string(),
                    m.checksum.to_vec(),
                    m.no_tx,
                )
            })
            .collect()
    }

    fn listed(m: &Migrator) -> Vec<(i64, String, Vec<u8>, bool)> {
        m.iter()
            .map(|m| {
                (
                    m.version,
                    m.description.to_string(),
                    m.checksum.to_vec(),
                    m.no_tx,
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn every_migration_file_is_embedded_as_sqlx_reads_it() {
        assert_eq!(listed(&sqlite()), from_folder("migrations/sqlite").await);
        assert_eq!(
            listed(&postgres()),
            from_folder("migrations/postgres").await
        );
        assert!(sqlite().iter().count() >= 7);
    }
}
