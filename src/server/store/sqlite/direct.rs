//! Reads that run on the request's own thread, through rusqlite on the same
//! SQLite library sqlx links.
//!
//! sqlx runs every SQLite connection on a thread of its own and hands each
//! statement and its rows across a channel. For the queue page that
//! hand-off (a wake-up and a context switch each way), and the JSON the
//! rows were packed into so that there was only one, cost more than
//! SQLite's own work (a profile of the page: ~35% in `sqlite3_step`, half
//! of it building JSON, 13% parsing it back, ~9% futex and scheduling).
//!
//! A short indexed read runs right where the request is, on a connection
//! nobody else holds, and never waits: no connection free, or the database
//! busy, and it goes to tokio's blocking pool instead. So does a read that
//! may scan (a search), so the runtime's threads are never held long.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::server::store::{StoreError, StoreResult};

/// A bound value of a [`Sql`] statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Int(v) => v.to_sql(),
            Arg::Text(v) => v.to_sql(),
        }
    }
}

/// A statement built up with `?` placeholders and the values they bind.
#[derive(Debug, Default, Clone)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    pub(crate) fn bind_int(&mut self, v: i64) -> &mut Sql {
        self.text.push('?');
        self.args.push(Arg::Int(v));
        self
    }

    pub(crate) fn bind_text(&mut self, v: impl Into<String>) -> &mut Sql {
        self.text.push('?');
        self.args.push(Arg::Text(v.into()));
        self
    }

    /// Run it, mapping each row with `f`, on a statement cached on `conn`.
    pub(crate) fn rows<T>(
        &self,
        conn: &Connection,
        mut f: impl FnMut(&rusqlite::Row<'_>) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let mut stmt = conn.prepare_cached(&self.text)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(self.args.iter()))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(f(row)?);
        }
        Ok(out)
    }
}

/// How long a read on the blocking pool may wait for a lock (only another
/// process on the file, or a checkpoint's instant, can make it wait).
const BUSY_WAIT: Duration = Duration::from_secs(15);

/// Read-only rusqlite connections on the database file.
pub(crate) struct DirectReaders {
    conns: Arc<[Mutex<Connection>]>,
    next: AtomicUsize,
}

impl DirectReaders {
    pub(crate) fn open(path: &Path, n: usize) -> StoreResult<DirectReaders> {
        let mut conns = Vec::with_capacity(n);
        for _ in 0..n.max(1) {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            for (k, v) in super::TUNING {
                conn.execute_batch(&format!("PRAGMA {k} = {v};"))?;
            }
            conn.set_prepared_statement_cache_capacity(64);
            conns.push(Mutex::new(conn));
        }
        Ok(DirectReaders {
            conns: conns.into(),
            next: AtomicUsize::new(0),
        })
    }

    /// Run `read` on a connection: here and now if `short` and one is free
    /// (it then must not wait for a lock either), else on the blocking pool.
    pub(crate) async fn run<T, F>(&self, short: bool, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let n = self.conns.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        if short {
            for i in 0..n {
                if let Ok(conn) = self.conns[(start + i) % n].try_lock() {
                    conn.busy_timeout(Duration::ZERO)?;
                    match read(&conn) {
                        Err(StoreError::Sqlite(e)) if is_busy(&e) => break,
                        done => return done,
                    }
                }
            }
        }
        let conns = Arc::clone(&self.conns);
        tokio::task::spawn_blocking(move || {
            let conn = held(&conns[start % n]);
            conn.busy_timeout(BUSY_WAIT)?;
            read(&conn)
        })
        .await
        // Only a panic in `read` gets here; it says so in its message.
        .map_err(|e| StoreError::Db(sqlx::Error::Io(std::io::Error::other(e))))?
    }
}

/// A connection's lock even if a read panicked while holding it: reads
/// leave nothing half-done on a connection (a dropped statement resets).
fn held(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code().is_some_and(|c| {
        matches!(
            c,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_binds_what_it_says() {
        let mut q = Sql::new("SELECT ");
        q.bind_int(7).push(" || ").bind_text("x");
        assert_eq!(q.text, "SELECT ? || ?");
        assert_eq!(q.args, vec![Arg::Int(7), Arg::Text("x".into())]);
        let conn = Connection::open_in_memory().expect("memory db");
        let got = q.rows(&conn, |r| Ok(r.get::<_, String>(0)?)).expect("runs");
        assert_eq!(got, vec!["7x".to_string()]);
    }

    /// With its only connection held, a short read does not wait on this
    /// thread: it runs on the blocking pool once the connection is free.
    #[tokio::test]
    async fn a_held_connection_sends_the_read_to_the_blocking_pool() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        Connection::open(&path)
            .and_then(|c| c.execute_batch("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (41);"))
            .expect("db");
        let readers = DirectReaders::open(&path, 1).expect("open");
        let here = std::thread::current().id();
        let conns = Arc::clone(&readers.conns);
        let (locked_tx, locked) = std::sync::mpsc::channel::<()>();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let guard = held(&conns[0]);
            let _ = locked_tx.send(());
            let _ = release_rx.recv();
            drop(guard);
        });
        locked.recv().expect("held");
        let mut read = Box::pin(readers.run(true, move |conn| {
            let v: i64 = conn.query_row("SELECT v + 1 FROM t", [], |r| r.get(0))?;
            Ok((v, std::thread::current().id()))
        }));
        // Polled once: the connection was taken, so it waits elsewhere.
        assert!(futures::poll!(&mut read).is_pending());
        release.send(()).expect("release");
        let (v, ran_on) = read.await.expect("read");
        holder.join().expect("join");
        assert_eq!(v, 42);
        assert_ne!(ran_on, here);
        // Free again: the next short read runs right here.
        let ran_on = readers
            .run(true, |_| Ok(std::thread::current().id()))
            .await
            .expect("read");
        assert_eq!(ran_on, here);
    }

    #[test]
    fn busy_is_told_from_other_errors() {
        let busy = StoreError::from(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        ));
        let other = StoreError::from(rusqlite::Error::InvalidQuery);
        assert!(matches!(&busy, StoreError::Sqlite(e) if is_busy(e)));
        assert!(matches!(&other, StoreError::Sqlite(e) if !is_busy(e)));
    }
}
