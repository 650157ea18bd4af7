//! The read connections: a few read-only connections, each behind its own
//! async mutex, handed to whichever request finds one free.
//!
//! Not `sqlx::Pool`: returning a connection to the pool spawns a task that
//! pings it first, a second round trip to the connection's thread for every
//! query (and the profile of the queue page was mostly such hand-offs). A
//! local read-only connection has nothing to test: it cannot be left in a
//! transaction (reads here are single statements) and does not time out.

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

/// A read connection, held for one request's read.
pub(crate) type Reader<'a> = MappedMutexGuard<'a, SqliteConnection>;

pub(crate) struct Readers {
    /// None once closed.
    conns: Vec<Mutex<Option<SqliteConnection>>>,
    next: AtomicUsize,
}

impl Readers {
    pub(crate) async fn open(
        opts: &SqliteConnectOptions,
        n: usize,
    ) -> Result<Readers, sqlx::Error> {
        let mut conns = Vec::with_capacity(n);
        for _ in 0..n.max(1) {
            conns.push(Mutex::new(Some(
                SqliteConnection::connect_with(opts).await?,
            )));
        }
        Ok(Readers {
            conns,
            next: AtomicUsize::new(0),
        })
    }

    /// A free connection, or (all busy) the next one in turn once its
    /// current query ends.
    pub(crate) async fn get(&self) -> Result<Reader<'_>, sqlx::Error> {
        let n = self.conns.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut held = None;
        for i in 0..n {
            if let Ok(c) = self.conns[(start + i) % n].try_lock() {
                held = Some(c);
                break;
            }
        }
        let held = match held {
            Some(c) => c,
            None => self.conns[start % n].lock().await,
        };
        MutexGuard::try_map(held, Option::as_mut).map_err(|_| sqlx::Error::PoolClosed)
    }

    pub(crate) async fn close(&self) {
        for c in &self.conns {
            if let Some(c) = c.lock().await.take() {
                let _ = c.close().await;
            }
        }
    }
}
