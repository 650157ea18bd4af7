//! The SQLite store: WAL, `synchronous=FULL`, writes in `BEGIN IMMEDIATE`
//! transactions, image bytes content-addressed in `blobs`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Local, NaiveDate, TimeZone, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{FromRow, QueryBuilder, Sqlite, SqlitePool};

use super::phash_index::PhashIndex;
use super::*;
use crate::api::dto::{
    CandidateMaterialDto, CandidateSummary, Counts, DuplicateRef, HintsDto, ImageDto, MaterialDto,
    ReviewDto, WindowDto,
};
use crate::domain::audit::AuditAction;
use crate::domain::claim::{ClaimOutcome, claim as domain_claim};
use crate::domain::identity::{mask_id_number, mask_phone};
use crate::domain::image::{self, ImageEvent, ImageOutcome, ImagePhase};
use crate::domain::imaging::{Sniffed, sniff};
use crate::domain::quality::NEAR_DUPLICATE_MAX_DISTANCE;
use crate::domain::reason::{ReasonTarget, validate_reasons};
use crate::domain::review::{self as review, ReviewEvent};
use crate::domain::rules::{Occupant, Placement, check_upload, place};
use crate::server::messages;

/// Most duplicate references stored per image: enough to act on, bounded
/// when a popular form is uploaded by thousands.
const MAX_DUP_REFS: usize = 5;

pub struct SqliteStore {
    pool: SqlitePool,
    phash: RwLock<PhashIndex>,
    /// Bumped after every committed change to a review state; the queue
    /// counts of a scope are reused while it stands still.
    write_gen: AtomicU64,
    counts_cache: Mutex<HashMap<String, (u64, Counts)>>,
    write_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
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

#[derive(Debug, Clone, FromRow)]
pub(crate) struct CandRow {
    pub id: i64,
    pub reg_no: String,
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub gender: String,
    pub birth_date: String,
    pub exam_category: String,
    pub district: String,
    pub site: String,
    pub education: String,
    pub school: String,
    pub major: String,
    pub graduation_date: Option<String>,
    pub trial_institution: Option<String>,
    pub phone: String,
    pub submitted_at: Option<i64>,
    pub sort_at: i64,
    pub updated_at: i64,
    pub version: i64,
    pub site_state: String,
    pub site_reasons: String,
    pub site_note: Option<String>,
    pub site_reviewer: Option<String>,
    pub site_decided_at: Option<i64>,
    pub district_state: String,
    pub district_reasons: String,
    pub district_note: Option<String>,
    pub district_reviewer: Option<String>,
    pub district_decided_at: Option<i64>,
    pub claim_reviewer: Option<String>,
    pub claim_expires_at: Option<i64>,
}

const CAND_COLS: &str = "id, reg_no, name, id_type, id_number, gender, birth_date, exam_category, \
    district, site, education, school, major, graduation_date, trial_institution, phone, \
    submitted_at, sort_at, updated_at, version, site_state, site_reasons, site_note, site_reviewer, \
    site_decided_at, district_state, district_reasons, district_note, district_reviewer, \
    district_decided_at, claim_reviewer, claim_expires_at";

fn parse_status(s: &str) -> StoreResult<ReviewStatus> {
    ReviewStatus::parse(s).ok_or_else(|| StoreError::Corrupt(format!("review state {s:?}")))
}

/// One level's review as stored, also the audit snapshot of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LevelSnap {
    pub(crate) state: ReviewStatus,
    pub(crate) reasons: Vec<String>,
    pub(crate) note: Option<String>,
    pub(crate) reviewer: Option<String>,
    pub(crate) decided_at: Option<i64>,
}

impl LevelSnap {
    pub(crate) fn fresh(state: ReviewStatus) -> LevelSnap {
        LevelSnap {
            state,
            reasons: Vec::new(),
            note: None,
            reviewer: None,
            decided_at: None,
        }
    }

    fn dto(&self) -> ReviewDto {
        ReviewDto {
            state: self.state,
            reasons: self.reasons.clone(),
            note: self.note.clone(),
            reviewer: self.reviewer.clone(),
            decided_at: self.decided_at.map(from_ms),
        }
    }
}

/// Both levels: the before/after of decisions, submissions and their undos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReviewSnap {
    pub(crate) level: Option<Level>,
    pub(crate) site: LevelSnap,
    pub(crate) district: LevelSnap,
}

impl ReviewSnap {
    fn reviews(&self) -> Reviews {
        Reviews {
            site: self.site.state,
            district: self.district.state,
        }
    }

    fn same_state(&self, other: &ReviewSnap) -> bool {
        self.site == other.site && self.district == other.district
    }
}

impl CandRow {
    fn snap(&self) -> StoreResult<ReviewSnap> {
        Ok(ReviewSnap {
            level: None,
            site: LevelSnap {
                state: parse_status(&self.site_state)?,
                reasons: json_list(&self.site_reasons)?,
                note: self.site_note.clone(),
                reviewer: self.site_reviewer.clone(),
                decided_at: self.site_decided_at,
            },
            district: LevelSnap {
                state: parse_status(&self.district_state)?,
                reasons: json_list(&self.district_reasons)?,
                note: self.district_note.clone(),
                reviewer: self.district_reviewer.clone(),
                decided_at: self.district_decided_at,
            },
        })
    }

    fn reviews(&self) -> StoreResult<Reviews> {
        Ok(Reviews {
            site: parse_status(&self.site_state)?,
            district: parse_status(&self.district_state)?,
        })
    }

    fn live_claim(&self, now: DateTime<Utc>) -> Option<crate::domain::claim::Claim> {
        let c = crate::domain::claim::Claim {
            reviewer: self.claim_reviewer.clone()?,
            expires_at: from_ms(self.claim_expires_at?),
        };
        c.is_live(now).then_some(c)
    }

    fn claim_dto(&self, me: Option<&str>, now: DateTime<Utc>) -> Option<ClaimDto> {
        self.live_claim(now).map(|c| ClaimDto {
            mine: me == Some(c.reviewer.as_str()),
            reviewer: c.reviewer,
            expires_at: c.expires_at,
        })
    }

    fn in_scope(&self, who: &ReviewerInfo) -> bool {
        who.sees(&self.district, &self.site)
    }

    fn change(&self, actor: &str, action: &str, now: DateTime<Utc>) -> StoreResult<Change> {
        let r = self.reviews()?;
        Ok(Change {
            district: self.district.clone(),
            site: self.site.clone(),
            event: QueueEvent {
                candidate_id: self.id,
                version: self.version,
                site_review: r.site,
                district_review: r.district,
                claim: self.claim_dto(None, now),
                actor: actor.to_string(),
                action: action.to_string(),
                at: now,
            },
        })
    }
}

#[derive(Debug, Clone, FromRow)]
struct ImgRow {
    id: i64,
    candidate_id: i64,
    category: String,
    slot: i64,
    generation: i64,
    format: String,
    bytes: i64,
    width: i64,
    height: i64,
    sha256: String,
    uploaded_at: i64,
    version: i64,
    phase: String,
    was_accepted: bool,
    replaced: bool,
    reasons: String,
    note: Option<String>,
    orientation: i64,
    not_upright: bool,
    blur_score: f64,
    blurry: bool,
    too_small: bool,
    duplicate_of: String,
    near_dup_of: String,
}

const IMG_COLS: &str = "id, candidate_id, category, slot, generation, format, bytes, width, height, \
    sha256, uploaded_at, version, phase, was_accepted, replaced, reasons, note, orientation, \
    not_upright, blur_score, blurry, too_small, duplicate_of, near_dup_of";

/// A stored duplicate reference (resolved against the caller's scope on read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DupRef {
    pub image_id: i64,
    pub distance: u32,
}

pub(crate) fn phase_cols(p: ImagePhase) -> (&'static str, bool, bool) {
    match p {
        ImagePhase::Draft => ("draft", false, false),
        ImagePhase::Submitted => ("submitted", false, false),
        ImagePhase::Accepted => ("accepted", false, false),
        ImagePhase::ReplaceRequested {
            was_accepted,
            replaced,
        } => ("replace_requested", was_accepted, replaced),
    }
}

impl ImgRow {
    fn phase(&self) -> StoreResult<ImagePhase> {
        Ok(match self.phase.as_str() {
            "draft" => ImagePhase::Draft,
            "submitted" => ImagePhase::Submitted,
            "accepted" => ImagePhase::Accepted,
            "replace_requested" => ImagePhase::ReplaceRequested {
                was_accepted: self.was_accepted,
                replaced: self.replaced,
            },
            other => return Err(StoreError::Corrupt(format!("image phase {other:?}"))),
        })
    }

    fn category(&self) -> StoreResult<MaterialCategory> {
        MaterialCategory::from_code(&self.category)
            .ok_or_else(|| StoreError::Corrupt(format!("category {:?}", self.category)))
    }

    fn slot(&self) -> u8 {
        u8::try_from(self.slot).unwrap_or(u8::MAX)
    }

    fn slot_label(&self) -> Option<String> {
        let cat = self.category().ok()?;
        cat.slot_labels()
            .get(usize::from(self.slot()))
            .map(|(zh, _)| (*zh).to_string())
    }

    fn snap(&self, level: Option<Level>) -> StoreResult<ImageSnap> {
        Ok(ImageSnap {
            level,
            phase: self.phase()?,
            reasons: json_list(&self.reasons)?,
            note: self.note.clone(),
        })
    }

    fn dups(&self) -> StoreResult<(Vec<DupRef>, Vec<DupRef>)> {
        Ok((
            serde_json::from_str(&self.duplicate_of)?,
            serde_json::from_str(&self.near_dup_of)?,
        ))
    }

    fn candidate_dto(&self) -> StoreResult<CandidateImageDto> {
        let phase = self.phase()?;
        Ok(CandidateImageDto {
            id: self.id,
            category: self.category()?,
            slot: self.slot(),
            slot_label: self.slot_label(),
            generation: self.generation,
            bytes: self.bytes,
            width: u32::try_from(self.width).unwrap_or(0),
            height: u32::try_from(self.height).unwrap_or(0),
            sha256: self.sha256.clone(),
            uploaded_at: from_ms(self.uploaded_at),
            lock: phase.lock(),
            verdict: phase.verdict(),
            reasons: json_list(&self.reasons)?,
            note: self.note.clone(),
            lock_zh: Some(lock_zh(phase).to_string()),
        })
    }
}

fn lock_zh(p: ImagePhase) -> &'static str {
    match p.lock() {
        crate::domain::image::Lock::Locked => "已锁定",
        crate::domain::image::Lock::Unlocked => "未锁定",
    }
}

/// An image's judgement: the audit snapshot of lock/unlock and their undo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ImageSnap {
    pub(crate) level: Option<Level>,
    pub(crate) phase: ImagePhase,
    pub(crate) reasons: Vec<String>,
    pub(crate) note: Option<String>,
}

impl ImageSnap {
    fn same_state(&self, other: &ImageSnap) -> bool {
        self.phase == other.phase && self.reasons == other.reasons && self.note == other.note
    }
}

struct AuditInsert<'a> {
    at: DateTime<Utc>,
    actor: &'a str,
    action: AuditAction,
    target: String,
    candidate_id: i64,
    before: String,
    after: String,
    reasons: &'a [String],
    note: Option<&'a str>,
    idempotency_key: Option<&'a str>,
    undoes: Option<i64>,
}

async fn insert_audit(conn: &mut SqliteConnection, a: AuditInsert<'_>) -> StoreResult<i64> {
    let id = sqlx::query_scalar::<_, i64>(
        "INSERT INTO audit (at, actor, action, target, candidate_id, before, after, reasons, note, \
         idempotency_key, undoes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(ms(a.at))
    .bind(a.actor)
    .bind(a.action.as_str())
    .bind(a.target)
    .bind(a.candidate_id)
    .bind(a.before)
    .bind(a.after)
    .bind(to_json(&a.reasons))
    .bind(a.note)
    .bind(a.idempotency_key)
    .bind(a.undoes)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// The audit event an earlier attempt of this request left, if any.
async fn applied_before(
    conn: &mut SqliteConnection,
    key: Option<&str>,
    actor: &str,
    target: &str,
    action: AuditAction,
) -> StoreResult<Option<i64>> {
    let Some(key) = key else { return Ok(None) };
    Ok(sqlx::query_scalar(
        "SELECT id FROM audit WHERE idempotency_key = ? AND actor = ? AND target = ? \
         AND action = ? ORDER BY id LIMIT 1",
    )
    .bind(key)
    .bind(actor)
    .bind(target)
    .bind(action.as_str())
    .fetch_optional(&mut *conn)
    .await?)
}

async fn insert_feedback(
    conn: &mut SqliteConnection,
    candidate_id: i64,
    channel: FeedbackChannel,
    body: &str,
    author: &str,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    Ok(sqlx::query_scalar::<_, i64>(
        "INSERT INTO feedback (candidate_id, channel, body, author, created_at) \
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(candidate_id)
    .bind(channel.as_str())
    .bind(body)
    .bind(author)
    .bind(ms(now))
    .fetch_one(&mut *conn)
    .await?)
}

async fn load_cand(conn: &mut SqliteConnection, id: i64) -> StoreResult<CandRow> {
    sqlx::query_as::<_, CandRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {CAND_COLS} FROM candidates WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)
}

async fn load_cand_scoped(
    conn: &mut SqliteConnection,
    id: i64,
    who: &ReviewerInfo,
) -> StoreResult<CandRow> {
    let c = load_cand(conn, id).await?;
    if c.in_scope(who) {
        Ok(c)
    } else {
        Err(StoreError::NotFound)
    }
}

async fn load_image(conn: &mut SqliteConnection, id: i64) -> StoreResult<ImgRow> {
    sqlx::query_as::<_, ImgRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {IMG_COLS} FROM images WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)
}

async fn load_images(conn: &mut SqliteConnection, candidate_id: i64) -> StoreResult<Vec<ImgRow>> {
    Ok(sqlx::query_as::<_, ImgRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {IMG_COLS} FROM images WHERE candidate_id = ? ORDER BY category, slot"
    )))
    .bind(candidate_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Another reviewer's live claim blocks changes (the console shows who).
fn check_claim(c: &CandRow, who: &ReviewerInfo, now: DateTime<Utc>) -> StoreResult<()> {
    match c.live_claim(now) {
        Some(cl) if cl.reviewer != who.username => Err(StoreError::Claimed {
            held_by: cl.reviewer,
            held_until: cl.expires_at,
        }),
        _ => Ok(()),
    }
}

/// The 409 for a stale version: who made the latest change, and when.
async fn stale(
    conn: &mut SqliteConnection,
    image_target: Option<i64>,
    candidate_id: i64,
    current_version: i64,
) -> StoreError {
    // The image's own latest event; an image nobody has judged yet was
    // last changed by whatever last changed its candidate (a submission).
    let mut row: Result<Option<(String, i64)>, sqlx::Error> = Ok(None);
    if let Some(img) = image_target {
        row =
            sqlx::query_as("SELECT actor, at FROM audit WHERE target = ? ORDER BY id DESC LIMIT 1")
                .bind(format!("image:{img}"))
                .fetch_optional(&mut *conn)
                .await;
    }
    if matches!(row, Ok(None)) {
        row = sqlx::query_as(
            "SELECT actor, at FROM audit WHERE candidate_id = ? AND action NOT IN \
             ('candidate.reveal_id', 'candidate.feedback') ORDER BY id DESC LIMIT 1",
        )
        .bind(candidate_id)
        .fetch_optional(&mut *conn)
        .await;
    }
    match row {
        Ok(r) => StoreError::Stale {
            changed_by: r.as_ref().map(|(a, _)| a.clone()),
            changed_at: r.map(|(_, at)| from_ms(at)),
            current_version,
        },
        Err(e) => StoreError::Db(e),
    }
}

async fn bump_candidate(
    conn: &mut SqliteConnection,
    id: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query("UPDATE candidates SET version = version + 1, updated_at = ? WHERE id = ?")
        .bind(ms(now))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn write_reviews(
    conn: &mut SqliteConnection,
    id: i64,
    s: &ReviewSnap,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE candidates SET site_state = ?, site_reasons = ?, site_note = ?, site_reviewer = ?, \
         site_decided_at = ?, district_state = ?, district_reasons = ?, district_note = ?, \
         district_reviewer = ?, district_decided_at = ?, version = version + 1, updated_at = ? \
         WHERE id = ?",
    )
    .bind(s.site.state.as_str())
    .bind(to_json(&s.site.reasons))
    .bind(&s.site.note)
    .bind(&s.site.reviewer)
    .bind(s.site.decided_at)
    .bind(s.district.state.as_str())
    .bind(to_json(&s.district.reasons))
    .bind(&s.district.note)
    .bind(&s.district.reviewer)
    .bind(s.district.decided_at)
    .bind(ms(now))
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn write_image_state(conn: &mut SqliteConnection, id: i64, s: &ImageSnap) -> StoreResult<()> {
    let (phase, was_accepted, replaced) = phase_cols(s.phase);
    sqlx::query(
        "UPDATE images SET phase = ?, was_accepted = ?, replaced = ?, reasons = ?, note = ?, \
         version = version + 1 WHERE id = ?",
    )
    .bind(phase)
    .bind(was_accepted)
    .bind(replaced)
    .bind(to_json(&s.reasons))
    .bind(&s.note)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The reviews after `event`, with the deciding level's reasons and the
/// reset of any level whose state the event changed.
fn next_snap(
    before: &ReviewSnap,
    next: Reviews,
    decided: Option<(Level, &DecisionInput, &str)>,
    now: DateTime<Utc>,
) -> ReviewSnap {
    let carry = |old: &LevelSnap, state: ReviewStatus| {
        if old.state == state {
            old.clone()
        } else {
            LevelSnap::fresh(state)
        }
    };
    let mut out = ReviewSnap {
        level: decided.map(|(l, _, _)| l),
        site: carry(&before.site, next.site),
        district: carry(&before.district, next.district),
    };
    if let Some((level, input, reviewer)) = decided {
        let snap = LevelSnap {
            state: next.at(level),
            reasons: input.reasons.clone(),
            note: input
                .note
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string),
            reviewer: Some(reviewer.to_string()),
            decided_at: Some(ms(now)),
        };
        match level {
            Level::Site => out.site = snap,
            Level::District => out.district = snap,
        }
    }
    out
}

#[derive(Debug, Clone, FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    target: String,
    candidate_id: i64,
    before: String,
    after: String,
    reasons: String,
    note: Option<String>,
    idempotency_key: Option<String>,
    undoes: Option<i64>,
    undone_by: Option<i64>,
}

impl AuditRow {
    fn dto(self) -> StoreResult<AuditEventDto> {
        Ok(AuditEventDto {
            id: self.id,
            at: from_ms(self.at),
            actor: self.actor,
            action: self.action,
            target: self.target,
            candidate_id: self.candidate_id,
            before: serde_json::from_str(&self.before)?,
            after: serde_json::from_str(&self.after)?,
            reasons: json_list(&self.reasons)?,
            note: self.note,
            idempotency_key: self.idempotency_key,
            undoes: self.undoes,
            undone_by: self.undone_by,
        })
    }
}

const AUDIT_SELECT: &str = "SELECT a.id, a.at, a.actor, a.action, a.target, a.candidate_id, \
    a.before, a.after, a.reasons, a.note, a.idempotency_key, a.undoes, \
    (SELECT u.id FROM audit u WHERE u.undoes = a.id) AS undone_by FROM audit a";

fn not_blank(s: Option<String>) -> Option<String> {
    s.map(|n| n.trim().to_string()).filter(|n| !n.is_empty())
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
        };
        store.reload_phash_index().await?;
        Ok(store)
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Call after committing anything that may move a candidate between
    /// queue states.
    pub(crate) fn changed(&self) {
        self.write_gen.fetch_add(1, Ordering::SeqCst);
    }

    /// The counts of every state in the caller's scope, from the covering
    /// index, cached until the next change.
    async fn counts(&self, conn: &mut SqliteConnection, who: &ReviewerInfo) -> StoreResult<Counts> {
        let key = format!("{}\n{}", who.district, who.site.as_deref().unwrap_or(""));
        let generation = self.write_gen.load(Ordering::SeqCst);
        if let Ok(cache) = self.counts_cache.lock()
            && let Some((g, c)) = cache.get(&key)
            && *g == generation
        {
            return Ok(c.clone());
        }
        let rows: Vec<(String, String, i64)> = match &who.site {
            Some(site) => {
                sqlx::query_as(
                    "SELECT site_state, district_state, COUNT(*) FROM candidates \
                     WHERE district = ? AND site = ? GROUP BY site_state, district_state",
                )
                .bind(&who.district)
                .bind(site)
                .fetch_all(&mut *conn)
                .await?
            }
            None => {
                sqlx::query_as(
                    "SELECT district_state, '', COUNT(*) FROM candidates \
                     WHERE district = ? AND district_state <> 'not_started' GROUP BY district_state",
                )
                .bind(&who.district)
                .fetch_all(&mut *conn)
                .await?
            }
        };
        let mut counts = Counts::default();
        for (state, district_state, n) in rows {
            match ReviewStatus::parse(&state) {
                Some(ReviewStatus::AwaitingReview) => {
                    counts.awaiting_review += n;
                    // A site's returned candidates await it again.
                    if who.site.is_some() && district_state == "returned" {
                        counts.returned += n;
                    }
                }
                Some(ReviewStatus::Pending) => counts.pending += n,
                Some(ReviewStatus::Passed) => counts.passed += n,
                Some(ReviewStatus::Rejected) => counts.rejected += n,
                Some(ReviewStatus::Returned) => counts.returned += n,
                Some(ReviewStatus::NotStarted) => counts.not_started += n,
                None => {}
            }
        }
        if let Ok(mut cache) = self.counts_cache.lock() {
            cache.insert(key, (generation, counts.clone()));
        }
        Ok(counts)
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

    /// Resolve stored duplicate references; the other candidate is named
    /// only when the caller may see them.
    async fn resolve_dups(
        &self,
        conn: &mut SqliteConnection,
        who: &ReviewerInfo,
        images: &[ImgRow],
    ) -> StoreResult<HashMap<i64, (i64, String, bool)>> {
        let mut ids = Vec::new();
        for img in images {
            let (a, b) = img.dups()?;
            ids.extend(a.iter().chain(b.iter()).map(|d| d.image_id));
        }
        let mut out = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut qb = QueryBuilder::<Sqlite>::new(
            "SELECT i.id, c.id, c.reg_no, c.district, c.site FROM images i \
             JOIN candidates c ON c.id = i.candidate_id WHERE i.id IN (",
        );
        let mut sep = qb.separated(", ");
        for id in &ids {
            sep.push_bind(*id);
        }
        qb.push(")");
        let rows: Vec<(i64, i64, String, String, String)> =
            qb.build_query_as().fetch_all(&mut *conn).await?;
        for (img, cand, reg_no, district, site) in rows {
            out.insert(img, (cand, reg_no, who.sees(&district, &site)));
        }
        Ok(out)
    }

    fn image_dto(img: &ImgRow, dups: &HashMap<i64, (i64, String, bool)>) -> StoreResult<ImageDto> {
        let phase = img.phase()?;
        let (exact, near) = img.dups()?;
        let refs = |v: Vec<DupRef>| -> Vec<DuplicateRef> {
            v.into_iter()
                .map(|d| {
                    let seen = dups.get(&d.image_id).filter(|(_, _, vis)| *vis);
                    DuplicateRef {
                        image_id: d.image_id,
                        candidate_id: seen.map(|(c, _, _)| *c),
                        reg_no: seen.map(|(_, r, _)| r.clone()),
                        distance: d.distance,
                    }
                })
                .collect()
        };
        let (replaced, reasons) = match phase {
            ImagePhase::ReplaceRequested { replaced, .. } => (replaced, json_list(&img.reasons)?),
            _ => (false, Vec::new()),
        };
        Ok(ImageDto {
            id: img.id,
            candidate_id: img.candidate_id,
            category: img.category()?,
            slot: img.slot(),
            slot_label: img.slot_label(),
            generation: img.generation,
            format: img.format.clone(),
            bytes: img.bytes,
            width: u32::try_from(img.width).unwrap_or(0),
            height: u32::try_from(img.height).unwrap_or(0),
            sha256: img.sha256.clone(),
            uploaded_at: from_ms(img.uploaded_at),
            version: img.version,
            lock: phase.lock(),
            verdict: phase.verdict(),
            reasons,
            note: if replaced || matches!(phase, ImagePhase::ReplaceRequested { .. }) {
                img.note.clone()
            } else {
                None
            },
            replaced,
            hints: HintsDto {
                over_size: img.bytes > crate::domain::rules::MAX_UPLOAD_BYTES as i64,
                wrong_format: false,
                too_small: img.too_small,
                orientation: u8::try_from(img.orientation).unwrap_or(1),
                not_upright: img.not_upright,
                blur_score: img.blur_score as f32,
                blurry: img.blurry,
                duplicate_of: refs(exact),
                near_duplicate_of: refs(near),
            },
        })
    }

    async fn feedback_of(
        conn: &mut SqliteConnection,
        candidate_id: i64,
    ) -> StoreResult<Vec<FeedbackDto>> {
        let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
            "SELECT id, channel, body, author, created_at FROM feedback WHERE candidate_id = ? \
             ORDER BY id DESC",
        )
        .bind(candidate_id)
        .fetch_all(&mut *conn)
        .await?;
        rows.into_iter()
            .map(|(id, ch, body, author, at)| {
                Ok(FeedbackDto {
                    id,
                    channel: FeedbackChannel::parse(&ch)
                        .ok_or_else(|| StoreError::Corrupt(format!("channel {ch:?}")))?,
                    body,
                    author,
                    created_at: from_ms(at),
                })
            })
            .collect()
    }

    async fn detail_in(
        &self,
        conn: &mut SqliteConnection,
        who: &ReviewerInfo,
        c: &CandRow,
        now: DateTime<Utc>,
    ) -> StoreResult<CandidateDetail> {
        let images = load_images(conn, c.id).await?;
        let dups = self.resolve_dups(conn, who, &images).await?;
        let mut materials: Vec<MaterialDto> = MaterialCategory::ALL
            .iter()
            .map(|cat| MaterialDto {
                category: *cat,
                name_zh: cat.name_zh().into(),
                name_en: cat.name_en().into(),
                fixed_count: cat.fixed_count(),
                images: Vec::new(),
            })
            .collect();
        for img in &images {
            let dto = Self::image_dto(img, &dups)?;
            if let Some(m) = materials.iter_mut().find(|m| m.category == dto.category) {
                m.images.push(dto);
            }
        }
        for m in &mut materials {
            m.images.sort_by_key(|i| i.slot);
        }
        let snap = c.snap()?;
        Ok(CandidateDetail {
            id: c.id,
            reg_no: c.reg_no.clone(),
            name: c.name.clone(),
            id_type: c.id_type.clone(),
            id_number: mask_id_number(&c.id_number),
            id_revealed: false,
            gender: c.gender.clone(),
            birth_date: NaiveDate::parse_from_str(&c.birth_date, "%Y-%m-%d")
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            exam_category: c.exam_category.clone(),
            district: c.district.clone(),
            site: c.site.clone(),
            education: c.education.clone(),
            school: c.school.clone(),
            major: c.major.clone(),
            graduation_date: c
                .graduation_date
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
            trial_institution: c.trial_institution.clone(),
            phone: mask_phone(&c.phone),
            submitted_at: c.submitted_at.map(from_ms),
            updated_at: from_ms(c.updated_at),
            version: c.version,
            site_review: snap.site.dto(),
            district_review: snap.district.dto(),
            claim: c.claim_dto(Some(&who.username), now),
            materials,
            feedback: Self::feedback_of(conn, c.id).await?,
        })
    }

    async fn self_in(
        conn: &mut SqliteConnection,
        c: &CandRow,
        window: &ReviewWindow,
        now: DateTime<Utc>,
    ) -> StoreResult<CandidateSelf> {
        let images = load_images(conn, c.id).await?;
        let reviews = c.reviews()?;
        let snap = c.snap()?;
        let status = reviews.candidate_status();
        let reasons = match (snap.site.state, snap.district.state) {
            (ReviewStatus::Pending | ReviewStatus::Rejected, _) => snap.site.reasons.clone(),
            (_, ReviewStatus::Pending | ReviewStatus::Rejected) => snap.district.reasons.clone(),
            _ => Vec::new(),
        };
        let today = local_today(now);
        let mut materials: Vec<CandidateMaterialDto> = MaterialCategory::ALL
            .iter()
            .map(|cat| CandidateMaterialDto {
                category: *cat,
                name_zh: cat.name_zh().into(),
                fixed_count: cat.fixed_count(),
                images: Vec::new(),
            })
            .collect();
        for img in &images {
            let dto = img.candidate_dto()?;
            if let Some(m) = materials.iter_mut().find(|m| m.category == dto.category) {
                m.images.push(dto);
            }
        }
        Ok(CandidateSelf {
            id: c.id,
            reg_no: c.reg_no.clone(),
            name: c.name.clone(),
            status,
            status_zh: status.zh().to_string(),
            reasons,
            editable: reviews.candidate_may_edit() && window.is_open(today),
            submitted_at: c.submitted_at.map(from_ms),
            window: window_dto(window, today),
            materials,
            feedback: Self::feedback_of(conn, c.id).await?,
        })
    }
}

pub fn window_dto(w: &ReviewWindow, today: NaiveDate) -> WindowDto {
    WindowDto {
        opens: w.opens,
        closes: w.closes,
        open: w.is_open(today),
        days_left: w.days_left(today),
    }
}

fn reviewer_from_row(
    (id, username, display_name, level, district, site): (
        i64,
        String,
        String,
        String,
        String,
        Option<String>,
    ),
) -> StoreResult<ReviewerInfo> {
    let level = match level.as_str() {
        "site" => Level::Site,
        "district" => Level::District,
        other => return Err(StoreError::Corrupt(format!("level {other:?}"))),
    };
    Ok(ReviewerInfo {
        id,
        username,
        display_name,
        level,
        district,
        site,
    })
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

    fn reviewer_credentials<'a>(
        &'a self,
        username: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<(ReviewerInfo, String)>>> {
        Box::pin(async move {
            type Row = (i64, String, String, String, String, Option<String>, String);
            let row: Option<Row> = sqlx::query_as(
                "SELECT id, username, display_name, level, district, site, password_hash \
                     FROM reviewers WHERE username = ?",
            )
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
            match row {
                None => Ok(None),
                Some((id, u, d, l, di, s, hash)) => {
                    Ok(Some((reviewer_from_row((id, u, d, l, di, s))?, hash)))
                }
            }
        })
    }

    fn reviewer(&self, id: i64) -> BoxFuture<'_, StoreResult<Option<ReviewerInfo>>> {
        Box::pin(async move {
            let row: Option<(i64, String, String, String, String, Option<String>)> =
                sqlx::query_as(
                    "SELECT id, username, display_name, level, district, site FROM reviewers \
                     WHERE id = ?",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            row.map(reviewer_from_row).transpose()
        })
    }

    fn candidate_credentials<'a>(
        &'a self,
        reg_no: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<CandidateCredentials>>> {
        Box::pin(async move {
            let row: Option<(i64, String, String)> =
                sqlx::query_as("SELECT id, reg_no, password_hash FROM candidates WHERE reg_no = ?")
                    .bind(reg_no)
                    .fetch_optional(&self.pool)
                    .await?;
            Ok(row.map(|(id, reg_no, password_hash)| CandidateCredentials {
                id,
                reg_no,
                password_hash,
            }))
        })
    }

    fn insert_token<'a>(
        &'a self,
        token_hash: &'a str,
        subject: Subject,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let (kind, id) = match subject {
                Subject::Reviewer(id) => ("reviewer", id),
                Subject::Candidate(id) => ("candidate", id),
            };
            let mut tx = self.begin().await?;
            // Drop long-expired tokens on the way, so the table stays small.
            sqlx::query("DELETE FROM tokens WHERE expires_at < ?")
                .bind(ms(now) - 7 * 24 * 3600 * 1000)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO tokens (token_hash, kind, subject_id, created_at, expires_at) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(token_hash)
            .bind(kind)
            .bind(id)
            .bind(ms(now))
            .bind(ms(expires_at))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn token<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, StoreResult<Option<TokenRecord>>> {
        Box::pin(async move {
            let row: Option<(String, i64, i64, bool)> = sqlx::query_as(
                "SELECT kind, subject_id, expires_at, revoked FROM tokens WHERE token_hash = ?",
            )
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
            Ok(row.map(|(kind, id, exp, revoked)| TokenRecord {
                subject: if kind == "reviewer" {
                    Subject::Reviewer(id)
                } else {
                    Subject::Candidate(id)
                },
                expires_at: from_ms(exp),
                revoked,
            }))
        })
    }

    fn revoke_token<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            sqlx::query("UPDATE tokens SET revoked = 1 WHERE token_hash = ?")
                .bind(token_hash)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }

    fn stored_response<'a>(
        &'a self,
        actor: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<StoredResponse>>> {
        Box::pin(async move {
            let row: Option<(String, i64, Option<String>, Vec<u8>)> = sqlx::query_as(
                "SELECT fingerprint, status, content_type, body FROM idempotency \
                 WHERE actor = ? AND key = ?",
            )
            .bind(actor)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
            Ok(
                row.map(|(fingerprint, status, content_type, body)| StoredResponse {
                    fingerprint,
                    status: u16::try_from(status).unwrap_or(500),
                    content_type,
                    body,
                }),
            )
        })
    }

    fn store_response<'a>(
        &'a self,
        actor: &'a str,
        key: &'a str,
        r: &'a StoredResponse,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            sqlx::query(
                "INSERT OR IGNORE INTO idempotency (actor, key, fingerprint, status, content_type, \
                 body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(actor)
            .bind(key)
            .bind(&r.fingerprint)
            .bind(i64::from(r.status))
            .bind(&r.content_type)
            .bind(&r.body)
            .bind(ms(now))
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn list_candidates<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        query: ListQuery,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<ListPage>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            let state_col = match who.level {
                Level::Site => "site_state",
                Level::District => "district_state",
            };
            let scope = |qb: &mut QueryBuilder<Sqlite>| {
                qb.push(" WHERE district = ")
                    .push_bind(who.district.clone());
                match &who.site {
                    Some(site) => {
                        qb.push(" AND site = ").push_bind(site.clone());
                    }
                    // The district sees what the site has passed or returned.
                    None => {
                        qb.push(" AND district_state <> 'not_started'");
                    }
                }
            };

            let mut qb = QueryBuilder::<Sqlite>::new(format!("SELECT {CAND_COLS} FROM candidates"));
            scope(&mut qb);
            if let Some(state) = query.state {
                match (who.level, state) {
                    (Level::Site, ReviewStatus::Returned) => {
                        qb.push(
                            " AND site_state = 'awaiting_review' AND district_state = 'returned'",
                        );
                    }
                    _ => {
                        qb.push(format!(" AND {state_col} = "))
                            .push_bind(state.as_str());
                    }
                }
            }
            if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
                let esc = q
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                qb.push(" AND (name LIKE ")
                    .push_bind(format!("%{esc}%"))
                    .push(" ESCAPE '\\' OR reg_no LIKE ")
                    .push_bind(format!("{esc}%"))
                    .push(" ESCAPE '\\' OR id_number LIKE ")
                    .push_bind(format!("%{esc}"))
                    .push(" ESCAPE '\\')");
            }
            if let Some((at, id)) = query.after {
                qb.push(" AND (sort_at, id) > (")
                    .push_bind(at)
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            }
            qb.push(" ORDER BY sort_at, id LIMIT ")
                .push_bind(i64::from(query.limit) + 1);
            let mut rows: Vec<CandRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            let next = if rows.len() > query.limit as usize {
                rows.truncate(query.limit as usize);
                rows.last().map(|r| (r.sort_at, r.id))
            } else {
                None
            };

            let mut stats: HashMap<i64, (i64, i64)> = HashMap::new();
            if !rows.is_empty() {
                let mut qb = QueryBuilder::<Sqlite>::new(
                    "SELECT candidate_id, COUNT(*), SUM(flagged) FROM images WHERE candidate_id IN (",
                );
                let mut sep = qb.separated(", ");
                for r in &rows {
                    sep.push_bind(r.id);
                }
                qb.push(") GROUP BY candidate_id");
                let s: Vec<(i64, i64, i64)> = qb.build_query_as().fetch_all(&mut *conn).await?;
                stats = s.into_iter().map(|(c, n, f)| (c, (n, f))).collect();
            }

            let mut items = Vec::with_capacity(rows.len());
            for r in &rows {
                let reviews = r.reviews()?;
                let (images, flagged) = stats.get(&r.id).copied().unwrap_or((0, 0));
                items.push(CandidateSummary {
                    id: r.id,
                    reg_no: r.reg_no.clone(),
                    name: r.name.clone(),
                    exam_category: r.exam_category.clone(),
                    site: r.site.clone(),
                    state: reviews.at(who.level),
                    site_review: reviews.site,
                    district_review: reviews.district,
                    submitted_at: r.submitted_at.map(from_ms),
                    updated_at: from_ms(r.updated_at),
                    version: r.version,
                    claim: r.claim_dto(Some(&who.username), now),
                    images,
                    flagged,
                });
            }

            let counts = self.counts(&mut conn, who).await?;
            Ok(ListPage {
                list: CandidateList {
                    items,
                    next_cursor: None,
                    counts,
                },
                next,
            })
        })
    }

    fn candidate_detail<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<CandidateDetail>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            let c = load_cand_scoped(&mut conn, id, who).await?;
            self.detail_in(&mut conn, who, &c, now).await
        })
    }

    fn image_blob<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        image_id: i64,
    ) -> BoxFuture<'a, StoreResult<Blob>> {
        Box::pin(async move {
            let row: Option<(String, String, Vec<u8>, String, String)> = sqlx::query_as(
                "SELECT b.format, b.sha256, b.bytes, c.district, c.site FROM images i \
                 JOIN blobs b ON b.sha256 = i.sha256 JOIN candidates c ON c.id = i.candidate_id \
                 WHERE i.id = ?",
            )
            .bind(image_id)
            .fetch_optional(&self.pool)
            .await?;
            match row {
                Some((format, sha256, bytes, district, site)) if who.sees(&district, &site) => {
                    blob(format, sha256, bytes)
                }
                _ => Err(StoreError::NotFound),
            }
        })
    }

    fn judge_image<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        image_id: i64,
        judgement: Judgement,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(ImageActionResponse, Change)>> {
        Box::pin(async move {
            if let Judgement::Unlock { reasons, note } = &judgement {
                validate_reasons(ReasonTarget::Image, reasons, note.as_deref())?;
            }
            let mut tx = self.begin().await?;
            let img = load_image(&mut tx, image_id).await?;
            let c = load_cand_scoped(&mut tx, img.candidate_id, who).await?;
            let action = match &judgement {
                Judgement::Lock => AuditAction::ImageLock,
                Judgement::Unlock { .. } => AuditAction::ImageUnlock,
            };
            // Committed before a crash lost the stored answer (see decide).
            if let Some(audit_id) = applied_before(
                &mut tx,
                ctx.idempotency_key.as_deref(),
                &who.username,
                &format!("image:{}", img.id),
                action,
            )
            .await?
            {
                let dups = self
                    .resolve_dups(&mut tx, who, std::slice::from_ref(&img))
                    .await?;
                let dto = Self::image_dto(&img, &dups)?;
                tx.commit().await?;
                let change = c.change(&who.username, action.as_str(), ctx.now)?;
                return Ok((
                    ImageActionResponse {
                        image: dto,
                        candidate_version: c.version,
                        audit_id,
                    },
                    change,
                ));
            }
            check_claim(&c, who, ctx.now)?;
            if let Some(v) = ctx.expected_version
                && v != img.version
            {
                return Err(stale(&mut tx, Some(img.id), c.id, img.version).await);
            }
            let reviews = c.reviews()?;
            if !reviews.reviewer_may_judge_images(who.level) {
                return Err(StoreError::Invalid {
                    code: "invalid_transition",
                    detail: format!(
                        "images can be judged only while the candidate awaits review at your \
                         level ({})",
                        who.level.as_str()
                    ),
                });
            }
            let before = img.snap(Some(who.level))?;
            let (event, action) = match &judgement {
                Judgement::Lock => (ImageEvent::Lock, AuditAction::ImageLock),
                Judgement::Unlock { .. } => (ImageEvent::Unlock, AuditAction::ImageUnlock),
            };
            let next = match image::transition(before.phase, event).map_err(StoreError::Image)? {
                ImageOutcome::Phase(p) => p,
                ImageOutcome::Removed => {
                    return Err(StoreError::Corrupt("lock removed an image".into()));
                }
            };
            let (reasons, note) = match &judgement {
                Judgement::Lock => (Vec::new(), None),
                Judgement::Unlock { reasons, note } => (reasons.clone(), not_blank(note.clone())),
            };
            let after = ImageSnap {
                level: Some(who.level),
                phase: next,
                reasons: reasons.clone(),
                note: note.clone(),
            };
            write_image_state(&mut tx, img.id, &after).await?;
            bump_candidate(&mut tx, c.id, ctx.now).await?;
            let audit_id = insert_audit(
                &mut tx,
                AuditInsert {
                    at: ctx.now,
                    actor: &who.username,
                    action,
                    target: format!("image:{}", img.id),
                    candidate_id: c.id,
                    before: to_json(&before),
                    after: to_json(&after),
                    reasons: &reasons,
                    note: note.as_deref(),
                    idempotency_key: ctx.idempotency_key.as_deref(),
                    undoes: None,
                },
            )
            .await?;
            if let Judgement::Unlock { .. } = judgement {
                let body = messages::unlocked(
                    who.level,
                    img.category()?,
                    img.slot(),
                    &reasons,
                    note.as_deref(),
                );
                insert_feedback(
                    &mut tx,
                    c.id,
                    FeedbackChannel::System,
                    &body,
                    &who.username,
                    ctx.now,
                )
                .await?;
            }
            let img = load_image(&mut tx, image_id).await?;
            let c = load_cand(&mut tx, c.id).await?;
            let dups = self
                .resolve_dups(&mut tx, who, std::slice::from_ref(&img))
                .await?;
            let dto = Self::image_dto(&img, &dups)?;
            tx.commit().await?;
            self.changed();
            let change = c.change(&who.username, action.as_str(), ctx.now)?;
            Ok((
                ImageActionResponse {
                    image: dto,
                    candidate_version: c.version,
                    audit_id,
                },
                change,
            ))
        })
    }

    fn decide<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        input: DecisionInput,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(DecisionResponse, Change)>> {
        Box::pin(async move {
            if input.decision.needs_reasons() || !input.reasons.is_empty() {
                validate_reasons(
                    ReasonTarget::Candidate,
                    &input.reasons,
                    input.note.as_deref(),
                )?;
            }
            let mut tx = self.begin().await?;
            let c = load_cand_scoped(&mut tx, candidate_id, who).await?;
            // The idempotency layer stores its answer after this commit; a
            // crash in between leaves the retry to us. The audit already
            // holds the decision under this key: answer again, do not act.
            if let Some(audit_id) = applied_before(
                &mut tx,
                ctx.idempotency_key.as_deref(),
                &who.username,
                &format!("candidate:{}", c.id),
                AuditAction::Decision,
            )
            .await?
            {
                let snap = c.snap()?;
                tx.commit().await?;
                let change = c.change(&who.username, AuditAction::Decision.as_str(), ctx.now)?;
                return Ok((
                    DecisionResponse {
                        candidate_id: c.id,
                        site_review: snap.site.dto(),
                        district_review: snap.district.dto(),
                        candidate_version: c.version,
                        audit_id,
                    },
                    change,
                ));
            }
            if input.level != who.level {
                return Err(StoreError::WrongLevel(format!(
                    "you review at the {} level, not the {} level",
                    who.level.as_str(),
                    input.level.as_str()
                )));
            }
            check_claim(&c, who, ctx.now)?;
            if let Some(v) = ctx.expected_version
                && v != c.version
            {
                return Err(stale(&mut tx, None, c.id, c.version).await);
            }
            let before = c.snap()?;
            let next = review::transition(
                before.reviews(),
                ReviewEvent::Decide(input.level, input.decision),
            )
            .map_err(StoreError::Review)?;
            if input.decision == Decision::Pass {
                let unlocked: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM images WHERE candidate_id = ? \
                     AND phase IN ('draft', 'replace_requested')",
                )
                .bind(c.id)
                .fetch_one(&mut *tx)
                .await?;
                if unlocked > 0 {
                    return Err(StoreError::UnlockedImages(unlocked));
                }
            }
            let before = ReviewSnap {
                level: Some(input.level),
                ..before
            };
            let after = next_snap(
                &before,
                next,
                Some((input.level, &input, &who.username)),
                ctx.now,
            );
            write_reviews(&mut tx, c.id, &after, ctx.now).await?;
            // A decision ends the reviewer's look at the candidate.
            sqlx::query(
                "UPDATE candidates SET claim_reviewer = NULL, claim_expires_at = NULL \
                 WHERE id = ? AND claim_reviewer = ?",
            )
            .bind(c.id)
            .bind(&who.username)
            .execute(&mut *tx)
            .await?;
            let level_snap = match input.level {
                Level::Site => &after.site,
                Level::District => &after.district,
            };
            let audit_id = insert_audit(
                &mut tx,
                AuditInsert {
                    at: ctx.now,
                    actor: &who.username,
                    action: AuditAction::Decision,
                    target: format!("candidate:{}", c.id),
                    candidate_id: c.id,
                    before: to_json(&before),
                    after: to_json(&after),
                    reasons: &level_snap.reasons,
                    note: level_snap.note.as_deref(),
                    idempotency_key: ctx.idempotency_key.as_deref(),
                    undoes: None,
                },
            )
            .await?;
            let message = match input.decision {
                Decision::Pending => Some(messages::pending(
                    input.level,
                    &level_snap.reasons,
                    level_snap.note.as_deref(),
                )),
                Decision::Reject => Some(messages::rejected(
                    input.level,
                    &level_snap.reasons,
                    level_snap.note.as_deref(),
                )),
                Decision::Pass | Decision::Return => None,
            };
            if let Some(body) = message {
                insert_feedback(
                    &mut tx,
                    c.id,
                    FeedbackChannel::System,
                    &body,
                    &who.username,
                    ctx.now,
                )
                .await?;
            }
            let c = load_cand(&mut tx, c.id).await?;
            tx.commit().await?;
            self.changed();
            let change = c.change(
                &who.username,
                &format!(
                    "{}.{}",
                    AuditAction::Decision.as_str(),
                    input.decision.as_str()
                ),
                ctx.now,
            )?;
            Ok((
                DecisionResponse {
                    candidate_id: c.id,
                    site_review: after.site.dto(),
                    district_review: after.district.dto(),
                    candidate_version: c.version,
                    audit_id,
                },
                change,
            ))
        })
    }

    fn claim<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<(ClaimDto, Change)>> {
        Box::pin(async move {
            let mut tx = self.begin().await?;
            let c = load_cand_scoped(&mut tx, candidate_id, who).await?;
            let current = c
                .claim_reviewer
                .clone()
                .zip(c.claim_expires_at)
                .map(|(r, e)| crate::domain::claim::Claim {
                    reviewer: r,
                    expires_at: from_ms(e),
                });
            match domain_claim(current.as_ref(), &who.username, now) {
                ClaimOutcome::HeldBy(cl) => Err(StoreError::Claimed {
                    held_by: cl.reviewer,
                    held_until: cl.expires_at,
                }),
                ClaimOutcome::Granted(cl) => {
                    sqlx::query(
                        "UPDATE candidates SET claim_reviewer = ?, claim_expires_at = ? WHERE id = ?",
                    )
                    .bind(&cl.reviewer)
                    .bind(ms(cl.expires_at))
                    .bind(c.id)
                    .execute(&mut *tx)
                    .await?;
                    let c = load_cand(&mut tx, c.id).await?;
                    tx.commit().await?;
                    Ok((
                        ClaimDto {
                            reviewer: cl.reviewer,
                            expires_at: cl.expires_at,
                            mine: true,
                        },
                        c.change(&who.username, "claim", now)?,
                    ))
                }
            }
        })
    }

    fn release<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<Option<Change>>> {
        Box::pin(async move {
            let mut tx = self.begin().await?;
            let c = load_cand_scoped(&mut tx, candidate_id, who).await?;
            if c.claim_reviewer.as_deref() != Some(who.username.as_str()) {
                tx.commit().await?;
                return Ok(None);
            }
            sqlx::query(
                "UPDATE candidates SET claim_reviewer = NULL, claim_expires_at = NULL WHERE id = ?",
            )
            .bind(c.id)
            .execute(&mut *tx)
            .await?;
            let c = load_cand(&mut tx, c.id).await?;
            tx.commit().await?;
            Ok(Some(c.change(&who.username, "release", now)?))
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
            let body = body.trim().to_string();
            if body.is_empty() {
                return Err(StoreError::Invalid {
                    code: "invalid_field",
                    detail: "the feedback body is empty".into(),
                });
            }
            if body.chars().count() > crate::domain::audit::MAX_FEEDBACK_CHARS {
                return Err(StoreError::Invalid {
                    code: "note_too_long",
                    detail: format!(
                        "feedback is limited to {} characters",
                        crate::domain::audit::MAX_FEEDBACK_CHARS
                    ),
                });
            }
            let mut tx = self.begin().await?;
            let c = load_cand_scoped(&mut tx, candidate_id, who).await?;
            let id = insert_feedback(&mut tx, c.id, channel, &body, &who.username, ctx.now).await?;
            insert_audit(
                &mut tx,
                AuditInsert {
                    at: ctx.now,
                    actor: &who.username,
                    action: AuditAction::Feedback,
                    target: format!("candidate:{}", c.id),
                    candidate_id: c.id,
                    before: "null".into(),
                    after: to_json(&serde_json::json!({ "feedback_id": id, "channel": channel })),
                    reasons: &[],
                    note: None,
                    idempotency_key: ctx.idempotency_key.as_deref(),
                    undoes: None,
                },
            )
            .await?;
            tx.commit().await?;
            Ok(FeedbackDto {
                id,
                channel,
                body,
                author: who.username.clone(),
                created_at: ctx.now,
            })
        })
    }

    fn audit<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
    ) -> BoxFuture<'a, StoreResult<Vec<AuditEventDto>>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            load_cand_scoped(&mut conn, candidate_id, who).await?;
            let rows: Vec<AuditRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{AUDIT_SELECT} WHERE a.candidate_id = ? ORDER BY a.id"
            )))
            .bind(candidate_id)
            .fetch_all(&mut *conn)
            .await?;
            rows.into_iter().map(AuditRow::dto).collect()
        })
    }

    fn undo<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        event_id: i64,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(UndoResponse, Change)>> {
        Box::pin(async move {
            let mut tx = self.begin().await?;
            let ev: AuditRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{AUDIT_SELECT} WHERE a.id = ?"
            )))
            .bind(event_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
            let c = load_cand_scoped(&mut tx, ev.candidate_id, who).await?;
            let action = AuditAction::parse(&ev.action)
                .ok_or_else(|| StoreError::Corrupt(format!("audit action {:?}", ev.action)))?;
            if !action.undoable() {
                return Err(StoreError::NotUndoable(format!(
                    "{} cannot be undone",
                    ev.action
                )));
            }
            if let Some(u) = ev.undone_by {
                return Err(StoreError::UndoConflict(format!(
                    "event {event_id} was already undone by event {u}"
                )));
            }
            check_claim(&c, who, ctx.now)?;
            if let Some(v) = ctx.expected_version
                && v != c.version
            {
                return Err(stale(&mut tx, None, c.id, c.version).await);
            }
            let (before_json, after_json, target) = match action {
                AuditAction::ImageLock | AuditAction::ImageUnlock => {
                    let before: ImageSnap = serde_json::from_str(&ev.before)?;
                    let after: ImageSnap = serde_json::from_str(&ev.after)?;
                    if before.level.is_some_and(|l| l != who.level) {
                        return Err(StoreError::WrongLevel(
                            "this image was judged at the other level".into(),
                        ));
                    }
                    let image_id: i64 = ev
                        .target
                        .strip_prefix("image:")
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| StoreError::Corrupt(format!("target {:?}", ev.target)))?;
                    let img = load_image(&mut tx, image_id).await.map_err(|e| match e {
                        StoreError::NotFound => {
                            StoreError::UndoConflict("the image has been deleted since".into())
                        }
                        other => other,
                    })?;
                    let current = img.snap(Some(who.level))?;
                    if !current.same_state(&after) {
                        return Err(StoreError::UndoConflict(
                            "the image has changed since; undo would lose that change".into(),
                        ));
                    }
                    if !c.reviews()?.reviewer_may_judge_images(who.level) {
                        return Err(StoreError::UndoConflict(
                            "the candidate is no longer awaiting review at your level".into(),
                        ));
                    }
                    let restored = ImageSnap {
                        level: Some(who.level),
                        ..before
                    };
                    write_image_state(&mut tx, image_id, &restored).await?;
                    bump_candidate(&mut tx, c.id, ctx.now).await?;
                    (to_json(&current), to_json(&restored), ev.target.clone())
                }
                AuditAction::Decision => {
                    let before: ReviewSnap = serde_json::from_str(&ev.before)?;
                    let after: ReviewSnap = serde_json::from_str(&ev.after)?;
                    if after.level.is_some_and(|l| l != who.level) {
                        return Err(StoreError::WrongLevel(
                            "this decision was made at the other level".into(),
                        ));
                    }
                    let current = c.snap()?;
                    if !current.same_state(&after) {
                        return Err(StoreError::UndoConflict(
                            "the candidate has changed since; undo would lose that change".into(),
                        ));
                    }
                    let restored = ReviewSnap {
                        level: after.level,
                        ..before
                    };
                    write_reviews(&mut tx, c.id, &restored, ctx.now).await?;
                    let current = ReviewSnap {
                        level: after.level,
                        ..current
                    };
                    (to_json(&current), to_json(&restored), ev.target.clone())
                }
                _ => {
                    return Err(StoreError::NotUndoable(format!(
                        "{} cannot be undone",
                        ev.action
                    )));
                }
            };
            let audit_id = insert_audit(
                &mut tx,
                AuditInsert {
                    at: ctx.now,
                    actor: &who.username,
                    action: AuditAction::Undo,
                    target,
                    candidate_id: c.id,
                    before: before_json,
                    after: after_json,
                    reasons: &[],
                    note: None,
                    idempotency_key: ctx.idempotency_key.as_deref(),
                    undoes: Some(event_id),
                },
            )
            .await?;
            let c = load_cand(&mut tx, c.id).await?;
            let detail = self.detail_in(&mut tx, who, &c, ctx.now).await?;
            tx.commit().await?;
            self.changed();
            let change = c.change(&who.username, AuditAction::Undo.as_str(), ctx.now)?;
            Ok((
                UndoResponse {
                    audit_id,
                    undone: event_id,
                    candidate: detail,
                },
                change,
            ))
        })
    }

    fn reveal<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<RevealResponse>> {
        Box::pin(async move {
            let mut tx = self.begin().await?;
            let c = load_cand_scoped(&mut tx, candidate_id, who).await?;
            let audit_id = insert_audit(
                &mut tx,
                AuditInsert {
                    at: ctx.now,
                    actor: &who.username,
                    action: AuditAction::RevealId,
                    target: format!("candidate:{}", c.id),
                    candidate_id: c.id,
                    before: "null".into(),
                    after: "null".into(),
                    reasons: &[],
                    note: None,
                    idempotency_key: ctx.idempotency_key.as_deref(),
                    undoes: None,
                },
            )
            .await?;
            tx.commit().await?;
            Ok(RevealResponse {
                id_number: c.id_number,
                audit_id,
            })
        })
    }

    fn candidate_reviews(&self, candidate_id: i64) -> BoxFuture<'_, StoreResult<Reviews>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            load_cand(&mut conn, candidate_id).await?.reviews()
        })
    }

    fn candidate_self<'a>(
        &'a self,
        candidate_id: i64,
        window: &'a ReviewWindow,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<CandidateSelf>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            let c = load_cand(&mut conn, candidate_id).await?;
            Self::self_in(&mut conn, &c, window, now).await
        })
    }

    fn candidate_blob(&self, candidate_id: i64, image_id: i64) -> BoxFuture<'_, StoreResult<Blob>> {
        Box::pin(async move {
            let row: Option<(String, String, Vec<u8>)> = sqlx::query_as(
                "SELECT b.format, b.sha256, b.bytes FROM images i \
                 JOIN blobs b ON b.sha256 = i.sha256 WHERE i.id = ? AND i.candidate_id = ?",
            )
            .bind(image_id)
            .bind(candidate_id)
            .fetch_optional(&self.pool)
            .await?;
            let (format, sha256, bytes) = row.ok_or(StoreError::NotFound)?;
            blob(format, sha256, bytes)
        })
    }

    fn upload<'a>(
        &'a self,
        candidate_id: i64,
        up: NewUpload,
        window: &'a ReviewWindow,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(CandidateImageDto, Change)>> {
        Box::pin(async move {
            let mut tx = self.begin().await?;
            let c = load_cand(&mut tx, candidate_id).await?;
            let reviews = c.reviews()?;
            let format = check_upload(
                up.bytes.len(),
                sniff(&up.bytes),
                window,
                local_today(ctx.now),
                reviews,
            )?;
            let existing: Vec<ImgRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {IMG_COLS} FROM images WHERE candidate_id = ? AND category = ?"
            )))
            .bind(c.id)
            .bind(up.category.code())
            .fetch_all(&mut *tx)
            .await?;
            let occupants = existing
                .iter()
                .map(|i| {
                    Ok(Occupant {
                        slot: i.slot(),
                        phase: i.phase()?,
                        id: i.id,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let placement = place(up.category, &occupants, up.slot)?;

            sqlx::query("INSERT OR IGNORE INTO blobs (sha256, format, bytes) VALUES (?, ?, ?)")
                .bind(&up.sha256)
                .bind(format.as_str())
                .bind(&up.bytes)
                .execute(&mut *tx)
                .await?;
            let exact: Vec<(i64,)> = sqlx::query_as(
                "SELECT id FROM images WHERE sha256 = ? AND candidate_id <> ? ORDER BY id LIMIT ?",
            )
            .bind(&up.sha256)
            .bind(c.id)
            .bind(MAX_DUP_REFS as i64)
            .fetch_all(&mut *tx)
            .await?;
            let exact: Vec<DupRef> = exact
                .into_iter()
                .map(|(image_id,)| DupRef {
                    image_id,
                    distance: 0,
                })
                .collect();
            let near: Vec<DupRef> = {
                let ix = self
                    .phash
                    .read()
                    .map_err(|_| StoreError::Corrupt("phash index poisoned".into()))?;
                ix.near(
                    up.report.phash,
                    NEAR_DUPLICATE_MAX_DISTANCE,
                    c.id,
                    MAX_DUP_REFS * 2 + exact.len(),
                )
            }
            .into_iter()
            .filter(|(img, _, _)| !exact.iter().any(|e| e.image_id == *img))
            .take(MAX_DUP_REFS)
            .map(|(image_id, _, distance)| DupRef { image_id, distance })
            .collect();
            let r = &up.report;
            let flagged =
                r.blurry || r.too_small || r.not_upright || !exact.is_empty() || !near.is_empty();

            let (image_id, slot, phase) = match placement {
                Placement::New { slot } => (None, slot, ImagePhase::Draft),
                Placement::Replace { image_id, slot } => {
                    let old = existing
                        .iter()
                        .find(|i| i.id == image_id)
                        .ok_or(StoreError::NotFound)?;
                    match image::transition(old.phase()?, ImageEvent::Replace)
                        .map_err(StoreError::Image)?
                    {
                        ImageOutcome::Phase(p) => (Some(image_id), slot, p),
                        ImageOutcome::Removed => {
                            return Err(StoreError::Corrupt("replace removed an image".into()));
                        }
                    }
                }
            };
            let (phase_s, was_accepted, replaced) = phase_cols(phase);
            let id = match image_id {
                None => {
                    sqlx::query_scalar::<_, i64>(
                        "INSERT INTO images (candidate_id, category, slot, generation, format, bytes, \
                         width, height, sha256, uploaded_at, version, phase, was_accepted, replaced, \
                         orientation, not_upright, blur_score, blurry, too_small, phash, duplicate_of, \
                         near_dup_of, flagged) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, \
                         ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    )
                    .bind(c.id)
                    .bind(up.category.code())
                    .bind(i64::from(slot))
                    .bind(format.as_str())
                    .bind(up.bytes.len() as i64)
                    .bind(i64::from(r.width))
                    .bind(i64::from(r.height))
                    .bind(&up.sha256)
                    .bind(ms(ctx.now))
                    .bind(phase_s)
                    .bind(was_accepted)
                    .bind(replaced)
                    .bind(i64::from(r.orientation.0))
                    .bind(r.not_upright)
                    .bind(f64::from(r.blur_score))
                    .bind(r.blurry)
                    .bind(r.too_small)
                    .bind(r.phash as i64)
                    .bind(to_json(&exact))
                    .bind(to_json(&near))
                    .bind(flagged)
                    .fetch_one(&mut *tx)
                    .await?
                }
                Some(id) => {
                    sqlx::query(
                        "UPDATE images SET generation = generation + 1, format = ?, bytes = ?, \
                         width = ?, height = ?, sha256 = ?, uploaded_at = ?, version = version + 1, \
                         phase = ?, was_accepted = ?, replaced = ?, orientation = ?, not_upright = ?, \
                         blur_score = ?, blurry = ?, too_small = ?, phash = ?, duplicate_of = ?, \
                         near_dup_of = ?, flagged = ? WHERE id = ?",
                    )
                    .bind(format.as_str())
                    .bind(up.bytes.len() as i64)
                    .bind(i64::from(r.width))
                    .bind(i64::from(r.height))
                    .bind(&up.sha256)
                    .bind(ms(ctx.now))
                    .bind(phase_s)
                    .bind(was_accepted)
                    .bind(replaced)
                    .bind(i64::from(r.orientation.0))
                    .bind(r.not_upright)
                    .bind(f64::from(r.blur_score))
                    .bind(r.blurry)
                    .bind(r.too_small)
                    .bind(r.phash as i64)
                    .bind(to_json(&exact))
                    .bind(to_json(&near))
                    .bind(flagged)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    id
                }
            };
            bump_candidate(&mut tx, c.id, ctx.now).await?;
            let img = load_image(&mut tx, id).await?;
            insert_audit(
                &mut tx,
                AuditInsert {
                    at: ctx.now,
                    actor: &c.reg_no,
                    action: AuditAction::Upload,
                    target: format!("image:{id}"),
                    candidate_id: c.id,
                    before: "null".into(),
                    after: to_json(&serde_json::json!({
                        "category": up.category.code(),
                        "slot": slot,
                        "generation": img.generation,
                        "sha256": up.sha256,
                        "phase": phase,
                    })),
                    reasons: &[],
                    note: None,
                    idempotency_key: ctx.idempotency_key.as_deref(),
                    undoes: None,
                },
            )
            .await?;
            let c = load_cand(&mut tx, c.id).await?;
            tx.commit().await?;
            self.changed();
            if let Ok(mut ix) = self.phash.write() {
                ix.insert(id, c.id, r.phash);
            }
            Ok((
                img.candidate_dto()?,
                c.change(&c.reg_no, AuditAction::Upload.as_str(), ctx.now)?,
            ))
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
            let mut tx = self.begin().await?;
            let c = load_cand(&mut tx, candidate_id).await?;
            let img = load_image(&mut tx, image_id).await?;
            if img.candidate_id != c.id {
                return Err(StoreError::NotFound);
            }
            let today = local_today(ctx.now);
            if !window.is_open(today) {
                return Err(UploadError::WindowClosed(window.short()).into());
            }
            if !c.reviews()?.candidate_may_edit() {
                return Err(UploadError::NotEditable.into());
            }
            let phase = img.phase()?;
            image::transition(phase, ImageEvent::Delete).map_err(StoreError::Image)?;
            sqlx::query("DELETE FROM images WHERE id = ?")
                .bind(img.id)
                .execute(&mut *tx)
                .await?;
            bump_candidate(&mut tx, c.id, ctx.now).await?;
            insert_audit(
                &mut tx,
                AuditInsert {
                    at: ctx.now,
                    actor: &c.reg_no,
                    action: AuditAction::Delete,
                    target: format!("image:{}", img.id),
                    candidate_id: c.id,
                    before: to_json(&serde_json::json!({
                        "category": img.category,
                        "slot": img.slot,
                        "generation": img.generation,
                        "sha256": img.sha256,
                        "phase": phase,
                    })),
                    after: "null".into(),
                    reasons: &[],
                    note: None,
                    idempotency_key: ctx.idempotency_key.as_deref(),
                    undoes: None,
                },
            )
            .await?;
            let c = load_cand(&mut tx, c.id).await?;
            tx.commit().await?;
            self.changed();
            if let Ok(mut ix) = self.phash.write() {
                ix.remove(img.id);
            }
            c.change(&c.reg_no, AuditAction::Delete.as_str(), ctx.now)
        })
    }

    fn submit<'a>(
        &'a self,
        candidate_id: i64,
        window: &'a ReviewWindow,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(CandidateSelf, Change)>> {
        Box::pin(async move {
            let mut tx = self.begin().await?;
            let c = load_cand(&mut tx, candidate_id).await?;
            if !window.is_open(local_today(ctx.now)) {
                return Err(UploadError::WindowClosed(window.short()).into());
            }
            let before = c.snap()?;
            let next = review::transition(before.reviews(), ReviewEvent::Submit)
                .map_err(StoreError::Review)?;
            let images = load_images(&mut tx, c.id).await?;
            if images.is_empty() {
                return Err(StoreError::NothingUploaded);
            }
            for img in &images {
                let phase = img.phase()?;
                let next_phase = match image::transition(phase, ImageEvent::Submit)
                    .map_err(StoreError::Image)?
                {
                    ImageOutcome::Phase(p) => p,
                    ImageOutcome::Removed => {
                        return Err(StoreError::Corrupt("submit removed an image".into()));
                    }
                };
                if next_phase != phase {
                    // A resubmitted replacement starts unreviewed, without
                    // the old request's reasons.
                    write_image_state(
                        &mut tx,
                        img.id,
                        &ImageSnap {
                            level: None,
                            phase: next_phase,
                            reasons: Vec::new(),
                            note: None,
                        },
                    )
                    .await?;
                }
            }
            let after = next_snap(&before, next, None, ctx.now);
            write_reviews(&mut tx, c.id, &after, ctx.now).await?;
            sqlx::query("UPDATE candidates SET submitted_at = ?, sort_at = ? WHERE id = ?")
                .bind(ms(ctx.now))
                .bind(ms(ctx.now))
                .bind(c.id)
                .execute(&mut *tx)
                .await?;
            insert_audit(
                &mut tx,
                AuditInsert {
                    at: ctx.now,
                    actor: &c.reg_no,
                    action: AuditAction::Submit,
                    target: format!("candidate:{}", c.id),
                    candidate_id: c.id,
                    before: to_json(&before),
                    after: to_json(&after),
                    reasons: &[],
                    note: None,
                    idempotency_key: ctx.idempotency_key.as_deref(),
                    undoes: None,
                },
            )
            .await?;
            let c = load_cand(&mut tx, c.id).await?;
            let me = Self::self_in(&mut tx, &c, window, ctx.now).await?;
            tx.commit().await?;
            self.changed();
            Ok((
                me,
                c.change(&c.reg_no, AuditAction::Submit.as_str(), ctx.now)?,
            ))
        })
    }
}

fn blob(format: String, sha256: String, bytes: Vec<u8>) -> StoreResult<Blob> {
    let format = match sniff(&bytes) {
        Sniffed::Accepted(f) if f.as_str() == format => f,
        _ => {
            return Err(StoreError::Corrupt(format!(
                "blob {sha256} is not {format}"
            )));
        }
    };
    Ok(Blob {
        format,
        sha256,
        bytes,
    })
}
