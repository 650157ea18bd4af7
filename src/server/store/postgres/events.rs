//! The event log on PostgreSQL, and the listener that carries it across
//! instances. Each change is appended in the transaction that made it,
//! and `NOTIFY shenhe_events, '<seq>'` in the same transaction is
//! delivered to every instance at commit (in commit order). Each instance
//! keeps one `LISTEN` connection; on a number it reads that row and hands
//! it to its own streams, which read the log themselves for anything they
//! miss (`server::stream`): a listener that reconnects, or numbers that
//! commit out of order, lose nothing.

use std::sync::RwLock;
use std::time::Duration;

use sqlx::postgres::{PgConnection, PgListener};
use tokio::sync::watch;

use super::PgStore;
use super::script::q;
use crate::api::dto::QueueEvent;
use crate::domain::audit::AuditAction;
use crate::server::EventHub;
use crate::server::store::phash_index::PhashIndex;
use crate::server::store::{Change, EventLog, RETAINED_EVENTS, StoreResult};
use futures::future::BoxFuture;

const CHANNEL: &str = "shenhe_events";

/// Append `change` to the log, give it its number, and notify.
pub(super) async fn log(conn: &mut PgConnection, mut change: Change) -> StoreResult<Change> {
    let body = serde_json::to_string(&change.event)?;
    let (seq,): (i64,) = sqlx::query_as(q(
        "INSERT INTO events (district, site, body) VALUES (?, ?, ?) RETURNING seq",
    ))
    .bind(&change.district)
    .bind(&change.site)
    .bind(body)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(seq.to_string())
        .execute(&mut *conn)
        .await?;
    if seq % (RETAINED_EVENTS / 8) == 0 {
        sqlx::query(q("DELETE FROM events WHERE seq <= ?"))
            .bind(seq - RETAINED_EVENTS)
            .execute(&mut *conn)
            .await?;
    }
    change.seq = seq;
    Ok(change)
}

async fn sync_phash(
    pool: &sqlx::PgPool,
    phash: &RwLock<PhashIndex>,
    candidate_id: i64,
) -> StoreResult<()> {
    let rows: Vec<(i64, i64)> =
        sqlx::query_as(q("SELECT id, phash FROM images WHERE candidate_id = ?"))
            .bind(candidate_id)
            .fetch_all(pool)
            .await?;
    // Stored as the hash's bits in a signed column.
    let current: Vec<(i64, u64)> = rows.into_iter().map(|(i, h)| (i, h as u64)).collect();
    if let Ok(mut ix) = phash.write() {
        ix.sync_candidate(candidate_id, &current);
    }
    Ok(())
}

fn decode(seq: i64, district: String, site: String, body: &str) -> StoreResult<Change> {
    Ok(Change {
        seq,
        district,
        site,
        event: serde_json::from_str::<QueueEvent>(body)?,
    })
}

impl PgStore {
    pub(super) fn events_after(
        &self,
        after: i64,
        limit: u32,
    ) -> BoxFuture<'_, StoreResult<EventLog>> {
        Box::pin(async move {
            let rows: Vec<(i64, String, String, String)> = sqlx::query_as(q(
                "SELECT seq, district, site, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            ))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            let (oldest, newest): (Option<i64>, Option<i64>) =
                sqlx::query_as("SELECT min(seq), max(seq) FROM events")
                    .fetch_one(&self.pool)
                    .await?;
            let changes = rows
                .into_iter()
                .map(|(seq, district, site, body)| decode(seq, district, site, &body))
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(EventLog {
                changes,
                oldest: oldest.unwrap_or(0),
                newest: newest.unwrap_or(0),
            })
        })
    }

    /// This instance's listener: changes made through any instance reach
    /// `hub` (and so this instance's streams) within a round trip of their
    /// commit. Ends when `shutdown` turns true.
    pub fn spawn_listener(
        &self,
        hub: EventHub,
        mut shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let pool = self.pool.clone();
        let phash = self.phash.clone();
        tokio::spawn(async move {
            loop {
                let run = listen(&pool, &hub, &phash);
                tokio::select! {
                    r = run => {
                        if let Err(e) = r {
                            tracing::warn!(error = %e, "event listener: reconnecting");
                        }
                    }
                    _ = shutdown.wait_for(|down| *down) => return,
                }
                // Whatever was missed while away: every stream looks.
                hub.publish(Change::wake());
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    }
}

async fn listen(
    pool: &sqlx::PgPool,
    hub: &EventHub,
    phash: &RwLock<PhashIndex>,
) -> StoreResult<()> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    // Anything appended before LISTEN took effect.
    hub.publish(Change::wake());
    loop {
        // None: the connection was lost (notifications may be missed).
        let Some(n) = listener.try_recv().await? else {
            return Ok(());
        };
        let Ok(seq) = n.payload().parse::<i64>() else {
            continue;
        };
        let row: Option<(i64, String, String, String)> = sqlx::query_as(q(
            "SELECT seq, district, site, body FROM events WHERE seq = ?",
        ))
        .bind(seq)
        .fetch_optional(pool)
        .await?;
        let Some((seq, district, site, body)) = row else {
            // Pruned already, or not visible yet: the streams read the log.
            hub.publish(Change::wake());
            continue;
        };
        let change = decode(seq, district, site, &body)?;
        // Uploads and deletes through any instance: the near-duplicate
        // index of this one follows (an upload checks against it).
        let action = change.event.action.as_str();
        if action == AuditAction::Upload.as_str() || action == AuditAction::Delete.as_str() {
            sync_phash(pool, phash, change.event.candidate_id).await?;
        }
        hub.publish(change);
    }
}
