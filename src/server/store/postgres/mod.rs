//! The PostgreSQL store: the same tables and semantics as the SQLite one
//! (`../sqlite`), on a connection pool. `shenhe serve --db postgres://…`
//! picks it. No single writer here: every write is one transaction that
//! locks the candidate's row (`SELECT … FOR NO KEY UPDATE`) before it reads
//! what it decides on, so writers of one candidate queue on that lock and
//! writers of different candidates run in parallel; version checks and the
//! state machines then see the latest committed row. Idempotency is the
//! unique keys of `idempotency` and `audit_idempotency` with `INSERT … ON
//! CONFLICT DO NOTHING`; queue counts are kept by triggers (migrations/postgres).
//!
//! Times: every write and every time-dependent read takes "now" from the
//! database's clock (`db_now`, one round trip), not the instance's, so
//! instances whose clocks drift still agree on claim expiry, undo windows
//! and the order of what they record (the `Store` impl at the end swaps
//! the caller's `now` for it).
//! Per process, kept in step: the perceptual-hash index of near duplicates
//! (loaded at open; uploads and deletes through other instances reach it
//! through the event listener, `events.rs`).
//!
//! Like `sqlite/mod.rs`, the `Store` impl at the end is a table forwarding
//! to the inherent method of the same name in the aggregate's file:
//!
//! - `script.rs`: statements of one unit of work, `?` placeholders
//! - `rows.rs`: the rows, their snapshots, loading (and locking) them
//! - `queue.rs`: the queue, its counts, a dossier
//! - `images.rs`: which blob an image is, lock/unlock
//! - `decisions.rs`: decisions, claims, feedback, revealing an ID number
//! - `events.rs`: the event log, NOTIFY, and the instance's listener
//! - `audit.rs`: the trail, undo, stored responses for replays
//! - `finality.rs`: the undo window: withdrawn messages, final events
//! - `search.rs`: what the queue's search matches
//! - `reports.rs`: the follow-up list and the overview
//! - `candidate_side.rs`: a candidate's own view, upload, delete, submit
//! - `auth.rs`: credentials and tokens (no cache: instances share them)

mod audit;
mod auth;
mod candidate_side;
mod decisions;
mod events;
mod finality;
pub(crate) mod images;
mod queue;
mod reports;
mod rows;
mod script;
mod search;

use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Local, NaiveDate, Utc};
use futures::future::BoxFuture;
use serde::Serialize;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};

use super::phash_index::PhashIndex;
use super::*;

pub use script::pg;

/// Connections per process: requests hold one only for their statements.
const POOL: u32 = 16;

pub struct PgStore {
    pool: PgPool,
    phash: Arc<RwLock<PhashIndex>>,
    /// How long an action may be undone (see `domain::undo_window`).
    undo_window: chrono::Duration,
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) use super::queue_page::from_ms;

fn local_today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&Local).date_naive()
}

fn json_list(s: &str) -> StoreResult<Vec<String>> {
    Ok(serde_json::from_str(s)?)
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Connect options from a `postgres://` URL.
pub fn connect_options(url: &str) -> StoreResult<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(url)?)
}

/// Apply migrations/postgres to the database at `url` (`shenhe migrate`).
pub async fn migrate(url: &str) -> StoreResult<()> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(connect_options(url)?)
        .await?;
    let r = run_migrations(&pool).await;
    pool.close().await;
    r
}

async fn run_migrations(pool: &PgPool) -> StoreResult<()> {
    crate::server::store::migrations::postgres()
        .run(pool)
        .await
        .map_err(|e| StoreError::Corrupt(format!("migration failed: {e}")))
}

impl PgStore {
    /// The database's clock, so that instances whose clocks differ agree on
    /// claims' expiry, undo windows and the order of what they write. The
    /// caller's `now` only says that a time is wanted.
    async fn db_now(&self, _caller: DateTime<Utc>) -> StoreResult<DateTime<Utc>> {
        let (ms,): (i64,) =
            sqlx::query_as("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")
                .fetch_one(&self.pool)
                .await?;
        Ok(from_ms(ms))
    }

    async fn db_ctx(&self, ctx: Ctx) -> StoreResult<Ctx> {
        Ok(Ctx {
            now: self.db_now(ctx.now).await?,
            ..ctx
        })
    }

    /// Connect, apply the migrations (several instances may start at once:
    /// sqlx takes an advisory lock for them), load the perceptual-hash index.
    pub async fn open(url: &str) -> StoreResult<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL)
            .acquire_timeout(Duration::from_secs(15))
            .connect_with(connect_options(url)?)
            .await?;
        run_migrations(&pool).await?;
        let store = PgStore {
            pool,
            phash: Arc::new(RwLock::new(PhashIndex::default())),
            undo_window: crate::domain::undo_window::DEFAULT,
        };
        store.reload_phash_index().await?;
        search::backfill_initials(&store.pool).await?;
        Ok(store)
    }

    pub fn set_undo_window(&mut self, window: chrono::Duration) {
        self.undo_window = window;
    }

    pub fn undo_window(&self) -> chrono::Duration {
        self.undo_window
    }

    /// The pool: for the seed, tests and tools.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Rebuild the in-memory hash index from the table (at open, after a seed).
    pub async fn reload_phash_index(&self) -> StoreResult<()> {
        let rows: Vec<(i64, i64, i64)> =
            sqlx::query_as("SELECT id, candidate_id, phash FROM images")
                .fetch_all(&self.pool)
                .await?;
        let mut ix = PhashIndex::default();
        for (id, cand, h) in rows {
            ix.insert(id, cand, h as u64);
        }
        if let Ok(mut g) = self.phash.write() {
            *g = ix;
        }
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Run `work` in one transaction: committed if it returns `Ok`, rolled
    /// back otherwise (a 409 writes nothing).
    async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
    {
        let mut tx = self.pool.begin().await?;
        match work(&mut tx).await {
            Ok(v) => {
                tx.commit().await?;
                Ok(v)
            }
            Err(e) => {
                // Dropping the transaction rolls it back too; this just
                // returns the connection to the pool at once.
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }
}

impl Store for PgStore {
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        })
    }

    fn is_empty(&self) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            let n: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM reviewers) + (SELECT COUNT(*) FROM candidates)",
            )
            .fetch_one(&self.pool)
            .await?;
            Ok(n == 0)
        })
    }

    // -- auth.rs: credentials and tokens
    fn reviewer_credentials<'a>(
        &'a self,
        username: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<(ReviewerInfo, String)>>> {
        self.reviewer_credentials(username)
    }

    fn reviewer(&self, id: i64) -> BoxFuture<'_, StoreResult<Option<ReviewerInfo>>> {
        self.reviewer(id)
    }

    fn candidate_credentials<'a>(
        &'a self,
        reg_no: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<CandidateCredentials>>> {
        self.candidate_credentials(reg_no)
    }

    fn insert_token<'a>(
        &'a self,
        token_hash: &'a str,
        subject: Subject,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let now = self.db_now(now).await?;
            self.insert_token(token_hash, subject, now, expires_at)
                .await
        })
    }

    fn token<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, StoreResult<Option<TokenRecord>>> {
        self.token(token_hash)
    }

    fn revoke_token<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        self.revoke_token(token_hash)
    }

    fn login_failures<'a>(
        &'a self,
        key: &'a str,
        since: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<(u32, Option<DateTime<Utc>>)>> {
        self.login_failures(key, since)
    }

    fn record_login_failure<'a>(
        &'a self,
        key: &'a str,
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        self.record_login_failure(key, at, forget_before)
    }

    fn clear_login_failures<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        self.clear_login_failures(key)
    }

    // -- events.rs
    fn events_after(&self, after: i64, limit: u32) -> BoxFuture<'_, StoreResult<EventLog>> {
        self.events_after(after, limit)
    }

    // -- audit.rs: stored responses for Idempotency-Key replays
    fn stored_response<'a>(
        &'a self,
        actor: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<StoredResponse>>> {
        self.stored_response(actor, key)
    }

    fn store_response<'a>(
        &'a self,
        actor: &'a str,
        key: &'a str,
        r: &'a StoredResponse,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let now = self.db_now(now).await?;
            self.store_response(actor, key, r, now).await
        })
    }

    // -- queue.rs: the queue and the dossier
    fn list_candidates<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        query: ListQuery,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<ListPage>> {
        Box::pin(async move {
            let now = self.db_now(now).await?;
            self.list_candidates(who, query, now).await
        })
    }

    fn candidate_detail<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<CandidateDetail>> {
        Box::pin(async move {
            let now = self.db_now(now).await?;
            self.candidate_detail(who, id, now).await
        })
    }

    // -- images.rs: image bytes, lock and unlock
    fn image_blob<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        image_id: i64,
    ) -> BoxFuture<'a, StoreResult<BlobRef>> {
        self.image_blob(who, image_id)
    }

    fn judge_image<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        image_id: i64,
        judgement: Judgement,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(ImageActionResponse, Change)>> {
        Box::pin(async move {
            let ctx = self.db_ctx(ctx).await?;
            self.judge_image(who, image_id, judgement, ctx).await
        })
    }

    // -- decisions.rs: decisions, claims, feedback
    fn decide<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        input: DecisionInput,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(DecisionResponse, Change)>> {
        Box::pin(async move {
            let ctx = self.db_ctx(ctx).await?;
            self.decide(who, candidate_id, input, ctx).await
        })
    }

    fn claim<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<(ClaimDto, Change)>> {
        Box::pin(async move {
            let now = self.db_now(now).await?;
            self.claim(who, candidate_id, now).await
        })
    }

    fn release<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<Option<Change>>> {
        Box::pin(async move {
            let now = self.db_now(now).await?;
            self.release(who, candidate_id, now).await
        })
    }

    fn add_feedback<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        channel: FeedbackChannel,
        body: String,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<FeedbackDto>> {
        Box::pin(async move {
            let ctx = self.db_ctx(ctx).await?;
            self.add_feedback(who, candidate_id, channel, body, ctx)
                .await
        })
    }

    // -- audit.rs: the trail and its undo
    fn audit<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
    ) -> BoxFuture<'a, StoreResult<Vec<AuditEventDto>>> {
        self.audit(who, candidate_id)
    }

    fn undo<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        event_id: i64,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(UndoResponse, Change)>> {
        Box::pin(async move {
            let ctx = self.db_ctx(ctx).await?;
            self.undo(who, event_id, ctx).await
        })
    }

    // -- decisions.rs: revealing the ID number
    fn reveal<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<RevealResponse>> {
        Box::pin(async move {
            let ctx = self.db_ctx(ctx).await?;
            self.reveal(who, candidate_id, ctx).await
        })
    }

    // -- reports.rs: the follow-up list and the overview
    fn follow_up<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        state: ReviewStatus,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<crate::api::reports::FollowUpList>> {
        Box::pin(async move {
            let now = self.db_now(now).await?;
            self.follow_up(who, state, now).await
        })
    }

    fn stats<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        stale_days: u32,
        window: &'a ReviewWindow,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<crate::api::reports::StatsResponse>> {
        Box::pin(async move {
            let now = self.db_now(now).await?;
            self.stats(who, stale_days, window, now).await
        })
    }

    // -- candidate_side.rs: what a candidate sees
    fn candidate_reviews(&self, candidate_id: i64) -> BoxFuture<'_, StoreResult<Reviews>> {
        self.candidate_reviews(candidate_id)
    }

    fn candidate_self<'a>(
        &'a self,
        candidate_id: i64,
        window: &'a ReviewWindow,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<CandidateSelf>> {
        Box::pin(async move {
            let now = self.db_now(now).await?;
            self.candidate_self(candidate_id, window, now).await
        })
    }

    // -- images.rs: the candidate's own image bytes
    fn candidate_blob(
        &self,
        candidate_id: i64,
        image_id: i64,
    ) -> BoxFuture<'_, StoreResult<BlobRef>> {
        self.candidate_blob(candidate_id, image_id)
    }

    // -- candidate_side.rs: uploading, deleting, submitting
    fn upload<'a>(
        &'a self,
        candidate_id: i64,
        up: NewUpload,
        window: &'a ReviewWindow,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(CandidateImageDto, Change)>> {
        Box::pin(async move {
            let ctx = self.db_ctx(ctx).await?;
            self.upload(candidate_id, up, window, ctx).await
        })
    }

    fn delete_image<'a>(
        &'a self,
        candidate_id: i64,
        image_id: i64,
        window: &'a ReviewWindow,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<Change>> {
        Box::pin(async move {
            let ctx = self.db_ctx(ctx).await?;
            self.delete_image(candidate_id, image_id, window, ctx).await
        })
    }

    fn submit<'a>(
        &'a self,
        candidate_id: i64,
        window: &'a ReviewWindow,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(CandidateSelf, Change)>> {
        Box::pin(async move {
            let ctx = self.db_ctx(ctx).await?;
            self.submit(candidate_id, window, ctx).await
        })
    }
}
