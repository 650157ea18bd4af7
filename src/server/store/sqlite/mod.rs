//! The SQLite store: WAL, `synchronous=FULL`, writes in `BEGIN IMMEDIATE`
//! transactions, image bytes content-addressed in `blobs`.
//!
//! This file is the connection: opening and migrating the database, the
//! single writer slot (`WriteTx`), how times and lists are encoded in
//! columns, and the `Store` impl. Apart from `ping` and `is_empty`, that
//! impl is a table: each method forwards to the inherent method of the same
//! name and signature in the file of its aggregate (named above each
//! group). An inherent method wins over a trait method in `self.name(..)`,
//! so these calls are not recursion (and were one missing,
//! `unconditional_recursion` would say so).
//!
//! - `rows.rs`: the tables' rows, their audit snapshots, loading and writing them
//! - `queue.rs`: the reviewer's queue, its counts, a candidate's dossier
//! - `images.rs`: image bytes, and a reviewer's lock/unlock of an image
//! - `decisions.rs`: decisions, claims, feedback, revealing an ID number
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
mod finality;
mod images;
mod queue;
mod reports;
mod rows;
mod search;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Local, NaiveDate, TimeZone, Utc};
use futures::future::BoxFuture;
use serde::Serialize;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, SqlitePool};

use super::phash_index::PhashIndex;
use super::*;
use crate::api::dto::Counts;

pub use candidate_side::window_dto;
pub(crate) use rows::{DupRef, ImageSnap, LevelSnap, ReviewSnap, phase_cols};
pub use search::backfill_initials;

pub struct SqliteStore {
    pool: SqlitePool,
    phash: RwLock<PhashIndex>,
    /// Bumped after every committed change to a review state; the queue
    /// counts of a scope are reused while it stands still.
    write_gen: AtomicU64,
    counts_cache: Mutex<HashMap<String, (u64, Counts)>>,
    write_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// How long an action may be undone (see `domain::undo_window`).
    undo_window: chrono::Duration,
}

/// A write transaction holding the process's writer slot until it ends.
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, Sqlite>,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTx {
    async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

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
    /// Open (creating) the database file, apply the migrations, load the
    /// perceptual-hash index.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL, not WAL's usual NORMAL: NORMAL may lose the last
            // commits on power loss, and a reviewer's decision is
            // acknowledged only once it is durable.
            .synchronous(SqliteSynchronous::Full)
            // Writers queue behind BEGIN IMMEDIATE instead of failing.
            .busy_timeout(Duration::from_secs(15))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Corrupt(format!("migration failed: {e}")))?;
        let store = SqliteStore {
            pool,
            phash: RwLock::new(PhashIndex::default()),
            write_gen: AtomicU64::new(0),
            counts_cache: Mutex::new(HashMap::new()),
            write_lock: std::sync::Arc::new(tokio::sync::Mutex::new(())),
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

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Call after committing anything that may move a candidate between
    /// queue states.
    pub(crate) fn changed(&self) {
        self.write_gen.fetch_add(1, Ordering::SeqCst);
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

    async fn begin(&self) -> StoreResult<WriteTx> {
        // Writers queue here, in order, rather than in SQLite's busy
        // handler, whose sleeps (up to 100 ms each) make the tail latency.
        let guard = self.write_lock.clone().lock_owned().await;
        // IMMEDIATE takes the write lock up front, so two writers cannot
        // both read a version and then collide at commit (and a second
        // process on the same file still queues behind busy_timeout).
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx { tx, _guard: guard })
    }
}

impl Store for SqliteStore {
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
        self.insert_token(token_hash, subject, now, expires_at)
    }

    fn token<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, StoreResult<Option<TokenRecord>>> {
        self.token(token_hash)
    }

    fn revoke_token<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        self.revoke_token(token_hash)
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

    // -- images.rs: image bytes, lock and unlock
    fn image_blob<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        image_id: i64,
    ) -> BoxFuture<'a, StoreResult<Blob>> {
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
    fn candidate_blob(&self, candidate_id: i64, image_id: i64) -> BoxFuture<'_, StoreResult<Blob>> {
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
