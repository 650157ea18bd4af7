//! The tables' rows as Rust sees them: the row structs `sqlx` reads, their
//! conversions into the API's types, the snapshots the audit trail keeps of
//! a review or an image judgement, and the loads and writes of a row that
//! every unit of work shares: the SQLite store's rows (`../sqlite/rows.rs`)
//! on PostgreSQL's types (booleans are BOOLEAN here), plus loading a
//! candidate's row locked for the transaction's writes.

use crate::server::store::row::row_struct;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnection;

use super::script::{Script, q};
use super::{from_ms, json_list, ms, to_json};
use crate::api::dto::{CandidateImageDto, ClaimDto, QueueEvent, ReviewDto};
use crate::domain::category::MaterialCategory;
use crate::domain::image::ImagePhase;
use crate::domain::review::{Level, ReviewStatus, Reviews};
use crate::server::store::{Change, DecisionInput, ReviewerInfo, StoreError, StoreResult};

row_struct! {
    ::sqlx::Postgres;
    #[derive(Debug, Clone)]
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
}

pub(super) const CAND_COLS: &str = "id, reg_no, name, id_type, id_number, gender, birth_date, exam_category, \
    district, site, education, school, major, graduation_date, trial_institution, phone, \
    submitted_at, updated_at, version, site_state, site_reasons, site_note, site_reviewer, \
    site_decided_at, district_state, district_reasons, district_note, district_reviewer, \
    district_decided_at, claim_reviewer, claim_expires_at";

pub(super) use crate::server::store::queue_page::{claim_dto, live_claim, parse_status};

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

    pub(super) fn dto(&self) -> ReviewDto {
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
    pub(super) fn reviews(&self) -> Reviews {
        Reviews {
            site: self.site.state,
            district: self.district.state,
        }
    }

    pub(super) fn same_state(&self, other: &ReviewSnap) -> bool {
        self.site == other.site && self.district == other.district
    }
}

impl CandRow {
    pub(super) fn snap(&self) -> StoreResult<ReviewSnap> {
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

    pub(super) fn reviews(&self) -> StoreResult<Reviews> {
        Ok(Reviews {
            site: parse_status(&self.site_state)?,
            district: parse_status(&self.district_state)?,
        })
    }

    pub(super) fn live_claim(&self, now: DateTime<Utc>) -> Option<crate::domain::claim::Claim> {
        live_claim(self.claim_reviewer.clone(), self.claim_expires_at, now)
    }

    pub(super) fn claim_dto(&self, me: Option<&str>, now: DateTime<Utc>) -> Option<ClaimDto> {
        claim_dto(self.live_claim(now), me)
    }

    pub(super) fn in_scope(&self, who: &ReviewerInfo) -> bool {
        who.sees(&self.district, &self.site)
    }

    /// The change this row's write made, appended to the event log in the
    /// write's own transaction.
    pub(super) async fn logged_change(
        &self,
        conn: &mut PgConnection,
        actor: &str,
        action: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Change> {
        super::events::log(conn, self.change(actor, action, now)?).await
    }

    /// The change as an event (not logged: a replayed answer's).
    pub(super) fn change(
        &self,
        actor: &str,
        action: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Change> {
        let r = self.reviews()?;
        Ok(Change {
            seq: 0,
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

row_struct! {
    ::sqlx::Postgres;
    /// An `images` row.
    #[derive(Debug, Clone)]
    pub(super) struct ImgRow {
        pub(super) id: i64,
        pub(super) candidate_id: i64,
        pub(super) category: String,
        pub(super) slot: i64,
        pub(super) generation: i64,
        pub(super) format: String,
        pub(super) bytes: i64,
        pub(super) width: i64,
        pub(super) height: i64,
        pub(super) sha256: String,
        pub(super) uploaded_at: i64,
        pub(super) version: i64,
        pub(super) phase: String,
        pub(super) was_accepted: bool,
        pub(super) replaced: bool,
        pub(super) reasons: String,
        pub(super) note: Option<String>,
        pub(super) orientation: i64,
        pub(super) not_upright: bool,
        pub(super) blur_score: f64,
        pub(super) blurry: bool,
        pub(super) too_small: bool,
        pub(super) duplicate_of: String,
        pub(super) near_dup_of: String,
    }
}

pub(super) const IMG_COLS: &str = "id, candidate_id, category, slot, generation, format, bytes, width, height, \
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
    pub(super) fn phase(&self) -> StoreResult<ImagePhase> {
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

    pub(super) fn category(&self) -> StoreResult<MaterialCategory> {
        MaterialCategory::from_code(&self.category)
            .ok_or_else(|| StoreError::Corrupt(format!("category {:?}", self.category)))
    }

    pub(super) fn slot(&self) -> u8 {
        u8::try_from(self.slot).unwrap_or(u8::MAX)
    }

    pub(super) fn slot_label(&self) -> Option<String> {
        let cat = self.category().ok()?;
        cat.slot_labels()
            .get(usize::from(self.slot()))
            .map(|(zh, _)| (*zh).to_string())
    }

    pub(super) fn snap(&self, level: Option<Level>) -> StoreResult<ImageSnap> {
        Ok(ImageSnap {
            level,
            phase: self.phase()?,
            reasons: json_list(&self.reasons)?,
            note: self.note.clone(),
        })
    }

    pub(super) fn dups(&self) -> StoreResult<(Vec<DupRef>, Vec<DupRef>)> {
        Ok((
            serde_json::from_str(&self.duplicate_of)?,
            serde_json::from_str(&self.near_dup_of)?,
        ))
    }

    pub(super) fn candidate_dto(&self) -> StoreResult<CandidateImageDto> {
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
    pub(super) fn same_state(&self, other: &ImageSnap) -> bool {
        self.phase == other.phase && self.reasons == other.reasons && self.note == other.note
    }
}

pub(super) async fn load_cand(conn: &mut PgConnection, id: i64) -> StoreResult<CandRow> {
    sqlx::query_as::<_, CandRow>(q(&format!(
        "SELECT {CAND_COLS} FROM candidates WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)
}

/// The candidate's row, locked until the transaction ends: every write
/// to a candidate (or its images) takes this lock first, so writers of one
/// candidate run one after another and each decides on the latest commit.
/// `NO KEY UPDATE`: inserts that only reference the row (audit, feedback)
/// are not blocked by it.
pub(super) async fn lock_cand(conn: &mut PgConnection, id: i64) -> StoreResult<CandRow> {
    sqlx::query_as::<_, CandRow>(q(&format!(
        "SELECT {CAND_COLS} FROM candidates WHERE id = ? FOR NO KEY UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)
}

/// [`lock_cand`] within the reviewer's scope (outside it: not found).
pub(super) async fn lock_cand_scoped(
    conn: &mut PgConnection,
    id: i64,
    who: &ReviewerInfo,
) -> StoreResult<CandRow> {
    let c = lock_cand(conn, id).await?;
    if c.in_scope(who) {
        Ok(c)
    } else {
        Err(StoreError::NotFound)
    }
}

pub(super) async fn load_cand_scoped(
    conn: &mut PgConnection,
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

pub(super) async fn load_image(conn: &mut PgConnection, id: i64) -> StoreResult<ImgRow> {
    sqlx::query_as::<_, ImgRow>(q(&format!("SELECT {IMG_COLS} FROM images WHERE id = ?")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)
}

pub(super) async fn load_images(
    conn: &mut PgConnection,
    candidate_id: i64,
) -> StoreResult<Vec<ImgRow>> {
    Ok(sqlx::query_as::<_, ImgRow>(q(&format!(
        "SELECT {IMG_COLS} FROM images WHERE candidate_id = ? ORDER BY category, slot"
    )))
    .bind(candidate_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// A change to an image is a change to its candidate: a new version.
/// Returns nothing: the caller holds the row's lock and knows its version.
pub(super) fn bump_into(s: &mut Script, id: i64, now: DateTime<Utc>) {
    s.sql("UPDATE candidates SET version = version + 1, updated_at = ? WHERE id = ?")
        .bind(ms(now))
        .bind(id);
}

/// [`bump_into`], run at once, returning the row as it is now.
pub(super) async fn bump_candidate(
    conn: &mut PgConnection,
    id: i64,
    now: DateTime<Utc>,
) -> StoreResult<CandRow> {
    sqlx::query_as::<_, CandRow>(q(&format!(
        "UPDATE candidates SET version = version + 1, updated_at = ? WHERE id = ? \
         RETURNING {CAND_COLS}"
    )))
    .bind(ms(now))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)
}

/// Write both levels' reviews (a new version); with `end_claim_of`, also
/// end that reviewer's claim (a decision ends their look). Returns the row
/// as it is now (one row).
pub(super) fn write_reviews_into(
    q: &mut Script,
    id: i64,
    s: &ReviewSnap,
    now: DateTime<Utc>,
    end_claim_of: Option<&str>,
) {
    // Both CASEs see the row before the update, so they agree.
    q.sql(&format!(
        "UPDATE candidates SET site_state = ?, site_reasons = ?, site_note = ?, site_reviewer = ?, \
         site_decided_at = ?, district_state = ?, district_reasons = ?, district_note = ?, \
         district_reviewer = ?, district_decided_at = ?, version = version + 1, updated_at = ?, \
         claim_reviewer = CASE WHEN claim_reviewer = ? THEN NULL ELSE claim_reviewer END, \
         claim_expires_at = CASE WHEN claim_reviewer = ? THEN NULL ELSE claim_expires_at END \
         WHERE id = ? RETURNING {CAND_COLS}"
    ))
    .bind(s.site.state.as_str())
    .bind(to_json(&s.site.reasons))
    .bind(s.site.note.clone())
    .bind(s.site.reviewer.clone())
    .bind(s.site.decided_at)
    .bind(s.district.state.as_str())
    .bind(to_json(&s.district.reasons))
    .bind(s.district.note.clone())
    .bind(s.district.reviewer.clone())
    .bind(s.district.decided_at)
    .bind(ms(now))
    .bind(end_claim_of.map(str::to_string))
    .bind(end_claim_of.map(str::to_string))
    .bind(id);
}

/// [`write_reviews_into`], run at once.
pub(super) async fn write_reviews(
    conn: &mut PgConnection,
    id: i64,
    s: &ReviewSnap,
    now: DateTime<Utc>,
    end_claim_of: Option<&str>,
) -> StoreResult<CandRow> {
    let mut q = Script::default();
    write_reviews_into(&mut q, id, s, now, end_claim_of);
    q.run(conn).await?.next()
}

/// Write an image's judgement (a new version); returns the row as it is
/// now (one row).
pub(super) fn write_image_state_into(q: &mut Script, id: i64, s: &ImageSnap) {
    let (phase, was_accepted, replaced) = phase_cols(s.phase);
    q.sql(&format!(
        "UPDATE images SET phase = ?, was_accepted = ?, replaced = ?, reasons = ?, note = ?, \
         version = version + 1 WHERE id = ? RETURNING {IMG_COLS}"
    ))
    .bind(phase)
    .bind(was_accepted)
    .bind(replaced)
    .bind(to_json(&s.reasons))
    .bind(s.note.clone())
    .bind(id);
}

/// [`write_image_state_into`], run at once.
pub(super) async fn write_image_state(
    conn: &mut PgConnection,
    id: i64,
    s: &ImageSnap,
) -> StoreResult<ImgRow> {
    let mut q = Script::default();
    write_image_state_into(&mut q, id, s);
    q.run(conn).await?.next()
}

/// The reviews after `event`, with the deciding level's reasons and the
/// reset of any level whose state the event changed.
pub(super) fn next_snap(
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
