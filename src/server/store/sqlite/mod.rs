//! The SQLite store: WAL, `synchronous=FULL`, every write a job of the one
//! writer task (group commit: see `writer.rs`), reads on a pool of
//! read-only connections. Image bytes are not here: `blobs` holds their
//! hashes, the bytes are in the blob store (`server::blobs`).
//!
//! This file is the connections: opening and migrating the database, the
//! writer and the read pool, how times and lists are encoded in columns,
//! and the `Store` impl. Apart from `ping` and `is_empty`, that impl is a
//! table: each method forwards to the inherent method of the same name and
//! signature in the file of its aggregate (named above each group). An
//! inherent method wins over a trait method in `self.name(..)`, so these
//! calls are not recursion (and were one missing,
//! `unconditional_recursion` would say so).
//!
//! - `writer.rs`: the single writer and its batches
//! - `readers.rs`: the read-only connections
//! - `script.rs`: several statements in one round trip
//! - `rows.rs`: the tables' rows, their audit snapshots, loading and writing them
//! - `queue.rs`: the reviewer's queue, its counts, a candidate's dossier
//! - `images.rs`: image bytes, and a reviewer's lock/unlock of an image
//! - `decisions.rs`: decisions, claims, feedback, revealing an ID number
//! - `events.rs`: the event log a resumed stream reads
//! - `audit.rs`: the trail, undo, and what idempotent replays answer with
//! - `finality.rs`: the undo window: withdrawn messages, final events
//! - `search.rs`: what the queue's search matches; the names' initials
//! - `reports.rs`: the follow-up list and the overview of a scope
//! - `candidate_side.rs`: a candidate's own view, upload, delete, submit
//! - `auth.rs`: credentials and tokens

mod audit;
mod auth;
mod candidate_side;
mod decisions;
mod direct;
mod events;
mod finality;
mod images;
mod queue;
mod readers;
mod reports;
mod rows;
mod script;
mod search;
mod writer;

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Local, NaiveDate, Utc};
use futures::future::BoxFuture;
use serde::Serialize;
use sqlx::SqlitePool;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};

use super::phash_index::PhashIndex;
use super::*;

pub use candidate_side::window_dto;
pub(crate) use rows::{DupRef, ImageSnap, LevelSnap, ReviewSnap, phase_cols};
pub use search::backfill_initials;
pub use writer::{Hold, WriterStats};

/// Read-only connections: SQLite in WAL reads in parallel with the writer,
/// and more than the cores only adds threads.
const READERS: usize = 4;

/// Every connection's tuning: the file is the working set of a busy site,
/// read it mapped (no read syscalls), with a larger page cache than 2 MB.
const TUNING: [(&str, &str); 2] = [("mmap_size", "1073741824"), ("cache_size", "-32768")];

pub struct SqliteStore {
    /// Read-write: migrations, the demo seed, and tests or tools that
    /// write directly. Requests never write through it.
    pool: SqlitePool,
    /// Every read of a request but the queue page's (see `readers.rs`).
    reads: readers::Readers,
    /// The queue page's reads, on the request's thread (see `direct.rs`).
    direct: direct::DirectReaders,
    writer: writer::Writer,
    phash: Arc<RwLock<PhashIndex>>,
    /// Tokens and reviewers read in the last few seconds (see `auth.rs`).
    auth: auth::AuthCache,
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

impl SqliteStore {
    /// Open (creating) the database file, apply the migrations, start the
    /// writer, open the read pool, load the perceptual-hash index.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let base = TUNING.iter().fold(
            SqliteConnectOptions::new()
                .filename(path)
                // Only another process on the same file can make a
                // connection of ours wait; in-process writers queue on the
                // writer.
                .busy_timeout(Duration::from_secs(15))
                .foreign_keys(true),
            |o, (k, v)| o.pragma(*k, *v),
        );
        let rw = base
            .clone()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL, not WAL's usual NORMAL: NORMAL may lose the last
            // commits on power loss, and a reviewer's decision is
            // acknowledged only once it is durable.
            .synchronous(SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(rw.clone())
            .await?;
        crate::server::store::migrations::sqlite()
            .run(&pool)
            .await
            .map_err(|e| StoreError::Corrupt(format!("migration failed: {e}")))?;
        let writer = writer::Writer::start(rw).await?;
        let reads = readers::Readers::open(&base.read_only(true), READERS).await?;
        let direct = direct::DirectReaders::open(path, READERS)?;
        let store = SqliteStore {
            pool,
            reads,
            direct,
            writer,
            phash: Arc::new(RwLock::new(PhashIndex::default())),
            auth: auth::AuthCache::default(),
            undo_window: crate::domain::undo_window::DEFAULT,
        };
        store.reload_phash_index().await?;
        backfill_initials(&store.pool).await?;
        Ok(store)
    }

    /// The server's undo window (default two minutes).
    pub fn set_undo_window(&mut self, window: chrono::Duration) {
        self.undo_window = window;
    }

    pub fn undo_window(&self) -> chrono::Duration {
        self.undo_window
    }

    /// The read-write pool (see the field): for the seed, tests and tools.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Hold the writer (an empty job) until the returned value is dropped:
    /// the writes queued meanwhile become one batch. For tests and benches.
    #[doc(hidden)]
    pub async fn hold_writer(&self) -> StoreResult<writer::Hold> {
        self.writer.hold().await
    }

    /// What the writer's batches looked like so far.
    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// Rebuild the in-memory hash index from the table (at open, after a seed).
    pub async fn reload_phash_index(&self) -> StoreResult<()> {
        let rows: Vec<(i64, i64, i64)> =
            sqlx::query_as("SELECT id, candidate_id, phash FROM images")
                .fetch_all(&mut *self.reads.get().await?)
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

    /// Finish the queued writes, then close every connection.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reads.close().await;
        self.pool.close().await;
    }

    /// Run `work` as one job of the writer: resolves after its batch has
    /// committed (see `writer.rs`).
    async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        self.writer.run(work).await
    }
}

impl Store for SqliteStore {
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(async move {
            sqlx::query("SELECT 1")
                .execute(&mut *self.reads.get().await?)
                .await?;
            Ok(())
        })
    }

    fn is_empty(&self) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async move {
            let n: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM reviewers) + (SELECT COUNT(*) FROM candidates)",
            )
            .fetch_one(&mut *self.reads.get().await?)
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
        self.insert_token(token_hash, subject, now, expires_at)
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
        self.store_response(actor, key, r, now)
    }

    // -- queue.rs: the queue and the dossier
    fn list_candidates<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        query: ListQuery,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<ListPage>> {
        self.list_candidates(who, query, now)
    }

    fn candidate_detail<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<CandidateDetail>> {
        self.candidate_detail(who, id, now)
    }

    // -- events.rs
    fn events_after(&self, after: i64, limit: u32) -> BoxFuture<'_, StoreResult<EventLog>> {
        self.events_after(after, limit)
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
        self.judge_image(who, image_id, judgement, ctx)
    }

    // -- decisions.rs: decisions, claims, feedback
    fn decide<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        input: DecisionInput,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(DecisionResponse, Change)>> {
        self.decide(who, candidate_id, input, ctx)
    }

    fn claim<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<(ClaimDto, Change)>> {
        self.claim(who, candidate_id, now)
    }

    fn release<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<Option<Change>>> {
        self.release(who, candidate_id, now)
    }

    fn add_feedback<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        channel: FeedbackChannel,
        body: String,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<FeedbackDto>> {
        self.add_feedback(who, candidate_id, channel, body, ctx)
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
        self.undo(who, event_id, ctx)
    }

    // -- decisions.rs: revealing the ID number
    fn reveal<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<RevealResponse>> {
        self.reveal(who, candidate_id, ctx)
    }

    // -- reports.rs: the follow-up list and the overview
    fn follow_up<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        state: ReviewStatus,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<crate::api::reports::FollowUpList>> {
        self.follow_up(who, state, now)
    }

    fn stats<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        stale_days: u32,
        window: &'a ReviewWindow,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<crate::api::reports::StatsResponse>> {
        self.stats(who, stale_days, window, now)
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
        self.candidate_self(candidate_id, window, now)
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
        self.upload(candidate_id, up, window, ctx)
    }

    fn delete_image<'a>(
        &'a self,
        candidate_id: i64,
        image_id: i64,
        window: &'a ReviewWindow,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<Change>> {
        self.delete_image(candidate_id, image_id, window, ctx)
    }

    fn submit<'a>(
        &'a self,
        candidate_id: i64,
        window: &'a ReviewWindow,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(CandidateSelf, Change)>> {
        self.submit(candidate_id, window, ctx)
    }
}
