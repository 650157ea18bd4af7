//! The writer: the rows a batch of invented candidates becomes (candidates,
//! images, feedback, audit) and the SQL that bulk-loads them: the demo
//! accounts and blobs, then every batch as multi-row INSERTs, all in one
//! `BEGIN IMMEDIATE` transaction, with the secondary indexes dropped first
//! and built again at the end (sorting once is far cheaper than millions of
//! random inserts into an index larger than the page cache: `images_sha256`
//! alone is a random key per image). The one part of the seed that speaks
//! SQL. The triggers of migration 0003 keep the queue counts and badges as
//! the rows go in.

use std::path::Path;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite};

use super::documents::Asset;
use super::{DISTRICT, SeedError, to_json};
use crate::domain::audit::AuditAction;
use crate::domain::image::ImagePhase;
use crate::server::store::StoreError;
use crate::server::store::sqlite::{DupRef, ReviewSnap, phase_cols};

#[derive(Default)]
pub(super) struct Batch {
    pub(super) candidates: Vec<CandidateSeed>,
    pub(super) images: Vec<ImageSeed>,
    pub(super) feedback: Vec<(i64, &'static str, String, String, i64)>,
    pub(super) audit: Vec<AuditSeed>,
}

pub(super) struct CandidateSeed {
    pub(super) id: i64,
    pub(super) reg_no: String,
    pub(super) name: String,
    pub(super) id_number: String,
    pub(super) gender: &'static str,
    pub(super) birth_date: String,
    pub(super) exam_category: String,
    pub(super) site: &'static str,
    pub(super) education: String,
    pub(super) school: String,
    pub(super) major: String,
    pub(super) graduation_date: Option<String>,
    pub(super) trial_institution: Option<String>,
    pub(super) phone: String,
    pub(super) created_at: i64,
    pub(super) submitted_at: Option<i64>,
    pub(super) sort_at: i64,
    pub(super) updated_at: i64,
    pub(super) version: i64,
    pub(super) reviews: ReviewSnap,
}

pub(super) struct ImageSeed {
    pub(super) id: i64,
    pub(super) candidate_id: i64,
    pub(super) category: &'static str,
    pub(super) slot: i64,
    pub(super) asset: usize,
    pub(super) uploaded_at: i64,
    pub(super) version: i64,
    pub(super) phase: ImagePhase,
    pub(super) reasons: Vec<String>,
    pub(super) note: Option<String>,
    pub(super) near_dup_of: Vec<DupRef>,
}

pub(super) struct AuditSeed {
    pub(super) at: i64,
    pub(super) actor: String,
    pub(super) action: AuditAction,
    pub(super) target: String,
    pub(super) candidate_id: i64,
    pub(super) before: String,
    pub(super) after: String,
    pub(super) reasons: Vec<String>,
}

/// Rows per multi-row INSERT: under SQLite's 32,766 bound parameters.
fn chunk_rows(columns: usize) -> usize {
    (30_000 / columns).max(1)
}

/// A demo reviewer account.
pub(super) struct Account {
    pub(super) username: &'static str,
    pub(super) display: &'static str,
    pub(super) level: &'static str,
    pub(super) site: Option<&'static str>,
    pub(super) password_hash: String,
}

/// Page cache of the loading connection while it loads: the tables' right
/// edges and the reg_no index stay in memory.
const LOAD_CACHE_KIB: i64 = 262_144;

/// A new database file for [`load`] alone: no journal, no syncs, one
/// exclusive connection, sorts in memory. A seed in the store's WAL writes
/// every page twice (into the WAL, then the checkpoint copies it into the
/// file: 4 GB each at a million candidates); here each is written once.
/// Safe because the file has no name the server opens until it is
/// complete and synced (`seed_demo_file`).
pub(super) async fn open_unjournaled(path: &Path) -> Result<SqlitePool, SeedError> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .foreign_keys(true)
        .journal_mode(SqliteJournalMode::Off)
        .synchronous(SqliteSynchronous::Off)
        .locking_mode(SqliteLockingMode::Exclusive)
        .pragma("temp_store", "MEMORY");
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?;
    crate::server::store::migrations::sqlite()
        .run(&pool)
        .await
        .map_err(|e| StoreError::Corrupt(format!("migration failed: {e}")))?;
    Ok(pool)
}

pub(super) async fn load(
    pool: &SqlitePool,
    accounts: &[Account],
    assets: &[Asset],
    password_hash: &str,
    mut batches: tokio::sync::mpsc::Receiver<Batch>,
) -> Result<(), SeedError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "PRAGMA cache_size = -{LOAD_CACHE_KIB}"
    )))
    .execute(&mut *tx)
    .await?;
    for a in accounts {
        sqlx::query(
            "INSERT INTO reviewers (username, display_name, level, district, site, password_hash) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(a.username)
        .bind(a.display)
        .bind(a.level)
        .bind(DISTRICT)
        .bind(a.site)
        .bind(&a.password_hash)
        .execute(&mut *tx)
        .await?;
    }
    for a in assets {
        // The bytes went to the blob store before (`seed_demo`).
        sqlx::query(
            "INSERT OR IGNORE INTO blobs (sha256, format, legacy_bytes) VALUES (?, ?, X'')",
        )
        .bind(&a.sha256)
        .bind(a.report.format.as_str())
        .execute(&mut *tx)
        .await?;
    }
    // Unique indexes stay: they are constraints (and the ones the seed
    // fills, reg_no and (candidate, category, slot), grow at their ends).
    let deferred: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
         AND sql NOT LIKE 'CREATE UNIQUE%' \
         AND tbl_name IN ('candidates', 'images', 'feedback', 'audit')",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (name, _) in &deferred {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX \"{name}\"")))
            .execute(&mut *tx)
            .await?;
    }
    while let Some(b) = batches.recv().await {
        write_batch(&mut tx, &b, password_hash, assets).await?;
    }
    for (_, sql) in deferred {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("PRAGMA cache_size = -32768")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // Fold the WAL (as large as the database now) into the file, so the
    // first decision's commit does not pay for that checkpoint. (A no-op
    // without a WAL.)
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(pool)
        .await?;
    Ok(())
}

async fn write_batch(
    tx: &mut sqlx::SqliteConnection,
    b: &Batch,
    password_hash: &str,
    assets: &[Asset],
) -> Result<(), SeedError> {
    for chunk in b.candidates.chunks(chunk_rows(34)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO candidates (id, reg_no, name, id_type, id_number, gender, birth_date, \
             exam_category, district, site, education, school, major, graduation_date, \
             trial_institution, phone, password_hash, created_at, submitted_at, sort_at, updated_at, \
             version, site_state, site_reasons, site_note, site_reviewer, site_decided_at, \
             district_state, district_reasons, district_note, district_reviewer, district_decided_at, \
             name_initials) ",
        );
        qb.push_values(chunk, |mut row, c| {
            let r = &c.reviews;
            row.push_bind(c.id)
                .push_bind(&c.reg_no)
                .push_bind(&c.name)
                .push_bind("居民身份证")
                .push_bind(&c.id_number)
                .push_bind(c.gender)
                .push_bind(&c.birth_date)
                .push_bind(&c.exam_category)
                .push_bind(DISTRICT)
                .push_bind(c.site)
                .push_bind(&c.education)
                .push_bind(&c.school)
                .push_bind(&c.major)
                .push_bind(&c.graduation_date)
                .push_bind(&c.trial_institution)
                .push_bind(&c.phone)
                .push_bind(password_hash)
                .push_bind(c.created_at)
                .push_bind(c.submitted_at)
                .push_bind(c.sort_at)
                .push_bind(c.updated_at)
                .push_bind(c.version)
                .push_bind(r.site.state.as_str())
                .push_bind(to_json(&r.site.reasons))
                .push_bind(&r.site.note)
                .push_bind(&r.site.reviewer)
                .push_bind(r.site.decided_at)
                .push_bind(r.district.state.as_str())
                .push_bind(to_json(&r.district.reasons))
                .push_bind(&r.district.note)
                .push_bind(&r.district.reviewer)
                .push_bind(r.district.decided_at)
                .push_bind(crate::domain::name_key::initials(&c.name));
        });
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in b.images.chunks(chunk_rows(26)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO images (id, candidate_id, category, slot, generation, format, bytes, width, \
             height, sha256, uploaded_at, version, phase, was_accepted, replaced, reasons, note, \
             orientation, not_upright, blur_score, blurry, too_small, phash, duplicate_of, \
             near_dup_of, flagged) ",
        );
        qb.push_values(chunk, |mut row, im| {
            let a = &assets[im.asset];
            let r = &a.report;
            let (phase, was_accepted, replaced) = phase_cols(im.phase);
            let flagged = r.blurry || r.too_small || r.not_upright || !im.near_dup_of.is_empty();
            row.push_bind(im.id)
                .push_bind(im.candidate_id)
                .push_bind(im.category)
                .push_bind(im.slot)
                .push_bind(1i64)
                .push_bind(r.format.as_str())
                .push_bind(a.a.bytes.len() as i64)
                .push_bind(i64::from(r.width))
                .push_bind(i64::from(r.height))
                .push_bind(&a.sha256)
                .push_bind(im.uploaded_at)
                .push_bind(im.version)
                .push_bind(phase)
                .push_bind(was_accepted)
                .push_bind(replaced)
                .push_bind(to_json(&im.reasons))
                .push_bind(&im.note)
                .push_bind(i64::from(r.orientation.0))
                .push_bind(r.not_upright)
                .push_bind(f64::from(r.blur_score))
                .push_bind(r.blurry)
                .push_bind(r.too_small)
                .push_bind(r.phash as i64)
                .push_bind("[]")
                .push_bind(to_json(&im.near_dup_of))
                .push_bind(flagged);
        });
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in b.feedback.chunks(chunk_rows(5)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO feedback (candidate_id, channel, body, author, created_at) ",
        );
        qb.push_values(chunk, |mut row, (cid, ch, body, author, at)| {
            row.push_bind(*cid)
                .push_bind(*ch)
                .push_bind(body)
                .push_bind(author)
                .push_bind(*at);
        });
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in b.audit.chunks(chunk_rows(8)) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO audit (at, actor, action, target, candidate_id, before, after, reasons) ",
        );
        qb.push_values(chunk, |mut row, a| {
            row.push_bind(a.at)
                .push_bind(&a.actor)
                .push_bind(a.action.as_str())
                .push_bind(&a.target)
                .push_bind(a.candidate_id)
                .push_bind(&a.before)
                .push_bind(&a.after)
                .push_bind(to_json(&a.reasons));
        });
        qb.build().execute(&mut *tx).await?;
    }
    Ok(())
}
