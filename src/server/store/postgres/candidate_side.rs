//! The candidate's side: their own view of the registration (status,
//! reasons, the review window, their materials and feedback), uploading
//! into a slot with exact and near-duplicate detection, deleting a draft,
//! and submitting for review. Its own room because the candidate is a
//! different actor with a different scope: their own record, in the window.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDate, Utc};
use futures::future::BoxFuture;
use sqlx::postgres::PgConnection;

use super::audit::{AuditInsert, insert_audit};
use super::rows::{
    CandRow, DupRef, IMG_COLS, ImageSnap, ImgRow, bump_candidate, load_cand, load_image,
    load_images, lock_cand, next_snap, phase_cols, write_image_state, write_reviews,
};
use super::script::q;
use super::{PgStore, from_ms, local_today, ms, to_json};
use crate::api::dto::{CandidateImageDto, CandidateMaterialDto, CandidateSelf, WindowDto};
use crate::domain::audit::AuditAction;
use crate::domain::category::MaterialCategory;
use crate::domain::image::{self, ImageEvent, ImageOutcome, ImagePhase};
use crate::domain::imaging::sniff;
use crate::domain::quality::NEAR_DUPLICATE_MAX_DISTANCE;
use crate::domain::review::{self as review, ReviewEvent, ReviewStatus, Reviews};
use crate::domain::rules::{Occupant, Placement, ReviewWindow, UploadError, check_upload, place};
use crate::server::store::phash_index::PhashIndex;
use crate::server::store::{Change, Ctx, NewUpload, StoreError, StoreResult};

/// Most duplicate references stored per image: enough to act on, bounded
/// when a popular form is uploaded by thousands.
const MAX_DUP_REFS: usize = 5;

impl PgStore {
    async fn self_in(
        conn: &mut PgConnection,
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

    pub(super) fn candidate_reviews(
        &self,
        candidate_id: i64,
    ) -> BoxFuture<'_, StoreResult<Reviews>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            load_cand(&mut conn, candidate_id).await?.reviews()
        })
    }

    pub(super) fn candidate_self<'a>(
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

    pub(super) fn upload<'a>(
        &'a self,
        candidate_id: i64,
        up: NewUpload,
        window: &'a ReviewWindow,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(CandidateImageDto, Change)>> {
        Box::pin(async move {
            let phash = self.phash.clone();
            let window = *window;
            let (dto, change, image_id, phash) = self
                .write(move |conn| Box::pin(upload_in(conn, phash, candidate_id, up, window, ctx)))
                .await?;
            // After the commit: an upload running meanwhile does not see this hash
            // (exact duplicates it does: they are found in SQL).
            if let Ok(mut ix) = self.phash.write() {
                ix.insert(image_id, candidate_id, phash);
            }
            Ok((dto, change))
        })
    }

    pub(super) fn delete_image<'a>(
        &'a self,
        candidate_id: i64,
        image_id: i64,
        window: &'a ReviewWindow,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<Change>> {
        Box::pin(async move {
            let window = *window;
            let (change, removed) = self
                .write(move |conn| {
                    Box::pin(async move {
                        let window = &window;
                        let c = lock_cand(&mut *conn, candidate_id).await?;
                        let img = load_image(&mut *conn, image_id).await?;
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
                        sqlx::query(q("DELETE FROM images WHERE id = ?"))
                            .bind(img.id)
                            .execute(&mut *conn)
                            .await?;
                        let c = bump_candidate(&mut *conn, c.id, ctx.now).await?;
                        insert_audit(
                            &mut *conn,
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
                        Ok((
                            c.logged_change(
                                &mut *conn,
                                &c.reg_no,
                                AuditAction::Delete.as_str(),
                                ctx.now,
                            )
                            .await?,
                            img.id,
                        ))
                    })
                })
                .await?;
            if let Ok(mut ix) = self.phash.write() {
                ix.remove(removed);
            }
            Ok(change)
        })
    }

    pub(super) fn submit<'a>(
        &'a self,
        candidate_id: i64,
        window: &'a ReviewWindow,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(CandidateSelf, Change)>> {
        Box::pin(async move {
            let window = *window;
            self.write(move |conn| {
                Box::pin(async move {
                    let window = &window;
                    let c = lock_cand(&mut *conn, candidate_id).await?;
                    if !window.is_open(local_today(ctx.now)) {
                        return Err(UploadError::WindowClosed(window.short()).into());
                    }
                    let before = c.snap()?;
                    let next = review::transition(before.reviews(), ReviewEvent::Submit)
                        .map_err(StoreError::Review)?;
                    let images = load_images(&mut *conn, c.id).await?;
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
                                &mut *conn,
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
                    write_reviews(&mut *conn, c.id, &after, ctx.now, None).await?;
                    sqlx::query(q(
                        "UPDATE candidates SET submitted_at = ?, sort_at = ? WHERE id = ?",
                    ))
                    .bind(ms(ctx.now))
                    .bind(ms(ctx.now))
                    .bind(c.id)
                    .execute(&mut *conn)
                    .await?;
                    insert_audit(
                        &mut *conn,
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
                    let c = load_cand(&mut *conn, c.id).await?;
                    let me = Self::self_in(&mut *conn, &c, window, ctx.now).await?;
                    Ok((
                        me,
                        c.logged_change(
                            &mut *conn,
                            &c.reg_no,
                            AuditAction::Submit.as_str(),
                            ctx.now,
                        )
                        .await?,
                    ))
                })
            })
            .await
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

/// An upload's unit of work; also answers with the new image's id and hash
/// for the index (updated after the commit).
async fn upload_in(
    conn: &mut PgConnection,
    phash: Arc<RwLock<PhashIndex>>,
    candidate_id: i64,
    up: NewUpload,
    window: ReviewWindow,
    ctx: Ctx,
) -> StoreResult<(CandidateImageDto, Change, i64, u64)> {
    let window = &window;
    let c = lock_cand(&mut *conn, candidate_id).await?;
    let reviews = c.reviews()?;
    let format = check_upload(
        up.bytes.len(),
        sniff(&up.bytes),
        window,
        local_today(ctx.now),
        reviews,
    )?;
    let existing: Vec<ImgRow> = sqlx::query_as(q(&format!(
        "SELECT {IMG_COLS} FROM images WHERE candidate_id = ? AND category = ?"
    )))
    .bind(c.id)
    .bind(up.category.code())
    .fetch_all(&mut *conn)
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

    super::images::put_blob(&mut *conn, &up.sha256, format.as_str()).await?;
    let exact: Vec<(i64,)> = sqlx::query_as(q(
        "SELECT id FROM images WHERE sha256 = ? AND candidate_id <> ? ORDER BY id LIMIT ?",
    ))
    .bind(&up.sha256)
    .bind(c.id)
    .bind(MAX_DUP_REFS as i64)
    .fetch_all(&mut *conn)
    .await?;
    let exact: Vec<DupRef> = exact
        .into_iter()
        .map(|(image_id,)| DupRef {
            image_id,
            distance: 0,
        })
        .collect();
    let near: Vec<DupRef> = {
        let ix = phash
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
    let flagged = r.blurry || r.too_small || r.not_upright || !exact.is_empty() || !near.is_empty();

    let (image_id, slot, phase) = match placement {
        Placement::New { slot } => (None, slot, ImagePhase::Draft),
        Placement::Replace { image_id, slot } => {
            let old = existing
                .iter()
                .find(|i| i.id == image_id)
                .ok_or(StoreError::NotFound)?;
            match image::transition(old.phase()?, ImageEvent::Replace).map_err(StoreError::Image)? {
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
                    sqlx::query_scalar::<_, i64>(q("INSERT INTO images (candidate_id, category, slot, generation, format, bytes, \
                         width, height, sha256, uploaded_at, version, phase, was_accepted, replaced, \
                         orientation, not_upright, blur_score, blurry, too_small, phash, duplicate_of, \
                         near_dup_of, flagged) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, \
                         ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    ))
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
                    .fetch_one(&mut *conn)
                    .await?
                }
                Some(id) => {
                    sqlx::query(q("UPDATE images SET generation = generation + 1, format = ?, bytes = ?, \
                         width = ?, height = ?, sha256 = ?, uploaded_at = ?, version = version + 1, \
                         phase = ?, was_accepted = ?, replaced = ?, orientation = ?, not_upright = ?, \
                         blur_score = ?, blurry = ?, too_small = ?, phash = ?, duplicate_of = ?, \
                         near_dup_of = ?, flagged = ? WHERE id = ?",
                    ))
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
                    .execute(&mut *conn)
                    .await?;
                    id
                }
            };
    let c = bump_candidate(&mut *conn, c.id, ctx.now).await?;
    let img = load_image(&mut *conn, id).await?;
    insert_audit(
        &mut *conn,
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
    Ok((
        img.candidate_dto()?,
        c.logged_change(&mut *conn, &c.reg_no, AuditAction::Upload.as_str(), ctx.now)
            .await?,
        id,
        r.phash,
    ))
}
