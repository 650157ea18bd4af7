//! Which store a server runs on: a SQLite file (the embedded default) or
//! a PostgreSQL database, chosen by `--db`, and the one handle the server
//! keeps of either ([`AnyStore`]: the `Store` trait object for requests,
//! plus what only the owner does, opening and closing).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::{PgStore, SqliteStore, Store, StoreResult};

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// A SQLite file (created if missing).
    Sqlite(PathBuf),
    /// A `postgres://user:pass@host:port/db` URL.
    Postgres(String),
}

impl DbTarget {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite:PATH`,
    /// `sqlite://PATH` or a plain path is SQLite; any other `scheme://` is
    /// refused (never taken for a file name).
    pub fn parse(s: &str) -> Result<DbTarget, String> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(DbTarget::Postgres(s.to_string()));
        }
        if let Some(rest) = s.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err("sqlite: needs a file path".into());
            }
            return Ok(DbTarget::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(format!(
                "unsupported database URL scheme {scheme:?}: use a SQLite path or postgres://"
            ));
        }
        if s.is_empty() {
            return Err("empty database path".into());
        }
        Ok(DbTarget::Sqlite(PathBuf::from(s)))
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, DbTarget::Postgres(_))
    }
}

impl From<PathBuf> for DbTarget {
    fn from(p: PathBuf) -> DbTarget {
        DbTarget::Sqlite(p)
    }
}

/// For logs: the path, or the URL without its password.
impl fmt::Display for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbTarget::Sqlite(p) => write!(f, "{}", p.display()),
            DbTarget::Postgres(url) => {
                let redacted = url.split_once("://").and_then(|(scheme, rest)| {
                    let (userinfo, host) = rest.split_once('@')?;
                    let (user, _) = userinfo.split_once(':')?;
                    Some(format!("{scheme}://{user}:***@{host}"))
                });
                f.write_str(redacted.as_deref().unwrap_or(url))
            }
        }
    }
}

/// The server's store, of either engine.
#[derive(Clone)]
pub enum AnyStore {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

impl AnyStore {
    /// Open (creating and migrating) the store at `target`.
    pub async fn open(target: &DbTarget, undo_window: chrono::Duration) -> StoreResult<AnyStore> {
        Ok(match target {
            DbTarget::Sqlite(path) => {
                let mut s = SqliteStore::open(path).await?;
                s.set_undo_window(undo_window);
                AnyStore::Sqlite(Arc::new(s))
            }
            DbTarget::Postgres(url) => {
                let mut s = PgStore::open(url).await?;
                s.set_undo_window(undo_window);
                AnyStore::Postgres(Arc::new(s))
            }
        })
    }

    /// What requests use.
    pub fn as_dyn(&self) -> Arc<dyn Store> {
        match self {
            AnyStore::Sqlite(s) => s.clone(),
            AnyStore::Postgres(s) => s.clone(),
        }
    }

    /// The SQLite store, if that is the engine (tests and tools that reach
    /// into its tables).
    pub fn sqlite(&self) -> Option<Arc<SqliteStore>> {
        match self {
            AnyStore::Sqlite(s) => Some(s.clone()),
            AnyStore::Postgres(_) => None,
        }
    }

    pub fn postgres(&self) -> Option<Arc<PgStore>> {
        match self {
            AnyStore::Sqlite(_) => None,
            AnyStore::Postgres(s) => Some(s.clone()),
        }
    }

    /// Rebuild the in-memory perceptual-hash index (after a seed).
    pub async fn reload_phash_index(&self) -> StoreResult<()> {
        match self {
            AnyStore::Sqlite(s) => s.reload_phash_index().await,
            AnyStore::Postgres(s) => s.reload_phash_index().await,
        }
    }

    /// Finish what is queued and close every connection.
    pub async fn close(&self) {
        match self {
            AnyStore::Sqlite(s) => s.close().await,
            AnyStore::Postgres(s) => s.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DbTarget;
    use std::path::PathBuf;

    #[test]
    fn parses_paths_and_urls() {
        assert_eq!(
            DbTarget::parse("a/b.db"),
            Ok(DbTarget::Sqlite(PathBuf::from("a/b.db")))
        );
        assert_eq!(
            DbTarget::parse("sqlite:///tmp/x.db"),
            Ok(DbTarget::Sqlite(PathBuf::from("/tmp/x.db")))
        );
        assert_eq!(
            DbTarget::parse("sqlite:x.db"),
            Ok(DbTarget::Sqlite(PathBuf::from("x.db")))
        );
        assert!(DbTarget::parse("postgres://u@h/db").is_ok_and(|t| t.is_postgres()));
        assert!(DbTarget::parse("mysql://u@h/db").is_err());
        assert_eq!(
            DbTarget::parse("postgres://u:secret@h:5/db")
                .map(|t| t.to_string())
                .as_deref(),
            Ok("postgres://u:***@h:5/db")
        );
    }
}
