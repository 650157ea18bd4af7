//! The event log: each change is appended in the transaction that made it,
//! so its sequence number is its commit order (one writer) and a stream
//! that resumes from a number misses nothing and repeats nothing.

use sqlx::sqlite::SqliteConnection;

use super::SqliteStore;
use crate::api::dto::QueueEvent;
use crate::server::store::{Change, EventLog, RETAINED_EVENTS, StoreResult};
use futures::future::BoxFuture;

/// Append `change` to the log and give it its number. Every
/// [`RETAINED_EVENTS`]/8 appends, rows older than the retained tail go.
pub(super) async fn log(conn: &mut SqliteConnection, mut change: Change) -> StoreResult<Change> {
    let body = serde_json::to_string(&change.event)?;
    let (seq,): (i64,) =
        sqlx::query_as("INSERT INTO events (district, site, body) VALUES (?, ?, ?) RETURNING seq")
            .bind(&change.district)
            .bind(&change.site)
            .bind(body)
            .fetch_one(&mut *conn)
            .await?;
    if seq % (RETAINED_EVENTS / 8) == 0 {
        sqlx::query("DELETE FROM events WHERE seq <= ?")
            .bind(seq - RETAINED_EVENTS)
            .execute(&mut *conn)
            .await?;
    }
    change.seq = seq;
    Ok(change)
}

impl SqliteStore {
    pub(super) fn events_after(
        &self,
        after: i64,
        limit: u32,
    ) -> BoxFuture<'_, StoreResult<EventLog>> {
        Box::pin(async move {
            let mut conn = self.reads.get().await?;
            let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
                "SELECT seq, district, site, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            )
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?;
            let (oldest, newest): (Option<i64>, Option<i64>) =
                sqlx::query_as("SELECT min(seq), max(seq) FROM events")
                    .fetch_one(&mut *conn)
                    .await?;
            let changes = rows
                .into_iter()
                .map(|(seq, district, site, body)| {
                    Ok(Change {
                        seq,
                        district,
                        site,
                        event: serde_json::from_str::<QueueEvent>(&body)?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(EventLog {
                changes,
                oldest: oldest.unwrap_or(0),
                newest: newest.unwrap_or(0),
            })
        })
    }
}
